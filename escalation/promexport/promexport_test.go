package promexport_test

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
	"github.com/tocsin-relay/tocsin/escalation/promexport"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

func scrape(t *testing.T, x *promexport.Exporter) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	x.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	return rec.Code, string(body)
}

func TestExporterOnARealDatabase(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tocsin.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Ingest(ctx, escalation.Event{Service: "press", Summary: "x", Action: escalation.Trigger, Intake: "mqtt"}, 0, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	beat := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	if err := db.SaveHeartbeat(ctx, escalation.HeartbeatState{ID: "scada-main", LastBeat: beat}); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveHeartbeat(ctx, escalation.HeartbeatState{ID: "historian", MissedAt: beat}); err != nil {
		t.Fatal(err)
	}
	modem := func() promexport.ModemStatus {
		return promexport.ModemStatus{Up: true, SignalDBm: -85, Registration: "roaming"}
	}
	x := promexport.New(db, modem, nil)
	x.ObserveIngest("mqtt", 3*time.Millisecond)
	code, body := scrape(t, x)
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", code)
	}
	for _, want := range []string{
		`tocsin_incidents{service="press",status="triggered"} 1`,
		`tocsin_alerts_received_total{intake="mqtt",service="press"} 1`,
		`tocsin_modem_signal_dbm -85`,
		`tocsin_modem_registration{state="roaming"} 1`,
		`tocsin_modem_registration{state="home"} 0`,
		`tocsin_ingest_duration_seconds_bucket{intake="mqtt",le="0.005"} 1`,
		`tocsin_time_to_acknowledge_seconds_count 0`,
		`go_goroutines `,
		`tocsin_heartbeat_last_beat_timestamp_seconds{heartbeat="scada-main"} 1.7955e+09`,
		`tocsin_heartbeat_missed{heartbeat="scada-main"} 0`,
		`tocsin_heartbeat_missed{heartbeat="historian"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// A database that fails does not take the other metrics down with it.
func TestExporterWithAFailingDatabase(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tocsin.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.Close() // every query now fails
	x := promexport.New(db, nil, nil)
	code, body := scrape(t, x)
	if code != http.StatusOK || !strings.Contains(body, "go_goroutines") {
		t.Errorf("scrape with a closed database = %d, want 200 with the Go metrics:\n%s", code, body)
	}
	if strings.Contains(body, "tocsin_incidents{") || strings.Contains(body, "tocsin_modem_up") {
		t.Errorf("store or modem metrics reported without a store or modem:\n%s", body)
	}
}
