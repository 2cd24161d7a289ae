package main

import (
	"os/exec"
	"strings"
	"testing"
)

// Bring-up commands work without a daemon, against the built-in simulator
// on a pseudo-terminal (the same serial code as a real modem).
func TestModemBringUpCommands(t *testing.T) {
	out, err := exec.Command(tocsinBin, "modem", "probe", "--device", "sim").CombinedOutput()
	if err != nil {
		t.Fatalf("probe: %v\n%s", err, out)
	}
	for _, want := range []string{"model:        SIMCOM_SIM7600G-H", "registration: home", "profile:      sim7600 (detected)", "call keys:    yes"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("probe output lacks %q:\n%s", want, out)
		}
	}
	out, err = exec.Command(tocsinBin, "modem", "sms", "--device", "sim", "+819012345678", "テスト", "test").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "sent to +819012345678 in 1 part(s)") {
		t.Errorf("sms: %v\n%s", err, out)
	}
	// National forms, as the policy accepts them, read with --region
	// (default JP); flags may follow the arguments.
	out, err = exec.Command(tocsinBin, "modem", "sms", "090-1234-5678", "テスト", "--device", "sim").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "sent to +819012345678 in 1 part(s)") {
		t.Errorf("sms to a national number: %v\n%s", err, out)
	}
	out, err = exec.Command(tocsinBin, "modem", "sms", "--device", "sim", "--region", "US", "(202) 555-0123", "hi").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "sent to +12025550123") {
		t.Errorf("sms with --region US: %v\n%s", err, out)
	}
	out, err = exec.Command(tocsinBin, "modem", "sms", "--device", "sim", "not-a-number", "x").CombinedOutput()
	if err == nil {
		t.Errorf("an SMS to a bad number succeeded:\n%s", out)
	}
	out, _ = exec.Command(tocsinBin, "nonsense").CombinedOutput()
	if !strings.Contains(string(out), `unknown command "nonsense"`) {
		t.Errorf("unknown command: %s", out)
	}
	out, err = exec.Command(tocsinBin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "tocsin ") {
		t.Errorf("version: %v %s", err, out)
	}
}
