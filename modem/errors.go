package modem

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors. They are wrapped with the command that failed, so test
// with errors.Is.
var (
	// ErrTimeout means the modem gave no final result in time.
	ErrTimeout = errors.New("modem: timeout")
	// ErrClosed means the Modem was closed or its port failed.
	ErrClosed = errors.New("modem: closed")
	// ErrError is the plain "ERROR" final result (no code given).
	ErrError = errors.New("modem: ERROR")
	// ErrNoCarrier, ErrBusy, ErrNoAnswer and ErrNoDialtone are the call
	// progress final results.
	ErrNoCarrier  = errors.New("modem: NO CARRIER")
	ErrBusy       = errors.New("modem: BUSY")
	ErrNoAnswer   = errors.New("modem: NO ANSWER")
	ErrNoDialtone = errors.New("modem: NO DIALTONE")
	// ErrNotSubmitted wraps a send that failed before its message reached
	// the modem (no "> " prompt, the port failed): nothing can have left.
	// It is a fact, not a verdict: whether to wait, retry or give up is
	// decided by the caller (escalation/phone.ClassifySMS).
	ErrNotSubmitted = errors.New("modem: message not submitted")
)

// CMEError is a "+CME ERROR" final result: a failure of the mobile
// equipment or the SIM. With AT+CMEE=2 modems send text; Code is then looked
// up from the 3GPP TS 27.007 table, or -1 when the text is not in it.
type CMEError struct {
	Code int
	Text string
}

func (e *CMEError) Error() string {
	return fmt.Sprintf("+CME ERROR: %d (%s)", e.Code, e.Text)
}

// CMSError is a "+CMS ERROR" final result: a failure of the SMS service
// (3GPP TS 27.005 §3.2.5). Code is -1 when the modem sent unknown text.
type CMSError struct {
	Code int
	Text string
}

func (e *CMSError) Error() string {
	return fmt.Sprintf("+CMS ERROR: %d (%s)", e.Code, e.Text)
}

var cmeTexts = map[int]string{
	0: "phone failure", 3: "operation not allowed", 4: "operation not supported",
	10: "SIM not inserted", 11: "SIM PIN required", 12: "SIM PUK required",
	13: "SIM failure", 14: "SIM busy", 15: "SIM wrong", 16: "incorrect password",
	17: "SIM PIN2 required", 18: "SIM PUK2 required", 20: "memory full",
	21: "invalid index", 22: "not found", 23: "memory failure",
	24: "text string too long", 27: "dial string too long", 30: "no network service",
	31: "network timeout", 32: "network not allowed - emergency calls only",
	100: "unknown",
}

var cmsTexts = map[int]string{
	300: "ME failure", 301: "SMS service of ME reserved", 302: "operation not allowed",
	303: "operation not supported", 304: "invalid PDU mode parameter",
	305: "invalid text mode parameter", 310: "SIM not inserted", 311: "SIM PIN required",
	312: "PH-SIM PIN required", 313: "SIM failure", 314: "SIM busy", 315: "SIM wrong",
	316: "SIM PUK required", 320: "memory failure", 321: "invalid memory index",
	322: "memory full", 330: "SMSC address unknown", 331: "no network service",
	332: "network timeout", 340: "no +CNMA acknowledgement expected", 500: "unknown error",
}

// codeAndText reads the argument of a +CME/+CMS ERROR: a number or a text.
func codeAndText(arg string, table map[int]string) (int, string) {
	arg = strings.TrimSpace(arg)
	if n, err := strconv.Atoi(arg); err == nil {
		t, ok := table[n]
		if !ok {
			t = "code " + arg
		}
		return n, t
	}
	for code, t := range table {
		if strings.EqualFold(t, arg) {
			return code, arg
		}
	}
	return -1, arg
}
