package ntfy

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/internal/testnet"

	"github.com/tocsin-relay/tocsin/escalation"
)

func page() escalation.Message {
	return escalation.Message{
		Notification: escalation.Notification{ID: 3, Number: "tocsin-tanaka", Level: 1},
		Incident: escalation.Incident{ID: 42, Service: "press-line-1", Summary: "Hydraulic pressure low", Severity: escalation.SevCritical,
			Status: escalation.Triggered, CreatedAt: time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)},
		Language: "en", Event: escalation.EventPage,
		AckURL: "http://tocsin.lan/a/ack", ResolveURL: "http://tocsin.lan/a/res",
	}
}

// TestPublish: the request is ntfy's JSON publish (POST to the root, topic
// in the body) with the bearer token, priority by severity, and two http
// actions that POST to the links.
func TestPublish(t *testing.T) {
	got := make(chan map[string]any, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/" || r.Header.Get("Authorization") != "Bearer tk_secret" ||
			r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %s %s auth %q type %q", r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"))
		}
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("body %s: %v", b, err)
		}
		got <- body
		w.Write([]byte(`{"id":"x","event":"message"}`))
	}))
	defer srv.Close()
	s := New(Config{URL: srv.URL + "/", Token: "tk_secret"})
	if err := s.Send(context.Background(), page()); err != nil {
		t.Fatal(err)
	}
	b := <-got
	if b["topic"] != "tocsin-tanaka" || b["title"] != "[CRIT] #42 press-line-1: Hydraulic pressure low" || b["priority"] != 5.0 {
		t.Errorf("publish = %v", b)
	}
	if m, _ := b["message"].(string); m == "" {
		t.Errorf("no message")
	}
	if tags, _ := b["tags"].([]any); len(tags) == 0 || tags[0] != "rotating_light" {
		t.Errorf("tags = %v", b["tags"])
	}
	acts, _ := b["actions"].([]any)
	if len(acts) != 2 {
		t.Fatalf("actions = %v", b["actions"])
	}
	for i, want := range []struct{ label, url string }{{"Acknowledge", "http://tocsin.lan/a/ack"}, {"Resolve", "http://tocsin.lan/a/res"}} {
		a := acts[i].(map[string]any)
		if a["action"] != "http" || a["label"] != want.label || a["url"] != want.url || a["method"] != "POST" {
			t.Errorf("action %d = %v", i, a)
		}
	}
}

func TestPriority(t *testing.T) {
	for s, want := range map[escalation.Severity]int{escalation.SevCritical: 5, escalation.SevError: 4, escalation.SevWarning: 3, escalation.SevInfo: 2} {
		if got := Priority(s); got != want {
			t.Errorf("Priority(%s) = %d, want %d", s, got, want)
		}
	}
}

// TestUnreachable: a server that is not there is Wait, through the real
// HTTP client.
func TestUnreachable(t *testing.T) {
	addr := testnet.Addr(t)
	err := New(Config{URL: "http://" + addr}).Send(context.Background(), page())
	if v := escalation.VerdictOf(err); v != escalation.Wait {
		t.Errorf("unreachable: %s (%v), want wait", v, err)
	}
}
