package main

import (
	"strings"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/modem/modemsim"
)

// voicePolicy calls tanaka at once and texts the boss after levelTwo.
func voicePolicy(levelTwo string) string {
	return `contacts:
  - {id: tanaka, name: Tanaka, phone: "090-1234-5678", language: en}
  - {id: boss, name: Boss, phone: "+819011112222", language: en, callback_ack: true}
services:
  - {id: press-line-1, escalation_policy: line1}
escalation_policies:
  - id: line1
    levels:
      - after: 0s
        notify:
          - {contact: tanaka, via: [voice]}
      - after: ` + levelTwo + `
        notify:
          - {contact: boss, via: [sms]}
settings:
  default_region: JP
`
}

func (e *e2e) callEnded() modemsim.CallRecord {
	e.t.Helper()
	select {
	case c := <-e.sim.CallEnded():
		return c
	case <-time.After(60 * time.Second):
		e.t.Fatalf("no call ended within 60s\n%s", e.logText())
	}
	return modemsim.CallRecord{}
}

func timelineHas(inc escalation.Incident, kind, substr string) bool {
	for _, tl := range inc.Timeline {
		if tl.Kind == kind && strings.Contains(tl.Detail, substr) {
			return true
		}
	}
	return false
}

// Answered, key 4: acknowledged by the key, and the call said what it was.
func TestCallAnsweredKey4Acknowledges(t *testing.T) {
	e := newE2E(t, voicePolicy("1h"))
	e.start()
	e.sim.ScriptCall(modemsim.CallScript{Answer: true, Keys: "94"})
	res := e.alert(map[string]any{"service": "press-line-1", "summary": "Furnace over temperature", "severity": "critical"})
	call := e.callEnded()
	if call.Number != "+819012345678" || !call.Answered || call.Keys != "94" {
		t.Errorf("call = %+v", call)
	}
	if len(call.Spoken) == 0 || !strings.Contains(call.Spoken[0], "Furnace over temperature") || !strings.Contains(call.Spoken[0], "Press 4") {
		t.Errorf("the call spoke %q, want the summary and the key options", call.Spoken)
	}
	e.waitLog(0, `msg="call ended"`)
	inc := e.incident(res.IncidentID)
	if inc.Status != escalation.Acknowledged || inc.AcknowledgedBy != "tanaka" {
		t.Errorf("after key 4: %s by %q", inc.Status, inc.AcknowledgedBy)
	}
	if !timelineHas(inc, "call", "answered") || !timelineHas(inc, "call", "key 4") || !timelineHas(inc, "acknowledged", "via dtmf") {
		t.Errorf("timeline lacks the call steps: %+v", inc.Timeline)
	}
}

// Answered without a key (voicemail does that): not an acknowledgement,
// and the next level goes out at its time.
func TestCallAnsweredWithoutKeyIsNotAck(t *testing.T) {
	e := newE2E(t, voicePolicy("3s"))
	e.start()
	e.sim.ScriptCall(modemsim.CallScript{RingFor: 1500 * time.Millisecond, Answer: true, HangUpAfter: 3 * time.Second})
	res := e.alert(map[string]any{"service": "press-line-1", "summary": "Hopper empty", "severity": "warning"})
	if call := e.callEnded(); !call.Answered || call.Keys != "" {
		t.Errorf("call = %+v", call)
	}
	boss := e.nextSMS()
	if boss.To != "+819011112222" {
		t.Errorf("level 2 went to %q", boss.To)
	}
	e.waitLog(0, `msg="call ended"`)
	inc := e.incident(res.IncidentID)
	if inc.Status != escalation.Triggered || !timelineHas(inc, "sent", "answered without a key") {
		t.Errorf("%s, timeline %+v; want still triggered and the answer noted as no ack", inc.Status, inc.Timeline)
	}
}

// Busy and no answer move on to the next level at once, not after its
// hour-long delay.
func TestCallBusyOrNoAnswerMovesOn(t *testing.T) {
	for _, c := range []struct {
		name   string
		script modemsim.CallScript
		want   string
	}{
		{"busy", modemsim.CallScript{Busy: true}, "busy"},
		{"no answer", modemsim.CallScript{RingFor: time.Hour}, "no-answer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newE2EWith(t, voicePolicy("1h"), "  ring_timeout: 2s")
			e.start()
			e.sim.ScriptCall(c.script)
			res := e.alert(map[string]any{"service": "press-line-1", "summary": "Press stuck", "severity": "critical"})
			if call := e.callEnded(); call.Outcome != c.want {
				t.Errorf("call outcome %q, want %q", call.Outcome, c.want)
			}
			if boss := e.nextSMS(); boss.To != "+819011112222" {
				t.Errorf("next SMS to %q, want the boss at once", boss.To)
			}
			e.waitLog(0, `msg="SMS sent"`)
			inc := e.incident(res.IncidentID)
			if inc.Level != 2 || !timelineHas(inc, "failed", "not answered") {
				t.Errorf("level %d, timeline %+v", inc.Level, inc.Timeline)
			}
		})
	}
}

// A call from a contact who opted in is rejected and acknowledges what is
// paging them, confirmed by SMS — the way factory alarm diallers work.
func TestCallbackAcknowledges(t *testing.T) {
	policy := strings.Replace(voicePolicy("1h"), "{contact: tanaka, via: [voice]}", "{contact: boss, via: [sms]}", 1)
	e := newE2E(t, policy)
	e.start()
	res := e.alert(map[string]any{"service": "press-line-1", "summary": "Gas detector", "severity": "critical"})
	if page := e.nextSMS(); page.To != "+819011112222" {
		t.Fatalf("page to %q", page.To)
	}
	e.waitLog(0, `msg="SMS sent"`)
	if err := e.sim.InjectCall("+819011112222"); err != nil {
		t.Fatal(err)
	}
	if call := e.callEnded(); call.Outcome != "rejected" || !call.Incoming {
		t.Errorf("incoming call = %+v, want rejected", call)
	}
	confirm := e.nextSMS()
	if confirm.To != "+819011112222" || !strings.Contains(confirm.Text, "acknowledged") {
		t.Errorf("confirmation = %+v", confirm)
	}
	inc := e.incident(res.IncidentID)
	if inc.Status != escalation.Acknowledged || inc.AcknowledgedBy != "boss" || !timelineHas(inc, "acknowledged", "call-back") {
		t.Errorf("%s by %q, timeline %+v", inc.Status, inc.AcknowledgedBy, inc.Timeline)
	}
}
