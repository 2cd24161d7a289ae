package systemd_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/policyfile"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

// TestPackagedPolicyPagesNobodyForADay runs the policy the package
// installs through the real engine, heartbeat monitor and SQLite store
// for a simulated day in which alerts arrive every hour on every service
// and nobody answers: not one SMS or call is queued, the sirens of its
// zone do sound, and the policy is reported not configured. A new Pi with
// a SIM in it must never page a stranger.
func TestPackagedPolicyPagesNobodyForADay(t *testing.T) {
	src, err := os.ReadFile("policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := policyfile.Load("policy.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Heartbeats) != 0 {
		t.Errorf("the example has heartbeats %+v: nothing feeds them on a new install, so they would open incidents", p.Heartbeats)
	}
	if _, ok := p.Service("tocsin"); !ok {
		t.Error("the example has no tocsin service: the relay's own troubles (modem down) would page nobody, silently")
	}
	r := escalation.CheckReadiness(p)
	if r.Configured {
		t.Fatalf("the example can page %v", r.Reachable)
	}
	t.Logf("readiness: %s / %s", r.Reason, r.ReasonJA)

	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tocsin.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		v, _, err := db.ApplyPolicy(ctx, p, src, "test", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		p.Version = v.Version
		e := escalation.NewEngine(db, p, nil)
		hb := escalation.NewHeartbeats(e, e.Policy, db, nil)
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{}, 2)
		go func() { e.Run(rctx); done <- struct{}{} }()
		go func() { hb.Run(rctx); done <- struct{}{} }()
		defer func() { cancel(); <-done; <-done }()

		for hour := range 24 {
			for _, svc := range p.Services {
				_, err := e.Ingest(ctx, escalation.Event{Service: svc.ID, Summary: fmt.Sprintf("alarm at hour %d", hour),
					Severity: escalation.SevCritical, Source: "test", Intake: "http"})
				if err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(time.Hour)
			synctest.Wait()
		}

		queued, err := db.Outbox(ctx, sqlite.OutboxFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range queued {
			t.Errorf("queued %s to %s (%s): %q", n.Channel, n.ContactID, n.Number, n.Text)
		}
		incs, err := e.Incidents(ctx, escalation.IncidentFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if want := 24 * len(p.Services); len(incs) != want {
			t.Errorf("%d incidents after a day, want %d (one per alert)", len(incs), want)
		}
		for _, inc := range incs {
			if inc.Level < 1 {
				t.Errorf("incident #%d never escalated (level %d): the day did not run", inc.ID, inc.Level)
			}
		}
		zones, err := db.ZoneAlarms(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(zones) == 0 {
			t.Error("no zone alarm: the example's sirens should still sound")
		}
	})
}
