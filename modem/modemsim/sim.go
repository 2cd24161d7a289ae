// Package modemsim is a simulated cellular modem that speaks AT commands the
// way SIMCom and Quectel modules do, so that Tocsin's tests and its demo run
// the real serial and modem code without hardware.
//
// A Sim serves any byte stream (Serve) or a pseudo-terminal (StartPTY) that a
// client opens like a serial device. It keeps its state — echo, SMS storage,
// message references — across clients, the way a modem outlives the daemon
// that talks to it. Tests script it (InjectSMS, FailNextSend, SetSilent) and
// observe what was sent through Sent and History without sleeping.
//
// The simulator never logs; everything it saw is available from its methods.
package modemsim

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tocsin-relay/tocsin/modem"
	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/pdumode"
	"github.com/warthog618/sms/encoding/tpdu"
)

// Options configures a Sim.
type Options struct {
	// Model is what AT+CGMM answers; the manufacturer and firmware follow
	// from it. Default "SIMCOM_SIM7600G-H".
	Model string
	// SendDelay is how long AT+CMGS takes to answer after the PDU, like a
	// network round trip. Default 150ms; tests may set it small. Negative
	// means no delay.
	SendDelay time.Duration
	// OwnNumber is the SIM's number (AT+CNUM). Default "+819000000000".
	OwnNumber string
	// BootTime is how long a reboot takes before the boot lines. Default
	// 2s; negative means at once.
	BootTime time.Duration
	// OnlyStoredReports makes AT+CNMI refuse <ds>=1, like modules that
	// only store status reports and announce them with +CDSI.
	OnlyStoredReports bool
}

// SentSMS is one complete message the client sent: all parts of a
// concatenated message, joined.
type SentSMS struct {
	To    string
	Text  string // decoded, parts joined in order
	Parts []SentPart
	At    time.Time
}

// SentPart is one AT+CMGS submission.
type SentPart struct {
	PDU      string // the TPDU as sent (hex, without SMSC prefix)
	MR       int    // the reference the sim answered with
	Encoding string // "gsm7", "ucs2" or "8bit"
	Concat   *modem.Concat
	Text     string
}

// PhoneMessage is one SMS as the simulated phones see it.
type PhoneMessage struct {
	Number    string
	Direction string // "to-phone" (sent by the client) or "from-phone" (injected)
	Text      string
	At        time.Time
}

// stored is an SMS in the sim's storage.
type stored struct {
	stat int    // 0 received unread, 1 received read
	pdu  string // hex, SMSC address then TPDU
	tlen int    // TPDU octets
}

// Storage capacity of the simulated "ME" memory.
const capacity = 50

// Sim is the simulated modem. Its methods are safe for concurrent use.
type Sim struct {
	opts Options
	enc  *sms.Encoder // SMS-DELIVER encoder for injected messages

	mu       sync.Mutex // guards everything below
	echo     bool
	cmee     int
	cmgf     int
	silent   bool
	failNext int // +CMS ERROR code for the next failCount sends
	// failCount is how many sends still fail with failNext.
	failCount int
	// hold, when set, holds every AT+CMGS answer until it is closed
	// (HoldSends).
	hold chan struct{}
	held chan struct{} // told when an answer starts being held
	// unplugged: UnplugFor's window; the sim is deaf and the line is
	// hung up again whenever a client opens it.
	unplugged bool
	// answerDelay is how long every command takes before its answer
	// (SetAnswerDelay).
	answerDelay time.Duration
	mr          int
	store       map[int]*stored
	partial     map[string][]SentPart // concatenated parts by destination and reference
	history     []SentSMS
	messages    []PhoneMessage
	commands    []string
	// onCommand, if set, sees every command line as it arrives (benchmarks
	// time the serial line with it).
	onCommand   func(line string, at time.Time)
	out         io.Writer // the attached client; nil when none
	clip        bool      // AT+CLIP=1
	ddet        bool      // AT+DDET=1 (SIMCom)
	call        *simCall  // the call in progress
	nextCall    *CallScript
	calls       []CallRecord
	booting     bool          // rebooting: deaf until the boot lines
	simFailure  bool          // SetSIMFailure
	cscs        string        // AT+CSCS character set
	reg         int           // registration state (SetRegistration)
	ptys        []*ptyStream  // served pseudo-terminals (Unplug)
	sendDelay   time.Duration // AT+CMGS delay (Options.SendDelay, SetSendDelay)
	cnmiDS      int           // AT+CNMI <ds>: status reports 0 none, 1 +CDS, 2 +CDSI
	report      Report        // SetReports
	reportAfter time.Duration // SetReports

	outMu     sync.Mutex // serialises writes to out (answers and URCs)
	sent      chan SentSMS
	callEnded chan CallRecord
}

// writer is where answers go.
type writer = io.Writer

// New returns a Sim with empty storage and echo on.
func New(opts Options) *Sim {
	if opts.Model == "" {
		opts.Model = "SIMCOM_SIM7600G-H"
	}
	if opts.SendDelay == 0 {
		opts.SendDelay = 150 * time.Millisecond
	}
	if opts.OwnNumber == "" {
		opts.OwnNumber = "+819000000000"
	}
	if opts.BootTime == 0 {
		opts.BootTime = 2 * time.Second
	}
	if opts.BootTime < 0 {
		opts.BootTime = 0
	}
	return &Sim{
		opts:        opts,
		sendDelay:   opts.SendDelay,
		reportAfter: 200 * time.Millisecond,
		enc:         sms.NewEncoder(sms.AsDeliver),
		echo:        true,
		cscs:        "IRA",
		reg:         1,
		cmee:        0,
		store:       map[int]*stored{},
		partial:     map[string][]SentPart{},
		sent:        make(chan SentSMS, 4096),
		callEnded:   make(chan CallRecord, 1024),
	}
}

// Sent delivers every completed SMS submission (all parts). It is buffered;
// when the buffer is full the oldest unread entries are kept and new ones are
// only in History.
func (s *Sim) Sent() <-chan SentSMS { return s.sent }

// History returns every completed SMS submission so far.
func (s *Sim) History() []SentSMS {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.history)
}

// Messages returns the chat history of the simulated phones: SMS sent to
// them and SMS they sent (injected), oldest first.
func (s *Sim) Messages() []PhoneMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

// Commands returns every command line the sim received, in order.
func (s *Sim) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.commands)
}

// Stored returns the storage indexes in use.
func (s *Sim) Stored() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var idx []int
	for i := range s.store {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	return idx
}

// FailNextSend makes the next AT+CMGS answer "+CMS ERROR: <cmsCode>".
func (s *Sim) FailNextSend(cmsCode int) {
	s.mu.Lock()
	s.failNext, s.failCount = cmsCode, 1
	s.mu.Unlock()
}

// SetSilent makes the sim stop (true) or resume (false) answering. Input
// received while silent is discarded, like a hung module.
func (s *Sim) SetSilent(silent bool) {
	s.mu.Lock()
	s.silent = silent
	s.mu.Unlock()
}

// InjectSMS simulates an SMS from the phone number from: it is encoded as
// SMS-DELIVER PDU(s) (concatenated when long), stored, and announced with
// +CMTI to the attached client, if any.
func (s *Sim) InjectSMS(from, text string) error {
	if text == "" {
		return errors.New("modemsim: empty SMS text")
	}
	oa, err := address(from)
	if err != nil {
		return err
	}
	now := time.Now()
	tpdus, err := s.enc.Encode([]byte(text), sms.WithTemplateOption(tpdu.WithOA(oa)))
	if err != nil {
		return fmt.Errorf("modemsim: encoding SMS: %w", err)
	}
	smsc := pdumode.SMSCAddress{Address: tpdu.NewAddress(tpdu.FromNumber("+819020000000"))}
	var pdus []stored
	for i := range tpdus {
		tpdus[i].SCTS = tpdu.Timestamp{Time: now.Truncate(time.Second)}
		b, err := tpdus[i].MarshalBinary()
		if err != nil {
			return fmt.Errorf("modemsim: encoding SMS: %w", err)
		}
		p := pdumode.PDU{SMSC: smsc, TPDU: b}
		h, err := p.MarshalHexString()
		if err != nil {
			return fmt.Errorf("modemsim: encoding SMS: %w", err)
		}
		pdus = append(pdus, stored{stat: 0, pdu: strings.ToUpper(h), tlen: len(b)})
	}
	s.mu.Lock()
	var idxs []int
	for _, p := range pdus {
		idx := -1
		for i := range capacity {
			if _, used := s.store[i]; !used {
				idx = i
				break
			}
		}
		if idx < 0 {
			s.mu.Unlock()
			return errors.New("modemsim: SMS storage full")
		}
		s.store[idx] = &p
		idxs = append(idxs, idx)
	}
	s.messages = append(s.messages, PhoneMessage{Number: from, Direction: "from-phone", Text: text, At: now})
	booting := s.booting
	s.mu.Unlock()
	if booting {
		return nil // stored; a booting module announces nothing
	}
	for _, idx := range idxs {
		s.urc(fmt.Sprintf(`+CMTI: "ME",%d`, idx))
	}
	return nil
}

func address(number string) (tpdu.Address, error) {
	digits := strings.TrimPrefix(number, "+")
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return tpdu.Address{}, fmt.Errorf("modemsim: %q is not a phone number", number)
	}
	a := tpdu.NewAddress(tpdu.FromNumber(digits))
	if !strings.HasPrefix(number, "+") {
		a.SetTypeOfNumber(tpdu.TonUnknown)
	}
	return a, nil
}

// EmitURC sends an unsolicited line (such as "RING") to the attached
// client, as a module does on its own.
func (s *Sim) EmitURC(line string) { s.urc(line) }

// EmitURCs sends several unsolicited lines in one write: a burst.
func (s *Sim) EmitURCs(lines []string) {
	s.mu.Lock()
	out, silent := s.out, s.silent
	s.mu.Unlock()
	if out == nil || silent {
		return
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("\r\n" + l + "\r\n")
	}
	s.write(out, b.String())
}

// urc writes an unsolicited line to the attached client, if any.
func (s *Sim) urc(line string) {
	s.mu.Lock()
	out, silent := s.out, s.silent
	s.mu.Unlock()
	if out == nil || silent {
		return
	}
	s.write(out, "\r\n"+line+"\r\n")
}

func (s *Sim) write(w io.Writer, str string) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	_, _ = io.WriteString(w, str) // a vanished client is not the sim's problem
}

// Serve speaks AT on rw until ctx is done or reading rw fails; it returns
// nil when ctx ended it, else the read error. The sim's state survives for
// the next Serve. Serve checks ctx between reads: to stop a blocked read,
// close rw.
func (s *Sim) Serve(ctx context.Context, rw io.ReadWriter) error {
	s.attach(rw)
	defer s.attach(nil)
	c := &conn{s: s, rw: rw}
	buf := make([]byte, 512)
	for {
		n, err := rw.Read(buf)
		if ctx.Err() != nil {
			return nil
		}
		if n > 0 {
			c.input(ctx, buf[:n])
		}
		if err != nil {
			return err
		}
	}
}

func (s *Sim) attach(w io.Writer) {
	s.mu.Lock()
	s.out = w
	s.mu.Unlock()
}

// conn is the input state of one Serve call; only its goroutine uses it.
type conn struct {
	s      *Sim
	rw     io.ReadWriter
	line   []byte
	pduLen int // > 0 while reading a PDU after the CMGS prompt
}

func (c *conn) input(ctx context.Context, data []byte) {
	s := c.s
	s.mu.Lock()
	silent, echo := s.silent || s.booting || s.unplugged, s.echo
	s.mu.Unlock()
	if silent {
		c.line = c.line[:0]
		c.pduLen = 0
		return
	}
	for i, b := range data {
		if c.pduLen > 0 {
			switch b {
			case 0x1a:
				if echo {
					s.write(c.rw, string(data[i:i+1]))
				}
				pdu := string(c.line)
				n := c.pduLen
				c.line, c.pduLen = c.line[:0], 0
				s.submit(ctx, c.rw, n, pdu)
			case 0x1b:
				c.line, c.pduLen = c.line[:0], 0
				s.write(c.rw, "\r\nOK\r\n")
			case '\r', '\n':
			default:
				if echo {
					s.write(c.rw, string(data[i:i+1]))
				}
				if len(c.line) < 4096 {
					c.line = append(c.line, b)
				}
			}
			continue
		}
		if echo && b != 0x1b {
			s.write(c.rw, string(data[i:i+1]))
		}
		switch b {
		case '\r':
			line := strings.TrimSpace(string(c.line))
			c.line = c.line[:0]
			if line != "" {
				c.pduLen = s.command(ctx, c.rw, line)
			}
		case '\n', 0x1b, 0x1a:
		default:
			if len(c.line) < 4096 {
				c.line = append(c.line, b)
			}
		}
		// A command may have switched echo off or rebooted the module.
		s.mu.Lock()
		echo = s.echo
		deaf := s.silent || s.booting || s.unplugged
		s.mu.Unlock()
		if deaf {
			c.line, c.pduLen = c.line[:0], 0
			return
		}
	}
}

// reply writes info lines and a final result in verbose format.
func (s *Sim) reply(w io.Writer, final string, info ...string) {
	// Like the modules: information lines separated by single CRLFs
	// ("+CMGR: 0,,22\r\n<PDU>"), then the final result.
	var b strings.Builder
	if len(info) > 0 {
		b.WriteString("\r\n" + strings.Join(info, "\r\n") + "\r\n")
	}
	b.WriteString("\r\n" + final + "\r\n")
	s.write(w, b.String())
}

func (s *Sim) cmeError(w io.Writer, code int, text string) {
	s.mu.Lock()
	cmee := s.cmee
	s.mu.Unlock()
	switch cmee {
	case 0:
		s.reply(w, "ERROR")
	case 1:
		s.reply(w, "+CME ERROR: "+strconv.Itoa(code))
	default:
		s.reply(w, "+CME ERROR: "+text)
	}
}

func (s *Sim) cmsError(w io.Writer, code int) {
	s.mu.Lock()
	cmee := s.cmee
	s.mu.Unlock()
	if cmee == 0 {
		s.reply(w, "ERROR")
		return
	}
	s.reply(w, "+CMS ERROR: "+strconv.Itoa(code))
}

func (s *Sim) identity() (manufacturer, revision string) {
	m := strings.ToUpper(s.opts.Model)
	switch {
	case strings.HasPrefix(m, "EC2") || strings.HasPrefix(m, "EG2") || strings.Contains(m, "QUECTEL"):
		return "Quectel", "EC25EFAR06A06M4G"
	case strings.Contains(m, "SIM800"):
		return "SIMCOM_Ltd", "Revision:1418B04SIM800C24"
	case strings.Contains(m, "SIMCOM"):
		return "SIMCOM INCORPORATED", "+CGMR: LE20B04SIM7600G22"
	}
	return "Tocsin", "modemsim 1"
}

const imei = "867584030012344"

// command executes one command line and returns the PDU length to read
// next (AT+CMGS), or 0.
func (s *Sim) command(ctx context.Context, w io.Writer, line string) int {
	s.mu.Lock()
	s.commands = append(s.commands, line)
	hook, slow := s.onCommand, s.answerDelay
	s.mu.Unlock()
	if hook != nil {
		hook(line, time.Now())
	}
	if slow > 0 {
		time.Sleep(slow) // a slow module: the Serve goroutine is the module
	}
	up := strings.ToUpper(line)
	if !strings.HasPrefix(up, "AT") {
		s.reply(w, "ERROR")
		return 0
	}
	body := line[2:]
	ubody := up[2:]
	manufacturer, revision := s.identity()
	if s.callCommand(w, up, body) {
		return 0
	}
	switch {
	case ubody == "" || ubody == "Z" || ubody == "&F" || ubody == "V1" || ubody == "Q0" || ubody == "&W":
		s.reply(w, "OK")
	case ubody == "E0" || ubody == "E1" || ubody == "E":
		s.mu.Lock()
		s.echo = ubody == "E1"
		s.mu.Unlock()
		s.reply(w, "OK")
	case ubody == "I":
		s.reply(w, "OK", "Manufacturer: "+manufacturer, "Model: "+s.opts.Model,
			"Revision: "+strings.TrimPrefix(strings.TrimPrefix(revision, "+CGMR: "), "Revision:"), "IMEI: "+imei, "+GCAP: +CGSM")
	case ubody == "+CGMI" || ubody == "+GMI":
		s.reply(w, "OK", manufacturer)
	case ubody == "+CGMM" || ubody == "+GMM":
		s.reply(w, "OK", s.opts.Model)
	case ubody == "+CGMR" || ubody == "+GMR":
		s.reply(w, "OK", revision)
	case ubody == "+CGSN" || ubody == "+GSN":
		s.reply(w, "OK", imei)
	case ubody == "+CIMI":
		s.reply(w, "OK", "440101234567890")
	case ubody == "+CNUM":
		s.reply(w, "OK", fmt.Sprintf(`+CNUM: "","%s",145`, s.opts.OwnNumber))
	case strings.HasPrefix(ubody, "+CMEE="):
		n, err := strconv.Atoi(body[6:])
		if err != nil || n < 0 || n > 2 {
			s.cmeError(w, 3, "operation not allowed")
			return 0
		}
		s.mu.Lock()
		s.cmee = n
		s.mu.Unlock()
		s.reply(w, "OK")
	case ubody == "+CMEE?":
		s.mu.Lock()
		n := s.cmee
		s.mu.Unlock()
		s.reply(w, "OK", "+CMEE: "+strconv.Itoa(n))
	case ubody == "+CPIN?":
		s.mu.Lock()
		fail := s.simFailure
		s.mu.Unlock()
		if fail {
			s.cmeError(w, 13, "SIM failure")
			return 0
		}
		s.reply(w, "OK", "+CPIN: READY")
	case ubody == "+CFUN=1,1" || ubody == "+CFUN=1,1,0":
		s.reply(w, "OK")
		s.Reboot()
	case ubody == "+CFUN?":
		s.reply(w, "OK", "+CFUN: 1")
	case strings.HasPrefix(ubody, "+CFUN="):
		s.reply(w, "OK")
	case ubody == "+CSQ":
		s.reply(w, "OK", "+CSQ: 20,99")
	case ubody == "+CREG?" || ubody == "+CEREG?" || ubody == "+CGREG?":
		s.mu.Lock()
		reg := s.reg
		s.mu.Unlock()
		s.reply(w, "OK", fmt.Sprintf("%s: 0,%d", strings.TrimSuffix(ubody, "?"), reg))
	case strings.HasPrefix(ubody, "+CREG=") || strings.HasPrefix(ubody, "+CEREG=") || strings.HasPrefix(ubody, "+CGREG="):
		s.reply(w, "OK")
	case ubody == "+COPS?":
		s.mu.Lock()
		reg := s.reg
		s.mu.Unlock()
		if reg != 1 && reg != 5 {
			s.reply(w, "OK", "+COPS: 0")
			return 0
		}
		s.reply(w, "OK", `+COPS: 0,0,"NTT DOCOMO",7`)
	case ubody == "+CSCS?":
		s.mu.Lock()
		cs := s.cscs
		s.mu.Unlock()
		s.reply(w, "OK", `+CSCS: "`+cs+`"`)
	case ubody == "+CSCS=?":
		s.reply(w, "OK", `+CSCS: ("IRA","GSM","UCS2")`)
	case strings.HasPrefix(ubody, "+CSCS="):
		cs := strings.Trim(body[6:], `"`)
		if cs != "IRA" && cs != "GSM" && cs != "UCS2" {
			s.cmeError(w, 4, "operation not supported")
			return 0
		}
		s.mu.Lock()
		s.cscs = cs
		s.mu.Unlock()
		s.reply(w, "OK")
	case ubody == "+CPMS=?":
		s.reply(w, "OK", `+CPMS: ("ME","SM"),("ME","SM"),("ME","SM")`)
	case ubody == "+CNMI=?":
		s.reply(w, "OK", "+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)")
	case ubody == "+CMEE=?":
		s.reply(w, "OK", "+CMEE: (0-2)")
	case ubody == "+CLIP=?":
		s.reply(w, "OK", "+CLIP: (0-1)")
	case ubody == "+CSCA?" || ubody == "+CSCA=?":
		s.reply(w, "OK", `+CSCA: "+819020000000",145`)
	case strings.HasPrefix(ubody, "+CMGF="):
		n, err := strconv.Atoi(body[6:])
		if err != nil || n < 0 || n > 1 {
			s.cmsError(w, 302)
			return 0
		}
		s.mu.Lock()
		s.cmgf = n
		s.mu.Unlock()
		s.reply(w, "OK")
	case ubody == "+CMGF?":
		s.mu.Lock()
		n := s.cmgf
		s.mu.Unlock()
		s.reply(w, "OK", "+CMGF: "+strconv.Itoa(n))
	case ubody == "+CMGF=?":
		s.reply(w, "OK", "+CMGF: (0-1)")
	case strings.HasPrefix(ubody, "+CNMI="), ubody == "+CNMI?":
		s.cnmi(w, ubody)
	case strings.HasPrefix(ubody, "+CPMS="), ubody == "+CPMS?":
		s.cpms(w, body)
	case strings.HasPrefix(ubody, "+CMGS="):
		return s.cmgs(w, body[6:])
	case strings.HasPrefix(ubody, "+CMGR="):
		s.cmgr(w, body[6:])
	case strings.HasPrefix(ubody, "+CMGL"):
		s.cmgl(w, body[5:])
	case strings.HasPrefix(ubody, "+CMGD="):
		s.cmgd(w, body[6:])
	default:
		s.reply(w, "ERROR")
	}
	return 0
}

func (s *Sim) cpms(w io.Writer, body string) {
	s.mu.Lock()
	used := len(s.store)
	s.mu.Unlock()
	if strings.HasSuffix(body, "?") {
		s.reply(w, "OK", fmt.Sprintf(`+CPMS: "ME",%d,%d,"ME",%d,%d,"ME",%d,%d`, used, capacity, used, capacity, used, capacity))
		return
	}
	for _, mem := range strings.Split(body[6:], ",") {
		mem = strings.Trim(strings.TrimSpace(mem), `"`)
		if mem != "ME" && mem != "SM" && mem != "MT" {
			s.cmsError(w, 302)
			return
		}
	}
	s.reply(w, "OK", fmt.Sprintf("+CPMS: %d,%d,%d,%d,%d,%d", used, capacity, used, capacity, used, capacity))
}

func (s *Sim) cmgs(w io.Writer, arg string) int {
	s.mu.Lock()
	cmgf := s.cmgf
	s.mu.Unlock()
	if cmgf != 0 {
		s.cmsError(w, 302) // Tocsin never uses text mode; the sim does not implement it
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(arg))
	if err != nil || n < 7 || n > 164 {
		s.cmsError(w, 304)
		return 0
	}
	s.write(w, "\r\n> ")
	return n
}

// submit handles the PDU after a CMGS prompt.
func (s *Sim) submit(ctx context.Context, w io.Writer, tlen int, pduHex string) {
	pduHex = strings.TrimSpace(pduHex)
	p, err := pdumode.UnmarshalHexString(pduHex)
	if err != nil || len(p.TPDU) != tlen {
		s.cmsError(w, 304) // the length must match, like real modules check
		return
	}
	to, text, concat, err := modem.DecodeSubmit(p.TPDU)
	if err != nil {
		s.cmsError(w, 304)
		return
	}
	encoding := "gsm7"
	if t, err := sms.Unmarshal(p.TPDU, sms.AsMO); err == nil {
		switch a, _ := t.Alphabet(); a {
		case tpdu.AlphaUCS2:
			encoding = "ucs2"
		case tpdu.Alpha8Bit:
			encoding = "8bit"
		}
	}
	s.mu.Lock()
	delay, simFailure, reg, hold, held := s.sendDelay, s.simFailure, s.reg, s.hold, s.held
	s.mu.Unlock()
	if hold != nil {
		select {
		case held <- struct{}{}:
		default:
		}
		select {
		case <-hold:
		case <-ctx.Done():
			return
		}
	}
	if simFailure {
		s.cmsError(w, 313)
		return
	}
	if reg != 1 && reg != 5 {
		s.cmsError(w, 331) // no network service
		return
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
	s.mu.Lock()
	if code := s.failNext; code != 0 {
		if s.failCount--; s.failCount <= 0 {
			s.failNext, s.failCount = 0, 0
		}
		s.mu.Unlock()
		s.cmsError(w, code)
		return
	}
	s.mr = (s.mr + 1) % 256
	mr := s.mr
	part := SentPart{PDU: strings.ToUpper(hex.EncodeToString(p.TPDU)), MR: mr, Encoding: encoding, Concat: concat, Text: text}
	var done *SentSMS
	if concat == nil {
		done = &SentSMS{To: to, Text: text, Parts: []SentPart{part}, At: time.Now()}
	} else {
		key := fmt.Sprintf("%s/%d/%d", to, concat.Ref, concat.Total)
		parts := append(s.partial[key], part)
		s.partial[key] = parts
		if len(parts) >= concat.Total {
			delete(s.partial, key)
			sort.SliceStable(parts, func(i, j int) bool { return parts[i].Concat.Seq < parts[j].Concat.Seq })
			var b bytes.Buffer
			for _, p := range parts {
				b.WriteString(p.Text)
			}
			done = &SentSMS{To: to, Text: b.String(), Parts: parts, At: time.Now()}
		}
	}
	if done != nil {
		s.history = append(s.history, *done)
		s.messages = append(s.messages, PhoneMessage{Number: done.To, Direction: "to-phone", Text: done.Text, At: done.At})
		select {
		case s.sent <- *done:
		default:
		}
	}
	s.mu.Unlock()
	s.reply(w, "OK", "+CMGS: "+strconv.Itoa(mr))
	s.statusReport(srrRequested(p.TPDU), to, mr)
}

func (s *Sim) cmgr(w io.Writer, arg string) {
	idx, err := strconv.Atoi(strings.TrimSpace(arg))
	if err != nil || idx < 0 || idx >= capacity {
		s.cmsError(w, 321)
		return
	}
	s.mu.Lock()
	m, ok := s.store[idx]
	var stat int
	if ok {
		stat = m.stat
		m.stat = 1
	}
	s.mu.Unlock()
	if !ok {
		s.reply(w, "OK") // an empty slot, as SIMCom and Quectel answer
		return
	}
	s.reply(w, "OK", fmt.Sprintf("+CMGR: %d,,%d", stat, m.tlen), m.pdu)
}

func (s *Sim) cmgl(w io.Writer, arg string) {
	want := 4
	if a := strings.TrimPrefix(strings.TrimSpace(arg), "="); a != "" {
		n, err := strconv.Atoi(a)
		if err != nil || n < 0 || n > 4 {
			s.cmsError(w, 302)
			return
		}
		want = n
	}
	s.mu.Lock()
	var idxs []int
	for i := range s.store {
		idxs = append(idxs, i)
	}
	sort.Ints(idxs)
	var info []string
	for _, i := range idxs {
		m := s.store[i]
		if want != 4 && m.stat != want {
			continue
		}
		info = append(info, fmt.Sprintf("+CMGL: %d,%d,,%d", i, m.stat, m.tlen), m.pdu)
		m.stat = 1
	}
	s.mu.Unlock()
	s.reply(w, "OK", info...)
}

func (s *Sim) cmgd(w io.Writer, arg string) {
	p := strings.Split(arg, ",")
	idx, err := strconv.Atoi(strings.TrimSpace(p[0]))
	if err != nil || idx < 0 || idx >= capacity {
		s.cmsError(w, 321)
		return
	}
	flag := 0
	if len(p) > 1 {
		flag, err = strconv.Atoi(strings.TrimSpace(p[1]))
		if err != nil || flag < 0 || flag > 4 {
			s.cmsError(w, 302)
			return
		}
	}
	s.mu.Lock()
	switch flag {
	case 0:
		delete(s.store, idx)
	case 4:
		clear(s.store)
	default: // 1..3: delete read (and sent/unsent) messages
		for i, m := range s.store {
			if m.stat == 1 {
				delete(s.store, i)
			}
		}
	}
	s.mu.Unlock()
	s.reply(w, "OK")
}
