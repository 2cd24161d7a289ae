package escalation

import (
	"context"
	"time"
)

// Store is what the engine needs from persistence. The sqlite package
// implements it; every method that changes state commits before it returns,
// so a caller may acknowledge its sender as soon as it gets nil.
type Store interface {
	// Ingest records ev as an alert and applies PagerDuty dedup rules in
	// one transaction. A new incident's first escalation step is first's
	// result for it (the incident as created, level 0, loop started at
	// now), committed in the same transaction; with first nil the
	// incident's escalation is due at now.
	Ingest(ctx context.Context, ev Event, groupBy time.Duration, now time.Time,
		first func(EscalationState) StepResult) (IngestResult, error)
	// Transition moves an incident to Acknowledged or Resolved. Pending
	// pages of the incident are cancelled. next is the new escalation due
	// time (the ack timeout) or zero for none.
	Transition(ctx context.Context, id int64, to Status, by, via string, next time.Time, now time.Time) (Incident, error)
	Incident(ctx context.Context, id int64) (Incident, error)
	// IncidentDetail is Incident with its notifications (Incident.Notifications).
	IncidentDetail(ctx context.Context, id int64) (Incident, error)
	Incidents(ctx context.Context, f IncidentFilter) ([]Incident, error)

	// NextDue returns the earliest escalation due time.
	NextDue(ctx context.Context) (time.Time, bool, error)
	// State returns incident id's escalation state.
	State(ctx context.Context, id int64) (EscalationState, error)
	// Due lists incidents whose escalation is due at or before now.
	Due(ctx context.Context, now time.Time) ([]EscalationState, error)
	// Step commits one escalation step: state, pages, zone alarms and
	// timeline, all or nothing. It fails with Conflict when the incident
	// changed since st was read (acked meanwhile): nothing is written.
	Step(ctx context.Context, s StepResult, now time.Time) error
	// Steps commits several steps in one transaction; errs[i] is step i's
	// Conflict (skipped) or nil. err is set when nothing was committed.
	Steps(ctx context.Context, s []StepResult, now time.Time) (errs []error, err error)

	// ZoneAlarms lists zones raised by open incidents.
	ZoneAlarms(ctx context.Context) ([]ZoneAlarm, error)
	// Paging returns the open incidents that were paged to number and
	// not yet acknowledged (what a call-back acknowledgement acts on; an
	// SMS reply without an id acts on LastTold instead).
	Paging(ctx context.Context, number string) ([]int64, error)
	// LastTold returns the incidents named in the last page or digest sent
	// to number by SMS, whatever their status now, oldest first; none if
	// no page was ever sent there. A reply without an id acts on these
	// (BareReplyTargets), never on anything the person was not told.
	LastTold(ctx context.Context, number string) ([]Incident, error)
	// EnqueueAnswer queues n, an answer to a reply (n.Answer set), unless
	// max answers of that kind were queued for n.Number since since; the
	// count and the insert are one transaction. queued reports which.
	EnqueueAnswer(ctx context.Context, n Notification, max int, since, now time.Time) (queued bool, err error)
	// AddTimeline appends entries to an incident's timeline.
	AddTimeline(ctx context.Context, id int64, entries ...TimelineEntry) error
	// Enqueue adds notifications (e.g. confirmations) to the outbox.
	Enqueue(ctx context.Context, n ...Notification) error
}

// IncidentFilter selects incidents for listing, newest first.
type IncidentFilter struct {
	IDs     []int64 // only these incidents (empty: any)
	Status  Status  // empty: any
	Service string
	Open    bool // triggered or acknowledged
	Limit   int
	Offset  int
	// Before, if set, keeps incidents with a smaller id: the cursor of
	// the next page (the last id of this one). Unlike Offset it costs the
	// same on every page.
	Before int64
}

// EscalationState is an incident's position in its escalation policy.
type EscalationState struct {
	Incident      Incident
	Level         int // levels fired in the current loop
	Loop          int
	LoopStartedAt time.Time
	NextAt        time.Time
	PolicyVersion int64
}

// StepResult is what one escalation step decided for one incident.
type StepResult struct {
	IncidentID int64
	// Expect guards against races: the step applies only if the incident
	// is still at this status, level and loop.
	ExpectStatus Status
	ExpectLevel  int
	ExpectLoop   int

	Status        Status // new status (Triggered on ack timeout re-trigger)
	Level         int
	Loop          int
	LoopStartedAt time.Time
	NextAt        time.Time // zero: nothing more to do
	PolicyVersion int64
	Pages         []Notification
	Zones         []string
	Timeline      []TimelineEntry
}
