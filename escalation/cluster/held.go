package cluster

import (
	"context"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// HeldStore is the store as a standby's escalation engine sees it: an
// escalation step is due only peer_timeout after its time. The active box
// takes each step on time and its new position reaches the standby long
// before then, so the standby never steps (and never queues pages) for an
// incident the active is looking after; when the active is gone, the
// standby steps at most peer_timeout late. The active and a lone box see
// the store unchanged.
type HeldStore struct {
	escalation.Store
	hold interface{ Hold() time.Duration }
}

// NewHeldStore wraps store; hold says how long to hold (Node.Hold).
func NewHeldStore(store escalation.Store, hold interface{ Hold() time.Duration }) *HeldStore {
	return &HeldStore{Store: store, hold: hold}
}

// Due lists the steps due peer_timeout ago on a standby, due now otherwise.
func (h *HeldStore) Due(ctx context.Context, now time.Time) ([]escalation.EscalationState, error) {
	return h.Store.Due(ctx, now.Add(-h.hold.Hold()))
}

// NextDue is the next step's time as this box will take it.
func (h *HeldStore) NextDue(ctx context.Context) (time.Time, bool, error) {
	t, ok, err := h.Store.NextDue(ctx)
	if ok {
		t = t.Add(h.hold.Hold())
	}
	return t, ok, err
}
