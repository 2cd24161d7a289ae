package modem_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tocsin-relay/tocsin/modem"
	"github.com/tocsin-relay/tocsin/modem/modemsim"
)

// port is a simulated serial line to sim: each Open gives a new pipe, like
// reopening /dev/serial/by-id/... after the module re-enumerated.
type port struct {
	sim   *modemsim.Sim
	mu    sync.Mutex
	opens int
	wg    sync.WaitGroup
	ends  []io.Closer
	dead  bool // Open fails: the USB device is gone
}

func (p *port) Open(ctx context.Context) (io.ReadWriteCloser, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead {
		return nil, errors.New("no such device")
	}
	p.opens++
	a, b := net.Pipe()
	p.ends = append(p.ends, b)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		_ = p.sim.Serve(context.Background(), b)
	}()
	return a, nil
}

func (p *port) close() {
	p.mu.Lock()
	for _, c := range p.ends {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func newLadder(t *testing.T, sim *modemsim.Sim) (*port, *modem.Ladder, *modem.Modem) {
	p := &port{sim: sim}
	t.Cleanup(p.close)
	l := &modem.Ladder{Open: p.Open, BootWait: 10 * time.Second}
	m, rung, err := l.Recover(t.Context(), nil)
	if err != nil || rung != modem.RungReopen {
		t.Fatalf("first open: %v %v", rung, err)
	}
	t.Cleanup(func() { m.Close() })
	return p, l, m
}

func TestLadder(t *testing.T) {
	tests := []struct {
		name  string
		fault func(sim *modemsim.Sim, p *port, m *modem.Modem)
		power bool
		want  modem.Rung
		took  time.Duration
	}{
		{name: "healthy", fault: func(*modemsim.Sim, *port, *modem.Modem) {}, want: modem.RungResync},
		{name: "stuck at the SMS prompt", want: modem.RungResync, fault: func(sim *modemsim.Sim, p *port, m *modem.Modem) {
			// A half-sent SMS: the module waits for PDU bytes.
			_, _ = m.Command(context.Background(), "AT+CMGS=20") // times out at the > prompt
		}},
		{name: "port failed", want: modem.RungReopen, fault: func(sim *modemsim.Sim, p *port, m *modem.Modem) {
			m.Close()
		}},
		{name: "SIM failure until restart", want: modem.RungRestart, fault: func(sim *modemsim.Sim, p *port, m *modem.Modem) {
			sim.SetSIMFailure(true)
		}},
		{name: "hung until power cycle", want: modem.RungPowerKey, power: true, fault: func(sim *modemsim.Sim, p *port, m *modem.Modem) {
			sim.SetSilent(true)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sim := modemsim.New(modemsim.Options{SendDelay: 10 * time.Millisecond})
				p, l, m := newLadder(t, sim)
				if tt.power {
					l.PowerKey = func(ctx context.Context) error { sim.PowerCycle(); return nil }
				}
				tt.fault(sim, p, m)
				m2, rung, err := l.Recover(t.Context(), m)
				if err != nil {
					t.Fatalf("Recover: %v", err)
				}
				defer m2.Close()
				if rung != tt.want {
					t.Errorf("recovered by %v, want %v", rung, tt.want)
				}
				// Exactly one SMS goes out afterwards.
				if _, err := m2.SendSMS(t.Context(), "+819012345678", "after "+tt.name); err != nil {
					t.Fatal(err)
				}
				if h := sim.History(); len(h) != 1 || h[0].Text != "after "+tt.name {
					t.Errorf("sim sent %+v", h)
				}
			})
		})
	}
}

func TestLadderGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := modemsim.New(modemsim.Options{})
		_, l, m := newLadder(t, sim)
		sim.SetSilent(true)
		start := time.Now()
		_, _, err := l.Recover(t.Context(), m)
		if !errors.Is(err, modem.ErrModemDown) {
			t.Fatalf("got %v, want ErrModemDown", err)
		}
		for _, rung := range []string{"resync", "reopen", "restart"} {
			if !strings.Contains(err.Error(), rung+":") {
				t.Errorf("error does not report the %s rung: %v", rung, err)
			}
		}
		t.Logf("gave up after %v: %v", time.Since(start), err)
	})
}

func TestLadderDeviceGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := modemsim.New(modemsim.Options{})
		p, l, m := newLadder(t, sim)
		p.mu.Lock()
		p.dead = true
		p.mu.Unlock()
		m.Close()
		calls := 0
		l.PowerKey = func(ctx context.Context) error {
			calls++
			p.mu.Lock()
			p.dead = false // the module comes back on the bus
			p.mu.Unlock()
			return nil
		}
		m2, rung, err := l.Recover(t.Context(), m)
		if err != nil || rung != modem.RungPowerKey || calls != 1 {
			t.Fatalf("got %v %v after %d pulses", rung, err, calls)
		}
		m2.Close()
	})
}

// A spontaneous reboot (boot lines) is noticed and Init re-run.
func TestRebootReinit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim, m := bubbleRig(t, modemsim.Options{}, modem.Options{})
		rebooted := make(chan error, 4)
		m.OnReboot(func(ctx context.Context, err error) { rebooted <- err })
		before := countCmd(sim, "ATE0")
		sim.Reboot()
		if err := <-rebooted; err != nil {
			t.Fatalf("re-init: %v", err)
		}
		if n := countCmd(sim, "ATE0"); n != before+1 {
			t.Errorf("ATE0 sent %d more times, want 1", n-before)
		}
		synctest.Wait()
		if len(rebooted) != 0 {
			t.Errorf("re-initialised %d more times for one boot", len(rebooted))
		}
		if _, err := m.SendSMS(t.Context(), "+819012345678", "after reboot"); err != nil {
			t.Fatal(err)
		}
	})
}

// A reboot whose boot lines were missed shows as echo coming back.
func TestRebootDetectedByEcho(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim, m := bubbleRig(t, modemsim.Options{}, modem.Options{})
		rebooted := make(chan error, 4)
		m.OnReboot(func(ctx context.Context, err error) { rebooted <- err })
		before := countCmd(sim, "ATE0")
		if _, err := m.Command(t.Context(), "ATE1"); err != nil { // as after a silent reset
			t.Fatal(err)
		}
		if _, err := m.Command(t.Context(), "AT+CSQ"); err != nil {
			t.Fatal(err)
		}
		if err := <-rebooted; err != nil {
			t.Fatalf("re-init: %v", err)
		}
		if n := countCmd(sim, "ATE0"); n != before+1 {
			t.Errorf("ATE0 sent %d more times, want 1 (re-init)", n-before)
		}
	})
}

func countCmd(sim *modemsim.Sim, c string) int {
	n := 0
	for _, x := range sim.Commands() {
		if x == c {
			n++
		}
	}
	return n
}

// Line noise between and inside answers does not break the exchange.
func TestGarbageOnTheLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim, m := bubbleRig(t, modemsim.Options{}, modem.Options{})
		for i, g := range []string{"\x00\xff\xfe", "\r\n\x1b[0m\r\n", "garbage\r\n", "\r\r\n\r\r\n", "+CSQ: 1,1\r\n", "> "} {
			sim.SendGarbage([]byte(g))
			lines, err := m.Command(t.Context(), "AT+CSQ")
			if err != nil {
				t.Fatalf("%d: %v", i, err)
			}
			if dbm, ok := modem.ParseCSQ(lines); !ok || dbm != -73 && dbm != -111 {
				t.Errorf("%d: %q", i, lines)
			}
		}
	})
}

// A send slower than SMSTimeout fails as temporary; the next exchange
// resyncs, so the late +CMGS answer cannot be taken for another reply.
func TestSlowSend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim, m := bubbleRig(t, modemsim.Options{}, modem.Options{SMSTimeout: 5 * time.Second})
		sim.SetSendDelay(8 * time.Second)
		_, err := m.SendSMS(t.Context(), "+819012345678", "slow")
		if !errors.Is(err, modem.ErrTimeout) {
			t.Fatalf("got %v", err)
		}
		sim.SetSendDelay(time.Second)
		refs, err := m.SendSMS(t.Context(), "+819012345678", "next")
		if err != nil || len(refs) != 1 {
			t.Fatalf("%v %v", refs, err)
		}
		h := sim.History()
		if len(h) != 2 || refs[0] != h[1].Parts[0].MR {
			t.Errorf("refs %v, history %+v", refs, h)
		}
	})
}
