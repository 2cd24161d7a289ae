package main

import (
	"strings"
	"testing"
)

// A page the network refuses for good moves on to the next level at once
// instead of waiting out its delay, and the timeline says why.
func TestFailedPageEscalatesAtOnce(t *testing.T) {
	e := newE2E(t, testPolicy("1h"))
	e.start()
	e.sim.FailNextSend(21) // "short message transfer rejected": permanent
	res := e.alert(map[string]any{"service": "press-line-1", "summary": "Coolant leak", "severity": "critical"})
	boss := e.nextSMS()
	if boss.To != "+819011112222" || !strings.Contains(boss.Text, "Coolant leak") {
		t.Fatalf("after the failed page the next SMS = %+v, want level 2 to the boss now", boss)
	}
	inc := e.incident(res.IncidentID)
	var failed, escalated bool
	for _, tl := range inc.Timeline {
		failed = failed || (tl.Kind == "failed" && strings.Contains(tl.Detail, "+CMS ERROR: 21"))
		escalated = escalated || (tl.Kind == "escalated" && strings.Contains(tl.Detail, "delivery failure"))
	}
	if !failed || !escalated || inc.Level != 2 {
		t.Errorf("level %d, timeline %+v; want the failure and the escalation recorded", inc.Level, inc.Timeline)
	}
}

// "+CMS ERROR: 500" is an attempt (phone.ClassifySMS decides it, alone):
// the outbox retries it after a backoff; the modem layer does not resend.
func TestCMS500RetriedOnce(t *testing.T) {
	e := newE2E(t, testPolicy("1h"))
	e.start()
	e.sim.FailNextSend(500)
	res := e.alert(map[string]any{"service": "press-line-1", "summary": "Belt slip", "severity": "warning"})
	if got := e.nextSMS(); got.To != "+819012345678" || !strings.Contains(got.Text, "Belt slip") {
		t.Fatalf("retry = %+v", got)
	}
	e.waitLog(0, `msg="SMS sent" part=phone to=+819012345678`)
	submits := 0
	for _, c := range e.sim.Commands() {
		if strings.HasPrefix(c, "AT+CMGS=") {
			submits++
		}
	}
	if submits != 2 {
		t.Errorf("%d submissions, want 2 (the failed one and one retry)", submits)
	}
	if inc := e.incident(res.IncidentID); inc.Level != 1 {
		t.Errorf("level %d, want 1: a retried page does not escalate", inc.Level)
	}
}
