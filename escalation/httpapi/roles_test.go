package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

// sideEffects records the calls the server made into the daemon's
// optional features, so a test can tell that a refused request changed
// nothing.
type sideEffects struct {
	mu    sync.Mutex
	calls []string
}

func (s *sideEffects) add(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, fmt.Sprintf(format, args...))
}

func (s *sideEffects) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// rolesServer is the real server on the real engine and a real SQLite
// file, with every optional feature wired to a recorder, a write token
// "ops" and a read-only token "wall". It also mounts, as cmd does, a
// write route through Authenticated (the demo's simulated phones).
func rolesServer(t *testing.T) (*Server, *httptest.Server, *escalation.Engine, *sideEffects) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tocsin.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// The engine's loop is not started: nothing escalates on its own,
	// so any change to an incident is the request's doing.
	eng := escalation.NewEngine(db, intakePolicy(), nil)
	fx := &sideEffects{}
	srv := New(Options{
		Engine: eng,
		Tokens: []Token{{Name: "ops", Token: "write-secret"}, {Name: "wall", Token: "read-secret", ReadOnly: true}},
		PolicyGet: func(ctx context.Context) ([]byte, error) {
			return []byte("services: []\n"), nil
		},
		PolicyPut: func(ctx context.Context, body []byte, by string) (any, error) {
			fx.add("policy put by %s", by)
			return map[string]int{"version": 2}, nil
		},
		Heartbeat: func(ctx context.Context, id string) error {
			fx.add("heartbeat %s", id)
			return nil
		},
		Press: func(ctx context.Context, input string, long bool) error {
			fx.add("press %s", input)
			return nil
		},
		Drill: func(ctx context.Context, service, by string) (any, error) {
			fx.add("drill %s by %s", service, by)
			return map[string]string{"service": service}, nil
		},
		OnCall: func(ctx context.Context, at time.Time) (any, error) { return []string{}, nil },
		Report: func(ctx context.Context, since, until time.Time) (escalation.Report, error) {
			return escalation.NewReportBuilder(since, until, nil).Report(), nil
		},
	})
	srv.Handle("POST /api/v1/sim/phones/{number}/sms", srv.Authenticated(func(w http.ResponseWriter, r *http.Request) {
		fx.add("sim sms from %s", r.PathValue("number"))
		w.WriteHeader(http.StatusAccepted)
	}))
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return srv, ts, eng, fx
}

func doRequest(t testing.TB, method, url, token string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// snapshot is everything a write could have changed in the store: every
// incident with its status, level and alert count.
func snapshot(t *testing.T, eng *escalation.Engine) string {
	t.Helper()
	incs, err := eng.Incidents(context.Background(), escalation.IncidentFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, i := range incs {
		fmt.Fprintf(&b, "#%d %s %s level=%d alerts=%d\n", i.ID, i.Service, i.Status, i.Level, i.AlertCount)
	}
	return b.String()
}

// TestReadOnlyTokenRefusedOnEveryWrite walks every route registered on
// the server. A read-only token is refused with 403 naming the token on
// each route that writes, and nothing changes; the write token then does
// the same request successfully; every read works with either token.
func TestReadOnlyTokenRefusedOnEveryWrite(t *testing.T) {
	srv, ts, eng, fx := rolesServer(t)
	amFiring := readTestdata(t, "alertmanager-firing.json")
	grafanaFiring := readTestdata(t, "grafana-firing.json")

	newIncident := func() int64 {
		t.Helper()
		res, err := eng.Ingest(context.Background(), escalation.Event{Service: "press-line-1", Summary: "pressure low",
			Severity: escalation.SevCritical, Action: escalation.Trigger, Intake: "cli"})
		if err != nil {
			t.Fatal(err)
		}
		return res.IncidentID
	}
	// Each write route with a request that succeeds for a write token.
	type call struct {
		path string
		body []byte
		ok   int
	}
	writes := map[string]func() call{
		"POST /api/v1/alerts": func() call {
			return call{"/api/v1/alerts", []byte(`{"service":"press-line-1","summary":"oil temperature high","severity":"error"}`), http.StatusAccepted}
		},
		"POST /api/v1/incidents/{id}/ack": func() call {
			return call{fmt.Sprintf("/api/v1/incidents/%d/ack", newIncident()), []byte(`{}`), http.StatusOK}
		},
		"POST /api/v1/incidents/{id}/resolve": func() call {
			return call{fmt.Sprintf("/api/v1/incidents/%d/resolve", newIncident()), []byte(`{}`), http.StatusOK}
		},
		"POST /api/v1/incidents/{id}/escalate": func() call {
			return call{fmt.Sprintf("/api/v1/incidents/%d/escalate", newIncident()), []byte(`{}`), http.StatusOK}
		},
		"PUT /api/v1/policy": func() call {
			return call{"/api/v1/policy", []byte("services: []\n"), http.StatusOK}
		},
		"POST /api/v1/heartbeats/{id}": func() call {
			return call{"/api/v1/heartbeats/nightly-backup", nil, http.StatusAccepted}
		},
		"POST /api/v1/gpio/inputs/{id}/press": func() call {
			return call{"/api/v1/gpio/inputs/ack-1/press", nil, http.StatusOK}
		},
		"POST /api/v1/drill": func() call {
			return call{"/api/v1/drill?service=press-line-1", nil, http.StatusAccepted}
		},
		"POST /api/v1/webhooks/alertmanager/{service}": func() call {
			return call{"/api/v1/webhooks/alertmanager/press-line-1", amFiring, http.StatusAccepted}
		},
		"POST /api/v1/webhooks/grafana/{service}": func() call {
			return call{"/api/v1/webhooks/grafana/press-line-1", grafanaFiring, http.StatusAccepted}
		},
		"POST /api/v1/sim/phones/{number}/sms": func() call {
			return call{"/api/v1/sim/phones/090-1234-5678/sms", []byte(`{"text":"ACK"}`), http.StatusAccepted}
		},
		// The catch-all answers 404 to a writer; a read-only token is
		// refused before the path is even looked at.
		"/api/": func() call { return call{"/api/v1/nothing-here", []byte(`{}`), http.StatusNotFound} },
	}
	reads := map[string]string{
		"GET /api/v1/incidents":      "/api/v1/incidents",
		"GET /api/v1/incidents/{id}": "", // filled below
		"GET /api/v1/oncall":         "/api/v1/oncall",
		"GET /api/v1/report":         "/api/v1/report",
		"GET /api/v1/status":         "/api/v1/status",
		"GET /api/v1/policy":         "/api/v1/policy",
		"GET /healthz":               "/healthz",
	}
	// PagerDuty's endpoints authenticate by routing key, as PagerDuty
	// does; bearer tokens (and their roles) do not apply to them.
	routingKey := map[string]bool{"POST /v2/enqueue": true, "POST /generic/2010-04-15/create_event.json": true}

	for _, route := range srv.routes {
		if routingKey[route] {
			continue
		}
		if path, ok := reads[route]; ok {
			if path == "" {
				path = fmt.Sprintf("/api/v1/incidents/%d", newIncident())
			}
			for _, tok := range []string{"read-secret", "write-secret"} {
				if code, body := doRequest(t, "GET", ts.URL+path, tok, nil); code != http.StatusOK {
					t.Errorf("GET %s with %s: %d %s, want 200", path, tok, code, body)
				}
			}
			continue
		}
		mk, ok := writes[route]
		if !ok {
			t.Errorf("route %q is not covered by this test: add it to reads or writes", route)
			continue
		}
		t.Run(route, func(t *testing.T) {
			c := mk()
			method, _, found := strings.Cut(route, " ")
			if !found {
				method = "POST"
			}
			before, beforeFx := snapshot(t, eng), fx.list()
			code, body := doRequest(t, method, ts.URL+c.path, "read-secret", c.body)
			if code != http.StatusForbidden {
				t.Fatalf("read-only token: %d %s, want 403", code, body)
			}
			var e apiError
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("answer is not a JSON error: %q", body)
			}
			if want := `token "wall" is read-only: it may only read`; e.Error != want || e.Field != "authorization" {
				t.Errorf("error %+v, want %q on field authorization", e, want)
			}
			if after := snapshot(t, eng); after != before {
				t.Errorf("a refused request changed incidents:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if got := fx.list(); len(got) != len(beforeFx) {
				t.Errorf("a refused request reached the daemon: %v", got[len(beforeFx):])
			}
			if code, body := doRequest(t, method, ts.URL+c.path, "write-secret", c.body); code != c.ok {
				t.Errorf("write token: %d %s, want %d", code, body, c.ok)
			}
		})
	}
	if got := fx.list(); len(got) != 5 {
		t.Errorf("write token reached %d features, want 5 (policy, heartbeat, press, drill, sim sms): %v", len(got), got)
	}
}

// TestReadOnlyTokenMayHead: HEAD is a read.
func TestReadOnlyTokenMayHead(t *testing.T) {
	_, ts, _, _ := rolesServer(t)
	if code, body := doRequest(t, "HEAD", ts.URL+"/api/v1/incidents", "read-secret", nil); code != http.StatusOK {
		t.Errorf("HEAD with a read-only token: %d %s", code, body)
	}
}
