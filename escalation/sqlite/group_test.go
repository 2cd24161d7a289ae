package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// TestGroupTriggerSetsCountAndSummary: an alert group's triggers
// (Event.Alerts > 0) set the incident's alert count and summary to the
// group's latest word, so that they agree as the group shrinks; single
// alerts add one each and keep the summary people were paged with.
func TestGroupTriggerSetsCountAndSummary(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	now := time.Now()
	group := func(n int, summary string) escalation.Event {
		return escalation.Event{Service: "press", DedupKey: "group", Action: escalation.Trigger, Intake: "alertmanager",
			Summary: summary, Severity: escalation.SevCritical, Alerts: n}
	}
	check := func(what string, id int64, wantCount int, wantSummary string) {
		t.Helper()
		inc, err := db.Incident(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if inc.AlertCount != wantCount || inc.Summary != wantSummary {
			t.Errorf("%s: alert count %d, summary %q; want %d, %q", what, inc.AlertCount, inc.Summary, wantCount, wantSummary)
		}
	}
	res, err := db.Ingest(ctx, group(3, "Pressure low (3 alerts)"), 0, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("a group of three", res.IncidentID, 3, "Pressure low (3 alerts)")
	if _, err := db.Ingest(ctx, group(2, "Pressure low (2 alerts)"), 0, now.Add(time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	check("one of them resolved", res.IncidentID, 2, "Pressure low (2 alerts)")

	single := trigger("single", escalation.SevError)
	first, err := db.Ingest(ctx, single, 0, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	again := single
	again.Summary = "something else"
	if _, err := db.Ingest(ctx, again, 0, now.Add(time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	check("a single alert twice", first.IncidentID, 2, single.Summary)
}
