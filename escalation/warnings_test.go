package escalation

import (
	"strings"
	"testing"
	"time"
)

func TestPolicyWarnings(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	base := func() *Policy {
		return &Policy{
			Contacts: []Contact{{ID: "tanaka", Phone: "+819012345678"}, {ID: "suzuki", Phone: "+819087654321"}},
			Services: []Service{{ID: "line", EscalationPolicy: "ep"}, {ID: SelfService, EscalationPolicy: "ep"}},
			Schedules: []Schedule{{ID: "week", TimeZone: "Asia/Tokyo",
				Layers:    []Layer{{Rotation: "weekly", Start: "2026-11-02 09:00", Members: []string{"suzuki"}}},
				Overrides: []Override{{Contact: "tanaka", Start: at("2026-12-01T18:00:00+09:00"), End: at("2026-12-02T09:00:00+09:00")}}}},
			EscalationPolicies: []EscalationPolicy{{ID: "ep", Levels: []Level{{Notify: []Target{{Schedule: "week"}}}}}},
		}
	}
	if w := base().Warnings(); len(w) != 0 {
		t.Fatalf("a sound policy has warnings: %v", w)
	}
	for _, tt := range []struct {
		name string
		edit func(p *Policy)
		want string
	}{
		{"no tocsin service", func(p *Policy) { p.Services = p.Services[:1] }, `services: no "tocsin" service`},
		{"unreachable contact", func(p *Policy) { p.Schedules[0].Overrides = nil }, `contacts[0]: contact "tanaka" is in no escalation level`},
		{"overlapping overrides", func(p *Policy) {
			p.Schedules[0].Overrides = append(p.Schedules[0].Overrides, Override{Contact: "tanaka", Start: at("2026-12-02T08:00:00+09:00"), End: at("2026-12-02T10:00:00+09:00")})
		}, "schedules[0].overrides[1]: overlaps overrides[0] (tanaka, 2026-12-01T18:00:00+09:00 – 2026-12-02T09:00:00+09:00): the same contact twice for the overlap"},
		{"adjacent overrides do not overlap", func(p *Policy) {
			p.Schedules[0].Overrides = append(p.Schedules[0].Overrides, Override{Contact: "suzuki", Start: at("2026-12-02T09:00:00+09:00"), End: at("2026-12-02T10:00:00+09:00")})
		}, ""},
	} {
		p := base()
		tt.edit(p)
		var got []string
		for _, w := range p.Warnings() {
			got = append(got, w.Error())
		}
		all := strings.Join(got, "\n")
		if tt.want == "" && len(got) != 0 || tt.want != "" && !strings.Contains(all, tt.want) {
			t.Errorf("%s: warnings\n%s\nwant %q", tt.name, all, tt.want)
		}
	}
}
