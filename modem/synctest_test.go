package modem_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tocsin-relay/tocsin/modem"
	"github.com/tocsin-relay/tocsin/modem/modemsim"
)

// bubbleRig runs the simulator on an in-memory pipe inside a synctest
// bubble, so timeouts and the simulated network delay run on the fake clock.
func bubbleRig(t *testing.T, simOpts modemsim.Options, opts modem.Options) (*modemsim.Sim, *modem.Modem) {
	a, b := net.Pipe()
	sim := modemsim.New(simOpts)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = sim.Serve(ctx, b)
	}()
	m := modem.New(a, opts)
	t.Cleanup(func() {
		m.Close()
		cancel()
		b.Close()
		<-served
	})
	if err := m.Init(t.Context(), ""); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return sim, m
}

func TestTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim, m := bubbleRig(t, modemsim.Options{SendDelay: 150 * time.Millisecond}, modem.Options{CommandTimeout: 10 * time.Second})

		start := time.Now()
		if _, err := m.SendSMS(t.Context(), "+819012345678", "hello"); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 150*time.Millisecond {
			t.Errorf("SendSMS took %v, want the simulated 150ms network delay", d)
		}

		sim.SetSilent(true)
		start = time.Now()
		_, err := m.Command(t.Context(), "AT+CSQ")
		if !errors.Is(err, modem.ErrTimeout) {
			t.Errorf("silent modem: got %v, want ErrTimeout", err)
		}
		if d := time.Since(start); d != 10*time.Second {
			t.Errorf("timed out after %v, want CommandTimeout 10s", d)
		}

		// A tighter ctx deadline wins over CommandTimeout.
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		start = time.Now()
		_, err = m.Command(ctx, "AT+CSQ")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("gave up after %v, want the 2s deadline", d)
		}

		// After a timeout the next exchange first resyncs: three attempts
		// of ESC, 200ms quiet, AT with 2s to answer.
		start = time.Now()
		_, err = m.SendSMS(t.Context(), "+819012345678", "lost")
		if !errors.Is(err, modem.ErrTimeout) || time.Since(start) != 3*(200*time.Millisecond+2*time.Second) {
			t.Errorf("SendSMS to a silent modem: %v after %v", err, time.Since(start))
		}

		sim.SetSilent(false)
		if lines, err := m.Command(t.Context(), "AT+CSQ"); err != nil || len(lines) != 1 {
			t.Errorf("after recovery: %q %v", lines, err)
		}
	})
}

// A +CMTI that arrives while AT+CMGS waits for the network goes to the SMS
// handler; the send completes and the reply is read and deleted after it.
func TestURCDuringSend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim, m := bubbleRig(t, modemsim.Options{SendDelay: time.Second}, modem.Options{})
		got := make(chan modem.InboundSMS, 1)
		m.OnSMS(func(ctx context.Context, msg modem.InboundSMS) error {
			got <- msg
			return nil
		})
		sendErr := make(chan error, 1)
		go func() {
			_, err := m.SendSMS(t.Context(), "+819012345678", "page")
			sendErr <- err
		}()
		synctest.Wait() // the sim now sits in its 1s send delay
		if err := sim.InjectSMS("+819012345678", "4"); err != nil {
			t.Fatal(err)
		}
		if err := <-sendErr; err != nil {
			t.Fatalf("SendSMS: %v", err)
		}
		msg := <-got
		if msg.Text != "4" {
			t.Errorf("got %q", msg.Text)
		}
		synctest.Wait()
		if s := sim.Stored(); len(s) != 0 {
			t.Errorf("storage %v, want the handled reply deleted", s)
		}
	})
}

func TestCloseUnblocksCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim, m := bubbleRig(t, modemsim.Options{}, modem.Options{CommandTimeout: time.Hour})
		sim.SetSilent(true)
		errc := make(chan error, 1)
		go func() {
			_, err := m.Command(t.Context(), "AT")
			errc <- err
		}()
		synctest.Wait()
		m.Close()
		if err := <-errc; !errors.Is(err, modem.ErrClosed) {
			t.Errorf("pending command got %v, want ErrClosed", err)
		}
		if _, err := m.Command(t.Context(), "AT"); !errors.Is(err, modem.ErrClosed) {
			t.Errorf("command after Close got %v, want ErrClosed", err)
		}
	})
}

// The trace decorator shows the byte traffic, quoted, in both directions.
func TestTrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf strings.Builder
		_, m := bubbleRig(t, modemsim.Options{}, modem.Options{Trace: &buf})
		m.Close() // the reader has stopped: buf is ours
		got := buf.String()
		for _, want := range []string{`w: "ATE0\r"`, `w: "AT+CMGF=0\r"`, `r: "`, `\r\nOK\r\n`} {
			if !strings.Contains(got, want) {
				t.Errorf("trace lacks %s:\n%s", want, got)
			}
		}
	})
}

// A +CMTI for a message ReadStored is handing over right now does not
// deliver it a second time.
func TestNoDoubleDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim, m := bubbleRig(t, modemsim.Options{}, modem.Options{})
		if err := sim.InjectSMS("+819012345678", "4"); err != nil { // no handler yet: stays stored
			t.Fatal(err)
		}
		synctest.Wait()
		entered, release := make(chan struct{}), make(chan struct{})
		calls := 0
		m.OnSMS(func(ctx context.Context, msg modem.InboundSMS) error {
			calls++
			if calls == 1 {
				close(entered)
				<-release
			}
			return nil
		})
		done := make(chan error, 1)
		go func() { done <- m.ReadStored(t.Context()) }()
		<-entered
		sim.EmitURC(`+CMTI: "ME",0`) // the same message announced again
		synctest.Wait()
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if calls != 1 {
			t.Errorf("handler called %d times, want 1", calls)
		}
		if s := sim.Stored(); len(s) != 0 {
			t.Errorf("storage %v", s)
		}
	})
}

// A received SMS is read, handed over and deleted off the URC dispatcher:
// while the SMS handler is blocked (a database commit, say), a RING with
// +CLIP is still delivered to the incoming-call handler at once.
func TestRingWhileSMSHandlerBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim, m := bubbleRig(t, modemsim.Options{}, modem.Options{})
		entered, release := make(chan struct{}), make(chan struct{})
		m.OnSMS(func(ctx context.Context, msg modem.InboundSMS) error {
			close(entered)
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		})
		rang := make(chan string, 1)
		m.OnIncomingCall(func(ctx context.Context, number string) {
			select {
			case rang <- number:
			default:
			}
		})
		if err := sim.InjectSMS("+819012345678", "4"); err != nil {
			t.Fatal(err)
		}
		<-entered
		if err := sim.InjectCall(callee); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		select {
		case n := <-rang:
			if n != callee {
				t.Errorf("caller %q, want %q", n, callee)
			}
		default:
			t.Fatal("the RING was held back behind the SMS handler")
		}
		close(release)
		synctest.Wait()
		if s := sim.Stored(); len(s) != 0 {
			t.Errorf("storage %v after the handler returned, want the SMS deleted", s)
		}
	})
}
