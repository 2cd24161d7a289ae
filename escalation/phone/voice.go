package phone

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/modem"
)

// Caller places voice calls. *modem.Modem implements it.
type Caller interface {
	Call(ctx context.Context, number string, opts modem.CallOptions) (modem.CallResult, error)
}

// Callbacks is what a call-back acknowledgement acts on.
type Callbacks interface {
	Callback(ctx context.Context, number string) (escalation.ReplyResult, error)
}

// callLoop places queued calls one at a time until ctx ends. It runs
// beside the SMS loop: the modem interleaves SMS with a call in progress.
// Like the SMS loop it claims nothing while the modem is not up, and a call
// the modem could not place waits for it uncounted, keeping its place in the
// queue (most severe, then oldest, first).
func (p *Phone) callLoop(ctx context.Context, caller Caller) {
	var w waiter
	for {
		if !p.awaitModem(ctx, escalation.Voice, p.wakeVoice) {
			return
		}
		busy, err := p.callOne(ctx, caller, &w)
		if err != nil {
			p.log.Error("voice outbox", "err", err)
		}
		if busy {
			continue
		}
		if w.waiting {
			if !w.pause(ctx, p.modem) {
				return
			}
			continue
		}
		// A call to retry comes due with nothing to wake the loop: wait
		// for its time, not for the next minute.
		next, ok, err := p.outbox.NextChannelRetry(ctx, escalation.Voice)
		if !escalation.IdleUntil(ctx, p.wakeVoice, next, ok && err == nil) {
			return
		}
	}
}

// speech is what the module says when the call is answered (English only:
// the modules' speech engines speak nothing else, and the modem layer keeps
// at most 200 printable ASCII characters). The key options come before the
// summary, so a long or Japanese summary can never cut them off.
func speech(inc escalation.Incident) string {
	drill := ""
	if inc.Drill {
		drill = "This is a drill. "
	}
	return fmt.Sprintf("%sTocsin alert, incident %d, %s. Press 4 to acknowledge, 6 to resolve. %s: %s.",
		drill, inc.ID, inc.Severity, inc.Service, inc.Summary)
}

// callOne claims one queued call and places it. An answered call is not an
// acknowledgement by itself (voicemail answers too): only the keys 4 and 6
// act. A call nobody took (busy, no answer, rejected) moves the incident on
// to its next level at once.
func (p *Phone) callOne(ctx context.Context, caller Caller, w *waiter) (bool, error) {
	batch, err := p.outbox.Claim(ctx, escalation.Voice, 0, time.Now())
	if err != nil || len(batch) == 0 {
		w.waiting = false // nothing to wait with: idle until woken
		return false, err
	}
	n := batch[0]
	inc, err := p.engine.Incident(ctx, n.IncidentID)
	if err != nil {
		return true, p.outbox.Finish(ctx, []int64{n.ID}, escalation.Outcome{Status: escalation.Failed, Error: err.Error()}, time.Now())
	}
	who := n.ContactID
	var (
		mu    sync.Mutex
		acted string
	)
	opts := modem.CallOptions{
		RingTimeout: p.opts.RingTimeout,
		Speech:      speech(inc),
		OnKey: func(key byte) bool {
			var to escalation.Status
			switch key {
			case '4':
				to = escalation.Acknowledged
			case '6':
				to = escalation.Resolved
			default:
				return false // other keys change nothing; the call goes on
			}
			if _, err := p.engine.Transition(ctx, inc.ID, to, who, "dtmf"); err != nil && escalation.KindOf(err) != escalation.Conflict {
				p.log.Error("key during call", "incident", inc.ID, "key", string(key), "err", err)
				return false
			}
			mu.Lock()
			acted = string(to)
			mu.Unlock()
			return true
		},
	}
	p.log.Info("calling", "to", n.Number, "contact", who, "incident", inc.ID)
	res, err := caller.Call(ctx, n.Number, opts)
	now := time.Now()
	var steps []string
	for _, ev := range res.Events {
		if ev.Kind == "key" {
			steps = append(steps, "key "+string(ev.Key))
		} else {
			steps = append(steps, ev.Kind)
		}
	}
	entries := []escalation.TimelineEntry{{At: now, Kind: escalation.KindCall,
		Detail: fmt.Sprintf("call to %s (%s): %s", who, n.Number, strings.Join(steps, ", "))}}
	if err != nil {
		if ctx.Err() != nil {
			return false, nil
		}
		msg := err.Error()
		p.lastErr.Store(&msg)
		verdict := ClassifyCall(err)
		if verdict == escalation.Wait {
			w.wait()
			p.log.Warn("call waits for the modem", "to", n.Number, "incident", inc.ID, "err", err)
			return false, p.outbox.Release(ctx, []int64{n.ID}, fmt.Sprintf("call to %s waiting for the modem: %s", who, msg), time.Time{}, now)
		}
		w.done()
		retry := verdict == escalation.Retry && n.Attempts < p.opts.MaxAttempts
		o := escalation.Outcome{Status: escalation.Failed, Error: msg,
			Timeline: fmt.Sprintf("call to %s failed: %s", who, msg)}
		if retry {
			o.Status, o.RetryAt = escalation.Queued, now.Add(30*time.Second)
			o.Timeline += "; retrying in 30s"
		}
		if err := p.outbox.Finish(ctx, []int64{n.ID}, o, now); err != nil {
			return true, err
		}
		if !retry {
			p.moveOn(ctx, inc.ID, n.Level)
		}
		return true, nil
	}
	w.done()
	p.engine.AddTimeline(ctx, inc.ID, entries...)
	mu.Lock()
	did := acted
	mu.Unlock()
	o := escalation.Outcome{Status: escalation.Sent, Ref: string(res.Outcome)}
	switch {
	case did != "":
		o.Timeline = fmt.Sprintf("call to %s answered; %s by key", who, did)
	case res.Answered:
		o.Timeline = fmt.Sprintf("call to %s answered without a key: not an acknowledgement", who)
	default:
		o.Status = escalation.Failed
		o.Error = string(res.Outcome)
		o.Timeline = fmt.Sprintf("call to %s not answered (%s)", who, res.Outcome)
	}
	if err := p.outbox.Finish(ctx, []int64{n.ID}, o, now); err != nil {
		return true, err
	}
	// Logged once the outcome is committed.
	p.log.Info("call ended", "to", n.Number, "outcome", res.Outcome, "keys", res.Keys, "acted", did)
	if o.Status == escalation.Failed {
		p.moveOn(ctx, inc.ID, n.Level)
	}
	return true, nil
}

// moveOn escalates an incident whose page from level could not be
// delivered, without waiting out the level's delay. If the incident has
// moved past that level already (another failed page of the same level did
// it), nothing more happens.
func (p *Phone) moveOn(ctx context.Context, id int64, level int) {
	inc, err := p.engine.Incident(ctx, id)
	if err != nil || inc.Status != escalation.Triggered || inc.Level != level {
		return
	}
	if _, err := p.engine.Escalate(ctx, id, "delivery failure"); err != nil && escalation.KindOf(err) != escalation.Conflict {
		p.log.Error("escalate after failed page", "incident", id, "err", err)
	}
}

// HandleIncomingCall is the modem's handler for a ringing incoming call. A
// contact who opted in to call-back acknowledgement is rejected (hangUp)
// and acknowledges what is paging them; a confirmation SMS follows. The
// modem reports every ring, so one call is acted on once.
func (p *Phone) HandleIncomingCall(ctx context.Context, number string, hangUp func(ctx context.Context) error) {
	p.ringMu.Lock()
	if p.lastRing == number && time.Since(p.lastRingAt) < time.Minute {
		p.ringMu.Unlock()
		return
	}
	p.lastRing, p.lastRingAt = number, time.Now()
	p.ringMu.Unlock()
	cb, ok := p.engine.(Callbacks)
	if !ok {
		return
	}
	res, err := cb.Callback(ctx, number)
	switch {
	case err != nil:
		p.log.Error("call-back acknowledgement", "from", number, "err", err)
	case !res.Known:
		p.log.Warn("call from unknown number ignored", "from", number)
		return
	case !res.Contact.CallbackAck:
		p.log.Info("call from a contact without call-back acknowledgement; ignored", "from", number, "contact", res.Contact.ID)
		return
	default:
		p.log.Info("call-back acknowledgement", "from", number, "contact", res.Contact.ID, "incidents", res.IDs)
	}
	if err := hangUp(ctx); err != nil {
		p.log.Warn("reject call", "from", number, "err", err)
	}
	p.Wake()
}
