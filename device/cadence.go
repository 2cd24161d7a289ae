package device

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Cadence says how an output moves over time: off, steady on, or a repeating
// pattern of on/off periods. The zero value is off.
//
// Its text form (used in YAML) is "off", "steady" (or "on"), or a list of
// ON/OFF pairs separated by spaces or commas, each half a Go duration:
// "1s/1s" pulses, "200ms/200ms 200ms/2.4s" gives two short bursts and a
// pause.
type Cadence struct {
	steady bool
	steps  []time.Duration // on, off, on, off, ...; even length, or nil
}

// Common cadences.
var (
	Off    = Cadence{}
	Steady = Cadence{steady: true}
)

// Limits on pattern periods: relays and sirens do not switch faster than a
// few tens of milliseconds, and a cycle longer than a minute is a typo.
const (
	minPeriod = 20 * time.Millisecond
	maxCycle  = time.Minute
	maxPairs  = 32
)

// Pattern builds a cadence from alternating on and off periods, starting
// with on. It panics on invalid input; it is meant for constants.
func Pattern(onOff ...time.Duration) Cadence {
	c, err := pattern(onOff)
	if err != nil {
		panic(err)
	}
	return c
}

func pattern(steps []time.Duration) (Cadence, error) {
	if len(steps) == 0 || len(steps)%2 != 0 {
		return Off, fmt.Errorf("cadence needs on/off pairs, got %d periods", len(steps))
	}
	if len(steps)/2 > maxPairs {
		return Off, fmt.Errorf("cadence has %d on/off pairs, at most %d allowed", len(steps)/2, maxPairs)
	}
	var total time.Duration
	for _, d := range steps {
		if d < minPeriod {
			return Off, fmt.Errorf("cadence period %v is shorter than %v", d, minPeriod)
		}
		total += d
		if total > maxCycle {
			return Off, fmt.Errorf("cadence cycle is longer than %v", maxCycle)
		}
	}
	return Cadence{steps: slices.Clone(steps)}, nil
}

// ParseCadence reads the text form described on Cadence.
func ParseCadence(s string) (Cadence, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch t {
	case "off":
		return Off, nil
	case "on", "steady":
		return Steady, nil
	case "":
		return Off, fmt.Errorf("empty cadence (want off, steady or ON/OFF pairs such as 1s/1s)")
	}
	fields := strings.FieldsFunc(t, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
	steps := make([]time.Duration, 0, 2*len(fields))
	for _, f := range fields {
		on, off, ok := strings.Cut(f, "/")
		if !ok {
			return Off, fmt.Errorf("cadence %q: %q is not an ON/OFF pair such as 500ms/500ms", s, f)
		}
		for _, half := range []string{on, off} {
			d, err := time.ParseDuration(half)
			if err != nil {
				return Off, fmt.Errorf("cadence %q: %q is not a duration", s, half)
			}
			steps = append(steps, d)
		}
	}
	c, err := pattern(steps)
	if err != nil {
		return Off, fmt.Errorf("cadence %q: %w", s, err)
	}
	return c, nil
}

// String returns the text form; ParseCadence reads it back.
func (c Cadence) String() string {
	switch {
	case c.steady:
		return "steady"
	case len(c.steps) == 0:
		return "off"
	}
	var b strings.Builder
	for i := 0; i < len(c.steps); i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%v/%v", c.steps[i], c.steps[i+1])
	}
	return b.String()
}

// IsOff reports whether the cadence never turns the output on.
func (c Cadence) IsOff() bool { return !c.steady && len(c.steps) == 0 }

// Equal reports whether two cadences behave the same.
func (c Cadence) Equal(o Cadence) bool {
	return c.steady == o.steady && slices.Equal(c.steps, o.steps)
}

// MarshalText writes the text form (YAML, JSON).
func (c Cadence) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads the text form.
func (c *Cadence) UnmarshalText(b []byte) error {
	v, err := ParseCadence(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// then appends the periods of o to c, for blink codes made of parts.
func (c Cadence) then(o Cadence) Cadence {
	return Cadence{steps: append(slices.Clone(c.steps), o.steps...)}
}

// blinks returns n short blinks followed by a pause: a blink code.
func blinks(n int) Cadence {
	steps := make([]time.Duration, 0, 2*n)
	for i := 0; i < n; i++ {
		steps = append(steps, 250*time.Millisecond, 250*time.Millisecond)
	}
	steps[len(steps)-1] = 1500 * time.Millisecond
	return Cadence{steps: steps}
}

// Cadences configures an output's cadences. For a siren, one per alarm
// level; for a light, how it flashes. Unset fields take the defaults
// (DefaultCadences).
type Cadences struct {
	Critical *Cadence `yaml:"critical,omitempty" json:"critical,omitempty"`
	Error    *Cadence `yaml:"error,omitempty" json:"error,omitempty"`
	Warning  *Cadence `yaml:"warning,omitempty" json:"warning,omitempty"`
	Info     *Cadence `yaml:"info,omitempty" json:"info,omitempty"`
	Flash    *Cadence `yaml:"flash,omitempty" json:"flash,omitempty"`
}

// Default cadences: a critical alarm sounds continuously, an error pulses,
// a warning gives two short bursts every few seconds, info stays silent;
// lights flash at 1 Hz.
var (
	DefaultCritical = Steady
	DefaultError    = Pattern(time.Second, time.Second)
	DefaultWarning  = Pattern(200*time.Millisecond, 200*time.Millisecond, 200*time.Millisecond, 2400*time.Millisecond)
	DefaultInfo     = Off
	DefaultFlash    = Pattern(500*time.Millisecond, 500*time.Millisecond)
)

// forAlarm returns the siren cadence for an alarm level.
func (cs Cadences) forAlarm(a Alarm) Cadence {
	pick := func(p *Cadence, def Cadence) Cadence {
		if p != nil {
			return *p
		}
		return def
	}
	switch a {
	case AlarmCritical:
		return pick(cs.Critical, DefaultCritical)
	case AlarmError:
		return pick(cs.Error, DefaultError)
	case AlarmWarning:
		return pick(cs.Warning, DefaultWarning)
	case AlarmInfo:
		return pick(cs.Info, DefaultInfo)
	}
	return Off
}

func (cs Cadences) flash() Cadence {
	if cs.Flash != nil {
		return *cs.Flash
	}
	return DefaultFlash
}
