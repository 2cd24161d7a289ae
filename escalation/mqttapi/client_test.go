package mqttapi

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/tocsin-relay/tocsin/internal/needs"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/tocsin-relay/tocsin/escalation"
)

func testConfig(addr, clientID string) Config {
	return Config{
		Broker:      "tcp://" + addr,
		ClientID:    clientID,
		TopicPrefix: "tocsin",
		Subscriptions: []Subscription{
			{Topic: "factory/+/alarm/#", Service: "press-line-1", Format: FormatJSON},
			{Topic: "plc/+/text", Service: "ovens", Format: FormatText},
		},
	}
}

// incidentMsg decodes a {prefix}/incidents/{id} message.
func incidentMsg(t testing.TB, m mqtt.Message) escalation.Incident {
	t.Helper()
	var inc escalation.Incident
	if err := json.Unmarshal(m.Payload(), &inc); err != nil {
		t.Fatalf("%s: %v: %s", m.Topic(), err, m.Payload())
	}
	if want := fmt.Sprintf("tocsin/incidents/%d", inc.ID); m.Topic() != want {
		t.Fatalf("incident %d published on %s, want %s", inc.ID, m.Topic(), want)
	}
	return inc
}

func isIncident(t testing.TB, pred func(escalation.Incident) bool) func(mqtt.Message) bool {
	return func(m mqtt.Message) bool {
		if !strings.HasPrefix(m.Topic(), "tocsin/incidents/") {
			return false
		}
		return pred(incidentMsg(t, m))
	}
}

func TestMosquittoIntake(t *testing.T) {
	broker := startMosquitto(t, "")
	eng, _ := newEngine(t)
	c := New(testConfig(broker.addr, "tocsin-intake"), eng, testLogger(t))
	t.Cleanup(eng.Subscribe(c.Publish))
	obs := newObserver(t, broker.addr, "tocsin/#")
	stop := runClient(t, c)

	obs.waitFor(t, "tocsin/status online", func(m mqtt.Message) bool {
		return m.Topic() == "tocsin/status" && string(m.Payload()) == "online"
	})

	// A JSON alert becomes an incident, published retained.
	obs.publish(t, "factory/p1/alarm/pressure", false,
		`{"summary":"Hydraulic pressure low","severity":"critical","source":"plc-3","dedup_key":"p1-pressure","details":{"bar":82}}`)
	m := obs.waitFor(t, "incident for the JSON alert", isIncident(t, func(i escalation.Incident) bool { return i.DedupKey == "p1-pressure" }))
	pressure := incidentMsg(t, m)
	if pressure.Service != "press-line-1" || pressure.Summary != "Hydraulic pressure low" || pressure.Severity != escalation.SevCritical ||
		pressure.Source != "plc-3" || pressure.Status != escalation.Triggered {
		t.Errorf("JSON alert became %+v", pressure)
	}
	stored, err := eng.Incident(context.Background(), pressure.ID)
	if err != nil || stored.DedupKey != "p1-pressure" || string(stored.Details) != `{"bar":82}` {
		t.Errorf("stored incident %+v, %v", stored, err)
	}

	// A text alert: the payload is the summary, the topic the dedup key.
	obs.publish(t, "plc/3/text", true, "Oven 3 door open")
	m = obs.waitFor(t, "incident for the text alert", isIncident(t, func(i escalation.Incident) bool { return i.DedupKey == "plc/3/text" }))
	oven := incidentMsg(t, m)
	if oven.Service != "ovens" || oven.Summary != "Oven 3 door open" || oven.Status != escalation.Triggered {
		t.Errorf("text alert became %+v", oven)
	}

	// Clearing the retained alarm (an empty retained payload) resolves it.
	obs.publish(t, "plc/3/text", true, "")
	obs.waitFor(t, "text incident resolved", isIncident(t, func(i escalation.Incident) bool {
		return i.ID == oven.ID && i.Status == escalation.Resolved
	}))

	// An ack on {prefix}/ack acknowledges, recording who.
	obs.publish(t, "tocsin/ack", false, fmt.Sprintf(`{"incident_id": %d, "by": "hmi-3"}`, pressure.ID))
	m = obs.waitFor(t, "incident acknowledged", isIncident(t, func(i escalation.Incident) bool {
		return i.ID == pressure.ID && i.Status == escalation.Acknowledged
	}))
	if got := incidentMsg(t, m); got.AcknowledgedBy != "hmi-3" || got.AcknowledgedAt == nil {
		t.Errorf("acknowledged incident %+v", got)
	}

	// A bad payload is acknowledged and counted; the next message on the
	// same topic (same shard, so processed after it) still gets through.
	before := c.Status().BadPayloads
	obs.publish(t, "factory/p2/alarm/temp", false, `{"sumary":"typo"}`)
	obs.publish(t, "factory/p2/alarm/temp", false, `{"summary":"Oil temperature high","dedup_key":"p2-temp"}`)
	obs.waitFor(t, "incident after a bad payload", isIncident(t, func(i escalation.Incident) bool { return i.DedupKey == "p2-temp" }))
	if got := c.Status().BadPayloads; got != before+1 {
		t.Errorf("bad payloads %d, want %d", got, before+1)
	}

	// {prefix}/resolve resolves.
	obs.publish(t, "tocsin/resolve", false, fmt.Sprintf(`{"incident_id": %d}`, pressure.ID))
	m = obs.waitFor(t, "incident resolved", isIncident(t, func(i escalation.Incident) bool {
		return i.ID == pressure.ID && i.Status == escalation.Resolved
	}))
	if got := incidentMsg(t, m); got.ResolvedBy != "mqtt" {
		t.Errorf("resolved by %q, want mqtt", got.ResolvedBy)
	}

	// Incident states are retained: a client arriving later gets them.
	late := newObserver(t, broker.addr, fmt.Sprintf("tocsin/incidents/%d", pressure.ID))
	m = late.waitFor(t, "retained incident state", func(mqtt.Message) bool { return true })
	if !m.Retained() || incidentMsg(t, m).Status != escalation.Resolved {
		t.Errorf("late subscriber got retained=%v %s", m.Retained(), m.Payload())
	}

	st := c.Status()
	if !st.Connected || st.Received < 7 || st.Committed < 6 || st.Published == 0 || st.Connects != 1 {
		t.Errorf("status %+v", st)
	}

	// A clean stop says offline (retained).
	stop()
	obs.waitFor(t, "tocsin/status offline", func(m mqtt.Message) bool {
		return m.Topic() == "tocsin/status" && string(m.Payload()) == "offline"
	})
}

// TestMosquittoPersistentSession shows that an alert published while Tocsin
// is not running is delivered when it comes back, because the session is
// persistent and the message was never acknowledged.
func TestMosquittoPersistentSession(t *testing.T) {
	broker := startMosquitto(t, "")
	eng, _ := newEngine(t)
	cfg := testConfig(broker.addr, "tocsin-persist")
	obs := newObserver(t, broker.addr, "tocsin/#")

	first := New(cfg, eng, testLogger(t))
	stop := runClient(t, first)
	obs.waitFor(t, "online", func(m mqtt.Message) bool { return m.Topic() == "tocsin/status" && string(m.Payload()) == "online" })
	stop()
	obs.waitFor(t, "offline", func(m mqtt.Message) bool { return m.Topic() == "tocsin/status" && string(m.Payload()) == "offline" })

	// Tocsin is down: the broker queues these for its session.
	for i := range 20 {
		obs.publish(t, fmt.Sprintf("factory/p%d/alarm/x", i%3), false, fmt.Sprintf(`{"summary":"while away %d","dedup_key":"away-%d"}`, i, i))
	}

	second := New(cfg, eng, testLogger(t))
	t.Cleanup(eng.Subscribe(second.Publish))
	runClient(t, second)
	seen := map[string]bool{}
	for len(seen) < 20 {
		m := obs.waitFor(t, fmt.Sprintf("incidents for alerts sent while away (have %d of 20)", len(seen)),
			func(m mqtt.Message) bool { return strings.HasPrefix(m.Topic(), "tocsin/incidents/") })
		seen[incidentMsg(t, m).DedupKey] = true
	}
	incs, err := eng.Incidents(context.Background(), escalation.IncidentFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(incs) != 20 {
		t.Errorf("%d incidents, want 20", len(incs))
	}
}

// TestMosquittoCredentials runs against a broker that requires a password.
func TestMosquittoCredentials(t *testing.T) {
	pw := brokerReadableDir(t) + "/passwd"
	err := writePasswordFile(pw, "tocsin", "s3cret")
	needs.That(t, err == nil, "mqtt", fmt.Sprintf("mosquitto_passwd unavailable (Debian package mosquitto): %v", err))
	broker := startMosquitto(t, "password_file "+pw)
	eng, _ := newEngine(t)

	cfg := testConfig(broker.addr, "tocsin-auth")
	cfg.Username, cfg.Password = "tocsin", "wrong"
	bad := New(cfg, eng, testLogger(t))
	stopBad := runClient(t, bad)
	waitStatus(t, bad, "a connection error", func(st Status) bool { return st.LastError != "" })
	if st := bad.Status(); st.Connected || !strings.Contains(st.LastError, "not Authorized") && !strings.Contains(st.LastError, "bad user name or password") {
		t.Errorf("with a wrong password: %+v", st)
	}
	stopBad()

	cfg.Password = "s3cret"
	good := New(cfg, eng, testLogger(t))
	runClient(t, good)
	obs := newObserver(t, broker.addr, "tocsin/status", func(o *mqtt.ClientOptions) { o.SetUsername("tocsin").SetPassword("s3cret") })
	obs.waitFor(t, "online with the right password", func(m mqtt.Message) bool { return string(m.Payload()) == "online" })
}

// TestMosquittoHeartbeat: any message on a heartbeat topic is a beat of
// its heartbeat id, committed before the broker is acknowledged.
func TestMosquittoHeartbeat(t *testing.T) {
	broker := startMosquitto(t, "")
	eng, _ := newEngine(t)
	cfg := testConfig(broker.addr, "tocsin-heartbeat")
	cfg.Heartbeats = []HeartbeatTopic{{Topic: "scada/main/alive", Heartbeat: "scada-main"}}
	c := New(cfg, eng, testLogger(t))
	beats := make(chan string, 10)
	c.OnHeartbeat(func(_ context.Context, id string) error { beats <- id; return nil })
	runClient(t, c)
	waitStatus(t, c, "connected", func(st Status) bool { return st.Connected })
	obs := newObserver(t, broker.addr, "")
	obs.publish(t, "scada/main/alive", false, "1234")
	select {
	case id := <-beats:
		if id != "scada-main" {
			t.Errorf("beat of %q, want scada-main", id)
		}
	case <-time.After(waitLimit):
		t.Fatal("no heartbeat")
	}
}

// TestMosquittoRestart: the broker goes away and comes back (without its
// sessions); Tocsin reconnects, subscribes again, publishes the incident
// changes made meanwhile, and takes alerts again.
func TestMosquittoRestart(t *testing.T) {
	port := freePort(t)
	broker := startMosquittoOn(t, port, "")
	eng, _ := newEngine(t)
	c := New(testConfig(broker.addr, "tocsin-restart"), eng, testLogger(t))
	t.Cleanup(eng.Subscribe(c.Publish))
	runClient(t, c)
	waitStatus(t, c, "connected", func(st Status) bool { return st.Connected })

	obs := newObserver(t, broker.addr, "tocsin/incidents/+")
	obs.publish(t, "plc/1/text", false, "Press 1 guard open")
	m := obs.waitFor(t, "first incident", isIncident(t, func(i escalation.Incident) bool { return i.DedupKey == "plc/1/text" }))
	inc := incidentMsg(t, m)

	broker.stop()
	waitStatus(t, c, "disconnected", func(st Status) bool { return !st.Connected })
	// Acknowledged while the broker is away: published after reconnecting.
	if _, err := eng.Transition(context.Background(), inc.ID, escalation.Acknowledged, "tanaka", "sms"); err != nil {
		t.Fatal(err)
	}

	broker = startMosquittoOn(t, port, "")
	waitStatus(t, c, "reconnected", func(st Status) bool { return st.Connected && st.Connects == 2 })
	obs = newObserver(t, broker.addr, "tocsin/incidents/+")
	obs.waitFor(t, "the acknowledgement made while the broker was away", isIncident(t, func(i escalation.Incident) bool {
		return i.ID == inc.ID && i.Status == escalation.Acknowledged
	}))
	obs.publish(t, "plc/2/text", false, "Press 2 guard open")
	obs.waitFor(t, "an alert after the restart", isIncident(t, func(i escalation.Incident) bool { return i.DedupKey == "plc/2/text" }))
}
