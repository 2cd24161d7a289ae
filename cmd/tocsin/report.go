package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/httpapi"
)

// defaultReportSpan is how far back `tocsin report` looks by default.
const defaultReportSpan = 30 * 24 * time.Hour

// mountReport adds GET /api/v1/report?since=30d: the on-call report of
// the incidents created in the span, computed from the live database.
func (d *daemon) mountReport(srv *httpapi.Server) {
	srv.Handle("GET /api/v1/report", srv.Authenticated(func(w http.ResponseWriter, r *http.Request) {
		span := defaultReportSpan
		if v := r.URL.Query().Get("since"); v != "" {
			s, err := escalation.ParseDuration(v)
			if err != nil || s <= 0 {
				writeJSONError(w, http.StatusBadRequest, fmt.Sprintf("since %q: want a positive duration such as 30d or 12h", v), "since")
				return
			}
			span = s
		}
		until := time.Now()
		since := until.Add(-span)
		incs, pages, err := d.db.ReportData(r.Context(), since, until)
		if err != nil {
			writeJSONError(w, http.StatusServiceUnavailable, err.Error(), "")
			return
		}
		rep := escalation.BuildReport(since, until, incs, pages, escalation.ContactZones(d.engine.Policy()))
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(rep)
	}))
}

func writeJSONError(w http.ResponseWriter, code int, msg, field string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg, "field": field})
}

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
