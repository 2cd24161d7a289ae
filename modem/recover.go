package modem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Boot URCs: what modules print when they (re)start. A modem that starts
// echoing again after ATE0 has rebooted too.
var bootURCs = []string{"RDY", "+CPIN: READY", "SMS DONE", "SMS Ready", "Call Ready", "+QIND: PB DONE", "PB DONE", "+CFUN: 1"}

// echoBack is queued by the reader when a command comes back echoed after
// ATE0; no modem line can contain NUL (the scanner drops it).
const echoBack = "\x00echo"

// OnReboot sets a handler called after the Modem noticed a spontaneous
// reboot and re-ran Init (with the PIN of the last successful Init); err
// is Init's result. It runs on the dispatcher goroutine, so it may call
// ReadStored to pick up SMS that arrived during the reboot.
func (m *Modem) OnReboot(h func(ctx context.Context, err error)) {
	m.smsMu.Lock()
	m.onReboot = h
	m.smsMu.Unlock()
}

// handleBoot re-initialises after a reboot. Modules print several boot
// lines; one re-init per boot is enough, and one that failed (SIM not
// ready yet after RDY) is retried on the next boot line.
func (m *Modem) handleBoot(line string) {
	if strings.HasPrefix(line, "+CPIN:") && !strings.Contains(line, "READY") {
		return
	}
	m.smsMu.Lock()
	pin, inited, h := m.pin, m.inited, m.onReboot
	recent := !m.lastReinit.IsZero() && time.Since(m.lastReinit) < 10*time.Second
	m.smsMu.Unlock()
	if !inited || recent {
		return // before the first Init nothing needs redoing
	}
	m.echoOff.Store(false)
	ctx, cancel := context.WithTimeout(m.ctx, 60*time.Second)
	defer cancel()
	err := m.Init(ctx, pin)
	if err == nil {
		m.smsMu.Lock()
		m.lastReinit = time.Now()
		m.smsMu.Unlock()
	}
	if h != nil {
		h(ctx, err)
	}
}

// Restart reboots the module (AT+CFUN=1,1). A USB module drops off the
// bus and comes back, so the caller should then Close this Modem and open
// the port again; a module on a UART prints its boot lines and the Modem
// re-initialises by itself (OnReboot).
func (m *Modem) Restart(ctx context.Context) error {
	_, err := m.Command(ctx, "AT+CFUN=1,1")
	return err
}

// Rung is one step of the recovery ladder.
type Rung int

// Recovery rungs, in the order they are tried.
const (
	RungNone     Rung = iota // the modem was fine
	RungResync               // ESC + quiet + AT, then Init
	RungReopen               // close and reopen the port, then Init
	RungRestart              // AT+CFUN=1,1, wait for the module, reopen, Init
	RungPowerKey             // pulse the power key, wait, reopen, Init
)

func (r Rung) String() string {
	return [...]string{"none", "resync", "reopen", "restart", "power key"}[r]
}

// ErrModemDown is returned by Ladder.Recover when every rung failed; the
// caller reports the modem down and tries again later with backoff.
var ErrModemDown = errors.New("modem: down, every recovery rung failed")

// Ladder recovers a modem that stopped working, one rung at a time, each
// tried only when the one before failed. It holds no goroutines; Recover
// runs on the caller's.
type Ladder struct {
	// Open opens the port (again). Prefer a /dev/serial/by-id path: the
	// USB device may come back under another ttyUSB number.
	Open func(ctx context.Context) (io.ReadWriteCloser, error)
	// Options for each new Modem.
	Options Options
	// PIN for Init.
	PIN string
	// Prepare registers handlers (OnSMS, OnIncomingCall, ...) on each new
	// Modem before it is initialised.
	Prepare func(m *Modem)
	// PowerKey pulses the HAT's power key (modem.power_key); nil skips
	// that rung.
	PowerKey func(ctx context.Context) error
	// BootWait is how long a restarted module may take to answer again.
	// Default 30s.
	BootWait time.Duration
	// RetryEvery is the pause between attempts to reopen while waiting for
	// a module to boot. Default 1s.
	RetryEvery time.Duration
}

// Recover returns a working, initialised Modem: m itself when a resync
// was enough, else a new one (m is then closed). m may be nil (open from
// scratch). The Rung says which step worked. Pending SMS are the caller's:
// nothing is sent or deleted here.
func (l *Ladder) Recover(ctx context.Context, m *Modem) (*Modem, Rung, error) {
	if l.BootWait <= 0 {
		l.BootWait = 30 * time.Second
	}
	if l.RetryEvery <= 0 {
		l.RetryEvery = time.Second
	}
	var errs []error
	// 1. Resync on the open port.
	if m != nil {
		err := m.Resync(ctx)
		if err == nil {
			if err = m.Init(ctx, l.PIN); err == nil {
				return m, RungResync, nil
			}
		}
		errs = append(errs, fmt.Errorf("resync: %w", err))
	}
	// 2. Reopen.
	if m != nil {
		m.Close()
		m = nil
	}
	nm, err := l.openInit(ctx)
	if err == nil {
		return nm, RungReopen, nil
	}
	errs = append(errs, fmt.Errorf("reopen: %w", err))
	if ctx.Err() != nil {
		return nil, RungNone, errors.Join(append([]error{ErrModemDown}, errs...)...)
	}
	// 3. Restart the module through whatever port we have.
	if nm != nil {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := nm.Restart(rctx)
		cancel()
		nm.Close()
		if err == nil {
			if m2, err := l.waitBoot(ctx); err == nil {
				return m2, RungRestart, nil
			} else {
				errs = append(errs, fmt.Errorf("restart: %w", err))
			}
		} else {
			errs = append(errs, fmt.Errorf("restart: %w", err))
		}
	}
	// 4. Power key.
	if l.PowerKey != nil && ctx.Err() == nil {
		if err := l.PowerKey(ctx); err != nil {
			errs = append(errs, fmt.Errorf("power key: %w", err))
		} else if m2, err := l.waitBoot(ctx); err == nil {
			return m2, RungPowerKey, nil
		} else {
			errs = append(errs, fmt.Errorf("power key: %w", err))
		}
	}
	return nil, RungNone, errors.Join(append([]error{ErrModemDown}, errs...)...)
}

// openInit opens the port and initialises a new Modem. On Init failure it
// returns the open Modem too (for the restart rung) with the error.
func (l *Ladder) openInit(ctx context.Context) (*Modem, error) {
	port, err := l.Open(ctx)
	if err != nil {
		return nil, err
	}
	m := New(port, l.Options)
	if l.Prepare != nil {
		l.Prepare(m)
	}
	ictx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := m.Init(ictx, l.PIN); err != nil {
		return m, err
	}
	return m, nil
}

// waitBoot reopens and initialises until it works or BootWait passes.
func (l *Ladder) waitBoot(ctx context.Context) (*Modem, error) {
	deadline := time.Now().Add(l.BootWait)
	var last error
	for {
		t := time.NewTimer(l.RetryEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		m, err := l.openInit(ctx)
		if err == nil {
			return m, nil
		}
		if m != nil {
			m.Close()
		}
		last = err
		if !time.Now().Before(deadline) {
			return nil, fmt.Errorf("not back within %v: %w", l.BootWait, last)
		}
	}
}
