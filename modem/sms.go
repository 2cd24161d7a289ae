package modem

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/pdumode"
	"github.com/warthog618/sms/encoding/tpdu"
)

// InboundSMS is one received SMS-DELIVER, one part of a concatenated message
// when Concat is set. Reassembly is the caller's job, so that it can persist
// each part as it arrives.
type InboundSMS struct {
	Index  int       // storage index on the modem
	From   string    // "+8190..." for international numbers, else as sent (may be alphanumeric)
	Text   string    // this part's text
	SentAt time.Time // the service centre time stamp, in the sender's offset
	PDU    string    // the TPDU as received (hex, without the SMSC prefix)
	Concat *Concat   // nil for a single-part message
	// DecodeErr is set when the PDU could not be decoded; Text is then
	// empty. The handler sees the message anyway so that it can keep the raw
	// PDU and the modem's storage does not fill with undecodable messages.
	DecodeErr error
}

// Concat identifies one part of a concatenated SMS (3GPP TS 23.040
// §9.2.3.24.1): parts with the same sender and Ref form one message.
type Concat struct {
	Ref   int // concatenation reference (8 or 16 bit)
	Total int // number of parts
	Seq   int // this part, 1..Total
}

// OnSMS sets the handler for received SMS. On "+CMTI" the modem reads the
// message (AT+CMGR), calls h, and deletes it (AT+CMGD) only if h returns
// nil; a message h fails on stays in storage for ReadStored to offer again.
// h runs on the Modem's inbound-SMS goroutine, one message at a time, and
// may call the Modem; it does not run on the URC dispatcher, so RING,
// +CLIP and DTMF lines keep flowing while h stores a message. h should
// only store the message and return: acting on it belongs to its owner.
// It must not call ReadStored, which waits for it.
func (m *Modem) OnSMS(h func(ctx context.Context, msg InboundSMS) error) {
	m.smsMu.Lock()
	m.onSMS = h
	m.smsMu.Unlock()
}

func (m *Modem) smsHandler() func(context.Context, InboundSMS) error {
	m.smsMu.Lock()
	defer m.smsMu.Unlock()
	return m.onSMS
}

// ParseCMTI reads a `+CMTI: "ME",3` line into its storage and index.
func ParseCMTI(line string) (mem string, index int, err error) {
	rest, ok := strings.CutPrefix(line, "+CMTI:")
	if !ok {
		return "", 0, fmt.Errorf("modem: not a +CMTI line: %q", line)
	}
	p := splitParams(strings.TrimSpace(rest))
	if len(p) != 2 {
		return "", 0, fmt.Errorf("modem: +CMTI wants 2 parameters, got %d: %q", len(p), line)
	}
	index, err = strconv.Atoi(p[1])
	if err != nil || index < 0 {
		return "", 0, fmt.Errorf("modem: +CMTI index %q is not a number: %q", p[1], line)
	}
	return p[0], index, nil
}

// handleCMTI runs on the dispatcher: it only queues the index for the
// inbound goroutine, so the dispatcher never waits for the port or for the
// handler.
func (m *Modem) handleCMTI(line string) {
	_, idx, err := ParseCMTI(line)
	if err != nil {
		m.log.Warn("bad +CMTI", "line", line, "err", err)
		return
	}
	m.smsMu.Lock()
	m.inbound = append(m.inbound, idx)
	m.smsMu.Unlock()
	select {
	case m.inboundWake <- struct{}{}:
	default:
	}
}

// inboundLoop reads, hands over and deletes the messages +CMTI announced,
// in the order they were announced, until Close.
func (m *Modem) inboundLoop() {
	defer close(m.inboundDone)
	for {
		m.smsMu.Lock()
		for len(m.inbound) == 0 {
			m.smsMu.Unlock()
			select {
			case <-m.inboundWake:
			case <-m.closed:
				return
			}
			m.smsMu.Lock()
		}
		idx := m.inbound[0]
		m.inbound = m.inbound[1:]
		m.smsMu.Unlock()
		select {
		case <-m.closed:
			return
		default:
		}
		m.readInbound(idx)
	}
}

// readInbound reads the message at storage index idx and delivers it.
func (m *Modem) readInbound(idx int) {
	h := m.smsHandler()
	if h == nil {
		return // stays in storage; ReadStored picks it up
	}
	if err := m.lockInbound(m.ctx); err != nil {
		return
	}
	defer m.unlockInbound()
	ctx, cancel := context.WithTimeout(m.ctx, 2*m.opts.CommandTimeout)
	defer cancel()
	info, err := m.Command(ctx, "AT+CMGR="+strconv.Itoa(idx))
	if err != nil {
		m.log.Warn("reading SMS", "index", idx, "err", err)
		return
	}
	msgs, err := parseStored(info, "+CMGR:", idx)
	if err != nil {
		m.log.Warn("reading SMS", "index", idx, "err", err)
		return
	}
	for _, msg := range msgs {
		if err := m.deliver(m.ctx, h, msg); err != nil {
			m.log.Warn("handling SMS", "index", idx, "err", err)
		}
	}
}

// lockInbound takes inboundLock: one reader of the storage at a time.
func (m *Modem) lockInbound(ctx context.Context) error {
	select {
	case m.inboundLock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-m.closed:
		return ErrClosed
	}
}

func (m *Modem) unlockInbound() { <-m.inboundLock }

// deliver calls h and deletes the message if h accepted it; the caller
// holds inboundLock, so the slot still holds msg. A message announced
// twice (a +CMTI for a message ReadStored already handed over) finds its
// slot empty the second time, so h sees it once.
func (m *Modem) deliver(ctx context.Context, h func(context.Context, InboundSMS) error, msg InboundSMS) error {
	if r, ok := m.storedReport(msg); ok {
		// A delivery report kept in storage (ds=2, or while nobody read
		// it): hand it to the report handler, not to the SMS handler.
		if rh := m.reportHandler(); rh != nil {
			rh(ctx, r)
		}
	} else if err := h(ctx, msg); err != nil {
		return fmt.Errorf("SMS %d kept in storage: %w", msg.Index, err)
	}
	if _, err := m.Command(ctx, "AT+CMGD="+strconv.Itoa(msg.Index)); err != nil {
		return fmt.Errorf("deleting SMS %d: %w", msg.Index, err)
	}
	return nil
}

// ReadStored lists every message in storage (AT+CMGL=4) and feeds each
// through the OnSMS handler and delete path. Call it after Init so replies
// that arrived while the daemon was down are not lost. Errors of single
// messages are joined; the others are still processed. It excludes the
// inbound goroutine meanwhile, so its listing cannot go stale under it.
func (m *Modem) ReadStored(ctx context.Context) error {
	h := m.smsHandler()
	if h == nil {
		return errors.New("modem: ReadStored needs an OnSMS handler")
	}
	if err := m.lockInbound(ctx); err != nil {
		return err
	}
	defer m.unlockInbound()
	info, err := m.Command(ctx, "AT+CMGL=4")
	if err != nil {
		return err
	}
	msgs, err := parseStored(info, "+CMGL:", -1)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, msg := range msgs {
		if err := m.deliver(ctx, h, msg); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// parseStored reads the answer of AT+CMGR (prefix "+CMGR:", index given) or
// AT+CMGL (prefix "+CMGL:", index in the header): a header line followed by
// the PDU line, for each message. Non-DELIVER messages (status reports,
// drafts) are returned with DecodeErr set.
func parseStored(info []string, prefix string, index int) ([]InboundSMS, error) {
	var out []InboundSMS
	var errs []error
	for i := 0; i < len(info); i++ {
		rest, ok := strings.CutPrefix(info[i], prefix)
		if !ok {
			continue
		}
		p := splitParams(strings.TrimSpace(rest))
		idx := index
		lenField := ""
		if prefix == "+CMGL:" {
			// +CMGL: <index>,<stat>,[<alpha>],<length>
			if len(p) < 4 {
				errs = append(errs, fmt.Errorf("modem: %q: want 4 parameters", info[i]))
				continue
			}
			n, err := strconv.Atoi(p[0])
			if err != nil {
				errs = append(errs, fmt.Errorf("modem: %q: bad index", info[i]))
				continue
			}
			idx = n
			lenField = p[3]
		} else {
			// +CMGR: <stat>,[<alpha>],<length>
			if len(p) < 3 {
				errs = append(errs, fmt.Errorf("modem: %q: want 3 parameters", info[i]))
				continue
			}
			lenField = p[2]
		}
		tlen, err := strconv.Atoi(lenField)
		if err != nil || tlen < 0 {
			errs = append(errs, fmt.Errorf("modem: %q: bad length %q", info[i], lenField))
			continue
		}
		if i+1 >= len(info) {
			errs = append(errs, fmt.Errorf("modem: %q: PDU line missing", info[i]))
			break
		}
		i++
		out = append(out, DecodeStored(idx, info[i], tlen))
	}
	return out, errors.Join(errs...)
}

// DecodeStored decodes a PDU line as the modem shows it in PDU mode (SMSC
// address, then the TPDU) into an InboundSMS. tpduLen is the <length> the
// modem gave (TPDU octets), or -1 when unknown; trailing octets beyond it
// (some modems pad) are ignored. Failures are reported in DecodeErr.
func DecodeStored(index int, pduHex string, tpduLen int) InboundSMS {
	msg := InboundSMS{Index: index, PDU: strings.ToUpper(strings.TrimSpace(pduHex))}
	p, err := pdumode.UnmarshalHexString(msg.PDU)
	if err != nil {
		msg.DecodeErr = fmt.Errorf("modem: PDU: %w", err)
		return msg
	}
	b := p.TPDU
	if tpduLen >= 0 && tpduLen < len(b) {
		b = b[:tpduLen]
	}
	msg.PDU = strings.ToUpper(hex.EncodeToString(b))
	d, err := decodeDeliver(b)
	if err != nil {
		msg.DecodeErr = err
		return msg
	}
	msg.From, msg.Text, msg.SentAt, msg.Concat = d.from, d.text, d.sentAt, d.concat
	return msg
}

type decoded struct {
	from   string
	to     string
	text   string
	sentAt time.Time
	concat *Concat
	t      *tpdu.TPDU
}

// decodeDeliver decodes an SMS-DELIVER TPDU.
func decodeDeliver(b []byte) (decoded, error) {
	d, err := decodeTPDU(b, sms.AsMT)
	if err != nil {
		return d, err
	}
	if d.t.SmsType() != tpdu.SmsDeliver {
		return d, fmt.Errorf("modem: PDU is an %v, not an SMS-DELIVER", d.t.SmsType())
	}
	return d, nil
}

// DecodeSubmit decodes an SMS-SUBMIT TPDU (what a phone or Tocsin sends),
// returning the destination, the part's text and concatenation info. The
// simulator uses it to check what reaches the "network".
func DecodeSubmit(b []byte) (to, text string, concat *Concat, err error) {
	d, err := decodeTPDU(b, sms.AsMO)
	if err != nil {
		return "", "", nil, err
	}
	if d.t.SmsType() != tpdu.SmsSubmit {
		return "", "", nil, fmt.Errorf("modem: PDU is an %v, not an SMS-SUBMIT", d.t.SmsType())
	}
	return d.to, d.text, d.concat, nil
}

func decodeTPDU(b []byte, dir sms.UnmarshalOption) (d decoded, err error) {
	t, err := sms.Unmarshal(b, dir)
	if err != nil {
		// Some SMSCs and modems append a surplus octet to the user data;
		// decoders in the field accept it, so do we.
		var de tpdu.DecodeError
		if len(b) > 1 && errors.As(err, &de) && de.Err == tpdu.ErrOverlength {
			t, err = sms.Unmarshal(b[:len(b)-1], dir)
		}
		if err != nil {
			return d, fmt.Errorf("modem: PDU: %w", err)
		}
	}
	d.t = t
	text, err := sms.Decode([]*tpdu.TPDU{t})
	if err != nil {
		return d, fmt.Errorf("modem: PDU user data: %w", err)
	}
	if !utf8.Valid(text) {
		text = []byte(strings.ToValidUTF8(string(text), "\uFFFD"))
	}
	d.text = string(text)
	d.from = t.OA.Number()
	d.to = t.DA.Number()
	d.sentAt = t.SCTS.Time
	if total, seq, ref, ok := t.ConcatInfo(); ok {
		d.concat = &Concat{Ref: ref, Total: total, Seq: seq}
	}
	return d, nil
}

// SendSMS sends text to number as one SMS, or as a concatenated SMS when it
// is long, and returns the message reference the network gave each part.
// GSM 7-bit is used when the text fits the default alphabet, UCS-2 otherwise.
// It never retries: whether a failure is worth another attempt is the
// caller's decision (escalation/phone decides it in one place). When the
// first part failed before its PDU reached the modem (the port is gone, no
// "> " prompt came), the error wraps ErrNotSubmitted: nothing can have left.
func (m *Modem) SendSMS(ctx context.Context, number, text string) ([]int, error) {
	pdus, err := m.EncodeSubmit(number, text)
	if err != nil {
		return nil, err
	}
	if err := m.lock(ctx); err != nil {
		return nil, fmt.Errorf("modem: SMS to %s: %w: %w", number, ErrNotSubmitted, err)
	}
	defer m.unlock()
	refs := make([]int, 0, len(pdus))
	for i, p := range pdus {
		mr, submitted, err := m.sendPDU(ctx, p)
		if err != nil {
			if i == 0 && !submitted {
				err = fmt.Errorf("%w: %w", ErrNotSubmitted, err)
			}
			return refs, fmt.Errorf("modem: SMS to %s part %d/%d: %w", number, i+1, len(pdus), err)
		}
		refs = append(refs, mr)
	}
	return refs, nil
}

// EncodeSubmit encodes text for number into SMS-SUBMIT TPDUs with the
// Modem's long-lived encoder (so references advance), without sending them.
// The text is cleaned first (CleanText): no control character other than LF
// reaches the encoder.
func (m *Modem) EncodeSubmit(number, text string) ([][]byte, error) {
	addr, err := destination(number)
	if err != nil {
		return nil, err
	}
	if !utf8.ValidString(text) {
		return nil, errors.New("modem: SMS text is not valid UTF-8")
	}
	text = CleanText(text) // the one place control characters are taken out
	if text == "" {
		return nil, errors.New("modem: SMS text is empty")
	}
	opts := []sms.EncoderOption{sms.WithTemplateOption(tpdu.WithDA(addr))}
	if m.ReportMode() != ReportsNone {
		opts = append(opts, sms.WithTemplateOption(srr{})) // ask for a delivery report
	}
	tpdus, err := m.enc.Encode([]byte(text), opts...)
	if err != nil {
		return nil, fmt.Errorf("modem: encoding SMS: %w", err)
	}
	if len(tpdus) > 255 {
		return nil, fmt.Errorf("modem: SMS text needs %d parts (at most 255)", len(tpdus))
	}
	out := make([][]byte, len(tpdus))
	for i := range tpdus {
		b, err := tpdus[i].MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("modem: encoding SMS part %d: %w", i+1, err)
		}
		out[i] = b
	}
	return out, nil
}

// destination validates a phone number: an optional "+" and 1 to 20 digits.
// International numbers get TON international, others TON unknown.
func destination(number string) (tpdu.Address, error) {
	digits := strings.TrimPrefix(number, "+")
	if digits == "" || len(digits) > 20 {
		return tpdu.Address{}, fmt.Errorf("modem: phone number %q: want an optional + and 1 to 20 digits", number)
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return tpdu.Address{}, fmt.Errorf("modem: phone number %q: %q is not a digit", number, r)
		}
	}
	a := tpdu.NewAddress()
	a.SetNumberingPlan(tpdu.NpISDN)
	if strings.HasPrefix(number, "+") {
		a.SetTypeOfNumber(tpdu.TonInternational)
	} else {
		a.SetTypeOfNumber(tpdu.TonUnknown)
	}
	a.Addr = digits
	return a, nil
}

// sendPDU runs one AT+CMGS exchange; the caller holds sem. submitted
// reports whether the PDU was written to the modem (after that the message
// may have left, whatever the error).
func (m *Modem) sendPDU(ctx context.Context, tp []byte) (mr int, submitted bool, err error) {
	cmd := "AT+CMGS=" + strconv.Itoa(len(tp))
	// "00": no SMSC address in the PDU, the modem uses the SIM's.
	pduHex := "00" + strings.ToUpper(hex.EncodeToString(tp))
	if m.dirty.Load() {
		if err := m.resync(ctx); err != nil {
			return 0, false, fmt.Errorf("%s: %w", cmd, err)
		}
	}
	x := m.begin(cmd, cmd)
	defer m.end(x)
	if err := m.write(cmd + "\r"); err != nil {
		return 0, false, err
	}
	if err := m.waitPrompt(ctx, x, m.opts.CommandTimeout); err != nil {
		_ = m.write("\x1b") // leave the prompt, should it come late
		return 0, false, err
	}
	m.mu.Lock()
	x.echo = pduHex // with echo on the modem repeats the PDU
	m.mu.Unlock()
	if err := m.write(pduHex + "\x1a"); err != nil {
		return 0, false, err
	}
	info, err := m.wait(ctx, x, m.opts.SMSTimeout)
	if err != nil {
		return 0, true, err
	}
	p, ok := infoParams(info, "+CMGS:")
	if !ok || len(p) == 0 {
		return 0, true, fmt.Errorf("%s: no +CMGS reference in %q", cmd, info)
	}
	mr, err = strconv.Atoi(p[0])
	if err != nil {
		return 0, true, fmt.Errorf("%s: bad +CMGS reference %q", cmd, p[0])
	}
	return mr, true, nil
}
