package mqttapi

import (
	"context"
	"fmt"
	"strings"
	"testing"

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
