package mqttapi

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"github.com/tocsin-relay/tocsin/internal/needs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

// The no-loss test runs the intake in a child process — this test binary
// re-executed as TestMQTTChildDaemon — so it can be killed with SIGKILL
// like a daemon on a power cut: no deferred code, no clean disconnect.
const (
	childEnvDB     = "TOCSIN_TEST_CHILD_DB"
	childEnvBroker = "TOCSIN_TEST_CHILD_BROKER"
	noLossClientID = "tocsin-noloss"
)

// TestMQTTChildDaemon is the child: the real store, engine and MQTT client,
// reporting progress on stdout until it is killed.
func TestMQTTChildDaemon(t *testing.T) {
	dbPath, broker := os.Getenv(childEnvDB), os.Getenv(childEnvBroker)
	if dbPath == "" {
		return // only a helper process for TestNoLossAcrossSIGKILL
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	eng := escalation.NewEngine(db, testPolicy(), nil)
	go eng.Run(ctx)
	c := New(testConfig(broker, noLossClientID), eng, nil)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-c.progress:
				fmt.Printf("progress %d\n", c.Status().Committed)
			}
		}
	}()
	if err := c.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// child is one run of the child daemon.
type child struct {
	cmd      *exec.Cmd
	progress chan struct{} // a line of progress was printed
	exited   chan struct{}
}

func startChild(t *testing.T, dbPath, broker string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestMQTTChildDaemon$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnvDB+"="+dbPath, childEnvBroker+"="+broker)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := &child{cmd: cmd, progress: make(chan struct{}, 1), exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case ch.progress <- struct{}{}:
			default:
			}
		}
	}()
	go func() { cmd.Wait(); close(ch.exited) }()
	t.Cleanup(ch.kill)
	return ch
}

// kill sends SIGKILL and waits for the process to be gone.
func (ch *child) kill() {
	select {
	case <-ch.exited:
		return
	default:
	}
	ch.cmd.Process.Signal(syscall.SIGKILL)
	<-ch.exited
}

// TestNoLossAcrossSIGKILL publishes 5,000 QoS 1 alerts while the daemon is
// killed with SIGKILL twice and restarted, and checks that every one became
// exactly one incident. Messages published while it is down wait in the
// broker's persistent session; those it was handling when killed were not
// acknowledged (not committed yet) or are folded into their incident by
// dedup key when redelivered (committed, but the PUBACK was lost).
func TestNoLossAcrossSIGKILL(t *testing.T) {
	needs.Long(t, "takes a few seconds")
	const total = 5000
	broker := startMosquitto(t, "")
	dbPath := filepath.Join(t.TempDir(), "tocsin.db")
	status := newObserver(t, broker.addr, "tocsin/status")
	waitStatusMsg := func(want string) {
		t.Helper()
		status.waitFor(t, "tocsin/status "+want, func(m mqtt.Message) bool { return string(m.Payload()) == want })
	}

	daemon := startChild(t, dbPath, broker.addr)
	waitStatusMsg("online")

	pub := newObserver(t, broker.addr, "")
	done := make(chan error, 1)
	marks := map[int64]chan struct{}{1500: make(chan struct{}), 3000: make(chan struct{})}
	go func() {
		for i := range int64(total) {
			tok := pub.cli.Publish(fmt.Sprintf("factory/p%d/alarm/x", i%16), 1, false,
				fmt.Sprintf(`{"summary":"no-loss alert %d","severity":"warning","dedup_key":"nl-%d"}`, i, i))
			if !tok.WaitTimeout(waitLimit) || tok.Error() != nil {
				done <- fmt.Errorf("publish %d: %v", i, tok.Error())
				return
			}
			if c, ok := marks[i+1]; ok {
				close(c)
			}
		}
		done <- nil
	}()

	// Killed mid-stream, restarted at once.
	<-marks[1500]
	daemon.kill()
	waitStatusMsg("offline") // the broker's last will for the dead session
	daemon = startChild(t, dbPath, broker.addr)
	waitStatusMsg("online")

	// Killed again; the rest of the stream is published while it is down.
	<-marks[3000]
	daemon.kill()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	daemon = startChild(t, dbPath, broker.addr)

	ro, err := sql.Open("sqlite3", "file:"+dbPath+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	count := func() int {
		var n int
		if err := ro.QueryRow(`SELECT COUNT(*) FROM incidents`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.After(2 * time.Minute)
	for count() < total {
		select {
		case <-daemon.progress:
		case <-daemon.exited:
			t.Fatal("the restarted daemon exited")
		case <-deadline:
			t.Fatalf("only %d of %d alerts became incidents", count(), total)
		}
	}
	daemon.kill()

	var n, distinct, redelivered, alerts int
	if err := ro.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT dedup_key), COALESCE(SUM(alert_count > 1), 0), COALESCE(SUM(alert_count), 0) FROM incidents`).
		Scan(&n, &distinct, &redelivered, &alerts); err != nil {
		t.Fatal(err)
	}
	if n != total || distinct != total {
		t.Errorf("%d incidents with %d distinct keys, want %d and %d", n, distinct, total, total)
	}
	var missing int
	for i := range total {
		var id int64
		err := ro.QueryRow(`SELECT id FROM incidents WHERE dedup_key = ?`, fmt.Sprintf("nl-%d", i)).Scan(&id)
		if err != nil {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d alerts have no incident", missing)
	}
	t.Logf("%d alerts → %d incidents; %d redelivered after a kill and folded into their incident (%d alert rows)",
		total, n, redelivered, alerts)
}
