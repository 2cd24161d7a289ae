package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/internal/needs"
	"github.com/tocsin-relay/tocsin/internal/testnet"

	"github.com/tocsin-relay/tocsin/escalation"
)

func TestDecodeAlertmanager(t *testing.T) {
	firing, err := decodeAlertmanager(readTestdata(t, "alertmanager-firing.json"), "press-line-1")
	if err != nil {
		t.Fatal(err)
	}
	wantKey := `{}:{alertname="HydraulicPressureLow"}`
	if firing.Service != "press-line-1" || firing.Action != escalation.Trigger || firing.DedupKey != wantKey ||
		firing.Intake != "alertmanager" || firing.DedupScope != "alertmanager" {
		t.Errorf("firing: got %+v", firing)
	}
	if got, want := firing.Summary, "Hydraulic pressure low on press line 1 (2 alerts)"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	if firing.Severity != escalation.SevCritical {
		t.Errorf("severity %v, want critical (severity=page)", firing.Severity)
	}
	if firing.Source != "plc-3:9100, plc-4:9100" || firing.Alerts != 2 {
		t.Errorf("source %q, alerts %d; want the firing alerts' instances and 2", firing.Source, firing.Alerts)
	}
	var d amDetails
	if err := json.Unmarshal(firing.Details, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Alerts) != 2 || d.Alerts[0].Labels["instance"] != "plc-3:9100" ||
		d.Alerts[1].Annotations["description"] != "Pressure 85 bar < 90 bar for 2m" ||
		d.Alerts[0].StartsAt != "2026-11-24T05:58:12.345Z" || !strings.HasPrefix(d.Alerts[0].GeneratorURL, "http://prometheus:9090/") {
		t.Errorf("details do not list each alert's labels, annotations, start and URL: %s", firing.Details)
	}
	if d.GroupKey != wantKey || d.Receiver != "tocsin" || d.ExternalURL != "http://alertmanager:9093" {
		t.Errorf("details %s", firing.Details)
	}

	resolved, err := decodeAlertmanager(readTestdata(t, "alertmanager-resolved.json"), "press-line-1")
	if err != nil {
		t.Fatal(err)
	}
	if resolved.Action != escalation.Resolve || resolved.DedupKey != firing.DedupKey {
		t.Errorf("resolved: action %q key %q, want resolve of %q", resolved.Action, resolved.DedupKey, firing.DedupKey)
	}
	if resolved.Summary != "Hydraulic pressure low on press line 1" {
		t.Errorf("resolved summary %q", resolved.Summary)
	}
}

func TestAlertGroupSeverityAndSummary(t *testing.T) {
	alert := func(status string, labels map[string]string) amAlert {
		return amAlert{Status: status, Labels: labels}
	}
	tests := []struct {
		name    string
		m       amMessage
		sev     escalation.Severity
		summary string
	}{
		{"critical", amMessage{CommonLabels: map[string]string{"severity": "critical", "alertname": "A"}}, escalation.SevCritical, "A"},
		{"error", amMessage{CommonLabels: map[string]string{"severity": "error", "alertname": "A"}}, escalation.SevError, "A"},
		{"warning", amMessage{CommonLabels: map[string]string{"severity": "WARNING", "alertname": "A"}}, escalation.SevWarning, "A"},
		{"info", amMessage{CommonLabels: map[string]string{"severity": "info", "alertname": "A"}}, escalation.SevInfo, "A"},
		{"page", amMessage{CommonLabels: map[string]string{"severity": "page", "alertname": "A"}}, escalation.SevCritical, "A"},
		{"unknown label", amMessage{CommonLabels: map[string]string{"severity": "p2", "alertname": "A"}}, escalation.SevWarning, "A"},
		{"no severity", amMessage{CommonLabels: map[string]string{"alertname": "A"}}, escalation.SevWarning, "A"},
		{"worst of the alerts", amMessage{GroupLabels: map[string]string{"alertname": "B"}, Alerts: []amAlert{
			alert("firing", map[string]string{"severity": "info"}),
			alert("firing", map[string]string{"severity": "page"}),
			alert("resolved", map[string]string{"severity": "warning"}),
		}}, escalation.SevCritical, "B (2 alerts)"},
		{"truncated alerts count", amMessage{CommonLabels: map[string]string{"alertname": "C"}, TruncatedAlerts: 5,
			Alerts: []amAlert{alert("firing", nil)}}, escalation.SevWarning, "C (6 alerts)"},
		{"single alert's own summary", amMessage{GroupKey: "{}:{}", Alerts: []amAlert{
			{Status: "firing", Annotations: map[string]string{"summary": "disk full"}},
		}}, escalation.SevWarning, "disk full"},
		{"nothing to name it by", amMessage{GroupKey: "{}:{}"}, escalation.SevWarning, "alert group {}:{}"},
		{"grafana title", amMessage{Title: "[FIRING:3] X", CommonLabels: map[string]string{"alertname": "X"}, Alerts: []amAlert{
			alert("firing", nil), alert("firing", nil), alert("firing", nil),
		}}, escalation.SevWarning, "[FIRING:3] X"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := groupSeverity(tt.m); got != tt.sev {
				t.Errorf("severity %v, want %v", got, tt.sev)
			}
			if got := groupSummary(tt.m); got != tt.summary {
				t.Errorf("summary %q, want %q", got, tt.summary)
			}
		})
	}
}

func TestAlertGroupLongKeyAndSummary(t *testing.T) {
	key := "{}:{" + strings.Repeat(`instance="x",`, 40) + "}"
	body := []byte(`{"version":"4","status":"firing","groupKey":` + jsonString(key) +
		`,"commonAnnotations":{"summary":` + jsonString(strings.Repeat("長", 2000)) + `},"alerts":[]}`)
	ev, err := decodeAlertmanager(body, "svc")
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.DedupKey) > maxDedupKey || !strings.HasPrefix(ev.DedupKey, "groupkey-sha256:") {
		t.Errorf("long group key kept as %q", ev.DedupKey)
	}
	again, _ := decodeAlertmanager(body, "svc")
	if again.DedupKey != ev.DedupKey {
		t.Error("the digest of a group key is not stable")
	}
	if n := len([]rune(ev.Summary)); n != maxSummary {
		t.Errorf("summary of %d characters, want it cut to %d", n, maxSummary)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestDecodeAlertmanagerInvalid(t *testing.T) {
	good := readTestdata(t, "alertmanager-firing.json")
	tests := []struct {
		name    string
		body    []byte
		service string
		field   string
		msg     string
	}{
		{"no service in URL", good, "", "service", "the URL names no service"},
		{"version 3", withField(t, good, "version", "3"), "s", "version", `unsupported Alertmanager webhook version "3"`},
		{"no version", withField(t, good, "version", nil), "s", "version", `unsupported Alertmanager webhook version ""`},
		{"no groupKey", withField(t, good, "groupKey", nil), "s", "groupKey", "groupKey is missing"},
		{"no status", withField(t, good, "status", nil), "s", "status", "status is missing"},
		{"unknown status", withField(t, good, "status", "pending"), "s", "status", `unknown status "pending"`},
		{"alert status", withField(t, good, "alerts", []any{map[string]any{"status": "weird"}}), "s", "alerts[0].status", `alerts[0].status is "weird"`},
		{"labels not strings", withField(t, good, "commonLabels", map[string]any{"severity": 1}), "s", "commonLabels", "must be a string, not number"},
		{"alerts not a list", withField(t, good, "alerts", "none"), "s", "alerts", "must be an array, not string"},
		{"not JSON", []byte(`<html>`), "s", "", "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeAlertmanager(tt.body, tt.service)
			if err == nil {
				t.Fatal("accepted")
			}
			if escalation.KindOf(err) != escalation.Invalid {
				t.Errorf("kind %v, want Invalid", escalation.KindOf(err))
			}
			if got := escalation.FieldOf(err); got != tt.field {
				t.Errorf("field %q, want %q", got, tt.field)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
		})
	}
}

func TestDecodeGrafana(t *testing.T) {
	firing, err := decodeGrafana(readTestdata(t, "grafana-firing.json"), "ovens")
	if err != nil {
		t.Fatal(err)
	}
	if firing.Action != escalation.Trigger || firing.Intake != "grafana" || firing.Severity != escalation.SevCritical ||
		!strings.HasPrefix(firing.DedupKey, "{}/{__grafana_autogenerated__") {
		t.Errorf("got %+v", firing)
	}
	if firing.Summary != "Oven 3 above 260 °C" {
		t.Errorf("summary %q", firing.Summary)
	}
	var d amDetails
	if err := json.Unmarshal(firing.Details, &d); err != nil {
		t.Fatal(err)
	}
	if d.Title == "" || d.Message == "" || d.Alerts[0].DashboardURL == "" || d.Alerts[0].ValueString == "" || string(d.Alerts[0].Values) == "" {
		t.Errorf("Grafana's title, message, URLs and values not kept: %s", firing.Details)
	}
	resolved, err := decodeGrafana(readTestdata(t, "grafana-resolved.json"), "ovens")
	if err != nil {
		t.Fatal(err)
	}
	if resolved.Action != escalation.Resolve || resolved.DedupKey != firing.DedupKey {
		t.Errorf("resolved: %+v", resolved)
	}

	// A Grafana contact point without a summary annotation: the title.
	noSummary := withField(t, readTestdata(t, "grafana-firing.json"), "commonAnnotations", map[string]any{})
	ev, err := decodeGrafana(noSummary, "ovens")
	if err != nil || ev.Summary != "[FIRING:1] Oven temperature high Line 2 (3 critical)" {
		t.Errorf("summary without annotation %q, %v", ev.Summary, err)
	}

	legacy := []byte(`{"title":"[Alerting] CPU","ruleId":1,"ruleName":"CPU","state":"alerting","evalMatches":[]}`)
	if _, err := decodeGrafana(legacy, "ovens"); err == nil || !strings.Contains(err.Error(), "legacy Grafana dashboard alert") {
		t.Errorf("legacy body: %v, want a clear rejection", err)
	}
}

func FuzzDecodeAlertmanager(f *testing.F) {
	f.Add(readTestdata(f, "alertmanager-firing.json"))
	f.Add(readTestdata(f, "alertmanager-resolved.json"))
	f.Add([]byte(`{"version":"4","status":"firing","groupKey":"k","alerts":[{"status":"firing","labels":null}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := decodeAlertmanager(body, "svc")
		checkGroupEvent(t, ev, err, "alertmanager")
	})
}

func FuzzDecodeGrafana(f *testing.F) {
	f.Add(readTestdata(f, "grafana-firing.json"))
	f.Add(readTestdata(f, "grafana-resolved.json"))
	f.Add([]byte(`{"state":"alerting","title":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := decodeGrafana(body, "svc")
		checkGroupEvent(t, ev, err, "grafana")
	})
}

func checkGroupEvent(t *testing.T, ev escalation.Event, err error, intake string) {
	t.Helper()
	if err != nil {
		if escalation.KindOf(err) != escalation.Invalid {
			t.Fatalf("error of kind %v: %v", escalation.KindOf(err), err)
		}
		return
	}
	if ev.Intake != intake || ev.Service != "svc" || ev.DedupKey == "" || len(ev.DedupKey) > maxDedupKey {
		t.Fatalf("accepted %+v", ev)
	}
	if ev.Action != escalation.Trigger && ev.Action != escalation.Resolve {
		t.Fatalf("action %q", ev.Action)
	}
	if strings.TrimSpace(ev.Summary) == "" || len([]rune(ev.Summary)) > maxSummary {
		t.Fatalf("summary %q", ev.Summary)
	}
	if !json.Valid(ev.Details) {
		t.Fatalf("details %q", ev.Details)
	}
}

func TestAlertmanagerOverHTTP(t *testing.T) {
	ts, eng := intakeServer(t)
	url := ts.URL + "/api/v1/webhooks/alertmanager/press-line-1"
	firing := readTestdata(t, "alertmanager-firing.json")
	key := `{}:{alertname="HydraulicPressureLow"}`

	if code, _ := post(t, url, "", firing); code != http.StatusUnauthorized {
		t.Errorf("without a token: %d, want 401", code)
	}
	code, ans := post(t, url, "t0ken", firing)
	if code != http.StatusAccepted || ans["new"] != true || ans["dedup_key"] != key {
		t.Fatalf("firing: %d %v", code, ans)
	}
	// Alertmanager repeats a firing group (repeat_interval, new alerts
	// joining): still one incident.
	post(t, url, "t0ken", firing)
	incs := incidentByKey(t, eng, key)
	if len(incs) != 1 || incs[0].Status != escalation.Triggered || incs[0].AlertCount != 2 || incs[0].Severity != escalation.SevCritical {
		t.Fatalf("after two firing notifications: %+v", incs)
	}
	if code, _ := post(t, url, "t0ken", readTestdata(t, "alertmanager-resolved.json")); code != http.StatusAccepted {
		t.Fatalf("resolved: %d", code)
	}
	if incs := incidentByKey(t, eng, key); len(incs) != 1 || incs[0].Status != escalation.Resolved {
		t.Errorf("after the group resolved: %+v", incs)
	}

	// 4xx, so Alertmanager does not retry what cannot succeed.
	if code, ans := post(t, ts.URL+"/api/v1/webhooks/alertmanager/no-such-service", "t0ken", firing); code < 400 || code >= 500 {
		t.Errorf("unknown service: %d %v, want a 4xx", code, ans)
	}
	code, ans = post(t, url, "t0ken", withField(t, firing, "status", "pending"))
	if code != http.StatusBadRequest || ans["field"] != "status" {
		t.Errorf("bad status: %d %v", code, ans)
	}
}

func TestGrafanaOverHTTP(t *testing.T) {
	ts, eng := intakeServer(t)
	url := ts.URL + "/api/v1/webhooks/grafana/db"
	code, ans := post(t, url, "t0ken", readTestdata(t, "grafana-firing.json"))
	if code != http.StatusAccepted {
		t.Fatalf("firing: %d %v", code, ans)
	}
	key, _ := ans["dedup_key"].(string)
	post(t, url, "t0ken", readTestdata(t, "grafana-resolved.json"))
	if incs := incidentByKey(t, eng, key); len(incs) != 1 || incs[0].Status != escalation.Resolved || incs[0].Summary != "Oven 3 above 260 °C" {
		t.Errorf("grafana incident %+v", incs)
	}
}

// startAlertmanager runs the real Prometheus Alertmanager with receiver
// (the YAML of the receiver named tocsin) and returns its base URL. It
// skips the test only when Alertmanager is not installed.
func startAlertmanager(t *testing.T, receiver string) string {
	t.Helper()
	path := needs.Command(t, "prometheus-alertmanager", "alertmanager", "alertmanager")
	addr := testnet.Addr(t)
	dir := t.TempDir()
	conf := fmt.Sprintf(`route:
  receiver: tocsin
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: tocsin
%s`, receiver)
	if err := os.WriteFile(filepath.Join(dir, "alertmanager.yml"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, "--config.file="+filepath.Join(dir, "alertmanager.yml"),
		"--storage.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr,
		"--cluster.listen-address=") // no gossip: a single test instance
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	ready := make(chan struct{})
	var (
		mu  sync.Mutex // guards out
		out strings.Builder
	)
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			if signalled {
				continue
			}
			mu.Lock()
			out.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if strings.Contains(sc.Text(), `msg="Listening on"`) {
				signalled = true
				close(ready)
			}
		}
	}()
	output := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	select {
	case <-ready:
	case <-exited:
		t.Fatalf("alertmanager exited:\n%s", output())
	case <-time.After(20 * time.Second):
		t.Fatal("alertmanager did not start")
	}
	return "http://" + addr
}

// watchIncidents returns a channel signalled on every incident change.
func watchIncidents(t *testing.T, eng *escalation.Engine) <-chan struct{} {
	changes := make(chan struct{}, 1)
	t.Cleanup(eng.Subscribe(func(escalation.Incident) {
		select {
		case changes <- struct{}{}:
		default:
		}
	}))
	return changes
}

// waitIncident looks at every incident after each change until one
// satisfies ok (changes of other incidents may come in any order).
func waitIncident(t *testing.T, eng *escalation.Engine, changes <-chan struct{}, what string, ok func(escalation.Incident) bool) escalation.Incident {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		all, err := eng.Incidents(context.Background(), escalation.IncidentFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, inc := range all {
			if ok(inc) {
				return inc
			}
		}
		select {
		case <-changes:
		case <-deadline:
			t.Fatalf("waiting for %s; incidents: %+v", what, all)
		}
	}
}

// postAlerts posts alerts (API v2 JSON) to Alertmanager at am.
func postAlerts(t *testing.T, am, alerts string) {
	t.Helper()
	resp, err := http.Post(am+"/api/v2/alerts", "application/json", strings.NewReader(alerts))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("posting to Alertmanager: %s", resp.Status)
	}
}

// pressureAlerts are two alerts of one group; endsAt, when set, ends them.
func pressureAlerts(startsAt, endsAt string) string {
	end := ""
	if endsAt != "" {
		end = `,"endsAt":"` + endsAt + `"`
	}
	return `[
{"labels":{"alertname":"HydraulicPressureLow","instance":"plc-3","severity":"page"},"annotations":{"summary":"Hydraulic pressure low"},"startsAt":"` + startsAt + `"` + end + `},
{"labels":{"alertname":"HydraulicPressureLow","instance":"plc-4","severity":"page"},"annotations":{"summary":"Hydraulic pressure low"},"startsAt":"` + startsAt + `"` + end + `}]`
}

// TestRealAlertmanager posts alerts to a real Alertmanager whose webhook
// receiver is Tocsin: one incident per group, resolved when the group is.
func TestRealAlertmanager(t *testing.T) {
	ts, eng := intakeServer(t)
	changes := watchIncidents(t, eng)
	am := startAlertmanager(t, `    webhook_configs:
      - url: `+ts.URL+`/api/v1/webhooks/alertmanager/press-line-1
        send_resolved: true
        http_config:
          authorization:
            credentials: t0ken
`)
	start := time.Now().UTC().Format(time.RFC3339)
	postAlerts(t, am, pressureAlerts(start, ""))
	postAlerts(t, am, `[{"labels":{"alertname":"OilTempHigh","instance":"plc-3","severity":"warning"},"annotations":{"summary":"Oil temperature high"},"startsAt":"`+start+`"}]`)

	pressure := waitIncident(t, eng, changes, "the pressure group's incident", func(i escalation.Incident) bool {
		return strings.Contains(i.DedupKey, "HydraulicPressureLow") && i.Status == escalation.Triggered
	})
	oil := waitIncident(t, eng, changes, "the oil group's incident", func(i escalation.Incident) bool {
		return strings.Contains(i.DedupKey, "OilTempHigh")
	})
	if pressure.Severity != escalation.SevCritical || pressure.Summary != "Hydraulic pressure low (2 alerts)" {
		t.Errorf("pressure incident %+v", pressure)
	}
	if oil.Severity != escalation.SevWarning || oil.ID == pressure.ID {
		t.Errorf("oil incident %+v", oil)
	}
	var d amDetails
	if err := json.Unmarshal(pressure.Details, &d); err != nil || len(d.Alerts) != 2 {
		t.Errorf("pressure details %s (%v)", pressure.Details, err)
	}

	// Both pressure alerts end: Alertmanager sends the group resolved.
	postAlerts(t, am, pressureAlerts(start, time.Now().UTC().Add(-time.Second).Format(time.RFC3339)))
	waitIncident(t, eng, changes, "the pressure incident resolved", func(i escalation.Incident) bool {
		return i.ID == pressure.ID && i.Status == escalation.Resolved
	})
	if got, err := eng.Incident(context.Background(), oil.ID); err != nil || got.Status != escalation.Triggered {
		t.Errorf("the other group changed: %+v, %v", got, err)
	}
	all, _ := eng.Incidents(context.Background(), escalation.IncidentFilter{Limit: 100})
	if len(all) != 2 {
		t.Errorf("%d incidents, want one per group (2)", len(all))
	}
}

// TestRealAlertmanagerPagerDuty uses Alertmanager's own PagerDuty
// integration, pointed at /v2/enqueue: a real PagerDuty v2 client.
func TestRealAlertmanagerPagerDuty(t *testing.T) {
	ts, eng := intakeServer(t)
	changes := watchIncidents(t, eng)
	am := startAlertmanager(t, `    pagerduty_configs:
      - routing_key: `+pdDocsKey+`
        url: `+ts.URL+`/v2/enqueue
        send_resolved: true
`)
	start := time.Now().UTC().Format(time.RFC3339)
	postAlerts(t, am, pressureAlerts(start, ""))
	inc := waitIncident(t, eng, changes, "an incident from Alertmanager's PagerDuty integration", func(i escalation.Incident) bool {
		return i.Service == "db" && i.Status == escalation.Triggered
	})
	// Alertmanager's defaults say severity "error", "[FIRING:2]
	// HydraulicPressureLow (page)" and source "Alertmanager"; Tocsin reads
	// the alerts instead.
	if inc.Summary != "Hydraulic pressure low (2 alerts)" || inc.Severity != escalation.SevCritical ||
		inc.Source != "plc-3, plc-4" || inc.AlertCount != 2 {
		t.Errorf("incident from Alertmanager's default PagerDuty payload: summary %q, severity %v, source %q, alert count %d; "+
			"want \"Hydraulic pressure low (2 alerts)\", critical, \"plc-3, plc-4\", 2", inc.Summary, inc.Severity, inc.Source, inc.AlertCount)
	}
	postAlerts(t, am, pressureAlerts(start, time.Now().UTC().Add(-time.Second).Format(time.RFC3339)))
	waitIncident(t, eng, changes, "the incident resolved through /v2/enqueue", func(i escalation.Incident) bool {
		return i.ID == inc.ID && i.Status == escalation.Resolved
	})
}

// docsReceiver returns the receiver body (the lines under "- name: …") of
// the YAML block in docs/integrations.md that contains marker, pointed at
// ts with the test's token: the exact snippet a user pastes.
func docsReceiver(t *testing.T, marker, url string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "integrations.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, block := range strings.Split(string(b), "```yaml\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		if !strings.Contains(block, marker) {
			continue
		}
		_, body, ok := strings.Cut(block, "  - name: ")
		if !ok {
			t.Fatalf("the %s snippet in docs/integrations.md has no receiver", marker)
		}
		_, body, _ = strings.Cut(body, "\n")
		return strings.NewReplacer("http://tocsin.local:8080", url, "s3cret", "t0ken").Replace(body)
	}
	t.Fatalf("docs/integrations.md has no yaml block with %s", marker)
	return ""
}

// pressureGroup is three alerts of one group; those named in resolved
// have ended.
func pressureGroup(startsAt string, resolved ...string) string {
	var alerts []string
	for _, in := range []string{"plc-3", "plc-4", "plc-5"} {
		end := ""
		if slices.Contains(resolved, in) {
			end = `,"endsAt":"` + time.Now().UTC().Add(-time.Second).Format(time.RFC3339) + `"`
		}
		alerts = append(alerts, `{"labels":{"alertname":"HydraulicPressureLow","instance":"`+in+`","severity":"page"},`+
			`"annotations":{"summary":"Hydraulic pressure low"},"startsAt":"`+startsAt+`"`+end+`}`)
	}
	return "[" + strings.Join(alerts, ",") + "]"
}

// TestRealAlertmanagerDocsSnippets runs the real Alertmanager with each
// snippet of docs/integrations.md as written and checks what a user
// sees: a critical incident whose summary, alert count and source follow
// the group as it goes from three firing alerts to two and then resolves.
func TestRealAlertmanagerDocsSnippets(t *testing.T) {
	for _, marker := range []string{"webhook_configs:", "pagerduty_configs:"} {
		t.Run(strings.TrimSuffix(marker, ":"), func(t *testing.T) {
			ts, eng := intakeServer(t)
			changes := watchIncidents(t, eng)
			am := startAlertmanager(t, docsReceiver(t, marker, ts.URL))
			start := time.Now().UTC().Format(time.RFC3339)

			postAlerts(t, am, pressureGroup(start))
			inc := waitIncident(t, eng, changes, "an incident for the three alerts", func(i escalation.Incident) bool {
				return i.Service == "press-line-1" && i.AlertCount == 3
			})
			if inc.Summary != "Hydraulic pressure low (3 alerts)" || inc.Severity != escalation.SevCritical || inc.Source != "plc-3, plc-4, plc-5" {
				t.Errorf("three firing: summary %q, severity %v, source %q; want \"Hydraulic pressure low (3 alerts)\", critical, \"plc-3, plc-4, plc-5\"",
					inc.Summary, inc.Severity, inc.Source)
			}

			postAlerts(t, am, pressureGroup(start, "plc-5"))
			two := waitIncident(t, eng, changes, "the incident down to two alerts", func(i escalation.Incident) bool {
				return i.ID == inc.ID && i.AlertCount == 2
			})
			if two.Summary != "Hydraulic pressure low (2 alerts)" || two.Status != escalation.Triggered {
				t.Errorf("one of three resolved: summary %q, status %s; want \"Hydraulic pressure low (2 alerts)\", still triggered", two.Summary, two.Status)
			}

			postAlerts(t, am, pressureGroup(start, "plc-3", "plc-4", "plc-5"))
			waitIncident(t, eng, changes, "the incident resolved", func(i escalation.Incident) bool {
				return i.ID == inc.ID && i.Status == escalation.Resolved
			})
			if all, _ := eng.Incidents(context.Background(), escalation.IncidentFilter{Limit: 100}); len(all) != 1 {
				t.Errorf("%d incidents, want one for the group", len(all))
			}
		})
	}
}
