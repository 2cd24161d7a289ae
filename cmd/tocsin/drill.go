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
	p := drillProgress{w: output(), zone: time.Local}
	if p.w.ja { // the timeline's details in the console's words, with names
		p.pol, _ = c.policy(ctx)
		p.zone = policyZone(p.pol)
	}
	fmt.Fprintf(out, p.w.DrillHead+"\n", inc.ID, inc.Service)
	fmt.Fprintf(out, "  %s %8s\n", pad(p.w.DrillAccepted, 20), fmtElapsed(time.Since(start)))

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	tick := time.NewTicker(*poll)
	defer tick.Stop()
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
				fmt.Fprintf(out, p.w.DrillPassed+"\n", fmtElapsed(p.ackAt.Sub(p.queuedAt)))
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf(p.w.DrillTimeout, inc.ID, *timeout, inc.ID, p.missing())
		case <-tick.C:
		}
	}
}

// drillProgress follows a drill incident's timeline and reports each step
// once, the first time it is seen, in the words of w.
type drillProgress struct {
	w    outputWords
	pol  *escalation.Policy // for names in Japanese details; may be nil
	zone *time.Location

	queued, sent, done bool
	queuedAt, ackAt    time.Time
	failures           int
}

// update returns the lines for steps newly reached in inc.
func (p *drillProgress) update(inc escalation.Incident) []string {
	var lines []string
	step := func(name string, at time.Time, detail string) {
		lines = append(lines, fmt.Sprintf("  %s %8s  %s", pad(name, 20), fmtElapsed(at.Sub(inc.CreatedAt)), detail))
	}
	detail := func(e escalation.TimelineEntry) string {
		if !p.w.ja {
			return e.Detail
		}
		_, text := p.w.words().Timeline(e, p.pol, time.Now(), p.zone)
		return text
	}
	failed := 0
	for _, e := range inc.Timeline {
		switch {
		case e.Kind == escalation.KindLevel && !p.queued:
			p.queued, p.queuedAt = true, e.At
			step(p.w.DrillQueued, e.At, detail(e))
		case e.Kind == escalation.KindSent && !p.sent:
			p.sent = true
			step(p.w.DrillSent, e.At, detail(e))
		case e.Kind == escalation.KindFailed:
			failed++
			if failed > p.failures {
				p.failures = failed
				step(p.w.DrillFailed, e.At, detail(e))
			}
		}
	}
	if !p.done && inc.AcknowledgedAt != nil {
		p.done, p.ackAt = true, *inc.AcknowledgedAt
		if !p.queued {
			p.queuedAt = inc.CreatedAt
		}
		step(p.w.DrillAcked, *inc.AcknowledgedAt, fmt.Sprintf(p.w.DrillBy, inc.AcknowledgedBy))
	}
	if !p.done && inc.ResolvedAt != nil {
		// Resolved straight away (a "6" reply) answers the page too.
		p.done, p.ackAt = true, *inc.ResolvedAt
		if !p.queued {
			p.queuedAt = inc.CreatedAt
		}
		step(p.w.DrillResolved, *inc.ResolvedAt, fmt.Sprintf(p.w.DrillBy, inc.ResolvedBy))
	}
	return lines
}

// missing names the steps never reached, to say where the path broke.
func (p *drillProgress) missing() string {
	var m []string
	if !p.queued {
		m = append(m, p.w.DrillNoPage)
	}
	if !p.sent {
		m = append(m, p.w.DrillNoSend)
	}
	if len(m) == 0 {
		return ""
	}
	return p.w.DrillSep + strings.Join(m, p.w.DrillSep)
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
