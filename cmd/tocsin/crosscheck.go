package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/tocsin-relay/tocsin/device"
	"github.com/tocsin-relay/tocsin/escalation"
)

// finding is one problem `tocsin check` found: an error fails the check,
// a warning is printed and does not.
type finding struct {
	File string
	Line int
	Msg  string
	Warn bool
}

func (f finding) String() string {
	kind := ""
	if f.Warn {
		kind = "warning: "
	}
	if f.Line > 0 {
		return fmt.Sprintf("%s:%d: %s%s", f.File, f.Line, kind, f.Msg)
	}
	return fmt.Sprintf("%s: %s%s", f.File, kind, f.Msg)
}

// located is a file with a way to find the line of a key path in it
// ("mqtt.subscriptions[0].service").
type located struct {
	File string
	Line func(path string) int
}

func (l located) at(path string, warn bool, format string, args ...any) finding {
	return finding{File: l.File, Line: l.Line(path), Msg: fmt.Sprintf(format, args...), Warn: warn}
}

// crossCheck finds what a valid config and a valid policy lose together:
// MQTT subscriptions and heartbeats, and the uplink check, naming services
// or heartbeats the policy lacks (every message dropped at run time); policy
// heartbeats nothing in the config feeds; zones the policy pages that have
// no siren, light or tower; pins the Pi does not have; and token, password
// and PIN files that are missing, empty or readable by everyone. It takes
// typed values; cmdCheck only reads the files.
func crossCheck(cfg *Config, cfgAt located, pol *escalation.Policy, polAt located) []finding {
	var out []finding
	services := map[string]bool{}
	heartbeats := map[string]bool{}
	if pol != nil {
		for _, s := range pol.Services {
			services[s.ID] = true
		}
		for _, h := range pol.Heartbeats {
			heartbeats[h.ID] = true
		}
	}
	fed := map[string]bool{}
	if m := cfg.MQTT; m != nil {
		// The adapter's own validation; its file errors are secretFindings'.
		if _, err := m.adapterConfig(); err != nil && !strings.HasPrefix(err.Error(), "mqtt.tls") && !strings.HasPrefix(err.Error(), "mqtt.password_file") {
			out = append(out, cfgAt.at(errorKey(err.Error()), false, "%v", err))
		}
		if pol != nil {
			for i, s := range m.Subscriptions {
				if s.Service != "" && !services[s.Service] {
					out = append(out, cfgAt.at(fmt.Sprintf("mqtt.subscriptions[%d].service", i), false,
						"mqtt.subscriptions %q: service %q is not in the policy (%s): every message on the topic would be dropped", s.Topic, s.Service, known(services)))
				}
			}
			for i, h := range m.Heartbeats {
				fed[h.Heartbeat] = true
				if !heartbeats[h.Heartbeat] {
					out = append(out, cfgAt.at(fmt.Sprintf("mqtt.heartbeats[%d].heartbeat", i), false,
						"mqtt.heartbeats %q: heartbeat %q is not in the policy (%s): its beats would be dropped", h.Topic, h.Heartbeat, known(heartbeats)))
				}
			}
		}
	}
	if cfg.Cluster != nil && pol != nil && !services[escalation.SelfService] { // twin relays (cluster.go)
		out = append(out, cfgAt.at("cluster", false, "cluster: a missing twin is reported on service %q, which is not in the policy (%s): it would page nobody", escalation.SelfService, known(services)))
	}
	if u := cfg.Uplink; u != nil && pol != nil && !services[u.Service] {
		out = append(out, cfgAt.at("uplink.service", false, "uplink.service %q is not in the policy (%s): a lost uplink would page nobody", u.Service, known(services)))
	}
	if pol != nil {
		for i, h := range pol.Heartbeats {
			if !fed[h.ID] {
				out = append(out, polAt.at(fmt.Sprintf("heartbeats[%d]", i), true,
					"heartbeat %q is fed by no mqtt.heartbeats entry in %s: unless something POSTs /api/v1/heartbeats/%s every %s, it opens an incident on %s",
					h.ID, cfgAt.File, h.ID, h.Interval.Short(), h.Service))
			}
		}
		out = append(out, zoneFindings(cfg, cfgAt, pol, polAt)...)
		// What the daemon would refuse at start: example numbers with a
		// real modem. And what it would say in status: nobody to page.
		if err := refuseExampleNumbers(cfg.Modem.Device)(pol); err != nil {
			field := "contacts"
			if e, ok := err.(*escalation.Error); ok && e.Field != "" {
				field = e.Field
			}
			out = append(out, polAt.at(field, false, "%v", err))
		}
		if r := escalation.CheckReadiness(pol); !r.Configured {
			out = append(out, polAt.at("contacts", true, "%s", r.Reason))
		}
	}
	out = append(out, pinFindings(cfg, cfgAt)...)
	out = append(out, secretFindings(cfg, cfgAt)...)
	return out
}

// zoneFindings: a zone the policy pages must have a siren, light or tower.
func zoneFindings(cfg *Config, cfgAt located, pol *escalation.Policy, polAt located) []finding {
	zones := map[string]bool{}
	if cfg.GPIO.Backend != "none" {
		for _, o := range cfg.GPIO.Outputs {
			if o.Zone != "" && (o.Kind == device.KindSiren || o.Kind == device.KindLight) {
				zones[o.Zone] = true
			}
		}
		for _, t := range cfg.GPIO.Towers {
			zones[t.Zone] = true
		}
	}
	var out []finding
	for i, e := range pol.EscalationPolicies {
		for j, l := range e.Levels {
			for k, t := range l.Notify {
				if t.Zone == "" || zones[t.Zone] {
					continue
				}
				have := "none: gpio.backend is none"
				if cfg.GPIO.Backend != "none" {
					have = known(zones)
				}
				out = append(out, polAt.at(fmt.Sprintf("escalation_policies[%d].levels[%d].notify[%d].zone", i, j, k), false,
					"zone %q has no siren, light or tower in %s (zones: %s): paging it sounds nothing", t.Zone, cfgAt.File, have))
			}
		}
	}
	return out
}

// pinFindings: every pin must be a line the Pi has.
func pinFindings(cfg *Config, cfgAt located) []finding {
	var out []finding
	check := func(path, pin string) {
		if pin == "" {
			return
		}
		if err := device.CheckPin(pin); err != nil {
			out = append(out, cfgAt.at(path, errors.Is(err, device.ErrNotHeaderName), "%s: %v", path, err))
		}
	}
	if cfg.GPIO.Backend != "none" {
		for i, o := range cfg.GPIO.Outputs {
			check(fmt.Sprintf("gpio.outputs[%d].pin", i), o.Pin)
		}
		for i, in := range cfg.GPIO.Inputs {
			check(fmt.Sprintf("gpio.inputs[%d].pin", i), in.Pin)
		}
	}
	if k := cfg.Modem.PowerKey; k != nil {
		check("modem.power_key.pin", k.Pin)
	}
	return out
}

// secretFindings: token, password, PIN, key and certificate files must
// exist, be readable and hold something; all but certificates must not be
// readable by everyone.
func secretFindings(cfg *Config, cfgAt located) []finding {
	var out []finding
	check := func(path, what, file string) {
		if file == "" {
			return
		}
		public := what == "certificate"
		info, err := os.Stat(file)
		if err != nil {
			out = append(out, cfgAt.at(path, false, "%s: %s %s: %v", path, what, file, plainFSError(err)))
			return
		}
		b, err := os.ReadFile(file)
		switch {
		case err != nil:
			out = append(out, cfgAt.at(path, false, "%s: %s %s cannot be read: %v", path, what, file, plainFSError(err)))
		case strings.TrimSpace(string(b)) == "":
			out = append(out, cfgAt.at(path, false, "%s: %s %s is empty", path, what, file))
		case !public && info.Mode().Perm()&0o004 != 0:
			out = append(out, cfgAt.at(path, true, "%s: %s %s is readable by everyone (mode %04o): chmod 0640 it", path, what, file, info.Mode().Perm()))
		}
	}
	for i, t := range cfg.HTTP.Tokens {
		check(fmt.Sprintf("http.tokens[%d].token_file", i), "token file", t.TokenFile)
	}
	for i, u := range cfg.HTTP.Users {
		check(fmt.Sprintf("http.users[%d].password_file", i), "password file", u.PasswordFile)
		if u.Password == "" && u.PasswordFile == "" {
			out = append(out, cfgAt.at(fmt.Sprintf("http.users[%d]", i), false, "http.users %q: no password or password_file: the login cannot work", u.Name))
		}
	}
	if m := cfg.MQTT; m != nil {
		check("mqtt.password_file", "password file", m.PasswordFile)
	}
	check("modem.pin_file", "PIN file", cfg.Modem.PinFile)
	tlsFiles := func(path string, t *TLSFiles) {
		if t == nil {
			return
		}
		check(path+".ca_file", "certificate", t.CAFile)
		check(path+".cert_file", "certificate", t.CertFile)
		check(path+".key_file", "key file", t.KeyFile)
	}
	tlsFiles("http.tls", cfg.HTTP.TLS)
	if cfg.MQTT != nil {
		tlsFiles("mqtt.tls", cfg.MQTT.TLS)
	}
	return out
}

// plainFSError drops the path from an *fs.PathError: the message names
// the file already.
func plainFSError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

var keyPrefix = regexp.MustCompile(`^([a-z_]+(?:\.[a-z_]+|\[\d+\])*)`)

// errorKey is the key path an adapter's error message starts with
// ("mqtt.subscriptions[0].topic: ..."), for its line.
func errorKey(msg string) string {
	return keyPrefix.FindString(msg)
}

func known(set map[string]bool) string {
	if len(set) == 0 {
		return "none"
	}
	var s []string
	for k := range set {
		s = append(s, k)
	}
	slices.Sort(s)
	return "known: " + strings.Join(s, ", ")
}
