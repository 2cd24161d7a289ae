package phone

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/modem"
)

// wrapped is an error as the modem layer returns it: wrapped with the
// command and the part.
func wrapped(err error) error {
	return fmt.Errorf("modem: SMS to +819012345678 part 1/1: AT+CMGS=23: %w", err)
}

func TestClassifySMS(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want escalation.Verdict
	}{
		{"sent", nil, 0},
		{"modem down (supervisor recovering)", fmt.Errorf("%w: probe: timeout", modem.ErrModemDown), escalation.Wait},
		{"modem not up yet (starting)", fmt.Errorf("%w: not up yet", modem.ErrModemDown), escalation.Wait},
		{"no > prompt (silent modem)", wrapped(fmt.Errorf("%w: no > prompt within 10s: %w", modem.ErrNotSubmitted, modem.ErrTimeout)), escalation.Wait},
		{"port failed before the PDU (unplugged)", wrapped(fmt.Errorf("%w: %w", modem.ErrNotSubmitted, modem.ErrClosed)), escalation.Wait},
		{"port failed after the PDU", wrapped(modem.ErrClosed), escalation.Wait},
		{"no +CMGS answer after the PDU (may have left)", wrapped(fmt.Errorf("no final result within 60s: %w", modem.ErrTimeout)), escalation.Retry},
		{"deadline while sending", wrapped(context.DeadlineExceeded), escalation.Retry},
		{"plain ERROR", wrapped(modem.ErrError), escalation.Retry},
		{"+CMS ERROR: 500 unknown error (decided: an attempt)", wrapped(&modem.CMSError{Code: 500, Text: "unknown error"}), escalation.Retry},
		{"+CMS ERROR: 332 network timeout", wrapped(&modem.CMSError{Code: 332}), escalation.Retry},
		{"+CMS ERROR: 331 no network service", wrapped(&modem.CMSError{Code: 331}), escalation.Wait},
		{"+CMS ERROR: 310 SIM not inserted", wrapped(&modem.CMSError{Code: 310}), escalation.Wait},
		{"+CMS ERROR: 313 SIM failure", wrapped(&modem.CMSError{Code: 313}), escalation.Wait},
		{"+CMS ERROR: 314 SIM busy", wrapped(&modem.CMSError{Code: 314}), escalation.Wait},
		{"+CMS ERROR: 304 invalid PDU", wrapped(&modem.CMSError{Code: 304}), escalation.GiveUp},
		{"+CMS ERROR: 330 SMSC address unknown", wrapped(&modem.CMSError{Code: 330}), escalation.GiveUp},
		{"+CMS ERROR: 300 ME failure", wrapped(&modem.CMSError{Code: 300}), escalation.GiveUp},
		{"+CMS ERROR with unknown text", wrapped(&modem.CMSError{Code: -1, Text: "whatever"}), escalation.Retry},
		{"RP 1 unassigned number (rejected)", wrapped(&modem.CMSError{Code: 1}), escalation.GiveUp},
		{"RP 8 operator determined barring", wrapped(&modem.CMSError{Code: 8}), escalation.GiveUp},
		{"RP 21 short message transfer rejected", wrapped(&modem.CMSError{Code: 21}), escalation.GiveUp},
		{"RP 38 network out of order", wrapped(&modem.CMSError{Code: 38}), escalation.Retry},
		{"RP 41 temporary failure", wrapped(&modem.CMSError{Code: 41}), escalation.Retry},
		{"RP 42 congestion", wrapped(&modem.CMSError{Code: 42}), escalation.Retry},
		{"RP 47 resources unavailable", wrapped(&modem.CMSError{Code: 47}), escalation.Retry},
		{"RP 111 protocol error", wrapped(&modem.CMSError{Code: 111}), escalation.Retry},
		{"+CME ERROR: 30 no network service", wrapped(&modem.CMEError{Code: 30}), escalation.Wait},
		{"+CME ERROR: 10 SIM not inserted", wrapped(&modem.CMEError{Code: 10}), escalation.Wait},
		{"+CME ERROR: 31 network timeout", wrapped(&modem.CMEError{Code: 31}), escalation.Retry},
		{"+CME ERROR: 3 operation not allowed", wrapped(&modem.CMEError{Code: 3}), escalation.GiveUp},
		{"malformed number", errors.New(`modem: phone number "+81-90": '-' is not a digit`), escalation.GiveUp},
		{"empty text", errors.New("modem: SMS text is empty"), escalation.GiveUp},
	}
	for _, tt := range tests {
		if got := ClassifySMS(tt.err); got != tt.want {
			t.Errorf("%s: ClassifySMS(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestClassifyCall(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want escalation.Verdict
	}{
		{"placed", nil, 0},
		{"modem down", fmt.Errorf("%w: recovering", modem.ErrModemDown), escalation.Wait},
		{"modem not up yet (starting)", fmt.Errorf("%w: not up yet", modem.ErrModemDown), escalation.Wait},
		{"port failed (unplugged)", fmt.Errorf("ATD+819012345678;: %w", modem.ErrClosed), escalation.Wait},
		{"no answer from the module", fmt.Errorf("ATD: no final result within 55s: %w", modem.ErrTimeout), escalation.Retry},
		{"plain ERROR", fmt.Errorf("ATD: %w", modem.ErrError), escalation.Retry},
		{"+CME ERROR: 30 no network service", &modem.CMEError{Code: 30}, escalation.Wait},
		{"+CME ERROR: 32 emergency calls only", &modem.CMEError{Code: 32}, escalation.Wait},
		{"+CME ERROR: 13 SIM failure", &modem.CMEError{Code: 13}, escalation.Wait},
		{"+CME ERROR: 31 network timeout", &modem.CMEError{Code: 31}, escalation.Retry},
		{"+CME ERROR: 4 operation not supported", &modem.CMEError{Code: 4}, escalation.GiveUp},
		{"malformed number", errors.New(`modem: phone number "x": want digits`), escalation.GiveUp},
	}
	for _, tt := range tests {
		if got := ClassifyCall(tt.err); got != tt.want {
			t.Errorf("%s: ClassifyCall(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}
