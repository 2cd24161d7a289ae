package escalation_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/policyfile"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

// The alert that opens an incident commits its first page with it: the
// page is queued when Ingest returns, before the engine loop has run, and
// the incident's timeline already names the level.
func TestIngestCommitsFirstPage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, basePolicy)
		res, err := r.e.Ingest(context.Background(), escalation.Event{Service: "press", DedupKey: "k", Summary: "jam",
			Severity: escalation.SevCritical, Action: escalation.Trigger, Intake: "test"})
		if err != nil {
			t.Fatal(err)
		}
		out, err := r.db.Outbox(context.Background(), sqlite.OutboxFilter{IncidentID: res.IncidentID})
		if err != nil || len(out) != 1 || out[0].ContactID != "tanaka" || out[0].Level != 1 {
			t.Fatalf("outbox right after Ingest = %+v, %v; want tanaka's page", out, err)
		}
		inc := r.incident(res.IncidentID)
		if inc.Level != 1 || len(inc.Timeline) < 2 || inc.Timeline[0].Kind != escalation.KindTriggered || inc.Timeline[1].Kind != escalation.KindLevel {
			t.Fatalf("incident after Ingest: level %d, timeline %+v; want level 1, triggered then level", inc.Level, inc.Timeline)
		}
		// The second level still follows on time, from the engine loop.
		time.Sleep(5 * time.Minute)
		r.wantPages(res.IncidentID, "tanaka/sms", "boss/sms", "boss/voice")
	})
}

// Delivery is woken once per change of what it can claim, not once per
// page: the first page to a person wakes it; more pages to that person
// while one is waiting to leave, or while the person's turn has not come,
// do not; a page to someone with nothing waiting does.
func TestOutboxHookOncePerClaimableChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, singleContactPolicy)
		var calls atomic.Int64
		r.e.OnOutbox(func() { calls.Add(1) })
		ingest := func(service, key string) {
			t.Helper()
			if _, err := r.e.Ingest(context.Background(), escalation.Event{Service: service, DedupKey: key, Summary: key,
				Severity: escalation.SevError, Action: escalation.Trigger, Intake: "test"}); err != nil {
				t.Fatal(err)
			}
		}
		ingest("press", "first")
		if got := calls.Load(); got != 1 {
			t.Fatalf("first page: hook called %d times, want 1", got)
		}
		for i := range 100 {
			ingest("press", fmt.Sprintf("more-%d", i))
		}
		if got := calls.Load(); got != 1 {
			t.Errorf("100 more pages to the same person: hook called %d times in all, want 1", got)
		}
		// The person is sent their limit (2 a minute here: two digests
		// carry the 101 pages); new pages to them wait for their turn and
		// wake nobody.
		for range 2 {
			if c, err := r.db.Claim(context.Background(), escalation.SMS, 2, time.Now()); err != nil || len(c) == 0 {
				t.Fatalf("claim = %d, %v", len(c), err)
			}
		}
		for i := range 10 {
			ingest("press", fmt.Sprintf("paced-%d", i))
		}
		if got := calls.Load(); got != 1 {
			t.Errorf("pages while the person is paced: hook called %d times in all, want 1", got)
		}
		ingest("paint", "someone else")
		if got := calls.Load(); got != 2 {
			t.Errorf("a page to another person: hook called %d times in all, want 2", got)
		}
	})
}

const singleContactPolicy = `contacts:
  - {id: tanaka, phone: "+819012345678"}
  - {id: suzuki, phone: "+819087654321"}
services:
  - {id: press, escalation_policy: tanaka}
  - {id: paint, escalation_policy: suzuki}
escalation_policies:
  - id: tanaka
    levels:
      - after: 0s
        notify: [{contact: tanaka}]
  - id: suzuki
    levels:
      - after: 0s
        notify: [{contact: suzuki}]
settings:
  default_region: JP
`

// BenchmarkIngestPaging measures the engine and the store without HTTP:
// 16 goroutines ingest alerts with unique keys, each a new incident whose
// first page is committed with it (one transaction, shared by group
// commit), on a real SQLite file with synchronous=FULL.
func BenchmarkIngestPaging(b *testing.B) {
	p, err := policyfile.Load("policy.yaml", []byte(singleContactPolicy))
	if err != nil {
		b.Fatal(err)
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "tocsin.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	e := escalation.NewEngine(db, p, nil)
	const total, senders = 20000, 16
	var (
		next    atomic.Int64
		elapsed time.Duration
	)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		var wg sync.WaitGroup
		for range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range total / senders {
					i := next.Add(1)
					if _, err := e.Ingest(context.Background(), escalation.Event{Service: "press", DedupKey: fmt.Sprintf("k%d", i),
						Summary: "sensor out of range", Severity: escalation.SevWarning, Action: escalation.Trigger, Intake: "bench"}); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(total*b.N)/elapsed.Seconds(), "alerts/s")
	b.ReportMetric(0, "ns/op")
	fmt.Fprintf(os.Stderr, "engine and store, no HTTP: %d alerts, %d senders, each a new incident paging one person: %.0f alerts/s\n",
		total*b.N, senders, float64(total*b.N)/elapsed.Seconds())
}
