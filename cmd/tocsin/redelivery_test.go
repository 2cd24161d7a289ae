package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/tocsin-relay/tocsin/escalation"
)

// TestMQTTRedeliveryCountedOnce: 1,500 QoS 1 alarms on 8 topics go
// through a real mosquitto; the daemon is killed (SIGKILL, by the test
// hook) right after committing the 700th, before it could acknowledge
// it. The broker redelivers what was unacknowledged with DUP set; after
// the restart every alarm is exactly one incident with alert_count 1 —
// the redeliveries of committed messages were recognised, acknowledged
// and not counted again (the issue saw 176 of 1,500 counted twice).
func TestMQTTRedeliveryCountedOnce(t *testing.T) {
	broker := startBroker(t)
	const (
		total  = 1500
		topics = 8
		crash  = 700
	)
	e := newE2EFull(t, testPolicy("1h"), "  sms_per_minute: 1000000", fmt.Sprintf(`gpio:
  backend: none
mqtt:
  broker: %s
  client_id: tocsin-once
  topic_prefix: tocsin
  subscriptions:
    - {topic: "once/+", service: press-line-1, format: json}`, broker))
	t.Setenv(crashAfterCommitsEnv, fmt.Sprint(crash))
	e.start()
	os.Unsetenv(crashAfterCommitsEnv) // the restart runs without the hook
	e.waitLog(0, "mqtt: connected")

	connect := func(id string) paho.Client {
		c := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID(id))
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("%s: %v", id, tok.Error())
		}
		t.Cleanup(func() { c.Disconnect(100) })
		return c
	}
	var (
		mu        sync.Mutex
		sentinels = map[string]bool{}
		allIn     = make(chan struct{})
	)
	watch := connect("watcher")
	watch.Subscribe("tocsin/incidents/+", 1, func(_ paho.Client, m paho.Message) {
		var inc escalation.Incident
		if json.Unmarshal(m.Payload(), &inc) != nil || !strings.HasPrefix(inc.DedupKey, "end-") {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if sentinels[inc.DedupKey] = true; len(sentinels) == topics {
			select {
			case <-allIn:
			default:
				close(allIn)
			}
		}
	}).Wait()

	pub := connect("plc-once")
	publish := func(topic, body string) {
		if tok := pub.Publish(topic, 1, false, body); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	for i := range total {
		publish(fmt.Sprintf("once/plc%d", i%topics), fmt.Sprintf(`{"summary":"valve %d","severity":"warning","dedup_key":"v%d"}`, i, i))
	}
	select {
	case <-e.exited:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the daemon did not kill itself after commit %d\n%s", crash, e.logText())
	}
	if st := e.cmd.ProcessState; st == nil || st.String() != "signal: killed" {
		t.Fatalf("daemon ended with %v, want SIGKILL from the test hook", st)
	}

	from := e.logLen()
	e.start()
	// A sentinel per topic: each topic is committed in order, so once all
	// sentinels are incidents everything published before them is too.
	for i := range topics {
		publish(fmt.Sprintf("once/plc%d", i), fmt.Sprintf(`{"summary":"end","dedup_key":"end-%d"}`, i))
	}
	select {
	case <-allIn:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the sentinels never became incidents\n%s", e.logText())
	}

	incs := e.allIncidents()
	keys := map[string]int{}
	for _, inc := range incs {
		keys[inc.DedupKey]++
		if inc.AlertCount != 1 {
			t.Errorf("%s: alert_count %d, want 1", inc.DedupKey, inc.AlertCount)
		}
	}
	for i := range total {
		if n := keys[fmt.Sprintf("v%d", i)]; n != 1 {
			t.Errorf("v%d is %d incidents, want 1", i, n)
		}
	}
	if len(incs) != total+topics {
		t.Errorf("%d incidents, want %d", len(incs), total+topics)
	}
	var st struct {
		MQTT struct {
			Received uint64 `json:"received"`
			Repeats  uint64 `json:"repeats"`
		} `json:"mqtt"`
	}
	e.api("GET", "/api/v1/status", nil, &st)
	repeats := strings.Count(e.logText()[from:], "redelivered message was committed before")
	t.Logf("after SIGKILL at commit %d: %d messages received by the restarted daemon, %d redeliveries of committed messages recognised (status: %d)",
		crash, st.MQTT.Received, repeats, st.MQTT.Repeats)
	if repeats == 0 || st.MQTT.Repeats == 0 {
		t.Errorf("no redelivery of a committed message was seen: the kill did not land between commit and PUBACK")
	}
}
