package phone

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/modem"
)

// Reports is the store's side of delivery reports (TS 23.040 status
// reports): which sent SMS a report is about, recording it, and the pages
// still waiting for one.
type Reports interface {
	ReportedPage(ctx context.Context, number string, ref int) (escalation.SentPage, bool, error)
	RecordReport(ctx context.Context, p escalation.SentPage, r escalation.DeliveryReport, now time.Time) (bool, error)
	Unreported(ctx context.Context, cutoff time.Time) ([]escalation.SentPage, error)
	NextUnreported(ctx context.Context) (time.Time, bool, error)
}

// reportQueue hands reports from the modem's URC dispatcher to the report
// loop without ever blocking the dispatcher (RING and key presses travel
// the same way) and without dropping a report.
type reportQueue struct {
	mu   sync.Mutex // guards q
	q    []modem.StatusReport
	wake chan struct{}
}

func (rq *reportQueue) push(r modem.StatusReport) {
	rq.mu.Lock()
	rq.q = append(rq.q, r)
	rq.mu.Unlock()
	select {
	case rq.wake <- struct{}{}:
	default:
	}
}

func (rq *reportQueue) take() []modem.StatusReport {
	rq.mu.Lock()
	defer rq.mu.Unlock()
	q := rq.q
	rq.q = nil
	return q
}

// HandleReport is the modem's handler for delivery reports. It only
// queues the report: the report loop records it.
func (p *Phone) HandleReport(_ context.Context, r modem.StatusReport) {
	p.reportQ.push(r)
}

// reportLoop records delivery reports as they come and, with
// settings.undelivered_after, fails the pages whose report never came. It
// is the only goroutine that acts on reports.
func (p *Phone) reportLoop(ctx context.Context) {
	if p.reports == nil {
		return
	}
	for {
		for _, r := range p.reportQ.take() {
			p.report(ctx, r)
		}
		wait := p.sweepUnreported(ctx)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-p.reportQ.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// report records one status report on the page it is about.
func (p *Phone) report(ctx context.Context, r modem.StatusReport) {
	if !r.Final() {
		p.log.Info("SMS not delivered yet; the network keeps trying", "to", r.Recipient, "ref", r.Ref, "status", r.Reason())
		return
	}
	page, ok, err := p.reports.ReportedPage(ctx, r.Recipient, r.Ref)
	if err != nil {
		p.log.Error("delivery report", "to", r.Recipient, "ref", r.Ref, "err", err)
		return
	}
	if !ok {
		p.log.Info("delivery report for no pending page", "to", r.Recipient, "ref", r.Ref, "status", r.Reason())
		return
	}
	now := time.Now()
	at := r.DoneAt
	if at.IsZero() || at.Before(page.SentAt.Add(-time.Minute)) || at.After(now.Add(time.Minute)) {
		at = now // the network's clock is off: use ours
	}
	who := p.who(page)
	dr := escalation.DeliveryReport{Delivered: r.Delivered(), Reason: r.Reason(), At: at}
	if dr.Delivered {
		after := max(at.Sub(page.SentAt), 0).Round(time.Second)
		dr.Timeline = fmt.Sprintf("SMS to %s delivered to the handset at %s (after %s)", who, p.clock(at), after)
	} else {
		dr.Timeline = fmt.Sprintf("SMS to %s not delivered: %s", who, dr.Reason)
	}
	settled, err := p.reports.RecordReport(ctx, page, dr, now)
	if err != nil {
		p.log.Error("record delivery report", "to", r.Recipient, "ref", r.Ref, "err", err)
		return
	}
	if !settled {
		return
	}
	p.log.Info("delivery report", "to", page.Number, "contact", page.ContactID, "ref", r.Ref, "delivered", dr.Delivered, "status", dr.Reason)
	if !dr.Delivered {
		p.failedPage(ctx, page)
	}
}

// sweepUnreported fails the pages without a report after
// settings.undelivered_after and returns how long until the next one is
// due (a minute when the setting is off or nothing waits).
func (p *Phone) sweepUnreported(ctx context.Context) time.Duration {
	limit := p.engine.Policy().Settings.UndeliveredAfter.D()
	if limit <= 0 {
		return time.Minute // the policy may switch it on
	}
	now := time.Now()
	pages, err := p.reports.Unreported(ctx, now.Add(-limit))
	if err != nil {
		p.log.Error("pages without a delivery report", "err", err)
		return time.Minute
	}
	for _, page := range pages {
		dr := escalation.DeliveryReport{
			Reason:   fmt.Sprintf("no delivery report within %s", limit),
			At:       now,
			Timeline: fmt.Sprintf("SMS to %s: no delivery report within %s; counted as not delivered", p.who(page), limit),
		}
		settled, err := p.reports.RecordReport(ctx, page, dr, now)
		if err != nil {
			p.log.Error("record missing delivery report", "to", page.Number, "err", err)
			continue
		}
		if settled {
			p.log.Warn("no delivery report; page counted as failed", "to", page.Number, "contact", page.ContactID, "after", limit)
			p.failedPage(ctx, page)
		}
	}
	next, ok, err := p.reports.NextUnreported(ctx)
	if err != nil || !ok {
		return time.Minute
	}
	return min(max(time.Until(next.Add(limit)), 10*time.Millisecond), time.Minute)
}

// failedPage moves every incident a failed page was about to its next
// level now, as after a busy or unanswered call.
func (p *Phone) failedPage(ctx context.Context, page escalation.SentPage) {
	if page.Level == 0 {
		return
	}
	p.failed.Add(1)
	for _, id := range page.Covers {
		p.moveOn(ctx, id, page.Level)
	}
}

func (p *Phone) who(page escalation.SentPage) string {
	if page.ContactID == "" {
		return page.Number
	}
	return page.ContactID
}

// clock formats t in the policy's time zone, with the zone's name.
func (p *Phone) clock(t time.Time) string {
	loc := time.Local
	if z := p.engine.Policy().Settings.TimeZone; z != "" {
		if l, err := escalation.LoadZone(z); err == nil {
			loc = l
		}
	}
	return t.In(loc).Format("15:04:05 MST")
}
