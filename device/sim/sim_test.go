package sim_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/tocsin-relay/tocsin/device"
	"github.com/tocsin-relay/tocsin/device/sim"
)

func config() device.Config {
	return device.Config{
		Backend: device.BackendSim,
		Outputs: []device.OutputConfig{
			{ID: "siren-1", Pin: "GPIO17", Zone: "line1", Kind: device.KindSiren},
			{ID: "red-1", Pin: "GPIO27", Zone: "line1", Kind: device.KindLight},
		},
		Inputs: []device.InputConfig{
			{ID: "ack-1", Pin: "GPIO22", Zone: "line1", Action: device.ActionAck, Pull: "up", ActiveLow: true},
			{ID: "resolve-1", Pin: "GPIO23", Zone: "line1", Action: device.ActionResolve, Pull: "down"},
		},
	}
}

// The whole path on the sim backend: WaitForEdge(0) blocks until an edge
// or Halt, as with gpioioctl, so the manager runs with its real settings.
func TestManagerOnSim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := sim.New()
		m, err := device.Open(b, config(), device.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		m.SetZone("line1", device.ZoneState{Siren: device.AlarmCritical, Light: device.LightFlashing})
		if err := b.WaitLevel(ctx, "GPIO17", gpio.High); err != nil {
			t.Fatal(err)
		}
		if err := b.Press(ctx, "GPIO22", 200*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		p := <-m.Presses()
		if p.Input != "ack-1" || p.Long {
			t.Fatalf("press %+v, want a short ack-1", p)
		}
		// Pulled down, active high: the button drives the line high.
		if err := b.Press(ctx, "GPIO23", 4*time.Second); err != nil {
			t.Fatal(err)
		}
		if p := <-m.Presses(); p.Input != "resolve-1" || !p.Long {
			t.Fatalf("press %+v, want a long resolve-1", p)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		for _, l := range b.Lines() {
			if l.Output && l.Level != gpio.Low {
				t.Errorf("%s still high after Close", l.Name)
			}
		}
	})
}

func TestLineSemantics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := sim.New()
		l, _ := b.Line("GPIO22")
		if err := l.In(gpio.PullUp, gpio.FallingEdge); err != nil {
			t.Fatal(err)
		}
		if l.Read() != gpio.High {
			t.Error("pulled-up input reads low")
		}
		if l.WaitForEdge(-1) {
			t.Error("WaitForEdge(-1) saw an edge that did not happen")
		}
		if l.WaitForEdge(time.Second) {
			t.Error("WaitForEdge(1s) saw an edge that did not happen")
		}
		b.Drive("GPIO22", gpio.High) // no change: no edge
		b.Drive("GPIO22", gpio.Low)
		if !l.WaitForEdge(0) || l.Read() != gpio.Low {
			t.Error("falling edge not seen")
		}
		b.Release("GPIO22") // rising: not watched
		done := make(chan bool)
		go func() { done <- l.WaitForEdge(0) }()
		synctest.Wait()
		if err := l.Halt(); err != nil {
			t.Fatal(err)
		}
		if <-done {
			t.Error("Halt: WaitForEdge(0) reported an edge")
		}
		if _, err := b.Line(""); err == nil {
			t.Error("empty name accepted")
		}
		out, _ := b.Line("GPIO17")
		if err := out.Out(gpio.High); err != nil || b.Level("GPIO17") != gpio.High {
			t.Error("output level not visible")
		}
		if err := out.PWM(gpio.DutyHalf, 0); err == nil {
			t.Error("PWM accepted")
		}
	})
}

// syncBuffer lets the wiring test's goroutines write while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestWiringTest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := sim.New()
		var out syncBuffer
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- device.WiringTest(ctx, &out, b, config(), time.Second) }()
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		if b.Level("GPIO17") != gpio.High || b.Level("GPIO27") != gpio.Low {
			t.Error("first output not pulsed alone")
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if b.Level("GPIO17") != gpio.Low || b.Level("GPIO27") != gpio.High {
			t.Error("second output not pulsed alone")
		}
		time.Sleep(time.Second)
		if err := b.Press(ctx, "GPIO22", 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		text := out.String()
		for _, want := range []string{
			"output siren-1      GPIO17   siren  zone line1    on for 1s",
			"output red-1        GPIO27   light  zone line1    on for 1s",
			"edge   ack-1        GPIO22   level Low  pressed",
			"edge   ack-1        GPIO22   level High released",
			"press  ack-1        short press (ack, zone line1)",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("output lacks %q:\n%s", want, text)
			}
		}
		for _, l := range b.Lines() {
			if l.Output && l.Level != gpio.Low {
				t.Errorf("%s left on", l.Name)
			}
		}
	})
}

func TestPowerKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := sim.New()
		k, err := device.OpenPowerKey(b, device.PowerKeyConfig{Pin: "GPIO6", ActiveLow: true})
		if err != nil {
			t.Fatal(err)
		}
		if b.Level("GPIO6") != gpio.High {
			t.Fatal("active-low key not released (high) after open")
		}
		start := time.Now()
		done := make(chan error)
		go func() { done <- k.PulsePowerKey(context.Background(), 0) }()
		synctest.Wait()
		if b.Level("GPIO6") != gpio.Low {
			t.Error("key not pressed")
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if held := time.Since(start); held != device.DefaultPulse {
			t.Errorf("held %v, want %v", held, device.DefaultPulse)
		}
		if b.Level("GPIO6") != gpio.High {
			t.Error("key not released")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if err := k.PulsePowerKey(ctx, 5*time.Second); err != context.DeadlineExceeded {
			t.Errorf("cancelled pulse: %v", err)
		}
		if b.Level("GPIO6") != gpio.High {
			t.Error("key not released after a cancelled pulse")
		}
	})
}
