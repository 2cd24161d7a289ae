package device

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// A Backend hands out GPIO lines by name ("GPIO17").
type Backend interface {
	Line(name string) (gpio.PinIO, error)
}

// BackendFunc adapts a function to Backend, e.g. a map of gpiotest pins.
type BackendFunc func(name string) (gpio.PinIO, error)

// Line calls f.
func (f BackendFunc) Line(name string) (gpio.PinIO, error) { return f(name) }

// Options tune a Manager beyond what the config file says.
type Options struct {
	Logger *slog.Logger // output mode changes and dropped presses; nil: silent
	// EdgeWait is the timeout handed to WaitForEdge. Zero, right for the
	// gpioioctl and sim backends, waits until an edge arrives or Close
	// halts the line. A backend whose WaitForEdge(0) returns at once, such
	// as periph's gpiotest pins, needs a positive value.
	EdgeWait time.Duration
	// OnEdge, if set, sees every raw input edge before debouncing (for
	// `tocsin gpio test`). It is called from the input's reader goroutine.
	OnEdge func(Edge)
	// HTTPClient talks to signal towers; nil: a client with no timeout of
	// its own (each request has the tower's timeout).
	HTTPClient *http.Client
}

// Edge is a raw input edge, before debouncing.
type Edge struct {
	Input   string
	Pin     string
	Level   gpio.Level
	Pressed bool
	At      time.Time
}

// Press is a debounced button press.
type Press struct {
	Input  string    `json:"input"`
	Zone   string    `json:"zone,omitempty"`
	Action string    `json:"action"`
	Long   bool      `json:"long"` // held for at least the long-press time
	At     time.Time `json:"at"`
}

// ErrUnknown is wrapped by errors about an output or input id that the
// config does not have.
var ErrUnknown = errors.New("unknown device id")

// Manager owns the configured outputs, inputs and towers. It runs one
// goroutine per output (cadence), two per input (reader, debouncer) and one
// per tower (sender); Close stops them all and leaves every output off.
type Manager struct {
	cfg       Config
	opts      Options
	log       *slog.Logger
	debounceD time.Duration
	longD     time.Duration

	outputs []*output
	inputs  []*input
	towers  []*tower
	presses chan Press

	stop      chan struct{}
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup

	mu       sync.Mutex // guards the fields below; taken before output.mu
	zones    map[string]ZoneState
	health   Health
	lampTest map[string]bool // test inputs currently held
	pulsing  map[string]int  // output id -> pulses in progress
}

// Open acquires every configured line, drives all outputs off and starts
// the goroutines. The config must have passed Validate.
func Open(b Backend, cfg Config, opts Options) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// A negative wait makes gpioioctl's WaitForEdge return at once: the
	// reader would spin. Zero waits for ever, interrupted by Halt.
	opts.EdgeWait = max(opts.EdgeWait, 0)
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{
		cfg:       cfg,
		opts:      opts,
		log:       log,
		debounceD: cfg.debounce(),
		longD:     cfg.longPress(),
		presses:   make(chan Press, 64),
		stop:      make(chan struct{}),
		zones:     map[string]ZoneState{},
		lampTest:  map[string]bool{},
		pulsing:   map[string]int{},
	}
	var errs []error
	for _, oc := range cfg.Outputs {
		line, err := b.Line(oc.Pin)
		if err != nil {
			errs = append(errs, fmt.Errorf("output %s: %w", oc.ID, err))
			continue
		}
		o := &output{cfg: oc, line: line, kick: make(chan struct{}, 1), mode: "off"}
		// Safe state first, synchronously: a siren left on by a crash stops
		// before anything else happens.
		if err := o.write(false); err != nil {
			errs = append(errs, fmt.Errorf("output %s: %w", oc.ID, err))
			continue
		}
		m.outputs = append(m.outputs, o)
	}
	for _, ic := range cfg.Inputs {
		line, err := b.Line(ic.Pin)
		if err != nil {
			errs = append(errs, fmt.Errorf("input %s: %w", ic.ID, err))
			continue
		}
		pull, _ := parsePull(ic.Pull)
		if err := line.In(pull, gpio.BothEdges); err != nil {
			errs = append(errs, fmt.Errorf("input %s: configure %s: %w", ic.ID, ic.Pin, err))
			continue
		}
		in := &input{cfg: ic, line: line, kick: make(chan struct{}, 1), readerDone: make(chan struct{})}
		in.raw.Store(in.pressedAt(line.Read()))
		in.pressed = in.raw.Load()
		m.inputs = append(m.inputs, in)
	}
	if len(errs) > 0 {
		for _, o := range m.outputs {
			_ = o.line.Halt()
		}
		for _, in := range m.inputs {
			_ = in.line.Halt()
		}
		return nil, errors.Join(errs...)
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{}
	}
	for _, tc := range cfg.Towers {
		m.towers = append(m.towers, newTower(tc, client))
	}

	for _, o := range m.outputs {
		m.wg.Add(1)
		go func() { defer m.wg.Done(); o.run(m.stop) }()
	}
	for _, in := range m.inputs {
		initial := in.raw.Load()
		m.wg.Add(2)
		go func() { defer m.wg.Done(); m.read(in) }()
		go func() { defer m.wg.Done(); m.debounce(in, initial) }()
	}
	for _, t := range m.towers {
		m.wg.Add(1)
		go func() { defer m.wg.Done(); t.run(m.stop) }()
	}
	m.mu.Lock()
	m.refreshLocked()
	m.mu.Unlock()
	return m, nil
}

// Close stops every goroutine, turns every output off and clears the
// towers. It is safe to call more than once.
func (m *Manager) Close() error {
	m.closeOnce.Do(func() {
		close(m.stop)
		// A reader blocked in WaitForEdge(0) returns only when its line is
		// halted. gpioioctl's Halt is a one-shot deadline that the next
		// WaitForEdge call resets, so repeat it until the reader is out.
		for _, in := range m.inputs {
			m.haltUntil(in)
		}
		m.wg.Wait()
		var errs []error
		for _, o := range m.outputs {
			if err := o.lastErr(); err != nil {
				errs = append(errs, fmt.Errorf("output %s: %w", o.cfg.ID, err))
			}
		}
		for _, t := range m.towers {
			ctx, cancel := context.WithTimeout(context.Background(), t.timeout()*time.Duration(1+t.retries()))
			if err := t.send(ctx, t.clearQuery()); err != nil {
				errs = append(errs, fmt.Errorf("tower %s: clear: %w", t.cfg.ID, err))
			}
			cancel()
		}
		close(m.presses)
		m.closeErr = errors.Join(errs...)
	})
	return m.closeErr
}

func (m *Manager) haltUntil(in *input) {
	_ = in.line.Halt()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-in.readerDone:
			return
		case <-t.C:
			_ = in.line.Halt()
		}
	}
}

// Presses delivers debounced presses, including lamp tests. It is closed by
// Close. Presses are dropped (and logged) if nobody reads for 64 presses.
func (m *Manager) Presses() <-chan Press { return m.presses }

// SetZone sets what a zone's sirens, lights and towers show. It never
// blocks on hardware.
func (m *Manager) SetZone(zone string, s ZoneState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s == (ZoneState{}) {
		delete(m.zones, zone)
	} else {
		m.zones[zone] = s
	}
	m.refreshLocked()
}

// SetHealth sets what the status outputs show.
func (m *Manager) SetHealth(h Health) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.health = h
	m.refreshLocked()
}

// Pulse turns an output on for d, whatever its zone says, then hands it
// back. It returns early, with ctx's error, when ctx ends.
func (m *Manager) Pulse(ctx context.Context, id string, d time.Duration) error {
	if !slices.ContainsFunc(m.outputs, func(o *output) bool { return o.cfg.ID == id }) {
		return fmt.Errorf("output %q: %w (have %s)", id, ErrUnknown, m.outputIDs())
	}
	m.mu.Lock()
	m.pulsing[id]++
	m.refreshLocked()
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		if m.pulsing[id]--; m.pulsing[id] == 0 {
			delete(m.pulsing, id)
		}
		m.refreshLocked()
		m.mu.Unlock()
	}()
	return sleep(ctx, m.stop, d)
}

// Press presses an input as if by hand: the press goes through debouncing
// and long-press timing like a real one, on any backend. A short press is
// held for 200ms, a long one for the long-press time plus 300ms; Press
// returns when the button is released.
func (m *Manager) Press(ctx context.Context, id string, long bool) error {
	i := slices.IndexFunc(m.inputs, func(in *input) bool { return in.cfg.ID == id })
	if i < 0 {
		return fmt.Errorf("input %q: %w (have %s)", id, ErrUnknown, m.inputIDs())
	}
	in := m.inputs[i]
	hold := max(200*time.Millisecond, 3*m.debounceD)
	if long {
		hold = m.longD + 300*time.Millisecond
	}
	in.inject(true)
	err := sleep(ctx, m.stop, hold)
	in.inject(false)
	return err
}

// sleep waits for d, or until ctx ends or stop closes.
func sleep(ctx context.Context, stop <-chan struct{}, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-stop:
		return errors.New("device manager closed")
	}
}

func (m *Manager) outputIDs() string {
	var ids []string
	for _, o := range m.outputs {
		ids = append(ids, o.cfg.ID)
	}
	return listOrNone(ids)
}

func (m *Manager) inputIDs() string {
	var ids []string
	for _, in := range m.inputs {
		ids = append(ids, in.cfg.ID)
	}
	return listOrNone(ids)
}

func listOrNone(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}

// refreshLocked pushes the wanted cadence to every output and the wanted
// pattern to every tower. m.mu is held.
func (m *Manager) refreshLocked() {
	lampTest := len(m.lampTest) > 0
	for _, o := range m.outputs {
		c, mode := m.desiredLocked(o, lampTest)
		if prev := o.want(c, mode); prev != mode {
			m.log.Info("gpio output", "id", o.cfg.ID, "pin", o.cfg.Pin, "zone", o.cfg.Zone, "mode", mode, "cadence", c.String())
		}
	}
	for _, t := range m.towers {
		t.want(m.zones[t.cfg.Zone], lampTest)
	}
}

func (m *Manager) desiredLocked(o *output, lampTest bool) (Cadence, string) {
	if m.pulsing[o.cfg.ID] > 0 {
		return Steady, "pulse"
	}
	z := m.zones[o.cfg.Zone]
	switch o.cfg.Kind {
	case KindSiren:
		c := o.cfg.Cadence.forAlarm(z.Siren)
		if c.IsOff() {
			return Off, "off"
		}
		return c, z.Siren.String()
	case KindLight:
		if lampTest {
			return Steady, "lamp test"
		}
		switch z.Light {
		case LightFlashing:
			return o.cfg.Cadence.flash(), "flashing"
		case LightSteady:
			return Steady, "steady"
		}
		return Off, "off"
	case KindStatus:
		if lampTest {
			return Steady, "lamp test"
		}
		return m.health.cadence(), m.health.String()
	}
	return Off, "off"
}

func (h Health) String() string {
	var s []string
	if h.ModemDown {
		s = append(s, "modem down")
	}
	if h.DatabaseError {
		s = append(s, "database error")
	}
	if h.MQTTDown {
		s = append(s, "mqtt down")
	}
	if h.NotConfigured {
		s = append(s, "not configured")
	}
	if len(s) == 0 {
		return "ok"
	}
	return strings.Join(s, ", ")
}

func (m *Manager) setLampTest(id string, on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if on {
		m.lampTest[id] = true
	} else {
		delete(m.lampTest, id)
	}
	m.refreshLocked()
}

func (m *Manager) emit(in *input, long bool) {
	p := Press{Input: in.cfg.ID, Zone: in.cfg.Zone, Action: in.cfg.Action, Long: long, At: time.Now()}
	select {
	case m.presses <- p:
	default:
		m.log.Warn("gpio press dropped: nobody is reading presses", "input", p.Input, "long", long)
	}
}

// Status is the state of every output, input and tower, as Tocsin keeps
// it (outputs are never read back from the hardware).
type Status struct {
	Backend string        `json:"backend"`
	Outputs []OutputState `json:"outputs"`
	Inputs  []InputState  `json:"inputs"`
	Towers  []TowerState  `json:"towers,omitempty"`
}

// OutputState is one output in Status.
type OutputState struct {
	ID      string `json:"id"`
	Pin     string `json:"pin"`
	Zone    string `json:"zone,omitempty"`
	Kind    string `json:"kind"`
	Mode    string `json:"mode"`    // off, critical, flashing, steady, ok, modem down, pulse, lamp test ...
	Cadence string `json:"cadence"` // off, steady or ON/OFF pairs
	On      bool   `json:"on"`      // the level last written, as on/off
	Error   string `json:"error,omitempty"`
}

// InputState is one input in Status.
type InputState struct {
	ID      string `json:"id"`
	Pin     string `json:"pin"`
	Zone    string `json:"zone,omitempty"`
	Action  string `json:"action"`
	Pressed bool   `json:"pressed"` // debounced
}

// Status reports the current state.
func (m *Manager) Status() Status {
	s := Status{Backend: m.cfg.Backend, Outputs: []OutputState{}, Inputs: []InputState{}}
	if s.Backend == "" {
		s.Backend = BackendPeriph
	}
	for _, o := range m.outputs {
		s.Outputs = append(s.Outputs, o.state())
	}
	for _, in := range m.inputs {
		s.Inputs = append(s.Inputs, in.state())
	}
	for _, t := range m.towers {
		s.Towers = append(s.Towers, t.state())
	}
	return s
}
