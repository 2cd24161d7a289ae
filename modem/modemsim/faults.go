package modemsim

import (
	"strings"
	"time"
)

// Reboot simulates the module restarting on its own (a brown-out, a
// firmware watchdog): the call drops, settings return to their defaults
// (echo on, numeric errors, no caller id, no DTMF detection), storage is
// kept, and after BootTime the boot lines are printed ("RDY", "+CPIN:
// READY", ...). It also ends SetSilent and SetSIMFailure, like a power
// cycle. Input during the boot is ignored.
func (s *Sim) Reboot() {
	s.mu.Lock()
	if s.call != nil {
		s.endCallLocked("dropped")
	}
	s.echo, s.cmee, s.cmgf, s.clip, s.ddet = true, 0, 0, false, false
	s.silent, s.simFailure, s.booting = false, false, true
	boot := s.opts.BootTime
	s.mu.Unlock()
	time.AfterFunc(boot, s.booted)
}

// PowerCycle is what the HAT's power key does to the sim: a reboot.
func (s *Sim) PowerCycle() { s.Reboot() }

func (s *Sim) booted() {
	s.mu.Lock()
	if !s.booting {
		s.mu.Unlock()
		return
	}
	s.booting = false
	m := strings.ToUpper(s.opts.Model)
	s.mu.Unlock()
	lines := []string{"RDY", "+CPIN: READY", "SMS DONE", "PB DONE"}
	switch {
	case strings.HasPrefix(m, "EC2") || strings.HasPrefix(m, "EG2"):
		lines = []string{"RDY", "+CPIN: READY", "+QIND: SMS DONE", "+QIND: PB DONE"}
	case strings.Contains(m, "SIM800"):
		lines = []string{"RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready"}
	}
	s.EmitURCs(lines)
}

// SetSIMFailure makes the SIM fail (AT+CPIN? answers "+CME ERROR: SIM
// failure", sends fail with +CMS ERROR: 313) until the next reboot.
func (s *Sim) SetSIMFailure(fail bool) {
	s.mu.Lock()
	s.simFailure = fail
	s.mu.Unlock()
}

// SendGarbage writes raw bytes to the client, as line noise or a module
// printing debug output would.
func (s *Sim) SendGarbage(b []byte) {
	s.mu.Lock()
	out := s.out
	s.mu.Unlock()
	if out != nil {
		s.write(out, string(b))
	}
}

// SetSendDelay changes how long AT+CMGS takes (a slow network).
func (s *Sim) SetSendDelay(d time.Duration) {
	s.mu.Lock()
	s.sendDelay = d
	s.mu.Unlock()
}

// SetRegistration sets the network registration state AT+CREG? and
// AT+CEREG? report (3GPP: 0 not registered, 1 home, 2 searching, 3 denied,
// 5 roaming). Sends fail with +CMS ERROR: 331 unless registered.
func (s *Sim) SetRegistration(stat int) {
	s.mu.Lock()
	s.reg = stat
	s.mu.Unlock()
}
