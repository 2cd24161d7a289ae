package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/internal/testnet"

	paho "github.com/eclipse/paho.mqtt.golang"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/modem/modemsim"
)

// scrape fetches /metrics from the daemon (no token: Prometheus scrapes
// it like /healthz) and parses the text format.
func (e *e2e) scrape() map[string]*dto.MetricFamily {
	e.t.Helper()
	resp, err := http.Get("http://" + e.addr + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET /metrics = %d: %s", resp.StatusCode, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		e.t.Fatalf("parsing /metrics: %v\n%s", err, body)
	}
	return fams
}

// metric finds the sample of family name whose labels include want
// ("k=v" pairs); ok is false when there is none.
func metric(fams map[string]*dto.MetricFamily, name string, want ...string) (*dto.Metric, bool) {
	f, ok := fams[name]
	if !ok {
		return nil, false
	}
next:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for _, kv := range want {
			k, v, _ := strings.Cut(kv, "=")
			if labels[k] != v {
				continue next
			}
		}
		return m, true
	}
	return nil, false
}

// value is a gauge's or counter's value, or -1 when absent.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	m, ok := metric(fams, name, labels...)
	switch {
	case !ok:
		return -1
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return -1
}

// The numbers a user checks on a dashboard, scraped from the real daemon
// after alerts through two intakes, pages on the simulated modem and an
// acknowledgement by SMS.
func TestMetricsScrape(t *testing.T) {
	e := newE2E(t, testPolicy("1h"))
	e.sim.SetReports(modemsim.ReportNone, 0) // sent stays sent; delivered is receipts_test's
	e.start()
	logAt := e.logLen()

	first := e.alert(map[string]any{"service": "press-line-1", "summary": "Hydraulic pressure low", "dedup_key": "hyd"})
	e.alert(map[string]any{"service": "press-line-1", "summary": "Hydraulic pressure low", "dedup_key": "hyd"}) // same incident
	e.alert(map[string]any{"service": "press-line-1", "summary": "Conveyor jam", "severity": "warning"})
	var pd map[string]any
	if code := e.api("POST", "/v2/enqueue", map[string]any{"routing_key": "0123456789abcdef0123456789abcdef", "event_action": "trigger",
		"payload": map[string]any{"summary": "Oven temperature high", "source": "oven-2", "severity": "critical"}}, &pd); code != http.StatusAccepted {
		t.Fatalf("POST /v2/enqueue = %d %v", code, pd)
	}
	e.nextSMS()
	if err := e.sim.InjectSMS("09012345678", fmt.Sprintf("4 %d", first.IncidentID)); err != nil {
		t.Fatal(err)
	}
	e.waitLog(logAt, `msg="SMS reply"`)
	// Three pages (maybe folded into a digest) and the confirmation of the
	// reply (answers are not paced): wait, one "SMS sent" log line at a
	// time, until all four are recorded.
	var fams map[string]*dto.MetricFamily
	for {
		fams = e.scrape()
		if value(fams, "tocsin_notifications_total", "channel=sms", "status=sent") >= 4 {
			break
		}
		logAt = e.waitLog(logAt, `msg="SMS sent"`)
	}
	if inc := e.incident(first.IncidentID); inc.Status != escalation.Acknowledged {
		t.Fatalf("incident #%d is %s after the reply, want acknowledged", first.IncidentID, inc.Status)
	}
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"tocsin_alerts_received_total", []string{"intake=http", "service=press-line-1"}, 3},
		{"tocsin_alerts_received_total", []string{"intake=pagerduty", "service=press-line-1"}, 1},
		{"tocsin_incidents", []string{"service=press-line-1", "status=triggered"}, 2},
		{"tocsin_incidents", []string{"service=press-line-1", "status=acknowledged"}, 1},
		{"tocsin_notifications_total", []string{"channel=sms", "status=sent"}, 4},
		{"tocsin_notifications_total", []string{"channel=sms", "status=queued"}, -1},
		{"tocsin_outbox_depth", nil, 0},
		{"tocsin_modem_up", nil, 1},
		{"tocsin_modem_registration", []string{"state=home"}, 1},
		{"tocsin_modem_registration", []string{"state=denied"}, 0},
	}
	for _, c := range checks {
		if got := value(fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := value(fams, "tocsin_modem_signal_dbm"); got >= 0 || got < -113 {
		t.Errorf("tocsin_modem_signal_dbm = %v, want the simulator's signal in dBm", got)
	}

	tta, ok := metric(fams, "tocsin_time_to_acknowledge_seconds")
	if !ok || tta.Histogram == nil {
		t.Fatalf("no time-to-acknowledge histogram in %v", names(fams))
	}
	if h := tta.Histogram; h.GetSampleCount() != 1 || h.GetSampleSum() <= 0 || h.GetSampleSum() > 60 {
		t.Errorf("time to acknowledge: count %d sum %.3fs, want one acknowledgement within a minute", h.GetSampleCount(), h.GetSampleSum())
	}
	for _, intake := range []string{"http", "pagerduty"} {
		m, ok := metric(fams, "tocsin_ingest_duration_seconds", "intake="+intake)
		if !ok || m.Histogram == nil {
			t.Errorf("no ingest latency for intake %s", intake)
			continue
		}
		want := map[string]uint64{"http": 3, "pagerduty": 1}[intake]
		if got := m.Histogram.GetSampleCount(); got != want {
			t.Errorf("ingest latency %s: %d observations, want %d", intake, got, want)
		}
	}
	for _, n := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := fams[n]; !ok {
			t.Errorf("standard collector metric %s missing", n)
		}
	}
	_ = logAt
}

func names(fams map[string]*dto.MetricFamily) []string {
	var out []string
	for n := range fams {
		out = append(out, n)
	}
	return out
}

// A drill through the daemon: the CLI opens it, the on-call phone gets a
// [訓練] (drill) SMS, a "4" reply acknowledges it, and the CLI reports
// every step with its time.
func TestDrillThroughTheDaemon(t *testing.T) {
	e := newE2E(t, testPolicy("1h"))
	e.start()
	tokenFile := filepath.Join(e.dir, "token")
	if err := os.WriteFile(tokenFile, []byte(e.token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"drill", "--server", "http://" + e.addr, "--token-file", tokenFile,
			"--service", "press-line-1", "--poll", "50ms", "--timeout", "1m"}, &out, &errOut)
	}()
	page := e.nextSMS()
	if page.To != "+819012345678" || !strings.HasPrefix(page.Text, "[訓練] [#1 警告] press-line-1: Test page by test (drill)") {
		t.Fatalf("drill page = %q to %s, want tanaka's Japanese page marked [訓練]", page.Text, page.To)
	}
	if len(page.Parts) != 1 {
		t.Errorf("drill page took %d SMS segments, want 1", len(page.Parts))
	}
	e.waitLog(0, `msg="SMS sent"`) // recorded as sent: a bare reply answers it
	if err := e.sim.InjectSMS("09012345678", "4"); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("tocsin drill exited %d:\n%s%s", code, out.String(), errOut.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("tocsin drill did not finish after the ack:\n%s", out.String())
	}
	report := out.String()
	for _, step := range []string{"drill: incident #1 on press-line-1", "accepted", "first page queued", "SMS on the wire", "acknowledged", "by tanaka", "drill passed"} {
		if !strings.Contains(report, step) {
			t.Errorf("drill report lacks %q:\n%s", step, report)
		}
	}
	inc := e.incident(1)
	if !inc.Drill || inc.Status != escalation.Acknowledged || inc.AcknowledgedBy != "tanaka" {
		t.Errorf("incident = drill %v, %s by %q; want a drill acknowledged by tanaka", inc.Drill, inc.Status, inc.AcknowledgedBy)
	}
	if len(inc.Timeline) == 0 || !strings.Contains(inc.Timeline[0].Detail, "via drill") {
		t.Errorf("timeline does not mark the drill: %+v", inc.Timeline)
	}
	// Drills are not counted as real response times.
	fams := e.scrape()
	if m, ok := metric(fams, "tocsin_time_to_acknowledge_seconds"); !ok || m.Histogram.GetSampleCount() != 0 {
		t.Errorf("a drill counted in time to acknowledge: %+v", m)
	}
	if got := value(fams, "tocsin_alerts_received_total", "intake=drill"); got != 1 {
		t.Errorf("alerts received through intake drill = %v, want 1", got)
	}
}

// Heartbeats through the daemon's API: a beat is accepted, an unknown id
// is a 404 naming it, a missed interval pages, and the next beat resolves.
func TestHeartbeatThroughTheDaemon(t *testing.T) {
	e := newE2E(t, testPolicy("1h")+`heartbeats:
  - {id: scada-main, service: press-line-1, interval: 2s}
`)
	e.start()
	var ok map[string]string
	if code := e.api("POST", "/api/v1/heartbeats/scada-main", nil, &ok); code != http.StatusAccepted {
		t.Fatalf("POST heartbeat = %d %v", code, ok)
	}
	var bad struct{ Error string }
	if code := e.api("POST", "/api/v1/heartbeats/nope", nil, &bad); code != http.StatusNotFound || !strings.Contains(bad.Error, `"nope"`) {
		t.Errorf("unknown heartbeat = %d %q, want 404 naming it", code, bad.Error)
	}
	// Nothing more for 2s: tanaka is paged.
	page := e.nextSMS()
	if !strings.Contains(page.Text, "Heartbeat scada-main missed: nothing for 2s") {
		t.Fatalf("page = %q, want the missed heartbeat", page.Text)
	}
	var incs []escalation.Incident
	e.api("GET", "/api/v1/incidents?status=triggered", nil, &incs)
	if len(incs) != 1 || incs[0].DedupKey != "heartbeat/scada-main" {
		t.Fatalf("open incidents = %+v, want the heartbeat's", incs)
	}
	if code := e.api("POST", "/api/v1/heartbeats/scada-main", nil, &ok); code != http.StatusAccepted {
		t.Fatalf("POST heartbeat = %d", code)
	}
	if inc := e.incident(incs[0].ID); inc.Status != escalation.Resolved {
		t.Errorf("after the beat the incident is %s, want resolved", inc.Status)
	}
}

// tocsin report against the daemon: one incident paged and acknowledged
// by SMS shows up in the service's MTTA and in tanaka's page count.
func TestReportThroughTheDaemon(t *testing.T) {
	e := newE2E(t, testPolicy("1h"))
	e.start()
	tokenFile := filepath.Join(e.dir, "token")
	if err := os.WriteFile(tokenFile, []byte(e.token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := e.alert(map[string]any{"service": "press-line-1", "summary": "Hydraulic pressure low"})
	e.nextSMS()
	logAt := e.waitLog(0, `msg="SMS sent"`) // the page is recorded as sent
	if err := e.sim.InjectSMS("09012345678", "4"); err != nil {
		t.Fatal(err)
	}
	e.waitLog(logAt, `msg="SMS reply"`)
	if inc := e.incident(res.IncidentID); inc.Status != escalation.Acknowledged {
		t.Fatalf("incident is %s, want acknowledged", inc.Status)
	}
	cli := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		args = append([]string{"report", "--server", "http://" + e.addr, "--token-file", tokenFile}, args...)
		if code := run(args, &out, &errOut); code != 0 {
			t.Fatalf("tocsin %s exited %d: %s", strings.Join(args, " "), code, errOut.String())
		}
		return out.String()
	}
	var rep escalation.Report
	if err := json.Unmarshal([]byte(cli("--since", "1h", "--json")), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Services) != 1 || rep.Services[0].Service != "press-line-1" || rep.Services[0].Incidents != 1 ||
		rep.Services[0].MTTA.N != 1 || rep.Services[0].MTTA.P50 <= 0 || rep.Services[0].MTTR.N != 0 {
		t.Errorf("services = %+v, want press-line-1 with one acknowledged, unresolved incident", rep.Services)
	}
	if len(rep.People) != 1 || rep.People[0].Contact != "tanaka" || rep.People[0].Pages != 1 ||
		rep.People[0].Business+rep.People[0].Off+rep.People[0].Sleep != 1 {
		t.Errorf("people = %+v, want tanaka with one page in one hour class", rep.People)
	}
	text := cli()
	for _, want := range []string{"SERVICE", "press-line-1", "MTTA p50", "tanaka", "SLEEP"} {
		if !strings.Contains(text, want) {
			t.Errorf("report text lacks %q:\n%s", want, text)
		}
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"report", "--server", "http://" + e.addr, "--token-file", tokenFile, "--since", "yesterday"}, &out, &errOut); code == 0 ||
		!strings.Contains(errOut.String(), `--since "yesterday"`) {
		t.Errorf("--since yesterday: exit %d, stderr %q; want an error naming the flag", code, errOut.String())
	}
}

// An MQTT heartbeat topic (mqtt.heartbeats) beats the policy heartbeat:
// after a miss has paged, one message on the topic resolves the incident.
func TestHeartbeatOverMQTT(t *testing.T) {
	port := testnet.Port(t)
	e := newE2EFull(t, testPolicy("1h")+`heartbeats:
  - {id: scada-main, service: press-line-1, interval: 2s}
`, "", fmt.Sprintf(`gpio:
  backend: none
mqtt:
  broker: embedded
  embedded_listen: "127.0.0.1:%d"
  heartbeats:
    - {topic: "scada/main/alive", heartbeat: scada-main}`, port))
	e.start()
	e.waitLog(0, "mqtt: connected")
	// Never beat since the start: paged after 2s.
	if page := e.nextSMS(); !strings.Contains(page.Text, "Heartbeat scada-main missed") {
		t.Fatalf("page = %q, want the missed heartbeat", page.Text)
	}
	c := paho.NewClient(paho.NewClientOptions().AddBroker(fmt.Sprintf("tcp://127.0.0.1:%d", port)).SetClientID("scada"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	if tok := c.Publish("scada/main/alive", 1, false, "ok"); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	e.waitLog(0, `msg="heartbeat back"`)
	var incs []escalation.Incident
	e.api("GET", "/api/v1/incidents?status=resolved", nil, &incs)
	if len(incs) != 1 || incs[0].DedupKey != "heartbeat/scada-main" {
		t.Errorf("resolved incidents = %+v, want the heartbeat's", incs)
	}
}
