package sqlite_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// TestRedeliveryCountedOnce follows a QoS 1 message through the cases of
// escalation.IntakeMessage: a redelivery of a committed message is not
// counted; a redelivery of one never committed is; a reused packet id with
// new content is; and a fresh message (no DUP) in a slot is always new.
func TestRedeliveryCountedOnce(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	now := time.Now()
	msg := func(key, slot, hash string, dup bool) escalation.Event {
		ev := trigger(key, escalation.SevWarning)
		ev.Intake = "mqtt"
		ev.Message = escalation.IntakeMessage{Slot: slot, Hash: hash, Redelivered: dup}
		return ev
	}
	ingest := func(ev escalation.Event) escalation.IngestResult {
		t.Helper()
		res, err := db.Ingest(ctx, ev, 0, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	alerts := func(id int64) int {
		t.Helper()
		inc, err := db.Incident(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return inc.AlertCount
	}

	first := ingest(msg("valve", "mqtt|b|tocsin|7", "h1", false))
	if !first.New || first.Repeat {
		t.Fatalf("first delivery: %+v", first)
	}
	again := ingest(msg("valve", "mqtt|b|tocsin|7", "h1", true))
	if !again.Repeat || again.IncidentID != first.IncidentID || again.DedupKey != "valve" ||
		again.Status != escalation.Triggered || again.New {
		t.Errorf("redelivery of a committed message: %+v, want the first result marked repeat", again)
	}
	if n := alerts(first.IncidentID); n != 1 {
		t.Errorf("alert_count %d after a redelivery, want 1", n)
	}

	// A redelivery never committed before (killed before the commit).
	if res := ingest(msg("valve", "mqtt|b|tocsin|8", "h2", true)); res.Repeat || alerts(first.IncidentID) != 2 {
		t.Errorf("first commit of a redelivered message: %+v, alert_count %d, want counted", res, alerts(first.IncidentID))
	}
	// The broker reused packet id 7 for a different message.
	if res := ingest(msg("valve", "mqtt|b|tocsin|7", "h3", true)); res.Repeat || alerts(first.IncidentID) != 3 {
		t.Errorf("reused packet id, new content: %+v, want counted", res)
	}
	// Packet id 7 reused for identical content, without DUP: a new
	// message (the same alarm sent again), counted.
	if res := ingest(msg("valve", "mqtt|b|tocsin|7", "h3", false)); res.Repeat || alerts(first.IncidentID) != 4 {
		t.Errorf("same content, no DUP: %+v, want counted", res)
	}
	// Its redelivery now matches.
	if res := ingest(msg("valve", "mqtt|b|tocsin|7", "h3", true)); !res.Repeat || alerts(first.IncidentID) != 4 {
		t.Errorf("redelivery after the slot was reused: %+v, alert_count %d", res, alerts(first.IncidentID))
	}
	// Without a dedup key every trigger is a new incident; its redelivery
	// is recognised all the same and answers the incident it opened.
	ev := msg("", "mqtt|b|tocsin|9", "h4", false)
	opened := ingest(ev)
	if res := ingest(msg("", "mqtt|b|tocsin|9", "h4", true)); !res.Repeat || res.IncidentID != opened.IncidentID || res.DedupKey != opened.DedupKey {
		t.Errorf("redelivered keyless trigger: %+v, want %+v", res, opened)
	}
	incs, err := db.Incidents(ctx, escalation.IncidentFilter{Limit: 10})
	if err != nil || len(incs) != 2 {
		t.Errorf("%d incidents (%v), want 2", len(incs), err)
	}
}

// TestRedeliveriesInOneGroupCommit: many messages and their redeliveries
// committed concurrently (so in shared transactions) count once each.
func TestRedeliveriesInOneGroupCommit(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ev := trigger(fmt.Sprintf("k%d", i), escalation.SevWarning)
			ev.Message = escalation.IntakeMessage{Slot: fmt.Sprintf("s|%d", i), Hash: "h"}
			if _, err := db.Ingest(ctx, ev, 0, time.Now(), nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i := range n {
		wg.Go(func() {
			ev := trigger(fmt.Sprintf("k%d", i), escalation.SevWarning)
			ev.Message = escalation.IntakeMessage{Slot: fmt.Sprintf("s|%d", i), Hash: "h", Redelivered: true}
			if res, err := db.Ingest(ctx, ev, 0, time.Now(), nil); err != nil || !res.Repeat {
				t.Errorf("redelivery %d: %+v %v", i, res, err)
			}
		})
	}
	wg.Wait()
	incs, err := db.Incidents(ctx, escalation.IncidentFilter{Limit: 1000})
	if err != nil || len(incs) != n {
		t.Fatalf("%d incidents (%v)", len(incs), err)
	}
	for _, inc := range incs {
		if inc.AlertCount != 1 {
			t.Errorf("%s: alert_count %d", inc.DedupKey, inc.AlertCount)
		}
	}
}
