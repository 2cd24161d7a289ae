package modemsim

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/modem"
	"go.bug.st/serial"
	"golang.org/x/sys/unix"
)

// client speaks raw AT to a Sim, the way a terminal user would. Its
// reader goroutine always drains the pipe, like a serial driver's buffer.
type client struct {
	t    *testing.T
	conn net.Conn

	mu   sync.Mutex
	buf  bytes.Buffer
	more chan struct{} // signalled when buf grows
}

func newClient(t *testing.T, s *Sim) *client {
	a, b := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(ctx, b)
	}()
	c := &client{t: t, conn: a, more: make(chan struct{}, 1)}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		p := make([]byte, 256)
		for {
			n, err := a.Read(p)
			c.mu.Lock()
			c.buf.Write(p[:n])
			c.mu.Unlock()
			select {
			case c.more <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		a.Close()
		b.Close()
		<-done
		<-readDone
	})
	return c
}

// send writes s and returns everything the sim answered up to and
// including want.
func (c *client) send(s, want string) string {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(s)); err != nil {
		c.t.Fatal(err)
	}
	return c.expect(want)
}

func (c *client) expect(want string) string {
	c.t.Helper()
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	for {
		c.mu.Lock()
		s := c.buf.String()
		if i := strings.Index(s, want); i >= 0 {
			i += len(want)
			c.buf.Reset()
			c.buf.WriteString(s[i:])
			c.mu.Unlock()
			return s[:i]
		}
		c.mu.Unlock()
		select {
		case <-c.more:
		case <-timeout.C:
			c.t.Fatalf("waiting for %q; got %q", want, s)
		}
	}
}

func TestEchoAndFraming(t *testing.T) {
	c := newClient(t, New(Options{}))
	if got := c.send("AT\r", "OK\r\n"); got != "AT\r\r\nOK\r\n" {
		t.Errorf("with echo: %q", got)
	}
	if got := c.send("ATE0\r", "OK\r\n"); got != "ATE0\r\r\nOK\r\n" {
		t.Errorf("ATE0: %q", got)
	}
	if got := c.send("AT+CGMM\r", "OK\r\n"); got != "\r\nSIMCOM_SIM7600G-H\r\n\r\nOK\r\n" {
		t.Errorf("without echo: %q", got)
	}
	if got := c.send("AT+FOO\r", "ERROR\r\n"); got != "\r\nERROR\r\n" {
		t.Errorf("unknown command: %q", got)
	}
	if got := c.send("hello\r", "ERROR\r\n"); got != "\r\nERROR\r\n" {
		t.Errorf("not a command: %q", got)
	}
}

func TestModels(t *testing.T) {
	for _, tc := range []struct{ model, manufacturer string }{
		{"SIMCOM_SIM7600G-H", "SIMCOM INCORPORATED"},
		{"EC25", "Quectel"},
		{"SIM800", "SIMCOM_Ltd"},
	} {
		c := newClient(t, New(Options{Model: tc.model}))
		c.send("ATE0\r", "OK\r\n")
		if got := c.send("AT+CGMI\r", "OK\r\n"); !strings.Contains(got, tc.manufacturer) {
			t.Errorf("%s: AT+CGMI %q", tc.model, got)
		}
		if got := c.send("ATI\r", "OK\r\n"); !strings.Contains(got, "Model: "+tc.model) {
			t.Errorf("%s: ATI %q", tc.model, got)
		}
	}
}

func submitPDU(t *testing.T, to, text string) (string, int) {
	t.Helper()
	a, b := net.Pipe()
	defer b.Close()
	m := modem.New(a, modem.Options{})
	defer m.Close()
	pdus, err := m.EncodeSubmit(to, text)
	if err != nil || len(pdus) != 1 {
		t.Fatalf("encode: %v (%d parts)", err, len(pdus))
	}
	return "00" + strings.ToUpper(hex.EncodeToString(pdus[0])), len(pdus[0])
}

func TestCMGS(t *testing.T) {
	s := New(Options{SendDelay: -1})
	c := newClient(t, s)
	c.send("ATE0\r", "OK\r\n")
	c.send("AT+CMEE=1\r", "OK\r\n")
	pdu, n := submitPDU(t, "+819012345678", "hello")

	if got := c.send(fmt.Sprintf("AT+CMGS=%d\r", n), "> "); got != "\r\n> " {
		t.Errorf("prompt: %q", got)
	}
	if got := c.send(pdu+"\x1a", "OK\r\n"); got != "\r\n+CMGS: 1\r\n\r\nOK\r\n" {
		t.Errorf("send: %q", got)
	}
	sent := <-s.Sent()
	if sent.To != "+819012345678" || sent.Text != "hello" || sent.Parts[0].Encoding != "gsm7" {
		t.Errorf("sent %+v", sent)
	}

	// The length must match the TPDU.
	c.send(fmt.Sprintf("AT+CMGS=%d\r", n+1), "> ")
	if got := c.send(pdu+"\x1a", "\r\n"+"+CMS ERROR: 304\r\n"); !strings.Contains(got, "304") {
		t.Errorf("wrong length: %q", got)
	}
	// Not hex.
	c.send(fmt.Sprintf("AT+CMGS=%d\r", n), "> ")
	c.send("XYZ\x1a", "+CMS ERROR: 304\r\n")
	// ESC cancels.
	c.send(fmt.Sprintf("AT+CMGS=%d\r", n), "> ")
	c.send(pdu[:6]+"\x1b", "OK\r\n")
	// FailNextSend fails once.
	s.FailNextSend(500)
	c.send(fmt.Sprintf("AT+CMGS=%d\r", n), "> ")
	c.send(pdu+"\x1a", "+CMS ERROR: 500\r\n")
	c.send(fmt.Sprintf("AT+CMGS=%d\r", n), "> ")
	c.send(pdu+"\x1a", "OK\r\n")
	if h := s.History(); len(h) != 2 {
		t.Errorf("history has %d messages, want 2", len(h))
	}
	// Text mode is refused for sending.
	c.send("AT+CMGF=1\r", "OK\r\n")
	c.send("AT+CMGS=5\r", "+CMS ERROR: 302\r\n")
}

func TestStorage(t *testing.T) {
	s := New(Options{})
	c := newClient(t, s)
	c.send("ATE0\r", "OK\r\n")
	if err := s.InjectSMS("+819012345678", "ack"); err != nil {
		t.Fatal(err)
	}
	c.expect("\r\n+CMTI: \"ME\",0\r\n")
	if err := s.InjectSMS("09011112222", "6"); err != nil {
		t.Fatal(err)
	}
	c.expect("\r\n+CMTI: \"ME\",1\r\n")

	got := c.send("AT+CMGR=0\r", "OK\r\n")
	lines := strings.Split(strings.TrimSpace(got), "\r\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "+CMGR: 0,,") || lines[2] != "" || lines[3] != "OK" || !strings.HasSuffix(got, "\r\n\r\nOK\r\n") {
		t.Fatalf("AT+CMGR: %q", got)
	}
	var tlen int
	fmt.Sscanf(lines[0], "+CMGR: 0,,%d", &tlen)
	msg := modem.DecodeStored(0, lines[1], tlen)
	if msg.DecodeErr != nil || msg.From != "+819012345678" || msg.Text != "ack" {
		t.Errorf("stored PDU decodes to %+v", msg)
	}
	if got := c.send("AT+CMGR=0\r", "OK\r\n"); !strings.HasPrefix(got, "\r\n+CMGR: 1,,") {
		t.Errorf("second read should be stat 1 (read): %q", got)
	}
	if got := c.send("AT+CMGL=4\r", "OK\r\n"); strings.Count(got, "+CMGL:") != 2 || !strings.Contains(got, "+CMGL: 1,0,,") {
		t.Errorf("AT+CMGL=4: %q", got)
	}
	c.send("AT+CMGD=0\r", "OK\r\n")
	if got := s.Stored(); len(got) != 1 || got[0] != 1 {
		t.Errorf("after CMGD=0: %v", got)
	}
	if got := c.send("AT+CMGR=0\r", "OK\r\n"); got != "\r\nOK\r\n" {
		t.Errorf("empty slot: %q", got)
	}
	c.send("AT+CMGD=0,4\r", "OK\r\n")
	if got := s.Stored(); len(got) != 0 {
		t.Errorf("after CMGD=0,4: %v", got)
	}
	msgs := s.Messages()
	if len(msgs) != 2 || msgs[0].Direction != "from-phone" || msgs[1].Number != "09011112222" {
		t.Errorf("Messages: %+v", msgs)
	}
}

func TestSilent(t *testing.T) {
	s := New(Options{})
	c := newClient(t, s)
	c.send("ATE0\r", "OK\r\n")
	s.SetSilent(true)
	c.conn.Write([]byte("AT\r"))
	// This write completes only once the sim has read (and dropped) the
	// line before; an empty line has no answer either way.
	c.conn.Write([]byte("\r"))
	s.SetSilent(false)
	// The command sent while silent is lost; the next one is answered.
	if got := c.send("AT+CSQ\r", "OK\r\n"); got != "\r\n+CSQ: 20,99\r\n\r\nOK\r\n" {
		t.Errorf("after silence: %q", got)
	}
}

func TestInjectLong(t *testing.T) {
	s := New(Options{})
	c := newClient(t, s)
	c.send("ATE0\r", "OK\r\n")
	if err := s.InjectSMS("+819012345678", strings.Repeat("a", 200)); err != nil {
		t.Fatal(err)
	}
	c.expect(`+CMTI: "ME",1`)
	if err := s.InjectSMS("bad", "x"); err == nil {
		t.Error("InjectSMS from a non-number accepted")
	}
	if err := s.InjectSMS("+8190", ""); err == nil {
		t.Error("empty InjectSMS accepted")
	}
}

// helperEnv makes the test binary act as a client that opens the port,
// starts a command and waits to be killed.
const helperEnv = "MODEMSIM_TEST_KILLED_CLIENT"

func TestMain(m *testing.M) {
	if path := os.Getenv(helperEnv); path != "" {
		p, err := serial.Open(path, &serial.Mode{BaudRate: 115200})
		if err != nil {
			fmt.Println("open:", err)
			os.Exit(1)
		}
		p.Write([]byte("AT+CMGS=20\r")) // leaves the sim at the SMS prompt
		var got []byte
		b := make([]byte, 64)
		for !bytes.Contains(got, []byte("> ")) {
			n, err := p.Read(b)
			if err != nil {
				os.Exit(1)
			}
			got = append(got, b[:n]...)
		}
		fmt.Println("ready")
		select {} // until SIGKILL
	}
	os.Exit(m.Run())
}

// A client killed with SIGKILL in the middle of an exchange leaves the
// port exclusive-locked and the sim at its SMS prompt; the next client
// still opens the port and gets a working modem with the same storage.
func TestPTYSurvivesKilledClient(t *testing.T) {
	sim, path, err := StartPTY(t.Context(), Options{SendDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.InjectSMS("+819012345678", "kept"); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 6)
	if _, err := out.Read(line); err != nil || string(line) != "ready\n" {
		t.Fatalf("helper: %q %v", line, err)
	}
	cmd.Process.Kill()
	cmd.Wait()

	// The exclusive flag the killed client set has been cleared.
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	excl, err := unix.IoctlGetInt(fd, unix.TIOCGEXCL)
	unix.Close(fd)
	if err != nil || excl != 0 {
		t.Errorf("TIOCGEXCL = %d, %v; want the sim to have cleared it", excl, err)
	}

	port, err := modem.OpenSerial(path, 115200)
	if err != nil {
		t.Fatal(err)
	}
	m := modem.New(port, modem.Options{CommandTimeout: 5 * time.Second})
	defer m.Close()
	if err := m.Init(t.Context(), ""); err != nil {
		t.Fatalf("Init after a killed client: %v", err)
	}
	got := make(chan string, 1)
	m.OnSMS(func(ctx context.Context, msg modem.InboundSMS) error {
		got <- msg.Text
		return nil
	})
	if err := m.ReadStored(t.Context()); err != nil {
		t.Fatal(err)
	}
	if text := <-got; text != "kept" {
		t.Errorf("stored message %q", text)
	}
}
