package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/tocsin-relay/tocsin/device"
)

// cmdGPIOTest is wiring bring-up on a new box: it pulses each output in
// turn and prints every input edge, without the daemon (stop the daemon
// first: it holds the lines).
func cmdGPIOTest(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("gpio test")
	file := fs.String("c", "", "daemon config (default: the demo's simulated GPIO)")
	pulse := fs.Duration("pulse", time.Second, "how long each output is on")
	watch := fs.Duration("watch", 10*time.Second, "how long to print input edges after the outputs")
	if err := parseFlags(fs, args, out); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("gpio test", "unexpected argument %q", fs.Arg(0))
	}
	cfg, err := parseConfig("demo/tocsin.yaml", demoConfig)
	if *file != "" {
		cfg, err = loadConfig(*file)
	}
	if err != nil {
		return err
	}
	if cfg.GPIO.Backend == "none" {
		return fmt.Errorf("%s: gpio.backend is none: nothing to test", *file)
	}
	b, err := device.OpenBackend(cfg.GPIO.Backend)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "backend %s: %d outputs, %d inputs; pulsing each output for %s, then watching inputs for %s\n",
		cfg.GPIO.Backend, len(cfg.GPIO.Outputs), len(cfg.GPIO.Inputs), *pulse, *watch)
	ctx, cancel := context.WithTimeout(ctx, time.Duration(len(cfg.GPIO.Outputs))*(*pulse)+*watch+5*time.Second)
	defer cancel()
	return device.WiringTest(ctx, out, b, cfg.GPIO, *pulse)
}
