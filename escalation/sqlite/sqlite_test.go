package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

func open(t *testing.T) (*sqlite.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tocsin.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func trigger(key string, sev escalation.Severity) escalation.Event {
	return escalation.Event{Service: "press", Summary: "fault " + key, DedupKey: key, Severity: sev,
		Action: escalation.Trigger, Intake: "test"}
}

// Concurrent ingests share transactions; all are committed and each got
// its own answer.
func TestConcurrentIngestAllCommitted(t *testing.T) {
	db, path := open(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	ids := make([]int64, 500)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := db.Ingest(ctx, trigger(fmt.Sprintf("k%d", i), escalation.SevError), 0, time.Now(), nil)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = res.IncidentID
		}()
	}
	wg.Wait()
	seen := map[int64]bool{}
	for _, id := range ids {
		if id == 0 || seen[id] {
			t.Fatalf("incident ids not unique and non-zero: %v", ids)
		}
		seen[id] = true
	}
	db.Close()
	// Reopening runs no migration twice and finds everything.
	db2, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	incs, err := db2.Incidents(ctx, escalation.IncidentFilter{Limit: 1000})
	if err != nil || len(incs) != 500 {
		t.Fatalf("after reopen: %d incidents, %v", len(incs), err)
	}
}

// A write that fails (here: a step for an incident that changed) does not
// undo the writes that shared its batch.
func TestFailingWriteDoesNotUndoOthers(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	res, err := db.Ingest(ctx, trigger("a", escalation.SevError), 0, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 100)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%10 == 0 {
				// Expects level 7: conflicts.
				errs[i] = db.Step(ctx, escalation.StepResult{IncidentID: res.IncidentID, ExpectStatus: escalation.Triggered, ExpectLevel: 7}, time.Now())
				return
			}
			_, errs[i] = db.Ingest(ctx, trigger(fmt.Sprintf("b%d", i), escalation.SevError), 0, time.Now(), nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i%10 == 0 {
			if escalation.KindOf(err) != escalation.Conflict {
				t.Errorf("step %d: %v, want Conflict", i, err)
			}
		} else if err != nil {
			t.Errorf("ingest %d: %v", i, err)
		}
	}
	incs, _ := db.Incidents(ctx, escalation.IncidentFilter{Limit: 1000})
	if len(incs) != 91 {
		t.Errorf("%d incidents, want 91", len(incs))
	}
}

// Claims take the most severe page first, then the oldest, and fold the
// other pages for the same number into the claim.
func TestClaimOrderAndFolding(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	now := time.Now()
	var ns []escalation.Notification
	for i, c := range []struct {
		number string
		sev    escalation.Severity
	}{{"+1", escalation.SevWarning}, {"+2", escalation.SevCritical}, {"+1", escalation.SevError}, {"+2", escalation.SevInfo}} {
		res, err := db.Ingest(ctx, trigger(fmt.Sprintf("k%d", i), c.sev), 0, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		ns = append(ns, escalation.Notification{IncidentID: res.IncidentID, Channel: escalation.SMS, Number: c.number,
			Text: "page", Severity: c.sev, Level: 1})
	}
	// A confirmation (level 0) is never folded into a digest.
	ns = append(ns, escalation.Notification{Channel: escalation.SMS, Number: "+1", Text: "OK #1", Severity: escalation.SevInfo})
	if err := db.Enqueue(ctx, ns...); err != nil {
		t.Fatal(err)
	}
	first, err := db.Claim(ctx, escalation.SMS, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 || first[0].Number != "+2" || first[0].Severity != escalation.SevCritical {
		t.Fatalf("first claim = %+v, want the critical page to +2 with +2's other page", first)
	}
	second, _ := db.Claim(ctx, escalation.SMS, 0, now)
	if len(second) != 2 || second[0].Number != "+1" || second[0].Severity != escalation.SevError {
		t.Fatalf("second claim = %+v, want +1's error page folded with its warning", second)
	}
	third, _ := db.Claim(ctx, escalation.SMS, 0, now)
	if len(third) != 1 || third[0].Text != "OK #1" {
		t.Fatalf("third claim = %+v, want the confirmation alone", third)
	}
	if more, _ := db.Claim(ctx, escalation.SMS, 0, now); len(more) != 0 {
		t.Fatalf("claimed %d more", len(more))
	}
	// A crash while sending: the claims are queued again on restart.
	if n, err := db.RequeueInterrupted(ctx, now); err != nil || n != 5 {
		t.Fatalf("requeued %d, %v; want 5", n, err)
	}
}

// The per-minute limit holds pages back; they wait, not vanish. (Answers,
// level 0, are not paced: pace_test.go.)
func TestClaimRateLimit(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	now := time.Now()
	for i := range 3 {
		if err := db.Enqueue(ctx, escalation.Notification{Channel: escalation.SMS, Number: "+1", Text: fmt.Sprint(i), Level: 1}); err != nil {
			t.Fatal(err)
		}
		c, err := db.Claim(ctx, escalation.SMS, 2, now)
		if err != nil {
			t.Fatal(err)
		}
		if i < 2 && len(c) != 1 {
			t.Fatalf("claim %d under the limit = %d rows", i, len(c))
		}
		if i == 2 && len(c) != 0 {
			t.Fatalf("third SMS within a minute was claimed")
		}
		for _, n := range c {
			db.Finish(ctx, []int64{n.ID}, escalation.Outcome{Status: escalation.Sent}, now)
		}
	}
	if c, _ := db.Claim(ctx, escalation.SMS, 2, now.Add(61*time.Second)); len(c) != 1 {
		t.Errorf("after a minute the held SMS was not claimed")
	}
}

// Received SMS are stored once even if the modem offers them again, and
// concatenated parts are joined when all have arrived, in any order.
func TestReceivedDedupAndReassembly(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	single := escalation.ReceivedSMS{ReceivedAt: time.Now(), Number: "+819012345678", Text: "4", PDU: "00AA"}
	if dup, err := db.SaveReceived(ctx, single); err != nil || dup {
		t.Fatalf("first save: dup %v err %v", dup, err)
	}
	if dup, _ := db.SaveReceived(ctx, single); !dup {
		t.Error("the same PDU stored twice")
	}
	parts := []escalation.ReceivedSMS{
		{Number: "+1", Text: "world", PDU: "02", ConcatRef: 7, ConcatTotal: 2, ConcatSeq: 2},
		{Number: "+1", Text: "hello ", PDU: "01", ConcatRef: 7, ConcatTotal: 2, ConcatSeq: 1},
	}
	if _, err := db.SaveReceived(ctx, parts[0]); err != nil {
		t.Fatal(err)
	}
	msgs, _ := db.Unprocessed(ctx)
	if len(msgs) != 1 || msgs[0].Text != "4" {
		t.Fatalf("with one part missing: %+v", msgs)
	}
	db.SaveReceived(ctx, parts[1])
	msgs, _ = db.Unprocessed(ctx)
	if len(msgs) != 2 || msgs[1].Text != "hello world" || len(msgs[1].PartIDs) != 2 {
		t.Fatalf("assembled: %+v", msgs)
	}
	if err := db.MarkReceived(ctx, msgs[1].PartIDs, "processed", "", "ok"); err != nil {
		t.Fatal(err)
	}
	if msgs, _ = db.Unprocessed(ctx); len(msgs) != 1 {
		t.Errorf("after marking: %d unprocessed, want 1", len(msgs))
	}
}

// A backup taken while writes go on is a complete, consistent database.
func TestBackupWhileWriting(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	for i := range 200 {
		db.Ingest(ctx, trigger(fmt.Sprintf("k%d", i), escalation.SevInfo), 0, time.Now(), nil)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			db.Ingest(ctx, trigger(fmt.Sprintf("w%d", i), escalation.SevInfo), 0, time.Now(), nil)
		}
	}()
	dest := filepath.Join(t.TempDir(), "backup.db")
	err := db.Backup(ctx, dest)
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	b, err := sql.Open("sqlite3", "file:"+dest+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var n int
	var check string
	if err := b.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	if err := b.QueryRow("SELECT COUNT(*) FROM incidents").Scan(&n); err != nil || n < 200 {
		t.Errorf("backup holds %d incidents, want at least 200", n)
	}
	if err := db.Backup(ctx, dest); err == nil {
		t.Error("backup over an existing file succeeded")
	}
}

// Acknowledging twice is not an error; a resolved incident cannot be
// acknowledged; a missing one is NotFound.
func TestTransitions(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	res, _ := db.Ingest(ctx, trigger("a", escalation.SevError), 0, time.Now(), nil)
	for range 2 {
		if _, err := db.Transition(ctx, res.IncidentID, escalation.Acknowledged, "op", "api", time.Time{}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Transition(ctx, res.IncidentID, escalation.Resolved, "op", "api", time.Time{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	_, err := db.Transition(ctx, res.IncidentID, escalation.Acknowledged, "op", "api", time.Time{}, time.Now())
	if escalation.KindOf(err) != escalation.Conflict {
		t.Errorf("ack after resolve: %v, want Conflict", err)
	}
	_, err = db.Transition(ctx, 999, escalation.Acknowledged, "op", "api", time.Time{}, time.Now())
	if escalation.KindOf(err) != escalation.NotFound {
		t.Errorf("ack of #999: %v, want NotFound", err)
	}
	var e *escalation.Error
	if !errors.As(err, &e) || e.Msg != "incident #999 not found" {
		t.Errorf("message %v", err)
	}
}

// Check reads only: it works on a healthy database and fails on a closed
// one, and writes nothing (the WAL does not grow).
func TestCheckWritesNothing(t *testing.T) {
	db, path := open(t)
	ctx := context.Background()
	if err := db.Check(ctx); err != nil {
		t.Fatal(err)
	}
	walSize := func() int64 {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	before := walSize()
	for range 50 {
		if err := db.Check(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if after := walSize(); after != before {
		t.Errorf("Check wrote: WAL %d → %d bytes", before, after)
	}
	db.Close()
	if err := db.Check(ctx); err == nil {
		t.Error("Check on a closed database succeeded")
	}
}
