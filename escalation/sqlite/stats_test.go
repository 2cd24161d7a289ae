package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

var ackBuckets = []time.Duration{time.Minute, 5 * time.Minute, time.Hour}

func TestStats(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tocsin.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := &reportDB{t: t, db: db}
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	a := r.incident("press", "a", t0, false)
	r.transition(a, escalation.Acknowledged, t0.Add(30*time.Second))
	b := r.incident("press", "b", t0, false)
	r.transition(b, escalation.Acknowledged, t0.Add(10*time.Minute))
	r.transition(b, escalation.Resolved, t0.Add(20*time.Minute))
	r.incident("paint", "c", t0, false)
	d := r.incident("press", "drill", t0, true)
	r.transition(d, escalation.Acknowledged, t0.Add(2*time.Hour)) // drills are not response times
	r.send(t0, page(a, "tanaka", "+819012345678"))
	if err := db.Enqueue(ctx, page(b, "tanaka", "+819012345678")); err != nil {
		t.Fatal(err)
	}

	s, err := db.Stats(ctx, ackBuckets)
	if err != nil {
		t.Fatal(err)
	}
	wantInc := []escalation.IncidentCount{
		{Service: "paint", Status: escalation.Triggered, N: 1},
		{Service: "press", Status: escalation.Acknowledged, N: 2},
		{Service: "press", Status: escalation.Resolved, N: 1},
	}
	if fmt.Sprint(s.Incidents) != fmt.Sprint(wantInc) {
		t.Errorf("incidents = %v, want %v", s.Incidents, wantInc)
	}
	wantAlerts := []escalation.AlertCount{{Intake: "drill", Service: "press", N: 1}, {Intake: "test", Service: "paint", N: 1}, {Intake: "test", Service: "press", N: 2}}
	if fmt.Sprint(s.Alerts) != fmt.Sprint(wantAlerts) {
		t.Errorf("alerts = %v, want %v", s.Alerts, wantAlerts)
	}
	wantOut := []escalation.NotificationCount{{Channel: escalation.SMS, Status: escalation.Queued, N: 1}, {Channel: escalation.SMS, Status: escalation.Sent, N: 1}}
	if fmt.Sprint(s.Notifications) != fmt.Sprint(wantOut) || s.OutboxDepth != 1 {
		t.Errorf("notifications = %v depth %d, want %v depth 1", s.Notifications, s.OutboxDepth, wantOut)
	}
	h := s.TimeToAck
	wantBuckets := []escalation.Bucket{{UpperBound: time.Minute, Count: 1}, {UpperBound: 5 * time.Minute, Count: 1}, {UpperBound: time.Hour, Count: 2}}
	if h.Count != 2 || h.Sum != 10*time.Minute+30*time.Second || fmt.Sprint(h.Buckets) != fmt.Sprint(wantBuckets) {
		t.Errorf("time to ack = %+v, want 2 acks summing 10m30s in %v", h, wantBuckets)
	}
}

// BenchmarkStats is the cost of one /metrics scrape's queries on a
// database with a year of a busy site: 100,000 incidents, 200,000 alerts
// and 100,000 pages.
func BenchmarkStats(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "tocsin.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		b.Fatal(err)
	}
	tx, _ := raw.Begin()
	for i := 1; i <= 100_000; i++ {
		created := int64(1_780_000_000_000 + i*60_000)
		status, ack := "resolved", any(created+int64(i%3600)*1000)
		if i%10 == 0 {
			status, ack = "triggered", nil
		}
		svc := fmt.Sprintf("svc-%d", i%20)
		mustExec(b, tx, `INSERT INTO incidents (id, service, dedup_key, summary, severity, status, created_at, last_alert_at, acknowledged_at)
			VALUES (?, ?, ?, 's', 1, ?, ?, ?, ?)`, i, svc, fmt.Sprint(i), status, created, created, ack)
		for _, intake := range []string{"http", "mqtt"} {
			mustExec(b, tx, `INSERT INTO alerts (incident_id, received_at, intake, service, action, dedup_key, summary, severity, source)
				VALUES (?, ?, ?, ?, 'trigger', ?, 's', 1, '')`, i, created, intake, svc, fmt.Sprint(i))
		}
		mustExec(b, tx, `INSERT INTO outbox (incident_id, contact_id, channel, number, text, status, level, created_at, updated_at)
			VALUES (?, 'tanaka', 'sms', '+819012345678', 't', 'sent', 1, ?, ?)`, i, created, created)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	raw.Close()
	db, err = sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.ResetTimer()
	for b.Loop() {
		if _, err := db.Stats(ctx, ackBuckets); err != nil {
			b.Fatal(err)
		}
	}
}

func mustExec(b *testing.B, tx *sql.Tx, q string, args ...any) {
	if _, err := tx.Exec(q, args...); err != nil {
		b.Fatal(err)
	}
}
