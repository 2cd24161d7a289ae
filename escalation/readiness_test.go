package escalation

import (
	"slices"
	"strings"
	"testing"
)

func TestCheckReadiness(t *testing.T) {
	tanaka := Contact{ID: "tanaka", Phone: "+819000000001"}
	suzuki := Contact{ID: "suzuki", Phone: "+819000000002"}
	sched := Schedule{ID: "oncall", TimeZone: "Asia/Tokyo", Layers: []Layer{{Rotation: "weekly", Start: "2026-11-02 09:00", Members: []string{"suzuki"}}}}
	withLevels := func(contacts []Contact, schedules []Schedule, notify ...Target) *Policy {
		return &Policy{
			Contacts:           contacts,
			Schedules:          schedules,
			Services:           []Service{{ID: "tocsin", EscalationPolicy: "main"}},
			EscalationPolicies: []EscalationPolicy{{ID: "main", Levels: []Level{{Notify: notify}}}},
		}
	}
	tests := []struct {
		name      string
		p         *Policy
		want      bool
		reachable []string
		reason    string // a word the reason must contain
	}{
		{"no policy", nil, false, nil, "no policy is applied"},
		{"empty policy", &Policy{}, false, nil, "no policy is applied"},
		{"the packaged example: a zone only", withLevels(nil, nil, Target{Zone: "line1"}), false, nil, "no contacts"},
		{"a contact no level names", withLevels([]Contact{tanaka}, nil, Target{Zone: "line1"}), false, nil, "no escalation level"},
		{"a contact named directly", withLevels([]Contact{tanaka, suzuki}, nil, Target{Contact: "tanaka"}), true, []string{"tanaka"}, ""},
		{"a schedule member", withLevels([]Contact{tanaka, suzuki}, []Schedule{sched}, Target{Schedule: "oncall"}), true, []string{"suzuki"}, ""},
		{"an override of a named schedule", withLevels([]Contact{tanaka, suzuki}, []Schedule{{ID: "oncall", Overrides: []Override{{Contact: "tanaka"}}}}, Target{Schedule: "oncall"}),
			true, []string{"tanaka"}, ""},
		{"a schedule no level names", withLevels([]Contact{tanaka, suzuki}, []Schedule{sched}, Target{Zone: "line1"}), false, nil, "no escalation level"},
		{"a contact without any address", withLevels([]Contact{{ID: "tanaka"}}, nil, Target{Contact: "tanaka"}), false, nil, "no escalation level"},
		{"a contact with an e-mail address only", withLevels([]Contact{{ID: "tanaka", Email: "tanaka@example.jp"}}, nil, Target{Contact: "tanaka", Via: []Channel{Email}}),
			true, []string{"tanaka"}, ""},
		{"a webhook only", withLevels([]Contact{tanaka}, nil, Target{Webhook: "mattermost"}), false, nil, "no escalation level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckReadiness(tt.p)
			if got.Configured != tt.want || !slices.Equal(got.Reachable, tt.reachable) {
				t.Fatalf("got %+v, want configured=%v reachable=%v", got, tt.want, tt.reachable)
			}
			if tt.want {
				if got.Reason != "" || got.ReasonJA != "" {
					t.Errorf("a configured policy has a reason: %+v", got)
				}
				return
			}
			if !strings.HasPrefix(got.Reason, "not configured: no contact can be paged") || !strings.Contains(got.Reason, tt.reason) {
				t.Errorf("reason %q, want the plain words and %q", got.Reason, tt.reason)
			}
			if !strings.HasPrefix(got.ReasonJA, "未設定: 呼び出せる連絡先がありません") {
				t.Errorf("Japanese reason %q", got.ReasonJA)
			}
		})
	}
}
