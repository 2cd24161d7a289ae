package modemsim

import "time"

// OnCommand calls fn with every command line the client sends, at the time
// its terminating CR arrived. Benchmarks use it to time the serial line
// (e.g. from an HTTP answer to the AT+CMGS that carries the page).
func (s *Sim) OnCommand(fn func(line string, at time.Time)) {
	s.mu.Lock()
	s.onCommand = fn
	s.mu.Unlock()
}
