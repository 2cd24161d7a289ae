package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// cmdReport prints the on-call report of the running daemon: per service
// MTTA and MTTR (p50/p95), per person the pages received by business,
// off and sleep hours.
func cmdReport(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("report")
	cf := addClientFlags(fs)
	since := fs.String("since", "30d", "how far back: incidents created in this span (30d, 12h, ...)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args, out); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("report", "unexpected argument %q", fs.Arg(0))
	}
	if d, err := escalation.ParseDuration(*since); err != nil || d <= 0 {
		return fmt.Errorf("--since %q: want a positive duration such as 30d or 12h", *since)
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	var rep escalation.Report
	if err := c.do(ctx, "GET", "/api/v1/report?since="+url.QueryEscape(*since), nil, &rep); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(out, rep)
	}
	return printReport(out, rep, *since, c.zone(ctx))
}

func printReport(out io.Writer, rep escalation.Report, span string, loc *time.Location) error {
	w := output()
	fmt.Fprintf(out, w.ReportHead+"\n\n",
		rep.Since.In(loc).Format("2006-01-02 15:04 MST"), rep.Until.In(loc).Format("2006-01-02 15:04 MST"), span)
	tw := w.table(out)
	fmt.Fprintln(tw, w.ReportServices)
	for _, s := range rep.Services {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%d\t%s\t%s\n", s.Service, s.Incidents,
			s.MTTA.N, w.span(s.MTTA, s.MTTA.P50), w.span(s.MTTA, s.MTTA.P95),
			s.MTTR.N, w.span(s.MTTR, s.MTTR.P50), w.span(s.MTTR, s.MTTR.P95))
	}
	if len(rep.Services) == 0 {
		fmt.Fprintln(tw, w.ReportNoIncidents)
	}
	tw.Flush()
	fmt.Fprintln(out, "\n"+w.ReportPagesHead)
	tw = w.table(out)
	fmt.Fprintln(tw, w.ReportPeople)
	for _, p := range rep.People {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\n", p.Contact, p.TimeZone, p.Pages, p.Business, p.Off, p.Sleep)
	}
	if len(rep.People) == 0 {
		fmt.Fprintln(tw, w.ReportNoPages)
	}
	return tw.Flush()
}

// span is one percentile of a report, or "-" when nothing was measured.
func (w outputWords) span(p escalation.Percentiles, d time.Duration) string {
	if p.N == 0 {
		return "-"
	}
	return w.dur(d)
}
