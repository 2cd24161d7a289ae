package escalation

import (
	"context"
	"time"
)

// Upcoming is the next escalation step of an incident as the engine will
// take it: when, which level of which loop, and who will be paged by which
// channel. A shift lead reads it as "next: Suzuki by SMS at 15:50".
type Upcoming struct {
	At    time.Time // when the step is due (now, if it is overdue)
	Level int       // the 1-based level that fires
	Loop  int       // the 0-based loop it fires in
	Loops int       // how many loops the policy runs (repeat + 1)
	// Retrigger is true when an acknowledged incident pages again because
	// nobody resolved it within the ack timeout.
	Retrigger bool
	// Pages are the notifications the step will queue (contact, channel,
	// number). Empty with no Zones: the level fires but finds nobody on
	// call.
	Pages []Notification
	Zones []string
}

// maxPlanSteps bounds how many engine steps NextStep looks through. A step
// may only move the clock (the first level of the next loop has a delay of
// its own, a maintenance window holds paging back); a handful of such
// steps always reaches the next one that pages or the end.
const maxPlanSteps = 8

// NextStep says what the engine will do next for the incident in st under
// pol, as seen at now; ok is false when nothing more will happen (resolved,
// all loops done, acknowledged without an ack timeout, or no escalation
// policy). It runs the engine's own decide on a copy of the state, at the
// time each step is due, so it cannot disagree with what the engine will
// do — unless the policy, an on-call schedule's rotation or the incident
// changes meanwhile. It is pure: no I/O.
func NextStep(st EscalationState, pol *Policy, now time.Time) (Upcoming, bool) {
	if pol == nil || st.Incident.Status == Resolved || st.NextAt.IsZero() {
		return Upcoming{}, false
	}
	retrigger := st.Incident.Status == Acknowledged
	at := st.NextAt
	for range maxPlanSteps {
		if at.Before(now) {
			at = now
		}
		res := decide(st, pol, at, false)
		if fired(res) {
			up := Upcoming{At: at, Level: res.Level, Loop: res.Loop, Loops: 1, Retrigger: retrigger,
				Pages: res.Pages, Zones: res.Zones}
			if svc, ok := pol.Service(st.Incident.Service); ok {
				if ep, ok := pol.EscalationPolicy(svc.EscalationPolicy); ok {
					up.Loops = ep.Repeat + 1
				}
			}
			return up, true
		}
		if res.NextAt.IsZero() {
			return Upcoming{}, false
		}
		// The step only moved the clock; follow it as the engine would.
		st.Incident.Status = res.Status
		st.Level, st.Loop, st.LoopStartedAt, st.NextAt = res.Level, res.Loop, res.LoopStartedAt, res.NextAt
		at = res.NextAt
	}
	return Upcoming{}, false
}

// fired reports whether a step fired a level: decide notes every level it
// fires, also one that finds nobody on call.
func fired(res StepResult) bool {
	for _, e := range res.Timeline {
		if e.Kind == KindLevel {
			return true
		}
	}
	return false
}

// NextStep reads incident id's escalation state and says what the engine
// will do next for it, under the policy in force (see the function
// NextStep).
func (e *Engine) NextStep(ctx context.Context, id int64, now time.Time) (Upcoming, bool, error) {
	st, err := e.store.State(ctx, id)
	if err != nil {
		return Upcoming{}, false, err
	}
	up, ok := NextStep(st, e.Policy(), now)
	return up, ok, nil
}
