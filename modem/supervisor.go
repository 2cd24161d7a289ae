package modem

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// SupervisorConfig configures a Supervisor.
type SupervisorConfig struct {
	// Ladder opens and recovers the modem; its Prepare hook registers
	// OnSMS and OnIncomingCall on every new Modem. The Supervisor itself
	// handles OnReboot: a module that rebooted and initialised again is
	// treated like a reconnection (OnUp runs again), one that failed to
	// initialise is probed and recovered.
	Ladder Ladder
	// OnUp runs on the Run goroutine after every (re)connection and after
	// every spontaneous reboot, before health probing resumes: the place
	// for ReadStored. The modem is already usable (Ready) while it runs,
	// so pages queued during the start leave at once.
	OnUp func(ctx context.Context, m *Modem)
	// OnState is called on the Run goroutine whenever the State changed.
	OnState func(State)
	// ProbeEvery is the health probe period. Default 1 minute. A probe also
	// runs after every failed SendSMS or Call.
	ProbeEvery time.Duration
	// Grace is how long the modem may be unusable before State.Down.
	// Default 5 minutes.
	Grace time.Duration
	// MaxBackoff bounds the wait between recovery rounds while the modem is
	// down. Default 1 minute.
	MaxBackoff time.Duration
}

// State is the modem as the rest of the daemon sees it: the one source for
// the status document, the status light, MQTT status and the health
// incident.
type State struct {
	Up     bool      // a Modem is open and initialised
	Info   Info      // the latest successful Probe
	OK     bool      // the latest probe found SIM ready and registered
	Reason string    // why not OK (or why not Up)
	Down   bool      // not OK for at least Grace: worth an incident
	Since  time.Time // when the modem stopped being OK (zero while OK)
	Rung   Rung      // what the latest recovery took
	LastUp time.Time // when the modem last came up
}

// Supervisor keeps a modem working: it opens it through the Ladder, probes
// its health every ProbeEvery and after every failure, and climbs the
// recovery ladder when the port fails or the modem stops answering. While
// it recovers, SendSMS and Call fail with ErrModemDown at once, so the
// caller's outbox keeps the message; Ready and Changed let the caller wait
// for the modem instead of polling it. Run owns the only goroutine.
type Supervisor struct {
	cfg     SupervisorConfig
	health  Health            // owned by the Run goroutine (observe)
	kick    chan struct{}     // a send or call failed: probe now
	reboots chan rebootReport // from the modem's dispatcher to Run

	mu      sync.Mutex // guards cur, state, ready and changed
	cur     *Modem
	state   State
	ready   chan struct{} // closed while Up; replaced when the modem goes
	changed chan struct{} // closed and replaced at every State change
}

type rebootReport struct {
	m   *Modem
	err error
}

// NewSupervisor returns a Supervisor; call Run to start it.
func NewSupervisor(cfg SupervisorConfig) *Supervisor {
	if cfg.ProbeEvery <= 0 {
		cfg.ProbeEvery = time.Minute
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Minute
	}
	return &Supervisor{cfg: cfg, health: Health{Grace: cfg.Grace}, kick: make(chan struct{}, 1),
		reboots: make(chan rebootReport, 1), ready: make(chan struct{}), changed: make(chan struct{})}
}

// Ready returns a channel that is closed while the modem is up: already
// closed when it is, else closed the moment it comes up. A delivery worker
// waits on it instead of polling, so a page queued during an outage or the
// start leaves as soon as the modem is initialised.
func (s *Supervisor) Ready() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ready
}

// Changed returns a channel closed at the next change of State (then call
// State and Changed again).
func (s *Supervisor) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Modem returns the current Modem, or nil while there is none.
func (s *Supervisor) Modem() *Modem {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// State returns the current state.
func (s *Supervisor) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// SendSMS sends through the current Modem. Any failure schedules a health
// probe and, if that fails too, recovery. What the failure means for the
// message is the caller's decision (the Supervisor only keeps the modem).
func (s *Supervisor) SendSMS(ctx context.Context, number, text string) ([]int, error) {
	m := s.Modem()
	if m == nil {
		return nil, s.downErr()
	}
	refs, err := m.SendSMS(ctx, number, text)
	s.failed(err)
	return refs, err
}

// Call places a voice call through the current Modem (see Modem.Call).
func (s *Supervisor) Call(ctx context.Context, number string, opts CallOptions) (CallResult, error) {
	m := s.Modem()
	if m == nil {
		return CallResult{}, s.downErr()
	}
	res, err := m.Call(ctx, number, opts)
	s.failed(err)
	return res, err
}

func (s *Supervisor) downErr() error {
	st := s.State()
	if st.Reason != "" {
		return fmt.Errorf("%w: %s", ErrModemDown, st.Reason)
	}
	return fmt.Errorf("%w: not up yet", ErrModemDown)
}

// failed schedules a probe after a failed send or call: a cheap check
// that tells a network refusal from a modem in trouble.
func (s *Supervisor) failed(err error) {
	if err == nil || errors.Is(err, context.Canceled) {
		return
	}
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// prepare wraps the Ladder's Prepare so that the Supervisor hears of every
// spontaneous reboot of every Modem it opens.
func (s *Supervisor) prepare(m *Modem) {
	if s.cfg.Ladder.Prepare != nil {
		s.cfg.Ladder.Prepare(m)
	}
	m.OnReboot(func(ctx context.Context, err error) {
		select {
		case s.reboots <- rebootReport{m, err}:
		default: // one report pending is enough
		}
	})
}

func (s *Supervisor) logger() *slog.Logger {
	if l := s.cfg.Ladder.Options.Logger; l != nil {
		return l
	}
	return slog.New(slog.DiscardHandler)
}

// Run keeps the modem up until ctx ends, then closes it. It returns nil
// when ctx ended it.
func (s *Supervisor) Run(ctx context.Context) error {
	backoff := time.Second
	var m *Modem
	ladder := s.cfg.Ladder
	ladder.Prepare = s.prepare
	defer func() {
		s.setCur(nil)
		if m != nil {
			m.Close()
		}
	}()
	for {
		nm, rung, err := ladder.Recover(ctx, m)
		m = nm
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			s.observe(Info{}, err, func(st *State) { st.Up = false })
			if !s.wait(ctx, &backoff) {
				return nil
			}
			continue
		}
		// Probe once before declaring the modem up, so State is complete
		// when OnUp and OnState see it. Up itself is set with cur
		// (setCur), so Ready never closes before a send can use the modem.
		if err := s.probe(ctx, m, func(st *State) { st.Rung, st.LastUp = rung, time.Now() }); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.observe(Info{}, err, func(st *State) { st.Up = false })
			if !s.wait(ctx, &backoff) {
				return nil
			}
			continue // not answering after all: next round of the ladder
		}
		backoff = time.Second
		s.setCur(m)
		if s.cfg.OnUp != nil {
			s.cfg.OnUp(ctx, m)
		}
		s.serve(ctx, m)
		s.setCur(nil)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// setCur makes m the Modem sends go through (nil: none) and publishes Up.
func (s *Supervisor) setCur(m *Modem) {
	s.mu.Lock()
	s.cur = m
	s.mu.Unlock()
	s.observe(Info{}, nil, func(st *State) { st.Up = m != nil })
}

// wait sleeps for *backoff (doubling it up to MaxBackoff); false when ctx
// ended first.
func (s *Supervisor) wait(ctx context.Context, backoff *time.Duration) bool {
	t := time.NewTimer(*backoff)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	}
	*backoff = min(2**backoff, s.cfg.MaxBackoff)
	return true
}

// probe runs one health probe and publishes the result (with edit applied
// when it succeeded).
func (s *Supervisor) probe(ctx context.Context, m *Modem, edit func(*State)) error {
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	info, err := m.Probe(pctx)
	cancel()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		edit = nil
	}
	s.observe(info, err, edit)
	return err
}

// serve probes m every ProbeEvery and after failures, until a probe fails,
// the port dies or ctx ends.
func (s *Supervisor) serve(ctx context.Context, m *Modem) {
	t := time.NewTicker(s.cfg.ProbeEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.Done():
			s.observe(Info{}, m.readErr(), func(st *State) { st.Up = false })
			return
		case r := <-s.reboots:
			if r.m != m {
				continue // a report from a Modem already replaced
			}
			if r.err != nil {
				s.logger().Error("modem rebooted by itself; re-init failed", "err", r.err)
				break // probe, and recover if it fails
			}
			s.logger().Warn("modem rebooted by itself; initialised again")
			if s.cfg.OnUp != nil {
				s.cfg.OnUp(ctx, m) // replies that arrived during the boot
			}
			continue
		case <-s.kick:
		case <-t.C:
		}
		if err := s.probe(ctx, m, nil); err != nil {
			return // the modem is not answering: recover
		}
	}
}

// observe feeds a probe result to Health and publishes the new State.
func (s *Supervisor) observe(info Info, err error, edit func(*State)) {
	now := time.Now()
	s.mu.Lock()
	old := s.state
	st := s.state
	if err == nil && info.Model != "" {
		st.Info = info
	}
	if err != nil || info.Model != "" {
		st.OK, st.Reason = s.health.Observe(now, info, err)
	}
	st.Down, st.Since, _ = s.health.Down(now)
	if edit != nil {
		edit(&st)
	}
	s.state = st
	if st != old {
		close(s.changed)
		s.changed = make(chan struct{})
	}
	switch {
	case st.Up && !old.Up:
		close(s.ready)
	case !st.Up && old.Up:
		s.ready = make(chan struct{})
	}
	s.mu.Unlock()
	if s.cfg.OnState != nil && st != old {
		s.cfg.OnState(st)
	}
}

// Up reports whether the modem is up (State().Up): what the status light
// shows.
func (s *Supervisor) Up() bool { return s.State().Up }
