package email

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/mail"
	"net/textproto"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

func TestClassify(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want escalation.Verdict
	}{
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, escalation.Wait},
		{"no such host", fmt.Errorf("dial failed: %w", &net.DNSError{Err: "no such host", Name: "mail.lan"}), escalation.Wait},
		{"unreachable", fmt.Errorf("dial failed: %w", syscall.EHOSTUNREACH), escalation.Wait},
		{"greylisted", &textproto.Error{Code: 451, Msg: "try later"}, escalation.Retry},
		{"auth failed", fmt.Errorf("dial failed: %w", &textproto.Error{Code: 535, Msg: "bad credentials"}), escalation.GiveUp},
		{"refused at banner", &textproto.Error{Code: 554, Msg: "go away"}, escalation.GiveUp},
		{"reset mid-way", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, escalation.Retry},
		{"eof", io.EOF, escalation.Retry},
	} {
		if got := Classify(tt.err); got != tt.want {
			t.Errorf("%s: Classify(%v) = %s, want %s", tt.name, tt.err, got, tt.want)
		}
	}
}

// smtpServer is a scripted SMTP server: it answers RCPT TO with rcpt and
// keeps the DATA it gets.
func smtpServer(t *testing.T, rcpt string) (addr string, data chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	data = make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				fmt.Fprint(c, "220 test ESMTP\r\n")
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					cmd := strings.ToUpper(strings.TrimSpace(line))
					switch {
					case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
						fmt.Fprint(c, "250-test\r\n250 8BITMIME\r\n")
					case strings.HasPrefix(cmd, "RCPT"):
						fmt.Fprint(c, rcpt+"\r\n")
					case cmd == "DATA":
						fmt.Fprint(c, "354 go on\r\n")
						var b bytes.Buffer
						for {
							l, err := r.ReadString('\n')
							if err != nil {
								return
							}
							if l == ".\r\n" {
								break
							}
							b.WriteString(l)
						}
						data <- b.String()
						fmt.Fprint(c, "250 queued\r\n")
					case cmd == "QUIT":
						fmt.Fprint(c, "221 bye\r\n")
						return
					default:
						fmt.Fprint(c, "250 ok\r\n")
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), data
}

func message(first bool) escalation.Message {
	return escalation.Message{
		Notification: escalation.Notification{ID: 7, Number: "tanaka@factory.example", Level: 1},
		Incident: escalation.Incident{ID: 42, Service: "press-line-1", Summary: "油圧低下", Severity: escalation.SevCritical,
			Status: escalation.Triggered, CreatedAt: time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)},
		Language: "ja", Event: escalation.EventPage, FirstInThread: first,
		AckURL: "http://tocsin.lan/a/ack", ResolveURL: "http://tocsin.lan/a/res",
	}
}

// TestSendVerdicts: the real go-mail client against a scripted server: a
// 4xx recipient answer is Retry, 5xx GiveUp, a closed port Wait.
func TestSendVerdicts(t *testing.T) {
	for _, tt := range []struct {
		rcpt string
		want escalation.Verdict
	}{
		{"250 ok", 0},
		{"450 mailbox busy", escalation.Retry},
		{"550 no such user", escalation.GiveUp},
	} {
		addr, data := smtpServer(t, tt.rcpt)
		s, err := New(Config{Addr: addr, From: "Tocsin <tocsin@factory.lan>", Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Send(context.Background(), message(true))
		if got := escalation.VerdictOf(err); got != tt.want {
			t.Errorf("RCPT %q: verdict %s (%v), want %s", tt.rcpt, got, err, tt.want)
		}
		if tt.want == 0 {
			if h := parse(t, <-data); h.Get("Message-Id") != "<"+s.ThreadID(message(true))+">" {
				t.Errorf("message lacks the thread's Message-ID: %v", h)
			}
		}
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	s, _ := New(Config{Addr: addr, From: "tocsin@factory.lan", Timeout: 5 * time.Second})
	err := s.Send(context.Background(), message(true))
	var de *escalation.DeliveryError
	if !errors.As(err, &de) || de.Verdict != escalation.Wait {
		t.Errorf("closed port: %v, want Wait", err)
	}
}

// TestThreadHeaders: the first e-mail of an incident carries the thread's
// Message-ID; later ones refer to it.
func TestThreadHeaders(t *testing.T) {
	s, err := New(Config{Addr: "mail.lan:25", From: "Tocsin <tocsin@factory.lan>"})
	if err != nil {
		t.Fatal(err)
	}
	root := s.ThreadID(message(true))
	render := func(first bool) string {
		msg, err := s.Build(message(first))
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if _, err := msg.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	first, later := parse(t, render(true)), parse(t, render(false))
	if first.Get("Message-Id") != "<"+root+">" || first.Get("In-Reply-To") != "" {
		t.Errorf("first e-mail: %v", first)
	}
	for h, want := range map[string]string{"In-Reply-To": "<" + root + ">", "References": "<" + root + ">", "Content-Language": "ja"} {
		if got := later.Get(h); got != want {
			t.Errorf("later e-mail %s = %q, want %q", h, got, want)
		}
	}
	if later.Get("Message-Id") == first.Get("Message-Id") {
		t.Errorf("later e-mail reuses the root Message-ID")
	}
	if subj, _ := new(mime.WordDecoder).DecodeHeader(later.Get("Subject")); subj != "[重大] #42 press-line-1: 油圧低下" {
		t.Errorf("subject %q", subj)
	}
}

// parse reads a message's header, unfolding folded lines.
func parse(t *testing.T, raw string) mail.Header {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	h := mail.Header{}
	for k, vs := range m.Header {
		for _, v := range vs {
			h[k] = append(h[k], strings.Join(strings.Fields(v), " "))
		}
	}
	return h
}
