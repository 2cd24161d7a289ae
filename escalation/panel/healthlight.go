package panel

import (
	"context"
	"time"

	"github.com/tocsin-relay/tocsin/device"
	"github.com/tocsin-relay/tocsin/escalation"
)

// The status light: Tocsin's own health shown on the panel's status
// outputs, so that someone on the floor sees a relay that cannot page
// (steady when all is well, a blink code per fault).

// HealthOutputs is where the status light is shown. *device.Manager
// implements it.
type HealthOutputs interface {
	SetHealth(device.Health)
}

// ModemUp reports whether the modem is up. *modem.Supervisor implements it.
type ModemUp interface{ Up() bool }

// Pinger checks the database with a write. *sqlite.DB implements it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Connected reports whether the MQTT broker is reachable.
type Connected interface{ Connected() bool }

// PolicyInForce is the policy the engine runs. *escalation.Engine
// implements it. The light blinks "not configured" while it can page
// nobody (escalation.CheckReadiness).
type PolicyInForce interface{ Policy() *escalation.Policy }

// HealthLight drives the status light. Run owns it.
type HealthLight struct {
	out   HealthOutputs
	modem ModemUp
	db    Pinger
	mqtt  Connected // nil without MQTT
	pol   PolicyInForce
}

// NewHealthLight returns the light for these parts; mqtt may be nil.
func NewHealthLight(out HealthOutputs, modem ModemUp, db Pinger, mqtt Connected, pol PolicyInForce) *HealthLight {
	return &HealthLight{out: out, modem: modem, db: db, mqtt: mqtt, pol: pol}
}

// Run updates the light until ctx ends. The modem and MQTT are looked at
// every second; the database (a write, so done sparingly on an SD card)
// every 30 seconds.
func (l *HealthLight) Run(ctx context.Context) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var h device.Health
	for i := 0; ; i++ {
		h.ModemDown = !l.modem.Up()
		h.MQTTDown = l.mqtt != nil && !l.mqtt.Connected()
		h.NotConfigured = !escalation.CheckReadiness(l.pol.Policy()).Configured
		if i%30 == 0 {
			pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			h.DatabaseError = l.db.Ping(pctx) != nil && ctx.Err() == nil
			cancel()
		}
		l.out.SetHealth(h)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
