package escalation

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDecodeAlert(t *testing.T) {
	tests := []struct {
		name, body string
		want       Event
		field      string // non-empty: want an Invalid error naming it
		errHas     string
	}{
		{name: "full", body: `{"service":"press","summary":"Hydraulic low","severity":"critical","source":"plc-3","dedup_key":"k","action":"trigger","details":{"bar": 3}}`,
			want: Event{Service: "press", Summary: "Hydraulic low", Severity: SevCritical, Source: "plc-3", DedupKey: "k", Action: Trigger, Details: json.RawMessage(`{"bar":3}`)}},
		{name: "defaults", body: `{"summary":"x"}`, want: Event{Service: "dflt", Summary: "x", Severity: SevError, Action: Trigger}},
		{name: "ack", body: `{"service":"s","dedup_key":"k","action":"acknowledge"}`, want: Event{Service: "s", DedupKey: "k", Severity: SevError, Action: Acknowledge}},
		{name: "empty", body: ``, field: "", errHas: "empty body"},
		{name: "truncated", body: `{"summary": "x"`, errHas: "unexpected end"},
		{name: "syntax", body: `{"summary": x}`, errHas: "malformed JSON at byte"},
		{name: "unknown field", body: `{"sumary":"x"}`, field: "sumary", errHas: `unknown field "sumary"`},
		{name: "wrong type", body: `{"summary": 5}`, field: "summary", errHas: "must be string"},
		{name: "bad severity", body: `{"summary":"x","severity":"urgent"}`, field: "severity"},
		{name: "bad action", body: `{"summary":"x","action":"explode"}`, field: "action"},
		{name: "details not object", body: `{"summary":"x","details":[1]}`, field: "details"},
		{name: "two values", body: `{"summary":"x"} {}`, errHas: "more than one value"},
		{name: "array", body: `[1]`, errHas: "must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeAlert([]byte(tt.body), "dflt")
			if tt.field != "" || tt.errHas != "" {
				if KindOf(err) != Invalid || FieldOf(err) != tt.field || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v (field %q), want Invalid naming %q containing %q", err, FieldOf(err), tt.field, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Service != tt.want.Service || got.Summary != tt.want.Summary || got.Severity != tt.want.Severity ||
				got.Source != tt.want.Source || got.DedupKey != tt.want.DedupKey || got.Action != tt.want.Action ||
				string(got.Details) != string(tt.want.Details) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzDecodeAlert: any input either decodes to a valid event or fails with
// an Invalid error; never a panic, never another kind.
func FuzzDecodeAlert(f *testing.F) {
	for _, s := range []string{
		`{"service":"press","summary":"Hydraulic low","severity":"critical","details":{"a":[1,2]}}`,
		`{"summary":"AT+CMGD=1,4\r\u001a","action":"resolve","dedup_key":"k"}`,
		`{}`, ``, `null`, `[`, `{"details":"x"}`, `{"severity":"INFO"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := DecodeAlert(b, "svc")
		if err != nil {
			if KindOf(err) != Invalid {
				t.Fatalf("error of kind %d: %v", KindOf(err), err)
			}
			return
		}
		if ev.Severity < SevCritical || ev.Severity > SevInfo {
			t.Fatalf("severity %d out of range", ev.Severity)
		}
		if ev.Details != nil && !json.Valid(ev.Details) {
			t.Fatalf("details not valid JSON: %q", ev.Details)
		}
	})
}
