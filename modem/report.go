package modem

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/pdumode"
	"github.com/warthog618/sms/encoding/tpdu"
)

// Delivery reports (3GPP TS 23.040 §9.2.2.3, SMS-STATUS-REPORT): every SMS
// Tocsin submits asks for one (TP-SRR), and the network answers, later,
// whether the handset got it. Modules hand reports over in one of two ways,
// chosen by the fourth parameter of AT+CNMI (<ds>, TS 27.005 §3.4.1):
//
//   - ds=1, "+CDS: <length>" followed by the PDU on the next line: the
//     report itself, routed to the terminal at once. Tried first.
//   - ds=2, "+CDSI: <mem>,<index>": the report was stored; Tocsin reads it
//     with AT+CMGR and deletes it, like a received SMS.
//
// A module that accepts neither gets ds=0 and no report is requested, so
// that reports never fill its storage unread; ReportMode says which.

// ReportMode is how the modem delivers status reports.
type ReportMode int

// Report modes, as chosen by Init.
const (
	ReportsNone   ReportMode = iota // the module takes neither ds=1 nor ds=2
	ReportsDirect                   // +CDS with the PDU (ds=1)
	ReportsStored                   // +CDSI with a storage index (ds=2)
)

func (r ReportMode) String() string {
	switch r {
	case ReportsDirect:
		return "direct (+CDS)"
	case ReportsStored:
		return "stored (+CDSI)"
	}
	return "none"
}

// StatusReport is one SMS-STATUS-REPORT: what the network knows of a
// message Tocsin submitted.
type StatusReport struct {
	// Ref is the TP-MR the network gave the submitted part (what
	// SendSMS returned); references wrap at 256, so match it together
	// with Recipient and the time of sending.
	Ref int
	// Recipient is the number the message was for ("+8190..." when
	// international).
	Recipient string
	// Status is TP-ST (TS 23.040 §9.2.3.15).
	Status int
	// SubmittedAt is the service centre's time stamp of the submission,
	// DoneAt the discharge time: when the handset took it (or the
	// service centre gave up).
	SubmittedAt, DoneAt time.Time
	// PDU is the TPDU as received (hex).
	PDU string
}

// Delivered reports whether the handset has the message (TP-ST 0x00 to
// 0x1F: "short message transaction completed").
func (r StatusReport) Delivered() bool { return r.Status < 0x20 }

// Final reports whether the network stopped trying: delivered, or a
// permanent error, or a temporary one it no longer retries (TP-ST 0x40 and
// up). TP-ST 0x20 to 0x3F mean the service centre is still trying.
func (r StatusReport) Final() bool { return r.Status < 0x20 || r.Status >= 0x40 }

// Reason describes the status in words, for the incident timeline.
func (r StatusReport) Reason() string {
	st := r.Status
	switch st {
	case 0x00:
		return "received by the handset"
	case 0x01:
		return "forwarded, delivery unconfirmed"
	case 0x02:
		return "replaced by the service centre"
	case 0x20:
		return "congestion, still trying"
	case 0x21:
		return "handset busy, still trying"
	case 0x22:
		return "no response from the handset, still trying"
	case 0x23:
		return "service rejected, still trying"
	case 0x24:
		return "quality of service not available, still trying"
	case 0x25:
		return "error in the handset, still trying"
	case 0x40:
		return "remote procedure error"
	case 0x41:
		return "incompatible destination"
	case 0x42:
		return "connection rejected by the handset"
	case 0x43:
		return "not obtainable"
	case 0x44:
		return "quality of service not available"
	case 0x45:
		return "no interworking available"
	case 0x46:
		return "validity period expired"
	case 0x47:
		return "deleted by the sender"
	case 0x48:
		return "deleted by the service centre"
	case 0x49:
		return "message does not exist"
	case 0x60:
		return "congestion, given up"
	case 0x61:
		return "handset busy, given up"
	case 0x62:
		return "no response from the handset, given up"
	case 0x63:
		return "service rejected, given up"
	case 0x64:
		return "quality of service not available, given up"
	case 0x65:
		return "error in the handset, given up"
	}
	switch {
	case st < 0x20:
		return fmt.Sprintf("delivered (status 0x%02X)", st)
	case st < 0x40:
		return fmt.Sprintf("temporary error 0x%02X, still trying", st)
	case st < 0x60:
		return fmt.Sprintf("permanent error 0x%02X", st)
	}
	return fmt.Sprintf("temporary error 0x%02X, given up", st)
}

// DecodeStatusReport decodes a status report PDU as the modem shows it in
// PDU mode: with the SMSC address first when withSMSC is set (stored
// reports read by AT+CMGR, and most +CDS lines), else the bare TPDU.
// tpduLen, when >= 0, is the <length> the modem gave (TPDU octets); octets
// beyond it are ignored. When withSMSC is set but the SMSC prefix does not
// fit tpduLen, the line is read as a bare TPDU: modules differ here.
func DecodeStatusReport(pduHex string, tpduLen int) (StatusReport, error) {
	pduHex = strings.ToUpper(strings.TrimSpace(pduHex))
	raw, err := hex.DecodeString(pduHex)
	if err != nil {
		return StatusReport{}, fmt.Errorf("modem: status report PDU: %w", err)
	}
	b := raw
	// With a length, TS 27.005 says it counts TPDU octets only, so any
	// surplus at the front is the SMSC address.
	if tpduLen >= 0 && len(raw) > tpduLen {
		if p, err := pdumode.UnmarshalBinary(raw); err == nil && len(p.TPDU) >= tpduLen {
			b = p.TPDU[:tpduLen]
		} else {
			b = raw[:tpduLen]
		}
	} else if tpduLen < 0 {
		if p, err := pdumode.UnmarshalBinary(raw); err == nil && len(p.TPDU) > 0 && p.TPDU[0]&0x03 == 0x02 {
			b = p.TPDU
		}
	}
	if len(b) == 0 {
		return StatusReport{}, fmt.Errorf("modem: status report PDU is empty")
	}
	t, err := sms.Unmarshal(b, sms.AsMT)
	if err != nil {
		return StatusReport{}, fmt.Errorf("modem: status report PDU: %w", err)
	}
	if t.SmsType() != tpdu.SmsStatusReport {
		return StatusReport{}, fmt.Errorf("modem: PDU is an %v, not an SMS-STATUS-REPORT", t.SmsType())
	}
	return StatusReport{
		Ref:         int(t.MR),
		Recipient:   t.RA.Number(),
		Status:      int(t.ST),
		SubmittedAt: t.SCTS.Time,
		DoneAt:      t.DT.Time,
		PDU:         strings.ToUpper(hex.EncodeToString(b)),
	}, nil
}

// OnStatusReport sets the handler for delivery reports. It runs on the URC
// dispatcher goroutine: it should hand the report on and return quickly.
func (m *Modem) OnStatusReport(h func(ctx context.Context, r StatusReport)) {
	m.smsMu.Lock()
	m.onReport = h
	m.smsMu.Unlock()
}

// ReportMode returns how this modem delivers status reports; ReportsNone
// before Init.
func (m *Modem) ReportMode() ReportMode { return ReportMode(m.reportMode.Load()) }

func (m *Modem) reportHandler() func(context.Context, StatusReport) {
	m.smsMu.Lock()
	defer m.smsMu.Unlock()
	return m.onReport
}

// handleCDS takes a "+CDS: <length>" URC joined with its PDU line by the
// reader ("+CDS: 25\n0791..."). Some modules send "+CDS: <fo>,<mr>,..." in
// text mode; Tocsin never uses text mode, so that is logged and dropped.
func (m *Modem) handleCDS(line string) {
	head, pdu, ok := strings.Cut(line, "\n")
	if !ok {
		m.log.Warn("+CDS without a PDU line", "line", line)
		return
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(head, "+CDS:")))
	if err != nil {
		n = -1
	}
	r, err := DecodeStatusReport(pdu, n)
	if err != nil {
		m.log.Warn("undecodable delivery report", "line", head, "pdu", pdu, "err", err)
		return
	}
	if h := m.reportHandler(); h != nil {
		h(m.ctx, r)
	}
}

// handleCDSI reads a stored report ("+CDSI: "SR",3"), hands it on and
// deletes it. Reports kept in a memory other than the one AT+CPMS selected
// for reading are read by switching to it for the one command.
func (m *Modem) handleCDSI(line string) {
	p := splitParams(strings.TrimSpace(strings.TrimPrefix(line, "+CDSI:")))
	if len(p) != 2 {
		m.log.Warn("bad +CDSI", "line", line)
		return
	}
	idx, err := strconv.Atoi(p[1])
	if err != nil || idx < 0 {
		m.log.Warn("bad +CDSI index", "line", line)
		return
	}
	ctx, cancel := context.WithTimeout(m.ctx, 3*m.opts.CommandTimeout)
	defer cancel()
	mem := strings.ToUpper(p[0])
	own := m.readMem()
	if mem != own {
		if _, err := m.Command(ctx, `AT+CPMS="`+mem+`"`); err != nil {
			m.log.Warn("selecting report storage", "mem", mem, "err", err)
			return
		}
		defer func() {
			if _, err := m.Command(ctx, `AT+CPMS="`+own+`"`); err != nil {
				m.log.Warn("restoring SMS storage", "mem", own, "err", err)
			}
		}()
	}
	info, err := m.Command(ctx, "AT+CMGR="+strconv.Itoa(idx))
	if err != nil {
		m.log.Warn("reading delivery report", "index", idx, "err", err)
		return
	}
	for i := 0; i+1 < len(info); i++ {
		rest, ok := strings.CutPrefix(info[i], "+CMGR:")
		if !ok {
			continue
		}
		p := splitParams(strings.TrimSpace(rest))
		n := -1
		if len(p) >= 3 {
			if v, err := strconv.Atoi(p[len(p)-1]); err == nil {
				n = v
			}
		}
		r, err := DecodeStatusReport(info[i+1], n)
		if err != nil {
			m.log.Warn("undecodable stored delivery report", "index", idx, "err", err)
			break
		}
		if h := m.reportHandler(); h != nil {
			h(m.ctx, r)
		}
		break
	}
	if _, err := m.Command(ctx, "AT+CMGD="+strconv.Itoa(idx)); err != nil {
		m.log.Warn("deleting delivery report", "index", idx, "err", err)
	}
}

// readMem is the storage Init selected for reading ("ME" or "SM").
func (m *Modem) readMem() string {
	m.smsMu.Lock()
	defer m.smsMu.Unlock()
	if m.mem == "" {
		return "ME"
	}
	return m.mem
}

// chooseReports sets AT+CNMI so that new messages are indicated by +CMTI
// and status reports reach Tocsin: directly (ds=1) where the module takes
// it, else stored with +CDSI (ds=2), else not at all.
func (m *Modem) chooseReports(ctx context.Context) error {
	for _, c := range []struct {
		cmd  string
		mode ReportMode
	}{
		{"AT+CNMI=2,1,0,1,0", ReportsDirect},
		{"AT+CNMI=2,1,0,2,0", ReportsStored},
		{"AT+CNMI=2,1,0,0,0", ReportsNone},
	} {
		_, err := m.Command(ctx, c.cmd)
		if err == nil {
			m.reportMode.Store(int32(c.mode))
			return nil
		}
		if !isFinalError(err) {
			return err // not answering: no point in trying the others
		}
	}
	return fmt.Errorf("modem: AT+CNMI refused in every form")
}

// srr asks for a status report on a submitted message (TP-SRR).
type srr struct{}

func (srr) ApplyTPDUOption(t *tpdu.TPDU) error {
	t.FirstOctet |= tpdu.FoSRR
	return nil
}

// isFinalError reports whether err is the module's answer (ERROR, +CME or
// +CMS ERROR) rather than silence or a closed port.
func isFinalError(err error) bool {
	var cme *CMEError
	var cms *CMSError
	return errors.Is(err, ErrError) || errors.As(err, &cme) || errors.As(err, &cms)
}

// storedReport reads a message from storage as a status report, if it is
// one (the SMS decoder refused it as not an SMS-DELIVER).
func (m *Modem) storedReport(msg InboundSMS) (StatusReport, bool) {
	if msg.DecodeErr == nil || msg.PDU == "" {
		return StatusReport{}, false
	}
	r, err := DecodeStatusReport(msg.PDU, len(msg.PDU)/2)
	return r, err == nil
}
