package escalation_test

import (
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/tocsin-relay/tocsin/escalation"
)

func TestClassifyHour(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err) // time/tzdata is linked in: the zone is always there
	}
	// 2026-11-02 is a Monday.
	at := func(day, hh, mm int) time.Time { return time.Date(2026, 11, day, hh, mm, 0, 0, tokyo) }
	tests := []struct {
		name string
		t    time.Time
		want escalation.HourClass
	}{
		{"Monday 09:00", at(2, 9, 0), escalation.BusinessHours},
		{"Monday 08:59", at(2, 8, 59), escalation.OffHours},
		{"Friday 17:59", at(6, 17, 59), escalation.BusinessHours},
		{"Friday 18:00", at(6, 18, 0), escalation.OffHours},
		{"Tuesday 21:59", at(3, 21, 59), escalation.OffHours},
		{"Tuesday 22:00", at(3, 22, 0), escalation.SleepHours},
		{"Wednesday 03:00", at(4, 3, 0), escalation.SleepHours},
		{"Wednesday 06:59", at(4, 6, 59), escalation.SleepHours},
		{"Wednesday 07:00", at(4, 7, 0), escalation.OffHours},
		{"Saturday 10:00", at(7, 10, 0), escalation.OffHours},
		{"Sunday 23:00", at(8, 23, 0), escalation.SleepHours},
		// The class is judged in the person's zone, not the instant's.
		{"Monday 10:00 JST given in UTC", at(2, 10, 0).UTC(), escalation.BusinessHours},
	}
	for _, tt := range tests {
		if got := escalation.ClassifyHour(tt.t, tokyo); got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestPercentilesOf(t *testing.T) {
	mins := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Minute
		}
		return out
	}
	seq := func(n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = n - i // descending: the input order must not matter
		}
		return out
	}
	tests := []struct {
		name     string
		in       []time.Duration
		p50, p95 time.Duration
	}{
		{"none", nil, 0, 0},
		{"one", mins(7), 7 * time.Minute, 7 * time.Minute},
		{"two", mins(10, 2), 2 * time.Minute, 10 * time.Minute},
		{"three", mins(60, 5, 30), 30 * time.Minute, 60 * time.Minute},
		{"1..20", mins(seq(20)...), 10 * time.Minute, 19 * time.Minute},
		{"1..100", mins(seq(100)...), 50 * time.Minute, 95 * time.Minute},
	}
	for _, tt := range tests {
		got := escalation.PercentilesOf(tt.in)
		if got.P50 != tt.p50 || got.P95 != tt.p95 || got.N != len(tt.in) {
			t.Errorf("%s: got n=%d p50=%s p95=%s, want n=%d p50=%s p95=%s", tt.name, got.N, got.P50, got.P95, len(tt.in), tt.p50, tt.p95)
		}
	}
}

func TestReportPeopleOrderAndZones(t *testing.T) {
	p := &escalation.Policy{
		Schedules: []escalation.Schedule{{ID: "s", TimeZone: "America/New_York",
			Layers: []escalation.Layer{{Members: []string{"ny"}}}}},
		Settings: escalation.Settings{TimeZone: "Asia/Tokyo"},
	}
	// 2026-11-02 14:00 UTC: Monday 09:00 in New York, 23:00 in Tokyo.
	at := time.Date(2026, 11, 2, 14, 0, 0, 0, time.UTC)
	pages := []escalation.PageRecord{
		{ContactID: "ny", Channel: escalation.SMS, At: at},
		{ContactID: "ny", Channel: escalation.SMS, At: at.Add(time.Hour)},
		{ContactID: "tokyo", Channel: escalation.SMS, At: at},
	}
	b := escalation.NewReportBuilder(at.Add(-time.Hour), at.Add(time.Hour), escalation.ContactZones(p))
	for _, pg := range pages {
		b.AddPage(pg)
	}
	r := b.Report()
	want := []escalation.PersonReport{
		{Contact: "tokyo", TimeZone: "Asia/Tokyo", Pages: 1, Sleep: 1},
		{Contact: "ny", TimeZone: "America/New_York", Pages: 2, Business: 2},
	}
	if len(r.People) != len(want) {
		t.Fatalf("people = %+v, want %+v", r.People, want)
	}
	for i := range want {
		if r.People[i] != want[i] {
			t.Errorf("people[%d] = %+v, want %+v", i, r.People[i], want[i])
		}
	}
}
