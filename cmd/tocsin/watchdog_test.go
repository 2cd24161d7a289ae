package main

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// The watchdog pings systemd while the engine loop ticks, stops pinging
// while it is wedged (so systemd restarts the daemon), and resumes when it
// runs again. It talks to a real notify socket through go-systemd.
func TestWatchdogStopsWhenEngineWedged(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	msgs := make(chan string, 256)
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	var wedged atomic.Bool
	lastTick := func() time.Time {
		if wedged.Load() {
			return time.Now().Add(-time.Hour)
		}
		return time.Now()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchdogLoop(ctx, 100*time.Millisecond, 300*time.Millisecond, lastTick, slog.New(slog.DiscardHandler))
	}()
	next := func(within time.Duration) (string, bool) {
		select {
		case m := <-msgs:
			return m, true
		case <-time.After(within):
			return "", false
		}
	}
	for i := range 3 {
		if m, ok := next(2 * time.Second); !ok || m != "WATCHDOG=1" {
			t.Fatalf("ping %d: %q, %v", i, m, ok)
		}
	}
	wedged.Store(true)
	// A ping already on its way may still arrive; after that, silence.
	next(60 * time.Millisecond)
	if m, ok := next(500 * time.Millisecond); ok {
		t.Fatalf("wedged engine, but the watchdog still sent %q", m)
	}
	wedged.Store(false)
	if m, ok := next(2 * time.Second); !ok || m != "WATCHDOG=1" {
		t.Fatalf("after the engine ran again: %q, %v; want pings to resume", m, ok)
	}
	cancel()
	<-done
	for {
		m, ok := next(2 * time.Second)
		if !ok {
			t.Fatal("no STOPPING=1 at shutdown")
		}
		if m == "STOPPING=1" {
			break
		}
	}
}
