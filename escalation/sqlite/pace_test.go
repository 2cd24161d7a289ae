package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

// smsPage is a level-1 SMS page to number about incident id.
func smsPage(id int64, number string, sev escalation.Severity) escalation.Notification {
	return escalation.Notification{IncidentID: id, Channel: escalation.SMS, Number: number,
		Text: fmt.Sprintf("page #%d", id), Severity: sev, Level: 1}
}

// With 20,000 pages queued for one person and the default limit (3 SMS a
// minute), claims still go by the person's turn: three digests, then
// nothing until a minute has passed, while another person's page leaves at
// once; the person's next SMS starts with the most severe page, even one
// queued last.
func TestClaimWithBacklog(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	inc, err := db.Ingest(ctx, trigger("storm", escalation.SevWarning), 0, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	const backlog = 20000
	ns := make([]escalation.Notification, backlog)
	for i := range ns {
		ns[i] = smsPage(inc.IncidentID, "+1", escalation.SevWarning)
	}
	if err := db.Enqueue(ctx, ns...); err != nil {
		t.Fatal(err)
	}
	const perMinute = 3
	var took []time.Duration
	claim := func(at time.Time) []escalation.Notification {
		t.Helper()
		start := time.Now()
		c, err := db.Claim(ctx, escalation.SMS, perMinute, at)
		took = append(took, time.Since(start))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for i := range perMinute {
		if c := claim(now.Add(time.Duration(i) * time.Second)); len(c) != 51 {
			t.Fatalf("claim %d took %d pages, want a digest of 51", i, len(c))
		}
	}
	if c := claim(now.Add(3 * time.Second)); len(c) != 0 {
		t.Fatalf("a fourth SMS within the minute was claimed (%d pages)", len(c))
	}
	next, ok, err := db.NextRetry(ctx)
	if err != nil || !ok || !next.Equal(now.Add(time.Minute)) {
		t.Fatalf("NextRetry = %s, %v, %v; want %s (the person's next turn)", next, ok, err, now.Add(time.Minute))
	}

	// Someone else's page is not held back by the backlog.
	other, err := db.Ingest(ctx, trigger("other", escalation.SevError), 0, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Enqueue(ctx, smsPage(other.IncidentID, "+2", escalation.SevError))
	if c := claim(now.Add(4 * time.Second)); len(c) != 1 || c[0].Number != "+2" {
		t.Fatalf("claim = %+v, want +2's page at once", c)
	}

	// A critical page queued behind 20,000 others leaves first at the
	// person's next turn, and not a moment before.
	crit, err := db.Ingest(ctx, trigger("crit", escalation.SevCritical), 0, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Enqueue(ctx, smsPage(crit.IncidentID, "+1", escalation.SevCritical))
	if c := claim(now.Add(59 * time.Second)); len(c) != 0 {
		t.Fatalf("claimed %d pages before the person's turn", len(c))
	}
	c := claim(now.Add(time.Minute))
	if len(c) != 51 || c[0].IncidentID != crit.IncidentID || c[0].Severity != escalation.SevCritical {
		t.Fatalf("claim at the next turn starts with %+v (%d pages), want the critical page first", c[0], len(c))
	}
	t.Logf("claims with %d pages queued for one number: %v", backlog, took)
}

// An answer (level 0) to a person waits behind that person's pages, so a
// reply loop cannot crowd pages out; it leaves when no page is waiting.
func TestPagesBeforeAnswers(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	now := time.Now()
	inc, _ := db.Ingest(ctx, trigger("a", escalation.SevInfo), 0, now, nil)
	db.Enqueue(ctx, escalation.Notification{Channel: escalation.SMS, Number: "+1", Text: "not understood", Severity: escalation.SevInfo})
	db.Enqueue(ctx, smsPage(inc.IncidentID, "+1", escalation.SevInfo))
	first, _ := db.Claim(ctx, escalation.SMS, 0, now)
	if len(first) != 1 || first[0].Level != 1 {
		t.Fatalf("first claim = %+v, want the page", first)
	}
	second, _ := db.Claim(ctx, escalation.SMS, 0, now)
	if len(second) != 1 || second[0].Level != 0 {
		t.Fatalf("second claim = %+v, want the answer", second)
	}
}

// FuzzClaimPacing drives the outbox with random queue contents and clock
// steps and checks every claim against a model: never more than the
// per-minute limit of pages to a number in any 60 s window (answers are
// not paced); a number whose turn has
// come and has something ready is never passed over (Claim returns
// something whenever anything may leave); each claim starts with the best
// message that may leave (pages before answers, most severe, oldest), so a
// critical page is never starved; and when nothing may leave, NextRetry
// names a future time at which something may.
func FuzzClaimPacing(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, uint8(3))
	f.Add([]byte{0x10, 0x21, 0x32, 0x43, 0xf0, 0xf1, 0xf2, 0x80, 0x90, 0xa0, 0x05, 0x06}, uint8(1))
	f.Add([]byte{0x07, 0x07, 0x07, 0x17, 0x27, 0xff, 0x37, 0x47, 0x03, 0x03}, uint8(2))
	f.Fuzz(func(t *testing.T, ops []byte, limit uint8) {
		if len(ops) > 300 {
			ops = ops[:300]
		}
		perMinute := int(limit%4) + 1
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tocsin.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ctx := context.Background()
		now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
		numbers := []string{"+1", "+2", "+3"}
		type row struct {
			id     int64
			number string
			answer bool
			sev    escalation.Severity
		}
		queued := map[int64]row{}         // the model's queue
		sends := map[string][]time.Time{} // claim times per number
		inc, err := db.Ingest(ctx, trigger("fuzz", escalation.SevCritical), 0, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		ready := func(number string) bool {
			n := 0
			for _, s := range sends[number] {
				if now.Sub(s) < time.Minute {
					n++
				}
			}
			return n < perMinute
		}
		best := func() (row, bool) {
			var b row
			found := false
			for _, r := range queued {
				if !r.answer && !ready(r.number) {
					continue // answers are not paced
				}
				better := !found || (r.answer != b.answer && !r.answer) ||
					(r.answer == b.answer && (r.sev < b.sev || (r.sev == b.sev && r.id < b.id)))
				if better {
					b, found = r, true
				}
			}
			return b, found
		}
		for _, op := range ops {
			switch {
			case op < 0x80: // queue a page or an answer
				n := escalation.Notification{Channel: escalation.SMS, Number: numbers[int(op)%len(numbers)],
					Severity: escalation.Severity(op >> 2 % 4), Text: "x"}
				if op&0x40 == 0 {
					n.IncidentID, n.Level = inc.IncidentID, 1
				}
				if err := db.Enqueue(ctx, n); err != nil {
					t.Fatal(err)
				}
				out, err := db.Outbox(ctx, sqlite.OutboxFilter{Limit: 1})
				if err != nil {
					t.Fatal(err)
				}
				queued[out[0].ID] = row{id: out[0].ID, number: n.Number, answer: n.Level == 0, sev: n.Severity}
			case op < 0xc0: // the clock moves on, 1 to 64 s
				now = now.Add(time.Duration(op-0x7f) * time.Second)
			default: // the worker claims
				want, any := best()
				c, err := db.Claim(ctx, escalation.SMS, perMinute, now)
				if err != nil {
					t.Fatal(err)
				}
				if !any {
					if len(c) != 0 {
						t.Fatalf("claimed %+v while no number's turn had come", c[0])
					}
					if len(queued) > 0 {
						next, ok, err := db.NextRetry(ctx)
						if err != nil || !ok || !next.After(now) {
							t.Fatalf("nothing may leave, yet NextRetry = %s, %v, %v (now %s)", next, ok, err, now)
						}
					}
					continue
				}
				if len(c) == 0 {
					t.Fatalf("nothing claimed; want #%d to %s", want.id, want.number)
				}
				if c[0].ID != want.id {
					t.Fatalf("claimed #%d (%s, level %d, %s) first; want #%d (%s, answer %v, %s)",
						c[0].ID, c[0].Number, c[0].Level, c[0].Severity, want.id, want.number, want.answer, want.sev)
				}
				for _, n := range c {
					if n.Number != want.number {
						t.Fatalf("a claim for %s folded a message to %s", want.number, n.Number)
					}
					delete(queued, n.ID)
				}
				if !want.answer { // answers use no turn
					sends[want.number] = append(sends[want.number], now)
					// The limit, over every 60 s window.
					s := sends[want.number]
					for i := range s {
						n := 0
						for j := i; j < len(s) && s[j].Sub(s[i]) < time.Minute; j++ {
							n++
						}
						if n > perMinute {
							t.Fatalf("%d SMS to %s within 60 s from %s; limit %d", n, want.number, s[i], perMinute)
						}
					}
				}
				ids := make([]int64, len(c))
				for i, n := range c {
					ids[i] = n.ID
				}
				if err := db.Finish(ctx, ids, escalation.Outcome{Status: escalation.Sent}, now); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
