// Package cluster pairs Tocsin relays: two boxes (or more), each with its
// own modem, holding one history and paging once. It is built on
// hashicorp/memberlist, the SWIM gossip library Prometheus Alertmanager
// clusters on: memberlist finds the twin, tells alive from dead, encrypts
// and authenticates every packet with the cluster key, and carries both
// the change-by-change replication (reliable messages) and the periodic
// full comparison that heals a partition or fills an empty database
// (push/pull state).
//
// There is no leader election and no quorum: two boxes cannot form one,
// and a pager must fail open. Each box decides its own role from what it
// sees — active when it is the best-placed box (lowest priority, ties by
// name) among the alive ones whose modem is up, standby otherwise, alone
// when it sees no twin — and a standby holds its pages back for
// peer_timeout, sending only what the active has not recorded as sent by
// then. When the boxes cannot see each other both are active: a page may
// go out twice, never zero times. docs/twin.md has the whole design.
package cluster

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// Role is what a box does with pages.
type Role string

// Roles.
const (
	// Active: the best-placed alive box with a working modem; it pages at
	// once.
	Active Role = "active"
	// Standby: a better-placed box is alive; pages wait peer_timeout for
	// its "sent".
	Standby Role = "standby"
	// Alone: no twin in sight; the box pages at once.
	Alone Role = "alone"
)

// Member states, as memberlist's failure detector reports them.
const (
	StateAlive   = "alive"
	StateSuspect = "suspect"
	StateDead    = "dead"
)

// Member is one box as seen from here.
type Member struct {
	Name     string `json:"name"`
	Address  string `json:"address"`
	State    string `json:"state"`
	ModemUp  bool   `json:"modem_up"`
	Priority int    `json:"priority"`
	Self     bool   `json:"self,omitempty"`
}

// better reports whether a is better placed than b to page.
func better(a, b Member) bool {
	return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.Name, b.Name)) < 0
}

// DecideRole returns self's role among members (self included or not).
// Only alive members count: a suspect twin may be dead, and a pager that
// waits for a dead box pages late. Among the alive boxes with a working
// modem the best placed is active; if no modem works anywhere the best
// placed alive box is, so that its pages wait in its own outbox.
func DecideRole(self Member, members []Member) Role {
	alive := []Member{self}
	for _, m := range members {
		if m.Name != self.Name && m.State == StateAlive {
			alive = append(alive, m)
		}
	}
	if len(alive) == 1 {
		return Alone
	}
	cands := slices.DeleteFunc(slices.Clone(alive), func(m Member) bool { return !m.ModemUp })
	if len(cands) == 0 {
		cands = alive
	}
	best := slices.MinFunc(cands, func(a, b Member) int {
		if better(a, b) {
			return -1
		}
		if better(b, a) {
			return 1
		}
		return 0
	})
	if best.Name == self.Name {
		return Active
	}
	return Standby
}

// Ingester opens and resolves the "relay unreachable" incidents.
type Ingester interface {
	Ingest(ctx context.Context, ev escalation.Event) (escalation.IngestResult, error)
}

// Service is where a missing twin is reported: Tocsin's own service.
const Service = escalation.SelfService

// UnreachableKey is the dedup key of the incident about twin name.
func UnreachableKey(name string) string { return "relay-unreachable-" + name }

// Watch opens "relay NAME unreachable" on the tocsin service once a twin
// seen earlier has been away for downAfter, and resolves it when the twin
// is back. Its timer logic is a pure function of the times it is told
// (Seen, Gone) and the clock, so it is tested under testing/synctest.
type Watch struct {
	downAfter time.Duration
	log       *slog.Logger

	mu    sync.Mutex
	peers map[string]*peerWatch // guarded by mu
	poke  chan struct{}
}

type peerWatch struct {
	away   time.Time // zero while alive
	opened bool      // the incident is open (as far as this box knows)
	unsure bool      // opened is a guess (first sight since start)
}

// NewWatch returns a watch; Run drives it.
func NewWatch(downAfter time.Duration, log *slog.Logger) *Watch {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Watch{downAfter: downAfter, log: log, peers: map[string]*peerWatch{}, poke: make(chan struct{}, 1)}
}

// Seen records that twin name is alive.
func (w *Watch) Seen(name string) {
	w.mu.Lock()
	p := w.peers[name]
	if p == nil {
		// First sight since this box started: an incident opened before a
		// restart may still be open; resolving an unknown key changes
		// nothing.
		p = &peerWatch{opened: true, unsure: true}
		w.peers[name] = p
	}
	p.away = time.Time{}
	w.mu.Unlock()
	w.wake()
}

// Gone records that twin name is no longer alive, from at.
func (w *Watch) Gone(name string, at time.Time) {
	w.mu.Lock()
	p := w.peers[name]
	if p == nil {
		p = &peerWatch{}
		w.peers[name] = p
	}
	if p.away.IsZero() {
		p.away = at
	}
	w.mu.Unlock()
	w.wake()
}

func (w *Watch) wake() {
	select {
	case w.poke <- struct{}{}:
	default:
	}
}

// Run opens and resolves incidents through ingest until ctx ends.
func (w *Watch) Run(ctx context.Context, ingest Ingester) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := w.check(ctx, ingest, time.Now())
		timer.Reset(next)
		select {
		case <-ctx.Done():
			return
		case <-w.poke:
		case <-timer.C:
		}
	}
}

// check acts on every twin and returns how long until the next decision.
func (w *Watch) check(ctx context.Context, ingest Ingester, now time.Time) time.Duration {
	type action struct {
		name   string
		open   bool
		unsure bool
		away   time.Time
	}
	var todo []action
	next := time.Hour
	w.mu.Lock()
	for name, p := range w.peers {
		switch {
		case p.away.IsZero() && p.opened:
			todo = append(todo, action{name: name, open: false, unsure: p.unsure})
		case !p.away.IsZero() && !p.opened:
			if due := p.away.Add(w.downAfter); !now.Before(due) {
				todo = append(todo, action{name: name, open: true, away: p.away})
			} else {
				next = min(next, due.Sub(now))
			}
		}
	}
	w.mu.Unlock()
	for _, a := range todo {
		ev := escalation.Event{Service: Service, DedupKey: UnreachableKey(a.name), Source: a.name, Intake: "cluster"}
		if a.open {
			ev.Action, ev.Severity = escalation.Trigger, escalation.SevCritical
			ev.Summary = fmt.Sprintf("relay %s unreachable since %s", a.name, a.away.UTC().Format("15:04:05Z"))
		} else {
			ev.Action, ev.Severity, ev.Summary = escalation.Resolve, escalation.SevInfo, "relay "+a.name+" reachable again"
		}
		if _, err := ingest.Ingest(ctx, ev); err != nil {
			w.log.Error("twin watch: cannot record", "twin", a.name, "open", a.open, "err", err)
			next = min(next, 5*time.Second) // try again
			continue
		}
		switch {
		case a.open:
			w.log.Warn("twin unreachable: incident opened", "twin", a.name, "away_since", a.away)
		case a.unsure:
			w.log.Debug("twin seen: any unreachable incident left from before a restart is resolved", "twin", a.name)
		default:
			w.log.Info("twin reachable again: incident resolved", "twin", a.name)
		}
		w.mu.Lock()
		if p := w.peers[a.name]; p != nil {
			p.opened, p.unsure = a.open, false
		}
		w.mu.Unlock()
	}
	return next
}
