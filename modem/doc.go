// Package modem drives a cellular modem through its AT command port so that
// Tocsin can send and receive SMS (and, later, place voice calls) without any
// network service in the path.
//
// The engine sits on a plain io.ReadWriter, so a serial port opened with
// OpenSerial, a pseudo-terminal wired to modemsim, or any test stream plugs in
// the same way. One goroutine owns reading the port; public calls are
// synchronous, serialised, and take a context whose deadline they honour.
// Unsolicited result codes (URCs) are routed by prefix to handlers that run,
// in arrival order, on a separate dispatcher goroutine, so a handler may
// itself issue commands.
//
// SMS travel in PDU mode only. Text never reaches the modem as characters of
// an AT command line: it is encoded into an SMS-SUBMIT TPDU and sent as hex,
// which is what makes a summary such as "AT+CMGD=1,4" harmless.
//
// The package does not log. Errors are returned as values; modem failures are
// the types CMEError and CMSError, and Temporary reports whether retrying may
// help. Options.Trace receives the raw byte traffic for diagnosis.
package modem
