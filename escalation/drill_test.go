package escalation_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

// A drill pages the service's people at once, marked in each person's
// language, even inside a maintenance window; a real alert there waits.
func TestDrillPagesMarkedAndIgnoresMaintenance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// synctest's clock starts at 2000-01-01 00:00 UTC, a Saturday.
		r := newRig(t, basePolicy+`maintenance:
  - {service: paint, weekly: {from: "00:00", to: "23:59"}}
`)
		res, err := r.e.Drill(context.Background(), "paint", "ops")
		if err != nil || !res.New {
			t.Fatalf("drill = %+v, %v", res, err)
		}
		real := r.trigger("paint", "real", "oven hot")
		time.Sleep(time.Minute) // paint's single level fires after 1m
		r.wantPages(res.IncidentID, "suzuki/sms")
		r.wantPages(real.IncidentID)
		ns, err := r.db.Outbox(context.Background(), sqlite.OutboxFilter{IncidentID: res.IncidentID, Limit: 10})
		if err != nil || len(ns) != 1 {
			t.Fatalf("outbox = %+v, %v", ns, err)
		}
		if want := "[DRILL] [#1 WARN] paint: Test page by ops (drill)"; !strings.HasPrefix(ns[0].Text, want) {
			t.Errorf("drill SMS = %q, want prefix %q", ns[0].Text, want)
		}
		inc := r.incident(res.IncidentID)
		if !inc.Drill || !strings.Contains(inc.Timeline[0].Detail, "via drill") {
			t.Errorf("incident drill=%v, first timeline %+v; want it marked as a drill", inc.Drill, inc.Timeline[0])
		}
	})
}

func TestDrillDefaultsAndErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, basePolicy)
		res, err := r.e.Drill(context.Background(), "", "")
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the engine pages level 1 at once
		if inc := r.incident(res.IncidentID); inc.Service != "press" || inc.Summary != "Test page by someone" {
			t.Errorf("drill without a service = %s %q, want the policy's first service", inc.Service, inc.Summary)
		}
		// press pages the on-call schedule (tanaka today, Japanese).
		ns, _ := r.db.Outbox(context.Background(), sqlite.OutboxFilter{IncidentID: res.IncidentID, Limit: 10})
		if len(ns) == 0 || !strings.HasPrefix(ns[len(ns)-1].Text, "[訓練] ") {
			t.Errorf("Japanese drill page = %+v, want [訓練] first", ns)
		}
		if _, err := r.e.Drill(context.Background(), "nope", "ops"); escalation.KindOf(err) != escalation.Invalid || escalation.FieldOf(err) != "service" {
			t.Errorf("drill of an unknown service = %v, want an invalid service", err)
		}
		if _, err := escalation.NewEngine(r.db, &escalation.Policy{}, nil).Drill(context.Background(), "", "ops"); err == nil ||
			!strings.Contains(err.Error(), "no services") {
			t.Errorf("drill with an empty policy = %v, want an error saying there are no services", err)
		}
	})
}
