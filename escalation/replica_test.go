package escalation_test

import (
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

func rec(status escalation.Status, ackAt *time.Time, tl ...escalation.TimelineEntry) escalation.IncidentRecord {
	return escalation.IncidentRecord{Incident: escalation.Incident{ID: 7, Status: status, AcknowledgedAt: ackAt, AlertCount: 1}, Timeline: tl}
}

// TestMergeIncidentHealRule: resolved over acknowledged over triggered,
// the earliest ack kept, timelines unioned, the same result whichever box
// merges.
func TestMergeIncidentHealRule(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC)
	e := func(s int, kind, d string) escalation.TimelineEntry {
		return escalation.TimelineEntry{At: t0.Add(time.Duration(s) * time.Second), Kind: kind, Detail: d}
	}
	ack1, ack2 := t0.Add(10*time.Second), t0.Add(20*time.Second)
	trig := e(0, escalation.KindTriggered, "critical via api: x")
	a := rec(escalation.Acknowledged, &ack2, trig, e(20, escalation.KindAcknowledged, "acknowledged by b"))
	b := rec(escalation.Acknowledged, &ack1, trig, e(10, escalation.KindAcknowledged, "acknowledged by a"))
	for _, m := range []escalation.IncidentRecord{escalation.MergeIncident(a, b), escalation.MergeIncident(b, a)} {
		if m.Incident.Status != escalation.Acknowledged || !m.Incident.AcknowledgedAt.Equal(ack1) {
			t.Fatalf("merged %+v", m.Incident)
		}
		if len(m.Timeline) != 3 {
			t.Fatalf("timeline %+v", m.Timeline)
		}
	}
	res := rec(escalation.Resolved, nil, trig, e(30, escalation.KindResolved, "resolved"))
	if m := escalation.MergeIncident(a, res); m.Incident.Status != escalation.Resolved || !m.Incident.AcknowledgedAt.Equal(ack2) {
		t.Fatalf("resolved loses: %+v", m.Incident)
	}
	if m := escalation.MergeIncident(res, rec(escalation.Triggered, nil, trig)); m.Incident.Status != escalation.Resolved {
		t.Fatalf("a stale triggered record reopened: %+v", m.Incident)
	}
	// A re-trigger after an ack timeout is newer than the ack it follows.
	re := rec(escalation.Triggered, nil, trig, e(20, escalation.KindAcknowledged, "acknowledged by b"), e(80, escalation.KindRetriggered, "paging again"))
	if m := escalation.MergeIncident(a, re); m.Incident.Status != escalation.Triggered {
		t.Fatalf("re-trigger lost: %+v", m.Incident)
	}
}

func TestMissingTimelineIsAMultiset(t *testing.T) {
	at := time.Unix(100, 0)
	x := escalation.TimelineEntry{At: at, Kind: "alert", Detail: "same"}
	got := escalation.MissingTimeline([]escalation.TimelineEntry{x}, []escalation.TimelineEntry{x, x})
	if len(got) != 1 {
		t.Fatalf("got %d, want the second copy only", len(got))
	}
	if got := escalation.MissingTimeline([]escalation.TimelineEntry{x, x}, []escalation.TimelineEntry{x}); len(got) != 0 {
		t.Fatalf("got %v", got)
	}
}

func TestMergePage(t *testing.T) {
	tests := []struct{ local, remote, want escalation.NotificationStatus }{
		{escalation.Queued, escalation.Sent, escalation.Sent},
		{escalation.Queued, escalation.Sending, escalation.Queued}, // the twin may die mid-send
		{escalation.Failed, escalation.Sent, escalation.Sent},
		{escalation.Sent, escalation.Failed, escalation.Sent},
		{escalation.Queued, escalation.Failed, escalation.Failed},
	}
	for _, tt := range tests {
		if got := escalation.MergePage(tt.local, tt.remote); got != tt.want {
			t.Errorf("MergePage(%s, %s) = %s, want %s", tt.local, tt.remote, got, tt.want)
		}
	}
}
