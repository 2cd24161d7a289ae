package phone_test

import "github.com/tocsin-relay/tocsin/modem"

// alwaysUp gives a fake modem at the edge the supervisor's side of
// phone.Modem: up from the start, never changing.
type alwaysUp struct{}

var upNow = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (alwaysUp) Ready() <-chan struct{}   { return upNow }
func (alwaysUp) Changed() <-chan struct{} { return nil } // never
func (alwaysUp) State() modem.State       { return modem.State{Up: true, OK: true} }
