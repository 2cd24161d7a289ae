package mqttapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/tocsin-relay/tocsin/escalation"
)

// decodeAlert turns one message of a subscription into an event.
//
// Both formats default the dedup key to the topic: a PLC or Node-RED flow
// usually publishes one alarm condition per topic, so repeats fold into one
// incident, a redelivered message (QoS 1 is at-least-once) does not open a
// second one, and an empty payload — what clearing a retained alarm sends —
// resolves it.
func decodeAlert(sub Subscription, topic string, payload []byte) (escalation.Event, error) {
	if len(bytes.TrimSpace(payload)) == 0 {
		if sub.Service == "" {
			return escalation.Event{}, escalation.Invalidf("service",
				"an empty payload resolves the topic's incident, but subscription %q names no service", sub.Topic)
		}
		return escalation.Event{Service: sub.Service, DedupKey: topic, Action: escalation.Resolve,
			Source: topic, Severity: escalation.SevError, Intake: "mqtt"}, nil
	}
	var ev escalation.Event
	switch sub.Format {
	case FormatText:
		if !utf8.Valid(payload) {
			return escalation.Event{}, escalation.Invalidf("summary", "text payload is not UTF-8")
		}
		summary := strings.TrimSpace(string(payload))
		if utf8.RuneCountInString(summary) > escalation.MaxSummary {
			// Page with the start of an over-long text rather than drop it.
			summary = string([]rune(summary)[:escalation.MaxSummary-1]) + "…"
		}
		ev = escalation.Event{Service: sub.Service, Summary: summary, Severity: escalation.SevError, Action: escalation.Trigger}
	default:
		var err error
		if ev, err = escalation.DecodeAlert(payload, sub.Service); err != nil {
			return escalation.Event{}, err
		}
	}
	if ev.DedupKey == "" {
		ev.DedupKey = topic
	}
	if ev.Source == "" {
		ev.Source = topic
	}
	ev.Intake = "mqtt"
	return ev, nil
}

// command is the payload of {prefix}/ack and {prefix}/resolve.
type command struct {
	IncidentID int64  `json:"incident_id"`
	By         string `json:"by"`
}

// maxBy bounds the name recorded as having acknowledged or resolved.
const maxBy = 64

// decodeCommand reads {"incident_id": 42, "by": "hmi-3"}; by defaults to
// "mqtt".
func decodeCommand(payload []byte) (command, error) {
	var c command
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return command{}, escalation.Invalidf("", `empty payload: want {"incident_id": 42, "by": "name"}`)
		case errors.As(err, &te) && te.Field != "":
			return command{}, escalation.Invalidf(te.Field, "%s must be %s, not %s", te.Field, map[string]string{
				"incident_id": "a number", "by": "a string"}[te.Field], te.Value)
		}
		return command{}, escalation.Invalidf("", `malformed command (want {"incident_id": 42, "by": "name"}): %v`, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return command{}, escalation.Invalidf("", "malformed command: more than one JSON value")
	}
	if c.IncidentID <= 0 {
		return command{}, escalation.Invalidf("incident_id", "incident_id must be a positive incident number")
	}
	c.By = strings.TrimSpace(c.By)
	if c.By == "" {
		c.By = "mqtt"
	}
	if !utf8.ValidString(c.By) || utf8.RuneCountInString(c.By) > maxBy {
		return command{}, escalation.Invalidf("by", "by must be UTF-8 text of at most %d characters", maxBy)
	}
	return c, nil
}

// route finds the subscription a topic arrived for: the first one in
// config order whose filter matches.
func route(subs []Subscription, topic string) (Subscription, bool) {
	for _, s := range subs {
		if topicMatch(s.Topic, topic) {
			return s, true
		}
	}
	return Subscription{}, false
}
