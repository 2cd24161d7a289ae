package modemsim

import (
	"fmt"
	"strings"
	"time"

	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/pdumode"
	"github.com/warthog618/sms/encoding/tpdu"
)

// Report is what the simulated network says about the messages the client
// submits with a status report requested (TP-SRR).
type Report int

// Reports the sim can send.
const (
	// ReportDelivered: TP-ST 0x00, "received by the SME". The default.
	ReportDelivered Report = iota
	// ReportFailed: TP-ST 0x41, incompatible destination (permanent).
	ReportFailed
	// ReportNone: the network never reports.
	ReportNone
)

// SetReports chooses the reports for messages submitted from now on, and
// how long after the submission they arrive (negative: at once).
func (s *Sim) SetReports(r Report, after time.Duration) {
	s.mu.Lock()
	s.report, s.reportAfter = r, after
	s.mu.Unlock()
}

// statusReport sends (or stores) the status report for a part submitted
// with TP-SRR, as AT+CNMI's <ds> asks: 1 sends "+CDS: <length>" and the
// PDU, 2 stores it and announces "+CDSI", 0 keeps nothing.
func (s *Sim) statusReport(srr bool, to string, mr int) {
	s.mu.Lock()
	ds, r, after := s.cnmiDS, s.report, s.reportAfter
	s.mu.Unlock()
	if !srr || ds == 0 || r == ReportNone {
		return
	}
	st := byte(0x00)
	if r == ReportFailed {
		st = 0x41
	}
	send := func() {
		now := time.Now().Truncate(time.Second)
		ra := tpdu.NewAddress(tpdu.FromNumber(strings.TrimPrefix(to, "+")))
		if !strings.HasPrefix(to, "+") {
			ra.SetTypeOfNumber(tpdu.TonUnknown)
		}
		t := tpdu.TPDU{
			MR:   byte(mr),
			RA:   ra,
			SCTS: tpdu.Timestamp{Time: now},
			DT:   tpdu.Timestamp{Time: now},
			ST:   st,
		}
		_ = t.SetSmsType(tpdu.SmsStatusReport)
		b, err := t.MarshalBinary()
		if err != nil {
			return
		}
		smsc := pdumode.SMSCAddress{Address: tpdu.NewAddress(tpdu.FromNumber("+819020000000"))}
		h, err := (&pdumode.PDU{SMSC: smsc, TPDU: b}).MarshalHexString()
		if err != nil {
			return
		}
		h = strings.ToUpper(h)
		if ds == 1 {
			s.EmitURCs([]string{fmt.Sprintf("+CDS: %d", len(b)), h})
			return
		}
		s.mu.Lock()
		idx := -1
		for i := range capacity {
			if _, used := s.store[i]; !used {
				idx = i
				break
			}
		}
		if idx >= 0 {
			s.store[idx] = &stored{stat: 0, pdu: h, tlen: len(b)}
		}
		s.mu.Unlock()
		if idx >= 0 {
			s.urc(fmt.Sprintf(`+CDSI: "ME",%d`, idx))
		}
	}
	if after < 0 {
		send()
		return
	}
	time.AfterFunc(after, send)
}

// srrRequested reports whether a submitted TPDU asks for a status report.
func srrRequested(tp []byte) bool {
	t, err := sms.Unmarshal(tp, sms.AsMO)
	return err == nil && t.FirstOctet.SRR()
}

// cnmi answers AT+CNMI? and takes AT+CNMI=<mode>,<mt>,<bm>,<ds>,<bfr>,
// keeping <ds> (0, 1 or 2).
func (s *Sim) cnmi(w writer, ubody string) {
	if ubody == "+CNMI?" {
		s.mu.Lock()
		ds := s.cnmiDS
		s.mu.Unlock()
		s.reply(w, "OK", fmt.Sprintf("+CNMI: 2,1,0,%d,0", ds))
		return
	}
	p := strings.Split(strings.TrimPrefix(ubody, "+CNMI="), ",")
	ds := 0
	if len(p) >= 4 {
		switch strings.TrimSpace(p[3]) {
		case "", "0":
		case "1":
			if s.opts.OnlyStoredReports {
				s.cmsError(w, 303) // operation not supported
				return
			}
			ds = 1
		case "2":
			ds = 2
		default:
			s.cmsError(w, 303) // operation not supported
			return
		}
	}
	s.mu.Lock()
	s.cnmiDS = ds
	s.mu.Unlock()
	s.reply(w, "OK")
}
