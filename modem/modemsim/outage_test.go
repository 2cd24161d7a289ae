package modemsim

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.bug.st/serial"
)

// FailSends fails exactly the next n submissions; HoldSends holds the
// answer to a submission until released.
func TestFailSendsAndHold(t *testing.T) {
	s := New(Options{SendDelay: -1})
	c := newClient(t, s)
	c.send("ATE0\r", "OK\r\n")
	c.send("AT+CMEE=1\r", "OK\r\n")
	pdu, n := submitPDU(t, "+819012345678", "hello")
	s.FailSends(500, 2)
	for range 2 {
		c.send(fmt.Sprintf("AT+CMGS=%d\r", n), "> ")
		c.send(pdu+"\x1a", "+CMS ERROR: 500\r\n")
	}
	held, release := s.HoldSends()
	c.send(fmt.Sprintf("AT+CMGS=%d\r", n), "> ")
	if _, err := c.conn.Write([]byte(pdu + "\x1a")); err != nil {
		t.Fatal(err)
	}
	<-held
	select {
	case m := <-s.Sent():
		t.Fatalf("answered while held: %+v", m)
	default:
	}
	release()
	c.expect("+CMGS: 1\r\n\r\nOK\r\n")
	if h := s.History(); len(h) != 1 {
		t.Errorf("history has %d messages, want the one after two failures", len(h))
	}
}

// SilentFor swallows input for a while, then answers again.
func TestSilentFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{})
		s.SilentFor(75 * time.Second)
		time.Sleep(74 * time.Second)
		s.mu.Lock()
		silent := s.silent
		s.mu.Unlock()
		if !silent {
			t.Fatal("answering again before the outage ended")
		}
		time.Sleep(2 * time.Second)
		s.mu.Lock()
		silent = s.silent
		s.mu.Unlock()
		if silent {
			t.Fatal("still silent after the outage")
		}
	})
}

// UnplugFor: the open port hangs up, a reopened port is hung up too and
// unanswered for the outage, and works again afterwards.
func TestUnplugFor(t *testing.T) {
	ctx := t.Context()
	s, path, err := StartPTY(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	open := func() serial.Port {
		p, err := serial.Open(path, &serial.Mode{BaudRate: 115200})
		if err != nil {
			t.Fatal(err)
		}
		p.SetReadTimeout(300 * time.Millisecond)
		return p
	}
	answer := func(p serial.Port) string {
		if _, err := p.Write([]byte("AT\r")); err != nil {
			return "write: " + err.Error()
		}
		var got []byte
		buf := make([]byte, 64)
		deadline := time.Now().Add(time.Second)
		for time.Now().Before(deadline) {
			n, err := p.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		return string(got)
	}
	p := open()
	if got := answer(p); got == "" {
		t.Fatal("no answer before the outage")
	}
	if err := s.UnplugFor(context.Background(), time.Second); err != nil {
		t.Fatal(err)
	}
	p.Close()
	p = open()
	if got := answer(p); containsOK(got) {
		t.Errorf("answered during the outage: %q", got)
	}
	p.Close()
	// The port answers again once the outage is over (each try takes
	// about a second, so this loop is not a busy wait).
	for try := 0; ; try++ {
		p = open()
		got := answer(p)
		p.Close()
		if containsOK(got) {
			break
		}
		if try == 10 {
			t.Fatalf("no answer 10 tries after a 1s outage: %q", got)
		}
	}
}

func containsOK(s string) bool { return strings.Contains(s, "OK") }
