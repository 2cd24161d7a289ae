package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

// TestChannelRows: e-mail, push and webhook rows live in the outbox beside
// SMS; a channel's claim takes only its own rows, and a released row
// (Wait) gets its attempt back.
func TestChannelRows(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	now := time.Now()
	res, err := db.Ingest(ctx, trigger("k1", escalation.SevCritical), 0, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := res.IncidentID
	if err := db.Enqueue(ctx,
		escalation.Notification{IncidentID: id, ContactID: "tanaka", Channel: escalation.SMS, Number: "+819012345678", Text: "x", Level: 1},
		escalation.Notification{IncidentID: id, ContactID: "tanaka", Channel: escalation.Email, Number: "tanaka@factory.example", Text: "x", Level: 1},
		escalation.Notification{IncidentID: id, Channel: escalation.WebhookChannel, Number: "line-chat", Text: "x", Level: 1},
	); err != nil {
		t.Fatal(err)
	}
	if err := db.Enqueue(ctx, escalation.Notification{IncidentID: id, Channel: "fax", Number: "1", Text: "x"}); err == nil {
		t.Error("a fax row was accepted")
	}
	n, ok, err := db.ClaimChannel(ctx, escalation.Email, now)
	if err != nil || !ok || n.Number != "tanaka@factory.example" || n.Attempts != 1 || len(n.Covers) != 1 {
		t.Fatalf("claim email = %+v %v %v", n, ok, err)
	}
	if _, ok, _ := db.ClaimChannel(ctx, escalation.Email, now); ok {
		t.Error("claimed a second e-mail row")
	}
	if err := db.Release(ctx, []int64{n.ID}, "waiting: refused", now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.ClaimChannel(ctx, escalation.Email, now); ok {
		t.Error("a released row was claimed before its retry time")
	}
	if at, ok, _ := db.NextChannelRetry(ctx, escalation.Email); !ok || at.UnixMilli() != now.Add(time.Minute).UnixMilli() {
		t.Errorf("next retry = %v %v", at, ok)
	}
	n, ok, _ = db.ClaimChannel(ctx, escalation.Email, now.Add(time.Minute))
	if !ok || n.Attempts != 1 {
		t.Errorf("after release: %+v, want 1 attempt (the Wait did not count)", n)
	}
	if depth, _ := db.ChannelDepth(ctx, escalation.WebhookChannel); depth != 1 {
		t.Errorf("webhook depth = %d", depth)
	}
	batch, err := db.Claim(ctx, escalation.SMS, 0, now)
	if err != nil || len(batch) != 1 || batch[0].Channel != escalation.SMS {
		t.Errorf("SMS claim = %+v %v", batch, err)
	}
}

// TestAckLinkUsedOnce: of many concurrent uses of one link exactly one
// wins, and an expired link cannot be used.
func TestAckLinkUsedOnce(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	now := time.Now()
	res, _ := db.Ingest(ctx, trigger("k1", escalation.SevCritical), 0, now, nil)
	links := []escalation.AckLink{
		{Hash: "a", IncidentID: res.IncidentID, Recipient: "tanaka", Action: escalation.Acknowledge, Channel: escalation.Email, CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
		{Hash: "b", IncidentID: res.IncidentID, Recipient: "tanaka", Action: escalation.Resolve, Channel: escalation.Email, CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
	}
	if err := db.SaveAckLinks(ctx, links...); err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, err := db.UseAckLink(ctx, "a", now); err != nil {
				t.Error(err)
			} else if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d uses won, want 1", wins.Load())
	}
	if l, err := db.AckLink(ctx, "a"); err != nil || l.UsedAt.IsZero() || l.Action != escalation.Acknowledge {
		t.Errorf("link a = %+v %v", l, err)
	}
	if ok, _ := db.UseAckLink(ctx, "b", now.Add(time.Hour)); ok {
		t.Error("an expired link was used")
	}
	if _, err := db.AckLink(ctx, "nope"); escalation.KindOf(err) != escalation.NotFound {
		t.Errorf("unknown hash: %v", err)
	}
}

// TestChannelMigrationKeepsRows: a database from before the channels migration (0004),
// with SMS and call rows, keeps them (channel and all) when the channel
// column is replaced.
func TestChannelMigrationKeepsRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("migrations/*.sql")
	sort.Strings(files)
	before := 0
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "0004_channels") {
			break
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		before++
	}
	if _, err := raw.Exec(fmt.Sprintf(`PRAGMA user_version = %d;
		INSERT INTO incidents (id, service, dedup_key, summary, severity, status, created_at, last_alert_at)
			VALUES (1, 'press', 'k', 's', 0, 'triggered', 1, 1);
		INSERT INTO outbox (incident_id, channel, number, text, status, created_at, updated_at)
			VALUES (1, 'sms', '+819012345678', 'page', 'sent', 1, 1), (1, 'voice', '+819012345678', 'call', 'queued', 1, 1);
		INSERT INTO outbox_covers VALUES (1, 1), (2, 1);`, before)); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ns, err := db.Outbox(context.Background(), sqlite.OutboxFilter{IncidentID: 1})
	if err != nil || len(ns) != 2 || ns[0].Channel != escalation.Voice || ns[1].Channel != escalation.SMS || ns[1].Status != escalation.Sent {
		t.Fatalf("rows after migration = %+v %v", ns, err)
	}
	if batch, err := db.Claim(context.Background(), escalation.Voice, 0, time.Now()); err != nil || len(batch) != 1 {
		t.Errorf("voice claim after migration = %+v %v", batch, err)
	}
}
