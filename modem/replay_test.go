package modem_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/tocsin-relay/tocsin/modem"
)

type step struct {
	write bool // Tocsin writes (else the module answers)
	data  string
	line  int
}

func loadConversation(t *testing.T, name string) []step {
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var steps []step
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		dir, quoted, ok := strings.Cut(l, " ")
		data, err := strconv.Unquote(quoted)
		if !ok || err != nil || (dir != "w" && dir != "r") {
			t.Fatalf("%s:%d: want w or r and a quoted string: %q", name, n, l)
		}
		steps = append(steps, step{write: dir == "w", data: data, line: n})
	}
	return steps
}

// replay plays the module's side of a recorded conversation: it checks each
// write byte for byte and sends the answers that follow it.
func replay(conn net.Conn, name string, steps []step) error {
	buf := make([]byte, 512)
	var got []byte
	for i := 0; i < len(steps); i++ {
		s := steps[i]
		if !s.write {
			if _, err := conn.Write([]byte(s.data)); err != nil {
				return err
			}
			continue
		}
		for len(got) < len(s.data) {
			n, err := conn.Read(buf)
			if err != nil {
				return fmt.Errorf("%s:%d: waiting for %q: %v (got %q)", name, s.line, s.data, err, got)
			}
			got = append(got, buf[:n]...)
		}
		if string(got[:len(s.data)]) != s.data {
			return fmt.Errorf("%s:%d: Tocsin wrote %q, want %q", name, s.line, got, s.data)
		}
		got = got[len(s.data):]
	}
	if len(got) > 0 {
		return fmt.Errorf("%s: extra bytes written: %q", name, got)
	}
	return nil
}

func TestRecordedSIM800(t *testing.T) {
	const name = "testdata/sim800-init-sms.txt"
	steps := loadConversation(t, name)
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		replayed := make(chan error, 1)
		go func() { replayed <- replay(b, name, steps) }()
		m := modem.New(a, modem.Options{})
		defer func() {
			m.Close()
			b.Close()
		}()
		got := make(chan modem.InboundSMS, 1)
		m.OnSMS(func(ctx context.Context, msg modem.InboundSMS) error {
			got <- msg
			return nil
		})
		if err := m.Init(t.Context(), ""); err != nil {
			t.Fatalf("Init: %v", err)
		}
		if p := m.Profile().Name; p != "sim800" {
			t.Errorf("profile %s, want sim800", p)
		}
		refs, err := m.SendSMS(t.Context(), "+819012345678", "[#42 CRIT] press-line-1: Hydraulic pressure low")
		if err != nil || len(refs) != 1 || refs[0] != 17 {
			t.Fatalf("SendSMS: %v %v", refs, err)
		}
		msg := <-got
		if msg.From != "+31641600986" || msg.Text != "How are you?" || msg.Index != 1 {
			t.Errorf("received %+v", msg)
		}
		if err := <-replayed; err != nil {
			t.Fatal(err)
		}
	})
}
