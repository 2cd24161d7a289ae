package main

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/policyfile"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
	"github.com/tocsin-relay/tocsin/modem"
)

// A modem without registration (or SIM, or answer) for five minutes opens
// an incident on Tocsin's own service; healthy again, it is resolved. The
// rule runs on the real engine and store, inside a synctest bubble.
func TestModemHealthIncident(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		pol, err := policyfile.Load("p.yaml", []byte(`contacts:
  - {id: op, phone: "+819012345678"}
services:
  - {id: tocsin, escalation_policy: self}
escalation_policies:
  - {id: self, levels: [{after: 0s, notify: [{zone: control-room}]}]}
`))
		if err != nil {
			t.Fatal(err)
		}
		db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tocsin.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		eng := escalation.NewEngine(db, pol, nil)
		l := &modemLink{cfg: ModemConfig{Device: "/dev/ttyUSB2"}, log: slog.New(slog.DiscardHandler), ingest: eng.Ingest}
		open := func() []escalation.Incident {
			incs, err := eng.Incidents(ctx, escalation.IncidentFilter{Service: "tocsin", Open: true})
			if err != nil {
				t.Fatal(err)
			}
			return incs
		}
		healthy := modem.Info{SIM: "READY", Registration: modem.Home}
		lost := modem.Info{SIM: "READY", Registration: modem.Searching}

		l.observe(ctx, healthy, nil)
		for range 4 { // probed every minute: searching for 4 minutes
			l.observe(ctx, lost, nil)
			time.Sleep(time.Minute)
		}
		l.observe(ctx, lost, nil)
		if n := len(open()); n != 0 {
			t.Fatalf("after 4 minutes %d health incidents, want none yet", n)
		}
		time.Sleep(time.Minute)
		l.observe(ctx, modem.Info{}, errors.New("no answer")) // still bad, another reason
		incs := open()
		if len(incs) != 1 || incs[0].Severity != escalation.SevCritical || incs[0].DedupKey != "modem-health" {
			t.Fatalf("after 5 minutes: %+v, want one critical modem-health incident", incs)
		}
		if !l.status().HealthAlarm {
			t.Error("status does not show the health incident")
		}
		time.Sleep(time.Minute)
		l.observe(ctx, lost, nil) // still down: no second incident
		if n := len(open()); n != 1 {
			t.Errorf("%d health incidents while still down, want 1", n)
		}
		l.observe(ctx, healthy, nil)
		if n := len(open()); n != 0 {
			t.Errorf("healthy again but %d health incidents open", n)
		}
		inc, _ := eng.Incident(ctx, incs[0].ID)
		if inc.Status != escalation.Resolved || inc.ResolvedBy == "" {
			t.Errorf("health incident %s by %q, want resolved", inc.Status, inc.ResolvedBy)
		}
	})
}
