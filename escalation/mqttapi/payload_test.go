package mqttapi

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tocsin-relay/tocsin/escalation"
)

var (
	jsonSub = Subscription{Topic: "factory/+/alarm/#", Service: "press-line-1", Format: FormatJSON}
	textSub = Subscription{Topic: "plc/+/text", Service: "ovens", Format: FormatText}
)

func TestDecodeAlert(t *testing.T) {
	tests := []struct {
		name    string
		sub     Subscription
		topic   string
		payload string
		want    escalation.Event
	}{
		{"json, service from the subscription", jsonSub, "factory/p1/alarm/pressure",
			`{"summary":"Hydraulic pressure low","severity":"critical","source":"plc-3","dedup_key":"p1-pressure"}`,
			escalation.Event{Service: "press-line-1", Summary: "Hydraulic pressure low", Severity: escalation.SevCritical,
				Source: "plc-3", DedupKey: "p1-pressure", Action: escalation.Trigger, Intake: "mqtt"}},
		{"json names its own service; topic is the default key and source", jsonSub, "factory/p2/alarm/temp",
			`{"service":"press-line-2","summary":"Hot"}`,
			escalation.Event{Service: "press-line-2", Summary: "Hot", Severity: escalation.SevError,
				Source: "factory/p2/alarm/temp", DedupKey: "factory/p2/alarm/temp", Action: escalation.Trigger, Intake: "mqtt"}},
		{"json resolve", jsonSub, "factory/p1/alarm/pressure", `{"action":"resolve"}`,
			escalation.Event{Service: "press-line-1", Severity: escalation.SevError, Source: "factory/p1/alarm/pressure",
				DedupKey: "factory/p1/alarm/pressure", Action: escalation.Resolve, Intake: "mqtt"}},
		{"json details kept", jsonSub, "factory/p1/alarm/x", `{"summary":"s","details":{"bar": 82}}`,
			escalation.Event{Service: "press-line-1", Summary: "s", Severity: escalation.SevError, Source: "factory/p1/alarm/x",
				DedupKey: "factory/p1/alarm/x", Action: escalation.Trigger, Intake: "mqtt", Details: json.RawMessage(`{"bar":82}`)}},
		{"text", textSub, "plc/3/text", "  Oven door open\n",
			escalation.Event{Service: "ovens", Summary: "Oven door open", Severity: escalation.SevError, Source: "plc/3/text",
				DedupKey: "plc/3/text", Action: escalation.Trigger, Intake: "mqtt"}},
		{"text in Japanese", textSub, "plc/3/text", "油圧低下",
			escalation.Event{Service: "ovens", Summary: "油圧低下", Severity: escalation.SevError, Source: "plc/3/text",
				DedupKey: "plc/3/text", Action: escalation.Trigger, Intake: "mqtt"}},
		{"empty payload resolves (text)", textSub, "plc/3/text", "",
			escalation.Event{Service: "ovens", Severity: escalation.SevError, Source: "plc/3/text",
				DedupKey: "plc/3/text", Action: escalation.Resolve, Intake: "mqtt"}},
		{"empty payload resolves (json)", jsonSub, "factory/p1/alarm/pressure", " \n",
			escalation.Event{Service: "press-line-1", Severity: escalation.SevError, Source: "factory/p1/alarm/pressure",
				DedupKey: "factory/p1/alarm/pressure", Action: escalation.Resolve, Intake: "mqtt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeAlert(tt.sub, tt.topic, []byte(tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Details) != string(tt.want.Details) {
				t.Errorf("details %s, want %s", got.Details, tt.want.Details)
			}
			got.Details, tt.want.Details = nil, nil
			if !equalEvent(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func equalEvent(a, b escalation.Event) bool {
	a.Details, b.Details = nil, nil
	return a.Service == b.Service && a.Summary == b.Summary && a.Severity == b.Severity && a.Source == b.Source &&
		a.DedupKey == b.DedupKey && a.Action == b.Action && a.Intake == b.Intake && a.DedupScope == b.DedupScope
}

func TestDecodeAlertLongText(t *testing.T) {
	got, err := decodeAlert(textSub, "plc/3/text", []byte(strings.Repeat("警", 3000)))
	if err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(got.Summary); n != escalation.MaxSummary || !strings.HasSuffix(got.Summary, "…") {
		t.Errorf("long text kept as %d characters, want cut to %d with an ellipsis", n, escalation.MaxSummary)
	}
}

func TestDecodeAlertInvalid(t *testing.T) {
	noService := Subscription{Topic: "x/#", Format: FormatJSON}
	tests := []struct {
		name    string
		sub     Subscription
		payload string
		field   string
		msg     string
	}{
		{"not JSON", jsonSub, "pressure low", "", "malformed JSON"},
		{"typo in a field", jsonSub, `{"sumary":"x"}`, "sumary", `unknown field "sumary"`},
		{"bad severity", jsonSub, `{"summary":"x","severity":"high"}`, "severity", `unknown severity "high"`},
		{"bad action", jsonSub, `{"summary":"x","action":"escalate"}`, "action", `unknown action "escalate"`},
		{"details not an object", jsonSub, `{"summary":"x","details":[1]}`, "details", "details must be a JSON object"},
		{"two values", jsonSub, `{"summary":"x"} {}`, "", "more than one value"},
		{"text not UTF-8", textSub, "\xff\xfe", "summary", "not UTF-8"},
		{"empty payload without a service", noService, "", "service", "names no service"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeAlert(tt.sub, "x/y", []byte(tt.payload))
			if err == nil {
				t.Fatal("accepted")
			}
			if escalation.KindOf(err) != escalation.Invalid || escalation.FieldOf(err) != tt.field || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got %v (kind %v, field %q), want Invalid, field %q, saying %q",
					err, escalation.KindOf(err), escalation.FieldOf(err), tt.field, tt.msg)
			}
		})
	}
}

func TestDecodeCommand(t *testing.T) {
	tests := []struct {
		payload string
		want    command
		field   string // non-empty: an error naming this field is expected
		msg     string
	}{
		{payload: `{"incident_id": 42, "by": "hmi-3"}`, want: command{IncidentID: 42, By: "hmi-3"}},
		{payload: `{"incident_id": 7}`, want: command{IncidentID: 7, By: "mqtt"}},
		{payload: `{"incident_id": 7, "by": "  "}`, want: command{IncidentID: 7, By: "mqtt"}},
		{payload: `{"incident_id": 7, "by": "田中"}`, want: command{IncidentID: 7, By: "田中"}},
		{payload: `{"incident_id": "42"}`, field: "incident_id", msg: "incident_id must be a number, not string"},
		{payload: `{"incident_id": 0}`, field: "incident_id", msg: "positive"},
		{payload: `{"incident_id": -3}`, field: "incident_id", msg: "positive"},
		{payload: `{"by": "x"}`, field: "incident_id", msg: "positive"},
		{payload: `{"incident_id": 1, "who": "x"}`, msg: `unknown field "who"`},
		{payload: `{"incident_id": 1, "by": "` + strings.Repeat("x", 65) + `"}`, field: "by", msg: "at most 64"},
		{payload: ``, msg: "empty payload"},
		{payload: `42`, msg: "malformed command"},
		{payload: `{"incident_id": 1}{}`, msg: "more than one"},
	}
	for _, tt := range tests {
		t.Run(tt.payload, func(t *testing.T) {
			got, err := decodeCommand([]byte(tt.payload))
			if tt.msg == "" {
				if err != nil || got != tt.want {
					t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			if err == nil || escalation.KindOf(err) != escalation.Invalid || escalation.FieldOf(err) != tt.field || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got %+v, %v (field %q); want an Invalid error on field %q saying %q", got, err, escalation.FieldOf(err), tt.field, tt.msg)
			}
		})
	}
}

func TestTopicMatch(t *testing.T) {
	tests := []struct {
		filter, topic string
		want          bool
	}{
		{"factory/+/alarm/#", "factory/p1/alarm/pressure", true},
		{"factory/+/alarm/#", "factory/p1/alarm", true}, // # also matches the parent level
		{"factory/+/alarm/#", "factory/p1/alarm/a/b/c", true},
		{"factory/+/alarm/#", "factory/alarm/x", false},
		{"factory/+/alarm/#", "factory/p1/status", false},
		{"a/+", "a/b", true},
		{"a/+", "a/b/c", false},
		{"a/+", "a/", true}, // an empty level is a level
		{"a/b", "a/b", true},
		{"a/b", "a/b/c", false},
		{"a/b/c", "a/b", false},
		{"#", "anything/at/all", true},
		{"#", "$SYS/broker/uptime", false},
		{"+/broker/uptime", "$SYS/broker/uptime", false},
		{"$SYS/#", "$SYS/broker/uptime", true},
	}
	for _, tt := range tests {
		if got := topicMatch(tt.filter, tt.topic); got != tt.want {
			t.Errorf("topicMatch(%q, %q) = %v, want %v", tt.filter, tt.topic, got, tt.want)
		}
	}
}

func TestRouteFirstMatchWins(t *testing.T) {
	subs := []Subscription{
		{Topic: "factory/p1/alarm/door", Service: "doors", Format: FormatText},
		{Topic: "factory/+/alarm/#", Service: "press-line-1", Format: FormatJSON},
	}
	if s, ok := route(subs, "factory/p1/alarm/door"); !ok || s.Service != "doors" {
		t.Errorf("route = %+v, %v; want the first, more specific subscription", s, ok)
	}
	if s, ok := route(subs, "factory/p2/alarm/door"); !ok || s.Service != "press-line-1" {
		t.Errorf("route = %+v, %v", s, ok)
	}
	if _, ok := route(subs, "elsewhere"); ok {
		t.Error("matched a topic no subscription names")
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Broker: "tcp://127.0.0.1:1883", Subscriptions: []Subscription{jsonSub, textSub}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	tests := []struct {
		name string
		edit func(*Config)
		msg  string
	}{
		{"no broker", func(c *Config) { c.Broker = "" }, "mqtt.broker: missing"},
		{"http broker", func(c *Config) { c.Broker = "http://x:1883" }, `unknown scheme "http"`},
		{"no host", func(c *Config) { c.Broker = "tcp://" }, "names no host"},
		{"embedded on the network without credentials", func(c *Config) { c.Broker, c.EmbeddedListen = Embedded, ":1883" },
			"mqtt.embedded_listen: \":1883\" is reachable from the network, so mqtt.username and mqtt.password_file are required"},
		{"embedded bad listen", func(c *Config) { c.Broker, c.EmbeddedListen = Embedded, "1883" }, "is not host:port"},
		{"prefix with wildcard", func(c *Config) { c.TopicPrefix = "tocsin/#" }, "mqtt.topic_prefix"},
		{"empty topic", func(c *Config) { c.Subscriptions[0].Topic = "" }, "mqtt.subscriptions[0].topic: empty"},
		{"# not last", func(c *Config) { c.Subscriptions[0].Topic = "a/#/b" }, "# must be the last level"},
		{"partial wildcard", func(c *Config) { c.Subscriptions[0].Topic = "a/b+" }, "must fill a whole level"},
		{"bad format", func(c *Config) { c.Subscriptions[1].Format = "xml" }, `mqtt.subscriptions[1].format: "xml"`},
		{"text without service", func(c *Config) { c.Subscriptions[1].Service = "" }, "mqtt.subscriptions[1].service: required for text"},
		{"subscribes to own topics", func(c *Config) { c.Subscriptions[0].Topic = "#" }, "also matches Tocsin's own topics"},
		{"heartbeat without id", func(c *Config) { c.Heartbeats = []HeartbeatTopic{{Topic: "a/b"}} }, "mqtt.heartbeats[0].heartbeat: missing"},
		{"heartbeat bad topic", func(c *Config) { c.Heartbeats = []HeartbeatTopic{{Topic: "a/#/b", Heartbeat: "h"}} }, "mqtt.heartbeats[0].topic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			c.Subscriptions = append([]Subscription(nil), ok.Subscriptions...)
			tt.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got %v, want an error saying %q", err, tt.msg)
			}
		})
	}
	for _, listen := range []string{"127.0.0.1:1883", "localhost:1883", "[::1]:1883"} {
		c := Config{Broker: Embedded, EmbeddedListen: listen}
		if err := c.Validate(); err != nil {
			t.Errorf("embedded on loopback %s without credentials rejected: %v", listen, err)
		}
	}
	c := Config{Broker: Embedded, EmbeddedListen: ":1883", Username: "u", Password: "p"}
	if err := c.Validate(); err != nil {
		t.Errorf("embedded with credentials rejected: %v", err)
	}
}

func FuzzDecodeAlertJSON(f *testing.F) {
	f.Add("factory/p1/alarm/x", []byte(`{"summary":"Hydraulic pressure low","severity":"critical","dedup_key":"k","details":{"a":1}}`))
	f.Add("factory/p1/alarm/x", []byte(`{"action":"resolve"}`))
	f.Add("factory/p1/alarm/x", []byte(``))
	f.Add("factory/p1/alarm/x", []byte(`{"summary":null,"details":null}`))
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		checkDecoded(t, jsonSub, topic, payload)
	})
}

func FuzzDecodeAlertText(f *testing.F) {
	f.Add("plc/3/text", []byte("Oven door open"))
	f.Add("plc/3/text", []byte("油圧低下"))
	f.Add("plc/3/text", []byte(""))
	f.Add("plc/3/text", []byte("\xff"))
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		checkDecoded(t, textSub, topic, payload)
	})
}

func checkDecoded(t *testing.T, sub Subscription, topic string, payload []byte) {
	t.Helper()
	ev, err := decodeAlert(sub, topic, payload)
	if err != nil {
		if escalation.KindOf(err) != escalation.Invalid {
			t.Fatalf("error of kind %v: %v", escalation.KindOf(err), err)
		}
		return
	}
	if ev.Intake != "mqtt" || ev.Service == "" {
		t.Fatalf("accepted %+v", ev)
	}
	if ev.DedupKey == "" && topic != "" {
		t.Fatalf("no dedup key for topic %q", topic)
	}
	if ev.Action == escalation.Trigger && sub.Format == FormatText && utf8.RuneCountInString(ev.Summary) > escalation.MaxSummary {
		t.Fatalf("text summary of %d characters", utf8.RuneCountInString(ev.Summary))
	}
	if ev.Details != nil && !json.Valid(ev.Details) {
		t.Fatalf("details %q", ev.Details)
	}
}

func FuzzDecodeCommand(f *testing.F) {
	f.Add([]byte(`{"incident_id": 42, "by": "hmi-3"}`))
	f.Add([]byte(`{"incident_id": 1e3}`))
	f.Add([]byte(`{"incident_id": "42"}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := decodeCommand(payload)
		if err != nil {
			if escalation.KindOf(err) != escalation.Invalid {
				t.Fatalf("error of kind %v: %v", escalation.KindOf(err), err)
			}
			return
		}
		if c.IncidentID <= 0 || c.By == "" || utf8.RuneCountInString(c.By) > maxBy {
			t.Fatalf("accepted %+v", c)
		}
	})
}

func FuzzTopicMatch(f *testing.F) {
	f.Add("factory/+/alarm/#", "factory/p1/alarm/pressure")
	f.Add("#", "$SYS/x")
	f.Add("a/+/+", "a//")
	f.Fuzz(func(t *testing.T, filter, topic string) {
		if validFilter(filter) != nil || strings.ContainsAny(topic, "+#") {
			return
		}
		got := topicMatch(filter, topic)
		// A filter without wildcards matches exactly itself.
		if !strings.ContainsAny(filter, "+#") && got != (filter == topic) {
			t.Fatalf("topicMatch(%q, %q) = %v", filter, topic, got)
		}
		// Every topic matches itself as a filter.
		if !topicMatch(topic, topic) {
			t.Fatalf("topic %q does not match itself", topic)
		}
	})
}
