package cluster_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/cluster"
)

func TestDecideRole(t *testing.T) {
	a := cluster.Member{Name: "relay-a", Priority: 1, ModemUp: true, State: cluster.StateAlive}
	b := cluster.Member{Name: "relay-b", Priority: 2, ModemUp: true, State: cluster.StateAlive}
	down := func(m cluster.Member) cluster.Member { m.ModemUp = false; return m }
	state := func(m cluster.Member, s string) cluster.Member { m.State = s; return m }
	tests := []struct {
		name    string
		self    cluster.Member
		members []cluster.Member
		want    cluster.Role
	}{
		{"no twin", a, nil, cluster.Alone},
		{"best placed", a, []cluster.Member{b}, cluster.Active},
		{"worse placed", b, []cluster.Member{a}, cluster.Standby},
		{"better twin's modem down", b, []cluster.Member{down(a)}, cluster.Active},
		{"own modem down", down(a), []cluster.Member{b}, cluster.Standby},
		{"both modems down: best placed keeps its pages", down(a), []cluster.Member{down(b)}, cluster.Active},
		{"suspect twin does not count", b, []cluster.Member{state(a, cluster.StateSuspect)}, cluster.Alone},
		{"dead twin does not count", b, []cluster.Member{state(a, cluster.StateDead)}, cluster.Alone},
		{"tie by name", cluster.Member{Name: "b", Priority: 1, ModemUp: true}, []cluster.Member{{Name: "a", Priority: 1, ModemUp: true, State: cluster.StateAlive}}, cluster.Standby},
		{"self listed among members", a, []cluster.Member{a, b}, cluster.Active},
	}
	for _, tt := range tests {
		if got := cluster.DecideRole(tt.self, tt.members); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestSlotIsDistinctOnEachBox(t *testing.T) {
	a, b := "192.168.10.21:7946", "192.168.10.22:7946"
	sa, na := cluster.Slot(a, []string{b})
	sb, nb := cluster.Slot(b, []string{a})
	if na != 2 || nb != 2 || sa == sb {
		t.Fatalf("slots %d/%d and %d/%d", sa, na, sb, nb)
	}
	if s, n := cluster.Slot(a, nil); s != 0 || n != 1 {
		t.Fatalf("alone: %d/%d", s, n)
	}
}

// recorder is an Ingester that keeps the events.
type recorder struct {
	mu  sync.Mutex
	evs []escalation.Event
}

func (r *recorder) Ingest(ctx context.Context, ev escalation.Event) (escalation.IngestResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, ev)
	return escalation.IngestResult{}, nil
}

func (r *recorder) events() []escalation.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]escalation.Event(nil), r.evs...)
}

// TestWatchPeerDownAfter: a twin away for peer_down_after opens the
// incident, not a moment before; a twin back within it opens nothing; a
// twin back after it resolves.
func TestWatchPeerDownAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		rec := &recorder{}
		w := cluster.NewWatch(time.Minute, nil)
		go w.Run(ctx, rec)
		w.Seen("relay-b")
		synctest.Wait()
		// First sight: a possible leftover incident is resolved.
		if evs := rec.events(); len(evs) != 1 || evs[0].Action != escalation.Resolve {
			t.Fatalf("first sight: %+v", evs)
		}

		// Away 59 s, back: nothing.
		w.Gone("relay-b", time.Now())
		time.Sleep(59 * time.Second)
		synctest.Wait()
		w.Seen("relay-b")
		synctest.Wait()
		if evs := rec.events(); len(evs) != 1 {
			t.Fatalf("a short absence opened something: %+v", evs)
		}

		// Away for good: opened exactly at peer_down_after.
		gone := time.Now()
		w.Gone("relay-b", gone)
		time.Sleep(time.Minute - time.Millisecond)
		synctest.Wait()
		if evs := rec.events(); len(evs) != 1 {
			t.Fatalf("opened before peer_down_after: %+v", evs)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		evs := rec.events()
		if len(evs) != 2 || evs[1].Action != escalation.Trigger || evs[1].Service != cluster.Service ||
			evs[1].DedupKey != cluster.UnreachableKey("relay-b") || evs[1].Summary[:24] != "relay relay-b unreachabl" {
			t.Fatalf("after peer_down_after: %+v", evs)
		}
		if time.Since(gone) != time.Minute {
			t.Fatalf("opened %s after the twin left", time.Since(gone))
		}

		// Opened once, however long it stays away.
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := len(rec.events()); n != 2 {
			t.Fatalf("%d events while away", n)
		}

		// Back: resolved.
		w.Seen("relay-b")
		synctest.Wait()
		evs = rec.events()
		if len(evs) != 3 || evs[2].Action != escalation.Resolve || evs[2].DedupKey != cluster.UnreachableKey("relay-b") {
			t.Fatalf("back: %+v", evs)
		}
	})
}

// holder is a fixed hold.
type holder time.Duration

func (h holder) Hold() time.Duration { return time.Duration(h) }

// dueStore answers Due and NextDue from one escalation due at due.
type dueStore struct {
	escalation.Store
	due time.Time
}

func (s dueStore) Due(ctx context.Context, now time.Time) ([]escalation.EscalationState, error) {
	if now.Before(s.due) {
		return nil, nil
	}
	return []escalation.EscalationState{{NextAt: s.due}}, nil
}

func (s dueStore) NextDue(ctx context.Context) (time.Time, bool, error) { return s.due, true, nil }

// TestHeldStorePeerTimeout: a standby sees a step due only peer_timeout
// after its time; the active sees it on time.
func TestHeldStorePeerTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		due := time.Now().Add(10 * time.Second)
		standby := cluster.NewHeldStore(dueStore{due: due}, holder(15*time.Second))
		active := cluster.NewHeldStore(dueStore{due: due}, holder(0))
		ctx := t.Context()
		if next, _, _ := standby.NextDue(ctx); !next.Equal(due.Add(15 * time.Second)) {
			t.Fatalf("standby's next due %s, want due + 15s", next.Sub(due))
		}
		time.Sleep(10 * time.Second)
		if got, _ := active.Due(ctx, time.Now()); len(got) != 1 {
			t.Fatalf("active: %d due at the step's time", len(got))
		}
		if got, _ := standby.Due(ctx, time.Now()); len(got) != 0 {
			t.Fatalf("standby: %d due at the step's time", len(got))
		}
		time.Sleep(15*time.Second - time.Millisecond)
		if got, _ := standby.Due(ctx, time.Now()); len(got) != 0 {
			t.Fatal("standby: due before peer_timeout passed")
		}
		time.Sleep(time.Millisecond)
		if got, _ := standby.Due(ctx, time.Now()); len(got) != 1 {
			t.Fatal("standby: not due once peer_timeout passed")
		}
	})
}
