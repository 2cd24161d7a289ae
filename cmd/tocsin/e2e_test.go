package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tocsin-relay/tocsin/escalation"
)

// The spine: an alert in, an SMS out through a real serial line, and an
// SMS reply that acknowledges it. The daemon is the built binary; the modem
// is the simulator on a pseudo-terminal; the database is a real file.
func TestSpineAlertSMSReplyAck(t *testing.T) {
	e := newE2E(t, testPolicy("3s"))
	e.start()

	res := e.alert(map[string]any{"service": "press-line-1", "summary": "油圧低下 Hydraulic pressure low",
		"severity": "critical", "source": "plc-3", "dedup_key": "press-1/hydraulic"})
	if !res.New || res.Status != escalation.Triggered {
		t.Fatalf("alert = %+v, want a new triggered incident", res)
	}
	page := e.nextSMS()
	if page.To != "+819012345678" {
		t.Errorf("page went to %q, want tanaka's +819012345678", page.To)
	}
	want := "[#1 重大] press-line-1: 油圧低下 Hydraulic pressure low (plc-3)"
	if !strings.HasPrefix(page.Text, want) {
		t.Errorf("page text = %q, want prefix %q", page.Text, want)
	}
	for _, p := range page.Parts {
		if p.Encoding != "ucs2" {
			t.Errorf("Japanese page part encoded as %s, want ucs2", p.Encoding)
		}
	}

	// A second incident, so that the test can see level 2 fire for it:
	// once it has, incident 1's level 2 would have been due too.
	second := e.alert(map[string]any{"service": "press-line-1", "summary": "Conveyor jam", "severity": "warning"})
	if got := e.nextSMS(); !strings.Contains(got.Text, "Conveyor jam") || got.To != "+819012345678" {
		t.Fatalf("second page = %+v", got)
	}

	// tanaka replies "4" from the national form of the number.
	if err := e.sim.InjectSMS("09012345678", "4 1"); err != nil {
		t.Fatal(err)
	}
	confirm := e.nextSMS()
	if confirm.To != "+819012345678" || !strings.Contains(confirm.Text, "#1") || !strings.Contains(confirm.Text, "了解") {
		t.Errorf("confirmation = %+v, want Japanese ack of #1 to tanaka", confirm)
	}
	inc := e.incident(res.IncidentID)
	if inc.Status != escalation.Acknowledged || inc.AcknowledgedBy != "tanaka" {
		t.Errorf("incident = %s by %q, want acknowledged by tanaka", inc.Status, inc.AcknowledgedBy)
	}

	// Level 2 pages the boss about the second incident only.
	boss := e.nextSMS()
	if boss.To != "+819011112222" || !strings.Contains(boss.Text, "#2") {
		t.Errorf("level 2 page = %+v, want boss paged about #2", boss)
	}
	_ = second
	for _, s := range e.sim.History() {
		if s.To == "+819011112222" && strings.Contains(s.Text, "#1 ") {
			t.Errorf("level 2 of the acknowledged incident was sent: %q", s.Text)
		}
	}
	inc = e.incident(res.IncidentID)
	kinds := map[string]bool{}
	for _, tl := range inc.Timeline {
		kinds[tl.Kind] = true
	}
	for _, k := range []string{"triggered", "level", "sent", "reply", "acknowledged"} {
		if !kinds[k] {
			t.Errorf("timeline lacks %q: %+v", k, inc.Timeline)
		}
	}
}

// A daemon killed between level 1 and level 2 resumes: level 2 goes out at
// its due time and level 1 is not sent again. A reply that arrived while
// the daemon was down is acted on when it comes back.
func TestRestartResumesEscalation(t *testing.T) {
	e := newE2E(t, testPolicy("4s"))
	e.start()
	res := e.alert(map[string]any{"service": "press-line-1", "summary": "Oil temperature high", "severity": "error"})
	if got := e.nextSMS(); got.To != "+819012345678" {
		t.Fatalf("level 1 = %+v", got)
	}
	e.waitLog(0, "SMS sent") // the outcome is committed
	e.kill()

	e.start()
	got := e.nextSMS()
	if got.To != "+819011112222" || !strings.Contains(got.Text, "Oil temperature high") {
		t.Fatalf("after restart the next SMS = %+v, want level 2 to the boss", got)
	}
	pages := 0
	for _, s := range e.sim.History() {
		if s.To == "+819012345678" {
			pages++
		}
	}
	if pages != 1 {
		t.Errorf("tanaka was paged %d times, want 1 (level 1 must not be re-sent)", pages)
	}

	// Down again (once the boss's page is recorded as sent); the boss
	// replies while nobody listens.
	e.waitLog(0, `msg="SMS sent" part=phone to=+819011112222`)
	e.kill()
	if err := e.sim.InjectSMS("+819011112222", "ack"); err != nil {
		t.Fatal(err)
	}
	e.start()
	confirm := e.nextSMS()
	if confirm.To != "+819011112222" || !strings.Contains(confirm.Text, "acknowledged") {
		t.Errorf("confirmation = %+v", confirm)
	}
	if inc := e.incident(res.IncidentID); inc.Status != escalation.Acknowledged || inc.AcknowledgedBy != "boss" {
		t.Errorf("incident %s by %q, want acknowledged by boss", inc.Status, inc.AcknowledgedBy)
	}
}

// Input that must be refused changes nothing, and text that looks like AT
// commands travels only as PDU data.
func TestBadInputAndInjection(t *testing.T) {
	e := newE2E(t, testPolicy("1h"))
	e.start()
	cases := []struct {
		name, body string
		token      string
		ctype      string
		want       int
		field      string
	}{
		{"malformed JSON", `{"service": "press-line-1", "summary": `, "", "", 400, ""},
		{"unknown service", `{"service": "nope", "summary": "x"}`, "", "", 400, "service"},
		{"missing summary", `{"service": "press-line-1"}`, "", "", 400, "summary"},
		{"unknown field", `{"service": "press-line-1", "sumary": "x"}`, "", "", 400, "sumary"},
		{"bad severity", `{"service": "press-line-1", "summary": "x", "severity": "urgent"}`, "", "", 400, "severity"},
		{"too large", `{"service": "press-line-1", "summary": "` + strings.Repeat("x", 1<<20) + `"}`, "", "", 413, ""},
		{"no token", `{"service": "press-line-1", "summary": "x"}`, "none", "", 401, ""},
		{"wrong token", `{"service": "press-line-1", "summary": "x"}`, "wrong", "", 401, ""},
		{"form body", `service=press-line-1`, "", "application/x-www-form-urlencoded", 415, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", "http://"+e.addr+"/api/v1/alerts", strings.NewReader(c.body))
			switch c.token {
			case "":
				req.Header.Set("Authorization", "Bearer "+e.token)
			case "none":
			default:
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			ct := c.ctype
			if ct == "" {
				ct = "application/json"
			}
			req.Header.Set("Content-Type", ct)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct{ Error, Field string }
			decodeJSON(t, resp, &body)
			if resp.StatusCode != c.want || body.Error == "" || body.Field != c.field {
				t.Errorf("status %d, %+v; want %d naming field %q", resp.StatusCode, body, c.want, c.field)
			}
		})
	}
	var incs []escalation.Incident
	e.api("GET", "/api/v1/incidents", nil, &incs)
	if len(incs) != 0 {
		t.Fatalf("refused alerts stored %d incidents", len(incs))
	}

	// An SMS from a stranger changes nothing and gets no answer.
	evil := "AT+CMGD=1,4\r\x1aATD+15551234567;\r"
	res := e.alert(map[string]any{"service": "press-line-1", "summary": evil, "severity": "critical"})
	page := e.nextSMS()
	// The text is carried as data, cleaned of control characters (CR
	// becomes LF, Ctrl-Z goes): "AT+CMGD=1,4" arrives as words.
	if !strings.Contains(page.Text, "AT+CMGD=1,4\nATD+15551234567;") || strings.ContainsAny(page.Text, "\r\x1a") {
		t.Errorf("page text %q does not carry the cleaned summary", page.Text)
	}
	for _, c := range e.sim.Commands() {
		if strings.HasPrefix(c, "AT+CMGD=1,4") || strings.HasPrefix(c, "ATD") {
			t.Errorf("summary reached the modem as a command: %q", c)
		}
	}
	if err := e.sim.InjectSMS("+447700900123", "4"); err != nil {
		t.Fatal(err)
	}
	e.waitLog(0, "SMS from unknown number ignored")
	if inc := e.incident(res.IncidentID); inc.Status != escalation.Triggered {
		t.Errorf("a stranger's reply changed the incident to %s", inc.Status)
	}
}

// A 300-character alert leaves as a correctly numbered concatenated SMS.
func TestLongAlertConcatenated(t *testing.T) {
	e := newE2E(t, testPolicy("1h"))
	e.start()
	summary := strings.Repeat("Pressure sensor P-101 reads out of range. ", 8)[:300]
	e.alert(map[string]any{"service": "press-line-1", "summary": summary, "severity": "warning"})
	page := e.nextSMS()
	if !strings.Contains(page.Text, summary) {
		t.Errorf("reassembled text lacks the summary: %q", page.Text)
	}
	if len(page.Parts) < 2 {
		t.Fatalf("sent as %d part(s), want a concatenated SMS", len(page.Parts))
	}
	ref := page.Parts[0].Concat.Ref
	for i, p := range page.Parts {
		if p.Concat == nil || p.Concat.Seq != i+1 || p.Concat.Total != len(page.Parts) || p.Concat.Ref != ref {
			t.Errorf("part %d concat = %+v, want seq %d of %d ref %d", i, p.Concat, i+1, len(page.Parts), ref)
		}
	}
}
