package modem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warthog618/sms"
)

// Options configures a Modem. The zero value is usable.
type Options struct {
	// CommandTimeout bounds every command that has no tighter ctx deadline.
	// Default 10s.
	CommandTimeout time.Duration
	// SMSTimeout bounds one AT+CMGS exchange, which waits for the network.
	// Default 60s.
	SMSTimeout time.Duration
	// Trace, when set, receives every byte read and written, one line per
	// chunk ("r: ..." / "w: ..."), quoted so control bytes are visible.
	Trace io.Writer
	// Profile names the module family ("generic", "sim7600", "ec25",
	// "sim800"); empty or "auto" detects it from AT+CGMM/ATI during Init.
	Profile string
	// Logger receives failures that have no caller to return to: an inbound
	// SMS that could not be read or handled in a URC handler. Nil discards.
	Logger *slog.Logger
}

// Modem is an AT command engine on a byte stream. Its methods are safe for
// concurrent use; commands are serialised.
type Modem struct {
	rw   io.ReadWriter
	opts Options
	log  *slog.Logger

	sem chan struct{} // one command exchange at a time; held by the caller

	mu     sync.Mutex // guards active, urcs, pending URC queue, readErr
	active *exchange  // the command waiting for its answer; owned by the caller holding sem
	urcs   map[string]func(line string)
	queue  []string // URC lines not yet dispatched (unbounded: the reader never blocks)
	// cds holds a "+CDS: <length>" line until its PDU line arrives: the
	// two travel as one URC.
	cds  string
	wake chan struct{} // signals the dispatcher that queue grew
	rerr error         // why the reader stopped

	closeOnce sync.Once
	closed    chan struct{} // closed by Close
	readDone  chan struct{} // closed when the reader goroutine returns
	dispDone  chan struct{} // closed when the dispatcher goroutine returns
	ctx       context.Context
	cancel    context.CancelFunc

	traceMu sync.Mutex

	lastRx atomic.Int64 // UnixNano of the last byte read; written by the reader
	dirty  atomic.Bool  // a command timed out: its answer may still come; resync first

	enc *sms.Encoder // long-lived so TP-MR and concatenation references advance

	// inbound holds the storage indexes announced by +CMTI and not yet
	// read; guarded by smsMu. The dispatcher only appends to it: reading,
	// handing to onSMS and deleting run on the inbound goroutine, so a slow
	// handler (a database commit) never holds back RING, +CLIP or DTMF.
	inbound     []int
	inboundWake chan struct{} // signals the inbound goroutine that inbound grew
	inboundDone chan struct{} // closed when the inbound goroutine returns
	// inboundLock (a channel, so waiting on it is durably blocked) is held
	// while stored messages are read, handed to onSMS and deleted, by the
	// inbound goroutine or by ReadStored: storage has one reader at a time,
	// so a slot is deleted only after the message read from it was handed
	// over, never after a newer message took the slot.
	inboundLock chan struct{}

	smsMu  sync.Mutex // guards the handlers below, inbound, pin, inited, lastReinit
	onSMS  func(ctx context.Context, msg InboundSMS) error
	onCall func(ctx context.Context, number string)
	// onReport takes delivery reports (report.go).
	onReport func(ctx context.Context, r StatusReport)
	// mem is the storage Init selected ("ME" or "SM").
	mem string
	// Set by a successful Init, for re-init after a reboot.
	onReboot   func(ctx context.Context, err error)
	pin        string
	inited     bool
	lastReinit time.Time
	echoOff    atomic.Bool  // ATE0 succeeded: an echo now means a reboot
	reportMode atomic.Int32 // a ReportMode, chosen by Init

	callSem chan struct{} // one voice call at a time
	call    *callState    // the call in progress; guarded by mu
	profile Profile       // guarded by mu
}

// exchange is one command in flight. The reader goroutine fills it; the
// caller waits on done and prompt.
type exchange struct {
	cmd      string // for echo suppression and URC/answer disambiguation
	echo     string // a line to drop once if it comes back (echo before ATE0)
	info     []string
	done     chan error    // buffered(1): the final result
	prompt   chan struct{} // buffered(1): the "> " SMS prompt
	finished bool
	dial     bool // ATD: call-progress codes are its final result
}

// New starts a Modem on rw. It starts the reader goroutine (stopped by Close,
// or when a Read fails), the URC dispatcher goroutine and the inbound-SMS
// goroutine (both stopped by Close).
func New(rw io.ReadWriter, opts Options) *Modem {
	if opts.CommandTimeout <= 0 {
		opts.CommandTimeout = 10 * time.Second
	}
	if opts.SMSTimeout <= 0 {
		opts.SMSTimeout = 60 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Modem{
		rw:       rw,
		opts:     opts,
		log:      log,
		sem:      make(chan struct{}, 1),
		urcs:     map[string]func(string){},
		wake:     make(chan struct{}, 1),
		closed:   make(chan struct{}),
		readDone: make(chan struct{}),
		dispDone: make(chan struct{}),
		ctx:      ctx,
		cancel:   cancel,
		enc:      sms.NewEncoder(sms.AsSubmit),
		callSem:  make(chan struct{}, 1),

		inboundWake: make(chan struct{}, 1),
		inboundDone: make(chan struct{}),
		inboundLock: make(chan struct{}, 1),
	}
	m.profile = Profiles["generic"]
	if p, err := ProfileFor(opts.Profile); err == nil {
		m.profile = p
	}
	m.urcs["+CMTI:"] = m.handleCMTI
	m.urcs["+CLIP:"] = m.handleCLIP
	m.urcs["+CDS:"] = m.handleCDS
	m.urcs["+CDSI:"] = m.handleCDSI
	for _, p := range bootURCs {
		m.urcs[p] = m.handleBoot
	}
	m.urcs[echoBack] = m.handleBoot
	for _, p := range noticeURCs {
		m.urcs[p] = m.handleNotice
	}
	for _, p := range callURCs {
		m.urcs[p] = m.handleCallURC
	}
	go m.readLoop()
	go m.dispatchLoop()
	go m.inboundLoop()
	return m
}

// Close stops the Modem. Pending and later calls fail with ErrClosed. If the
// stream is an io.Closer it is closed, which ends the reader; otherwise the
// reader ends at the stream's next read error. Close waits for the URC
// dispatcher and the inbound-SMS goroutine (so a handler running now
// finishes first; its ctx is cancelled).
func (m *Modem) Close() error {
	var err error
	m.closeOnce.Do(func() {
		close(m.closed)
		m.cancel()
		if c, ok := m.rw.(io.Closer); ok {
			err = c.Close()
			<-m.readDone
		}
		<-m.dispDone
		<-m.inboundDone
	})
	return err
}

// Done is closed when the reader goroutine stopped: the port failed, or
// Close closed it. Err then says why.
func (m *Modem) Done() <-chan struct{} { return m.readDone }

// Err returns why the reader stopped, or nil while it runs.
func (m *Modem) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rerr
}

// HandleURC routes unsolicited lines starting with prefix (such as "RING"
// or "+CLIP:") to h. The longest matching prefix wins. Handlers run one at a
// time on the dispatcher goroutine, in the order the lines arrived, and may
// call the Modem's methods. A nil h removes the route.
//
// A line that also answers the command in flight (an AT+CREG? answered by
// "+CREG: 0,1") goes to the command, not to the handler.
func (m *Modem) HandleURC(prefix string, h func(line string)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if h == nil {
		delete(m.urcs, prefix)
		return
	}
	m.urcs[prefix] = h
}

// Command sends cmd (such as "AT+CSQ") and returns the information lines
// that came before the final result. A failure result is returned as an
// error: *CMEError, *CMSError, or one of the sentinels, wrapped with cmd.
func (m *Modem) Command(ctx context.Context, cmd string) ([]string, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.unlock()
	return m.command(ctx, cmd, m.opts.CommandTimeout)
}

func (m *Modem) lock(ctx context.Context) error {
	select {
	case <-m.closed:
		return ErrClosed
	default:
	}
	select {
	case m.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-m.closed:
		return ErrClosed
	}
}

func (m *Modem) unlock() { <-m.sem }

// command runs one exchange; the caller holds sem.
func (m *Modem) command(ctx context.Context, cmd string, timeout time.Duration) ([]string, error) {
	if strings.ContainsAny(cmd, "\r\n\x1a\x1b") {
		return nil, fmt.Errorf("modem: command %q contains a control character", cmd)
	}
	if m.dirty.Load() {
		if err := m.resync(ctx); err != nil {
			return nil, fmt.Errorf("%s: %w", strings.ToUpper(cmd), err)
		}
	}
	x := m.begin(cmd, cmd)
	defer m.end(x)
	if err := m.write(cmd + "\r"); err != nil {
		return nil, err
	}
	return m.wait(ctx, x, timeout)
}

func (m *Modem) begin(cmd, echo string) *exchange {
	x := &exchange{
		cmd:    strings.ToUpper(cmd),
		echo:   echo,
		done:   make(chan error, 1),
		prompt: make(chan struct{}, 1),
	}
	m.mu.Lock()
	m.active = x
	m.mu.Unlock()
	return x
}

func (m *Modem) end(x *exchange) {
	m.mu.Lock()
	if m.active == x {
		m.active = nil
	}
	m.mu.Unlock()
}

// wait waits for x's final result.
func (m *Modem) wait(ctx context.Context, x *exchange, timeout time.Duration) ([]string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err := <-x.done:
		m.mu.Lock()
		info := x.info
		m.mu.Unlock()
		if err != nil {
			return info, fmt.Errorf("%s: %w", x.cmd, err)
		}
		return info, nil
	case <-t.C:
		m.dirty.Store(true)
		return nil, fmt.Errorf("%s: no final result within %v: %w", x.cmd, timeout, ErrTimeout)
	case <-ctx.Done():
		m.dirty.Store(true)
		return nil, fmt.Errorf("%s: %w", x.cmd, ctx.Err())
	case <-m.readDone:
		return nil, fmt.Errorf("%s: %w", x.cmd, m.readErr())
	}
}

// waitPrompt waits for the "> " prompt of x.
func (m *Modem) waitPrompt(ctx context.Context, x *exchange, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-x.prompt:
		return nil
	case err := <-x.done:
		if err == nil {
			err = errors.New("final result OK instead of the > prompt")
		}
		return fmt.Errorf("%s: %w", x.cmd, err)
	case <-t.C:
		m.dirty.Store(true)
		return fmt.Errorf("%s: no > prompt within %v: %w", x.cmd, timeout, ErrTimeout)
	case <-ctx.Done():
		m.dirty.Store(true)
		return fmt.Errorf("%s: %w", x.cmd, ctx.Err())
	case <-m.readDone:
		return fmt.Errorf("%s: %w", x.cmd, m.readErr())
	}
}

func (m *Modem) readErr() error {
	select {
	case <-m.closed:
		return ErrClosed
	default:
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rerr != nil {
		return fmt.Errorf("%w: %w", ErrClosed, m.rerr)
	}
	return ErrClosed
}

func (m *Modem) write(s string) error {
	select {
	case <-m.closed:
		return ErrClosed
	case <-m.readDone:
		return m.readErr()
	default:
	}
	m.trace("w", []byte(s))
	if _, err := io.WriteString(m.rw, s); err != nil {
		return fmt.Errorf("modem: write: %w", err)
	}
	return nil
}

func (m *Modem) trace(dir string, b []byte) {
	if m.opts.Trace == nil {
		return
	}
	m.traceMu.Lock()
	defer m.traceMu.Unlock()
	fmt.Fprintf(m.opts.Trace, "%s: %s\n", dir, strconv.Quote(string(b)))
}

// readLoop is the only reader of the port. It never blocks on anything but
// Read: answers go into the active exchange, URCs onto the queue.
func (m *Modem) readLoop() {
	defer close(m.readDone)
	var sc scanner
	buf := make([]byte, 1024)
	var evs []event
	for {
		n, err := m.rw.Read(buf)
		if n > 0 {
			m.lastRx.Store(time.Now().UnixNano())
			m.trace("r", buf[:n])
			evs = sc.feed(buf[:n], evs[:0])
			for _, ev := range evs {
				m.route(ev)
			}
		}
		if err != nil {
			m.mu.Lock()
			m.rerr = err
			m.mu.Unlock()
			return
		}
	}
}

// route decides where one event goes.
func (m *Modem) route(ev event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	x := m.active
	if x != nil && x.finished {
		x = nil
	}
	if ev.prompt {
		if x != nil {
			select {
			case x.prompt <- struct{}{}:
			default:
			}
		}
		return
	}
	line := ev.line
	if m.cds != "" {
		// The PDU line of a "+CDS: <length>" URC.
		m.queue = append(m.queue, m.cds+"\n"+line)
		m.cds = ""
		select {
		case m.wake <- struct{}{}:
		default:
		}
		return
	}
	if x != nil && x.echo != "" && strings.EqualFold(line, x.echo) {
		x.echo = "" // drop the echo once
		if m.echoOff.Load() && !strings.HasPrefix(x.cmd, "AT+CMGS") {
			// Echo is back after ATE0: the module restarted.
			m.echoOff.Store(false)
			m.queue = append(m.queue, echoBack)
			select {
			case m.wake <- struct{}{}:
			default:
			}
		}
		return
	}
	if prefix := m.urcPrefix(line); prefix != "" {
		name := prefix // "+CPIN: READY" answers AT+CPIN? as well as "+CPIN:" does
		if i := strings.IndexByte(prefix, ':'); i >= 0 {
			name = prefix[:i]
		}
		name = strings.ToUpper(name)
		answer := x != nil && (strings.Contains(x.cmd, name) || x.dial && isCallProgress(line))
		if !answer && name == "+CDS" {
			m.cds = line // the PDU follows on the next line
			return
		}
		if !answer {
			m.queue = append(m.queue, line)
			select {
			case m.wake <- struct{}{}:
			default:
			}
			return
		}
	}
	if x == nil {
		return // a stray line: a late answer or noise
	}
	kind, err := parseFinal(line)
	if kind == notFinal {
		x.info = append(x.info, line)
		return
	}
	x.finished = true
	x.done <- err
}

// noticeURCs are unsolicited lines modules print that Tocsin does not act
// on; knowing them keeps them out of command answers.
var noticeURCs = []string{"RING", "+CRING:", "VOICE CALL:", "+CTTS:", "+QTTS:", "+QIND:", "+CGEV:",
	"+CUSD:", "+CPSI:", "+CNMP:", "UNDER-VOLTAGE", "OVER-VOLTAGE", "NORMAL POWER DOWN", "+CMTE:", "+QSIMSTAT:"}

// handleNotice reports power warnings, which explain reboots and lost
// messages; the other notices are dropped.
func (m *Modem) handleNotice(line string) {
	if strings.Contains(line, "VOLTAGE") || strings.Contains(line, "POWER DOWN") {
		m.log.Warn("modem power warning", "line", line)
	}
}

// urcPrefix returns the longest registered prefix of line; m.mu is held.
func (m *Modem) urcPrefix(line string) string {
	best := ""
	for p := range m.urcs {
		if len(p) > len(best) && strings.HasPrefix(line, p) {
			best = p
		}
	}
	return best
}

// dispatchLoop delivers URC lines to their handlers in arrival order.
func (m *Modem) dispatchLoop() {
	defer close(m.dispDone)
	for {
		m.mu.Lock()
		for len(m.queue) == 0 {
			m.mu.Unlock()
			select {
			case <-m.wake:
			case <-m.closed:
				return
			}
			m.mu.Lock()
		}
		line := m.queue[0]
		m.queue[0] = ""
		m.queue = m.queue[1:]
		h := m.urcs[m.urcPrefix(line)]
		m.mu.Unlock()
		select {
		case <-m.closed:
			return
		default:
		}
		if h != nil {
			h(line)
		}
	}
}

// Resync brings the command channel back into step after a timeout or when
// a previous user of the port may have left an exchange half done: it sends
// ESC (which leaves an SMS "> " prompt), waits until the modem has been
// quiet for a moment so that late answers are discarded, and checks that a
// plain "AT" is answered. Commands resync by themselves after a timeout.
func (m *Modem) Resync(ctx context.Context) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.unlock()
	return m.resync(ctx)
}

// Quiet period and attempts of resync. The quiet period is longer than the
// gap between the lines of one answer on any module we know.
const (
	resyncQuiet    = 200 * time.Millisecond
	resyncMaxDrain = 3 * time.Second
	resyncAttempts = 3
)

// resync runs with sem held.
func (m *Modem) resync(ctx context.Context) error {
	m.dirty.Store(false)
	var err error
	for range resyncAttempts {
		if err = m.write("\x1b"); err != nil {
			return err
		}
		if err = m.drain(ctx); err != nil {
			return err
		}
		x := m.begin("AT", "AT")
		if err = m.write("AT\r"); err == nil {
			_, err = m.wait(ctx, x, min(m.opts.CommandTimeout, 2*time.Second))
		}
		m.end(x)
		if err == nil || errors.Is(err, ErrClosed) || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		m.dirty.Store(true)
		return fmt.Errorf("resync: %w", err)
	}
	return nil
}

// drain waits until nothing has been read for resyncQuiet (at most
// resyncMaxDrain, should the line never go quiet).
func (m *Modem) drain(ctx context.Context) error {
	start := time.Now()
	m.lastRx.Store(start.UnixNano())
	for {
		quietFor := time.Since(time.Unix(0, m.lastRx.Load()))
		if quietFor >= resyncQuiet || time.Since(start) >= resyncMaxDrain {
			return nil
		}
		t := time.NewTimer(resyncQuiet - quietFor)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-m.readDone:
			t.Stop()
			return m.readErr()
		}
	}
}
