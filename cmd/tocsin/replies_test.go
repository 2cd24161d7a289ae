package main

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/tpdu"
)

// A real incident pages tanaka, then a drill does: tanaka's bare "4"
// answers the last message he was sent, the drill, and acknowledges the
// drill only. The drill page asks for its id.
func TestBareReplyToDrillAcksDrillOnly(t *testing.T) {
	e := newE2E(t, testPolicy("1h"))
	e.start()
	real := e.alert(map[string]any{"service": "press-line-1", "summary": "Hydraulic pressure low", "severity": "critical"})
	if got := e.nextSMS(); !strings.Contains(got.Text, "Hydraulic pressure low") {
		t.Fatalf("real page = %+v", got)
	}
	sentOff := e.waitLog(0, "SMS sent") // its outcome is committed: it is what tanaka was told
	var drill escalation.Incident
	if code := e.api("POST", "/api/v1/drill?service=press-line-1", nil, &drill); code != http.StatusAccepted {
		t.Fatalf("POST /api/v1/drill = %d", code)
	}
	page := e.nextSMS()
	if want := fmt.Sprintf("返信 4 %d=了解 6 %d=解決", drill.ID, drill.ID); !strings.HasPrefix(page.Text, "[訓練]") || !strings.Contains(page.Text, want) {
		t.Errorf("drill page %q: want [訓練] and %q", page.Text, want)
	}
	e.waitLog(sentOff, "SMS sent") // the drill page is recorded as sent
	if err := e.sim.InjectSMS("09012345678", "4"); err != nil {
		t.Fatal(err)
	}
	confirm := e.nextSMS()
	if !strings.Contains(confirm.Text, fmt.Sprintf("#%d ", drill.ID)) || strings.Contains(confirm.Text, fmt.Sprintf("#%d ", real.IncidentID)) {
		t.Errorf("confirmation %q, want the drill #%d only", confirm.Text, drill.ID)
	}
	if inc := e.incident(drill.ID); inc.Status != escalation.Acknowledged {
		t.Errorf("drill #%d is %s, want acknowledged", drill.ID, inc.Status)
	}
	if inc := e.incident(real.IncidentID); inc.Status != escalation.Triggered {
		t.Errorf("real incident #%d is %s after a bare reply to the drill, want triggered", real.IncidentID, inc.Status)
	}
}

// extension holds the characters of the GSM 7-bit extension table, the only
// ones an escape septet may stand before.
const extension = "^{}\\[~]|€\f"

// A summary copied from a coloured terminal reaches the handset clean: the
// PDU on the wire, decoded with warthog618/sms from its hex, holds no
// escape septet but the ones before extension characters, and its text has
// no control character but LF.
func TestEscapeSequencesNeverReachTheWire(t *testing.T) {
	e := newE2E(t, `contacts:
  - {id: suzuki, name: Suzuki, phone: "+819087654321", language: en}
services:
  - {id: press-line-1, escalation_policy: line1}
escalation_policies:
  - id: line1
    levels:
      - after: 0s
        notify:
          - {contact: suzuki, via: [sms]}
settings:
  default_region: JP
`)
	e.start()
	e.alert(map[string]any{"service": "press-line-1", "summary": "\x1b[31mDOWN\x1b[0m and a\x1b(b", "severity": "critical"})
	page := e.nextSMS()
	var text strings.Builder
	for _, p := range page.Parts {
		b, err := hex.DecodeString(p.PDU)
		if err != nil {
			t.Fatal(err)
		}
		pdu, err := sms.Unmarshal(b, sms.AsMO)
		if err != nil {
			t.Fatalf("PDU %s: %v", p.PDU, err)
		}
		if a, _ := pdu.Alphabet(); a != tpdu.Alpha7Bit {
			t.Fatalf("page encoded as %v, want GSM 7-bit", a)
		}
		d, err := sms.Decode([]*tpdu.TPDU{pdu})
		if err != nil {
			t.Fatal(err)
		}
		escapes := 0
		for _, s := range pdu.UD {
			if s == 0x1b {
				escapes++
			}
		}
		ext := 0
		for _, r := range string(d) {
			if strings.ContainsRune(extension, r) {
				ext++
			}
		}
		if escapes != ext {
			t.Errorf("%d escape septets for %d extension characters in %q", escapes, ext, d)
		}
		text.Write(d)
	}
	want := "[#1 CRIT] press-line-1: DOWN and a\nReply 4 ack, 6 resolve"
	if text.String() != want {
		t.Errorf("the handset reads %q, want %q", text.String(), want)
	}
	for _, r := range text.String() {
		if r != '\n' && (r < 0x20 || r == 0x7f) {
			t.Errorf("control %U on the wire", r)
		}
	}
}

// 300 unreadable SMS from a contact: at most three grammar answers leave,
// every message is recorded, and a page queued in the middle of the flood
// reaches the person.
func TestJunkSMSFloodBoundedAnswers(t *testing.T) {
	e := newE2E(t, testPolicy("1h"))
	e.start()
	deleted := make(chan struct{}, 1000)
	e.sim.OnCommand(func(line string, _ time.Time) {
		if strings.HasPrefix(line, "AT+CMGD=") {
			deleted <- struct{}{}
		}
	})
	var pageQueued time.Time
	start := time.Now()
	for i := range 300 {
		for {
			err := e.sim.InjectSMS("09012345678", fmt.Sprintf("junk %d ???", i))
			if err == nil {
				break
			}
			if !strings.Contains(err.Error(), "storage full") {
				t.Fatal(err)
			}
			select { // the daemon frees a slot when it has stored a message
			case <-deleted:
			case <-time.After(30 * time.Second):
				t.Fatalf("the daemon stopped taking SMS from the modem:\n%s", e.logText())
			}
		}
		if i == 150 {
			e.alert(map[string]any{"service": "press-line-1", "summary": "Conveyor jam", "severity": "critical"})
			pageQueued = time.Now()
		}
	}
	off := 0
	for range 300 {
		off = e.waitLog(off, "SMS reply not understood")
	}
	t.Logf("300 SMS through the modem's 50-slot storage, stored and acted on in %v", time.Since(start).Round(time.Millisecond))
	// Answers use none of the person's turns (3 SMS a minute): the page
	// leaves at once, ahead of any answer still queued.
	var pageAt time.Time
	for pageAt.IsZero() {
		select {
		case s := <-e.sim.Sent():
			if strings.Contains(s.Text, "Conveyor jam") {
				pageAt = s.At
			}
		case <-time.After(90 * time.Second):
			t.Fatalf("the page never left; sent so far: %+v", e.sim.History())
		}
	}
	answers := 0
	for _, s := range e.sim.History() {
		if strings.HasPrefix(s.Text, "理解できませんでした") {
			answers++
		}
	}
	wait := pageAt.Sub(pageQueued)
	t.Logf("page queued during the flood left after %v", wait.Round(time.Millisecond))
	if wait > 5*time.Second {
		t.Errorf("the page waited %v, behind answers", wait)
	}
	if answers > 3 || answers == 0 {
		t.Errorf("%d grammar answers to 300 junk SMS, want 1 to 3", answers)
	}
	dropped := strings.Count(e.logText(), "answered=false")
	if dropped+answers < 300 {
		t.Errorf("%d answers sent and %d recorded as dropped, want 300 in all", answers, dropped)
	}
}
