package modem

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// CallOptions tunes one voice call.
type CallOptions struct {
	// RingTimeout is how long the phone may ring before Tocsin hangs up
	// (docs/reference.md §7 ring_timeout). Default 45s.
	RingTimeout time.Duration
	// TalkTimeout is how long an answered call stays open waiting for a
	// key. Default 60s.
	TalkTimeout time.Duration
	// Speech is spoken into the answered call where the profile has
	// on-module speech, repeated every SpeechRepeat (default 15s). Only
	// printable ASCII is kept: the modules speak English only. Without
	// speech a fixed tone pattern is played instead.
	Speech       string
	SpeechRepeat time.Duration
	// OnKey is called for each DTMF key, in order, on the goroutine running
	// Call; returning true ends the call (e.g. on '4' or '6'). Other keys
	// are recorded and otherwise ignored, so the callee hears nothing odd.
	OnKey func(key byte) (hangUp bool)
	// PollInterval is the AT+CLCC polling period. Default 1s.
	PollInterval time.Duration
}

// CallOutcome is how a call ended.
type CallOutcome string

// Call outcomes. An answered call is never an acknowledgement by itself
// (voicemail answers too): only Keys are.
const (
	CallAnswered CallOutcome = "answered"
	CallNoAnswer CallOutcome = "no-answer"
	CallBusy     CallOutcome = "busy"
	CallFailed   CallOutcome = "failed" // rejected by the network before ringing
)

// CallEvent is one step of a call, for the incident timeline.
type CallEvent struct {
	Kind string // "dialled", "rang", "answered", "key", "ended"
	Key  byte   // for "key"
	At   time.Time
}

// CallResult is what happened during a call.
type CallResult struct {
	Outcome  CallOutcome
	Rang     bool   // the callee's phone alerted
	Answered bool   // someone (or a voicemail) took the call
	Keys     string // DTMF keys pressed, in order
	DTMF     bool   // the profile could report keys in this call
	Events   []CallEvent
}

func (r *CallResult) event(kind string, key byte) {
	r.Events = append(r.Events, CallEvent{Kind: kind, Key: key, At: time.Now()})
}

// callState is the call in progress; URC handlers feed events into it.
type callState struct {
	events chan string // buffered; call-progress and DTMF lines
}

// callURCs are forwarded to the call in progress.
var callURCs = []string{"+DTMF:", "+RXDTMF:", "+QTONEDET:", "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE", "VOICE CALL: END"}

func (m *Modem) handleCallURC(line string) {
	m.mu.Lock()
	cs := m.call
	m.mu.Unlock()
	if cs == nil {
		return
	}
	select {
	case cs.events <- line:
	default: // a flood of keys: drop rather than stall the dispatcher
	}
}

// isCallProgress reports whether line is a call-progress result code,
// which ends a dial command but arrives unsolicited during a call.
func isCallProgress(line string) bool {
	switch line {
	case "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE":
		return true
	}
	return false
}

// Call dials number, follows the call (AT+CLCC polling and call-progress
// codes), reports DTMF keys, and hangs up after the ring timeout, the talk
// timeout, a key for which OnKey returns true, or ctx's end. One call runs
// at a time; SMS and other commands may run while it is in progress. Busy,
// no answer and network rejection are outcomes, not errors; errors are for
// a modem that failed.
func (m *Modem) Call(ctx context.Context, number string, opts CallOptions) (res CallResult, err error) {
	if _, err := destination(number); err != nil {
		return CallResult{}, err
	}
	if opts.RingTimeout <= 0 {
		opts.RingTimeout = 45 * time.Second
	}
	if opts.TalkTimeout <= 0 {
		opts.TalkTimeout = 60 * time.Second
	}
	if opts.SpeechRepeat <= 0 {
		opts.SpeechRepeat = 15 * time.Second
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	select {
	case m.callSem <- struct{}{}:
	case <-ctx.Done():
		return CallResult{}, ctx.Err()
	case <-m.closed:
		return CallResult{}, ErrClosed
	}
	defer func() { <-m.callSem }()
	cs := &callState{events: make(chan string, 64)}
	m.mu.Lock()
	m.call = cs
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.call = nil
		m.mu.Unlock()
	}()

	p := m.Profile()
	res = CallResult{DTMF: p.DTMFURC != ""}
	if p.DTMFEnable != "" && !p.DTMFPerCall {
		if _, err := m.Command(ctx, p.DTMFEnable); err != nil {
			res.DTMF = false
		}
	}
	res.event("dialled", 0)
	if err := m.dial(ctx, number, opts.RingTimeout+10*time.Second); err != nil {
		switch {
		case errors.Is(err, ErrBusy):
			res.Outcome = CallBusy
		case errors.Is(err, ErrNoAnswer):
			res.Outcome = CallNoAnswer
		case errors.Is(err, ErrNoCarrier), errors.Is(err, ErrNoDialtone):
			res.Outcome = CallFailed
		default:
			// Interrupted or timed out: the module may be dialling anyway.
			hctx, cancel := context.WithTimeout(m.ctx, m.opts.CommandTimeout)
			_ = m.HangUp(hctx)
			cancel()
			return res, err
		}
		res.event("ended", 0)
		return res, nil
	}
	ended := false
	defer func() {
		if !ended {
			// Hang up even when ctx is done: a call must never be left open.
			hctx, cancel := context.WithTimeout(m.ctx, m.opts.CommandTimeout)
			_ = m.HangUp(hctx)
			cancel()
		}
		res.event("ended", 0)
	}()

	ring := time.NewTimer(opts.RingTimeout)
	defer ring.Stop()
	poll := time.NewTicker(opts.PollInterval)
	defer poll.Stop()
	var talk, speak <-chan time.Time
	var talkT *time.Timer
	var talkEnd time.Time
	var speakT *time.Ticker
	defer func() {
		if talkT != nil {
			talkT.Stop()
		}
		if speakT != nil {
			speakT.Stop()
		}
	}()
	answered := func() {
		if res.Answered {
			return
		}
		res.Answered, res.Rang = true, true
		res.event("answered", 0)
		ring.Stop()
		talkT = time.NewTimer(opts.TalkTimeout)
		talk = talkT.C
		talkEnd = time.Now().Add(opts.TalkTimeout)
		if p.DTMFPerCall && p.DTMFEnable != "" {
			if _, err := m.Command(ctx, p.DTMFEnable); err != nil {
				res.DTMF = false
			}
		}
		m.announce(ctx, p, opts.Speech)
		speakT = time.NewTicker(opts.SpeechRepeat)
		speak = speakT.C
	}
	endedAs := func() CallOutcome {
		ended = true
		switch {
		case res.Answered:
			return CallAnswered
		case res.Rang:
			return CallNoAnswer // declined or network ring timeout
		}
		return CallFailed
	}
	for {
		select {
		case line := <-cs.events:
			if key, ok := ParseDTMF(line); ok {
				answered() // keys come only from a connected call
				res.Keys += string(key)
				res.event("key", key)
				if opts.OnKey != nil && opts.OnKey(key) {
					res.Outcome = CallAnswered
					return res, nil
				}
				continue
			}
			switch {
			case line == "BUSY" && !res.Answered:
				ended = true
				res.Outcome = CallBusy
				return res, nil
			case line == "NO ANSWER" && !res.Answered:
				ended = true
				res.Outcome = CallNoAnswer
				return res, nil
			case isCallProgress(line) || strings.HasPrefix(line, "VOICE CALL: END"):
				res.Outcome = endedAs()
				return res, nil
			}
		case <-poll.C:
			lines, err := m.Command(ctx, "AT+CLCC")
			if err != nil {
				if ctx.Err() != nil {
					return res, ctx.Err()
				}
				continue // a missed poll is not the end of the call
			}
			c, found := outgoingCall(ParseCLCC(lines))
			if !found {
				res.Outcome = endedAs()
				return res, nil
			}
			switch c.Stat {
			case CallAlerting:
				if !res.Rang {
					res.Rang = true
					res.event("rang", 0)
				}
			case CallActive:
				answered()
			}
		case <-ring.C:
			if !res.Answered {
				res.Outcome = CallNoAnswer
				return res, nil
			}
		case <-talk:
			res.Outcome = CallAnswered
			return res, nil
		case <-speak:
			if time.Now().Before(talkEnd) {
				m.announce(ctx, p, opts.Speech)
			}
		case <-ctx.Done():
			return res, ctx.Err()
		case <-m.closed:
			return res, ErrClosed
		}
	}
}

// dial runs ATD<number>; as a dial exchange, whose final result may be a
// call-progress code.
func (m *Modem) dial(ctx context.Context, number string, timeout time.Duration) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.unlock()
	if m.dirty.Load() {
		if err := m.resync(ctx); err != nil {
			return err
		}
	}
	cmd := "ATD" + number + ";"
	x := m.begin(cmd, cmd)
	x.dial = true
	defer m.end(x)
	if err := m.write(cmd + "\r"); err != nil {
		return err
	}
	_, err := m.wait(ctx, x, timeout)
	return err
}

// HangUp ends the current call (AT+CHUP, or ATH where that is missing).
func (m *Modem) HangUp(ctx context.Context) error {
	if _, err := m.Command(ctx, "AT+CHUP"); err != nil {
		if _, err2 := m.Command(ctx, "ATH"); err2 != nil {
			return errors.Join(err, err2)
		}
	}
	return nil
}

// announce speaks text, or plays a tone pattern without speech.
func (m *Modem) announce(ctx context.Context, p Profile, text string) {
	text = SpeechText(text)
	if p.TTS != nil && text != "" {
		if _, err := m.Command(ctx, p.TTS(text)); err == nil {
			return
		}
	}
	for range 3 {
		if _, err := m.Command(ctx, "AT+VTS=#"); err != nil {
			return
		}
	}
}

// SpeechText reduces text to what can go inside a quoted AT string for a
// speech command: printable ASCII without quotes, backslashes or
// semicolons, spaces collapsed, at most 200 characters.
func SpeechText(text string) string {
	var b strings.Builder
	space := false
	for _, r := range text {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == ';' {
			r = ' '
		}
		if r == ' ' {
			if space || b.Len() == 0 {
				continue
			}
			space = true
		} else {
			space = false
		}
		if b.Len() >= 200 {
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

// ParseDTMF reads a key report: "+DTMF: 4" (SIM800, optionally ",<ms>"),
// "+RXDTMF: 4" (SIM7600) or "+QTONEDET: 52" (Quectel, the key's ASCII code).
// Single-frequency tone reports (1400, 2300) are not keys.
func ParseDTMF(line string) (byte, bool) {
	var arg string
	quectel := false
	switch {
	case strings.HasPrefix(line, "+DTMF:"):
		arg = line[len("+DTMF:"):]
	case strings.HasPrefix(line, "+RXDTMF:"):
		arg = line[len("+RXDTMF:"):]
	case strings.HasPrefix(line, "+QTONEDET:"):
		arg, quectel = line[len("+QTONEDET:"):], true
	default:
		return 0, false
	}
	p := splitParams(strings.TrimSpace(arg))
	if len(p) == 0 || p[0] == "" {
		return 0, false
	}
	var key byte
	if quectel {
		n, err := strconv.Atoi(p[0])
		if err != nil || n < 0 || n > 127 {
			return 0, false
		}
		key = byte(n)
	} else {
		if len(p[0]) != 1 {
			return 0, false
		}
		key = p[0][0]
	}
	if key >= 'a' && key <= 'd' {
		key -= 'a' - 'A'
	}
	if (key >= '0' && key <= '9') || key == '*' || key == '#' || (key >= 'A' && key <= 'D') {
		return key, true
	}
	return 0, false
}

// Call states of AT+CLCC (3GPP TS 27.007 §7.18).
const (
	CallActive   = 0
	CallHeld     = 1
	CallDialing  = 2
	CallAlerting = 3
	CallIncoming = 4
	CallWaiting  = 5
)

// CallStatus is one line of AT+CLCC.
type CallStatus struct {
	ID       int
	Incoming bool
	Stat     int
	Voice    bool
	Number   string
}

// ParseCLCC reads the answer of AT+CLCC:
// "+CLCC: <id>,<dir>,<stat>,<mode>,<mpty>[,<number>,<type>...]".
func ParseCLCC(lines []string) []CallStatus {
	var out []CallStatus
	for _, l := range lines {
		rest, ok := strings.CutPrefix(l, "+CLCC:")
		if !ok {
			continue
		}
		p := splitParams(strings.TrimSpace(rest))
		if len(p) < 5 {
			continue
		}
		id, err1 := strconv.Atoi(p[0])
		dir, err2 := strconv.Atoi(p[1])
		stat, err3 := strconv.Atoi(p[2])
		mode, err4 := strconv.Atoi(p[3])
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil || stat < 0 || stat > 7 {
			continue
		}
		c := CallStatus{ID: id, Incoming: dir == 1, Stat: stat, Voice: mode == 0}
		if len(p) > 5 {
			c.Number = p[5]
		}
		out = append(out, c)
	}
	return out
}

func outgoingCall(calls []CallStatus) (CallStatus, bool) {
	for _, c := range calls {
		if !c.Incoming && c.Voice {
			return c, true
		}
	}
	return CallStatus{}, false
}

// OnIncomingCall sets a handler for incoming calls: it gets the caller's
// number from +CLIP (enabled by Init) on every ring, on the dispatcher
// goroutine, and may call HangUp to reject the call (the call-back
// acknowledgement of docs/reference.md §7). Numbers are as the network sent them
// ("+81..." for international ones).
func (m *Modem) OnIncomingCall(h func(ctx context.Context, number string)) {
	m.smsMu.Lock()
	m.onCall = h
	m.smsMu.Unlock()
}

// ParseCLIP reads "+CLIP: "<number>",<type>[,...]" into the caller's
// number, with "+" for the international type 145.
func ParseCLIP(line string) (string, error) {
	rest, ok := strings.CutPrefix(line, "+CLIP:")
	if !ok {
		return "", fmt.Errorf("modem: not a +CLIP line: %q", line)
	}
	p := splitParams(strings.TrimSpace(rest))
	if len(p) < 2 || p[0] == "" {
		return "", fmt.Errorf("modem: +CLIP without a number: %q", line)
	}
	number := p[0]
	if p[1] == "145" && !strings.HasPrefix(number, "+") {
		number = "+" + number
	}
	return number, nil
}

func (m *Modem) handleCLIP(line string) {
	m.smsMu.Lock()
	h := m.onCall
	m.smsMu.Unlock()
	if h == nil {
		return
	}
	number, err := ParseCLIP(line)
	if err != nil {
		m.log.Warn("bad +CLIP", "line", line, "err", err)
		return
	}
	h(m.ctx, number)
}
