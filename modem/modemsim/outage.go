package modemsim

import (
	"context"
	"time"
)

// Outage controls: what goes wrong with a modem in the field, for a while,
// so tests can check that pages wait for it and leave when it is back.
// Each returns at once; the outage ends by itself.

// UnplugFor simulates the modem dropping off the USB bus for d: the line
// hangs up now (Unplug), and until d has passed every port the client opens
// again is hung up too and nothing it writes is answered. After d the port
// works again on the same path, with storage and settings kept. ctx ending
// ends the outage early.
func (s *Sim) UnplugFor(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.unplugged = true
	s.mu.Unlock()
	if err := s.Unplug(); err != nil {
		return err
	}
	go func() {
		end := time.NewTimer(d)
		defer end.Stop()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
	wait:
		for {
			select {
			case <-t.C:
				_ = s.Unplug() // a client that reopened finds no device
			case <-end.C:
				break wait
			case <-ctx.Done():
				break wait
			}
		}
		s.mu.Lock()
		s.unplugged = false
		s.mu.Unlock()
	}()
	return nil
}

// SilentFor makes the modem stop answering for d: input is swallowed and
// nothing is replied, as a wedged module does (SetSilent for a while). A
// reboot ends it early.
func (s *Sim) SilentFor(d time.Duration) {
	s.SetSilent(true)
	time.AfterFunc(d, func() { s.SetSilent(false) })
}

// FailSends makes the next n AT+CMGS answer "+CMS ERROR: <cmsCode>" (with
// numeric or verbose errors on; "ERROR" otherwise).
func (s *Sim) FailSends(cmsCode, n int) {
	s.mu.Lock()
	s.failNext, s.failCount = cmsCode, n
	if n <= 0 {
		s.failNext, s.failCount = 0, 0
	}
	s.mu.Unlock()
}

// HoldSends holds the answer to every AT+CMGS (after the PDU) until release
// is called: the message is in the module, the client waits for "+CMGS".
// held receives a value each time an answer starts being held, so a test
// can kill the client in that moment. While an answer is held the sim reads
// nothing more, like a module busy with the network.
func (s *Sim) HoldSends() (held <-chan struct{}, release func()) {
	ch := make(chan struct{})
	h := make(chan struct{}, 16)
	s.mu.Lock()
	s.hold, s.held = ch, h
	s.mu.Unlock()
	return h, func() {
		s.mu.Lock()
		if s.hold == ch {
			s.hold = nil
		}
		s.mu.Unlock()
		close(ch)
	}
}

// SetAnswerDelay makes every command take d before it is answered, like a
// module busy after power-up: bring-up then takes noticeably long, so a
// test can page while the modem is still starting.
func (s *Sim) SetAnswerDelay(d time.Duration) {
	s.mu.Lock()
	s.answerDelay = d
	s.mu.Unlock()
}
