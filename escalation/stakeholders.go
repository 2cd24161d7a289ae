package escalation

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Stakeholders tells webhooks with `subscribe: [service ids]` about every
// state change (triggered, acknowledged, resolved) of those services'
// incidents, without making them responders: their rows carry no links
// and their failures never move an incident on.
//
// It listens to the engine's change notifications (Engine.Subscribe), which
// also fire for timeline lines, so it remembers each open incident's last
// status and queues a row only when the status changed. The memory starts
// empty: after a restart the first change notification of an incident that
// was already acknowledged may be sent once more — a repeat, never a loss.
//
// It also closes the loop for people paged by e-mail: when an incident is
// acknowledged or resolved, everyone who was e-mailed a page about it gets
// one more e-mail in the same thread saying so, so nobody gets up for an
// incident a colleague already has.
type Stakeholders struct {
	notify    func(ctx context.Context, ns ...Notification) error
	policy    func() *Policy
	followers Followers
	started   time.Time

	mu   sync.Mutex // guards last; Changed runs on the engine's notifier goroutine
	last map[int64]Status
}

// Followers finds who was sent pages about an incident on a channel.
type Followers interface {
	// Followers returns one row (ContactID, Number) per recipient that
	// was sent a page of channel ch about incident.
	Followers(ctx context.Context, ch Channel, incident int64) ([]Notification, error)
}

// NewStakeholders returns the stakeholder fan-out; notify queues rows
// (Engine.Notify), policy is the policy in force, followers finds who was
// e-mailed (nil: nobody is told).
func NewStakeholders(notify func(ctx context.Context, ns ...Notification) error, policy func() *Policy, followers Followers, now time.Time) *Stakeholders {
	return &Stakeholders{notify: notify, policy: policy, followers: followers, started: now, last: map[int64]Status{}}
}

// Changed is the engine subscriber.
func (s *Stakeholders) Changed(ctx context.Context, inc Incident) error {
	s.mu.Lock()
	prev, seen := s.last[inc.ID]
	if inc.Status == Resolved {
		delete(s.last, inc.ID)
	} else {
		s.last[inc.ID] = inc.Status
	}
	s.mu.Unlock()
	switch {
	case seen && prev == inc.Status:
		return nil
	case !seen && inc.Status == Triggered && inc.CreatedAt.Before(s.started):
		return nil // open before this run started: its trigger was told then
	}
	var ns []Notification
	for _, w := range s.policy().Webhooks {
		if !slices.Contains(w.Subscribe, inc.Service) {
			continue
		}
		// No IncidentID, only Covers: an acknowledgement cancels the
		// incident's queued pages, but not the stakeholders' news.
		ns = append(ns, Notification{Channel: WebhookChannel, Number: w.ID, Text: string(inc.Status),
			Severity: inc.Severity, Covers: []int64{inc.ID}})
	}
	if inc.Status != Triggered && s.followers != nil {
		fs, err := s.followers.Followers(ctx, Email, inc.ID)
		if err != nil {
			return err
		}
		for _, f := range fs {
			ns = append(ns, Notification{Channel: Email, ContactID: f.ContactID, Number: f.Number,
				Text: string(inc.Status), Severity: inc.Severity, Covers: []int64{inc.ID}})
		}
	}
	if len(ns) == 0 {
		return nil
	}
	return s.notify(ctx, ns...)
}
