package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

// pair opens two databases as twin relays (slots 0 and 1 of 2).
func pair(t *testing.T) (a, b *sqlite.DB, ia, ib string) {
	t.Helper()
	ctx := context.Background()
	a, _ = open(t)
	b, _ = open(t)
	var err error
	if ia, err = a.EnableReplication(ctx, 1, 2); err != nil {
		t.Fatal(err)
	}
	if ib, err = b.EnableReplication(ctx, 0, 2); err != nil {
		t.Fatal(err)
	}
	return a, b, ia, ib
}

// ship moves every change of from to to, as the cluster adapter does.
func ship(t *testing.T, from, to *sqlite.DB, instance string, hold time.Duration) (changed []int64, merged int) {
	t.Helper()
	ctx := context.Background()
	ids, _, err := from.ChangedSince(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := from.ExportIncidents(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	changed, merged, err = to.ImportIncidents(ctx, recs, hold, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return changed, merged
}

func twinPage(id int64) escalation.StepResult {
	return escalation.StepResult{IncidentID: id, ExpectStatus: escalation.Triggered, Status: escalation.Triggered, Level: 1,
		Pages: []escalation.Notification{{ContactID: "tanaka", Channel: escalation.SMS, Number: "+819012345678", Text: "page", Level: 1}}}
}

// TestReplicationIDsPagesAndFold: ids never collide, a page travels with
// its incident and is held on the standby, a page sent on one box is sent
// on the other, and the same alert opened on both folds into the lower id
// the same way on both boxes.
func TestReplicationIDsPagesAndFold(t *testing.T) {
	ctx := context.Background()
	a, b, ia, ib := pair(t)
	now := time.Now()
	ra, err := a.Ingest(ctx, trigger("only-a", escalation.SevCritical), 0, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := b.Ingest(ctx, trigger("only-b", escalation.SevCritical), 0, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ra.IncidentID%2 != 1 || rb.IncidentID%2 != 0 {
		t.Fatalf("ids %d and %d: not in their slots", ra.IncidentID, rb.IncidentID)
	}
	if err := a.Step(ctx, twinPage(ra.IncidentID), now); err != nil {
		t.Fatal(err)
	}
	if _, merged := ship(t, a, b, ia, time.Minute); merged != 0 {
		t.Fatalf("merged %d", merged)
	}
	out, err := b.Outbox(ctx, sqlite.OutboxFilter{IncidentID: ra.IncidentID})
	if err != nil || len(out) != 1 || out[0].Status != escalation.Queued {
		t.Fatalf("B's copy of A's page: %+v %v", out, err)
	}
	if got, _ := b.Claim(ctx, escalation.SMS, 0, now.Add(time.Second)); len(got) != 0 {
		t.Fatalf("B claimed a held page: %+v", got)
	}
	// A restarted box holds what waits until its twin could answer.
	if err := a.HoldWaiting(ctx, time.Minute, now); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Claim(ctx, escalation.SMS, 0, now.Add(time.Second)); len(got) != 0 {
		t.Fatalf("A claimed a page held at start: %+v", got)
	}
	if err := a.SetHold(ctx, 0, now); err != nil { // the grace is over: A pages
		t.Fatal(err)
	}
	// A sends it; B learns it is sent and never claims it.
	claimed, err := a.Claim(ctx, escalation.SMS, 0, now)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("A claim: %+v %v", claimed, err)
	}
	if err := a.Finish(ctx, []int64{claimed[0].ID}, escalation.Outcome{Status: escalation.Sent, Ref: "1", Timeline: "SMS sent"}, now); err != nil {
		t.Fatal(err)
	}
	ship(t, a, b, ia, time.Minute)
	if got, _ := b.Claim(ctx, escalation.SMS, 0, now.Add(time.Hour)); len(got) != 0 {
		t.Fatalf("B claimed a page A sent: %+v", got)
	}
	told, err := b.LastTold(ctx, "+819012345678")
	if err != nil || len(told) != 1 || told[0].ID != ra.IncidentID {
		t.Fatalf("a reply to B acts on %+v (%v), want #%d", told, err, ra.IncidentID)
	}
	// An echo changes nothing.
	if changed, _ := ship(t, b, a, ib, 0); len(changed) != 1 || changed[0] != rb.IncidentID {
		t.Fatalf("echo to A changed %v; want only B's own #%d new", changed, rb.IncidentID)
	}

	// The same alert on both boxes before either saw the other's.
	sa, _ := a.Ingest(ctx, trigger("both", escalation.SevCritical), 0, now, nil)
	sb, _ := b.Ingest(ctx, trigger("both", escalation.SevWarning), 0, now, nil)
	if sa.IncidentID == sb.IncidentID {
		t.Fatal("one id on both boxes")
	}
	_, ma := ship(t, b, a, ib, 0)
	_, mb := ship(t, a, b, ia, 0)
	if ma != 1 || mb != 1 {
		t.Fatalf("folds: A %d, B %d", ma, mb)
	}
	// Converge: ship both ways again; nothing is counted twice.
	ship(t, a, b, ia, 0)
	ship(t, b, a, ib, 0)
	keep, dup := min(sa.IncidentID, sb.IncidentID), max(sa.IncidentID, sb.IncidentID)
	for name, db := range map[string]*sqlite.DB{"A": a, "B": b} {
		k, err := db.Incident(ctx, keep)
		if err != nil {
			t.Fatal(err)
		}
		d, err := db.Incident(ctx, dup)
		if err != nil {
			t.Fatal(err)
		}
		if k.Status != escalation.Triggered || k.AlertCount != 2 || k.Severity != escalation.SevCritical {
			t.Errorf("%s: kept #%d: %+v", name, keep, k)
		}
		if d.Status != escalation.Resolved || d.ResolvedBy == "" {
			t.Errorf("%s: duplicate #%d: %+v", name, dup, d)
		}
	}
	fa, _ := a.Fingerprints(ctx)
	fb, _ := b.Fingerprints(ctx)
	for id, fp := range fa {
		if fb[id] != fp {
			t.Errorf("#%d: A %s, B %s", id, fp, fb[id])
		}
	}
}

// TestFoldedPageThatFailsPagesTheSurvivor: the same alert opened on both
// boxes, the active's copy has the higher id and its page is leaving when
// the fold comes, so that page stands for the survivor's. When that send
// then fails, the survivor's page is queued again on the active: the
// level is paged, not skipped.
func TestFoldedPageThatFailsPagesTheSurvivor(t *testing.T) {
	for _, how := range []string{"retry", "give up", "modem gone"} {
		t.Run(how, func(t *testing.T) {
			ctx := context.Background()
			a, b, ia, ib := pair(t)
			now := time.Now()
			if _, err := a.Ingest(ctx, trigger("earlier", escalation.SevWarning), 0, now, nil); err != nil {
				t.Fatal(err)
			}
			sa, _ := a.Ingest(ctx, trigger("both", escalation.SevCritical), 0, now, nil)
			sb, _ := b.Ingest(ctx, trigger("both", escalation.SevCritical), 0, now, nil)
			if sa.IncidentID < sb.IncidentID {
				t.Fatalf("A's copy #%d, B's #%d: the test needs A's to be folded", sa.IncidentID, sb.IncidentID)
			}
			if err := a.Step(ctx, twinPage(sa.IncidentID), now); err != nil {
				t.Fatal(err)
			}
			if err := b.Step(ctx, twinPage(sb.IncidentID), now); err != nil {
				t.Fatal(err)
			}
			claimed, err := a.Claim(ctx, escalation.SMS, 0, now)
			if err != nil || len(claimed) != 1 || claimed[0].IncidentID != sa.IncidentID {
				t.Fatalf("A claims its page: %+v %v", claimed, err)
			}
			// The fold, while A's page is leaving.
			if _, merged := ship(t, b, a, ib, 0); merged != 1 {
				t.Fatalf("A folded %d", merged)
			}
			ship(t, a, b, ia, time.Minute)
			if got, _ := a.Claim(ctx, escalation.SMS, 0, now); len(got) != 0 {
				t.Fatalf("A claims the survivor's page while its own stands for it: %+v", got)
			}
			later := now.Add(time.Second)
			switch how {
			case "retry":
				err = a.Finish(ctx, []int64{claimed[0].ID}, escalation.Outcome{Status: escalation.Queued, Error: "+CMS ERROR: 500",
					RetryAt: later.Add(time.Hour), Timeline: "SMS failed, retrying"}, later)
			case "give up":
				err = a.Finish(ctx, []int64{claimed[0].ID}, escalation.Outcome{Status: escalation.Failed, Error: "+CMS ERROR: 21",
					Timeline: "SMS failed"}, later)
			case "modem gone":
				err = a.Release(ctx, []int64{claimed[0].ID}, "waiting for the modem", time.Time{}, later)
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := a.Claim(ctx, escalation.SMS, 0, later)
			if err != nil || len(got) != 1 || !covers(got[0], sb.IncidentID) {
				t.Fatalf("after the failed send A claims %+v (%v), want a page for the survivor #%d", got, err, sb.IncidentID)
			}
			if err := a.Finish(ctx, []int64{got[0].ID}, escalation.Outcome{Status: escalation.Sent, Ref: "7", Timeline: "SMS sent"}, later); err != nil {
				t.Fatal(err)
			}
			// B learns it was sent and does not send it again.
			ship(t, a, b, ia, time.Minute)
			if err := b.SetHold(ctx, 0, later); err != nil {
				t.Fatal(err)
			}
			if got, _ := b.Claim(ctx, escalation.SMS, 0, later.Add(time.Hour)); len(got) != 0 {
				t.Fatalf("B claims %+v after A paged the survivor", got)
			}
		})
	}
}

// covers reports whether n pages about incident id.
func covers(n escalation.Notification, id int64) bool {
	if n.IncidentID == id {
		return true
	}
	for _, c := range n.Covers {
		if c == id {
			return true
		}
	}
	return false
}
