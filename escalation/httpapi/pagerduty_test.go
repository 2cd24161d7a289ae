package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

// The routing/service key used in PagerDuty's own documented examples.
const pdDocsKey = "e93facc04764012d7bfb002500d5d1a6"

// intakePolicy is a small valid policy whose services carry the routing
// keys of PagerDuty's documented examples.
func intakePolicy() *escalation.Policy {
	return &escalation.Policy{
		Contacts: []escalation.Contact{{ID: "tanaka", Phone: "+819012345678"}},
		Services: []escalation.Service{
			{ID: "db", EscalationPolicy: "ops", RoutingKey: pdDocsKey},
			{ID: "press-line-1", EscalationPolicy: "ops", RoutingKey: "0123456789abcdef0123456789abcdef"},
		},
		EscalationPolicies: []escalation.EscalationPolicy{{ID: "ops", Levels: []escalation.Level{
			{Notify: []escalation.Target{{Contact: "tanaka", Via: []escalation.Channel{escalation.SMS}}}},
		}}},
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withField returns the JSON object body with one top-level or nested
// ("payload.summary") field set to v, or deleted when v is nil.
func withField(t testing.TB, body []byte, path string, v any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(path, ".")
	obj := m
	for _, p := range parts[:len(parts)-1] {
		obj = obj[p].(map[string]any)
	}
	last := parts[len(parts)-1]
	if v == nil {
		delete(obj, last)
	} else {
		obj[last] = v
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPagerDutyV2DocumentedExamples feeds the request bodies from
// PagerDuty's Events API v2 documentation (the OpenAPI example and the
// "Send an Alert Event" page) through the decoder.
func TestPagerDutyV2DocumentedExamples(t *testing.T) {
	pol := intakePolicy()

	t.Run("openapi example", func(t *testing.T) {
		ev, perr := decodePagerDutyV2(readTestdata(t, "pagerduty-v2-openapi-example.json"), pol)
		if perr != nil {
			t.Fatalf("documented example rejected: %v", perr)
		}
		want := escalation.Event{
			Service:    "db",
			Summary:    "DISK at 99% on machine prod-datapipe03.example.com",
			Severity:   escalation.SevCritical,
			Source:     "prod-datapipe03.example.com",
			DedupKey:   "srv01/mysql",
			Action:     escalation.Trigger,
			Intake:     "pagerduty",
			DedupScope: pdDocsKey,
		}
		gotDetails := ev.Details
		ev.Details = nil
		if !reflect.DeepEqual(ev, want) {
			t.Errorf("got  %+v\nwant %+v", ev, want)
		}
		var d map[string]any
		if err := json.Unmarshal(gotDetails, &d); err != nil {
			t.Fatalf("details are not a JSON object: %v (%s)", err, gotDetails)
		}
		for _, k := range []string{"links", "images", "custom_details", "component", "group", "class", "timestamp", "client", "client_url"} {
			if _, ok := d[k]; !ok {
				t.Errorf("details lack %q: %s", k, gotDetails)
			}
		}
		if strings.Contains(string(gotDetails), pdDocsKey) {
			t.Errorf("details keep the routing key (a credential): %s", gotDetails)
		}
		if got := d["custom_details"].(map[string]any)["free space"]; got != "1%" {
			t.Errorf("custom_details[free space] = %v, want 1%%", got)
		}
	})

	// The docs page uses placeholder keys ("samplekeyhere"), which are
	// not 32 characters: PagerDuty itself answers them with the length
	// error. With a real key they are accepted.
	for _, name := range []string{"trigger", "acknowledge", "resolve"} {
		file := "pagerduty-v2-" + name + "-example.json"
		t.Run(name+" as documented", func(t *testing.T) {
			_, perr := decodePagerDutyV2(readTestdata(t, file), pol)
			wantErrors(t, perr, "Length of 'routing_key' is incorrect (should be 32 characters)")
		})
		t.Run(name+" with a real key", func(t *testing.T) {
			body := withField(t, readTestdata(t, file), "routing_key", pdDocsKey)
			ev, perr := decodePagerDutyV2(body, pol)
			if perr != nil {
				t.Fatalf("rejected: %v", perr)
			}
			if string(ev.Action) != name || ev.Service != "db" || ev.DedupScope != pdDocsKey || ev.Intake != "pagerduty" {
				t.Errorf("got %+v", ev)
			}
		})
	}
}

func wantErrors(t *testing.T, perr *pdError, want ...string) {
	t.Helper()
	if perr == nil {
		t.Fatalf("accepted, want errors %q", want)
	}
	if perr.Code != 400 || perr.Status != "invalid event" || perr.Message != "Event object is invalid" {
		t.Errorf("answer %d %q %q, want 400 \"invalid event\" \"Event object is invalid\"", perr.Code, perr.Status, perr.Message)
	}
	if !reflect.DeepEqual(perr.Errors, want) {
		t.Errorf("errors:\n got  %q\n want %q", perr.Errors, want)
	}
}

// TestPagerDutyV2Invalid covers each rule of the documented parameter
// table: required fields, enumerations and length limits.
func TestPagerDutyV2Invalid(t *testing.T) {
	pol := intakePolicy()
	good := readTestdata(t, "pagerduty-v2-openapi-example.json")
	ack := withField(t, readTestdata(t, "pagerduty-v2-acknowledge-example.json"), "routing_key", pdDocsKey)
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name string
		body []byte
		want []string
	}{
		{"routing_key missing", withField(t, good, "routing_key", nil), []string{"'routing_key' is missing or blank"}},
		{"routing_key short", withField(t, good, "routing_key", "abc"), []string{"Length of 'routing_key' is incorrect (should be 32 characters)"}},
		{"routing_key unknown", withField(t, good, "routing_key", strings.Repeat("f", 32)), []string{"'routing_key' does not match any service's routing_key"}},
		{"event_action missing", withField(t, good, "event_action", nil), []string{"'event_action' is missing or blank"}},
		{"event_action unknown", withField(t, good, "event_action", "escalate"), []string{"'event_action' is invalid (must be one of: trigger acknowledge resolve)"}},
		{"event_action wrong case", withField(t, good, "event_action", "Trigger"), []string{"'event_action' is invalid (must be one of: trigger acknowledge resolve)"}},
		{"payload missing on trigger", withField(t, good, "payload", nil), []string{"'payload' is missing (required for trigger events)"}},
		{"summary missing", withField(t, good, "payload.summary", nil), []string{"'payload.summary' is missing or blank"}},
		{"summary blank", withField(t, good, "payload.summary", "  "), []string{"'payload.summary' is missing or blank"}},
		{"summary 1025 characters", withField(t, good, "payload.summary", long(1025)), []string{"'payload.summary' is too long (maximum 1024 characters)"}},
		{"source missing", withField(t, good, "payload.source", nil), []string{"'payload.source' is missing or blank"}},
		{"severity missing", withField(t, good, "payload.severity", nil), []string{"'payload.severity' is missing or blank"}},
		{"severity unknown", withField(t, good, "payload.severity", "high"), []string{"'payload.severity' is invalid (must be one of: critical error warning info)"}},
		{"dedup_key 256 characters", withField(t, good, "dedup_key", long(256)), []string{"'dedup_key' is too long (maximum 255 characters)"}},
		{"dedup_key missing on acknowledge", withField(t, ack, "dedup_key", nil), []string{"'dedup_key' is missing or blank (required for acknowledge and resolve events)"}},
		{"dedup_key missing on resolve", withField(t, withField(t, ack, "event_action", "resolve"), "dedup_key", nil), []string{"'dedup_key' is missing or blank (required for acknowledge and resolve events)"}},
		{"link without href", withField(t, good, "links", []any{map[string]any{"text": "x"}}), []string{"'links[0].href' is missing or blank"}},
		{"image without src", withField(t, good, "images", []any{map[string]any{"alt": "x"}}), []string{"'images[0].src' is missing or blank"}},
		{"summary not a string", withField(t, good, "payload.summary", 42), []string{"'payload.summary' is invalid (must be a string, not number)"}},
		{"every rule at once", []byte(`{"event_action":"trigger","payload":{}}`), []string{
			"'routing_key' is missing or blank",
			"'payload.summary' is missing or blank",
			"'payload.source' is missing or blank",
			"'payload.severity' is missing or blank",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, perr := decodePagerDutyV2(tt.body, pol)
			wantErrors(t, perr, tt.want...)
		})
	}
}

func TestPagerDutyV2Limits(t *testing.T) {
	pol := intakePolicy()
	good := readTestdata(t, "pagerduty-v2-openapi-example.json")
	// Limits count characters, not bytes: 1024 Japanese characters are
	// 3072 bytes of UTF-8 and still fit.
	body := withField(t, good, "payload.summary", strings.Repeat("圧", 1024))
	body = withField(t, body, "dedup_key", strings.Repeat("鍵", 255))
	if _, perr := decodePagerDutyV2(body, pol); perr != nil {
		t.Errorf("limits at the boundary rejected: %v", perr)
	}
	// A trigger without dedup_key is valid: the engine makes one up.
	ev, perr := decodePagerDutyV2(withField(t, good, "dedup_key", nil), pol)
	if perr != nil || ev.DedupKey != "" {
		t.Errorf("trigger without dedup_key: %+v, %v", ev, perr)
	}
	// acknowledge and resolve need no payload, and a payload's content
	// is not checked for them.
	ack := withField(t, good, "event_action", "acknowledge")
	ack = withField(t, ack, "payload.severity", "bogus")
	if _, perr := decodePagerDutyV2(ack, pol); perr != nil {
		t.Errorf("acknowledge with a stray payload rejected: %v", perr)
	}
}

func TestPagerDutyUnrecognized(t *testing.T) {
	for _, body := range []string{``, `not json`, `[1,2]`, `"trigger"`, `{"routing_key":`, `{} {}`} {
		_, perr := decodePagerDutyV2([]byte(body), intakePolicy())
		if perr == nil || perr.Code != 400 {
			t.Errorf("%q: got %v, want a 400", body, perr)
			continue
		}
		if perr.Status != "Unrecognized object" || perr.Message != "Event object format is unrecognized" {
			t.Errorf("%q: got %q / %q, want PagerDuty's documented \"Unrecognized object\" answer", body, perr.Status, perr.Message)
		}
	}
}

// TestPagerDutyV1DocumentedExamples uses the bodies of PagerDuty's
// "Send a v1 Event" page.
func TestPagerDutyV1DocumentedExamples(t *testing.T) {
	pol := intakePolicy()
	ev, perr := decodePagerDutyV1(readTestdata(t, "pagerduty-v1-trigger-example.json"), pol)
	if perr != nil {
		t.Fatalf("documented trigger rejected: %v", perr)
	}
	if ev.Service != "db" || ev.Action != escalation.Trigger || ev.Summary != "FAILURE for production/HTTP on machine srv01.acme.com" ||
		ev.Severity != escalation.SevCritical || ev.Source != "Sample Monitoring Service" || ev.DedupScope != pdDocsKey || ev.DedupKey != "" {
		t.Errorf("got %+v", ev)
	}
	var d struct {
		CustomDetails map[string]any   `json:"custom_details"`
		Contexts      []map[string]any `json:"contexts"`
		ClientURL     string           `json:"client_url"`
	}
	if err := json.Unmarshal(ev.Details, &d); err != nil {
		t.Fatal(err)
	}
	if d.CustomDetails["ping time"] != "1500ms" || len(d.Contexts) != 3 || d.ClientURL != "https://monitoring.service.com" {
		t.Errorf("details %s", ev.Details)
	}
	for _, name := range []string{"acknowledge", "resolve"} {
		ev, perr := decodePagerDutyV1(readTestdata(t, "pagerduty-v1-"+name+"-example.json"), pol)
		if perr != nil {
			t.Fatalf("documented %s rejected: %v", name, perr)
		}
		if string(ev.Action) != name || ev.DedupKey != "srv01/HTTP" {
			t.Errorf("%s: got %+v", name, ev)
		}
	}
}

func TestPagerDutyV1Invalid(t *testing.T) {
	pol := intakePolicy()
	good := readTestdata(t, "pagerduty-v1-trigger-example.json")
	ack := readTestdata(t, "pagerduty-v1-acknowledge-example.json")
	tests := []struct {
		name string
		body []byte
		want []string
	}{
		// The one invalid case the v1 page documents.
		{"event_type invalid", withField(t, good, "event_type", "page"), []string{"'event_type' is invalid (must be one of: trigger acknowledge resolve)"}},
		{"service_key missing", withField(t, good, "service_key", nil), []string{"'service_key' is missing or blank"}},
		{"service_key short", withField(t, good, "service_key", "11863b592c824bfc"), []string{"Length of 'service_key' is incorrect (should be 32 characters)"}},
		{"description missing on trigger", withField(t, good, "description", nil), []string{"'description' is missing or blank"}},
		{"description 1025 characters", withField(t, good, "description", strings.Repeat("d", 1025)), []string{"'description' is too long (maximum 1024 characters)"}},
		{"incident_key missing on acknowledge", withField(t, ack, "incident_key", nil), []string{"'incident_key' is missing or blank (required for acknowledge and resolve events)"}},
		{"incident_key 256 characters", withField(t, ack, "incident_key", strings.Repeat("k", 256)), []string{"'incident_key' is too long (maximum 255 characters)"}},
		{"context without type", withField(t, good, "contexts", []any{map[string]any{"href": "http://x"}}), []string{"'contexts[0].type' is invalid (must be one of: link image)"}},
		{"link context without href", withField(t, good, "contexts", []any{map[string]any{"type": "link"}}), []string{"'contexts[0].href' is missing or blank"}},
		{"image context without src", withField(t, good, "contexts", []any{map[string]any{"type": "image"}}), []string{"'contexts[0].src' is missing or blank"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, perr := decodePagerDutyV1(tt.body, pol)
			wantErrors(t, perr, tt.want...)
		})
	}
}

// FuzzDecodePagerDutyV2 checks that no body panics the decoder and that an
// accepted event always satisfies the documented rules.
func FuzzDecodePagerDutyV2(f *testing.F) {
	for _, name := range []string{"pagerduty-v2-openapi-example.json", "pagerduty-v2-trigger-example.json", "pagerduty-v2-acknowledge-example.json", "pagerduty-v2-resolve-example.json"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte(`{"routing_key":"e93facc04764012d7bfb002500d5d1a6","event_action":"resolve","dedup_key":"k"}`))
	f.Add([]byte(`{"routing_key":"e93facc04764012d7bfb002500d5d1a6","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"error","custom_details":"text"}}`))
	f.Add([]byte(`{"payload":null,"links":[{}],"images":null}`))
	pol := intakePolicy()
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, perr := decodePagerDutyV2(body, pol)
		if perr != nil {
			if perr.Code != 400 || perr.Message == "" {
				t.Fatalf("bad error answer %+v", perr)
			}
			return
		}
		checkPagerDutyEvent(t, ev)
	})
}

func FuzzDecodePagerDutyV1(f *testing.F) {
	for _, name := range []string{"pagerduty-v1-trigger-example.json", "pagerduty-v1-acknowledge-example.json", "pagerduty-v1-resolve-example.json"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte(`{"service_key":"e93facc04764012d7bfb002500d5d1a6","event_type":"trigger","description":"x","details":null,"contexts":[]}`))
	pol := intakePolicy()
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, perr := decodePagerDutyV1(body, pol)
		if perr != nil {
			if perr.Code != 400 || perr.Message == "" {
				t.Fatalf("bad error answer %+v", perr)
			}
			return
		}
		checkPagerDutyEvent(t, ev)
	})
}

func checkPagerDutyEvent(t *testing.T, ev escalation.Event) {
	t.Helper()
	if ev.Service == "" || ev.Intake != "pagerduty" || len(ev.DedupScope) != 32 {
		t.Fatalf("accepted event lacks service/intake/scope: %+v", ev)
	}
	switch ev.Action {
	case escalation.Trigger:
		if strings.TrimSpace(ev.Summary) == "" || len([]rune(ev.Summary)) > pdMaxSummary {
			t.Fatalf("accepted trigger with summary %q", ev.Summary)
		}
	case escalation.Acknowledge, escalation.Resolve:
		if ev.DedupKey == "" {
			t.Fatalf("accepted %s without dedup key", ev.Action)
		}
	default:
		t.Fatalf("accepted action %q", ev.Action)
	}
	if len([]rune(ev.DedupKey)) > pdMaxDedupKey {
		t.Fatalf("accepted dedup key of %d characters", len([]rune(ev.DedupKey)))
	}
	if ev.Details != nil && !json.Valid(ev.Details) {
		t.Fatalf("details are not JSON: %q", ev.Details)
	}
}

// intakeServer runs the real HTTP server on the real engine and a real
// SQLite store in a temporary directory.
func intakeServer(t testing.TB) (*httptest.Server, *escalation.Engine) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tocsin.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	eng := escalation.NewEngine(db, intakePolicy(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { eng.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	ts := httptest.NewServer(New(Options{Engine: eng, Tokens: []Token{{Name: "monitoring", Token: "t0ken"}}}))
	t.Cleanup(ts.Close)
	return ts, eng
}

// post sends body and decodes the JSON answer into a map.
func post(t testing.TB, url, token string, body []byte) (int, map[string]any) {
	t.Helper()
	code, raw := doRequest(t, http.MethodPost, url, token, body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %q", code, raw)
	}
	return code, m
}

func incidentByKey(t testing.TB, eng *escalation.Engine, key string) []escalation.Incident {
	t.Helper()
	all, err := eng.Incidents(context.Background(), escalation.IncidentFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []escalation.Incident
	for _, inc := range all {
		if inc.DedupKey == key {
			out = append(out, inc)
		}
	}
	return out
}

// TestEnqueueOverHTTP follows PagerDuty's documented behaviour end to end:
// answers, dedup, acknowledge and resolve, keys scoped to the routing key.
func TestEnqueueOverHTTP(t *testing.T) {
	ts, eng := intakeServer(t)
	url := ts.URL + "/v2/enqueue"
	example := readTestdata(t, "pagerduty-v2-openapi-example.json")

	// No bearer token: the routing key is the credential.
	code, ans := post(t, url, "", example)
	want := map[string]any{"status": "success", "message": "Event processed", "dedup_key": "srv01/mysql"}
	if code != http.StatusAccepted || !reflect.DeepEqual(ans, want) {
		t.Fatalf("trigger: %d %v, want 202 %v", code, ans, want)
	}
	incs := incidentByKey(t, eng, "srv01/mysql")
	if len(incs) != 1 || incs[0].Service != "db" || incs[0].Severity != escalation.SevCritical || incs[0].Status != escalation.Triggered {
		t.Fatalf("incidents %+v", incs)
	}
	var details map[string]any
	if err := json.Unmarshal(incs[0].Details, &details); err != nil || details["links"] == nil || details["images"] == nil || details["custom_details"] == nil {
		t.Errorf("details %s (%v)", incs[0].Details, err)
	}

	// The same trigger again folds into the open incident.
	post(t, url, "", example)
	if incs := incidentByKey(t, eng, "srv01/mysql"); len(incs) != 1 || incs[0].AlertCount != 2 {
		t.Errorf("repeated trigger: %+v", incs)
	}
	// The same key under another routing key is another alert.
	other := withField(t, example, "routing_key", "0123456789abcdef0123456789abcdef")
	if code, _ := post(t, url, "", other); code != http.StatusAccepted {
		t.Fatalf("other routing key: %d", code)
	}
	if incs := incidentByKey(t, eng, "srv01/mysql"); len(incs) != 2 {
		t.Errorf("dedup keys not scoped to the routing key: %+v", incs)
	}

	ack := withField(t, readTestdata(t, "pagerduty-v2-acknowledge-example.json"), "routing_key", pdDocsKey)
	ack = withField(t, ack, "dedup_key", "srv01/mysql")
	if code, ans := post(t, url, "", ack); code != http.StatusAccepted || ans["dedup_key"] != "srv01/mysql" {
		t.Errorf("acknowledge: %d %v", code, ans)
	}
	resolve := withField(t, ack, "event_action", "resolve")
	post(t, url, "", resolve)
	for _, inc := range incidentByKey(t, eng, "srv01/mysql") {
		if inc.Service == "db" && inc.Status != escalation.Resolved {
			t.Errorf("after acknowledge and resolve: %+v", inc)
		}
	}

	// Acknowledge/resolve of an unknown key: accepted and dropped.
	unknown := withField(t, resolve, "dedup_key", "never-seen")
	if code, ans := post(t, url, "", unknown); code != http.StatusAccepted || ans["status"] != "success" {
		t.Errorf("resolve of unknown key: %d %v", code, ans)
	}
	if incs := incidentByKey(t, eng, "never-seen"); len(incs) != 0 {
		t.Errorf("resolve of an unknown key opened %+v", incs)
	}

	// Without dedup_key PagerDuty makes one up and returns it.
	code, ans = post(t, url, "", withField(t, example, "dedup_key", nil))
	if key, _ := ans["dedup_key"].(string); code != http.StatusAccepted || key == "" || len(incidentByKey(t, eng, key)) != 1 {
		t.Errorf("trigger without dedup_key: %d %v", code, ans)
	}

	// Invalid: PagerDuty's 400 body.
	code, ans = post(t, url, "", withField(t, example, "payload.severity", "high"))
	if code != http.StatusBadRequest || ans["status"] != "invalid event" || ans["message"] != "Event object is invalid" {
		t.Errorf("invalid: %d %v", code, ans)
	}
	if errs, _ := ans["errors"].([]any); len(errs) != 1 {
		t.Errorf("invalid: errors %v", ans["errors"])
	}

	// Over 512 KB: 413.
	big := withField(t, example, "payload.custom_details", map[string]any{"blob": strings.Repeat("x", 513<<10)})
	if code, _ := post(t, url, "", big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("513 KB body: %d, want 413", code)
	}
}

func TestCreateEventV1OverHTTP(t *testing.T) {
	ts, eng := intakeServer(t)
	url := ts.URL + "/generic/2010-04-15/create_event.json"
	trigger := withField(t, readTestdata(t, "pagerduty-v1-trigger-example.json"), "incident_key", "srv01/HTTP")
	code, ans := post(t, url, "", trigger)
	want := map[string]any{"status": "success", "message": "Event processed", "incident_key": "srv01/HTTP"}
	if code != http.StatusOK || !reflect.DeepEqual(ans, want) {
		t.Fatalf("v1 trigger: %d %v, want 200 %v", code, ans, want)
	}
	post(t, url, "", readTestdata(t, "pagerduty-v1-resolve-example.json"))
	if incs := incidentByKey(t, eng, "srv01/HTTP"); len(incs) != 1 || incs[0].Status != escalation.Resolved {
		t.Errorf("after v1 resolve: %+v", incs)
	}
	code, ans = post(t, url, "", withField(t, trigger, "event_type", "page"))
	if code != http.StatusBadRequest || ans["status"] != "invalid event" {
		t.Errorf("v1 invalid: %d %v", code, ans)
	}
}

// BenchmarkEnqueue measures /v2/enqueue events per second over real HTTP
// into the real engine and SQLite (synchronous=FULL), 16 senders at once,
// each event a new incident.
func BenchmarkEnqueue(b *testing.B) {
	const perRound, senders = 4000, 16
	ts, _ := intakeServer(b)
	example := readTestdata(b, "pagerduty-v2-openapi-example.json")
	bodies := make([][]byte, perRound)
	var total time.Duration
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	b.ResetTimer()
	for round := range b.N {
		b.StopTimer()
		for i := range bodies {
			bodies[i] = withField(b, example, "dedup_key", fmt.Sprintf("bench-%d-%d", round, i))
		}
		b.StartTimer()
		start := time.Now()
		var wg sync.WaitGroup
		var failed atomic.Int64
		next := atomic.Int64{}
		for range senders {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= perRound {
						return
					}
					resp, err := client.Post(ts.URL+"/v2/enqueue", "application/json", bytes.NewReader(bodies[i]))
					if err != nil {
						failed.Add(1)
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusAccepted {
						failed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		total += time.Since(start)
		if n := failed.Load(); n > 0 {
			b.Fatalf("%d events not accepted", n)
		}
	}
	b.ReportMetric(float64(perRound*b.N)/total.Seconds(), "events/s")
	b.ReportMetric(0, "ns/op")
}
