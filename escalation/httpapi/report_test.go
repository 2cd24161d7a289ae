package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

// GET /api/v1/report reads the report over the span asked for (30 days
// when not told) from the real store; a span that is not a positive
// duration is refused, naming since, and reads nothing.
func TestReportSpan(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tocsin.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	eng := escalation.NewEngine(db, intakePolicy(), nil)
	var spans []time.Duration
	ts := httptest.NewServer(New(Options{
		Engine: eng,
		Tokens: []Token{{Name: "wall", Token: "read-secret", ReadOnly: true}},
		Report: func(ctx context.Context, since, until time.Time) (escalation.Report, error) {
			spans = append(spans, until.Sub(since))
			b := escalation.NewReportBuilder(since, until, nil)
			err := db.ReportData(ctx, since, until, b)
			return b.Report(), err
		},
	}))
	t.Cleanup(ts.Close)
	if _, err := eng.Ingest(context.Background(), escalation.Event{Service: "press-line-1", Summary: "Hydraulic pressure low", Severity: escalation.SevCritical}); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		query string
		span  time.Duration
	}{{"", 30 * 24 * time.Hour}, {"?since=12h", 12 * time.Hour}, {"?since=7d", 7 * 24 * time.Hour}} {
		spans = nil
		code, body := doRequest(t, "GET", ts.URL+"/api/v1/report"+tt.query, "read-secret", nil)
		if code != http.StatusOK || len(spans) != 1 || spans[0] != tt.span {
			t.Fatalf("report%s: %d %s, spans %v, want 200 over %s", tt.query, code, body, spans, tt.span)
		}
		var rep escalation.Report
		if err := json.Unmarshal(body, &rep); err != nil {
			t.Fatal(err)
		}
		if len(rep.Services) != 1 || rep.Services[0].Incidents != 1 {
			t.Errorf("report%s: services %+v, want press-line-1 with its incident", tt.query, rep.Services)
		}
	}
	for _, bad := range []string{"yesterday", "-1h", "0s"} {
		spans = nil
		code, body := doRequest(t, "GET", ts.URL+"/api/v1/report?since="+bad, "read-secret", nil)
		var e apiError
		json.Unmarshal(body, &e)
		if code != http.StatusBadRequest || e.Field != "since" || len(spans) != 0 {
			t.Errorf("since=%s: %d %s (read %d times), want 400 naming since, nothing read", bad, code, body, len(spans))
		}
	}
}
