package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/internal/testnet"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/tocsin-relay/tocsin/escalation"
)

// The daemon's MQTT wiring with its embedded broker: a PLC's JSON alarm
// and a text alarm become incidents, incident states are published
// retained, and an ack on tocsin/ack acknowledges.
func TestDaemonMQTTEmbeddedBroker(t *testing.T) {
	port := testnet.Port(t)
	e := newE2EFull(t, testPolicy("1h"), "", fmt.Sprintf(`gpio:
  backend: none
mqtt:
  broker: embedded
  embedded_listen: "127.0.0.1:%d"
  topic_prefix: tocsin
  subscriptions:
    - {topic: "factory/+/alarm/#", service: press-line-1, format: json}
    - {topic: "plc/+/text", service: press-line-1, format: text}`, port))
	e.start()
	e.waitLog(0, "mqtt: connected")

	opts := paho.NewClientOptions().AddBroker(fmt.Sprintf("tcp://127.0.0.1:%d", port)).SetClientID("plc-test")
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	states := make(chan escalation.Incident, 16)
	if tok := c.Subscribe("tocsin/incidents/+", 1, func(_ paho.Client, m paho.Message) {
		var inc escalation.Incident
		if json.Unmarshal(m.Payload(), &inc) == nil {
			// The docs/reference.md §5 incident JSON: state, not the growing history.
			if strings.Contains(string(m.Payload()), `"timeline"`) {
				t.Errorf("published incident carries its timeline: %s", m.Payload())
			}
			states <- inc
		}
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	publish := func(topic, payload string) {
		if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
	waitState := func(want escalation.Status) escalation.Incident {
		t.Helper()
		for {
			select {
			case inc := <-states:
				if inc.Status == want {
					return inc
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("no incident published as %s", want)
			}
		}
	}
	publish("factory/press1/alarm/hydraulic", `{"summary":"Hydraulic pressure low","severity":"critical","source":"plc-3"}`)
	inc := waitState(escalation.Triggered)
	if inc.Summary != "Hydraulic pressure low" || inc.Service != "press-line-1" {
		t.Errorf("incident from MQTT = %+v", inc)
	}
	if page := e.nextSMS(); page.To != "+819012345678" {
		t.Errorf("page to %q", page.To)
	}
	publish("tocsin/ack", fmt.Sprintf(`{"incident_id": %d, "by": "shift-lead"}`, inc.ID))
	acked := waitState(escalation.Acknowledged)
	if acked.ID != inc.ID || acked.AcknowledgedBy != "shift-lead" {
		t.Errorf("after tocsin/ack: #%d by %q", acked.ID, acked.AcknowledgedBy)
	}
	publish("plc/7/text", "Conveyor 7 stopped")
	text := waitState(escalation.Triggered)
	if text.Summary != "Conveyor 7 stopped" || text.DedupKey != "plc/7/text" {
		t.Errorf("text alarm = %q key %q", text.Summary, text.DedupKey)
	}
	var st struct {
		MQTT struct {
			Connected bool
			Committed int
		}
	}
	e.api("GET", "/api/v1/status", nil, &st)
	if !st.MQTT.Connected || st.MQTT.Committed < 3 {
		t.Errorf("status mqtt = %+v", st.MQTT)
	}
}
