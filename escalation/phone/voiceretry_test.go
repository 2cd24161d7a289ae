package phone_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/phone"
	"github.com/tocsin-relay/tocsin/escalation/policyfile"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
	"github.com/tocsin-relay/tocsin/modem"
)

// flakyLine stands in for the modem at the edge: every SMS goes out, and
// the first call fails with a plain ERROR (worth another try); later calls
// are answered.
type flakyLine struct {
	network
	mu    sync.Mutex
	calls []time.Time
}

func (f *flakyLine) Call(_ context.Context, number string, _ modem.CallOptions) (modem.CallResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, time.Now())
	if len(f.calls) == 1 {
		return modem.CallResult{}, fmt.Errorf("ATD%s;: %w", number, modem.ErrError)
	}
	return modem.CallResult{Outcome: modem.CallAnswered, Rang: true, Answered: true}, nil
}

func (f *flakyLine) placed() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.calls...)
}

// A call that failed in a way worth another try is placed again when its
// timeline says ("retrying in 30s"), not whenever the worker next wakes.
func TestCallRetriedWhenDue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const policy = `contacts:
  - {id: tanaka, phone: "+819012345678"}
services:
  - {id: press, escalation_policy: p}
escalation_policies:
  - id: p
    levels:
      - {after: 0s, notify: [{contact: tanaka, via: [voice]}]}
      - {after: 30m, notify: [{contact: tanaka, via: [sms]}]}
`
		pol, err := policyfile.Load("p.yaml", []byte(policy))
		if err != nil {
			t.Fatal(err)
		}
		db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "tocsin.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		eng := escalation.NewEngine(db, pol, nil)
		line := &flakyLine{}
		ph := phone.New(line, db, db, eng, phone.Options{})
		eng.OnOutbox(ph.Wake)
		go eng.Run(t.Context())
		go ph.Run(t.Context())
		if _, err := eng.Ingest(t.Context(), escalation.Event{Service: "press", Summary: "fault", Severity: escalation.SevCritical,
			Action: escalation.Trigger, Intake: "test"}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		time.Sleep(29 * time.Second)
		synctest.Wait()
		if got := line.placed(); len(got) != 1 {
			t.Fatalf("%d calls within 29 s, want the first only", len(got))
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		got := line.placed()
		if len(got) != 2 || got[1].Sub(got[0]) != 30*time.Second {
			t.Fatalf("calls at %v, want the retry 30 s after the failed call", got)
		}
	})
}
