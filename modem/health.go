package modem

import (
	"time"
)

// Health turns periodic Probe results into "is the modem usable, and since
// when not". It is pure: the caller passes the time, so decisions can be
// tested without a clock, and owns the schedule (every minute and after
// every error, per the design).
type Health struct {
	// Grace is how long the modem may be unusable before Down reports it
	// (the daemon then opens an incident on its own "tocsin" service).
	// Default 5 minutes.
	Grace time.Duration

	badSince time.Time // zero while healthy
	reason   string
}

// Observe records one probe (info and the error Probe returned, if any) at
// now. It returns whether the modem is usable right now and, if not, why.
func (h *Health) Observe(now time.Time, info Info, err error) (ok bool, reason string) {
	switch {
	case err != nil:
		reason = "modem not answering: " + err.Error()
	case info.SIM != "READY":
		reason = "SIM " + info.SIM
		if info.SIM == "" {
			reason = "SIM state unknown"
		}
	case !info.Registration.Registered():
		reason = "not registered (" + info.Registration.String() + ")"
	}
	if reason == "" {
		h.badSince, h.reason = time.Time{}, ""
		return true, ""
	}
	if h.badSince.IsZero() {
		h.badSince = now
	}
	h.reason = reason
	return false, reason
}

// Down reports whether the modem has been unusable for at least Grace at
// now, since when, and the latest reason.
func (h *Health) Down(now time.Time) (down bool, since time.Time, reason string) {
	grace := h.Grace
	if grace <= 0 {
		grace = 5 * time.Minute
	}
	if h.badSince.IsZero() {
		return false, time.Time{}, ""
	}
	return now.Sub(h.badSince) >= grace, h.badSince, h.reason
}
