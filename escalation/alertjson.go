package escalation

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// AlertJSON is the wire shape of POST /api/v1/alerts and of MQTT "json"
// payloads.
type AlertJSON struct {
	Service  string          `json:"service"`
	Summary  string          `json:"summary"`
	Severity string          `json:"severity"`
	Source   string          `json:"source"`
	DedupKey string          `json:"dedup_key"`
	Action   string          `json:"action"`
	Details  json.RawMessage `json:"details"`
}

// DecodeAlert parses one alert in the /api/v1/alerts shape. Unknown fields
// are errors (a typo such as "sumary" must not silently page with an empty
// text). defaultService is used when the body names none (MQTT
// subscriptions may fix the service). The error is Invalid and names the
// field at fault.
func DecodeAlert(body []byte, defaultService string) (Event, error) {
	var a AlertJSON
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return Event{}, jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Event{}, Invalidf("", "malformed JSON: more than one value in the body")
	}
	ev := Event{
		Service:  a.Service,
		Summary:  a.Summary,
		Source:   a.Source,
		DedupKey: a.DedupKey,
		Severity: SevError,
	}
	if ev.Service == "" {
		ev.Service = defaultService
	}
	if a.Severity != "" {
		s, err := ParseSeverity(a.Severity)
		if err != nil {
			return Event{}, Invalidf("severity", "%v", err)
		}
		ev.Severity = s
	}
	act, err := ParseAction(a.Action)
	if err != nil {
		return Event{}, Invalidf("action", "%v", err)
	}
	ev.Action = act
	if d := bytes.TrimSpace(a.Details); len(d) > 0 && !bytes.Equal(d, []byte("null")) {
		if d[0] != '{' {
			return Event{}, Invalidf("details", "details must be a JSON object")
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, d); err != nil {
			return Event{}, Invalidf("details", "details: %v", err)
		}
		ev.Details = buf.Bytes()
	}
	return ev, nil
}

func jsonError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn):
		return Invalidf("", "malformed JSON at byte %d: %v", syn.Offset, err)
	case errors.As(err, &typ):
		return Invalidf(typ.Field, "field %q must be %s, not %s", typ.Field, typ.Type, typ.Value)
	case errors.Is(err, io.EOF):
		return Invalidf("", "empty body: expected a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Invalidf("", "malformed JSON: unexpected end of input")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return Invalidf(f, "unknown field %q", f)
	}
	return Invalidf("", "malformed JSON: %v", err)
}
