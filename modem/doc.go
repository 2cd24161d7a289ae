// Package modem drives a cellular modem through its AT command port so that
// Tocsin can send and receive SMS and place voice calls without any network
// service in the path.
//
// The engine sits on a plain io.ReadWriter, so a serial port opened with
// OpenSerial, a pseudo-terminal wired to modemsim, or any test stream plugs in
// the same way. One goroutine owns reading the port; public calls are
// synchronous, serialised, and take a context whose deadline they honour.
// Unsolicited result codes (URCs) are routed by prefix to handlers that run,
// in arrival order, on a separate dispatcher goroutine, so a handler may
// itself issue commands.
//
// What it offers, from the bottom up:
//
//   - Command: one AT exchange; failures are *CMEError, *CMSError or the
//     sentinels (ErrTimeout, ErrError, ErrBusy, ...). Whether a failure is
//     worth retrying is not decided here but by the caller's delivery
//     contract (escalation.Verdict). After a timeout the next exchange resyncs first, so
//     a late answer is never taken for the next one.
//   - Init, Probe, Profile: bring-up, identity and health; profiles describe
//     the dialect of each module family (DTMF reports, speech).
//   - SendSMS, OnSMS, ReadStored: SMS in PDU mode only. Text never reaches
//     the modem as characters of an AT command line: it is encoded into an
//     SMS-SUBMIT TPDU and sent as hex, which is what makes a summary such
//     as "AT+CMGD=1,4" harmless; and it is cleaned first (CleanText), so no
//     control character but LF, and no ESC that would become the GSM escape
//     septet, is ever encoded. Received SMS are read, handed to OnSMS and
//     deleted on an inbound goroutine of their own, off the dispatcher, so a
//     slow handler never delays RING, +CLIP or DTMF lines.
//   - Call, OnIncomingCall, HangUp: voice pages with DTMF keys; busy, no
//     answer and rejection are outcomes, not errors.
//   - OnReboot, Resync, Restart, Ladder, Health, Supervisor: a modem that
//     never stays hung. The Supervisor runs the recovery ladder (resync,
//     reopen, AT+CFUN=1,1, power key) and probes health every minute.
//
// The package knows nothing of incidents and does not log, except failures
// that have no caller to return to (Options.Logger). Options.Trace receives
// the raw byte traffic for diagnosis.
package modem
