// Package sim is a simulated GPIO backend for the demo (`gpio.backend:
// sim`) and for tests that want a whole line behind the device package:
// output levels can be observed and waited for, and buttons can be pressed
// by driving input lines as the outside world would.
//
// Its lines follow the Linux GPIO character device's conventions as periph
// presents them (WaitForEdge(0) waits until an edge or Halt), so code
// tested against sim behaves the same on a Raspberry Pi.
package sim

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/pin"
)

// Backend is a set of simulated lines, each created on first use.
type Backend struct {
	mu      sync.Mutex // guards lines, changed and every Line's state
	lines   map[string]*Line
	changed chan struct{} // closed and replaced on every output change
}

// New returns an empty backend.
func New() *Backend {
	return &Backend{lines: map[string]*Line{}, changed: make(chan struct{})}
}

// Line returns the line with that name, creating it.
func (b *Backend) Line(name string) (gpio.PinIO, error) {
	if name == "" {
		return nil, fmt.Errorf("sim: empty line name")
	}
	return b.line(name), nil
}

func (b *Backend) line(name string) *Line {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.lines[name]
	if !ok {
		l = &Line{b: b, name: name, num: len(b.lines), edges: make(chan gpio.Level, 64), halt: make(chan struct{}, 1)}
		b.lines[name] = l
	}
	return l
}

// LineState is a line as seen from outside the Pi.
type LineState struct {
	Name   string     `json:"name"`
	Output bool       `json:"output"` // configured as an output
	Level  gpio.Level `json:"level"`
	Pull   gpio.Pull  `json:"pull"`
}

// Lines returns every line, sorted by name.
func (b *Backend) Lines() []LineState {
	b.mu.Lock()
	defer b.mu.Unlock()
	var s []LineState
	for _, l := range b.lines {
		s = append(s, LineState{Name: l.name, Output: l.out, Level: l.levelLocked(), Pull: l.pull})
	}
	slices.SortFunc(s, func(a, b LineState) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return s
}

// Level returns the level a line shows to the outside world.
func (b *Backend) Level(name string) gpio.Level {
	b.mu.Lock()
	defer b.mu.Unlock()
	if l, ok := b.lines[name]; ok {
		return l.levelLocked()
	}
	return gpio.Low
}

// WaitLevel waits until the named line shows level l, or ctx ends.
func (b *Backend) WaitLevel(ctx context.Context, name string, l gpio.Level) error {
	for {
		b.mu.Lock()
		line, ok := b.lines[name]
		got := ok && line.levelLocked() == l
		ch := b.changed
		b.mu.Unlock()
		if got {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("sim: line %s never went %v: %w", name, l, ctx.Err())
		}
	}
}

// Drive sets the level the outside world puts on a line (a button closing
// a contact). The line sees an edge if it is an input watching for one.
func (b *Backend) Drive(name string, lv gpio.Level) {
	l := b.line(name)
	b.mu.Lock()
	defer b.mu.Unlock()
	before := l.levelLocked()
	l.driven, l.drive = true, lv
	l.edgeLocked(before)
}

// Release stops driving a line: it falls back to its pull.
func (b *Backend) Release(name string) {
	l := b.line(name)
	b.mu.Lock()
	defer b.mu.Unlock()
	before := l.levelLocked()
	l.driven = false
	l.edgeLocked(before)
}

// Press closes a button on the named input for hold, then lets go. The
// button pulls against the line's bias: to ground on a pulled-up line, to
// 3.3V otherwise. It returns early, releasing, if ctx ends.
func (b *Backend) Press(ctx context.Context, name string, hold time.Duration) error {
	l := b.line(name)
	b.mu.Lock()
	pressed := gpio.Level(l.pull != gpio.PullUp)
	b.mu.Unlock()
	b.Drive(name, pressed)
	defer b.Release(name)
	t := time.NewTimer(hold)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Line is one simulated GPIO line. It implements periph's gpio.PinIO.
type Line struct {
	b     *Backend
	name  string
	num   int
	edges chan gpio.Level // pending edges for WaitForEdge
	halt  chan struct{}   // a pending Halt

	// guarded by b.mu
	out    bool
	level  gpio.Level // output level
	pull   gpio.Pull
	edge   gpio.Edge
	driven bool
	drive  gpio.Level
}

func (l *Line) levelLocked() gpio.Level {
	switch {
	case l.out:
		return l.level
	case l.driven:
		return l.drive
	case l.pull == gpio.PullUp:
		return gpio.High
	}
	return gpio.Low
}

// edgeLocked queues an edge if the level moved and the line watches for it.
func (l *Line) edgeLocked(before gpio.Level) {
	after := l.levelLocked()
	if after == before || l.out {
		return
	}
	if l.edge == gpio.BothEdges || (l.edge == gpio.RisingEdge && after) || (l.edge == gpio.FallingEdge && !after) {
		select {
		case l.edges <- after:
		default: // a full kernel queue drops events too
		}
	}
}

func (l *Line) String() string   { return l.name }
func (l *Line) Name() string     { return l.name }
func (l *Line) Number() int      { return l.num }
func (l *Line) Function() string { return string(l.Func()) }

// Func reports IN or OUT.
func (l *Line) Func() pin.Func {
	l.b.mu.Lock()
	defer l.b.mu.Unlock()
	if l.out {
		return gpio.OUT
	}
	return gpio.IN
}

// Halt interrupts a WaitForEdge in progress, or the next one.
func (l *Line) Halt() error {
	select {
	case l.halt <- struct{}{}:
	default:
	}
	return nil
}

// In makes the line an input.
func (l *Line) In(pull gpio.Pull, edge gpio.Edge) error {
	l.b.mu.Lock()
	defer l.b.mu.Unlock()
	l.out, l.edge = false, edge
	if pull != gpio.PullNoChange {
		l.pull = pull
	}
	for { // a new request starts with an empty event queue
		select {
		case <-l.edges:
		default:
			return nil
		}
	}
}

// Read returns the line's level.
func (l *Line) Read() gpio.Level {
	l.b.mu.Lock()
	defer l.b.mu.Unlock()
	return l.levelLocked()
}

// WaitForEdge waits for an edge: for ever when timeout is 0 (until Halt),
// not at all when it is negative, as periph's gpioioctl does.
func (l *Line) WaitForEdge(timeout time.Duration) bool {
	var tc <-chan time.Time
	switch {
	case timeout < 0:
		select {
		case <-l.edges:
			return true
		default:
			return false
		}
	case timeout > 0:
		t := time.NewTimer(timeout)
		defer t.Stop()
		tc = t.C
	}
	select {
	case <-l.edges:
		return true
	case <-l.halt:
		return false
	case <-tc:
		return false
	}
}

// Pull returns the configured bias.
func (l *Line) Pull() gpio.Pull {
	l.b.mu.Lock()
	defer l.b.mu.Unlock()
	return l.pull
}

// DefaultPull is PullNoChange, as with the character device.
func (l *Line) DefaultPull() gpio.Pull { return gpio.PullNoChange }

// Out makes the line an output at level lv.
func (l *Line) Out(lv gpio.Level) error {
	l.b.mu.Lock()
	defer l.b.mu.Unlock()
	changed := !l.out || l.level != lv
	l.out, l.level = true, lv
	if changed {
		close(l.b.changed)
		l.b.changed = make(chan struct{})
	}
	return nil
}

// PWM is not simulated.
func (l *Line) PWM(gpio.Duty, physic.Frequency) error {
	return fmt.Errorf("sim: %s: PWM not supported", l.name)
}

var _ gpio.PinIO = (*Line)(nil)
