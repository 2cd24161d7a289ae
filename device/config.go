package device

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// Config is the daemon config's `gpio:` section, embedded as-is by cmd.
type Config struct {
	Backend string `yaml:"backend" json:"backend"` // periph | sim
	// Debounce is how long an input must hold a level before it counts
	// (default 30ms). LongPress is how long a button is held for a long
	// press (default 3s).
	Debounce  time.Duration  `yaml:"debounce,omitempty" json:"debounce,omitempty"`
	LongPress time.Duration  `yaml:"long_press,omitempty" json:"long_press,omitempty"`
	Outputs   []OutputConfig `yaml:"outputs,omitempty" json:"outputs,omitempty"`
	Inputs    []InputConfig  `yaml:"inputs,omitempty" json:"inputs,omitempty"`
	Towers    []TowerConfig  `yaml:"towers,omitempty" json:"towers,omitempty"`
}

// Backends a Config may name.
const (
	BackendPeriph = "periph"
	BackendSim    = "sim"
)

// Output kinds.
const (
	KindSiren  = "siren"  // sounds while its zone has unacknowledged alarms
	KindLight  = "light"  // flashes while unacknowledged, steady while acknowledged
	KindStatus = "status" // Tocsin's own health: steady ok, blink codes on faults
)

// OutputConfig is one GPIO output.
type OutputConfig struct {
	ID   string `yaml:"id" json:"id"`
	Pin  string `yaml:"pin" json:"pin"` // line name, e.g. GPIO17
	Zone string `yaml:"zone,omitempty" json:"zone,omitempty"`
	Kind string `yaml:"kind" json:"kind"`
	// ActiveLow inverts the line: on is low. Some relay boards switch on a
	// low input; prefer active-high boards so a dead Pi leaves them off.
	ActiveLow bool     `yaml:"active_low,omitempty" json:"active_low,omitempty"`
	Cadence   Cadences `yaml:"cadence,omitempty" json:"cadence,omitempty"`
}

// Input actions.
const (
	ActionAck     = "ack"     // acknowledge the zone; a long press resolves
	ActionSilence = "silence" // mute the zone's sirens until a new incident
	ActionResolve = "resolve" // resolve the zone's incidents
	ActionTest    = "test"    // lamp test: every light on while held
)

// InputConfig is one GPIO input (a button).
type InputConfig struct {
	ID     string `yaml:"id" json:"id"`
	Pin    string `yaml:"pin" json:"pin"`
	Zone   string `yaml:"zone,omitempty" json:"zone,omitempty"`
	Action string `yaml:"action" json:"action"`
	// Pull is the line bias: up, down or none (external resistor). Empty
	// leaves the line as the kernel has it.
	Pull string `yaml:"pull,omitempty" json:"pull,omitempty"`
	// ActiveLow means pressed is low: a button to ground with a pull-up.
	ActiveLow bool `yaml:"active_low,omitempty" json:"active_low,omitempty"`
}

// PowerKeyConfig is the modem HAT's power key (config `modem.power_key`).
type PowerKeyConfig struct {
	Pin       string        `yaml:"pin" json:"pin"`
	Pulse     time.Duration `yaml:"pulse,omitempty" json:"pulse,omitempty"` // default 1.5s
	ActiveLow bool          `yaml:"active_low,omitempty" json:"active_low,omitempty"`
}

// Defaults.
const (
	DefaultDebounce  = 30 * time.Millisecond
	DefaultLongPress = 3 * time.Second
	DefaultPulse     = 1500 * time.Millisecond
)

func (c Config) debounce() time.Duration {
	if c.Debounce > 0 {
		return c.Debounce
	}
	return DefaultDebounce
}

func (c Config) longPress() time.Duration {
	if c.LongPress > 0 {
		return c.LongPress
	}
	return DefaultLongPress
}

func (c PowerKeyConfig) pulse() time.Duration {
	if c.Pulse > 0 {
		return c.Pulse
	}
	return DefaultPulse
}

// Validate checks the section and returns every problem found, each naming
// the entry and field at fault ("gpio.outputs[1] (siren-1): kind ...").
func (c Config) Validate() error {
	var errs []error
	bad := func(where, format string, args ...any) {
		errs = append(errs, fmt.Errorf("gpio.%s: %s", where, fmt.Sprintf(format, args...)))
	}
	switch c.Backend {
	case "", BackendPeriph, BackendSim:
	default:
		bad("backend", "unknown backend %q (want periph or sim)", c.Backend)
	}
	if c.Debounce < 0 || c.Debounce > time.Second {
		bad("debounce", "%v is out of range (0 to 1s)", c.Debounce)
	}
	if c.LongPress < 0 || (c.LongPress > 0 && c.LongPress <= c.debounce()) {
		bad("long_press", "%v must be longer than the debounce time %v", c.LongPress, c.debounce())
	}
	ids := map[string]string{}
	pins := map[string]string{}
	claim := func(where, id, pin string) {
		if id == "" {
			bad(where, "id is empty")
		} else if prev, dup := ids[id]; dup {
			bad(where, "id %q is already used by %s", id, prev)
		} else {
			ids[id] = where
		}
		if pin == "" {
			return
		}
		if prev, dup := pins[pin]; dup {
			bad(where, "pin %s is already used by %s", pin, prev)
		} else {
			pins[pin] = where
		}
	}
	for i, o := range c.Outputs {
		where := fmt.Sprintf("outputs[%d] (%s)", i, o.ID)
		claim(where, o.ID, o.Pin)
		if o.Pin == "" {
			bad(where, "pin is empty (want a line name such as GPIO17)")
		}
		switch o.Kind {
		case KindSiren:
			if o.Cadence.Flash != nil {
				bad(where, "cadence.flash is for lights; a siren takes critical, error, warning and info")
			}
		case KindLight:
			cs := o.Cadence
			if cs.Critical != nil || cs.Error != nil || cs.Warning != nil || cs.Info != nil {
				bad(where, "a light takes only cadence.flash")
			}
		case KindStatus:
			if o.Cadence != (Cadences{}) {
				bad(where, "a status output has fixed blink codes and takes no cadence")
			}
		case "":
			bad(where, "kind is empty (want siren, light or status)")
		default:
			bad(where, "unknown kind %q (want siren, light or status)", o.Kind)
		}
		if (o.Kind == KindSiren || o.Kind == KindLight) && o.Zone == "" {
			bad(where, "zone is empty: a %s belongs to a zone", o.Kind)
		}
	}
	for i, in := range c.Inputs {
		where := fmt.Sprintf("inputs[%d] (%s)", i, in.ID)
		claim(where, in.ID, in.Pin)
		if in.Pin == "" {
			bad(where, "pin is empty (want a line name such as GPIO22)")
		}
		switch in.Action {
		case ActionAck, ActionSilence, ActionResolve:
			if in.Zone == "" {
				bad(where, "zone is empty: %s acts on a zone", in.Action)
			}
		case ActionTest:
		case "":
			bad(where, "action is empty (want ack, silence, resolve or test)")
		default:
			bad(where, "unknown action %q (want ack, silence, resolve or test)", in.Action)
		}
		if _, err := parsePull(in.Pull); err != nil {
			bad(where, "%v", err)
		}
	}
	for i, t := range c.Towers {
		where := fmt.Sprintf("towers[%d] (%s)", i, t.ID)
		claim(where, t.ID, "")
		if err := t.validate(); err != nil {
			bad(where, "%v", err)
		}
	}
	return errors.Join(errs...)
}

// Validate checks the power key section.
func (c PowerKeyConfig) Validate() error {
	if c.Pin == "" {
		return errors.New("modem.power_key.pin is empty (want a line name such as GPIO6)")
	}
	if c.Pulse < 0 || c.Pulse > 10*time.Second {
		return fmt.Errorf("modem.power_key.pulse %v is out of range (0 to 10s)", c.Pulse)
	}
	return nil
}

func parsePull(s string) (gpio.Pull, error) {
	switch strings.ToLower(s) {
	case "":
		return gpio.PullNoChange, nil
	case "up":
		return gpio.PullUp, nil
	case "down":
		return gpio.PullDown, nil
	case "none", "float":
		return gpio.Float, nil
	}
	return gpio.PullNoChange, fmt.Errorf("unknown pull %q (want up, down or none)", s)
}

func (t TowerConfig) validate() error {
	var errs []error
	u, err := url.Parse(t.URL)
	if t.URL == "" {
		errs = append(errs, errors.New("url is empty (want http://ADDRESS)"))
	} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("url %q is not an http:// address", t.URL))
	}
	if t.Zone == "" {
		errs = append(errs, errors.New("zone is empty: a tower belongs to a zone"))
	}
	for name, tier := range map[string]int{"alarm_tier": t.AlarmTier, "ok_tier": t.OKTier} {
		if tier < 0 || tier > 5 {
			errs = append(errs, fmt.Errorf("%s %d is out of range (1 to 5, 0 for none)", name, tier))
		}
	}
	if t.AlarmTier != 0 && t.AlarmTier == t.OKTier {
		errs = append(errs, fmt.Errorf("alarm_tier and ok_tier are both %d", t.AlarmTier))
	}
	for name, p := range map[string]*int{"critical": t.Buzzer.Critical, "error": t.Buzzer.Error, "warning": t.Buzzer.Warning, "info": t.Buzzer.Info} {
		if p != nil && (*p < 0 || *p > 3) {
			errs = append(errs, fmt.Errorf("buzzer.%s %d is out of range (0 stop, 1 or 2 patterns, 3 external)", name, *p))
		}
	}
	if t.Timeout < 0 || t.Retries < 0 || t.Retries > 10 {
		errs = append(errs, fmt.Errorf("timeout %v / retries %d out of range", t.Timeout, t.Retries))
	}
	return errors.Join(errs...)
}
