package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/internal/testnet"

	"github.com/tocsin-relay/tocsin/escalation"
)

func page(format string) escalation.Message {
	return escalation.Message{
		Notification: escalation.Notification{ID: 3, Number: "line-chat", Level: 1},
		Incident: escalation.Incident{ID: 42, Service: "press-line-1", Summary: "Hydraulic pressure low", Severity: escalation.SevCritical,
			Status: escalation.Triggered, Source: "plc-3", CreatedAt: time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)},
		Webhook:  escalation.Webhook{ID: "line-chat", Format: format},
		Language: "en", Event: escalation.EventPage,
		AckURL: "http://tocsin.lan/a/ack", ResolveURL: "http://tocsin.lan/a/res",
	}
}

// receiver is an HTTP endpoint that keeps each request.
type request struct {
	header http.Header
	body   map[string]any
	raw    string
}

func receiver(t *testing.T, status int) (*httptest.Server, chan request) {
	t.Helper()
	got := make(chan request, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		json.Unmarshal(b, &body)
		got <- request{header: r.Header, body: body, raw: string(b)}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func send(t *testing.T, m escalation.Message, url string) error {
	t.Helper()
	m.Webhook.URL = url
	return New(nil).Send(context.Background(), m)
}

// TestSlack: Slack/Mattermost/Rocket.Chat incoming webhooks get text and
// attachments with the links in the attachment text.
func TestSlack(t *testing.T) {
	srv, got := receiver(t, 200)
	if err := send(t, page(escalation.FormatSlack), srv.URL); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.body["text"] != "[CRIT] #42 press-line-1: Hydraulic pressure low" {
		t.Errorf("text = %v", r.body["text"])
	}
	atts, _ := r.body["attachments"].([]any)
	if len(atts) != 1 {
		t.Fatalf("attachments = %v", r.body["attachments"])
	}
	a := atts[0].(map[string]any)
	text, _ := a["text"].(string)
	if a["color"] == "" || a["fallback"] == "" || !strings.Contains(text, "Acknowledge: http://tocsin.lan/a/ack") ||
		!strings.Contains(text, "Resolve: http://tocsin.lan/a/res") {
		t.Errorf("attachment = %v", a)
	}
	if fields, _ := a["fields"].([]any); len(fields) < 3 {
		t.Errorf("fields = %v", a["fields"])
	}
}

// TestTeams: a Teams Workflows message whose one attachment is an
// Adaptive Card with OpenUrl actions to the links.
func TestTeams(t *testing.T) {
	srv, got := receiver(t, 202)
	if err := send(t, page(escalation.FormatTeams), srv.URL); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.body["type"] != "message" {
		t.Errorf("type = %v", r.body["type"])
	}
	atts, _ := r.body["attachments"].([]any)
	if len(atts) != 1 {
		t.Fatalf("attachments = %v", r.body["attachments"])
	}
	a := atts[0].(map[string]any)
	if a["contentType"] != "application/vnd.microsoft.card.adaptive" {
		t.Errorf("contentType = %v", a["contentType"])
	}
	if _, ok := a["contentUrl"]; !ok {
		t.Errorf("contentUrl missing (null expected)")
	}
	card := a["content"].(map[string]any)
	if card["type"] != "AdaptiveCard" || card["version"] != "1.4" || card["$schema"] != "http://adaptivecards.io/schemas/adaptive-card.json" {
		t.Errorf("card = %v", card)
	}
	body, _ := card["body"].([]any)
	if len(body) < 2 || body[0].(map[string]any)["type"] != "TextBlock" || body[1].(map[string]any)["type"] != "FactSet" {
		t.Errorf("card body = %v", body)
	}
	acts, _ := card["actions"].([]any)
	if len(acts) != 2 || acts[0].(map[string]any)["type"] != "Action.OpenUrl" || acts[0].(map[string]any)["url"] != "http://tocsin.lan/a/ack" ||
		acts[1].(map[string]any)["url"] != "http://tocsin.lan/a/res" {
		t.Errorf("card actions = %v", acts)
	}
}

// TestGeneric: the incident JSON, with headers from headers_file; and a
// template_file instead.
func TestGeneric(t *testing.T) {
	dir := t.TempDir()
	headers := filepath.Join(dir, "headers")
	os.WriteFile(headers, []byte("# MES token\nAuthorization: Bearer s3cret\nX-Line: 1\n"), 0o600)
	srv, got := receiver(t, 200)
	m := page(escalation.FormatGeneric)
	m.Webhook.HeadersFile = headers
	if err := send(t, m, srv.URL); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.header.Get("Authorization") != "Bearer s3cret" || r.header.Get("X-Line") != "1" {
		t.Errorf("headers = %v", r.header)
	}
	inc, _ := r.body["incident"].(map[string]any)
	if r.body["event"] != "page" || r.body["ack_url"] != "http://tocsin.lan/a/ack" || inc["id"] != 42.0 || inc["severity"] != "critical" {
		t.Errorf("body = %s", r.raw)
	}

	tmpl := filepath.Join(dir, "mes.tmpl")
	os.WriteFile(tmpl, []byte(`{"alarm": {{json .Incident.Summary}}, "line": "{{.Incident.Service}}", "ack": "{{.AckURL}}"}`), 0o600)
	m.Webhook.TemplateFile = tmpl
	if err := send(t, m, srv.URL); err != nil {
		t.Fatal(err)
	}
	r = <-got
	if r.body["alarm"] != "Hydraulic pressure low" || r.body["line"] != "press-line-1" || r.body["ack"] != "http://tocsin.lan/a/ack" {
		t.Errorf("templated body = %s", r.raw)
	}
}

// TestFailures: 500 and 429 are Retry, 404 GiveUp, a closed port Wait, a
// broken template GiveUp.
func TestFailures(t *testing.T) {
	for _, tt := range []struct {
		status int
		want   escalation.Verdict
	}{{500, escalation.Retry}, {503, escalation.Retry}, {429, escalation.Retry}, {404, escalation.GiveUp}, {400, escalation.GiveUp}} {
		srv, _ := receiver(t, tt.status)
		err := send(t, page(escalation.FormatSlack), srv.URL)
		if got := escalation.VerdictOf(err); got != tt.want {
			t.Errorf("HTTP %d: %s (%v), want %s", tt.status, got, err, tt.want)
		}
	}
	addr := testnet.Addr(t)
	if got := escalation.VerdictOf(send(t, page(escalation.FormatSlack), "http://"+addr)); got != escalation.Wait {
		t.Errorf("closed port: %s, want wait", got)
	}
	m := page(escalation.FormatGeneric)
	tmpl := filepath.Join(t.TempDir(), "bad.tmpl")
	os.WriteFile(tmpl, []byte(`{{.NoSuchField}}`), 0o600)
	m.Webhook.TemplateFile = tmpl
	if got := escalation.VerdictOf(send(t, m, "http://"+addr)); got != escalation.GiveUp {
		t.Errorf("broken template: %s, want give up", got)
	}
}

func TestParseHeaders(t *testing.T) {
	for _, tt := range []struct {
		in, err string
		want    map[string]string
	}{
		{in: "Authorization: Bearer x\n\n# comment\nX-A:  b c \n", want: map[string]string{"Authorization": "Bearer x", "X-A": "b c"}},
		{in: "X-Empty:\n", want: map[string]string{"X-Empty": ""}},
		{in: "no colon here\n", err: "line 1: want"},
		{in: "ok: 1\nbad name: 2\n", err: "line 2: \"bad name\" is not a header name"},
		{in: "Host: evil\n", err: "line 1: Host is set by"},
		{in: "content-length: 5\n", err: "line 1:"},
	} {
		h, err := ParseHeaders([]byte(tt.in))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		for k, v := range tt.want {
			if h.Get(k) != v {
				t.Errorf("%q: %s = %q, want %q", tt.in, k, h.Get(k), v)
			}
		}
	}
}

// FuzzParseHeaders: never a panic; whatever is accepted is a header the
// HTTP client can send as is.
func FuzzParseHeaders(f *testing.F) {
	f.Add([]byte("Authorization: Bearer x\n# c\n\nX-A: 1\n"))
	f.Add([]byte("a:b\r\nc: d\r\n"))
	f.Add([]byte(":\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseHeaders(data)
		if err != nil {
			return
		}
		for k, vs := range h {
			if !isToken(k) {
				t.Fatalf("accepted name %q", k)
			}
			for _, v := range vs {
				if strings.ContainsAny(v, "\r\n\x00") {
					t.Fatalf("accepted value %q", v)
				}
			}
		}
		req, _ := http.NewRequest("POST", "http://x/", nil)
		for k, vs := range h {
			req.Header[k] = vs
		}
		if err := req.Write(io.Discard); err != nil {
			t.Fatalf("accepted headers the client cannot write: %v", err)
		}
	})
}

// FuzzRender: any template text and any incident text either renders or
// fails with an error; never a panic.
func FuzzRender(f *testing.F) {
	f.Add(`{"a": {{json .Incident.Summary}}}`, "pressure low")
	f.Add(`{{range .Incident.Details}}{{.}}{{end}}`, "x")
	f.Add(`{{.Nope}}`, "")
	f.Add(`{{template "x"}}`, "")
	f.Fuzz(func(t *testing.T, src, summary string) {
		m := page(escalation.FormatGeneric)
		m.Incident.Summary = summary
		Render(src, m)
	})
}
