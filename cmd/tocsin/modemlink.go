package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/modem"
	"github.com/tocsin-relay/tocsin/modem/modemsim"
)

// errModemDown is returned while no modem is usable; sends are retried.
var errModemDown = fmt.Errorf("modem is down: %w", modem.ErrTimeout)

// modemLink keeps a modem working: it opens the port, initialises the
// module and reads replies left in storage; it probes the module every
// minute and after every error; and when the module stops answering it
// climbs the recovery ladder (resync, reopen, AT+CFUN=1,1, power key),
// then keeps retrying with backoff. The rest of the daemon sees one modem
// that is up or answers errModemDown, so a missing modem never stops the
// daemon, and the outbox keeps every pending message meanwhile.
//
// A modem unusable (no SIM, no registration, not answering) for five
// minutes opens an incident on Tocsin's own "tocsin" service, which pages by
// whatever still works (sirens, MQTT); it resolves when the modem is back.
type modemLink struct {
	cfg      ModemConfig
	log      *slog.Logger
	onSMS    func(ctx context.Context, msg modem.InboundSMS) error
	onReport func(ctx context.Context, r modem.StatusReport)
	onCall   func(ctx context.Context, number string, hangUp func(ctx context.Context) error)
	ingest   func(ctx context.Context, ev escalation.Event) (escalation.IngestResult, error)
	powerKey func(ctx context.Context) error // nil: no power-key rung
	pin      string

	sim     *modemsim.Sim // the built-in simulator, when device is "sim"
	simPath string

	poke chan struct{} // probe soon: an error was seen

	mu      sync.Mutex // guards everything below
	cur     *modem.Modem
	info    modem.Info
	lastErr string
	since   time.Time
	rung    string
	health  modem.Health
	healthy bool // the health incident is known resolved
	down    bool // the health incident is open
}

// start prepares the simulator if configured. It does not block.
func (l *modemLink) start(ctx context.Context) error {
	l.poke = make(chan struct{}, 1)
	l.healthy = false
	if l.cfg.Device != "sim" {
		return nil
	}
	sim, path, err := modemsim.StartPTY(ctx, modemsim.Options{Model: "SIMCOM_SIM7600G-H"})
	if err != nil {
		return fmt.Errorf("start modem simulator: %w", err)
	}
	l.sim, l.simPath = sim, path
	l.log.Info("modem simulator started", "pty", path)
	return nil
}

func (l *modemLink) device() string {
	if l.sim != nil {
		return l.simPath
	}
	return l.cfg.Device
}

// run keeps the modem working until ctx ends.
func (l *modemLink) run(ctx context.Context) {
	ladder := &modem.Ladder{
		Open: func(ctx context.Context) (io.ReadWriteCloser, error) {
			return modem.OpenSerial(l.device(), l.cfg.Baud)
		},
		Options: modem.Options{Profile: l.cfg.Profile, Logger: l.log},
		PIN:     l.pin,
		Prepare: func(m *modem.Modem) {
			m.OnSMS(l.onSMS)
			m.OnStatusReport(l.onReport)
			m.OnIncomingCall(func(ctx context.Context, number string) {
				if l.onCall != nil {
					l.onCall(ctx, number, m.HangUp)
				}
			})
			m.OnReboot(func(ctx context.Context, err error) {
				if err != nil {
					l.log.Error("modem rebooted by itself; re-init failed", "err", err)
					l.pokeProbe()
					return
				}
				l.log.Warn("modem rebooted by itself; initialised again")
				if err := m.ReadStored(ctx); err != nil {
					l.log.Error("read stored SMS after reboot", "err", err)
				}
			})
		},
		PowerKey: l.powerKey,
	}
	var (
		m       *modem.Modem
		backoff = time.Second
	)
	for ctx.Err() == nil {
		nm, rung, err := ladder.Recover(ctx, m)
		if ctx.Err() != nil {
			if nm != nil {
				nm.Close()
			}
			return
		}
		if err != nil {
			m = nil
			l.setErr(err)
			l.observe(ctx, modem.Info{}, err)
			l.log.Error("modem down; retrying", "device", l.device(), "err", err, "in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, time.Minute)
			continue
		}
		backoff = time.Second
		m = nm
		if rung > modem.RungReopen {
			l.log.Warn("modem recovered", "by", rung.String())
		}
		err = l.serve(ctx, m, rung)
		if ctx.Err() != nil {
			m.Close()
			return
		}
		l.setErr(err)
		l.log.Warn("modem failed; recovering", "err", err)
		select {
		case <-m.Done():
			m.Close()
			m = nil // the port is gone: start from reopen
		default:
		}
	}
}

// serve uses m until it fails: it probes every minute and after errors.
func (l *modemLink) serve(ctx context.Context, m *modem.Modem, rung modem.Rung) error {
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	info, err := m.Probe(pctx)
	cancel()
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	l.mu.Lock()
	l.cur, l.info, l.lastErr, l.since, l.rung = m, info, "", time.Now(), rung.String()
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.cur = nil
		l.mu.Unlock()
	}()
	l.log.Info("modem ready", "device", l.device(), "model", info.Model, "signal_dbm", info.SignalDBm,
		"registration", info.Registration.String(), "operator", info.Operator)
	l.observe(ctx, info, nil)
	// Replies that arrived while the daemon (or the modem) was down.
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	if err := m.ReadStored(rctx); err != nil {
		l.log.Error("read stored SMS", "err", err)
	}
	cancel()
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.Done():
			if err := m.Err(); err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			return errors.New("port closed")
		case <-tick.C:
		case <-l.poke:
		}
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		info, err := m.Probe(pctx)
		cancel()
		l.observe(ctx, info, err)
		if err != nil {
			return fmt.Errorf("probe: %w", err)
		}
		l.mu.Lock()
		l.info = info
		l.mu.Unlock()
	}
}

// observe feeds a probe into the health rule and opens or resolves the
// health incident.
func (l *modemLink) observe(ctx context.Context, info modem.Info, err error) {
	now := time.Now()
	l.mu.Lock()
	ok, reason := l.health.Observe(now, info, err)
	down, since, _ := l.health.Down(now)
	open, healthy := l.down, l.healthy
	if down {
		l.down, l.healthy = true, false
	} else if ok {
		l.down, l.healthy = false, true
	}
	l.mu.Unlock()
	if l.ingest == nil {
		return
	}
	ev := escalation.Event{Service: "tocsin", DedupKey: "modem-health", Source: l.cfg.Device, Intake: "self", Severity: escalation.SevCritical}
	switch {
	case down && !open:
		ev.Action = escalation.Trigger
		ev.Summary = fmt.Sprintf("Modem unusable since %s: %s", since.Local().Format("15:04"), reason)
	case ok && !healthy:
		ev.Action = escalation.Resolve // dropped if no incident is open
	default:
		return
	}
	if _, err := l.ingest(ctx, ev); err != nil {
		if escalation.KindOf(err) == escalation.Invalid {
			l.log.Warn("modem health incident: the policy has no \"tocsin\" service", "err", err)
			return
		}
		l.log.Error("modem health incident", "err", err)
		return
	}
	if ev.Action == escalation.Trigger {
		l.log.Error("modem unusable for 5 minutes; health incident opened", "reason", reason)
	}
}

func (l *modemLink) pokeProbe() {
	select {
	case l.poke <- struct{}{}:
	default:
	}
}

func (l *modemLink) setErr(err error) {
	if err == nil {
		return
	}
	l.mu.Lock()
	l.lastErr = err.Error()
	l.mu.Unlock()
}

func (l *modemLink) current() *modem.Modem {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}

// SendSMS sends through the current modem.
func (l *modemLink) SendSMS(ctx context.Context, number, text string) ([]int, error) {
	m := l.current()
	if m == nil {
		return nil, errModemDown
	}
	refs, err := m.SendSMS(ctx, number, text)
	if err != nil {
		l.setErr(err)
		var cms *modem.CMSError
		if !errors.As(err, &cms) {
			l.pokeProbe() // not the network's answer: is the modem all right?
		}
	}
	return refs, err
}

// Call places a voice call through the current modem.
func (l *modemLink) Call(ctx context.Context, number string, opts modem.CallOptions) (modem.CallResult, error) {
	m := l.current()
	if m == nil {
		return modem.CallResult{}, errModemDown
	}
	if opts.RingTimeout == 0 {
		opts.RingTimeout = time.Duration(l.cfg.RingTimeout)
	}
	res, err := m.Call(ctx, number, opts)
	if err != nil {
		l.setErr(err)
		l.pokeProbe()
	}
	return res, err
}

// modemStatus is the modem part of /api/v1/status.
type modemStatus struct {
	Up           bool   `json:"up"`
	Device       string `json:"device"`
	Simulated    bool   `json:"simulated"`
	Model        string `json:"model,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	Firmware     string `json:"firmware,omitempty"`
	IMEI         string `json:"imei,omitempty"`
	SIM          string `json:"sim,omitempty"`
	SignalDBM    int    `json:"signal_dbm"`
	SignalKnown  bool   `json:"signal_known"`
	Registration string `json:"registration,omitempty"`
	Operator     string `json:"operator,omitempty"`
	Profile      string `json:"profile,omitempty"`
	Recovered    string `json:"recovered_by,omitempty"`
	Reports      string `json:"delivery_reports,omitempty"` // how the modem hands over reports; "none": sent is as far as Tocsin can see
	LastError    string `json:"last_error,omitempty"`
	Since        string `json:"since,omitempty"`
	HealthAlarm  bool   `json:"health_incident_open"`
}

func (l *modemLink) status() modemStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := modemStatus{Up: l.cur != nil, Device: l.cfg.Device, Simulated: l.sim != nil, LastError: l.lastErr, HealthAlarm: l.down}
	if l.cur != nil {
		s.Model, s.Manufacturer, s.Firmware, s.IMEI = l.info.Model, l.info.Manufacturer, l.info.Firmware, l.info.IMEI
		s.SIM, s.SignalDBM, s.SignalKnown = l.info.SIM, l.info.SignalDBm, l.info.SignalKnown
		s.Registration, s.Operator = l.info.Registration.String(), l.info.Operator
		s.Profile = l.cur.Profile().Name
		s.Since = l.since.UTC().Format(time.RFC3339)
		s.Recovered = l.rung
		s.Reports = l.cur.ReportMode().String()
	}
	return s
}
