package device

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// WiringTest is `tocsin gpio test`, for checking the wiring of a new box
// without the daemon: it pulses each output in turn for pulse (one second
// when 0), naming it on w, then prints every input edge and press until ctx
// ends. Outputs are off when it returns. A ctx that ends normally is not an
// error.
func WiringTest(ctx context.Context, w io.Writer, b Backend, cfg Config, pulse time.Duration) error {
	if pulse <= 0 {
		pulse = time.Second
	}
	var wmu sync.Mutex // the reader goroutines print too
	printf := func(format string, args ...any) {
		wmu.Lock()
		defer wmu.Unlock()
		fmt.Fprintf(w, format, args...)
	}
	m, err := Open(b, cfg, Options{OnEdge: func(e Edge) {
		state := "released"
		if e.Pressed {
			state = "pressed"
		}
		printf("edge   %-12s %-8s level %-4s %s\n", e.Input, e.Pin, e.Level, state)
	}})
	if err != nil {
		return err
	}
	defer m.Close()
	for _, o := range cfg.Outputs {
		printf("output %-12s %-8s %-6s zone %-8s on for %v\n", o.ID, o.Pin, o.Kind, o.Zone, pulse)
		if err := m.Pulse(ctx, o.ID, pulse); err != nil {
			return ignoreDone(err)
		}
	}
	if len(cfg.Inputs) == 0 {
		printf("no inputs configured\n")
		return nil
	}
	printf("press each button (Ctrl-C to stop)\n")
	for {
		select {
		case <-ctx.Done():
			return nil
		case p := <-m.Presses():
			kind := "short"
			if p.Long {
				kind = "long"
			}
			printf("press  %-12s %s press (%s, zone %s)\n", p.Input, kind, p.Action, p.Zone)
		}
	}
}

func ignoreDone(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}
