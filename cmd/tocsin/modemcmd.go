package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tocsin-relay/tocsin/modem"
	"github.com/tocsin-relay/tocsin/modem/modemsim"
)

// cmdModem is hardware bring-up: talk to the modem directly, no daemon.
func cmdModem(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: tocsin modem probe | sms NUMBER TEXT | call NUMBER  [--device DEV] [--baud N] [-c FILE] [--trace]")
	}
	sub := args[0]
	fs := flag.NewFlagSet("modem "+sub, flag.ContinueOnError)
	dev := fs.String("device", "", "serial device, or \"sim\" (default: the config's modem.device)")
	baud := fs.Int("baud", 0, "baud rate (default 115200)")
	cfgFile := fs.String("c", "", "daemon config")
	trace := fs.Bool("trace", false, "print the AT traffic")
	if err := fs.Parse(reorderValue(reorder(args[1:], "trace"), "device", "baud", "c")); err != nil {
		return err
	}
	mc := ModemConfig{Device: *dev, Baud: *baud}
	if *cfgFile != "" {
		cfg, err := loadConfig(*cfgFile)
		if err != nil {
			return err
		}
		if mc.Device == "" {
			mc.Device = cfg.Modem.Device
		}
		if mc.Baud == 0 {
			mc.Baud = cfg.Modem.Baud
		}
		mc.Profile, mc.PinFile = cfg.Modem.Profile, cfg.Modem.PinFile
	}
	if mc.Device == "" {
		return errors.New("no modem: give --device /dev/serial/by-id/... (or --device sim) or -c CONFIG")
	}
	if mc.Baud == 0 {
		mc.Baud = 115200
	}
	path := mc.Device
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if mc.Device == "sim" {
		_, p, err := modemsim.StartPTY(ctx, modemsim.Options{Model: "SIMCOM_SIM7600G-H", SendDelay: 50 * time.Millisecond})
		if err != nil {
			return err
		}
		path = p
	}
	port, err := modem.OpenSerial(path, mc.Baud)
	if err != nil {
		return err
	}
	opts := modem.Options{Profile: mc.Profile}
	if *trace {
		opts.Trace = os.Stderr
	}
	m := modem.New(port, opts)
	defer m.Close()
	pin, err := readSecret(mc.PinFile)
	if err != nil {
		return err
	}
	if err := m.Init(ctx, pin); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	switch sub {
	case "probe":
		info, err := m.Probe(ctx)
		if err != nil {
			return err
		}
		signal := "unknown"
		if info.SignalKnown {
			signal = fmt.Sprintf("%d dBm", info.SignalDBm)
		}
		profile := info.Profile
		if mc.Profile == "" {
			profile += " (detected)"
		}
		fmt.Fprintf(out, "device:       %s\nmanufacturer: %s\nmodel:        %s\nfirmware:     %s\nIMEI:         %s\nSIM:          %s\nsignal:       %s\nregistration: %s\noperator:     %s\nprofile:      %s\n",
			mc.Device, info.Manufacturer, info.Model, info.Firmware, info.IMEI, info.SIM, signal,
			info.Registration, info.Operator, profile)
		fmt.Fprintf(out, "call keys:    %s\nspeech:       %s\n", yesNo(info.KeyDetect, "4/6 during a call acknowledge/resolve"),
			yesNo(info.Speech, "the call speaks the incident"))
		if info.ProfileNote != "" {
			fmt.Fprintf(out, "note:         %s\n", info.ProfileNote)
		}
		return nil
	case "sms":
		if fs.NArg() < 2 {
			return errors.New("usage: tocsin modem sms NUMBER TEXT")
		}
		text := strings.Join(fs.Args()[1:], " ")
		refs, err := m.SendSMS(ctx, fs.Arg(0), text)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "sent to %s in %d part(s), message reference(s) %v\n", fs.Arg(0), len(refs), refs)
		return nil
	case "call":
		return modemCall(ctx, m, fs.Args(), out)
	}
	return fmt.Errorf("unknown modem command %q: want probe, sms or call", sub)
}

func yesNo(ok bool, what string) string {
	if ok {
		return "yes: " + what
	}
	return "no"
}

// modemCall places one call for bring-up: it rings, speaks (where the
// module can) and prints every step and key pressed.
func modemCall(ctx context.Context, m *modem.Modem, args []string, out io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: tocsin modem call NUMBER [--device DEV]")
	}
	p := m.Profile()
	fmt.Fprintf(out, "calling %s (profile %s, key detection %v, speech %v); press keys on the phone, 4 or 6 ends the call\n",
		args[0], p.Name, p.DTMFURC != "", p.TTS != nil)
	res, err := m.Call(ctx, args[0], modem.CallOptions{
		Speech: "This is a test call from Tocsin. Press 4 or 6 to end it.",
		OnKey: func(key byte) bool {
			fmt.Fprintf(out, "key %c\n", key)
			return key == '4' || key == '6'
		},
	})
	if err != nil {
		return err
	}
	for _, ev := range res.Events {
		fmt.Fprintf(out, "%s %s", ev.At.Local().Format("15:04:05"), ev.Kind)
		if ev.Kind == "key" {
			fmt.Fprintf(out, " %c", ev.Key)
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "outcome: %s, rang %v, answered %v, keys %q\n", res.Outcome, res.Rang, res.Answered, res.Keys)
	return nil
}
