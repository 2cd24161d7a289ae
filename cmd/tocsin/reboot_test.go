package main

import (
	"strings"
	"testing"

	"github.com/tocsin-relay/tocsin/escalation"
)

// The module reboots on its own (a brown-out): the daemon notices the boot
// lines, initialises it again, reads the reply that arrived meanwhile, and
// pages keep going out — nothing lost, nothing sent twice.
func TestModemRebootsByItself(t *testing.T) {
	e := newE2E(t, testPolicy("1h"))
	e.start()
	first := e.alert(map[string]any{"service": "press-line-1", "summary": "Spindle vibration", "severity": "error"})
	if got := e.nextSMS(); got.To != "+819012345678" {
		t.Fatalf("page = %+v", got)
	}
	at := e.waitLog(0, `msg="SMS sent"`)
	e.sim.Reboot()
	if err := e.sim.InjectSMS("+819012345678", "4"); err != nil { // lands during the boot
		t.Fatal(err)
	}
	e.waitLog(at, "modem rebooted by itself; initialised again")
	if confirm := e.nextSMS(); !strings.Contains(confirm.Text, "#1") {
		t.Errorf("confirmation after the reboot = %+v", confirm)
	}
	if inc := e.incident(first.IncidentID); inc.Status != escalation.Acknowledged {
		t.Errorf("the reply sent during the reboot was lost: %s", inc.Status)
	}
	e.alert(map[string]any{"service": "press-line-1", "summary": "After the reboot", "severity": "error"})
	if got := e.nextSMS(); !strings.Contains(got.Text, "After the reboot") {
		t.Errorf("page after the reboot = %+v", got)
	}
	pages := 0
	for _, s := range e.sim.History() {
		if strings.Contains(s.Text, "Spindle vibration") {
			pages++
		}
	}
	if pages != 1 {
		t.Errorf("the first page went out %d times", pages)
	}
}
