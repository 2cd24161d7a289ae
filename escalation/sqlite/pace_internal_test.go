package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// The window arithmetic: an SMS is allowed when fewer than perMinute were
// claimed less than 60 s before it.
func TestNextAllowed(t *testing.T) {
	const s = int64(1000)
	for _, c := range []struct {
		recent    []int64
		perMinute int
		now, want int64
	}{
		{nil, 3, 100 * s, 100 * s},
		{[]int64{10 * s, 20 * s}, 3, 30 * s, 30 * s},
		{[]int64{10 * s, 20 * s, 30 * s}, 3, 31 * s, 70 * s},
		{[]int64{10 * s, 20 * s, 30 * s}, 3, 70 * s, 70 * s},
		{[]int64{10 * s, 20 * s, 30 * s}, 1, 31 * s, 90 * s},
		{[]int64{10 * s}, 0, 11 * s, 11 * s},
	} {
		if got := nextAllowed(c.recent, c.perMinute, c.now); got != c.want {
			t.Errorf("nextAllowed(%v, %d, %d) = %d, want %d", c.recent, c.perMinute, c.now, got, c.want)
		}
	}
	got := recordSend([]int64{1 * s, 50 * s, 70 * s, 80 * s}, 2, 100*s)
	if want := []int64{80 * s, 100 * s}; !slices.Equal(got, want) {
		t.Errorf("recordSend keeps %v, want %v (the last perMinute within the window)", got, want)
	}
	if got := parseRecent(formatRecent([]int64{3, 1, 2})); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("parseRecent(formatRecent) = %v", got)
	}
}

// A claim handed back unsent gives the person's turn back: with a limit of
// one a minute, the pages leave again at once.
func TestReleasePace(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "tocsin.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	if err := db.Enqueue(ctx, escalation.Notification{Channel: escalation.SMS, Number: "+1", Text: "x", Level: 1}); err != nil {
		t.Fatal(err)
	}
	c, err := db.Claim(ctx, escalation.SMS, 1, now)
	if err != nil || len(c) != 1 {
		t.Fatalf("claim = %d, %v", len(c), err)
	}
	err = db.update(ctx, func(tx *sql.Tx) error {
		if err := releasePace(tx, []int64{c[0].ID}); err != nil {
			return err
		}
		_, err := tx.Exec(`UPDATE outbox SET status = 'queued', attempts = attempts - 1 WHERE id = ?`, c[0].ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	again, err := db.Claim(ctx, escalation.SMS, 1, now.Add(time.Second))
	if err != nil || len(again) != 1 {
		t.Fatalf("after the hand-back: claimed %d, %v; want the page again at once", len(again), err)
	}
	// The claim that sent counts: the next page waits for the turn.
	if err := db.Enqueue(ctx, escalation.Notification{Channel: escalation.SMS, Number: "+1", Text: "y", Level: 1}); err != nil {
		t.Fatal(err)
	}
	if more, _ := db.Claim(ctx, escalation.SMS, 1, now.Add(2*time.Second)); len(more) != 0 {
		t.Fatalf("the limit no longer holds after a release")
	}
	if more, _ := db.Claim(ctx, escalation.SMS, 1, now.Add(61*time.Second)); len(more) != 1 {
		t.Fatalf("the next turn came and went without a claim")
	}
}
