package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/tocsin-relay/tocsin/device"
	"github.com/tocsin-relay/tocsin/modem"
	"github.com/tocsin-relay/tocsin/modem/modemsim"
)

// modemParts is the modem as the daemon wires it: the supervisor that keeps
// it working (modem.Supervisor) and, with device "sim", the built-in
// simulator it talks to.
type modemParts struct {
	sup     *modem.Supervisor
	sim     *modemsim.Sim // nil unless modem.device is "sim"
	device  string        // the port opened
	close   func()        // releases the power key line
	handler modemHandlers
	log     *slog.Logger
}

// modemHandlers receive what the modem hears.
type modemHandlers struct {
	sms    func(ctx context.Context, msg modem.InboundSMS) error
	report func(ctx context.Context, r modem.StatusReport)
	call   func(ctx context.Context, number string, hangUp func(ctx context.Context) error)
}

// modemHandlers hands what the modem hears to the delivery worker (which
// exists by the time the supervisor runs).
func (d *daemon) modemHandlers() modemHandlers {
	return modemHandlers{
		sms:    func(ctx context.Context, msg modem.InboundSMS) error { return d.phone.HandleSMS(ctx, msg) },
		report: func(ctx context.Context, r modem.StatusReport) { d.phone.HandleReport(ctx, r) },
		call: func(ctx context.Context, n string, hangUp func(context.Context) error) {
			d.phone.HandleIncomingCall(ctx, n, hangUp)
		},
	}
}

// newModem builds the supervisor from the config: the port (or the
// simulator), the PIN, the power-key rung of the recovery ladder, and the
// handlers registered on every Modem it opens. Stored replies are read
// whenever the modem comes up. Nothing runs until sup.Run.
func newModem(ctx context.Context, cfg *Config, h modemHandlers, log *slog.Logger) (*modemParts, error) {
	c := cfg.Modem
	pin, err := readSecret(c.PinFile)
	if err != nil {
		return nil, fmt.Errorf("modem.pin_file: %w", err)
	}
	p := &modemParts{device: c.Device, close: func() {}, handler: h, log: log}
	if c.Device == "sim" {
		sim, path, err := modemsim.StartPTY(ctx, modemsim.Options{Model: "SIMCOM_SIM7600G-H"})
		if err != nil {
			return nil, fmt.Errorf("start modem simulator: %w", err)
		}
		p.sim, p.device = sim, path
		log.Info("modem simulator started", "pty", path)
	}
	var powerKey func(ctx context.Context) error
	if pk := c.PowerKey; pk != nil {
		// The last rung of the recovery ladder: pulse the HAT's power key.
		backendName := cfg.GPIO.Backend
		if backendName == "none" {
			backendName = device.BackendPeriph
		}
		b, err := device.OpenBackend(backendName)
		if err != nil {
			return nil, fmt.Errorf("modem.power_key: %w", err)
		}
		key, err := device.OpenPowerKey(b, *pk)
		if err != nil {
			return nil, fmt.Errorf("modem.power_key: %w", err)
		}
		p.close = func() { key.Close() }
		powerKey = func(ctx context.Context) error { return key.PulsePowerKey(ctx, 0) }
	}
	p.sup = modem.NewSupervisor(modem.SupervisorConfig{
		Ladder: modem.Ladder{
			Open: func(ctx context.Context) (io.ReadWriteCloser, error) {
				return modem.OpenSerial(p.device, c.Baud)
			},
			Options:  modem.Options{Profile: c.Profile, Logger: log},
			PIN:      pin,
			Prepare:  p.prepare,
			PowerKey: powerKey,
		},
		OnUp:  p.readStored,
		Grace: time.Duration(c.HealthGrace),
	})
	return p, nil
}

// prepare registers the handlers on a new Modem.
func (p *modemParts) prepare(m *modem.Modem) {
	m.OnSMS(p.handler.sms)
	m.OnStatusReport(p.handler.report)
	m.OnIncomingCall(func(ctx context.Context, number string) {
		p.handler.call(ctx, number, m.HangUp)
	})
}

// readStored reads replies that arrived while the daemon or the modem was
// down.
func (p *modemParts) readStored(ctx context.Context, m *modem.Modem) {
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := m.ReadStored(rctx); err != nil {
		p.log.Error("read stored SMS", "err", err)
	}
}
