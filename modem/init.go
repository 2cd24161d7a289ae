package modem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"go.bug.st/serial"
)

// OpenSerial opens a serial device (8N1, raw) for a Modem and discards
// whatever was waiting in its input buffer, so answers addressed to a
// previous process (one killed mid-command) cannot be taken for ours.
func OpenSerial(path string, baud int) (io.ReadWriteCloser, error) {
	if baud <= 0 {
		baud = 115200
	}
	p, err := serial.Open(path, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("modem: opening %s: %w", path, err)
	}
	if err := p.ResetInputBuffer(); err != nil {
		p.Close()
		return nil, fmt.Errorf("modem: flushing %s: %w", path, err)
	}
	return p, nil
}

// Init brings the modem into the state Tocsin relies on: no echo, verbose
// errors, SIM unlocked (with pin when it asks for one), PDU mode, new-SMS
// indications as +CMTI, and message storage in the modem ("ME", or the SIM
// when the modem has none). It is safe to run again after a modem reboot.
func (m *Modem) Init(ctx context.Context, pin string) error {
	// A previous process may have left an exchange half done (an SMS
	// prompt open, an answer on its way): get back into step first.
	if err := m.Resync(ctx); err != nil {
		return fmt.Errorf("modem: not answering: %w", err)
	}
	for _, c := range []string{"ATE0", "AT+CMEE=2"} {
		if _, err := m.Command(ctx, c); err != nil {
			return fmt.Errorf("modem init: %w", err)
		}
	}
	m.echoOff.Store(true)
	if err := m.unlockSIM(ctx, pin); err != nil {
		return err
	}
	if _, err := m.Command(ctx, "AT+CMGF=0"); err != nil {
		return fmt.Errorf("modem init: %w", err)
	}
	if err := m.chooseReports(ctx); err != nil {
		return fmt.Errorf("modem init: %w", err)
	}
	mem := "ME"
	if _, err := m.Command(ctx, `AT+CPMS="ME","ME","ME"`); err != nil {
		if _, err2 := m.Command(ctx, `AT+CPMS="SM","SM","SM"`); err2 != nil {
			return fmt.Errorf("modem init: no SMS storage: %w", errors.Join(err, err2))
		}
		mem = "SM"
	}
	// Caller id for call-back acknowledgement; a module without it still
	// pages, so failure is not fatal.
	_, _ = m.Command(ctx, "AT+CLIP=1")
	m.detectProfile(ctx)
	m.smsMu.Lock()
	m.pin, m.inited, m.mem = pin, true, mem
	m.smsMu.Unlock()
	return nil
}

// unlockSIM checks AT+CPIN? and enters pin when the SIM asks for it.
func (m *Modem) unlockSIM(ctx context.Context, pin string) error {
	state, err := m.simState(ctx)
	if err != nil {
		return fmt.Errorf("modem init: SIM: %w", err)
	}
	switch state {
	case "READY":
		return nil
	case "SIM PIN":
		if pin == "" {
			return errors.New("modem init: the SIM asks for a PIN and none is configured (modem.pin_file)")
		}
		if len(pin) < 4 || len(pin) > 8 || strings.Trim(pin, "0123456789") != "" {
			return errors.New("modem init: the SIM PIN must be 4 to 8 digits")
		}
		if _, err := m.Command(ctx, `AT+CPIN="`+pin+`"`); err != nil {
			return fmt.Errorf("modem init: entering the SIM PIN: %w", err)
		}
		// The SIM takes a moment; poll until it says READY.
		for range 20 {
			if s, err := m.simState(ctx); err == nil && s == "READY" {
				return nil
			}
			t := time.NewTimer(250 * time.Millisecond)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		}
		return errors.New("modem init: SIM not READY after entering the PIN")
	default:
		return fmt.Errorf("modem init: SIM is %q, not READY (a PUK is needed or the SIM is locked)", state)
	}
}

func (m *Modem) simState(ctx context.Context) (string, error) {
	info, err := m.Command(ctx, "AT+CPIN?")
	if err != nil {
		return "", err
	}
	p, ok := infoParams(info, "+CPIN:")
	if !ok || len(p) == 0 {
		return "", fmt.Errorf("AT+CPIN?: no +CPIN line in %q", info)
	}
	return strings.ToUpper(p[0]), nil
}

// Info is what Probe found out about the modem, the SIM and the network.
// Fields the modem would not tell are left empty (Signal: SignalKnown false).
type Info struct {
	Manufacturer string
	Model        string
	Firmware     string
	IMEI         string
	SIM          string // "READY", "SIM PIN", "not inserted", ...
	SignalDBm    int    // received signal strength; valid when SignalKnown
	SignalKnown  bool
	Registration Registration
	Operator     string
	// Profile is the profile in use and what it offers for calls.
	Profile     string
	KeyDetect   bool // DTMF keys can acknowledge calls
	Speech      bool // on-module text-to-speech
	ProfileNote string
}

// Registration is the network registration state (AT+CREG / AT+CEREG).
type Registration int

// Registration states, as numbered by 3GPP TS 27.007 §7.2.
const (
	NotRegistered Registration = 0
	Home          Registration = 1
	Searching     Registration = 2
	Denied        Registration = 3
	RegUnknown    Registration = 4
	Roaming       Registration = 5
)

func (r Registration) String() string {
	switch r {
	case NotRegistered:
		return "not registered"
	case Home:
		return "home"
	case Searching:
		return "searching"
	case Denied:
		return "denied"
	case Roaming:
		return "roaming"
	}
	return "unknown"
}

// Registered reports whether the modem can reach the network.
func (r Registration) Registered() bool { return r == Home || r == Roaming }

// Probe asks the modem who it is and how it is connected. Only a modem that
// does not answer at all is an error; unsupported queries leave fields empty.
func (m *Modem) Probe(ctx context.Context) (Info, error) {
	var info Info
	if _, err := m.Command(ctx, "AT"); err != nil {
		return info, err
	}
	first := func(cmd string) string {
		lines, err := m.Command(ctx, cmd)
		if err != nil {
			return ""
		}
		for _, l := range lines {
			// Some modules prefix the answer with the command name.
			l = strings.TrimSpace(strings.TrimPrefix(l, strings.TrimPrefix(cmd, "AT")+":"))
			if l != "" {
				return l
			}
		}
		return ""
	}
	info.Manufacturer = first("AT+CGMI")
	info.Model = first("AT+CGMM")
	info.Firmware = strings.TrimPrefix(first("AT+CGMR"), "Revision:")
	info.Firmware = strings.TrimSpace(info.Firmware)
	info.IMEI = first("AT+CGSN")
	if s, err := m.simState(ctx); err == nil {
		info.SIM = s
	} else {
		var cme *CMEError
		if errors.As(err, &cme) {
			info.SIM = cme.Text
		}
	}
	if lines, err := m.Command(ctx, "AT+CSQ"); err == nil {
		info.SignalDBm, info.SignalKnown = ParseCSQ(lines)
	}
	info.Registration = RegUnknown
	for _, c := range []string{"AT+CREG?", "AT+CEREG?"} {
		lines, err := m.Command(ctx, c)
		if err != nil {
			continue
		}
		if r, ok := ParseReg(lines); ok && (r.Registered() || !info.Registration.Registered()) {
			if !(r == RegUnknown && info.Registration != RegUnknown) {
				info.Registration = r
			}
		}
	}
	if lines, err := m.Command(ctx, "AT+COPS?"); err == nil {
		if p, ok := infoParams(lines, "+COPS:"); ok && len(p) >= 3 {
			info.Operator = p[2]
		}
	}
	p := m.Profile()
	info.Profile, info.KeyDetect, info.Speech, info.ProfileNote = p.Name, p.DTMFURC != "", p.TTS != nil, p.Notes
	return info, nil
}

// ParseCSQ converts an AT+CSQ answer ("+CSQ: <rssi>,<ber>") to dBm
// (TS 27.007 §8.5: 0 is -113 dBm or less, 31 is -51 dBm or more, 99 unknown).
func ParseCSQ(lines []string) (dBm int, ok bool) {
	p, found := infoParams(lines, "+CSQ:")
	if !found || len(p) < 1 {
		return 0, false
	}
	rssi, err := strconv.Atoi(p[0])
	if err != nil || rssi < 0 || rssi > 31 {
		return 0, false
	}
	return -113 + 2*rssi, true
}

// ParseReg reads an AT+CREG?/AT+CEREG?/AT+CGREG? answer
// ("+CREG: <n>,<stat>[,...]") or the unsolicited form ("+CREG: <stat>[,...]").
func ParseReg(lines []string) (Registration, bool) {
	for _, prefix := range []string{"+CREG:", "+CEREG:", "+CGREG:"} {
		p, ok := infoParams(lines, prefix)
		if !ok || len(p) == 0 {
			continue
		}
		s := p[0]
		// In the answer form, the second parameter is the state; the URC form
		// with location info is "<stat>,<lac>,<ci>" where lac is quoted hex.
		if len(p) >= 2 && !strings.ContainsAny(p[1], "ABCDEFabcdef") && len(p[1]) <= 2 {
			s = p[1]
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 10 {
			return RegUnknown, false
		}
		if n > 5 {
			// 6..10 are SMS-only and emergency variants; SMS-only home/roaming
			// (6, 7) still let us page.
			switch n {
			case 6:
				return Home, true
			case 7:
				return Roaming, true
			}
			return RegUnknown, true
		}
		return Registration(n), true
	}
	return RegUnknown, false
}
