package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// cmdDrill runs `tocsin drill`: it opens a drill incident through the real
// path and follows it until someone acknowledges it, printing how long
// each step took. Times after "accepted" come from the incident timeline
// (the daemon's clock), counted from the incident's creation.
func cmdDrill(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("drill")
	cf := addClientFlags(fs)
	service := fs.String("service", "", "service whose contacts are paged (default: the policy's first)")
	timeout := fs.Duration("timeout", 15*time.Minute, "give up when nobody acknowledged within this time")
	poll := fs.Duration("poll", 500*time.Millisecond, "how often to look at the incident")
	if err := parseFlags(fs, args, out); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("drill", "unexpected argument %q", fs.Arg(0))
	}
	if *timeout <= 0 || *poll <= 0 {
		return errors.New("drill: --timeout and --poll must be positive")
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	start := time.Now()
	var inc escalation.Incident
	if err := c.do(ctx, "POST", "/api/v1/drill?service="+url.QueryEscape(*service), nil, &inc); err != nil {
		return err
	}
	fmt.Fprintf(out, "drill: incident #%d on %s\n", inc.ID, inc.Service)
	fmt.Fprintf(out, "  %-20s %8s\n", "accepted", fmtElapsed(time.Since(start)))

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	tick := time.NewTicker(*poll)
	defer tick.Stop()
	var p drillProgress
	for {
		var cur escalation.Incident
		err := c.do(ctx, "GET", fmt.Sprintf("/api/v1/incidents/%d", inc.ID), nil, &cur)
		if err != nil && ctx.Err() == nil {
			return err
		}
		if err == nil {
			for _, line := range p.update(cur) {
				fmt.Fprintln(out, line)
			}
			if p.done {
				fmt.Fprintf(out, "drill passed: acknowledged %s after the page was queued\n", fmtElapsed(p.ackAt.Sub(p.queuedAt)))
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("drill: incident #%d not acknowledged within %s; still open: acknowledge or resolve it with `tocsin resolve %d`%s",
				inc.ID, *timeout, inc.ID, p.missing())
		case <-tick.C:
		}
	}
}

// drillProgress follows a drill incident's timeline and reports each step
// once, the first time it is seen.
type drillProgress struct {
	queued, sent, done bool
	queuedAt, ackAt    time.Time
	failures           int
}

// update returns the lines for steps newly reached in inc.
func (p *drillProgress) update(inc escalation.Incident) []string {
	var lines []string
	step := func(name string, at time.Time, detail string) {
		lines = append(lines, fmt.Sprintf("  %-20s %8s  %s", name, fmtElapsed(at.Sub(inc.CreatedAt)), detail))
	}
	failed := 0
	for _, e := range inc.Timeline {
		switch {
		case e.Kind == escalation.KindLevel && !p.queued:
			p.queued, p.queuedAt = true, e.At
			step("first page queued", e.At, e.Detail)
		case e.Kind == escalation.KindSent && !p.sent:
			p.sent = true
			step("SMS on the wire", e.At, e.Detail)
		case e.Kind == escalation.KindFailed:
			failed++
			if failed > p.failures {
				p.failures = failed
				step("delivery failed", e.At, e.Detail)
			}
		}
	}
	if !p.done && inc.AcknowledgedAt != nil {
		p.done, p.ackAt = true, *inc.AcknowledgedAt
		if !p.queued {
			p.queuedAt = inc.CreatedAt
		}
		step("acknowledged", *inc.AcknowledgedAt, "by "+inc.AcknowledgedBy)
	}
	if !p.done && inc.ResolvedAt != nil {
		// Resolved straight away (a "6" reply) answers the page too.
		p.done, p.ackAt = true, *inc.ResolvedAt
		if !p.queued {
			p.queuedAt = inc.CreatedAt
		}
		step("resolved", *inc.ResolvedAt, "by "+inc.ResolvedBy)
	}
	return lines
}

// missing names the steps never reached, to say where the path broke.
func (p *drillProgress) missing() string {
	var m []string
	if !p.queued {
		m = append(m, "no page was queued (is anyone on call for the service?)")
	}
	if !p.sent {
		m = append(m, "no message reached the network (look at `tocsin status` for the modem)")
	}
	if len(m) == 0 {
		return ""
	}
	return "; " + strings.Join(m, "; ")
}

func fmtElapsed(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("+%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("+%.1fs", d.Seconds())
	}
	return "+" + d.Round(time.Second).String()
}
