package email

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net"
	"net/mail"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/internal/needs"
	"github.com/tocsin-relay/tocsin/internal/testnet"

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
	addr, data, _ = smtpAuthServer(t, rcpt)
	return addr, data
}

// smtpAuthServer also offers AUTH PLAIN and LOGIN and accepts only
// tocsin/password; auth receives "mechanism user password" of each try.
func smtpAuthServer(t *testing.T, rcpt string) (addr string, data chan string, auth chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	data = make(chan string, 4)
	auth = make(chan string, 4)
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
						fmt.Fprint(c, "250-test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")
					case strings.HasPrefix(cmd, "AUTH PLAIN"):
						f := strings.Fields(strings.TrimSpace(line))
						b64 := ""
						if len(f) == 3 {
							b64 = f[2]
						} else {
							fmt.Fprint(c, "334 \r\n")
							l, _ := r.ReadString('\n')
							b64 = strings.TrimSpace(l)
						}
						raw, _ := base64.StdEncoding.DecodeString(b64)
						parts := strings.Split(string(raw), "\x00")
						if len(parts) != 3 {
							fmt.Fprint(c, "501 bad\r\n")
							continue
						}
						auth <- "PLAIN " + parts[1] + " " + parts[2]
						authAnswer(c, parts[1], parts[2])
					case strings.HasPrefix(cmd, "AUTH LOGIN"):
						fmt.Fprint(c, "334 "+base64.StdEncoding.EncodeToString([]byte("Username:"))+"\r\n")
						u, _ := r.ReadString('\n')
						fmt.Fprint(c, "334 "+base64.StdEncoding.EncodeToString([]byte("Password:"))+"\r\n")
						p, _ := r.ReadString('\n')
						user, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(u))
						pass, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(p))
						auth <- "LOGIN " + string(user) + " " + string(pass)
						authAnswer(c, string(user), string(pass))
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
	return ln.Addr().String(), data, auth
}

func authAnswer(c net.Conn, user, pass string) {
	if user == "tocsin" && pass == "password" {
		fmt.Fprint(c, "235 2.7.0 ok\r\n")
		return
	}
	fmt.Fprint(c, "535 5.7.8 bad credentials\r\n")
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
	addr := testnet.Addr(t)
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

// TestAuth: AUTH PLAIN and LOGIN with the real client; wrong credentials
// are a 535, which gives up.
func TestAuth(t *testing.T) {
	for _, mech := range []string{"plain", "login"} {
		for _, pw := range []string{"password", "wrong"} {
			addr, _, auth := smtpAuthServer(t, "250 ok")
			s, err := New(Config{Addr: addr, From: "tocsin@factory.lan", Username: "tocsin", Password: pw, Auth: mech, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			err = s.Send(context.Background(), message(true))
			if got, want := <-auth, strings.ToUpper(mech)+" tocsin "+pw; got != want {
				t.Errorf("server saw AUTH %q, want %q", got, want)
			}
			want := escalation.Verdict(0)
			if pw == "wrong" {
				want = escalation.GiveUp
			}
			if got := escalation.VerdictOf(err); got != want {
				t.Errorf("%s with %s: %s (%v), want %s", mech, pw, got, err, want)
			}
		}
	}
}

// TestTLSWithAiosmtpd: implicit TLS and STARTTLS into Debian's aiosmtpd
// with a certificate signed by the ca_file; a server whose certificate
// the sender does not trust is Wait (nothing was sent).
func TestTLSWithAiosmtpd(t *testing.T) {
	const py = "/usr/bin/python3"
	err := exec.Command(py, "-c", "import aiosmtpd").Run()
	needs.That(t, err == nil, "smtp", "python3-aiosmtpd is not installed (Debian package python3-aiosmtpd, .ci/packages.txt)")
	dir := t.TempDir()
	certFile, keyFile := selfSigned(t, dir)
	for _, mode := range []string{"tls", "starttls"} {
		addr := testnet.Addr(t)
		maildir := filepath.Join(dir, mode)
		args := []string{"-m", "aiosmtpd", "-n", "-l", addr, "-c", "aiosmtpd.handlers.Mailbox", maildir}
		if mode == "tls" {
			args = append(args, "--smtpscert", certFile, "--smtpskey", keyFile)
		} else {
			args = append(args, "--tlscert", certFile, "--tlskey", keyFile)
		}
		cmd := exec.Command(py, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		for i := 0; ; i++ {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if i == 200 {
				t.Fatalf("aiosmtpd not listening: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		cfg := Config{Addr: addr, From: "tocsin@factory.lan", TLS: mode == "tls", StartTLS: mode == "starttls", CAFile: certFile, Timeout: 10 * time.Second}
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Send(context.Background(), message(true)); err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		files, _ := filepath.Glob(filepath.Join(maildir, "new", "*"))
		if len(files) != 1 {
			t.Errorf("%s: %d messages in the Maildir, want 1", mode, len(files))
		}
		cfg.CAFile = ""
		untrusted, _ := New(cfg)
		if v := escalation.VerdictOf(untrusted.Send(context.Background(), message(true))); v != escalation.Wait {
			t.Errorf("%s with an untrusted certificate: %s, want wait", mode, v)
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mail.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}
