package device_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/tocsin-relay/tocsin/device"
)

func sirenConfig() device.Config {
	return device.Config{
		Backend: "sim",
		Outputs: []device.OutputConfig{
			{ID: "siren-1", Pin: "GPIO17", Zone: "line1", Kind: "siren"},
			{ID: "red-1", Pin: "GPIO27", Zone: "line1", Kind: "light"},
			{ID: "relay-1", Pin: "GPIO5", Zone: "line1", Kind: "siren", ActiveLow: true},
			{ID: "status", Pin: "GPIO26", Kind: "status"},
		},
		Inputs: []device.InputConfig{
			{ID: "ack-1", Pin: "GPIO22", Zone: "line1", Action: "ack", Pull: "up", ActiveLow: true},
			{ID: "test", Pin: "GPIO24", Action: "test", Pull: "up", ActiveLow: true},
		},
	}
}

func TestSirenCadenceBySeverity(t *testing.T) {
	// Each character is 100ms: 1 siren on, 0 off.
	tests := []struct {
		alarm device.Alarm
		want  string
	}{
		{device.AlarmCritical, strings.Repeat("1", 60)},
		{device.AlarmError, strings.Repeat("1111111111"+"0000000000", 3)},
		{device.AlarmWarning, strings.Repeat("11"+"00"+"11"+strings.Repeat("0", 24), 2)},
		{device.AlarmInfo, strings.Repeat("0", 30)},
		{device.AlarmNone, strings.Repeat("0", 30)},
	}
	for _, tt := range tests {
		t.Run(tt.alarm.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newPins("GPIO17", "GPIO27", "GPIO5", "GPIO26", "GPIO22", "GPIO24")
				m := open(t, p, sirenConfig())
				m.SetZone("line1", device.ZoneState{Siren: tt.alarm, Light: device.LightFlashing})
				if got := trace(p["GPIO17"], 100*time.Millisecond, len(tt.want)); got != tt.want {
					t.Errorf("siren trace\n got %s\nwant %s", got, tt.want)
				}
			})
		})
	}
}

func TestConfiguredCadence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPins("GPIO17")
		c := device.Pattern(300*time.Millisecond, 100*time.Millisecond)
		m := open(t, p, device.Config{Outputs: []device.OutputConfig{
			{ID: "s", Pin: "GPIO17", Zone: "z", Kind: "siren", Cadence: device.Cadences{Critical: &c}},
		}})
		m.SetZone("z", device.ZoneState{Siren: device.AlarmCritical})
		if got, want := trace(p["GPIO17"], 100*time.Millisecond, 12), "111011101110"; got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})
}

func TestLightFollowsZone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPins("GPIO17", "GPIO27", "GPIO5", "GPIO26", "GPIO22", "GPIO24")
		m := open(t, p, sirenConfig())
		red := p["GPIO27"]
		m.SetZone("line1", device.ZoneState{Siren: device.AlarmCritical, Light: device.LightFlashing})
		if got, want := trace(red, 100*time.Millisecond, 20), "11111000001111100000"; got != want {
			t.Errorf("flashing: got %s, want %s", got, want)
		}
		// Acknowledged: siren stops, light steady.
		m.SetZone("line1", device.ZoneState{Light: device.LightSteady})
		if got, want := trace(red, 100*time.Millisecond, 20), strings.Repeat("1", 20); got != want {
			t.Errorf("steady: got %s, want %s", got, want)
		}
		if level(p["GPIO17"]) != gpio.Low {
			t.Error("siren still on after ack")
		}
		m.SetZone("line1", device.ZoneState{})
		if level(red) != gpio.Low {
			t.Error("light still on after the zone cleared")
		}
	})
}

func TestActiveLowOutput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPins("GPIO17", "GPIO27", "GPIO5", "GPIO26", "GPIO22", "GPIO24")
		relay := p["GPIO5"]
		relay.L = gpio.Low // as if left on by a crash
		m := open(t, p, sirenConfig())
		if level(relay) != gpio.High {
			t.Fatal("active-low relay not off (high) after Open")
		}
		m.SetZone("line1", device.ZoneState{Siren: device.AlarmCritical})
		if level(relay) != gpio.Low {
			t.Fatal("active-low relay not on (low) for a critical alarm")
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if relay.Read() != gpio.High {
			t.Fatal("active-low relay not off (high) after Close")
		}
	})
}

func TestStatusBlinkCodes(t *testing.T) {
	tests := []struct {
		h    device.Health
		want string
	}{
		{device.Health{}, strings.Repeat("1", 20)},
		{device.Health{ModemDown: true}, strings.Repeat("11"+strings.Repeat("0", 12), 2)},
		{device.Health{DatabaseError: true}, strings.Repeat("110011"+strings.Repeat("0", 12), 2)},
		{device.Health{NotConfigured: true}, strings.Repeat("11001100110011"+strings.Repeat("0", 12), 2)},
		{device.Health{ModemDown: true, MQTTDown: true}, "11" + strings.Repeat("0", 12) + "110011" + "0011" + strings.Repeat("0", 12)},
	}
	for _, tt := range tests {
		t.Run(tt.h.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newPins("GPIO26")
				m := open(t, p, device.Config{Outputs: []device.OutputConfig{{ID: "status", Pin: "GPIO26", Kind: "status"}}})
				m.SetHealth(tt.h)
				// 125ms steps: a blink is 250ms on, 250ms off; the code
				// ends with a 1.5s pause.
				got := trace(p["GPIO26"], 125*time.Millisecond, len(tt.want))
				if got != tt.want {
					t.Errorf("status trace\n got %s\nwant %s", got, tt.want)
				}
				if mode := m.Status().Outputs[0].Mode; mode != tt.h.String() {
					t.Errorf("mode %q, want %q", mode, tt.h.String())
				}
			})
		})
	}
}

func TestBouncyPressCountsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPins("GPIO17", "GPIO27", "GPIO5", "GPIO26", "GPIO22", "GPIO24")
		m := open(t, p, sirenConfig())
		btn := p["GPIO22"] // pulled up, pressed is low
		bounce(btn, gpio.Low)
		time.Sleep(300 * time.Millisecond)
		if !m.Status().Inputs[0].Pressed {
			t.Error("input not shown pressed while held")
		}
		if got := presses(m); len(got) != 0 {
			t.Fatalf("press reported before release: %+v", got)
		}
		bounce(btn, gpio.High)
		time.Sleep(100 * time.Millisecond)
		got := presses(m)
		if len(got) != 1 {
			t.Fatalf("got %d presses, want 1: %+v", len(got), got)
		}
		if p := got[0]; p.Input != "ack-1" || p.Zone != "line1" || p.Action != "ack" || p.Long {
			t.Errorf("press = %+v, want a short ack of line1 from ack-1", p)
		}
	})
}

func TestGlitchIsIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPins("GPIO17", "GPIO27", "GPIO5", "GPIO26", "GPIO22", "GPIO24")
		m := open(t, p, sirenConfig())
		btn := p["GPIO22"]
		btn.EdgesChan <- gpio.Low // 10ms spike, shorter than the debounce time
		time.Sleep(10 * time.Millisecond)
		btn.EdgesChan <- gpio.High
		time.Sleep(time.Second)
		if got := presses(m); len(got) != 0 {
			t.Fatalf("a 10ms glitch became presses: %+v", got)
		}
	})
}

func TestLongPress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPins("GPIO17", "GPIO27", "GPIO5", "GPIO26", "GPIO22", "GPIO24")
		m := open(t, p, sirenConfig())
		btn := p["GPIO22"]
		start := time.Now()
		bounce(btn, gpio.Low)
		time.Sleep(2900 * time.Millisecond)
		if got := presses(m); len(got) != 0 {
			t.Fatalf("press before 3s: %+v", got)
		}
		time.Sleep(200 * time.Millisecond)
		got := presses(m)
		if len(got) != 1 || !got[0].Long {
			t.Fatalf("after 3.1s held got %+v, want one long press", got)
		}
		if held := got[0].At.Sub(start); held < 3*time.Second || held > 3100*time.Millisecond {
			t.Errorf("long press fired after %v, want 3s plus debounce", held)
		}
		time.Sleep(2 * time.Second)
		bounce(btn, gpio.High)
		time.Sleep(100 * time.Millisecond)
		if got := presses(m); len(got) != 0 {
			t.Fatalf("release after a long press reported %+v", got)
		}
	})
}

func TestLampTest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPins("GPIO17", "GPIO27", "GPIO5", "GPIO26", "GPIO22", "GPIO24")
		m := open(t, p, sirenConfig())
		m.SetHealth(device.Health{ModemDown: true})
		bounce(p["GPIO24"], gpio.Low)
		time.Sleep(100 * time.Millisecond)
		if got := trace(p["GPIO27"], 100*time.Millisecond, 10); got != "1111111111" {
			t.Errorf("light during lamp test: %s", got)
		}
		if got := trace(p["GPIO26"], 100*time.Millisecond, 10); got != "1111111111" {
			t.Errorf("status during lamp test: %s", got)
		}
		if level(p["GPIO17"]) != gpio.Low {
			t.Error("lamp test sounded the siren")
		}
		bounce(p["GPIO24"], gpio.High)
		time.Sleep(100 * time.Millisecond)
		if level(p["GPIO27"]) != gpio.Low {
			t.Error("light still on after the lamp test")
		}
		if got := presses(m); len(got) != 1 || got[0].Action != "test" {
			t.Errorf("presses %+v, want one test press", got)
		}
	})
}

func TestOutputsOffAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPins("GPIO17", "GPIO27", "GPIO5", "GPIO26", "GPIO22", "GPIO24")
		m, err := device.Open(p.backend(), sirenConfig(), device.Options{EdgeWait: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		m.SetZone("line1", device.ZoneState{Siren: device.AlarmCritical, Light: device.LightSteady})
		if level(p["GPIO17"]) != gpio.High || level(p["GPIO27"]) != gpio.High || level(p["GPIO26"]) != gpio.High {
			t.Fatal("outputs not on before Close")
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string]gpio.Level{"GPIO17": gpio.Low, "GPIO27": gpio.Low, "GPIO26": gpio.Low, "GPIO5": gpio.High} {
			if got := p[name].Read(); got != want {
				t.Errorf("%s = %v after Close, want %v (off)", name, got, want)
			}
		}
		if _, ok := <-m.Presses(); ok {
			t.Error("Presses not closed")
		}
		for _, o := range m.Status().Outputs {
			if o.On {
				t.Errorf("status says %s is on after Close", o.ID)
			}
		}
	})
}

func TestPressAndPulse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPins("GPIO17", "GPIO27", "GPIO5", "GPIO26", "GPIO22", "GPIO24")
		m := open(t, p, sirenConfig())
		ctx := context.Background()
		if err := m.Press(ctx, "ack-1", false); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // a finger needs time too
		if err := m.Press(ctx, "ack-1", true); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		got := presses(m)
		if len(got) != 2 || got[0].Long || !got[1].Long {
			t.Fatalf("presses %+v, want a short then a long ack", got)
		}
		err := m.Press(ctx, "nope", false)
		if !errors.Is(err, device.ErrUnknown) || !strings.Contains(err.Error(), "ack-1") {
			t.Errorf("unknown input: %v", err)
		}

		done := make(chan error)
		go func() { done <- m.Pulse(ctx, "siren-1", time.Second) }()
		time.Sleep(500 * time.Millisecond)
		if level(p["GPIO17"]) != gpio.High {
			t.Error("siren not on during its pulse")
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if level(p["GPIO17"]) != gpio.Low {
			t.Error("siren still on after its pulse")
		}
		if err := m.Pulse(ctx, "nope", time.Second); !errors.Is(err, device.ErrUnknown) {
			t.Errorf("unknown output: %v", err)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	p := newPins("GPIO17")
	_, err := device.Open(p.backend(), device.Config{Outputs: []device.OutputConfig{
		{ID: "s", Pin: "GPIO99", Zone: "z", Kind: "siren"},
	}}, device.Options{})
	if err == nil || !strings.Contains(err.Error(), "output s") || !strings.Contains(err.Error(), "GPIO99") {
		t.Errorf("missing line: %v", err)
	}
	_, err = device.Open(p.backend(), device.Config{Outputs: []device.OutputConfig{{ID: "s", Pin: "GPIO17", Kind: "horn"}}}, device.Options{})
	if err == nil || !strings.Contains(err.Error(), `unknown kind "horn"`) {
		t.Errorf("bad kind: %v", err)
	}
}

func TestButtonHeldAtStartIsNotAPress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPins("GPIO22")
		cfg := device.Config{Inputs: []device.InputConfig{{ID: "ack-1", Pin: "GPIO22", Zone: "z", Action: "ack"}}}
		p["GPIO22"].L = gpio.High // pressed (active high) before Open
		m := open(t, p, cfg)
		if !m.Status().Inputs[0].Pressed {
			t.Fatal("a held button is not shown pressed")
		}
		time.Sleep(5 * time.Second)
		p["GPIO22"].EdgesChan <- gpio.Low
		time.Sleep(100 * time.Millisecond)
		if got := presses(m); len(got) != 0 {
			t.Fatalf("releasing a button held since start gave %+v", got)
		}
	})
}
