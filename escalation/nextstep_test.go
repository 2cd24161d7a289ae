package escalation_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/policyfile"
)

// upcoming writes an Upcoming the way the tests compare it.
func upcoming(u escalation.Upcoming, ok bool, t0 time.Time) string {
	if !ok {
		return "nothing"
	}
	var who []string
	for _, p := range u.Pages {
		who = append(who, p.ContactID+"/"+string(p.Channel))
	}
	for _, z := range u.Zones {
		who = append(who, "zone "+z)
	}
	s := fmt.Sprintf("+%s level %d loop %d/%d: %s", u.At.Sub(t0), u.Level, u.Loop+1, u.Loops, strings.Join(who, " "))
	if u.Retrigger {
		s += " (retrigger)"
	}
	return s
}

// NextStep with an explicit now: each position of an incident in its
// policy, and what comes next.
func TestNextStep(t *testing.T) {
	pol, err := policyfile.Load("policy.yaml", []byte(basePolicy))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 5, 15, 0, 0, 0, time.UTC) // suzuki's day in the daily rotation
	inc := func(svc string, st escalation.Status) escalation.Incident {
		return escalation.Incident{ID: 7, Service: svc, Summary: "pressure low", Status: st}
	}
	for _, tc := range []struct {
		name string
		st   escalation.EscalationState
		now  time.Time
		want string
	}{
		{"new incident", escalation.EscalationState{Incident: inc("press", escalation.Triggered), LoopStartedAt: t0, NextAt: t0},
			t0, "+0s level 1 loop 1/2: suzuki/sms zone line1"},
		{"after level 1", escalation.EscalationState{Incident: inc("press", escalation.Triggered), Level: 1, LoopStartedAt: t0, NextAt: t0.Add(5 * time.Minute)},
			t0.Add(time.Minute), "+5m0s level 2 loop 1/2: boss/sms boss/voice"},
		{"overdue step is due now", escalation.EscalationState{Incident: inc("press", escalation.Triggered), Level: 1, LoopStartedAt: t0, NextAt: t0.Add(5 * time.Minute)},
			t0.Add(6 * time.Minute), "+6m0s level 2 loop 1/2: boss/sms boss/voice"},
		{"the repeat loop", escalation.EscalationState{Incident: inc("press", escalation.Triggered), Level: 2, LoopStartedAt: t0, NextAt: t0.Add(10 * time.Minute)},
			t0.Add(6 * time.Minute), "+10m0s level 1 loop 2/2: suzuki/sms zone line1"},
		{"all loops done", escalation.EscalationState{Incident: inc("press", escalation.Triggered), Level: 2, Loop: 1, LoopStartedAt: t0}, t0, "nothing"},
		{"a level with a delay of its own", escalation.EscalationState{Incident: inc("paint", escalation.Triggered), LoopStartedAt: t0, NextAt: t0},
			t0, "+1m0s level 1 loop 1/1: suzuki/sms"},
		{"acknowledged, ack timeout", escalation.EscalationState{Incident: inc("press", escalation.Acknowledged), Level: 1, LoopStartedAt: t0, NextAt: t0.Add(30 * time.Minute)},
			t0.Add(time.Minute), "+30m0s level 1 loop 1/2: suzuki/sms zone line1 (retrigger)"},
		{"resolved", escalation.EscalationState{Incident: inc("press", escalation.Resolved), Level: 1, LoopStartedAt: t0, NextAt: t0.Add(5 * time.Minute)}, t0, "nothing"},
		{"unknown service", escalation.EscalationState{Incident: inc("gone", escalation.Triggered), LoopStartedAt: t0, NextAt: t0}, t0, "nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, ok := escalation.NextStep(tc.st, pol, tc.now)
			if got := upcoming(u, ok, t0); got != tc.want {
				t.Errorf("NextStep = %q, want %q", got, tc.want)
			}
		})
	}
}

// What NextStep announces is what the engine then does: at the time it
// said, the pages it said are queued.
func TestNextStepAgreesWithTheEngine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, basePolicy)
		res := r.trigger("press", "k1", "pressure low")
		t0 := time.Now()
		r.wantPages(res.IncidentID, "tanaka/sms")
		want := []string{"tanaka/sms"}
		for _, step := range []string{"+5m0s level 2 loop 1/2: boss/sms boss/voice", "+10m0s level 1 loop 2/2: tanaka/sms zone line1",
			"+15m0s level 2 loop 2/2: boss/sms boss/voice", "nothing"} {
			u, ok, err := r.e.NextStep(context.Background(), res.IncidentID, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if got := upcoming(u, ok, t0); got != step {
				t.Errorf("next step = %q, want %q", got, step)
			}
			if !ok {
				break
			}
			for _, p := range u.Pages {
				want = append(want, p.ContactID+"/"+string(p.Channel))
			}
			time.Sleep(time.Until(u.At))
			r.wantPages(res.IncidentID, want...)
			if inc := r.incident(res.IncidentID); inc.Level != u.Level || inc.Loop != u.Loop {
				t.Errorf("engine at level %d loop %d, NextStep said level %d loop %d", inc.Level, inc.Loop, u.Level, u.Loop)
			}
		}
	})
}
