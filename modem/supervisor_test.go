package modem_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tocsin-relay/tocsin/modem"
	"github.com/tocsin-relay/tocsin/modem/modemsim"
)

type supRig struct {
	sim    *modemsim.Sim
	port   *port
	sup    *modem.Supervisor
	states chan modem.State
	ups    chan *modem.Modem
	cancel context.CancelFunc
	done   chan error
}

func newSupRig(t *testing.T, power bool) *supRig {
	sim := modemsim.New(modemsim.Options{SendDelay: 50 * time.Millisecond})
	r := &supRig{sim: sim, port: &port{sim: sim}, states: make(chan modem.State, 1000), ups: make(chan *modem.Modem, 100), done: make(chan error, 1)}
	l := modem.Ladder{Open: r.port.Open, BootWait: 10 * time.Second}
	if power {
		l.PowerKey = func(ctx context.Context) error { sim.PowerCycle(); return nil }
	}
	r.sup = modem.NewSupervisor(modem.SupervisorConfig{
		Ladder:  l,
		OnUp:    func(ctx context.Context, m *modem.Modem) { r.ups <- m },
		OnState: func(s modem.State) { r.states <- s },
	})
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.sup.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-r.done; err != nil {
			t.Errorf("Run: %v", err)
		}
		r.port.close()
	})
	return r
}

// until reads states until one satisfies ok.
func (r *supRig) until(t *testing.T, what string, ok func(modem.State) bool) modem.State {
	t.Helper()
	for {
		select {
		case s := <-r.states:
			if ok(s) {
				return s
			}
		case <-time.After(time.Hour): // fake clock: only if nothing happens at all
			t.Fatalf("never %s; state %+v", what, r.sup.State())
		}
	}
}

func up(s modem.State) bool { return s.Up && s.OK }

func TestSupervisorStartsAndSends(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newSupRig(t, false)
		s := r.until(t, "up", up)
		if s.Info.Model != "SIMCOM_SIM7600G-H" || s.Rung != modem.RungReopen || s.Down {
			t.Errorf("state %+v", s)
		}
		<-r.ups
		if _, err := r.sup.SendSMS(t.Context(), callee, "hello"); err != nil {
			t.Fatal(err)
		}
		if got := (<-r.sim.Sent()).Text; got != "hello" {
			t.Errorf("sent %q", got)
		}
	})
}

func TestSupervisorPortFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newSupRig(t, false)
		r.until(t, "up", up)
		<-r.ups
		r.port.mu.Lock()
		r.port.ends[0].Close() // the USB device vanished under the open port
		r.port.mu.Unlock()
		<-r.ups // up again, through a new port
		s := r.until(t, "up again", up)
		if s.Rung != modem.RungReopen {
			t.Errorf("recovered by %v", s.Rung)
		}
		if _, err := r.sup.SendSMS(t.Context(), callee, "after"); err != nil {
			t.Fatal(err)
		}
	})
}

// A hung modem: the send fails (the caller keeps it), the supervisor climbs
// to the power key, and the retried send goes out exactly once.
func TestSupervisorHungModem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newSupRig(t, true)
		r.until(t, "up", up)
		<-r.ups
		r.sim.SetSilent(true)
		_, err := r.sup.SendSMS(t.Context(), callee, "page 1")
		if !errors.Is(err, modem.ErrTimeout) || !errors.Is(err, modem.ErrNotSubmitted) {
			t.Fatalf("send to a hung modem: %v, want a timeout before the PDU left", err)
		}
		for ch := r.sup.Changed(); r.sup.State().Up; ch = r.sup.Changed() {
			<-ch // the failed send made it probe: soon no longer up
		}
		_, err = r.sup.SendSMS(t.Context(), callee, "page 1")
		if !errors.Is(err, modem.ErrModemDown) {
			t.Fatalf("send while recovering: %v, want ErrModemDown", err)
		}
		<-r.sup.Ready() // woken when it is back, not by polling
		<-r.ups
		s := r.until(t, "up after power cycle", up)
		if s.Rung != modem.RungPowerKey {
			t.Errorf("recovered by %v", s.Rung)
		}
		if _, err := r.sup.SendSMS(t.Context(), callee, "page 1"); err != nil {
			t.Fatal(err)
		}
		if h := r.sim.History(); len(h) != 1 || h[0].Text != "page 1" {
			t.Errorf("sim sent %+v", h)
		}
	})
}

// No registration for 5 minutes makes the state Down (an incident on the
// tocsin service); registration back clears it.
func TestSupervisorHealthDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newSupRig(t, false)
		r.until(t, "up", up)
		r.sim.SetRegistration(2)
		_, err := r.sup.SendSMS(t.Context(), callee, "x") // fails and triggers a probe
		var cms *modem.CMSError
		if !errors.As(err, &cms) || cms.Code != 331 {
			t.Fatalf("send without network: %v", err)
		}
		lost := r.until(t, "not OK", func(s modem.State) bool { return !s.OK })
		if lost.Reason != "not registered (searching)" || lost.Down {
			t.Errorf("state %+v", lost)
		}
		down := r.until(t, "down", func(s modem.State) bool { return s.Down })
		if d := down.Since.Sub(lost.Since); d != 0 || time.Since(lost.Since) < 5*time.Minute {
			t.Errorf("down after %v", time.Since(lost.Since))
		}
		r.sim.SetRegistration(1)
		back := r.until(t, "back", func(s modem.State) bool { return s.OK && !s.Down })
		if !back.Up || back.Reason != "" {
			t.Errorf("state %+v", back)
		}
	})
}

func TestSupervisorNoModemAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newSupRig(t, false)
		r.port.mu.Lock()
		r.port.dead = true
		r.port.mu.Unlock()
		// The first open may already have happened; take the rig down by
		// closing the port, so every later open fails.
		r.port.mu.Lock()
		for _, c := range r.port.ends {
			c.Close()
		}
		r.port.mu.Unlock()
		s := r.until(t, "down", func(s modem.State) bool { return !s.Up && s.Down })
		if _, err := r.sup.SendSMS(t.Context(), callee, "x"); !errors.Is(err, modem.ErrModemDown) {
			t.Errorf("send with no modem: %v", err)
		}
		t.Logf("down: %s", s.Reason)
		r.port.mu.Lock()
		r.port.dead = false
		r.port.mu.Unlock()
		r.until(t, "up", up)
	})
}
