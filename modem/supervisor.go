package modem

import (
	"context"
	"errors"
	"sync"
	"time"
)

// SupervisorConfig configures a Supervisor.
type SupervisorConfig struct {
	// Ladder opens and recovers the modem; its Prepare hook registers
	// OnSMS, OnIncomingCall and OnReboot on every new Modem.
	Ladder Ladder
	// OnUp runs on the Run goroutine after every (re)connection, before
	// health probing starts: the place for ReadStored.
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

// State is the modem as the rest of the daemon sees it.
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
// it recovers, SendSMS and Call fail with ErrModemDown (a temporary error),
// so the caller's outbox keeps the message. Run owns the only goroutine.
type Supervisor struct {
	cfg    SupervisorConfig
	health Health
	kick   chan struct{} // a send or call failed: probe now

	mu    sync.Mutex // guards cur and state
	cur   *Modem
	state State
}

// NewSupervisor returns a Supervisor; call Run to start it.
func NewSupervisor(cfg SupervisorConfig) *Supervisor {
	if cfg.ProbeEvery <= 0 {
		cfg.ProbeEvery = time.Minute
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Minute
	}
	return &Supervisor{cfg: cfg, health: Health{Grace: cfg.Grace}, kick: make(chan struct{}, 1)}
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

// SendSMS sends through the current Modem. A failure that suggests the
// modem is in trouble (timeout, closed port) schedules a health probe and,
// if that fails too, recovery.
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
		return errors.Join(ErrModemDown, ErrTimeout, errors.New(st.Reason))
	}
	return errors.Join(ErrModemDown, ErrTimeout)
}

func (s *Supervisor) failed(err error) {
	if err == nil {
		return
	}
	if errors.Is(err, ErrTimeout) || errors.Is(err, ErrClosed) || Temporary(err) {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// Run keeps the modem up until ctx ends, then closes it. It returns nil
// when ctx ended it.
func (s *Supervisor) Run(ctx context.Context) error {
	backoff := time.Second
	var m *Modem
	defer func() {
		s.mu.Lock()
		s.cur = nil
		s.state.Up = false
		s.mu.Unlock()
		if m != nil {
			m.Close()
		}
	}()
	for {
		nm, rung, err := s.cfg.Ladder.Recover(ctx, m)
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
		// when OnUp and OnState see it.
		if err := s.probe(ctx, m, func(st *State) { st.Up, st.Rung, st.LastUp = true, rung, time.Now() }); err != nil {
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
		s.mu.Lock()
		s.cur = m
		s.mu.Unlock()
		if s.cfg.OnUp != nil {
			s.cfg.OnUp(ctx, m)
		}
		s.serve(ctx, m)
		s.mu.Lock()
		s.cur = nil
		s.mu.Unlock()
		if ctx.Err() != nil {
			return nil
		}
	}
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
	s.mu.Unlock()
	if s.cfg.OnState != nil && st != old {
		s.cfg.OnState(st)
	}
}
