// Package phone delivers pages through a cellular modem and turns what comes
// back — SMS replies, and in calls DTMF keys — into acknowledgements.
//
// It owns the outbox worker: the single goroutine that takes queued
// notifications from the store (most severe first), folds several pages to
// one person into a digest, sends them through the modem and records each
// outcome. Incoming SMS are stored before the modem deletes them and acted
// on from the store, so a reply survives a crash at any point.
package phone

import (
	"context"
	"errors"
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

// Modem sends SMS. *modem.Modem implements it.
type Modem interface {
	SendSMS(ctx context.Context, number, text string) ([]int, error)
}

// Outbox is the store's notification queue.
type Outbox interface {
	Claim(ctx context.Context, ch escalation.Channel, perMinute int, now time.Time) ([]escalation.Notification, error)
	Finish(ctx context.Context, ids []int64, o escalation.Outcome, now time.Time) error
	RequeueInterrupted(ctx context.Context, now time.Time) (int, error)
	NextRetry(ctx context.Context) (time.Time, bool, error)
}

// Inbox is the store's received-SMS table.
type Inbox interface {
	SaveReceived(ctx context.Context, m escalation.ReceivedSMS) (dup bool, err error)
	Unprocessed(ctx context.Context) ([]escalation.ReceivedSMS, error)
	MarkReceived(ctx context.Context, ids []int64, status, contactID, result string) error
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
	// MaxAttempts before a message is given up. Default 4.
	MaxAttempts int
	// RingTimeout is how long a call may ring (SPEC §7). Default 45s.
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
	reports   Reports     // nil: delivery reports are not recorded
	reportQ   reportQueue // from the URC dispatcher to reportLoop

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
		wake: make(chan struct{}, 1), wakeVoice: make(chan struct{}, 1),
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
type Stats struct {
	Sent      int64  `json:"sent"`
	Failed    int64  `json:"failed"`
	LastError string `json:"last_error,omitempty"`
}

// Stats returns delivery counters.
func (p *Phone) Stats() Stats {
	s := Stats{Sent: p.sent.Load(), Failed: p.failed.Load()}
	if e := p.lastErr.Load(); e != nil {
		s.LastError = *e
	}
	return s
}

// Run sends queued messages until ctx ends. Messages a crash left half-sent
// are queued again first, and replies stored but not yet acted on are
// processed.
func (p *Phone) Run(ctx context.Context) error {
	if n, err := p.outbox.RequeueInterrupted(ctx, time.Now()); err != nil {
		return err
	} else if n > 0 {
		p.log.Warn("messages interrupted by a restart queued again", "count", n)
	}
	if err := p.ProcessInbox(ctx); err != nil {
		p.log.Error("process stored replies", "err", err)
	}
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
	for {
		if ctx.Err() != nil {
			return nil
		}
		busy, err := p.sendOne(ctx)
		if err != nil {
			p.log.Error("outbox", "err", err)
		}
		if busy {
			continue
		}
		wait := time.Minute
		if t, ok, err := p.outbox.NextRetry(ctx); err == nil && ok {
			wait = min(max(time.Until(t), 10*time.Millisecond), wait)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-p.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// sendOne claims and sends one SMS (or digest). It reports whether it did
// anything, so the caller loops until the queue is empty.
func (p *Phone) sendOne(ctx context.Context) (bool, error) {
	now := time.Now()
	batch, err := p.outbox.Claim(ctx, escalation.SMS, p.opts.PerMinute, now)
	if err != nil || len(batch) == 0 {
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
	retry := first.Attempts < p.opts.MaxAttempts && modem.Temporary(err)
	var cms *modem.CMSError
	if errors.As(err, &cms) && cms.Code == 500 {
		// "Unknown error" may mean the SMS left anyway. The modem has
		// already retried it once; sending it again could page twice.
		retry = false
	}
	if retry {
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

// HandleSMS is the modem's handler for a received SMS: it stores the
// message (the modem deletes it only after this returns nil) and then acts
// on every complete message in the inbox.
func (p *Phone) HandleSMS(ctx context.Context, msg modem.InboundSMS) error {
	r := escalation.ReceivedSMS{
		ReceivedAt: time.Now(),
		Number:     msg.From,
		Text:       msg.Text,
		PDU:        msg.PDU,
		SentAt:     msg.SentAt,
	}
	if msg.Concat != nil {
		r.ConcatRef, r.ConcatTotal, r.ConcatSeq = msg.Concat.Ref, msg.Concat.Total, msg.Concat.Seq
	}
	if msg.DecodeErr != nil {
		r.Text = ""
		p.log.Warn("undecodable SMS stored", "from", msg.From, "err", msg.DecodeErr)
	}
	dup, err := p.inbox.SaveReceived(ctx, r)
	if err != nil {
		return err
	}
	if dup {
		return nil // seen before a crash; already stored
	}
	if err := p.ProcessInbox(ctx); err != nil {
		p.log.Error("process replies", "err", err)
	}
	return nil
}

// ProcessInbox acts on every stored, complete, unprocessed SMS.
func (p *Phone) ProcessInbox(ctx context.Context) error {
	msgs, err := p.inbox.Unprocessed(ctx)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		res, err := p.engine.Reply(ctx, m.Number, m.Text, "sms")
		if err != nil {
			return err
		}
		status, result := "processed", ""
		switch {
		case !res.Known:
			status, result = "ignored", "unknown sender"
			p.log.Warn("SMS from unknown number ignored", "from", m.Number, "text", m.Text)
		case res.Err != nil:
			result = "not understood: " + res.Err.Error()
			p.log.Info("SMS reply not understood", "from", m.Number, "contact", res.Contact.ID, "text", m.Text)
		default:
			result = fmt.Sprintf("%s %v", res.Reply.Action, res.IDs)
			p.log.Info("SMS reply", "from", m.Number, "contact", res.Contact.ID, "action", res.Reply.Action, "incidents", res.IDs)
		}
		if err := p.inbox.MarkReceived(ctx, m.PartIDs, status, res.Contact.ID, result); err != nil {
			return err
		}
		p.Wake()
	}
	return nil
}
