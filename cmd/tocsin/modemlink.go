package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/tocsin-relay/tocsin/modem"
	"github.com/tocsin-relay/tocsin/modem/modemsim"
)

// errModemDown is returned while no modem is usable; sends are retried.
var errModemDown = fmt.Errorf("modem is down: %w", modem.ErrTimeout)

// modemLink keeps a modem open: it opens the port, initialises the module,
// reads replies left in storage, and when the port fails it opens it again
// with backoff. The rest of the daemon sees one Modem that is either up or
// answers errModemDown, so a missing modem never stops the daemon.
type modemLink struct {
	cfg   ModemConfig
	log   *slog.Logger
	onSMS func(ctx context.Context, msg modem.InboundSMS) error
	pin   string

	sim     *modemsim.Sim // the built-in simulator, when device is "sim"
	simPath string

	mu      sync.Mutex // guards cur, info, lastErr, since
	cur     *modem.Modem
	info    modem.Info
	lastErr string
	since   time.Time
}

// start prepares the simulator if configured. It does not block.
func (l *modemLink) start(ctx context.Context) error {
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

// run keeps the modem open until ctx ends.
func (l *modemLink) run(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		err := l.session(ctx)
		if ctx.Err() != nil {
			return
		}
		l.setErr(err)
		l.log.Error("modem down; retrying", "device", l.device(), "err", err, "in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, time.Minute)
	}
}

// session opens the port and serves until it fails.
func (l *modemLink) session(ctx context.Context) error {
	port, err := modem.OpenSerial(l.device(), l.cfg.Baud)
	if err != nil {
		return err
	}
	m := modem.New(port, modem.Options{Profile: l.cfg.Profile, Logger: l.log})
	defer m.Close()
	m.OnSMS(l.onSMS)
	ictx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := m.Init(ictx, l.pin); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	info, err := m.Probe(ictx)
	if err != nil {
		l.log.Warn("modem probe", "err", err)
	}
	l.mu.Lock()
	l.cur, l.info, l.lastErr, l.since = m, info, "", time.Now()
	l.mu.Unlock()
	l.log.Info("modem ready", "device", l.device(), "model", info.Model, "signal_dbm", info.SignalDBm, "registration", info.Registration.String())
	defer func() {
		l.mu.Lock()
		l.cur = nil
		l.mu.Unlock()
	}()
	// Replies that arrived while the daemon was down.
	if err := m.ReadStored(ictx); err != nil {
		l.log.Error("read stored SMS", "err", err)
	}
	health := time.NewTicker(time.Minute)
	defer health.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.Done():
			if err := m.Err(); err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			return errors.New("port closed")
		case <-health.C:
			pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			info, err := m.Probe(pctx)
			cancel()
			if err != nil {
				l.setErr(err)
				continue
			}
			l.mu.Lock()
			l.info = info
			l.mu.Unlock()
		}
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
	}
	return refs, err
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
	Registration string `json:"registration,omitempty"`
	Operator     string `json:"operator,omitempty"`
	LastError    string `json:"last_error,omitempty"`
	Since        string `json:"since,omitempty"`
}

func (l *modemLink) status() modemStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := modemStatus{Up: l.cur != nil, Device: l.cfg.Device, Simulated: l.sim != nil, LastError: l.lastErr}
	if l.cur != nil {
		s.Model, s.Manufacturer, s.Firmware, s.IMEI = l.info.Model, l.info.Manufacturer, l.info.Firmware, l.info.IMEI
		s.SIM, s.SignalDBM, s.Registration, s.Operator = l.info.SIM, l.info.SignalDBm, l.info.Registration.String(), l.info.Operator
		s.Since = l.since.UTC().Format(time.RFC3339)
	}
	return s
}
