package sqlite_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

const tanaka = "+819012345678"

// sendAll claims every queued SMS and records it as sent, one message per
// claim (a digest when the claim folded several pages).
func sendAll(t *testing.T, db *sqlite.DB, now time.Time) {
	t.Helper()
	ctx := context.Background()
	for {
		batch, err := db.Claim(ctx, escalation.SMS, 0, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 {
			return
		}
		ids := make([]int64, len(batch))
		for i, n := range batch {
			ids[i] = n.ID
		}
		if err := db.Finish(ctx, ids, escalation.Outcome{Status: escalation.Sent, Ref: "1"}, now); err != nil {
			t.Fatal(err)
		}
	}
}

func told(t *testing.T, db *sqlite.DB, number string) string {
	t.Helper()
	incs, err := db.LastTold(context.Background(), number)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, inc := range incs {
		s = append(s, fmt.Sprintf("#%d", inc.ID))
	}
	return strings.Join(s, " ")
}

// LastTold is the incidents named in the last page or digest actually sent
// to the number: not pages still queued, not confirmations, not another
// number's pages.
func TestLastTold(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	now := time.Now()
	page := func(key string) int64 {
		res, err := db.Ingest(ctx, trigger(key, escalation.SevCritical), 0, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Enqueue(ctx, escalation.Notification{IncidentID: res.IncidentID, Channel: escalation.SMS,
			Number: tanaka, Text: "page " + key, Level: 1}); err != nil {
			t.Fatal(err)
		}
		return res.IncidentID
	}
	if got := told(t, db, tanaka); got != "" {
		t.Errorf("before any page: told %q", got)
	}
	a, b := page("a"), page("b")
	if got := told(t, db, tanaka); got != "" {
		t.Errorf("pages queued, not sent: told %q, want nothing", got)
	}
	now = now.Add(time.Second)
	sendAll(t, db, now) // one digest naming a and b
	if got, want := told(t, db, tanaka), fmt.Sprintf("#%d #%d", a, b); got != want {
		t.Errorf("after the digest: told %q, want %q", got, want)
	}
	c := page("c")
	now = now.Add(time.Second)
	sendAll(t, db, now)
	if got, want := told(t, db, tanaka), fmt.Sprintf("#%d", c); got != want {
		t.Errorf("after the page of #%d: told %q, want %q", c, got, want)
	}
	// A confirmation is not a page; another number's page is not tanaka's.
	if err := db.Enqueue(ctx, escalation.Notification{IncidentID: a, Channel: escalation.SMS, Number: tanaka,
		Text: "OK #1 acknowledged", Answer: escalation.AnswerConfirm}); err != nil {
		t.Fatal(err)
	}
	if err := db.Enqueue(ctx, escalation.Notification{IncidentID: a, Channel: escalation.SMS, Number: "+819011112222",
		Text: "page", Level: 2}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	sendAll(t, db, now)
	if got, want := told(t, db, tanaka), fmt.Sprintf("#%d", c); got != want {
		t.Errorf("after a confirmation: told %q, want still %q", got, want)
	}
	if got, want := told(t, db, "+819011112222"), fmt.Sprintf("#%d", a); got != want {
		t.Errorf("boss told %q, want %q", got, want)
	}
	// Statuses come along: the engine leaves resolved incidents out.
	if _, err := db.Transition(ctx, c, escalation.Resolved, "x", "test", time.Time{}, now); err != nil {
		t.Fatal(err)
	}
	incs, err := db.LastTold(ctx, tanaka)
	if err != nil || len(incs) != 1 || incs[0].Status != escalation.Resolved {
		t.Errorf("LastTold = %+v, %v; want #%d resolved", incs, err, c)
	}
}

// The bound on answers holds under concurrent replies: count and insert
// are one transaction. Answers of another kind, or older than the window,
// do not count.
func TestEnqueueAnswerBound(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	now := time.Now()
	help := escalation.Notification{Channel: escalation.SMS, Number: tanaka, Text: "Not understood", Answer: escalation.AnswerHelp}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		queued int
	)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := db.EnqueueAnswer(ctx, help, 3, now.Add(-time.Hour), now)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				queued++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if queued != 3 {
		t.Errorf("%d of 20 concurrent answers queued, want 3", queued)
	}
	confirm := help
	confirm.Answer = escalation.AnswerConfirm
	if ok, err := db.EnqueueAnswer(ctx, confirm, 3, now.Add(-time.Hour), now); !ok || err != nil {
		t.Errorf("a confirmation after 3 help answers: queued %v, %v; want queued", ok, err)
	}
	later := now.Add(time.Hour + time.Millisecond)
	if ok, err := db.EnqueueAnswer(ctx, help, 3, later.Add(-time.Hour), later); !ok || err != nil {
		t.Errorf("an hour later: queued %v, %v; want queued", ok, err)
	}
	ns, err := db.Outbox(ctx, sqlite.OutboxFilter{Limit: 100})
	if err != nil || len(ns) != 5 {
		t.Errorf("outbox %d rows, %v; want 5", len(ns), err)
	}
}

// An incomplete multi-part reply expires: marked ignored with an
// "expired" result, never returned by Unprocessed again. A younger one
// still waits for its parts.
func TestExpireParts(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	t0 := time.Now().Add(-25 * time.Hour)
	part := func(at time.Time, ref, seq int, pdu string) {
		if _, err := db.SaveReceived(ctx, escalation.ReceivedSMS{ReceivedAt: at, Number: tanaka, Text: "part",
			PDU: pdu, ConcatRef: ref, ConcatTotal: 2, ConcatSeq: seq}); err != nil {
			t.Fatal(err)
		}
	}
	part(t0, 7, 1, "AA")
	part(time.Now(), 8, 1, "BB")
	if ms, err := db.Unprocessed(ctx); err != nil || len(ms) != 0 {
		t.Fatalf("Unprocessed = %+v, %v; want nothing complete", ms, err)
	}
	exp, err := db.ExpireParts(ctx, time.Now().Add(-24*time.Hour))
	if err != nil || len(exp) != 1 || exp[0].ConcatRef != 7 || !strings.HasPrefix(exp[0].Result, "expired") {
		t.Fatalf("ExpireParts = %+v, %v; want the 25 h old part", exp, err)
	}
	if exp, _ := db.ExpireParts(ctx, time.Now().Add(-24*time.Hour)); len(exp) != 0 {
		t.Errorf("expired twice: %+v", exp)
	}
	// The late second part of the expired message does not revive it.
	part(time.Now(), 7, 2, "CC")
	if ms, err := db.Unprocessed(ctx); err != nil || len(ms) != 0 {
		t.Errorf("Unprocessed = %+v, %v; want nothing: the first part expired", ms, err)
	}
	rs, err := db.Received(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if rs[len(rs)-1].Status != "ignored" || !strings.HasPrefix(rs[len(rs)-1].Result, "expired") {
		t.Errorf("oldest row = %+v, want ignored/expired", rs[len(rs)-1])
	}
}
