package modemsim

import (
	"strings"
	"testing"
)

// The demo's simulated phone answers and presses keys by hand.
func TestInteractiveCall(t *testing.T) {
	s := New(Options{})
	c := newClient(t, s)
	c.send("ATE0\r", "OK\r\n")
	c.send("AT+DDET=1\r", "OK\r\n")
	if err := s.AnswerCall(); err == nil {
		t.Error("AnswerCall without a call accepted")
	}
	c.send("ATD+819012345678;\r", "OK\r\n")
	if rec, ok := s.ActiveCall(); !ok || rec.Number != "+819012345678" {
		t.Fatalf("ActiveCall %+v %v", rec, ok)
	}
	// Wait until it rings (dialing → alerting after 100ms), polling like a client.
	for !strings.Contains(c.send("AT+CLCC\r", "OK\r\n"), ",3,0,0,") {
	}
	if err := s.AnswerCall(); err != nil {
		t.Fatal(err)
	}
	if got := c.send("AT+CLCC\r", "OK\r\n"); !strings.Contains(got, `+CLCC: 1,0,0,0,0,"+819012345678",145`) {
		t.Errorf("CLCC after answer: %q", got)
	}
	if err := s.PressKey('x'); err == nil {
		t.Error("PressKey('x') accepted")
	}
	if err := s.PressKey('4'); err != nil {
		t.Fatal(err)
	}
	c.expect("+RXDTMF: 4\r\n")
	if err := s.HangUpCall(); err != nil {
		t.Fatal(err)
	}
	c.expect("NO CARRIER\r\n")
	rec := <-s.CallEnded()
	if !rec.Answered || rec.Keys != "4" || rec.Outcome != "answered" {
		t.Errorf("record %+v", rec)
	}
	if got := c.send("AT+CLCC\r", "OK\r\n"); strings.Contains(got, "+CLCC") {
		t.Errorf("call still listed: %q", got)
	}
}
