package modemsim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// StartPTY creates a pseudo-terminal, serves AT on its master side until ctx
// is done, and returns the slave path for a client to open like a serial
// device (modem.OpenSerial).
//
// The sim keeps a slave descriptor open itself, for two reasons: the master
// then never reads EIO while no client is attached, so a client may close
// and reopen the port (a daemon killed with SIGKILL and restarted finds the
// same sim with the same storage); and it can clear the exclusive-open flag
// (TIOCEXCL) that serial libraries set and a killed client never clears,
// which would otherwise lock out an unprivileged restart. Exclusivity is
// therefore not enforced between clients of the simulator.
//
// The serving goroutine is owned by ctx: cancelling it closes both sides.
func StartPTY(ctx context.Context, opts Options) (*Sim, string, error) {
	s := New(opts)
	path, err := s.ServePTY(ctx)
	if err != nil {
		return nil, "", err
	}
	return s, path, nil
}

// ServePTY is StartPTY for an existing Sim.
func (s *Sim) ServePTY(ctx context.Context) (string, error) {
	master, slave, err := pty.Open()
	if err != nil {
		return "", fmt.Errorf("modemsim: opening a pseudo-terminal: %w", err)
	}
	if err := makeRaw(slave); err != nil {
		master.Close()
		slave.Close()
		return "", fmt.Errorf("modemsim: raw mode: %w", err)
	}
	p := &ptyStream{master: master, slave: slave, sfd: int(slave.Fd()), path: slave.Name()}
	s.mu.Lock()
	s.ptys = append(s.ptys, p)
	s.mu.Unlock()
	go func() {
		<-ctx.Done()
		p.close()
	}()
	go func() {
		_ = s.Serve(ctx, p) // ends when ctx closes the pty
		p.close()
	}()
	return slave.Name(), nil
}

// makeRaw turns off every translation and echo of the tty layer, so bytes
// pass unchanged in both directions (cfmakeraw).
func makeRaw(f *os.File) error {
	fd := int(f.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}

// ptyStream is the master side as the Sim sees it.
type ptyStream struct {
	master *os.File
	slave  *os.File // held open; see StartPTY
	sfd    int      // slave's descriptor, valid until closed
	path   string

	mu     sync.RWMutex // guards sfd use against close
	closed bool
}

// slaveIoctl runs f on the slave descriptor unless the pty is closed.
func (p *ptyStream) slaveIoctl(f func(fd int) error) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return os.ErrClosed
	}
	return f(p.sfd)
}

func (p *ptyStream) Read(b []byte) (int, error) {
	n, err := p.master.Read(b)
	for n == 0 && errors.Is(err, syscall.EIO) && !p.isClosed() {
		// No slave open for a moment (during Unplug): the line is down,
		// not the sim.
		time.Sleep(10 * time.Millisecond)
		n, err = p.master.Read(b)
	}
	if n > 0 {
		// A client is talking: clear the exclusive flag now, so that if it
		// dies without closing, the next client can still open the port.
		_ = p.slaveIoctl(func(fd int) error { return unix.IoctlSetInt(fd, unix.TIOCNXCL, 0) })
	}
	return n, err
}

// Write sends to the client in chunks the tty can take. Like a UART under
// flow control it waits while the client's input queue is full, but only for
// a while: output for a client that no longer reads (one killed, or not yet
// restarted) is dropped rather than blocking the sim, as a real module's
// URC buffer overflows.
func (p *ptyStream) Write(b []byte) (int, error) {
	const room = 3072 // of the tty's 4 KiB input queue
	written := 0
	stalled := time.Duration(0)
	for len(b) > 0 {
		var n int
		err := p.slaveIoctl(func(fd int) (err error) {
			n, err = unix.IoctlGetInt(fd, unix.TIOCINQ)
			return err
		})
		if err != nil {
			return written, err
		}
		free := room - n
		if free <= 0 {
			if stalled >= 2*time.Second {
				return written, errors.New("modemsim: client not reading, output dropped")
			}
			time.Sleep(2 * time.Millisecond) // the emulated line drains
			stalled += 2 * time.Millisecond
			continue
		}
		chunk := b[:min(free, len(b))]
		w, err := p.master.Write(chunk)
		written += w
		if err != nil {
			return written, err
		}
		b = b[w:]
		stalled = 0
	}
	return written, nil
}

func (p *ptyStream) isClosed() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.closed
}

// unplug hangs up every open descriptor of the slave (TIOCVHANGUP): the
// client's reads end and its writes fail, as when a USB modem drops off the
// bus. The sim then opens the slave again, so the same path works for the
// client's next open, like a re-enumerated device under its by-id name.
func (p *ptyStream) unplug() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return os.ErrClosed
	}
	if err := unix.IoctlSetInt(p.sfd, unix.TIOCVHANGUP, 0); err != nil {
		return fmt.Errorf("modemsim: hang up %s: %w", p.path, err)
	}
	p.slave.Close()
	slave, err := os.OpenFile(p.path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		p.closed = true
		p.master.Close()
		return fmt.Errorf("modemsim: reopen %s: %w", p.path, err)
	}
	if err := makeRaw(slave); err != nil {
		slave.Close()
		p.closed = true
		p.master.Close()
		return fmt.Errorf("modemsim: raw mode: %w", err)
	}
	p.slave, p.sfd = slave, int(slave.Fd())
	return nil
}

func (p *ptyStream) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	p.master.Close()
	p.slave.Close()
}

// Unplug simulates the modem dropping off the USB bus under an open port
// (a brown-out, a re-enumeration): the client's reads end and its writes
// fail, so it must close and reopen the port, which works at once on the
// same path. Storage and settings survive, as they do in the module. Only
// pseudo-terminals from StartPTY/ServePTY are affected.
func (s *Sim) Unplug() error {
	s.mu.Lock()
	ptys := slices.Clone(s.ptys)
	s.mu.Unlock()
	var errs []error
	for _, p := range ptys {
		if err := p.unplug(); err != nil && !errors.Is(err, os.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
