// Package phone delivers pages through a cellular modem and turns what comes
// back — SMS replies, and in calls DTMF keys — into acknowledgements.
//
// It owns the outbox worker: the single goroutine that takes queued
// notifications from the store (most severe first), folds several pages to
// one person into a digest, sends them through the modem and records each
// outcome. Each outcome follows the delivery contract of escalation
// (delivery.go), decided by ClassifySMS and ClassifyCall: a modem that is
// down or starting is not an attempt — the worker does not claim while it
// is not up, hands back what it claimed when the modem went away under a
// send, and is woken by the modem supervisor the moment the modem is up.
// Incoming SMS are stored before the modem deletes them and acted on from
// the store by one inbox goroutine (inbox.go), so a reply survives a crash
// at any point and is acted on once.
package phone

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/modem"
)

// Modem sends SMS and says when it can. *modem.Supervisor implements it.
type Modem interface {
	SendSMS(ctx context.Context, number, text string) ([]int, error)
	// Ready returns a channel that is closed while the modem is up: the
	// worker's wake-up after an outage or at start.
	Ready() <-chan struct{}
	// Changed returns a channel closed at the modem's next state change.
	Changed() <-chan struct{}
	// State says why the modem is not up (State.Reason).
	State() modem.State
}

// Outbox is the store's notification queue.
type Outbox interface {
	Claim(ctx context.Context, ch escalation.Channel, perMinute int, now time.Time) ([]escalation.Notification, error)
	Finish(ctx context.Context, ids []int64, o escalation.Outcome, now time.Time) error
	RequeueInterrupted(ctx context.Context, now time.Time) (int, error)
	// Release hands claimed messages back uncounted (verdict Wait); note
	// goes on the timeline the first time a message waits.
	Release(ctx context.Context, ids []int64, note string, retryAt, now time.Time) error
	// NoteWaiting notes on the timeline, once per message, that queued
	// messages wait for the channel, without claiming them.
	NoteWaiting(ctx context.Context, ch escalation.Channel, note string, now time.Time) (int, error)
	// NextRetry is when the next SMS may leave (a retry or a person's
	// pacing turn); NextChannelRetry when the next row of ch is ready.
	NextRetry(ctx context.Context) (time.Time, bool, error)
	NextChannelRetry(ctx context.Context, ch escalation.Channel) (time.Time, bool, error)
}

// Engine is what replies and delivery failures act on.
type Engine interface {
	Reply(ctx context.Context, number, text, via string) (escalation.ReplyResult, error)
	Incident(ctx context.Context, id int64) (escalation.Incident, error)
	Escalate(ctx context.Context, id int64, by string) (escalation.Incident, error)
	Transition(ctx context.Context, id int64, to escalation.Status, by, via string) (escalation.Incident, error)
	AddTimeline(ctx context.Context, id int64, entries ...escalation.TimelineEntry) error
	Policy() *escalation.Policy
}

// Options tune delivery.
type Options struct {
	// PerMinute limits SMS per number per minute; pages beyond it wait and
	// are folded into the next digest. Default 3.
	PerMinute int
	// MaxAttempts before a message is given up. Default 4. Only attempts
	// count (verdict Retry): waiting for the modem does not.
	MaxAttempts int
	// RingTimeout is how long a call may ring (docs/reference.md §7). Default 45s.
	RingTimeout time.Duration
	// Reports, when set, records delivery reports (receipts.go).
	Reports Reports
	Log     *slog.Logger
}

// Phone is the delivery worker. Create it with New and run it with Run.
type Phone struct {
	modem  Modem
	outbox Outbox
	inbox  Inbox
	engine Engine
	opts   Options
	log    *slog.Logger

	wake      chan struct{}
	wakeVoice chan struct{}
	wakeInbox chan struct{} // a received SMS was stored (inbox.go)
	reports   Reports       // nil: delivery reports are not recorded
	reportQ   reportQueue   // from the URC dispatcher to reportLoop

	ringMu     sync.Mutex // guards lastRing, lastRingAt
	lastRing   string
	lastRingAt time.Time

	sent, failed atomic.Int64
	lastErr      atomic.Pointer[string]
}

// New returns a delivery worker.
func New(m Modem, out Outbox, in Inbox, e Engine, o Options) *Phone {
	if o.PerMinute == 0 {
		o.PerMinute = 3
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 4
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Phone{modem: m, outbox: out, inbox: in, engine: e, opts: o, log: o.Log,
		wake: make(chan struct{}, 1), wakeVoice: make(chan struct{}, 1), wakeInbox: make(chan struct{}, 1),
		reports: o.Reports, reportQ: reportQueue{wake: make(chan struct{}, 1)}}
}

// Wake tells the worker that the outbox changed.
func (p *Phone) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
	select {
	case p.wakeVoice <- struct{}{}:
	default:
	}
}

// Stats reports delivery counters for /api/v1/status.
type Stats = escalation.DeliveryStats

// Stats returns delivery counters.
func (p *Phone) Stats() Stats {
	s := Stats{Sent: p.sent.Load(), Failed: p.failed.Load()}
	if e := p.lastErr.Load(); e != nil {
		s.LastError = *e
	}
	return s
}

// Run sends queued messages until ctx ends. Messages a crash left half-sent
// are queued again first. Run also owns the inbox goroutine (inbox.go), the
// only one that acts on received SMS, starting with replies stored but not
// yet acted on.
func (p *Phone) Run(ctx context.Context) error {
	if n, err := p.outbox.RequeueInterrupted(ctx, time.Now()); err != nil {
		return err
	} else if n > 0 {
		p.log.Warn("messages interrupted by a restart queued again", "count", n)
	}
	inboxDone := make(chan struct{})
	defer func() { <-inboxDone }()
	go func() {
		defer close(inboxDone)
		p.inboxLoop(ctx)
	}()
	reportsDone := make(chan struct{})
	defer func() { <-reportsDone }()
	go func() {
		defer close(reportsDone)
		p.reportLoop(ctx)
	}()
	if caller, ok := p.modem.(Caller); ok {
		done := make(chan struct{})
		defer func() { <-done }()
		go func() {
			defer close(done)
			p.callLoop(ctx, caller)
		}()
	}
	var w waiter
	for {
		if !p.awaitModem(ctx, escalation.SMS, p.wake) {
			return nil
		}
		busy, err := p.sendOne(ctx, &w)
		if err != nil {
			p.log.Error("outbox", "err", err)
		}
		if busy {
			continue
		}
		if w.waiting {
			// The modem could not send: wait for it (a pause at most,
			// cut short by its going down and coming back).
			if !w.pause(ctx, p.modem) {
				return nil
			}
			continue
		}
		next, ok, err := p.outbox.NextRetry(ctx)
		if !escalation.IdleUntil(ctx, p.wake, next, ok && err == nil) {
			return nil
		}
	}
}

// awaitModem returns once the modem is up (at once when it is), false if
// ctx ended first. It is the supervisor's wake-up, not a poll: nothing is
// claimed, and so nothing counted, while there is no modem. Meanwhile each
// page that becomes ready to leave on ch gets one timeline line saying it
// waits for the modem: at start, at every wake of the outbox, and every
// noteEvery (the outbox is woken only when what can leave changes, and
// while the modem is away a person's second page changes nothing).
func (p *Phone) awaitModem(ctx context.Context, ch escalation.Channel, wake <-chan struct{}) bool {
	select {
	case <-p.modem.Ready():
		return true
	default:
	}
	tick := time.NewTicker(noteEvery)
	defer tick.Stop()
	for {
		note := "page waiting for the modem: " + p.modem.State().Reason
		if n, err := p.outbox.NoteWaiting(ctx, ch, strings.TrimSuffix(note, ": "), time.Now()); err != nil {
			p.log.Error("outbox", "err", err)
		} else if n > 0 {
			p.log.Warn("pages wait for the modem", "channel", ch, "count", n)
		}
		select {
		case <-p.modem.Ready():
			return true
		case <-wake:
		case <-tick.C:
		case <-ctx.Done():
			return false
		}
	}
}

// noteEvery is how often, while the modem is away, pages that started to
// wait are noted on their timelines.
const noteEvery = 5 * time.Second

// waiter paces a worker after a send the modem could not make (verdict
// Wait) while the supervisor still says the modem is up (it has not noticed
// yet, or the modem is up but not registered). The pause grows from 1s to
// 30s and ends early when the modem's state changes; after a real attempt
// it starts over. Each worker goroutine owns its waiter.
type waiter struct {
	waiting bool
	next    time.Duration
}

// wait records a Wait verdict.
func (w *waiter) wait() {
	w.waiting = true
	w.next = min(max(2*w.next, time.Second), 30*time.Second)
}

// done records a send that was an attempt (or needed no modem).
func (w *waiter) done() { w.waiting, w.next = false, 0 }

// pause sleeps w.next or until the modem goes down (the worker then waits
// for it to come back in awaitModem), whichever is first; false if ctx
// ended.
func (w *waiter) pause(ctx context.Context, m Modem) bool {
	t := time.NewTimer(w.next)
	defer t.Stop()
	for {
		changed := m.Changed()
		select {
		case <-m.Ready():
		default:
			return true // down now: its coming back is the wake-up (awaitModem)
		}
		select {
		case <-t.C:
			return true
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

// sendOne claims and sends one SMS (or digest). It reports whether it did
// anything, so the caller loops until the queue is empty; w says whether the
// modem made it wait.
func (p *Phone) sendOne(ctx context.Context, w *waiter) (bool, error) {
	now := time.Now()
	batch, err := p.outbox.Claim(ctx, escalation.SMS, p.opts.PerMinute, now)
	if err != nil || len(batch) == 0 {
		w.waiting = false // nothing to wait with: idle until woken
		return false, err
	}
	first := batch[0]
	ids := make([]int64, len(batch))
	for i, n := range batch {
		ids[i] = n.ID
	}
	text, digest := first.Text, ""
	if len(batch) > 1 {
		text = p.digest(ctx, batch)
		digest = fmt.Sprintf(" (digest of %d pages)", len(batch))
	}
	who := first.ContactID
	if who == "" {
		who = first.Number
	}
	refs, err := p.modem.SendSMS(ctx, first.Number, text)
	now = time.Now()
	if err == nil {
		w.done()
		p.sent.Add(1)
		ref := joinInts(refs)
		err := p.outbox.Finish(ctx, ids, escalation.Outcome{
			Status: escalation.Sent, Text: text, Ref: ref,
			Timeline: fmt.Sprintf("SMS to %s (%s) sent%s, modem ref %s", who, first.Number, digest, ref),
		}, now)
		// Logged after the outcome is committed, so the log never claims
		// more than the database holds.
		p.log.Info("SMS sent", "to", first.Number, "contact", first.ContactID, "ref", ref, "parts", len(refs), "covers", len(batch), "text", text)
		return true, err
	}
	if ctx.Err() != nil {
		return false, nil // shutting down: RequeueInterrupted picks it up
	}
	msg := err.Error()
	p.lastErr.Store(&msg)
	verdict := ClassifySMS(err)
	if verdict == escalation.Wait {
		// Not an attempt: the rows go back uncounted and leave when the
		// modem is up again, folded with whatever queued meanwhile.
		w.wait()
		p.log.Warn("SMS waits for the modem", "to", first.Number, "covers", len(batch), "err", err)
		return false, p.outbox.Release(ctx, ids, fmt.Sprintf("SMS to %s waiting for the modem: %s", who, msg), time.Time{}, now)
	}
	w.done()
	if verdict == escalation.Retry && first.Attempts < p.opts.MaxAttempts {
		backoff := time.Duration(1<<min(first.Attempts, 6)) * time.Second
		p.log.Warn("SMS failed, will retry", "to", first.Number, "attempt", first.Attempts, "err", err)
		return true, p.outbox.Finish(ctx, ids, escalation.Outcome{
			Status: escalation.Queued, Error: msg, RetryAt: now.Add(backoff),
			Timeline: fmt.Sprintf("SMS to %s failed (attempt %d): %s; retrying in %s", who, first.Attempts, msg, backoff),
		}, now)
	}
	p.failed.Add(1)
	p.log.Error("SMS failed", "to", first.Number, "attempts", first.Attempts, "err", err)
	if err := p.outbox.Finish(ctx, ids, escalation.Outcome{
		Status: escalation.Failed, Error: msg,
		Timeline: fmt.Sprintf("SMS to %s failed after %d attempt(s): %s", who, first.Attempts, msg),
	}, now); err != nil {
		return true, err
	}
	// A page that could not be delivered moves on to the next level now
	// instead of waiting out the delay.
	for _, n := range batch {
		if n.Level == 0 {
			continue
		}
		for _, id := range n.Covers {
			p.moveOn(ctx, id, n.Level)
		}
	}
	return true, nil
}

func (p *Phone) digest(ctx context.Context, batch []escalation.Notification) string {
	seen := map[int64]bool{}
	var incs []escalation.Incident
	for _, n := range batch {
		for _, id := range n.Covers {
			if seen[id] {
				continue
			}
			seen[id] = true
			inc, err := p.engine.Incident(ctx, id)
			if err != nil {
				continue
			}
			inc.Timeline = nil
			incs = append(incs, inc)
		}
	}
	sort.Slice(incs, func(i, j int) bool {
		if incs[i].Severity != incs[j].Severity {
			return incs[i].Severity < incs[j].Severity
		}
		return incs[i].ID < incs[j].ID
	})
	lang := ""
	if c, ok := p.engine.Policy().Contact(batch[0].ContactID); ok {
		lang = c.Language
	}
	if len(incs) == 1 {
		return escalation.FormatPage(incs[0], lang)
	}
	return escalation.FormatDigest(incs, lang)
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
