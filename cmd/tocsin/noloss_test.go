package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/internal/needs"
	"github.com/tocsin-relay/tocsin/internal/testnet"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/tocsin-relay/tocsin/escalation"
)

// startBroker runs Debian's mosquitto on a free loopback port. The test
// skips only when mosquitto is not installed (.ci/run installs it).
func startBroker(t *testing.T) string {
	t.Helper()
	bin := needs.Command(t, "mosquitto", "mqtt")
	port := testnet.Port(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "mosquitto.conf")
	// The persistent session must hold everything published while Tocsin
	// is down (mosquitto's default is 1000 queued messages).
	os.WriteFile(conf, []byte(fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"+
		"max_queued_messages 0\nlog_dest stderr\nlog_type information\n", port)), 0o644)
	os.Chmod(dir, 0o755)
	cmd := exec.Command(bin, "-c", conf)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Wait for mosquitto to say it listens (its own readiness line).
	listening := make(chan struct{})
	go func() {
		ch := listening
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listen socket") && ch != nil {
				close(ch)
				ch = nil
			}
		}
	}()
	select {
	case <-listening:
	case <-time.After(20 * time.Second):
		t.Fatal("mosquitto did not report a listen socket")
	}
	return fmt.Sprintf("tcp://127.0.0.1:%d", port)
}

// 5,000 QoS 1 alerts are published while the daemon is killed with
// SIGKILL and restarted twice mid-stream; every one becomes exactly one
// incident, none lost, none duplicated by the broker's redelivery.
func TestMQTTNoLossAcrossSIGKILL(t *testing.T) {
	broker := startBroker(t)
	e := newE2EFull(t, testPolicy("1h"), "  sms_per_minute: 1000000", fmt.Sprintf(`gpio:
  backend: none
mqtt:
  broker: %s
  client_id: tocsin-noloss
  topic_prefix: tocsin
  subscriptions:
    - {topic: "noloss/plc", service: press-line-1, format: json}`, broker))
	e.start()
	e.waitLog(0, "mqtt: connected")

	pub := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID("plc-noloss"))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	sentinel := make(chan escalation.Incident, 1)
	watch := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID("watcher"))
	if tok := watch.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer watch.Disconnect(100)
	watch.Subscribe("tocsin/incidents/+", 1, func(_ paho.Client, m paho.Message) {
		var inc escalation.Incident
		if json.Unmarshal(m.Payload(), &inc) == nil && inc.DedupKey == "sentinel" {
			select {
			case sentinel <- inc:
			default:
			}
		}
	}).Wait()

	const total = 5000
	publish := func(from, to int) {
		for i := from; i < to; i++ {
			body := fmt.Sprintf(`{"summary":"valve %d","severity":"warning","dedup_key":"v%d"}`, i, i)
			if tok := pub.Publish("noloss/plc", 1, false, body); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatalf("publish %d: %v", i, tok.Error())
			}
		}
	}
	publish(0, 1500)
	e.kill() // mid-stream: some committed, some in flight
	publish(1500, 2500)
	e.start() // catches up on what the broker held
	publish(2500, 3500)
	e.kill()
	publish(3500, 4200)
	e.start()
	publish(4200, total)
	// The sentinel goes to the same topic, so it is committed after
	// everything published before it.
	if tok := pub.Publish("noloss/plc", 1, false, `{"summary":"end","dedup_key":"sentinel"}`); !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("sentinel not published")
	}
	select {
	case <-sentinel:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the sentinel never became an incident\n%s", e.logText())
	}

	incs := e.allIncidents()
	keys := map[string]int{}
	alerts := 0
	for _, inc := range incs {
		keys[inc.DedupKey]++
		alerts += inc.AlertCount
	}
	missing := 0
	for i := range total {
		switch keys[fmt.Sprintf("v%d", i)] {
		case 0:
			missing++
		case 1:
		default:
			t.Errorf("v%d became %d incidents", i, keys[fmt.Sprintf("v%d", i)])
		}
	}
	if missing > 0 || len(incs) != total+1 {
		t.Errorf("%d of %d alerts lost; %d incidents", missing, total, len(incs))
	}
	t.Logf("%d incidents from %d messages; %d alert rows", len(incs), total+1, alerts)
	if alerts != len(incs) {
		t.Errorf("%d alert rows for %d incidents: a redelivered message was counted twice", alerts, len(incs))
	}
	if !strings.Contains(e.logText(), "mqtt: connected") {
		t.Error("never connected")
	}
}
