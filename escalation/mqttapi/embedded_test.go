package mqttapi

import (
	"context"
	"fmt"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/tocsin-relay/tocsin/internal/needs"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/tocsin-relay/tocsin/escalation"
)

// TestEmbeddedBroker runs Tocsin's own broker with credentials: a PLC
// connects to it, its alert becomes an incident, and a client without the
// password is refused.
func TestEmbeddedBroker(t *testing.T) {
	eng, _ := newEngine(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := testConfig("", "tocsin")
	cfg.Broker, cfg.EmbeddedListen = Embedded, addr
	cfg.Username, cfg.Password = "plant", "s3cret"
	c := New(cfg, eng, testLogger(t))
	t.Cleanup(eng.Subscribe(c.Publish))
	runClient(t, c)
	waitStatus(t, c, "connected to the embedded broker", func(st Status) bool { return st.Connected })

	creds := func(o *mqtt.ClientOptions) { o.SetUsername("plant").SetPassword("s3cret") }
	plc := newObserver(t, addr, "tocsin/incidents/+", creds)
	plc.publish(t, "plc/7/text", false, "Conveyor 7 jammed")
	m := plc.waitFor(t, "incident via the embedded broker", isIncident(t, func(i escalation.Incident) bool {
		return i.DedupKey == "plc/7/text"
	}))
	if inc := incidentMsg(t, m); inc.Summary != "Conveyor 7 jammed" || inc.Service != "ovens" {
		t.Errorf("incident %+v", inc)
	}

	bad := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("intruder").
		SetUsername("plant").SetPassword("guess").SetAutoReconnect(false))
	tok := bad.Connect()
	tok.WaitTimeout(waitLimit)
	if tok.Error() == nil {
		bad.Disconnect(0)
		t.Error("a client with a wrong password was admitted")
	}
}

// TestEmbeddedBrokerNeedsCredentials: on a network-facing address without
// credentials Run refuses to start, naming the keys to set.
func TestEmbeddedBrokerNeedsCredentials(t *testing.T) {
	eng, _ := newEngine(t)
	cfg := testConfig("", "tocsin")
	cfg.Broker, cfg.EmbeddedListen = Embedded, fmt.Sprintf(":%d", freePort(t))
	err := New(cfg, eng, testLogger(t)).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "mqtt.username and mqtt.password_file") {
		t.Errorf("Run = %v, want a refusal naming mqtt.username and mqtt.password_file", err)
	}
}

// TestEmbeddedBrokerLoopback: on loopback no credentials are needed.
func TestEmbeddedBrokerLoopback(t *testing.T) {
	eng, _ := newEngine(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := testConfig("", "tocsin")
	cfg.Broker, cfg.EmbeddedListen = Embedded, addr
	c := New(cfg, eng, testLogger(t))
	runClient(t, c)
	waitStatus(t, c, "connected", func(st Status) bool { return st.Connected })
	obs := newObserver(t, addr, "tocsin/status")
	obs.waitFor(t, "retained online status", func(m mqtt.Message) bool { return string(m.Payload()) == "online" && m.Retained() })
}

// TestEmbeddedBrokerHoldsTocsinsQueue: while Tocsin's session is away, the
// embedded broker keeps every QoS 1 alarm published for it, beyond
// mochi's default limit of 8,192 (which dropped the rest for good), and
// delivers them all when the session comes back.
func TestEmbeddedBrokerHoldsTocsinsQueue(t *testing.T) {
	needs.Long(t, "publishes 10,000 messages")
	cfg := testConfig("", "tocsin")
	cfg.Broker, cfg.EmbeddedListen = Embedded, fmt.Sprintf("127.0.0.1:%d", freePort(t))
	b, err := startEmbedded(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	url := "tcp://" + b.dialAddr
	// The broker must have taken Tocsin's session offline before the PLC
	// publishes: a message that reached the closing connection would be
	// the client's to lose, not the broker's.
	gone := &disconnects{ch: make(chan string, 4)}
	if err := b.srv.AddHook(gone, nil); err != nil {
		t.Fatal(err)
	}
	// The session must come back only after the broker has queued every
	// message for it: mochi acknowledges a publish before it routes it, so
	// the PLC's last PUBACK does not mean the last alarm is queued, and a
	// session taken over meanwhile misses it (the broker's race, not the
	// one this test is about).
	const n = 10_000
	routed := &published{n: n, done: make(chan struct{})}
	if err := b.srv.AddHook(routed, nil); err != nil {
		t.Fatal(err)
	}

	var (
		mu   sync.Mutex
		seen = map[string]bool{}
		all  = make(chan struct{})
	)
	session := func() mqtt.Client {
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("tocsin").SetCleanSession(false).
			SetAutoReconnect(false).SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
			mu.Lock()
			defer mu.Unlock()
			seen[string(m.Payload())] = true
			if len(seen) == n {
				close(all)
			}
		}))
		if tok := c.Connect(); !tok.WaitTimeout(waitLimit) || tok.Error() != nil {
			t.Fatalf("connect: %v", tok.Error())
		}
		return c
	}
	tocsin := session()
	if tok := tocsin.Subscribe("plc/#", 1, nil); !tok.WaitTimeout(waitLimit) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	tocsin.Disconnect(100) // away, as during a reconnect
	select {
	case <-gone.ch:
	case <-time.After(waitLimit):
		t.Fatal("the broker never saw Tocsin's session go")
	}

	plc := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("plc"))
	if tok := plc.Connect(); !tok.WaitTimeout(waitLimit) || tok.Error() != nil {
		t.Fatalf("plc connect: %v", tok.Error())
	}
	defer plc.Disconnect(100)
	var last mqtt.Token
	for i := range n {
		last = plc.Publish("plc/line1", 1, false, fmt.Sprintf(`{"summary":"alarm %d"}`, i))
	}
	if !last.WaitTimeout(time.Minute) || last.Error() != nil {
		t.Fatalf("publish: %v", last.Error())
	}
	select {
	case <-routed.done:
	case <-time.After(time.Minute):
		t.Fatal("the broker never routed every alarm")
	}

	back := session()
	defer back.Disconnect(100)
	select {
	case <-all:
	case <-time.After(time.Minute):
		mu.Lock()
		got := len(seen)
		var missing []string
		for i := range n {
			if p := fmt.Sprintf(`{"summary":"alarm %d"}`, i); !seen[p] && len(missing) < 5 {
				missing = append(missing, p)
			}
		}
		mu.Unlock()
		t.Fatalf("the session got %d of %d queued alarms; missing %v", got, n, missing)
	}
}

// disconnects tells the test when the broker has ended a client's
// connection.
type disconnects struct {
	mochi.HookBase
	ch chan string
}

func (h *disconnects) ID() string { return "test-disconnects" }

func (h *disconnects) Provides(b byte) bool { return b == mochi.OnDisconnect }

func (h *disconnects) OnDisconnect(cl *mochi.Client, _ error, _ bool) {
	select {
	case h.ch <- cl.ID:
	default:
	}
}

// published tells the test when the broker has routed n messages from
// the plc client to their subscribers (OnPublished runs after routing).
type published struct {
	mochi.HookBase
	n    int
	seen atomic.Int64
	done chan struct{}
}

func (h *published) ID() string { return "test-published" }

func (h *published) Provides(b byte) bool { return b == mochi.OnPublished }

func (h *published) OnPublished(cl *mochi.Client, _ packets.Packet) {
	if cl.ID == "plc" && h.seen.Add(1) == int64(h.n) {
		close(h.done)
	}
}
