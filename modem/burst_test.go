package modem_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/modem"
	"github.com/tocsin-relay/tocsin/modem/modemsim"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// Many SMS in a row, more than the storage holds, while pages are sent and
// ReadStored runs: each is delivered, none is deleted unread.
func TestReceiveBurst(t *testing.T) {
	sim, path, err := modemsim.StartPTY(t.Context(), modemsim.Options{SendDelay: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	port, err := modem.OpenSerial(path, 115200)
	if err != nil {
		t.Fatal(err)
	}
	var trace syncBuf
	m := modem.New(port, modem.Options{CommandTimeout: 5 * time.Second, Trace: &trace})
	t.Cleanup(func() { m.Close() })
	if err := m.Init(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[string]int{}
	all := make(chan struct{})
	const n = 300
	m.OnSMS(func(ctx context.Context, msg modem.InboundSMS) error {
		time.Sleep(3 * time.Millisecond) // a database commit: the storage fills up
		mu.Lock()
		defer mu.Unlock()
		got[msg.Text]++
		if len(got) == n {
			close(all)
		}
		return nil
	})
	deleted := make(chan struct{}, 10000)
	sim.OnCommand(func(line string, _ time.Time) {
		if strings.HasPrefix(line, "AT+CMGD=") {
			deleted <- struct{}{}
		}
	})
	// ReadStored at the same time (the daemon runs it when the modem comes
	// up, and after a reboot): its listing goes stale as the inbound
	// goroutine deletes messages and new ones take their slots.
	stop := make(chan struct{})
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := m.ReadStored(t.Context()); err != nil && t.Context().Err() == nil {
				t.Error(err)
				return
			}
		}
	}()
	defer func() { close(stop); <-readDone }()
	go func() {
		for i := 0; i < 30; i++ {
			if _, err := m.SendSMS(t.Context(), "+819012345678", fmt.Sprintf("page %d", i)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := range n {
		for {
			err := sim.InjectSMS("+819012345678", fmt.Sprintf("junk %d", i))
			if err == nil {
				break
			}
			select {
			case <-deleted:
			case <-time.After(20 * time.Second):
				t.Fatalf("stuck at %d: storage %v", i, sim.Stored())
			}
		}
	}
	select {
	case <-all:
		mu.Lock()
		defer mu.Unlock()
		for text, n := range got {
			if n != 1 {
				t.Errorf("%q delivered %d times, want once", text, n)
			}
		}
	case <-time.After(30 * time.Second):
		mu.Lock()
		var missing []int
		for i := range n {
			if got[fmt.Sprintf("junk %d", i)] == 0 {
				missing = append(missing, i)
			}
		}
		mu.Unlock()
		trace.mu.Lock()
		tr := trace.b.String()
		trace.mu.Unlock()
		t.Fatalf("missing %v; storage %v\ntrace tail:\n%s", missing, sim.Stored(), tr[max(0, len(tr)-20000):])
	}
}
