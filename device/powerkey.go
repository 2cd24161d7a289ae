package device

import (
	"context"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// PowerKey is the modem HAT's PWRKEY line, the last rung of the modem
// recovery ladder: holding it for about 1.5s switches most modules (SIM7600,
// EC25, SIM800) off or on.
type PowerKey struct {
	cfg  PowerKeyConfig
	line gpio.PinOut
	mu   sync.Mutex // serialises pulses
}

// OpenPowerKey acquires the line and leaves the key released.
func OpenPowerKey(b Backend, cfg PowerKeyConfig) (*PowerKey, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	line, err := b.Line(cfg.Pin)
	if err != nil {
		return nil, fmt.Errorf("modem.power_key: %w", err)
	}
	k := &PowerKey{cfg: cfg, line: line}
	if err := k.set(false); err != nil {
		return nil, fmt.Errorf("modem.power_key: release %s: %w", cfg.Pin, err)
	}
	return k, nil
}

func (k *PowerKey) set(pressed bool) error {
	return k.line.Out(gpio.Level(pressed != k.cfg.ActiveLow))
}

// PulsePowerKey holds the key for d (the configured pulse when d is 0) and
// releases it. If ctx ends first the key is released at once and ctx's
// error returned: the modem may then be in either state.
func (k *PowerKey) PulsePowerKey(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		d = k.cfg.pulse()
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.set(true); err != nil {
		return fmt.Errorf("power key %s: press: %w", k.cfg.Pin, err)
	}
	waitErr := sleep(ctx, nil, d)
	if err := k.set(false); err != nil {
		return fmt.Errorf("power key %s: release: %w", k.cfg.Pin, err)
	}
	return waitErr
}

// Close releases the key.
func (k *PowerKey) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.set(false)
}
