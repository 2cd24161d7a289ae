package httpapi

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Limits bound what clients can hold of the daemon, so that a slow or
// hostile client (or a thousand of them) cannot starve the monitoring
// systems that post alerts. On a Raspberry Pi every open connection costs
// a file descriptor, a goroutine and buffers; without limits 1,500
// slow-body connections stayed open for as long as their senders liked.
type Limits struct {
	// ReadHeaderTimeout is how long a client may take to send the
	// request line and headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout is how long it may take to send the whole request,
	// body included (at most MaxBody bytes): a slow body is cut here.
	ReadTimeout time.Duration
	// WriteTimeout is how long the answer may take, from the end of the
	// request headers. Event streams (text/event-stream, the console's
	// live updates) are exempt: each write of a stream moves the
	// deadline WriteTimeout (at least a minute) ahead, so a stream lasts
	// while the browser keeps reading and ends when it stops.
	WriteTimeout time.Duration
	// IdleTimeout is how long a kept-alive connection may wait for its
	// next request.
	IdleTimeout time.Duration
	// MaxConns caps the connections open at once; MaxConnsPerAddr caps
	// those from one client IP address. A connection beyond either cap
	// is answered 503 with Retry-After and closed at once (over TLS it is
	// closed without an answer, as no handshake has been made). Behind a
	// reverse proxy every client has the proxy's address: raise
	// MaxConnsPerAddr to MaxConns there.
	MaxConns        int
	MaxConnsPerAddr int
}

// DefaultLimits are sized for a Raspberry Pi serving a factory's
// monitoring systems and a few consoles: generous for honest clients
// (an alert is a few hundred bytes on a LAN), small enough that the
// daemon keeps its file descriptors and memory when something floods it.
func DefaultLimits() Limits {
	return Limits{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxConns:          256,
		MaxConnsPerAddr:   32,
	}
}

// Validate reports the first limit that cannot work.
func (l Limits) Validate() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"read_header_timeout", l.ReadHeaderTimeout}, {"read_timeout", l.ReadTimeout},
		{"write_timeout", l.WriteTimeout}, {"idle_timeout", l.IdleTimeout}} {
		if d.v <= 0 {
			return fmt.Errorf("%s must be positive, not %s", d.name, d.v)
		}
	}
	if l.MaxConns < 1 || l.MaxConnsPerAddr < 1 {
		return fmt.Errorf("max_connections (%d) and max_connections_per_address (%d) must be at least 1", l.MaxConns, l.MaxConnsPerAddr)
	}
	if l.MaxConnsPerAddr > l.MaxConns {
		return fmt.Errorf("max_connections_per_address (%d) is above max_connections (%d)", l.MaxConnsPerAddr, l.MaxConns)
	}
	return nil
}

// NewHTTPServer returns the server for h with l's timeouts. Serve it on a
// listener from LimitListener so that the connection caps apply too.
func NewHTTPServer(h http.Handler, l Limits, errorLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           streams(h, l.WriteTimeout),
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          errorLog,
	}
}

// streams lets event streams outlive the server's timeouts: once a
// handler answers text/event-stream, the connection's read deadline is
// lifted (the request was read; otherwise the server would cancel the
// request's context when it passed) and every write or flush moves the
// write deadline ahead, by writeTimeout but at least minStreamWrite, so
// that a stream's keep-alives (the console sends one every 15 s) always
// arrive before it. A browser that stops reading is cut at that deadline.
// Other answers keep both deadlines.
func streams(h http.Handler, writeTimeout time.Duration) http.Handler {
	timeout := max(writeTimeout, minStreamWrite)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&streamWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: timeout}, r)
	})
}

// minStreamWrite is the least time an event stream's next write is given.
const minStreamWrite = time.Minute

// streamWriter is owned by the request's goroutine.
type streamWriter struct {
	http.ResponseWriter
	rc          *http.ResponseController
	timeout     time.Duration
	wroteHeader bool
	stream      bool
}

func (w *streamWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.wroteHeader = true
		if strings.HasPrefix(w.Header().Get("Content-Type"), "text/event-stream") {
			w.stream = true
			w.rc.SetReadDeadline(time.Time{})
			w.extend()
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *streamWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.extend()
	return w.ResponseWriter.Write(b)
}

// FlushError is what http.ResponseController.Flush calls.
func (w *streamWriter) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.extend()
	return w.rc.Flush()
}

// Flush serves handlers that assert http.Flusher.
func (w *streamWriter) Flush() { w.FlushError() }

// Unwrap gives http.ResponseController the underlying writer.
func (w *streamWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *streamWriter) extend() {
	if w.stream {
		w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	}
}

// LimitListener applies l's connection caps to ln. Wrap the plain TCP
// listener, before any TLS: refusing costs no handshake. With answer503
// (plain HTTP) a refused connection is told 503 before it is closed.
func LimitListener(ln net.Listener, l Limits, answer503 bool) net.Listener {
	return &limitListener{Listener: ln, max: l.MaxConns, perAddr: l.MaxConnsPerAddr, answer: answer503, open: map[string]int{}}
}

// refusal is the whole answer to a connection beyond the caps.
var refusal = func() []byte {
	body := `{"error":"too many connections: try again shortly"}` + "\n"
	return fmt.Appendf(nil, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"+
		"Retry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}()

type limitListener struct {
	net.Listener
	max, perAddr int
	answer       bool

	mu    sync.Mutex     // guards total and open; taken by Accept and by closing connections
	total int            // connections accepted and not yet closed
	open  map[string]int // of total, per client IP address
}

// Accept returns the next connection within the caps; it answers and
// closes the others itself, so the server never sees them.
func (ln *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := hostOf(c.RemoteAddr())
		if ln.acquire(addr) {
			return &limitedConn{Conn: c, release: sync.OnceFunc(func() { ln.release(addr) })}, nil
		}
		if ln.answer {
			// A fresh socket's send buffer takes the few bytes at once;
			// the deadline only guards against a broken stack.
			c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			c.Write(refusal)
		}
		c.Close()
	}
}

func (ln *limitListener) acquire(addr string) bool {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	if ln.total >= ln.max || ln.open[addr] >= ln.perAddr {
		return false
	}
	ln.total++
	ln.open[addr]++
	return true
}

func (ln *limitListener) release(addr string) {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	ln.total--
	if ln.open[addr]--; ln.open[addr] <= 0 {
		delete(ln.open, addr)
	}
}

func hostOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// limitedConn gives its slot back once, when it is closed.
type limitedConn struct {
	net.Conn
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}
