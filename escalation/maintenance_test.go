package escalation

import (
	"testing"
	"time"
)

func TestInMaintenance(t *testing.T) {
	tokyo := mustZone("Asia/Tokyo")
	jst := func(d, hm string) time.Time { return at(t, "Asia/Tokyo", d+" "+hm) }
	ptr := func(t time.Time) *time.Time { return &t }
	p := &Policy{
		Settings: Settings{TimeZone: "Asia/Tokyo"},
		Maintenance: []Maintenance{
			{Service: "press", Weekly: &Restriction{Days: []string{"sun"}, From: "02:00", To: "04:00"}},
			{Service: "press", Start: ptr(jst("2026-11-10", "10:00")), End: ptr(jst("2026-11-10", "12:00"))},
			// Back to back with the one above: maintenance lasts until 13:00.
			{Service: "press", Start: ptr(jst("2026-11-10", "12:00")), End: ptr(jst("2026-11-10", "13:00"))},
			{Service: "night", Weekly: &Restriction{Days: []string{"fri"}, From: "22:00", To: "06:00"}},
			{Service: "utc", Weekly: &Restriction{From: "00:00", To: "01:00"}, TimeZone: "UTC"},
			{Service: "open", End: ptr(jst("2026-11-01", "00:00"))},
			{Service: "broken", Weekly: &Restriction{Days: []string{"someday"}, From: "00:00", To: "23:00"}},
		},
	}
	tests := []struct {
		name      string
		service   string
		t         time.Time
		wantIn    bool
		wantUntil time.Time
	}{
		{"weekly inside", "press", jst("2026-11-08", "02:00"), true, jst("2026-11-08", "04:00")},
		{"weekly last minute", "press", jst("2026-11-08", "03:59"), true, jst("2026-11-08", "04:00")},
		{"weekly end is outside", "press", jst("2026-11-08", "04:00"), false, time.Time{}},
		{"weekly other day", "press", jst("2026-11-09", "02:30"), false, time.Time{}},
		{"one-off before", "press", jst("2026-11-10", "09:59"), false, time.Time{}},
		{"one-off chained", "press", jst("2026-11-10", "10:00"), true, jst("2026-11-10", "13:00")},
		{"one-off second", "press", jst("2026-11-10", "12:30"), true, jst("2026-11-10", "13:00")},
		{"one-off after", "press", jst("2026-11-10", "13:00"), false, time.Time{}},
		{"over midnight friday", "night", jst("2026-11-06", "23:00"), true, jst("2026-11-07", "06:00")},
		{"over midnight saturday", "night", jst("2026-11-07", "05:00"), true, jst("2026-11-07", "06:00")},
		{"over midnight not thursday", "night", jst("2026-11-06", "05:00"), false, time.Time{}},
		{"own zone", "utc", time.Date(2026, 11, 3, 0, 30, 0, 0, time.UTC), true, time.Date(2026, 11, 3, 1, 0, 0, 0, time.UTC)},
		{"own zone, not Tokyo midnight", "utc", time.Date(2026, 11, 3, 0, 30, 0, 0, tokyo), false, time.Time{}},
		{"no start", "open", jst("2020-01-01", "00:00"), true, jst("2026-11-01", "00:00")},
		{"unreadable never matches", "broken", jst("2026-11-08", "12:00"), false, time.Time{}},
		{"unknown service", "other", jst("2026-11-08", "02:00"), false, time.Time{}},
	}
	for _, tt := range tests {
		in, until := p.InMaintenance(tt.service, tt.t)
		if in != tt.wantIn || !until.Equal(tt.wantUntil) {
			t.Errorf("%s: InMaintenance(%q, %v) = %v, %v; want %v, %v", tt.name, tt.service, tt.t, in, until, tt.wantIn, tt.wantUntil)
		}
	}
}

func TestInMaintenanceAlways(t *testing.T) {
	// A window covering the whole week is followed to the end of what one
	// call looks at, never forever.
	p := &Policy{Maintenance: []Maintenance{{Service: "s", Weekly: &Restriction{From: "00:00", To: "00:00"}}}}
	now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	in, until := p.InMaintenance("s", now)
	if !in || !until.After(now.Add(7*24*time.Hour)) {
		t.Errorf("InMaintenance = %v, %v; want true until more than a week on", in, until)
	}
}
