package phone

import (
	"context"
	"errors"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/modem"
)

// The delivery contract (escalation/delivery.go) for the modem: what a
// failed SMS or call means for the page is decided here, in one function
// per channel, and nowhere else — not in the modem package (which reports
// facts: ErrNotSubmitted, *CMSError, ...) and not in the worker (which only
// reads the verdict). The rule of the contract: only an answer about the
// message itself (from the network, or a message the modem took and never
// answered for) is an attempt; a modem that is down, starting, unplugged,
// not registered or without a working SIM is not — the page waits for it.

// ClassifySMS says what a failed SendSMS means for the page.
//
//   - The modem is down or starting (ErrModemDown), the message never
//     reached it (ErrNotSubmitted: no "> " prompt, the port failed before
//     the PDU), or the port went away (ErrClosed): Wait.
//   - The modem took the PDU and gave no answer in time (ErrTimeout): Retry.
//     The message may have left, so this is an attempt; a duplicate is
//     better than a lost page.
//   - +CMS ERROR: see cmsVerdict. +CME ERROR: see cmeVerdict.
//   - A plain ERROR (a module not set to verbose errors): Retry.
//   - Anything else (a malformed number, an empty or unencodable text): GiveUp.
func ClassifySMS(err error) escalation.Verdict {
	if err == nil {
		return 0
	}
	var (
		cms *modem.CMSError
		cme *modem.CMEError
	)
	switch {
	case errors.Is(err, modem.ErrModemDown), errors.Is(err, modem.ErrNotSubmitted), errors.Is(err, modem.ErrClosed):
		return escalation.Wait
	case errors.As(err, &cms):
		return cmsVerdict(cms.Code)
	case errors.As(err, &cme):
		return cmeVerdict(cme.Code)
	case errors.Is(err, modem.ErrTimeout), errors.Is(err, context.DeadlineExceeded), errors.Is(err, modem.ErrError):
		return escalation.Retry
	}
	return escalation.GiveUp
}

// ClassifyCall says what a failed Call means for the page. Busy, no answer
// and a rejected call are outcomes, not errors (the worker fails the page
// on them and the incident moves on); an error is a modem that failed.
//
//   - The modem is down or starting, or its port went away: Wait.
//   - No answer from the module in time, or a plain ERROR: Retry.
//   - +CME ERROR: see cmeVerdict.
//   - Anything else (a malformed number): GiveUp.
func ClassifyCall(err error) escalation.Verdict {
	if err == nil {
		return 0
	}
	var cme *modem.CMEError
	switch {
	case errors.Is(err, modem.ErrModemDown), errors.Is(err, modem.ErrClosed):
		return escalation.Wait
	case errors.As(err, &cme):
		return cmeVerdict(cme.Code)
	case errors.Is(err, modem.ErrTimeout), errors.Is(err, context.DeadlineExceeded), errors.Is(err, modem.ErrError):
		return escalation.Retry
	}
	return escalation.GiveUp
}

// cmsVerdict reads a +CMS ERROR code (3GPP TS 27.005 §3.2.5; below 128 the
// RP cause of TS 24.011 §8.2.5.4, 128-255 the TP-FCS of TS 23.040).
func cmsVerdict(code int) escalation.Verdict {
	switch code {
	case 310, 311, 312, 313, 314, 315, 316, 317, 318:
		// No SIM, PIN/PUK needed, SIM failure or busy: the modem cannot
		// send anything. The health rule sees it; the page waits.
		return escalation.Wait
	case 331:
		// No network service: not registered. The page waits.
		return escalation.Wait
	case 332:
		// Network timeout: the network did not answer about this message.
		return escalation.Retry
	case 500:
		// "Unknown error" after the PDU was taken. Decided here, once: it
		// is an attempt, retried with backoff like any other. The message
		// may have left, but in the field a 500 mostly follows a failed
		// RP exchange, and a duplicate page is better than a lost one; the
		// attempt limit bounds the duplicates. (The modem used to resend
		// at once and the worker then refused to; both are gone.)
		return escalation.Retry
	case -1:
		// Text the 27.005 table does not know: assume temporary, bounded
		// by the attempt limit.
		return escalation.Retry
	}
	switch code {
	case 38, 41, 42, 47, 98, 111:
		// RP causes for a temporary network failure: network out of
		// order, temporary failure, congestion, resources unavailable,
		// message not compatible with the protocol state, protocol error.
		return escalation.Retry
	}
	// Every other RP cause (unassigned number, barred, unknown
	// subscriber, facility rejected, ...), the TP-FCS causes, a PDU the
	// modem refuses (304), an unknown SMSC address (330, a SIM that needs
	// configuring) and ME failures: the same message would fail again.
	return escalation.GiveUp
}

// cmeVerdict reads a +CME ERROR code (3GPP TS 27.007 §9.2).
func cmeVerdict(code int) escalation.Verdict {
	switch code {
	case 10, 11, 12, 13, 14, 15, 17, 18, 30, 32:
		// No SIM, PIN/PUK needed, SIM failure, busy or wrong; no network
		// service; emergency calls only: the modem cannot send. Wait.
		return escalation.Wait
	case 31, 100:
		// Network timeout, unknown: an attempt worth repeating.
		return escalation.Retry
	}
	return escalation.GiveUp
}
