package device

import (
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// output is one GPIO output and the goroutine that plays its cadence.
type output struct {
	cfg  OutputConfig
	line gpio.PinOut
	kick chan struct{} // wakes run when wanted changes

	mu     sync.Mutex // guards the fields below
	wanted Cadence    // set by the Manager
	mode   string     // why: "critical", "flashing", "ok", ...
	on     bool       // last level written (run goroutine writes it)
	err    error      // last write error, nil once a write succeeds
}

// want records the cadence the output should play and wakes its goroutine.
// It returns the previous mode.
func (o *output) want(c Cadence, mode string) string {
	o.mu.Lock()
	prev := o.mode
	o.wanted, o.mode = c, mode
	o.mu.Unlock()
	select {
	case o.kick <- struct{}{}:
	default:
	}
	return prev
}

// write drives the line; on is the logical state, inverted for active-low.
func (o *output) write(on bool) error {
	err := o.line.Out(gpio.Level(on != o.cfg.ActiveLow))
	o.mu.Lock()
	o.on, o.err = on, err
	o.mu.Unlock()
	return err
}

func (o *output) lastErr() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

func (o *output) state() OutputState {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := OutputState{ID: o.cfg.ID, Pin: o.cfg.Pin, Zone: o.cfg.Zone, Kind: o.cfg.Kind,
		Mode: o.mode, Cadence: o.wanted.String(), On: o.on}
	if o.err != nil {
		s.Error = o.err.Error()
	}
	return s
}

// run plays the wanted cadence until stop closes, then leaves the line off.
// It is the only writer of the line after Open.
func (o *output) run(stop <-chan struct{}) {
	var cur Cadence // starts off, as Open left the line
	step := 0
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var tick <-chan time.Time
	defer timer.Stop()
	for {
		select {
		case <-stop:
			_ = o.write(false)
			return
		case <-o.kick:
			o.mu.Lock()
			want := o.wanted
			o.mu.Unlock()
			if want.Equal(cur) {
				continue
			}
			cur, step = want, 0
			timer.Stop()
			tick = nil
			switch {
			case cur.steady:
				_ = o.write(true)
			case cur.IsOff():
				_ = o.write(false)
			default:
				_ = o.write(true)
				timer.Reset(cur.steps[0])
				tick = timer.C
			}
		case <-tick:
			step = (step + 1) % len(cur.steps)
			_ = o.write(step%2 == 0)
			timer.Reset(cur.steps[step])
		}
	}
}
