package device_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/tocsin-relay/tocsin/device"
)

// pins is a bench of periph gpiotest pins, the fake at the hardware edge.
// Create it inside the synctest bubble: its timers and channels belong to
// the bubble.
type pins map[string]*gpiotest.Pin

func newPins(names ...string) pins {
	p := pins{}
	for i, n := range names {
		p[n] = &gpiotest.Pin{N: n, Num: i, EdgesChan: make(chan gpio.Level)}
	}
	return p
}

func (p pins) backend() device.Backend {
	return device.BackendFunc(func(name string) (gpio.PinIO, error) {
		if pin, ok := p[name]; ok {
			return pin, nil
		}
		return nil, fmt.Errorf("no line %q", name)
	})
}

// open starts a manager on gpiotest pins; gpiotest's WaitForEdge(0) returns
// at once, so the reader polls with a (virtual) timeout.
func open(t *testing.T, p pins, cfg device.Config) *device.Manager {
	t.Helper()
	m, err := device.Open(p.backend(), cfg, device.Options{EdgeWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// trace samples a pin every step, in the middle of each step, for n steps
// and returns the levels as a string of 1s and 0s. It runs in a bubble.
func trace(p *gpiotest.Pin, step time.Duration, n int) string {
	var b strings.Builder
	time.Sleep(step / 2)
	for i := 0; i < n; i++ {
		synctest.Wait()
		if p.Read() {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
		time.Sleep(step)
	}
	return b.String()
}

// level reads a pin after letting every goroutine settle.
func level(p *gpiotest.Pin) gpio.Level {
	synctest.Wait()
	return p.Read()
}

// bounce sends a contact's chatter then settles on final: real buttons
// bounce for a few milliseconds.
func bounce(p *gpiotest.Pin, final gpio.Level) {
	for i := 0; i < 3; i++ {
		p.EdgesChan <- final
		time.Sleep(time.Millisecond)
		p.EdgesChan <- !final
		time.Sleep(2 * time.Millisecond)
	}
	p.EdgesChan <- final
}

// presses drains the presses delivered so far.
func presses(m *device.Manager) []device.Press {
	synctest.Wait()
	var got []device.Press
	for {
		select {
		case p, ok := <-m.Presses():
			if !ok {
				return got
			}
			got = append(got, p)
		default:
			return got
		}
	}
}
