package main

import (
	"fmt"
	"strings"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/policyfile"
)

// exampleNumbers are the phone numbers of every example policy Tocsin has
// shipped: the demo's (cmd/tocsin/demo/policy.yaml, the simulator's
// phones) and those of the package's example before it stopped naming
// people. They are not reserved for fiction — Japan has no such range — so
// they may well be somebody's phone.
var exampleNumbers = func() map[string]bool {
	m := map[string]bool{"+819012345678": true, "+819023456789": true, "+819034567890": true, "+819045678901": true}
	if p, err := policyfile.Load("demo/policy.yaml", demoPolicy); err == nil {
		for _, c := range p.Contacts {
			m[c.Phone] = true
		}
	}
	return m
}()

// refuseExampleNumbers is the policy keeper's vet for modem.device: it
// rejects a policy that would page a number from an example file through
// a real modem, so nothing ever SMSes or calls a number that came from an
// example. With the simulator (modem.device: sim, or a simulator on a
// pseudo-terminal as the end-to-end tests run it — no cellular modem is
// ever a /dev/pts device) the examples are what the demo and the tests
// page.
func refuseExampleNumbers(device string) policyfile.Vet {
	return func(p *escalation.Policy) error {
		if device == "sim" || strings.HasPrefix(device, "/dev/pts/") {
			return nil
		}
		for i, c := range p.Contacts {
			if exampleNumbers[c.Phone] {
				return escalation.Invalidf(fmt.Sprintf("contacts[%d].phone", i),
					"contact %s has %s, a made-up number from Tocsin's example policy; with a real modem it could page a stranger: put the person's own number (an example number works only with modem.device: sim)",
					c.ID, c.Phone)
			}
		}
		return nil
	}
}
