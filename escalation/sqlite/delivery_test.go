package sqlite_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

func countDetail(t *testing.T, inc escalation.Incident, substr string) int {
	t.Helper()
	n := 0
	for _, e := range inc.Timeline {
		if strings.Contains(e.Detail, substr) {
			n++
		}
	}
	return n
}

// A page the modem could not even try goes back to the queue uncounted;
// the timeline says once that it waits, however often it is handed back;
// the pages queued for one number meanwhile still leave as one digest.
func TestReleaseIsNotAnAttempt(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	now := time.Now()
	var ids []int64
	for i := range 3 {
		res, err := db.Ingest(ctx, trigger(fmt.Sprintf("k%d", i), escalation.SevError), 0, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.IncidentID)
		if err := db.Enqueue(ctx, escalation.Notification{IncidentID: res.IncidentID, Channel: escalation.SMS,
			Number: "+1", Text: "page", Severity: escalation.SevError, Level: 1}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			// The first page is tried (and handed back) twice before the
			// others arrive.
			for range 2 {
				batch, err := db.Claim(ctx, escalation.SMS, 0, now)
				if err != nil || len(batch) != 1 || batch[0].Attempts != 1 {
					t.Fatalf("claim = %+v, %v; want the first page at its first attempt", batch, err)
				}
				if err := db.Release(ctx, []int64{batch[0].ID}, "SMS to tanaka waiting for the modem: modem: down", time.Time{}, now); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// The others wait without being claimed (the modem is not up).
	if n, err := db.NoteWaiting(ctx, escalation.SMS, "page waiting for the modem", now); err != nil || n != 2 {
		t.Fatalf("NoteWaiting = %d, %v; want the 2 pages not yet noted", n, err)
	}
	if n, _ := db.NoteWaiting(ctx, escalation.SMS, "page waiting for the modem", now); n != 0 {
		t.Fatalf("noted %d pages a second time", n)
	}
	batch, err := db.Claim(ctx, escalation.SMS, 0, now)
	if err != nil || len(batch) != 3 {
		t.Fatalf("claim after the outage = %d pages, %v; want all 3 folded into one digest", len(batch), err)
	}
	for _, n := range batch {
		if n.Attempts != 1 {
			t.Errorf("page %d at attempt %d after waiting, want 1 (waits are not attempts)", n.ID, n.Attempts)
		}
	}
	for _, id := range ids {
		inc, err := db.Incident(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if n := countDetail(t, inc, "waiting for the modem"); n != 1 {
			t.Errorf("incident %d: %d waiting lines, want 1", id, n)
		}
	}
}

// A page caught mid-send by a crash is noted on the timeline of every
// incident it covers, not only in the row's error.
func TestRequeueInterruptedNotesTimeline(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	now := time.Now()
	var ids []int64
	for i := range 2 {
		res, err := db.Ingest(ctx, trigger(fmt.Sprintf("k%d", i), escalation.SevError), 0, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.IncidentID)
	}
	if err := db.Enqueue(ctx, escalation.Notification{IncidentID: ids[0], Covers: ids, Channel: escalation.SMS,
		Number: "+1", Text: "digest", Severity: escalation.SevError, Level: 1}); err != nil {
		t.Fatal(err)
	}
	if b, err := db.Claim(ctx, escalation.SMS, 0, now); err != nil || len(b) != 1 {
		t.Fatalf("claim = %+v, %v", b, err)
	}
	if n, err := db.RequeueInterrupted(ctx, now); err != nil || n != 1 {
		t.Fatalf("requeued %d, %v; want 1", n, err)
	}
	for _, id := range ids {
		inc, _ := db.Incident(ctx, id)
		if n := countDetail(t, inc, "interrupted by restart; may have been sent"); n != 1 {
			t.Errorf("incident %d: %d interrupted lines, want 1: %+v", id, n, inc.Timeline)
		}
	}
	if n, _ := db.RequeueInterrupted(ctx, now); n != 0 {
		t.Errorf("requeued %d again", n)
	}
}
