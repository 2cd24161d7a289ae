package escalation

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// HeartbeatState is what the store keeps about one heartbeat: when it last
// beat and whether its miss is currently paging.
type HeartbeatState struct {
	ID       string
	LastBeat time.Time // zero: never seen
	MissedAt time.Time // zero: not missed (or the miss was resolved by a beat)
}

// HeartbeatStore persists heartbeat states, so a restarted daemon neither
// forgets a miss nor forgets when each heartbeat last arrived.
type HeartbeatStore interface {
	HeartbeatStates(ctx context.Context) ([]HeartbeatState, error)
	SaveHeartbeat(ctx context.Context, s HeartbeatState) error
}

// Ingester commits events; the Engine is one.
type Ingester interface {
	Ingest(ctx context.Context, ev Event) (IngestResult, error)
}

// HeartbeatDedupKey is the dedup key of the incident a missed heartbeat
// opens; the next beat resolves it by the same key.
func HeartbeatDedupKey(id string) string { return "heartbeat/" + id }

// Heartbeats is the dead-man's switch: each policy heartbeat must beat
// (POST /api/v1/heartbeats/{id}, an MQTT heartbeat topic) at least once per
// interval. A missed interval opens an incident on the heartbeat's service;
// the next beat resolves it.
//
// Run is the only goroutine that looks for misses; Beat is called from any
// goroutine. mu serialises the two, so a beat can never race a miss into
// an incident that stays open after the beat.
type Heartbeats struct {
	ingest Ingester
	policy func() *Policy
	store  HeartbeatStore
	log    *slog.Logger

	mu   sync.Mutex
	seen map[string]time.Time // heartbeat id → when this run first found it in the policy
	kick chan struct{}
}

// heartbeatIdle bounds how long Run sleeps, so heartbeats added by a
// policy change are looked at without a beat.
const heartbeatIdle = 30 * time.Second

// NewHeartbeats returns a monitor that opens incidents through ingest for
// the heartbeats of policy() and keeps its state in store. A heartbeat never
// seen starts its clock now: a freshly started daemon gives every sender one
// full interval.
func NewHeartbeats(ingest Ingester, policy func() *Policy, store HeartbeatStore, log *slog.Logger) *Heartbeats {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Heartbeats{ingest: ingest, policy: policy, store: store, log: log,
		seen: map[string]time.Time{}, kick: make(chan struct{}, 1)}
	now := time.Now()
	for _, hb := range policy().Heartbeats {
		h.seen[hb.ID] = now
	}
	return h
}

// Beat records a beat of heartbeat id now, and resolves the incident its
// miss opened, if any.
func (h *Heartbeats) Beat(ctx context.Context, id string) error {
	hb, ok := h.heartbeat(id)
	if !ok {
		return NotFoundf("unknown heartbeat %q: add it to the policy's heartbeats", id)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	st, err := h.state(ctx, id)
	if err != nil {
		return err
	}
	now := time.Now()
	if !st.MissedAt.IsZero() {
		// Resolve first: should the daemon die before the beat is saved,
		// the miss is still recorded and the next beat resolves (a no-op).
		_, err := h.ingest.Ingest(ctx, Event{Service: hb.Service, Action: Resolve, DedupKey: HeartbeatDedupKey(id),
			Summary: fmt.Sprintf("Heartbeat %s is back", id), Source: "heartbeat", Severity: SevInfo, Intake: "heartbeat"})
		if err != nil {
			return fmt.Errorf("heartbeat %s: resolve the missed-heartbeat incident: %w", id, err)
		}
		h.log.Info("heartbeat back", "heartbeat", id, "missed_at", st.MissedAt)
	}
	if err := h.store.SaveHeartbeat(ctx, HeartbeatState{ID: id, LastBeat: now}); err != nil {
		return err
	}
	h.wake()
	return nil
}

func (h *Heartbeats) wake() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

func (h *Heartbeats) heartbeat(id string) (Heartbeat, bool) {
	for _, hb := range h.policy().Heartbeats {
		if hb.ID == id {
			return hb, true
		}
	}
	return Heartbeat{}, false
}

func (h *Heartbeats) state(ctx context.Context, id string) (HeartbeatState, error) {
	all, err := h.store.HeartbeatStates(ctx)
	if err != nil {
		return HeartbeatState{}, err
	}
	for _, s := range all {
		if s.ID == id {
			return s, nil
		}
	}
	return HeartbeatState{ID: id}, nil
}

// Deadline is when heartbeat hb is missed, given its stored state and
// start, when this run of the daemon began watching it (its start, or the
// policy change that added the heartbeat). It is pure.
//
// The clock runs from the last beat, or from start for a heartbeat never
// seen. When the interval ran out before start (the daemon was down, or
// the heartbeat was not in the policy), the senders could not have reached
// it: they get one full interval from start instead of a page at once.
func Deadline(hb Heartbeat, st HeartbeatState, start time.Time) time.Time {
	base := st.LastBeat
	if base.IsZero() {
		base = start
	}
	d := base.Add(hb.Interval.D())
	if d.Before(start) {
		d = start.Add(hb.Interval.D())
	}
	return d
}

// Run looks for missed heartbeats until ctx ends.
func (h *Heartbeats) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		wait := h.check(ctx, time.Now())
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-h.kick:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		case <-timer.C:
		}
	}
}

// check opens an incident for every heartbeat whose deadline passed and
// returns how long to wait for the next deadline.
func (h *Heartbeats) check(ctx context.Context, now time.Time) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	hbs := h.policy().Heartbeats
	if len(hbs) == 0 {
		return heartbeatIdle
	}
	all, err := h.store.HeartbeatStates(ctx)
	if err != nil {
		h.log.Error("read heartbeat states", "err", err)
		return time.Second
	}
	states := make(map[string]HeartbeatState, len(all))
	for _, s := range all {
		states[s.ID] = s
	}
	wait := heartbeatIdle
	for _, hb := range hbs {
		st, ok := states[hb.ID]
		if !ok {
			st = HeartbeatState{ID: hb.ID}
		}
		if !st.MissedAt.IsZero() || hb.Interval <= 0 {
			continue // paging already; the next beat resolves it
		}
		since, ok := h.seen[hb.ID]
		if !ok { // added by a policy change: its clock starts now
			since = now
			h.seen[hb.ID] = now
		}
		due := Deadline(hb, st, since)
		if due.After(now) {
			wait = min(wait, due.Sub(now))
			continue
		}
		_, err := h.ingest.Ingest(ctx, Event{Service: hb.Service, Action: Trigger, DedupKey: HeartbeatDedupKey(hb.ID),
			Summary:  fmt.Sprintf("Heartbeat %s missed: nothing for %s", hb.ID, hb.Interval),
			Severity: SevCritical, Source: "heartbeat", Intake: "heartbeat"})
		if err != nil {
			h.log.Error("open missed-heartbeat incident", "heartbeat", hb.ID, "err", err)
			wait = min(wait, time.Second)
			continue
		}
		st.MissedAt = now
		if err := h.store.SaveHeartbeat(ctx, st); err != nil {
			// The incident is open; without the mark the next check
			// ingests again, which dedups into the same incident.
			h.log.Error("save heartbeat state", "heartbeat", hb.ID, "err", err)
			wait = min(wait, time.Second)
			continue
		}
		h.log.Warn("heartbeat missed", "heartbeat", hb.ID, "service", hb.Service, "interval", hb.Interval.String())
	}
	return wait
}
