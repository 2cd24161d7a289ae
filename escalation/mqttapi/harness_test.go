package mqttapi

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/internal/needs"
	"github.com/tocsin-relay/tocsin/internal/testnet"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

// waitLimit bounds every wait for the broker or the engine; it is a
// failure deadline, never a pause.
const waitLimit = 20 * time.Second

// mosquitto is a real broker run by a test.
type mosquitto struct {
	addr string // host:port on loopback
	cmd  *exec.Cmd
	exit chan struct{}
}

// startMosquitto runs mosquitto on a free loopback port with a generated
// config (plus extra lines) and returns once it accepts connections. It
// skips the test only when mosquitto is not installed.
func startMosquitto(t testing.TB, extra string) *mosquitto {
	t.Helper()
	return startMosquittoOn(t, freePort(t), extra)
}

// startMosquittoOn is startMosquitto on a given port (to restart a broker
// where clients expect it).
func startMosquittoOn(t testing.TB, port int, extra string) *mosquitto {
	t.Helper()
	path := needs.Command(t, "mosquitto", "mqtt")
	dir := t.TempDir()
	conf := filepath.Join(dir, "mosquitto.conf")
	text := fmt.Sprintf(`listener %d 127.0.0.1
persistence false
# A persistent session must be able to hold a burst published while
# Tocsin is away (the default is 1000).
max_queued_messages 0
log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
%s
`, port, extra)
	if !strings.Contains(extra, "password_file") {
		text += "allow_anonymous true\n"
	}
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	// mosquitto drops root privileges to its own user; let it read the
	// config and password file.
	os.Chmod(dir, 0o755)
	cmd := exec.Command(path, "-c", conf)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m := &mosquitto{addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd, exit: make(chan struct{})}
	ready := make(chan struct{})
	var (
		mu  sync.Mutex // guards log
		log strings.Builder
	)
	output := func() string { mu.Lock(); defer mu.Unlock(); return log.String() }
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			if !signalled {
				mu.Lock()
				log.WriteString(sc.Text() + "\n")
				mu.Unlock()
			}
			if !signalled && strings.Contains(sc.Text(), " running") {
				signalled = true
				close(ready)
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() { cmd.Wait(); close(m.exit) }()
	t.Cleanup(m.stop)
	select {
	case <-ready:
	case <-m.exit:
		t.Fatalf("mosquitto exited at start:\n%s", output())
	case <-time.After(waitLimit):
		t.Fatalf("mosquitto did not start:\n%s", output())
	}
	return m
}

func (m *mosquitto) stop() {
	select {
	case <-m.exit:
		return
	default:
	}
	m.cmd.Process.Kill()
	<-m.exit
}

func freePort(t testing.TB) int {
	t.Helper()
	return testnet.Port(t)
}

// testPolicy has the services the tests publish for.
func testPolicy() *escalation.Policy {
	return &escalation.Policy{
		Contacts: []escalation.Contact{{ID: "tanaka", Phone: "+819012345678"}},
		Services: []escalation.Service{
			{ID: "press-line-1", EscalationPolicy: "ops"},
			{ID: "ovens", EscalationPolicy: "ops"},
		},
		EscalationPolicies: []escalation.EscalationPolicy{{ID: "ops", Levels: []escalation.Level{
			{Notify: []escalation.Target{{Contact: "tanaka", Via: []escalation.Channel{escalation.SMS}}}},
		}}},
	}
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

// newEngine opens a real SQLite store in a temporary directory and runs the
// real engine on it until the test ends.
func newEngine(t testing.TB) (*escalation.Engine, *sqlite.DB) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tocsin.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	eng := escalation.NewEngine(db, testPolicy(), testLogger(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { eng.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return eng, db
}

// runClient runs c until the test ends (or stop is called) and returns a
// stop function that waits for Run to return.
func runClient(t testing.TB, c *Client) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var stopped atomic.Bool
	stop = func() {
		if stopped.Swap(true) {
			return
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(waitLimit):
			t.Errorf("Run did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return stop
}

// observer is an independent MQTT client that records what it sees.
type observer struct {
	cli  mqtt.Client
	msgs chan mqtt.Message
}

func newObserver(t testing.TB, addr, filter string, opts ...func(*mqtt.ClientOptions)) *observer {
	t.Helper()
	o := &observer{msgs: make(chan mqtt.Message, 10000)}
	mo := mqtt.NewClientOptions().AddBroker("tcp://" + addr).
		SetClientID(fmt.Sprintf("observer-%d", time.Now().UnixNano())).SetCleanSession(true).
		SetAutoReconnect(false)
	for _, f := range opts {
		f(mo)
	}
	o.cli = mqtt.NewClient(mo)
	if tok := o.cli.Connect(); !tok.WaitTimeout(waitLimit) || tok.Error() != nil {
		t.Fatalf("observer connect: %v", tok.Error())
	}
	t.Cleanup(func() { o.cli.Disconnect(100) })
	if filter != "" {
		tok := o.cli.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) { o.msgs <- m })
		if !tok.WaitTimeout(waitLimit) || tok.Error() != nil {
			t.Fatalf("observer subscribe: %v", tok.Error())
		}
	}
	return o
}

func (o *observer) publish(t testing.TB, topic string, retained bool, payload string) {
	t.Helper()
	tok := o.cli.Publish(topic, 1, retained, payload)
	if !tok.WaitTimeout(waitLimit) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// waitFor returns the first message satisfying ok, failing the test after
// waitLimit.
func (o *observer) waitFor(t testing.TB, what string, ok func(mqtt.Message) bool) mqtt.Message {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case m := <-o.msgs:
			if ok(m) {
				return m
			}
		case <-deadline:
			t.Fatalf("no MQTT message: %s", what)
			return nil
		}
	}
}

// waitStatus waits until c's status satisfies ok.
func waitStatus(t testing.TB, c *Client, what string, ok func(Status) bool) {
	t.Helper()
	deadline := time.After(waitLimit)
	for !ok(c.Status()) {
		select {
		case <-c.progress:
		case <-deadline:
			t.Fatalf("waiting for %s; status %+v", what, c.Status())
		}
	}
}

// writePasswordFile creates a mosquitto password file.
func writePasswordFile(path, user, pass string) error {
	out, err := exec.Command("mosquitto_passwd", "-c", "-b", path, user, pass).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return os.Chmod(path, 0o644)
}

// brokerReadableDir is a temporary directory mosquitto can read after it
// drops root to its own user (t.TempDir's parent is private to root).
func brokerReadableDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tocsin-mosquitto-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
