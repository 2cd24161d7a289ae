package escalation

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Engine turns events into incidents and incidents into pages. It owns no
// timers of its own beyond one: the next escalation due time, read from the
// store, so a restarted engine resumes every incident where it was.
type Engine struct {
	store Store
	log   *slog.Logger

	mu     sync.RWMutex
	policy *Policy // replaced whole by SetPolicy; never mutated

	kick chan struct{} // wakes Run early (new incident, ack, policy change)

	// Change notification: pending holds incident ids changed since the
	// notifier last ran; the notifier goroutine (started by Run) owns the
	// calls to subscribers, so a slow subscriber never slows ingest.
	subMu   sync.Mutex
	subs    map[int]func(Incident)
	nextSub int
	pending map[int64]struct{}
	changed chan struct{}

	outboxHook atomic.Pointer[[]func()] // wake delivery workers when pages were queued
	alive      atomic.Int64             // UnixNano of the last Run iteration
	// nextRun is when Run will next look at due escalations (UnixNano),
	// or 0 while it is looking: Ingest wakes Run only for a step due
	// before then. Written by Run, read by Ingest.
	nextRun atomic.Int64
}

// Defaults used when the policy does not say.
const (
	// DefaultLoopGap separates repeat loops of a single-level policy.
	DefaultLoopGap = 5 * time.Minute
	// maxIdle bounds how long Run sleeps, so maintenance windows and the
	// liveness signal are looked at even with nothing due.
	maxIdle = 15 * time.Second
	// MaxSummary is the longest summary accepted (PagerDuty's limit).
	MaxSummary = 1024
	// MaxDedupKey is the longest dedup key accepted (PagerDuty's limit).
	MaxDedupKey = 255
)

// NewEngine returns an engine working from store with policy p.
func NewEngine(store Store, p *Policy, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if p == nil {
		p = &Policy{}
	}
	e := &Engine{
		store:   store,
		log:     log,
		policy:  p,
		kick:    make(chan struct{}, 1),
		subs:    map[int]func(Incident){},
		pending: map[int64]struct{}{},
		changed: make(chan struct{}, 1),
	}
	e.alive.Store(time.Now().UnixNano())
	return e
}

// Policy returns the policy in force. Callers must not modify it.
func (e *Engine) Policy() *Policy {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.policy
}

// SetPolicy replaces the policy. Open incidents follow the new policy from
// their next step on.
func (e *Engine) SetPolicy(p *Policy) {
	e.mu.Lock()
	e.policy = p
	e.mu.Unlock()
	e.wake()
}

// OnOutbox registers fn to be called when queued notifications changed
// what delivery can claim: a page to a number whose turn has come and who
// had nothing else ready to leave, a confirmation, a later level's pages.
// Pages that wait for their number's turn (the per-minute limit) do not
// call it: delivery already sleeps until that turn. Every channel's worker
// registers its own wake-up; fn must not block.
func (e *Engine) OnOutbox(fn func()) {
	for {
		old := e.outboxHook.Load()
		var fns []func()
		if old != nil {
			fns = append(fns, (*old)...)
		}
		fns = append(fns, fn)
		if e.outboxHook.CompareAndSwap(old, &fns) {
			return
		}
	}
}

func (e *Engine) outboxChanged() {
	if fns := e.outboxHook.Load(); fns != nil {
		for _, fn := range *fns {
			fn()
		}
	}
}

// Subscribe calls fn after every change of an incident (from the notifier
// goroutine, in order of changes per incident). cancel stops it.
func (e *Engine) Subscribe(fn func(Incident)) (cancel func()) {
	e.subMu.Lock()
	defer e.subMu.Unlock()
	id := e.nextSub
	e.nextSub++
	e.subs[id] = fn
	return func() {
		e.subMu.Lock()
		delete(e.subs, id)
		e.subMu.Unlock()
	}
}

func (e *Engine) markChanged(ids ...int64) {
	e.subMu.Lock()
	for _, id := range ids {
		e.pending[id] = struct{}{}
	}
	e.subMu.Unlock()
	select {
	case e.changed <- struct{}{}:
	default:
	}
}

func (e *Engine) wake() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// LastTick is when the engine loop last ran; the systemd watchdog pings
// only while it is recent.
func (e *Engine) LastTick() time.Time { return time.Unix(0, e.alive.Load()) }

// Run escalates due incidents until ctx ends. It also delivers change
// notifications to subscribers.
func (e *Engine) Run(ctx context.Context) error {
	notifierDone := make(chan struct{})
	go func() {
		defer close(notifierDone)
		e.notifier(ctx)
	}()
	defer func() { <-notifierDone }()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		e.alive.Store(time.Now().UnixNano())
		e.nextRun.Store(0)
		wait := e.runDue(ctx)
		e.nextRun.Store(time.Now().Add(wait).UnixNano())
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-e.kick:
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

func (e *Engine) notifier(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.changed:
		}
		e.subMu.Lock()
		ids := make([]int64, 0, len(e.pending))
		for id := range e.pending {
			ids = append(ids, id)
		}
		clear(e.pending)
		subs := make([]func(Incident), 0, len(e.subs))
		for _, fn := range e.subs {
			subs = append(subs, fn)
		}
		e.subMu.Unlock()
		if len(subs) == 0 {
			continue
		}
		// One query for the batch, without timelines: subscribers get
		// the incident's state (docs/reference.md §5 incident JSON), not its history,
		// which grows with every alert.
		for len(ids) > 0 {
			chunk := ids[:min(len(ids), 500)]
			ids = ids[len(chunk):]
			incs, err := e.store.Incidents(ctx, IncidentFilter{IDs: chunk, Limit: len(chunk)})
			if err != nil {
				e.log.Error("read changed incidents", "err", err)
				continue
			}
			sort.Slice(incs, func(i, j int) bool { return incs[i].ID < incs[j].ID })
			for _, inc := range incs {
				for _, fn := range subs {
					fn(inc)
				}
			}
		}
	}
}

// runDue performs every due step and returns how long to wait for the next.
func (e *Engine) runDue(ctx context.Context) time.Duration {
	now := time.Now()
	states, err := e.store.Due(ctx, now)
	if err != nil {
		e.log.Error("read due escalations", "err", err)
		return time.Second
	}
	pol := e.Policy()
	if len(states) > 0 {
		// All due steps commit together: under an alert storm that is one
		// transaction for hundreds of new incidents, not one each.
		steps := make([]StepResult, len(states))
		for i, st := range states {
			steps[i] = decide(st, pol, now, false)
		}
		errs, err := e.store.Steps(ctx, steps, now)
		if err != nil {
			e.log.Error("escalation steps", "count", len(steps), "err", err)
			return time.Second
		}
		queued := false
		for i, s := range steps {
			if errs[i] != nil {
				continue // the incident changed meanwhile; looked at again next round
			}
			queued = queued || len(s.Pages) > 0
			e.markChanged(s.IncidentID)
		}
		if queued {
			e.outboxChanged()
		}
	}
	if len(states) >= 1000 {
		return 0 // more are due
	}
	next, ok, err := e.store.NextDue(ctx)
	if err != nil {
		e.log.Error("read next due", "err", err)
		return time.Second
	}
	if !ok {
		return maxIdle
	}
	return min(max(time.Until(next), 0), maxIdle)
}

// Ingest validates ev, commits it and returns what the sender should be
// told. It returns only after the commit. A new incident's first
// escalation step (usually its first page) is decided here and committed
// with the alert, in one transaction.
func (e *Engine) Ingest(ctx context.Context, ev Event) (IngestResult, error) {
	pol := e.Policy()
	if err := validateEvent(&ev, pol); err != nil {
		return IngestResult{}, err
	}
	svc, _ := pol.Service(ev.Service)
	now := time.Now()
	var next time.Time // the first step's next due time
	first := func(st EscalationState) StepResult {
		s := decide(st, pol, now, false)
		next = s.NextAt
		return s
	}
	res, err := e.store.Ingest(ctx, ev, svc.GroupBy.D(), now, first)
	if err != nil {
		return res, err
	}
	if res.PagesReady {
		e.outboxChanged()
	}
	if (res.New && e.dueBeforeNextRun(next)) || ev.Action != Trigger {
		e.wake()
	}
	if res.IncidentID != 0 {
		e.markChanged(res.IncidentID)
	}
	return res, nil
}

// dueBeforeNextRun reports whether an escalation due at t needs Run to
// look earlier than it plans to.
func (e *Engine) dueBeforeNextRun(t time.Time) bool {
	if t.IsZero() {
		return false
	}
	planned := e.nextRun.Load()
	return planned == 0 || t.UnixNano() < planned
}

func validateEvent(ev *Event, pol *Policy) error {
	if ev.Service == "" {
		return Invalidf("service", "service is required")
	}
	if _, ok := pol.Service(ev.Service); !ok {
		return Invalidf("service", "unknown service %q", ev.Service)
	}
	ev.Summary = strings.TrimSpace(ev.Summary)
	if ev.Action == "" {
		ev.Action = Trigger
	}
	switch ev.Action {
	case Trigger:
		if ev.Summary == "" {
			return Invalidf("summary", "summary is required")
		}
	case Acknowledge, Resolve:
		if ev.DedupKey == "" {
			return Invalidf("dedup_key", "dedup_key is required to %s", ev.Action)
		}
	default:
		return Invalidf("action", "unknown action %q", ev.Action)
	}
	if n := len([]rune(ev.Summary)); n > MaxSummary {
		return Invalidf("summary", "summary is %d characters; the limit is %d", n, MaxSummary)
	}
	if len(ev.DedupKey) > MaxDedupKey {
		return Invalidf("dedup_key", "dedup_key is %d bytes; the limit is %d", len(ev.DedupKey), MaxDedupKey)
	}
	if ev.Alerts < 0 {
		return Invalidf("alerts", "alerts is %d; it counts the alerts of a group", ev.Alerts)
	}
	if ev.Severity < SevCritical || ev.Severity > SevInfo {
		return Invalidf("severity", "invalid severity")
	}
	if ev.Intake == "" {
		ev.Intake = "api"
	}
	return nil
}

// Acknowledge acknowledges incident id on behalf of by (via the API).
func (e *Engine) Acknowledge(ctx context.Context, id int64, by string) (Incident, error) {
	return e.Transition(ctx, id, Acknowledged, by, "api")
}

// Resolve resolves incident id on behalf of by (via the API).
func (e *Engine) Resolve(ctx context.Context, id int64, by string) (Incident, error) {
	return e.Transition(ctx, id, Resolved, by, "api")
}

// Transition acknowledges or resolves incident id; via says how ("sms",
// "dtmf", "button", "mqtt", "cli", ...). Pending pages stop at once. An
// acknowledged incident re-triggers after the policy's ack_timeout.
func (e *Engine) Transition(ctx context.Context, id int64, to Status, by, via string) (Incident, error) {
	if by == "" {
		by = via
	}
	now := time.Now()
	var next time.Time
	if to == Acknowledged {
		if t := e.Policy().Settings.AckTimeout.D(); t > 0 {
			next = now.Add(t)
		}
	}
	inc, err := e.store.Transition(ctx, id, to, by, via, next, now)
	if err != nil {
		return inc, err
	}
	e.wake()
	e.markChanged(id)
	return inc, nil
}

// Escalate jumps incident id to its next level now.
func (e *Engine) Escalate(ctx context.Context, id int64, by string) (Incident, error) {
	st, err := e.store.State(ctx, id)
	if err != nil {
		return Incident{}, err
	}
	if st.Incident.Status == Resolved {
		return st.Incident, &Error{Kind: Conflict, Msg: fmt.Sprintf("incident #%d is resolved", id)}
	}
	now := time.Now()
	res := decide(st, e.Policy(), now, true)
	res.Timeline = append([]TimelineEntry{{At: now, Kind: KindEscalated, Detail: "escalated by " + by}}, res.Timeline...)
	if err := e.store.Step(ctx, res, now); err != nil {
		return Incident{}, err
	}
	if len(res.Pages) > 0 {
		e.outboxChanged()
	}
	e.wake()
	e.markChanged(id)
	return e.store.Incident(ctx, id)
}

// Incident returns one incident with its timeline.
func (e *Engine) Incident(ctx context.Context, id int64) (Incident, error) {
	return e.store.Incident(ctx, id)
}

// IncidentDetail returns one incident with its timeline and its pages,
// each with its delivery state.
func (e *Engine) IncidentDetail(ctx context.Context, id int64) (Incident, error) {
	return e.store.IncidentDetail(ctx, id)
}

// Incidents lists incidents, newest first.
func (e *Engine) Incidents(ctx context.Context, f IncidentFilter) ([]Incident, error) {
	return e.store.Incidents(ctx, f)
}

// ZoneAlarms lists zones raised by open incidents.
func (e *Engine) ZoneAlarms(ctx context.Context) ([]ZoneAlarm, error) { return e.store.ZoneAlarms(ctx) }

// AckZone acknowledges every triggered incident that raised zone.
func (e *Engine) AckZone(ctx context.Context, zone, by string) (int, error) {
	return e.zoneTransition(ctx, zone, Acknowledged, by)
}

// ResolveZone resolves every open incident that raised zone.
func (e *Engine) ResolveZone(ctx context.Context, zone, by string) (int, error) {
	return e.zoneTransition(ctx, zone, Resolved, by)
}

func (e *Engine) zoneTransition(ctx context.Context, zone string, to Status, by string) (int, error) {
	alarms, err := e.store.ZoneAlarms(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range alarms {
		if a.Zone != zone || a.Status == to || (to == Acknowledged && a.Status != Triggered) {
			continue
		}
		if _, err := e.Transition(ctx, a.IncidentID, to, by, "button"); err != nil {
			if KindOf(err) == Conflict {
				continue
			}
			return n, err
		}
		n++
	}
	return n, nil
}

// AddTimeline records entries (call progress, delivery outcomes) on an
// incident's timeline.
func (e *Engine) AddTimeline(ctx context.Context, id int64, entries ...TimelineEntry) error {
	if err := e.store.AddTimeline(ctx, id, entries...); err != nil {
		return err
	}
	e.markChanged(id)
	return nil
}

// Notify queues messages that are not escalation pages (confirmations,
// bring-up tests) and wakes delivery.
func (e *Engine) Notify(ctx context.Context, ns ...Notification) error {
	if err := e.store.Enqueue(ctx, ns...); err != nil {
		return err
	}
	e.outboxChanged()
	return nil
}

// ReplyResult says what an SMS reply did.
type ReplyResult struct {
	Known   bool // the sender is a contact in the policy
	Contact Contact
	Reply   Reply
	Err     error   // the text was not understood
	IDs     []int64 // incidents changed
	Answer  string  // the confirmation SMS for the sender
	// AnswerDropped: Answer was not queued because the number already had
	// AnswerLimit answers of its kind in the last AnswerWindow.
	AnswerDropped bool
}

// Reply acts on an SMS reply from number. Only contacts in the policy are
// obeyed; anything else changes nothing and is only reported. A reply with
// an incident id acts on that incident; one without acts on what the
// person was last told (LastTold, BareReplyTargets). Each reply from a
// contact is answered, within the per-number bound on answers.
func (e *Engine) Reply(ctx context.Context, number, text, via string) (ReplyResult, error) {
	var res ReplyResult
	res.Contact, res.Known = e.contactByNumber(number)
	if !res.Known {
		return res, nil
	}
	c := res.Contact
	r, perr := ParseReply(text)
	if perr != nil {
		res.Err = perr
		res.Answer = FormatNotUnderstood(c.Language)
		return res, e.answer(ctx, &res, AnswerHelp, 0)
	}
	res.Reply = r
	var ids []int64
	if r.IncidentID != 0 {
		ids = []int64{r.IncidentID}
	} else {
		told, err := e.store.LastTold(ctx, c.Phone)
		if err != nil {
			return res, err
		}
		ids = BareReplyTargets(told, r.Action)
	}
	return res, e.act(ctx, &res, ids, via, fmt.Sprintf("%s reply %q from %s", via, text, c.ID))
}

// contactByNumber finds the contact whose phone is number in any of its
// national or international forms.
func (e *Engine) contactByNumber(number string) (Contact, bool) {
	pol := e.Policy()
	for _, c := range pol.Contacts {
		if SameNumber(c.Phone, number, pol.Settings.DefaultRegion) {
			return c, true
		}
	}
	return Contact{}, false
}

// Callback acts on a call from number: a contact who opted in
// (callback_ack) acknowledges every incident currently paging them, and
// gets a confirmation SMS. Anyone else changes nothing.
func (e *Engine) Callback(ctx context.Context, number string) (ReplyResult, error) {
	var res ReplyResult
	res.Contact, res.Known = e.contactByNumber(number)
	if !res.Known || !res.Contact.CallbackAck {
		return res, nil
	}
	res.Reply = Reply{Action: Acknowledge}
	ids, err := e.store.Paging(ctx, res.Contact.Phone)
	if err != nil {
		return res, err
	}
	return res, e.act(ctx, &res, ids, "call-back", "call-back from "+res.Contact.ID)
}

// act applies res.Reply for res.Contact to the incidents ids, then answers
// with a confirmation.
func (e *Engine) act(ctx context.Context, res *ReplyResult, ids []int64, via, detail string) error {
	c, r := res.Contact, res.Reply
	to := Acknowledged
	if r.Action == Resolve {
		to = Resolved
	}
	now := time.Now()
	for _, id := range ids {
		if err := e.store.AddTimeline(ctx, id, TimelineEntry{At: now, Kind: KindReply, Detail: detail}); err != nil {
			if KindOf(err) == 0 && strings.Contains(err.Error(), "FOREIGN KEY") {
				continue // no such incident
			}
		}
		if _, err := e.Transition(ctx, id, to, c.ID, via); err != nil {
			if k := KindOf(err); k == NotFound || k == Conflict {
				continue
			}
			return err
		}
		res.IDs = append(res.IDs, id)
	}
	who := c.Name
	if who == "" {
		who = c.ID
	}
	res.Answer = FormatConfirm(r.Action, res.IDs, who, c.Language)
	if len(res.IDs) == 0 {
		return e.answer(ctx, res, AnswerHelp, 0) // changed nothing: bounded like help
	}
	var inc int64
	if len(res.IDs) == 1 {
		inc = res.IDs[0]
	}
	return e.answer(ctx, res, AnswerConfirm, inc)
}

// answer queues res.Answer to the contact unless the number has had
// AnswerLimit(kind) answers in the last AnswerWindow. A dropped
// confirmation is recorded on the timeline of every incident it concerned;
// the caller records the rest (the received SMS's result, the log).
func (e *Engine) answer(ctx context.Context, res *ReplyResult, kind AnswerKind, incidentID int64) error {
	c := res.Contact
	now := time.Now()
	n := Notification{ContactID: c.ID, Channel: SMS, Number: c.Phone, Text: res.Answer, Severity: SevInfo,
		IncidentID: incidentID, Answer: kind}
	limit := AnswerLimit(kind)
	queued, err := e.store.EnqueueAnswer(ctx, n, limit, now.Add(-AnswerWindow), now)
	if err != nil {
		return err
	}
	if queued {
		e.outboxChanged()
		return nil
	}
	res.AnswerDropped = true
	for _, id := range res.IDs {
		detail := fmt.Sprintf("%s answer to %s not sent: %d already in the last %s (%q)", kind, c.ID, limit, AnswerWindow, res.Answer)
		if err := e.store.AddTimeline(ctx, id, TimelineEntry{At: now, Kind: KindNotify, Detail: detail}); err != nil {
			return err
		}
		e.markChanged(id)
	}
	return nil
}

// decide computes one escalation step for st under pol at now. force fires
// the next level at once (manual escalate). It is pure: no I/O.
func decide(st EscalationState, pol *Policy, now time.Time, force bool) StepResult {
	inc := st.Incident
	res := StepResult{
		IncidentID:    inc.ID,
		ExpectStatus:  inc.Status,
		ExpectLevel:   st.Level,
		ExpectLoop:    st.Loop,
		Status:        inc.Status,
		Level:         st.Level,
		Loop:          st.Loop,
		LoopStartedAt: st.LoopStartedAt,
		PolicyVersion: pol.Version,
	}
	note := func(kind, format string, args ...any) {
		res.Timeline = append(res.Timeline, TimelineEntry{At: now, Kind: kind, Detail: fmt.Sprintf(format, args...)})
	}
	switch inc.Status {
	case Resolved:
		return res // NextAt zero: nothing more
	case Acknowledged:
		// The ack timeout expired (or a manual escalate): page again from
		// the first level.
		res.Status = Triggered
		res.Level, res.Loop, res.LoopStartedAt = 0, 0, now
		if force {
			note(KindRetriggered, "re-triggered by escalation")
		} else {
			note(KindRetriggered, "acknowledged but not resolved within the ack timeout; paging again")
		}
	}
	svc, ok := pol.Service(inc.Service)
	if !ok {
		note(KindSuppressed, "service %q is not in policy v%d; nobody paged", inc.Service, pol.Version)
		return res
	}
	ep, ok := pol.EscalationPolicy(svc.EscalationPolicy)
	if !ok || len(ep.Levels) == 0 {
		note(KindSuppressed, "no escalation policy for service %q; nobody paged", inc.Service)
		return res
	}
	if in, until := pol.InMaintenance(inc.Service, now); in && !inc.Drill {
		res.NextAt = until
		if until.IsZero() || !until.After(now) {
			res.NextAt = now.Add(time.Minute)
		}
		// When the window ends, escalation starts from where it is, with
		// the next level due at the end of the window.
		if res.Level < len(ep.Levels) {
			res.LoopStartedAt = res.NextAt.Add(-ep.Levels[res.Level].After.D())
		}
		note(KindSuppressed, "maintenance window for %s until %s: nobody paged", inc.Service, res.NextAt.Format(time.RFC3339))
		return res
	}
	if res.Level >= len(ep.Levels) {
		// Policy shrank, or all levels fired: start the next loop, or
		// re-fire the last level when escalating by hand.
		switch {
		case res.Loop < ep.Repeat:
			res.Loop++
			res.Level = 0
			res.LoopStartedAt = now
		case force:
			res.Level = len(ep.Levels) - 1
		default:
			return res
		}
	}
	lvl := ep.Levels[res.Level]
	due := res.LoopStartedAt.Add(lvl.After.D())
	if due.After(now) && !force {
		res.NextAt = due
		return res
	}
	pages, zones := targets(inc, lvl, pol, now, &res)
	res.Level++
	res.Pages = pages
	res.Zones = zones
	who := make([]string, 0, len(pages)+len(zones))
	for _, p := range pages {
		if p.Channel == WebhookChannel {
			who = append(who, "webhook "+p.Number)
			continue
		}
		who = append(who, fmt.Sprintf("%s by %s", p.ContactID, p.Channel))
	}
	for _, z := range zones {
		who = append(who, "zone "+z)
	}
	if len(who) == 0 {
		who = append(who, "nobody on call")
	}
	note(KindLevel, "level %d (loop %d, policy v%d): %s", res.Level, res.Loop+1, pol.Version, strings.Join(who, ", "))
	for _, z := range zones {
		note(KindZone, "zone %s raised", z)
	}

	// When does the next step happen?
	switch {
	case res.Level < len(ep.Levels):
		res.NextAt = res.LoopStartedAt.Add(ep.Levels[res.Level].After.D())
		if res.NextAt.Before(now) {
			res.NextAt = now
		}
	case res.Loop < ep.Repeat:
		// The next loop starts after the same delay that separated the
		// last two levels (DefaultLoopGap for a single level). Level stays
		// at the last level fired until then; the step at NextAt rolls
		// over to the first level.
		gap := DefaultLoopGap
		if n := len(ep.Levels); n > 1 {
			gap = max(ep.Levels[n-1].After.D()-ep.Levels[n-2].After.D(), time.Minute)
		}
		res.NextAt = now.Add(gap)
	}
	return res
}

// targets expands a level into pages and zones.
func targets(inc Incident, lvl Level, pol *Policy, now time.Time, res *StepResult) ([]Notification, []string) {
	var (
		pages []Notification
		zones []string
		seen  = map[string]bool{}
	)
	add := func(contactID string, via []Channel) {
		c, ok := pol.Contact(contactID)
		if !ok {
			return
		}
		if len(via) == 0 {
			via = []Channel{SMS}
		}
		for _, ch := range via {
			key := c.ID + "/" + string(ch)
			if seen[key] {
				continue
			}
			seen[key] = true
			to := c.Phone
			switch ch {
			case Email:
				to = c.Email
			case Push:
				to = c.NtfyTopic
			}
			if to == "" {
				res.Timeline = append(res.Timeline, TimelineEntry{At: now, Kind: KindSuppressed,
					Detail: fmt.Sprintf("%s has no %s address; not paged by %s", c.ID, ch, ch)})
				continue
			}
			pages = append(pages, Notification{
				IncidentID:    inc.ID,
				ContactID:     c.ID,
				Channel:       ch,
				Number:        to,
				Text:          FormatPage(inc, c.Language),
				PolicyVersion: pol.Version,
				Level:         res.Level + 1,
				Severity:      inc.Severity,
			})
		}
	}
	for _, t := range lvl.Notify {
		switch {
		case t.Zone != "":
			zones = append(zones, t.Zone)
		case t.Contact != "":
			add(t.Contact, t.Via)
		case t.Webhook != "":
			if _, ok := pol.Webhook(t.Webhook); !ok || seen["webhook/"+t.Webhook] {
				continue
			}
			seen["webhook/"+t.Webhook] = true
			pages = append(pages, Notification{
				IncidentID:    inc.ID,
				Channel:       WebhookChannel,
				Number:        t.Webhook,
				Text:          FormatPage(inc, ""),
				PolicyVersion: pol.Version,
				Level:         res.Level + 1,
				Severity:      inc.Severity,
			})
		case t.Schedule != "":
			s, ok := pol.Schedule(t.Schedule)
			if !ok {
				continue
			}
			oc, err := OnCall(s, now)
			if err != nil {
				res.Timeline = append(res.Timeline, TimelineEntry{At: now, Kind: KindSuppressed,
					Detail: fmt.Sprintf("schedule %s: %v", s.ID, err)})
				continue
			}
			for _, id := range oc.Contacts {
				add(id, t.Via)
			}
		}
	}
	return pages, zones
}
