package main

import (
	"strings"
	"testing"

	"github.com/tocsin-relay/tocsin/escalation/policyfile"
)

// TestExampleNumbersOnlyWithTheSimulator: the demo policy's made-up
// numbers (and those of the package's former example) page the simulator's
// phones, and are refused with a real modem, naming the contact.
func TestExampleNumbersOnlyWithTheSimulator(t *testing.T) {
	p, err := policyfile.Load("demo/policy.yaml", demoPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if err := refuseExampleNumbers("sim")(p); err != nil {
		t.Errorf("the demo policy with the simulator: %v", err)
	}
	err = refuseExampleNumbers("/dev/tocsin-modem")(p)
	if err == nil || !strings.Contains(err.Error(), "contact tanaka has +819012345678, a made-up number") {
		t.Errorf("the demo policy with a real modem: %v, want a refusal naming tanaka", err)
	}
	p.Contacts = p.Contacts[:1]
	p.Contacts[0].Phone = "+819055501234"
	if err := refuseExampleNumbers("/dev/tocsin-modem")(p); err != nil {
		t.Errorf("a number of one's own: %v", err)
	}
}
