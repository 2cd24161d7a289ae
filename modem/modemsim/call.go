package modemsim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CallScript is how the simulated callee reacts to the next outgoing call.
// Unscripted calls ring until the client hangs up.
type CallScript struct {
	Busy        bool          // BUSY right after dialling
	Unreachable bool          // NO CARRIER right after dialling (no network path)
	RingFor     time.Duration // alerting time before answering; default 300ms
	Answer      bool          // take the call after RingFor
	Keys        string        // DTMF keys pressed after answering, one per KeyDelay
	KeyDelay    time.Duration // default 500ms
	HangUpAfter time.Duration // the callee hangs up this long after the keys; 0: stays on
}

// CallRecord is one call the sim carried.
type CallRecord struct {
	Number   string // callee (outgoing) or caller (incoming)
	Incoming bool
	Rang     bool
	Answered bool
	Keys     string   // keys the callee pressed
	Spoken   []string // text the client had the module speak
	Tones    int      // tones played (AT+VTS)
	Outcome  string   // "answered", "busy", "no-answer", "unreachable", "rejected"
	Start    time.Time
	End      time.Time
}

// simCall is the call in progress; guarded by Sim.mu.
type simCall struct {
	rec      CallRecord
	stat     int // AT+CLCC <stat>
	script   CallScript
	timers   []*time.Timer
	qtonedet bool // Quectel detection is per call
	rings    int
}

// ScriptCall sets how the next outgoing call goes.
func (s *Sim) ScriptCall(c CallScript) {
	s.mu.Lock()
	s.nextCall = &c
	s.mu.Unlock()
}

// Calls returns every call that has ended.
func (s *Sim) Calls() []CallRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// CallEnded delivers every call record when the call ends (buffered).
func (s *Sim) CallEnded() <-chan CallRecord { return s.callEnded }

// InjectCall simulates a call from the phone number from: RING and +CLIP
// (when the client enabled AT+CLIP) every 2 seconds, up to 10 times, until
// the client answers (ATA) or rejects (ATH, AT+CHUP).
func (s *Sim) InjectCall(from string) error {
	if _, err := address(from); err != nil {
		return err
	}
	s.mu.Lock()
	if s.call != nil {
		s.mu.Unlock()
		return fmt.Errorf("modemsim: a call is already in progress")
	}
	c := &simCall{rec: CallRecord{Number: from, Incoming: true, Rang: true, Start: time.Now()}, stat: 4}
	s.call = c
	s.messages = append(s.messages, PhoneMessage{Number: from, Direction: "from-phone", Text: "(call)", At: c.rec.Start})
	s.mu.Unlock()
	s.ring(c)
	return nil
}

func (s *Sim) ring(c *simCall) {
	s.mu.Lock()
	if s.call != c || c.stat != 4 {
		s.mu.Unlock()
		return
	}
	c.rings++
	if c.rings > 10 {
		s.endCallLocked("no-answer")
		s.mu.Unlock()
		s.urc("NO CARRIER")
		return
	}
	clip := s.clip
	number := c.rec.Number
	c.timers = append(c.timers, time.AfterFunc(2*time.Second, func() { s.ring(c) }))
	s.mu.Unlock()
	s.urc("RING")
	if clip {
		toa := 129
		if strings.HasPrefix(number, "+") {
			toa = 145
		}
		s.urc(fmt.Sprintf(`+CLIP: "%s",%d,"",0,"",0`, number, toa))
	}
}

// endCallLocked finishes the call in progress; s.mu is held.
func (s *Sim) endCallLocked(outcome string) {
	c := s.call
	if c == nil {
		return
	}
	for _, t := range c.timers {
		t.Stop()
	}
	s.call = nil
	c.rec.Outcome = outcome
	c.rec.End = time.Now()
	s.calls = append(s.calls, c.rec)
	if !c.rec.Incoming {
		text := "(call " + outcome
		if c.rec.Keys != "" {
			text += ", pressed " + c.rec.Keys
		}
		s.messages = append(s.messages, PhoneMessage{Number: c.rec.Number, Direction: "to-phone", Text: text + ")", At: c.rec.Start})
	}
	select {
	case s.callEnded <- c.rec:
	default:
	}
}

// dtmfURC is how this model reports a key, or "" when it cannot (or the
// client has not enabled detection); s.mu is held.
func (s *Sim) dtmfURC(c *simCall, key byte) string {
	m := strings.ToUpper(s.opts.Model)
	switch {
	case strings.Contains(m, "SIM7600") || strings.Contains(m, "SIM7500"):
		if s.ddet {
			return "+RXDTMF: " + string(key)
		}
	case strings.Contains(m, "SIM800"):
		if s.ddet {
			return "+DTMF: " + string(key)
		}
	case strings.HasPrefix(m, "EC2") || strings.HasPrefix(m, "EG2"):
		if c.qtonedet {
			return "+QTONEDET: " + strconv.Itoa(int(key))
		}
	}
	return ""
}

// callCommand handles the voice commands; it reports false for others.
func (s *Sim) callCommand(w writer, up, body string) bool {
	switch {
	case strings.HasPrefix(up, "ATD"):
		s.dial(w, strings.TrimSpace(body[1:])) // body is "D<number>;"
	case up == "ATA":
		s.mu.Lock()
		c := s.call
		if c == nil || c.stat != 4 {
			s.mu.Unlock()
			s.reply(w, "NO CARRIER")
			return true
		}
		c.stat, c.rec.Answered = 0, true
		s.mu.Unlock()
		s.reply(w, "OK")
	case up == "ATH" || up == "ATH0" || up == "AT+CHUP":
		s.mu.Lock()
		if c := s.call; c != nil {
			switch {
			case c.rec.Incoming && !c.rec.Answered:
				s.endCallLocked("rejected")
			case c.rec.Answered:
				s.endCallLocked("answered")
			default:
				s.endCallLocked("no-answer")
			}
		}
		s.mu.Unlock()
		s.reply(w, "OK")
	case up == "AT+CLCC":
		s.mu.Lock()
		var info []string
		if c := s.call; c != nil {
			dir, toa := 0, 129
			if c.rec.Incoming {
				dir = 1
			}
			if strings.HasPrefix(c.rec.Number, "+") {
				toa = 145
			}
			info = append(info, fmt.Sprintf(`+CLCC: 1,%d,%d,0,0,"%s",%d`, dir, c.stat, c.rec.Number, toa))
		}
		s.mu.Unlock()
		s.reply(w, "OK", info...)
	case strings.HasPrefix(up, "AT+DDET="):
		if !s.isModel("SIM7600", "SIM7500", "SIM800") {
			s.reply(w, "ERROR")
			return true
		}
		s.mu.Lock()
		s.ddet = strings.HasPrefix(up, "AT+DDET=1")
		s.mu.Unlock()
		s.reply(w, "OK")
	case strings.HasPrefix(up, "AT+QTONEDET="):
		if !s.isModel("EC2", "EG2") {
			s.reply(w, "ERROR")
			return true
		}
		s.mu.Lock()
		c := s.call
		if c == nil || c.stat != 0 {
			s.mu.Unlock()
			s.cmeError(w, 3, "operation not allowed") // only during a call
			return true
		}
		c.qtonedet = strings.HasPrefix(up, "AT+QTONEDET=1")
		s.mu.Unlock()
		s.reply(w, "OK")
	case strings.HasPrefix(up, "AT+CTTS=") || strings.HasPrefix(up, "AT+QTTS="):
		ok := strings.HasPrefix(up, "AT+CTTS=") && s.isModel("SIM7600", "SIM7500") ||
			strings.HasPrefix(up, "AT+QTTS=") && s.isModel("EC2", "EG2")
		if !ok {
			s.reply(w, "ERROR")
			return true
		}
		p := strings.SplitN(body[len("+CTTS="):], ",", 2)
		s.mu.Lock()
		c := s.call
		if c == nil || c.stat != 0 || len(p) != 2 {
			s.mu.Unlock()
			s.cmeError(w, 3, "operation not allowed")
			return true
		}
		c.rec.Spoken = append(c.rec.Spoken, strings.Trim(p[1], `"`))
		s.mu.Unlock()
		s.reply(w, "OK")
	case strings.HasPrefix(up, "AT+VTS="):
		s.mu.Lock()
		c := s.call
		if c == nil || c.stat != 0 {
			s.mu.Unlock()
			s.cmeError(w, 3, "operation not allowed")
			return true
		}
		c.rec.Tones++
		s.mu.Unlock()
		s.reply(w, "OK")
	case strings.HasPrefix(up, "AT+CLIP="):
		s.mu.Lock()
		s.clip = strings.HasPrefix(up, "AT+CLIP=1")
		s.mu.Unlock()
		s.reply(w, "OK")
	default:
		return false
	}
	return true
}

func (s *Sim) isModel(prefixes ...string) bool {
	m := strings.ToUpper(s.opts.Model)
	for _, p := range prefixes {
		if strings.Contains(m, p) {
			return true
		}
	}
	return false
}

func (s *Sim) dial(w writer, arg string) {
	number, voice := strings.CutSuffix(arg, ";")
	if !voice {
		s.reply(w, "NO CARRIER") // a data call: not supported
		return
	}
	if _, err := address(number); err != nil {
		s.reply(w, "ERROR")
		return
	}
	s.mu.Lock()
	if s.call != nil {
		s.mu.Unlock()
		s.reply(w, "ERROR")
		return
	}
	script := CallScript{}
	if s.nextCall != nil {
		script, s.nextCall = *s.nextCall, nil
	}
	if script.RingFor <= 0 {
		script.RingFor = 300 * time.Millisecond
	}
	if script.KeyDelay <= 0 {
		script.KeyDelay = 500 * time.Millisecond
	}
	c := &simCall{rec: CallRecord{Number: number, Start: time.Now()}, stat: 2, script: script}
	s.call = c
	switch {
	case script.Busy:
		c.timers = append(c.timers, time.AfterFunc(100*time.Millisecond, func() { s.callEnds(c, "busy", "BUSY") }))
	case script.Unreachable:
		c.timers = append(c.timers, time.AfterFunc(100*time.Millisecond, func() { s.callEnds(c, "unreachable", "NO CARRIER") }))
	default:
		c.timers = append(c.timers, time.AfterFunc(100*time.Millisecond, func() { s.alert(c) }))
	}
	s.mu.Unlock()
	s.reply(w, "OK")
}

func (s *Sim) callEnds(c *simCall, outcome, urc string) {
	s.mu.Lock()
	if s.call != c {
		s.mu.Unlock()
		return
	}
	s.endCallLocked(outcome)
	s.mu.Unlock()
	s.urc(urc)
}

func (s *Sim) alert(c *simCall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.call != c {
		return
	}
	c.stat, c.rec.Rang = 3, true
	if c.script.Answer {
		c.timers = append(c.timers, time.AfterFunc(c.script.RingFor, func() { s.answer(c) }))
	}
}

func (s *Sim) answer(c *simCall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.call != c {
		return
	}
	c.stat, c.rec.Answered = 0, true
	d := time.Duration(0)
	for i := range len(c.script.Keys) {
		d += c.script.KeyDelay
		key := c.script.Keys[i]
		c.timers = append(c.timers, time.AfterFunc(d, func() { s.press(c, key) }))
	}
	if c.script.HangUpAfter > 0 {
		c.timers = append(c.timers, time.AfterFunc(d+c.script.HangUpAfter, func() { s.callEnds(c, "answered", "NO CARRIER") }))
	}
}

func (s *Sim) press(c *simCall, key byte) {
	s.mu.Lock()
	if s.call != c {
		s.mu.Unlock()
		return
	}
	c.rec.Keys += string(key)
	line := s.dtmfURC(c, key)
	s.mu.Unlock()
	if line != "" {
		s.urc(line)
	}
}

// ActiveCall returns the call in progress, if any (for the demo's
// simulated phones: show "ringing").
func (s *Sim) ActiveCall() (CallRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.call == nil {
		return CallRecord{}, false
	}
	return s.call.rec, true
}

// AnswerCall makes the callee of the ringing outgoing call pick up.
func (s *Sim) AnswerCall() error {
	s.mu.Lock()
	c := s.call
	if c == nil || c.rec.Incoming || c.stat != 3 {
		s.mu.Unlock()
		return fmt.Errorf("modemsim: no outgoing call is ringing")
	}
	s.mu.Unlock()
	s.answer(c)
	return nil
}

// PressKey makes the callee of the answered call press a DTMF key.
func (s *Sim) PressKey(key byte) error {
	s.mu.Lock()
	c := s.call
	if c == nil || c.rec.Incoming || c.stat != 0 {
		s.mu.Unlock()
		return fmt.Errorf("modemsim: no answered outgoing call")
	}
	s.mu.Unlock()
	if !strings.ContainsRune("0123456789*#ABCD", rune(key)) {
		return fmt.Errorf("modemsim: %q is not a DTMF key", key)
	}
	s.press(c, key)
	return nil
}

// HangUpCall makes the other party end the call: declining a ringing call
// (the client sees BUSY, as networks report a declined call) or hanging
// up an answered one (NO CARRIER).
func (s *Sim) HangUpCall() error {
	s.mu.Lock()
	c := s.call
	s.mu.Unlock()
	switch {
	case c == nil:
		return fmt.Errorf("modemsim: no call in progress")
	case c.rec.Incoming:
		s.callEnds(c, "no-answer", "NO CARRIER")
	case c.stat == 0:
		s.callEnds(c, "answered", "NO CARRIER")
	default:
		s.callEnds(c, "declined", "BUSY")
	}
	return nil
}
