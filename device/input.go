package device

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// input is one button: a reader goroutine that waits for edges on the line
// and a debouncer goroutine that turns the raw level into presses.
type input struct {
	cfg        InputConfig
	line       gpio.PinIn
	raw        atomic.Bool   // latest raw pressed state, from the reader or Press
	kick       chan struct{} // wakes the debouncer when raw changes
	readerDone chan struct{} // closed when the reader returns

	mu      sync.Mutex // guards pressed
	pressed bool       // debounced state, written by the debouncer
}

func (in *input) pressedAt(l gpio.Level) bool { return bool(l) != in.cfg.ActiveLow }

func (in *input) inject(pressed bool) {
	in.raw.Store(pressed)
	select {
	case in.kick <- struct{}{}:
	default:
	}
}

func (in *input) state() InputState {
	in.mu.Lock()
	defer in.mu.Unlock()
	return InputState{ID: in.cfg.ID, Pin: in.cfg.Pin, Zone: in.cfg.Zone, Action: in.cfg.Action, Pressed: in.pressed}
}

// read waits for edges and records the level after each one. periph's
// gpioioctl WaitForEdge does not say which edge it saw, so the level is
// read back; the line is an input, so reading it is harmless.
func (m *Manager) read(in *input) {
	defer close(in.readerDone)
	for {
		select {
		case <-m.stop:
			return
		default:
		}
		edge := in.line.WaitForEdge(m.opts.EdgeWait)
		select {
		case <-m.stop:
			return
		default:
		}
		if !edge {
			if m.opts.EdgeWait > 0 {
				continue // a poll timeout
			}
			// With wait 0, false means halted or failed; don't spin on a
			// broken line.
			if sleep(context.Background(), m.stop, 100*time.Millisecond) != nil {
				return
			}
			continue
		}
		l := in.line.Read()
		pressed := in.pressedAt(l)
		in.inject(pressed)
		if m.opts.OnEdge != nil {
			m.opts.OnEdge(Edge{Input: in.cfg.ID, Pin: in.cfg.Pin, Level: l, Pressed: pressed, At: time.Now()})
		}
	}
}

// debounce accepts a raw level only after it has held for the debounce
// time, then reports a short press on release or a long press as soon as
// the button has been held for the long-press time.
func (m *Manager) debounce(in *input, stable bool) {
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	long := time.NewTimer(time.Hour)
	long.Stop()
	defer settle.Stop()
	defer long.Stop()
	var settleC, longC <-chan time.Time
	// A button already down when Tocsin starts (held, stuck or miswired)
	// was not pressed while we watched: its release is not a press.
	longFired := stable
	for {
		select {
		case <-m.stop:
			if stable && in.cfg.Action == ActionTest {
				m.setLampTest(in.cfg.ID, false)
			}
			return
		case <-in.kick:
			if in.raw.Load() != stable {
				settle.Reset(m.debounceD)
				settleC = settle.C
			} else {
				settle.Stop()
				settleC = nil
			}
		case <-settleC:
			settleC = nil
			if in.raw.Load() == stable {
				continue
			}
			stable = !stable
			in.mu.Lock()
			in.pressed = stable
			in.mu.Unlock()
			if in.cfg.Action == ActionTest {
				m.setLampTest(in.cfg.ID, stable)
			}
			if stable {
				longFired = false
				long.Reset(m.longD)
				longC = long.C
				continue
			}
			long.Stop()
			longC = nil
			if !longFired {
				m.emit(in, false)
			}
		case <-longC:
			longC = nil
			longFired = true
			m.emit(in, true)
		}
	}
}
