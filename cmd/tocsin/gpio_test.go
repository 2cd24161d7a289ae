package main

import (
	"strings"
	"testing"

	"github.com/tocsin-relay/tocsin/escalation"
)

const simGPIO = `gpio:
  backend: sim
  outputs:
    - {id: siren-1, pin: GPIO17, zone: line1, kind: siren}
    - {id: red-1,   pin: GPIO27, zone: line1, kind: light}
  inputs:
    - {id: ack-1,     pin: GPIO22, zone: line1, action: ack, pull: up, active_low: true}
    - {id: silence-1, pin: GPIO23, zone: line1, action: silence, pull: up, active_low: true}`

// The shop-floor path through the daemon: an incident raises the zone's
// siren and flashing light; the ack button acknowledges, the siren stops
// and the light goes steady; resolving turns everything off.
func TestButtonAcknowledgesAndSirenStops(t *testing.T) {
	policy := strings.Replace(testPolicy("1h"), "          - {contact: tanaka, via: [sms]}",
		"          - {contact: tanaka, via: [sms]}\n          - {zone: line1}", 1)
	e := newE2EFull(t, policy, "", simGPIO)
	e.start()
	res := e.alert(map[string]any{"service": "press-line-1", "summary": "Die overheating", "severity": "critical"})
	at := e.waitLog(0, "id=siren-1 pin=GPIO17 zone=line1 mode=critical")
	e.waitLog(0, "id=red-1 pin=GPIO27 zone=line1 mode=flashing")

	if code := e.api("POST", "/api/v1/gpio/inputs/ack-1/press", nil, nil); code != 200 {
		t.Fatalf("press = %d", code)
	}
	e.waitLog(at, "id=siren-1 pin=GPIO17 zone=line1 mode=off")
	at = e.waitLog(at, "id=red-1 pin=GPIO27 zone=line1 mode=steady")
	inc := e.incident(res.IncidentID)
	if inc.Status != escalation.Acknowledged || !strings.Contains(inc.AcknowledgedBy, "ack-1") {
		t.Errorf("after the button: %s by %q, want acknowledged by ack-1", inc.Status, inc.AcknowledgedBy)
	}
	var status struct {
		GPIO struct {
			Outputs []struct {
				ID   string
				Mode string
			}
		}
	}
	e.api("GET", "/api/v1/status", nil, &status)
	modes := map[string]string{}
	for _, o := range status.GPIO.Outputs {
		modes[o.ID] = o.Mode
	}
	if modes["siren-1"] != "off" || modes["red-1"] != "steady" {
		t.Errorf("status outputs = %v, want siren off and light steady", modes)
	}
	if code := e.api("POST", "/api/v1/gpio/inputs/nope/press", nil, nil); code != 404 {
		t.Errorf("pressing an unknown input = %d, want 404", code)
	}
	e.api("POST", "/api/v1/incidents/1/resolve", nil, nil)
	e.waitLog(at, "id=red-1 pin=GPIO27 zone=line1 mode=off")
}
