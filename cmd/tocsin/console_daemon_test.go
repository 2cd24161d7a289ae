package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// consoleClient is a cookie-keeping HTTP client for the console that does
// not follow redirects.
type consoleClient struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

func newConsoleClient(t *testing.T, e *e2e) *consoleClient {
	jar, _ := cookiejar.New(nil)
	return &consoleClient{t: t, base: "http://" + e.addr, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *consoleClient) do(method, path string, form url.Values) (int, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var (
	consoleLoginToken = regexp.MustCompile(`name="login_csrf" value="([^"]+)"`)
	consoleCSRF       = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)
)

// login answers the login form with fields and reports the status.
func (c *consoleClient) login(fields url.Values) int {
	c.t.Helper()
	_, page := c.do("GET", "/login", nil)
	m := consoleLoginToken.FindStringSubmatch(page)
	if m == nil {
		c.t.Fatalf("login page has no form token:\n%s", page)
	}
	fields.Set("login_csrf", m[1])
	code, _ := c.do("POST", "/login", fields)
	if code == http.StatusSeeOther {
		_, page := c.do("GET", "/", nil)
		if m := consoleCSRF.FindStringSubmatch(page); m != nil {
			c.csrf = m[1]
		}
	}
	return code
}

// The daemon wires the console's logins from the config: users with a
// password or a password_file, API tokens, and read-only roles.
func TestConsoleDaemonLogins(t *testing.T) {
	e := consoleDaemon(t)
	id := e.alert(map[string]any{"service": "press-line-1", "summary": "Hydraulic pressure low", "severity": "critical"}).IncidentID
	// Level 1 fires first (its page goes out), so that the escalations
	// below never race the engine's own first step.
	e.waitLog(0, `msg="SMS sent"`)

	tests := []struct {
		name     string
		fields   url.Values
		login    int
		readOnly bool
	}{
		{"user with password", url.Values{"user": {"demo"}, "password": {"demo"}}, http.StatusSeeOther, false},
		{"user with password_file", url.Values{"user": {"lead"}, "password": {"shift-lead-secret"}}, http.StatusSeeOther, false},
		{"read-only user", url.Values{"user": {"wall"}, "password": {"wall"}}, http.StatusSeeOther, true},
		{"read-only token", url.Values{"token": {"display-token"}}, http.StatusSeeOther, true},
		{"token", url.Values{"token": {e.token}}, http.StatusSeeOther, false},
		{"wrong password", url.Values{"user": {"demo"}, "password": {"wall"}}, http.StatusUnauthorized, false},
		{"unknown token", url.Values{"token": {"guess"}}, http.StatusUnauthorized, false},
	}
	for _, tt := range tests {
		c := newConsoleClient(t, e)
		if code := c.login(tt.fields); code != tt.login {
			t.Errorf("%s: login = %d, want %d", tt.name, code, tt.login)
			continue
		}
		if tt.login != http.StatusSeeOther {
			continue
		}
		if c.csrf == "" {
			t.Errorf("%s: no CSRF token on the page", tt.name)
		}
		// A read-only login is refused; without the token anyone is.
		if code, _ := c.do("POST", fmt.Sprintf("/incidents/%d/escalate", id), url.Values{}); code != http.StatusForbidden {
			t.Errorf("%s: escalate without CSRF token = %d, want 403", tt.name, code)
		}
		code, body := c.do("POST", fmt.Sprintf("/incidents/%d/escalate", id), url.Values{"csrf": {c.csrf}, "confirm": {"yes"}})
		if tt.readOnly && code != http.StatusForbidden {
			t.Errorf("%s: escalate = %d %s, want 403", tt.name, code, body)
		}
		if !tt.readOnly && code != http.StatusSeeOther {
			t.Errorf("%s: escalate = %d %s, want 303", tt.name, code, body)
		}
	}
	inc := e.incident(id)
	escalations := 0
	for _, tl := range inc.Timeline {
		if tl.Kind == escalation.KindEscalated {
			escalations++
		}
	}
	if escalations != 3 {
		t.Errorf("incident escalated %d times, want 3 (demo, lead, test; never the read-only logins)", escalations)
	}
}

// A console left open does not hold up shutdown: its live stream ends
// when the daemon stops.
func TestConsoleStreamEndsOnShutdown(t *testing.T) {
	e := consoleDaemon(t)
	c := newConsoleClient(t, e)
	if code := c.login(url.Values{"user": {"wall"}, "password": {"wall"}}); code != http.StatusSeeOther {
		t.Fatalf("login = %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+"/events", nil)
	resp, err := c.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "event: hello") {
	}
	start := time.Now()
	e.cmd.Process.Signal(syscall.SIGTERM)
	for sc.Scan() {
	}
	<-e.exited
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("daemon took %s to stop with a console open; the stream should end at once", d)
	}
}
