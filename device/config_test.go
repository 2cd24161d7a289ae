package device_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tocsin-relay/tocsin/device"
)

// The docs/reference.md §3 example, plus the keys this package adds.
const specYAML = `
backend: periph
debounce: 40ms
long_press: 3s
outputs:
  - {id: siren-1, pin: GPIO17, zone: line1, kind: siren, cadence: {error: "500ms/500ms", info: off}}
  - {id: red-1,   pin: GPIO27, zone: line1, kind: light, cadence: {flash: "250ms/250ms"}}
  - {id: status,  pin: GPIO26, kind: status}
inputs:
  - {id: ack-1,     pin: GPIO22, zone: line1, action: ack,     pull: up, active_low: true}
  - {id: silence-1, pin: GPIO23, zone: line1, action: silence, pull: up, active_low: true}
towers:
  - {id: tower-1, zone: line1, url: "http://192.168.10.1", ok_tier: 3, buzzer: {warning: 2}, timeout: 1s, retries: 1}
`

func decode(t *testing.T, s string) (device.Config, error) {
	t.Helper()
	var c device.Config
	dec := yaml.NewDecoder(strings.NewReader(s))
	dec.KnownFields(true)
	err := dec.Decode(&c)
	return c, err
}

func TestConfigYAML(t *testing.T) {
	c, err := decode(t, specYAML)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if c.Debounce != 40*time.Millisecond || c.Outputs[0].Cadence.Error.String() != "500ms/500ms" ||
		!c.Outputs[0].Cadence.Info.IsOff() || c.Towers[0].Timeout != time.Second || *c.Towers[0].Buzzer.Warning != 2 {
		t.Errorf("decoded %+v", c)
	}
	var buf bytes.Buffer
	if err := yaml.NewEncoder(&buf).Encode(c); err != nil {
		t.Fatal(err)
	}
	back, err := decode(t, buf.String())
	if err != nil {
		t.Fatalf("re-decoding %s: %v", buf.String(), err)
	}
	if back.Outputs[1].Cadence.Flash.String() != "250ms/250ms" {
		t.Errorf("round trip lost the flash cadence:\n%s", buf.String())
	}
	if _, err := decode(t, "outputs: [{id: s, pin: GPIO1, kind: siren, zone: z, colour: red}]"); err == nil {
		t.Error("unknown key accepted")
	}
	if _, err := decode(t, `outputs: [{id: s, pin: GPIO1, kind: siren, zone: z, cadence: {critical: "fast"}}]`); err == nil ||
		!strings.Contains(err.Error(), `"fast"`) {
		t.Errorf("bad cadence: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"backend", "backend: gpiod", `gpio.backend: unknown backend "gpiod"`},
		{"kind", "outputs: [{id: s, pin: GPIO17, zone: z, kind: horn}]", `gpio.outputs[0] (s): unknown kind "horn"`},
		{"no kind", "outputs: [{id: s, pin: GPIO17, zone: z}]", "kind is empty"},
		{"no pin", "outputs: [{id: s, zone: z, kind: siren}]", "pin is empty"},
		{"no zone", "outputs: [{id: s, pin: GPIO17, kind: siren}]", "zone is empty: a siren belongs to a zone"},
		{"dup id", "outputs: [{id: s, pin: GPIO17, zone: z, kind: siren}]\ninputs: [{id: s, pin: GPIO22, zone: z, action: ack}]",
			`gpio.inputs[0] (s): id "s" is already used by outputs[0] (s)`},
		{"dup pin", "outputs: [{id: a, pin: GPIO17, zone: z, kind: siren}, {id: b, pin: GPIO17, zone: z, kind: light}]",
			"pin GPIO17 is already used by outputs[0] (a)"},
		{"light cadence", `outputs: [{id: l, pin: GPIO17, zone: z, kind: light, cadence: {critical: steady}}]`, "a light takes only cadence.flash"},
		{"siren flash", `outputs: [{id: l, pin: GPIO17, zone: z, kind: siren, cadence: {flash: steady}}]`, "cadence.flash is for lights"},
		{"action", "inputs: [{id: b, pin: GPIO22, zone: z, action: reset}]", `unknown action "reset"`},
		{"input zone", "inputs: [{id: b, pin: GPIO22, action: ack}]", "zone is empty: ack acts on a zone"},
		{"pull", "inputs: [{id: b, pin: GPIO22, zone: z, action: ack, pull: sideways}]", `unknown pull "sideways"`},
		{"long press", "long_press: 10ms", "long_press: 10ms must be longer than the debounce time"},
		{"tower url", "towers: [{id: t, zone: z, url: 192.168.10.1}]", `url "192.168.10.1" is not an http:// address`},
		{"tower tier", "towers: [{id: t, zone: z, url: 'http://x', alarm_tier: 6}]", "alarm_tier 6 is out of range"},
		{"tower buzzer", "towers: [{id: t, zone: z, url: 'http://x', buzzer: {critical: 7}}]", "buzzer.critical 7 is out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := decode(t, tt.yaml)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestPowerKeyConfig(t *testing.T) {
	var c struct {
		PowerKey device.PowerKeyConfig `yaml:"power_key"`
	}
	if err := yaml.Unmarshal([]byte("power_key: {pin: GPIO6, pulse: 1.5s}"), &c); err != nil {
		t.Fatal(err)
	}
	if c.PowerKey.Pin != "GPIO6" || c.PowerKey.Pulse != 1500*time.Millisecond || c.PowerKey.Validate() != nil {
		t.Errorf("got %+v", c.PowerKey)
	}
	if err := (device.PowerKeyConfig{}).Validate(); err == nil || !strings.Contains(err.Error(), "modem.power_key.pin is empty") {
		t.Errorf("empty pin: %v", err)
	}
}

func TestOpenBackendAndDemo(t *testing.T) {
	if err := device.DemoConfig().Validate(); err != nil {
		t.Fatalf("demo config: %v", err)
	}
	b, err := device.OpenBackend("sim")
	if err != nil {
		t.Fatal(err)
	}
	m, err := device.Open(b, device.DemoConfig(), device.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := device.OpenBackend("gpiod"); err == nil || !strings.Contains(err.Error(), `unknown backend "gpiod"`) {
		t.Errorf("unknown backend: %v", err)
	}
}

func TestCheckPin(t *testing.T) {
	for _, tt := range []struct {
		pin     string
		ok, hdr bool // ok: no error; hdr: a GPIOn name (error is not device.ErrNotHeaderName)
	}{
		{"GPIO0", true, true}, {"GPIO17", true, true}, {"GPIO27", true, true},
		{"GPIO28", false, true}, {"GPIO99", false, true},
		{"GPIO017", false, false}, {"17", false, false}, {"PA7", false, false},
	} {
		err := device.CheckPin(tt.pin)
		if (err == nil) != tt.ok {
			t.Errorf("device.CheckPin(%q) = %v, want ok %v", tt.pin, err, tt.ok)
		}
		if err != nil && errors.Is(err, device.ErrNotHeaderName) == tt.hdr {
			t.Errorf("device.CheckPin(%q) = %v: device.ErrNotHeaderName is %v, want %v", tt.pin, err, !tt.hdr, tt.hdr)
		}
	}
}
