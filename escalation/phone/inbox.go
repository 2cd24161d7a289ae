package phone

import (
	"context"
	"fmt"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/modem"
)

// The inbox has one owner. The modem's inbound goroutine calls HandleSMS,
// which only stores the message (the modem deletes it from its storage once
// HandleSMS returned nil, so the message is durable before it leaves the
// SIM) and wakes the inbox goroutine. That goroutine, started by Run, is the
// only one that reads the stored messages and acts on them, so a reply
// delivered twice (a +CMTI and a ReadStored racing, the same PDU re-read
// after a crash) is stored once — the store ignores a PDU it already has —
// and acted on once. Acting (an acknowledgement, its confirmation) takes
// several database commits; none of them runs on a modem goroutine, so
// RING and DTMF lines are never held behind a reply.
//
// Across a crash the guarantee is at least once: a reply acted on but not
// yet marked processed is read again at the next start; acting again finds
// the incidents already changed and changes nothing.

// Inbox is the store's received-SMS table.
type Inbox interface {
	SaveReceived(ctx context.Context, m escalation.ReceivedSMS) (dup bool, err error)
	Unprocessed(ctx context.Context) ([]escalation.ReceivedSMS, error)
	MarkReceived(ctx context.Context, ids []int64, status, contactID, result string) error
	// ExpireParts marks the parts of multi-part messages received before
	// before, still incomplete, as expired, and returns them.
	ExpireParts(ctx context.Context, before time.Time) ([]escalation.ReceivedSMS, error)
}

// PartsExpireAfter is how long the parts of a multi-part reply wait for the
// rest. A reply completed a day late is no longer an answer to anything
// anyone remembers; it is logged and dropped instead.
const PartsExpireAfter = 24 * time.Hour

// HandleSMS is the modem's handler for a received SMS. It stores the
// message and wakes the inbox goroutine; it acts on nothing itself. An
// error (the database is unavailable) leaves the message in the modem's
// storage for ReadStored to offer again.
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
	if !dup {
		select {
		case p.wakeInbox <- struct{}{}:
		default:
		}
	}
	return nil
}

// inboxLoop is the inbox goroutine: it acts on stored replies at start,
// whenever HandleSMS stored one, and at least hourly (to expire parts of
// multi-part replies that never completed), until ctx ends.
func (p *Phone) inboxLoop(ctx context.Context) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		if err := p.processInbox(ctx, time.Now()); err != nil && ctx.Err() == nil {
			p.log.Error("process replies", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-p.wakeInbox:
		case <-tick.C:
		}
	}
}

// processInbox acts on every stored, complete, unprocessed SMS, oldest
// first, then expires multi-part replies incomplete for PartsExpireAfter.
// Only inboxLoop calls it.
func (p *Phone) processInbox(ctx context.Context, now time.Time) error {
	msgs, err := p.inbox.Unprocessed(ctx)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if err := p.actOn(ctx, m); err != nil {
			return err
		}
	}
	expired, err := p.inbox.ExpireParts(ctx, now.Add(-PartsExpireAfter))
	if err != nil {
		return err
	}
	for _, m := range expired {
		p.log.Warn("incomplete multi-part SMS expired; not acted on", "from", m.Number, "id", m.ID,
			"part", m.ConcatSeq, "of", m.ConcatTotal, "received", m.ReceivedAt.UTC().Format(time.RFC3339), "text", m.Text)
	}
	return nil
}

// actOn acts on one complete message and records what was done with it.
func (p *Phone) actOn(ctx context.Context, m escalation.ReceivedSMS) error {
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
		p.log.Info("SMS reply not understood", "from", m.Number, "contact", res.Contact.ID, "text", m.Text,
			"answered", !res.AnswerDropped)
	default:
		result = fmt.Sprintf("%s %v", res.Reply.Action, res.IDs)
		p.log.Info("SMS reply", "from", m.Number, "contact", res.Contact.ID, "action", res.Reply.Action,
			"incidents", res.IDs, "answered", !res.AnswerDropped)
	}
	if res.AnswerDropped {
		// The bound on answers to one number (escalation.AnswerLimit) kept
		// the answer back: a reply loop must not crowd out pages.
		result += "; answer not sent: answer limit for this number reached"
	}
	if err := p.inbox.MarkReceived(ctx, m.PartIDs, status, res.Contact.ID, result); err != nil {
		return err
	}
	p.Wake()
	return nil
}
