package main

import (
	"context"
	"fmt"
	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/policyfile"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tocsin-relay/tocsin/modem"
	"github.com/tocsin-relay/tocsin/modem/modemsim"
)

// cmdModem is hardware bring-up: talk to the modem directly, no daemon.
func cmdModem(ctx context.Context, args []string, out io.Writer) error {
	sub, rest, err := groupCommand("modem", args, out)
	if err != nil {
		return err
	}
	fs := newFlags("modem " + sub)
	dev := fs.String("device", "", "serial device, or \"sim\" (default: the config's modem.device)")
	baud := fs.Int("baud", 0, "baud rate (default 115200)")
	cfgFile := fs.String("c", "", "daemon config")
	trace := fs.Bool("trace", false, "print the AT traffic")
	var region *string
	if sub != "probe" {
		region = fs.String("region", "", "region of national numbers such as 090-1234-5678 (default: the policy's settings.default_region with -c, else "+defaultRegion+")")
	}
	if err := parseFlags(fs, rest, out); err != nil {
		return err
	}
	var number string
	switch sub {
	case "probe":
		if fs.NArg() != 0 {
			return usagef("modem probe", "unexpected argument %q", fs.Arg(0))
		}
	case "sms":
		if fs.NArg() < 2 {
			return usagef("modem sms", "want NUMBER and TEXT")
		}
	case "call":
		if fs.NArg() != 1 {
			return usagef("modem call", "want one NUMBER, got %d arguments", fs.NArg())
		}
	}
	mc := ModemConfig{Device: *dev, Baud: *baud}
	var cfg *Config
	if *cfgFile != "" {
		if cfg, err = loadConfig(*cfgFile); err != nil {
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
		return usagef("modem "+sub, "no modem: give --device /dev/serial/by-id/... (or --device sim) or -c CONFIG")
	}
	if region != nil {
		r := *region
		if r == "" {
			r = configRegion(cfg)
		}
		if number, err = escalation.NormalizeNumber(fs.Arg(0), r); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	var traceTo io.Writer
	if *trace {
		traceTo = os.Stderr
	}
	m, closeModem, err := openModem(ctx, mc, traceTo)
	if err != nil {
		return err
	}
	defer closeModem()
	switch sub {
	case "probe":
		info, err := m.Probe(ctx)
		if err != nil {
			return err
		}
		printProbe(out, mc, info)
		return nil
	case "sms":
		text := strings.Join(fs.Args()[1:], " ")
		refs, err := m.SendSMS(ctx, number, text)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "sent to %s in %d part(s), message reference(s) %v\n", number, len(refs), refs)
		return nil
	case "call":
		return modemCall(ctx, m, number, out)
	}
	return fmt.Errorf("unknown modem command %q", sub)
}

// defaultRegion reads national numbers on the command line when neither
// --region nor a policy says otherwise: Tocsin's first users are factories
// in Japan.
const defaultRegion = "JP"

// configRegion is the default_region of the policy the config names, or
// defaultRegion.
func configRegion(cfg *Config) string {
	if cfg != nil && cfg.PolicyFile != "" {
		if data, err := os.ReadFile(cfg.PolicyFile); err == nil {
			if p, err := policyfile.Load(cfg.PolicyFile, data); err == nil && p.Settings.DefaultRegion != "" {
				return p.Settings.DefaultRegion
			}
		}
	}
	return defaultRegion
}

// openModem opens and initialises the modem mc names ("sim" starts the
// built-in simulator on a pseudo-terminal). The returned func closes it.
func openModem(ctx context.Context, mc ModemConfig, trace io.Writer) (*modem.Modem, func(), error) {
	if mc.Baud == 0 {
		mc.Baud = 115200
	}
	path := mc.Device
	if mc.Device == "sim" {
		sim, p, err := modemsim.StartPTY(ctx, modemsim.Options{Model: "SIMCOM_SIM7600G-H", SendDelay: 50 * time.Millisecond})
		if err != nil {
			return nil, nil, err
		}
		// The simulated callee answers a test call and presses 4.
		sim.ScriptCall(modemsim.CallScript{Answer: true, Keys: "4"})
		path = p
	}
	pin, err := readSecret(mc.PinFile)
	if err != nil {
		return nil, nil, err
	}
	port, err := modem.OpenSerial(path, mc.Baud)
	if err != nil {
		return nil, nil, err
	}
	opts := modem.Options{Profile: mc.Profile}
	if trace != nil {
		opts.Trace = trace
	}
	m := modem.New(port, opts)
	if err := m.Init(ctx, pin); err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("init: %w", err)
	}
	return m, func() { m.Close() }, nil
}

// printProbe writes what `tocsin modem probe` found.
func printProbe(out io.Writer, mc ModemConfig, info modem.Info) {
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
}

func yesNo(ok bool, what string) string {
	if ok {
		return "yes: " + what
	}
	return "no"
}

// modemCall places one call for bring-up: it rings, speaks (where the
// module can) and prints every step and key pressed.
func modemCall(ctx context.Context, m *modem.Modem, number string, out io.Writer) error {
	p := m.Profile()
	fmt.Fprintf(out, "calling %s (profile %s, key detection %v, speech %v); press keys on the phone, 4 or 6 ends the call\n",
		number, p.Name, p.DTMFURC != "", p.TTS != nil)
	res, err := m.Call(ctx, number, modem.CallOptions{
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
		fmt.Fprintf(out, "%s %s", ev.At.Local().Format("15:04:05 MST"), ev.Kind)
		if ev.Kind == "key" {
			fmt.Fprintf(out, " %c", ev.Key)
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "outcome: %s, rang %v, answered %v, keys %q\n", res.Outcome, res.Rang, res.Answered, res.Keys)
	return nil
}
