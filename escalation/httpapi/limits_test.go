package httpapi

import (
	"bufio"
	"errors"
	"fmt"
	"github.com/tocsin-relay/tocsin/internal/needs"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// limitedServer serves h on a loopback port with l's timeouts and caps,
// exactly as the daemon does.
func limitedServer(t *testing.T, h http.Handler, l Limits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := NewHTTPServer(h, l, nil)
	done := make(chan struct{})
	go func() { hs.Serve(LimitListener(ln, l, true)); close(done) }()
	t.Cleanup(func() { hs.Close(); <-done })
	return ln.Addr().String()
}

// shortLimits are DefaultLimits' caps with timeouts short enough for a
// test to watch them act.
func shortLimits() Limits {
	l := DefaultLimits()
	l.ReadHeaderTimeout, l.ReadTimeout, l.WriteTimeout, l.IdleTimeout = time.Second, 2*time.Second, 2*time.Second, 2*time.Second
	return l
}

// dialFrom connects to addr from the loopback address local (Linux
// routes all of 127.0.0.0/8 to lo), so a test can be several clients.
func dialFrom(local, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	return d.Dial("tcp", addr)
}

func clientFrom(local string) *http.Client {
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}).DialContext}}
}

// TestSlowConnectionsAreClosed opens 2,000 connections from one address
// that send headers and the first byte of a 100 kB body, then nothing, as
// a slowloris does. The server must close every one of them by itself (a
// 503 beyond the per-address cap, the read timeout for the others) and a
// client at another address must be answered meanwhile.
func TestSlowConnectionsAreClosed(t *testing.T) {
	needs.Long(t, "opens 2,000 connections")
	srv, _, _, _ := rolesServer(t)
	l := shortLimits()
	addr := limitedServer(t, srv, l)

	const n = 2000
	var (
		refused, cut, other atomic.Int64
		dialErrs            atomic.Int64
		dialers, waiters    sync.WaitGroup
	)
	start := time.Now()
	jobs := make(chan struct{})
	// 64 dialers at a time; each connection then waits on its own
	// goroutine for the server to end it (at most 30 s: the test's bound,
	// far above the 2 s read timeout).
	for range 64 {
		dialers.Go(func() {
			for range jobs {
				c, err := dialFrom("127.0.0.1", addr)
				if err != nil {
					dialErrs.Add(1)
					continue
				}
				waiters.Go(func() {
					defer c.Close()
					fmt.Fprintf(c, "POST /api/v1/alerts HTTP/1.1\r\nHost: tocsin\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
					c.SetReadDeadline(time.Now().Add(30 * time.Second))
					b, err := io.ReadAll(c)
					var ne net.Error
					switch {
					case errors.As(err, &ne) && ne.Timeout():
						other.Add(1) // still open after 30 s: the failure this test is about
					case strings.HasPrefix(string(b), "HTTP/1.1 503"):
						refused.Add(1)
					default:
						cut.Add(1) // EOF or reset, with or without a 4xx
					}
				})
			}
		})
	}

	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	dialers.Wait()
	// While the slow connections hold their slots, another client is
	// served.
	resp, err := clientFrom("127.0.0.2").Get("http://" + addr + "/healthz")
	if err != nil {
		t.Errorf("a normal request from another address during the flood: %v", err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("a normal request from another address during the flood: status %d", resp.StatusCode)
		}
	}
	waiters.Wait()
	t.Logf("%d slow connections: %d refused with 503, %d closed by the read timeout, %d dial errors, %d left open; all ended after %s",
		n, refused.Load(), cut.Load(), dialErrs.Load(), other.Load(), time.Since(start).Round(time.Millisecond))
	if other.Load() != 0 {
		t.Errorf("%d slow connections were still open after 30 s", other.Load())
	}
	if refused.Load()+cut.Load()+dialErrs.Load() != n {
		t.Errorf("accounted for %d of %d connections", refused.Load()+cut.Load()+dialErrs.Load(), n)
	}
	if refused.Load() == 0 || cut.Load() == 0 {
		t.Errorf("want both refusals beyond the per-address cap and timeouts within it")
	}
	// Once the flood is over, the address that sent it is served again.
	resp, err = clientFrom("127.0.0.1").Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("after the flood: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after the flood: status %d", resp.StatusCode)
	}
}

// TestConnectionCapsAnswer503: beyond the per-address cap, and beyond the
// total cap, a new connection is answered 503 with Retry-After and closed;
// when a connection closes its slot is free again.
func TestConnectionCapsAnswer503(t *testing.T) {
	l := shortLimits()
	l.MaxConns, l.MaxConnsPerAddr = 3, 2
	l.IdleTimeout = time.Minute
	addr := limitedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	}), l)

	hold := func(local string) net.Conn {
		t.Helper()
		c, err := dialFrom(local, addr)
		if err != nil {
			t.Fatal(err)
		}
		// A request answered proves the server took the connection.
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: tocsin\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("held connection from %s: %v", local, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("held connection from %s: %d", local, resp.StatusCode)
		}
		return c
	}
	refusedFrom := func(local string) {
		t.Helper()
		c, err := dialFrom(local, addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("connection from %s beyond the cap: %v, want a 503", local, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" ||
			!strings.Contains(string(body), "too many connections") {
			t.Errorf("beyond the cap from %s: %d %v %q", local, resp.StatusCode, resp.Header, body)
		}
	}
	a1, a2 := hold("127.0.0.1"), hold("127.0.0.1")
	refusedFrom("127.0.0.1") // per address
	b1 := hold("127.0.0.3")
	refusedFrom("127.0.0.4") // in total
	a1.Close()
	// The server notices the close on its next read; wait for the slot.
	var got *http.Response
	for range 100 {
		resp, err := clientFrom("127.0.0.4").Get("http://" + addr + "/")
		if err == nil && resp.StatusCode == http.StatusOK {
			got = resp
			resp.Body.Close()
			break
		}
		if err == nil {
			resp.Body.Close()
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got == nil {
		t.Error("a closed connection's slot was not given back")
	}
	a2.Close()
	b1.Close()
}

// TestEventStreamOutlivesTimeouts: an event stream keeps going for longer
// than the read and write timeouts while the client reads it; a plain
// answer that takes longer than the write timeout is cut.
func TestEventStreamOutlivesTimeouts(t *testing.T) {
	l := shortLimits() // read and write timeouts of 2 s
	mux := http.NewServeMux()
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		for i := range 10 {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
			fmt.Fprintf(w, "event: tick\ndata: %d\n\n", i)
			if rc.Flush() != nil {
				return
			}
		}
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(3 * time.Second) // beyond the write timeout
		fmt.Fprintln(w, "too late")
	})
	addr := limitedServer(t, mux, l)

	resp, err := http.Get("http://" + addr + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("stream cut after %q: %v", b, err)
	}
	if got := strings.Count(string(b), "event: tick"); got != 10 {
		t.Errorf("got %d of 10 events over 5 s with 2 s timeouts:\n%s", got, b)
	}

	// A fresh connection: the transport retries a GET that failed on a
	// reused one, which would only repeat the wait.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := fresh.Get("http://" + addr + "/slow"); err == nil {
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && strings.Contains(string(body), "too late") {
			t.Errorf("an answer later than the write timeout was delivered")
		}
	}
}
