package device

import "fmt"

// Alarm is how loud a zone's siren should be. It mirrors incident severity
// without depending on it: the panel maps one onto the other.
type Alarm int

// Alarm levels, quietest first.
const (
	AlarmNone Alarm = iota
	AlarmInfo
	AlarmWarning
	AlarmError
	AlarmCritical
)

var alarmNames = [...]string{"none", "info", "warning", "error", "critical"}

func (a Alarm) String() string {
	if a < 0 || int(a) >= len(alarmNames) {
		return fmt.Sprintf("alarm(%d)", int(a))
	}
	return alarmNames[a]
}

// Light is what a zone's stack light shows.
type Light int

// Light modes.
const (
	LightOff      Light = iota // nothing open
	LightSteady                // acknowledged but not resolved
	LightFlashing              // something unacknowledged
)

var lightNames = [...]string{"off", "steady", "flashing"}

func (l Light) String() string {
	if l < 0 || int(l) >= len(lightNames) {
		return fmt.Sprintf("light(%d)", int(l))
	}
	return lightNames[l]
}

// ZoneState is what a zone's outputs should show.
type ZoneState struct {
	Siren Alarm // AlarmNone: silent
	Light Light
}

// Health is Tocsin's own state, shown on status outputs as blink codes:
// one blink for the modem, two for the database, three for MQTT, four
// while the relay is not configured (no policy reaches a person).
type Health struct {
	ModemDown     bool
	DatabaseError bool
	MQTTDown      bool
	// NotConfigured: alerts are recorded but nobody can be paged, as after
	// a fresh install. A lamp that stayed steady here would tell the shop
	// floor that the relay works.
	NotConfigured bool
}

// cadence is the status lamp pattern for h: steady when all is well, else
// the blink codes of every fault in turn.
func (h Health) cadence() Cadence {
	var c Cadence
	for _, f := range []struct {
		bad bool
		n   int
	}{{h.ModemDown, 1}, {h.DatabaseError, 2}, {h.MQTTDown, 3}, {h.NotConfigured, 4}} {
		if f.bad {
			c = c.then(blinks(f.n))
		}
	}
	if c.IsOff() {
		return Steady
	}
	return c
}
