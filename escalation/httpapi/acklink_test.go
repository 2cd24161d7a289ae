package httpapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

// TestAckLinkPages: /a/{token} needs no bearer token; GET is a
// confirmation page that changes nothing and cannot be framed or leak the
// token by Referer; POST acts once; unknown and used tokens are 404 and
// 410 pages in both languages.
func TestAckLinkPages(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tocsin.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	eng := escalation.NewEngine(db, intakePolicy(), nil)
	links := escalation.NewAckLinks(db, eng, 0)
	ts := httptest.NewServer(New(Options{Engine: eng, Tokens: []Token{{Name: "t", Token: "t0ken"}}, AckLinks: links}))
	defer ts.Close()
	ctx := context.Background()
	svc := intakePolicy().Services[0].ID
	res, err := eng.Ingest(ctx, escalation.Event{Service: svc, Summary: "pressure low", Severity: escalation.SevCritical})
	if err != nil {
		t.Fatal(err)
	}
	ack, _, err := links.Links(ctx, ts.URL, res.IncidentID, "tanaka", escalation.Email, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, url string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, nil)
		req.Header.Set("Origin", "http://evil.example") // a cross-site form post looks like this
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	status := func() escalation.Status {
		inc, err := eng.Incident(ctx, res.IncidentID)
		if err != nil {
			t.Fatal(err)
		}
		return inc.Status
	}

	resp, page := call("GET", ack)
	if resp.StatusCode != 200 || !strings.Contains(page, `<form method="post">`) || !strings.Contains(page, "Acknowledge / 了解") ||
		!strings.Contains(page, "pressure low") {
		t.Errorf("GET = %d:\n%s", resp.StatusCode, page)
	}
	for h, want := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("CSP = %q", resp.Header.Get("Content-Security-Policy"))
	}
	if s := status(); s != escalation.Triggered {
		t.Fatalf("after GET: %s", s)
	}
	if resp, page := call("POST", ts.URL+"/a/not-a-token"); resp.StatusCode != 404 || !strings.Contains(page, "リンクが見つかりません") {
		t.Errorf("wrong token = %d:\n%s", resp.StatusCode, page)
	}
	if s := status(); s != escalation.Triggered {
		t.Fatalf("after a wrong token: %s", s)
	}
	if resp, page := call("POST", ack); resp.StatusCode != 200 || !strings.Contains(page, "acknowledged") {
		t.Errorf("POST = %d:\n%s", resp.StatusCode, page)
	}
	if s := status(); s != escalation.Acknowledged {
		t.Fatalf("after POST: %s", s)
	}
	if resp, page := call("POST", ack); resp.StatusCode != 410 || !strings.Contains(page, "使用済み") {
		t.Errorf("reuse = %d:\n%s", resp.StatusCode, page)
	}
	if resp, _ := call("GET", ack); resp.StatusCode != 410 {
		t.Errorf("GET after use = %d, want 410", resp.StatusCode)
	}
}
