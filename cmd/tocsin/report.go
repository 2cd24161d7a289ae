package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"
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
	fmt.Fprintf(out, "On-call report, incidents created %s – %s (%s)\n\n",
		rep.Since.In(loc).Format("2006-01-02 15:04 MST"), rep.Until.In(loc).Format("2006-01-02 15:04 MST"), span)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tINCIDENTS\tACKED\tMTTA p50\tMTTA p95\tRESOLVED\tMTTR p50\tMTTR p95")
	for _, s := range rep.Services {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%d\t%s\t%s\n", s.Service, s.Incidents,
			s.MTTA.N, fmtSpan(s.MTTA, s.MTTA.P50), fmtSpan(s.MTTA, s.MTTA.P95),
			s.MTTR.N, fmtSpan(s.MTTR, s.MTTR.P50), fmtSpan(s.MTTR, s.MTTR.P95))
	}
	if len(rep.Services) == 0 {
		fmt.Fprintln(tw, "(no incidents)")
	}
	tw.Flush()
	fmt.Fprintln(out, "\nPages received (business = Mon–Fri 09:00–18:00, sleep = 22:00–07:00, in each person's zone):")
	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PERSON\tZONE\tPAGES\tBUSINESS\tOFF HOURS\tSLEEP")
	for _, p := range rep.People {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\n", p.Contact, p.TimeZone, p.Pages, p.Business, p.Off, p.Sleep)
	}
	if len(rep.People) == 0 {
		fmt.Fprintln(tw, "(no pages)")
	}
	return tw.Flush()
}

func fmtSpan(p escalation.Percentiles, d time.Duration) string {
	if p.N == 0 {
		return "-"
	}
	return d.Round(time.Second).String()
}
