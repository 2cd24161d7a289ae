package escalation

import (
	"errors"
	"fmt"
)

// The delivery contract, shared by every channel (SMS, voice, e-mail, push,
// webhooks), in the spirit of Alertmanager's notifier: a channel's send
// either succeeds or fails with an error that says what the failure means
// for the page. Each channel classifies its own errors in exactly one
// function (its Classify), so "retry or give up" is decided once per
// channel and the worker that drives the channel only reads the verdict.
//
// The three verdicts:
//
//   - Wait: the channel could not even try (the modem is down or
//     recovering, the SMTP server is unreachable). This is not an attempt:
//     the page waits in the outbox, uncounted, and leaves as soon as the
//     channel reports itself available again.
//   - Retry: the channel tried and the other side answered with a failure
//     worth trying again (a temporary network error). It counts as an
//     attempt and is retried with backoff.
//   - GiveUp: the channel tried and the other side refused for good (a
//     rejected number, a 4xx from a webhook). It counts as an attempt and the
//     page fails, which moves the incident to its next level at once.

// Verdict is what a failed send means for the page.
type Verdict int

// Verdicts, from the least to the most final.
const (
	// Wait: the channel is unavailable; not an attempt, the page waits.
	Wait Verdict = iota + 1
	// Retry: an attempt that is worth repeating after a backoff.
	Retry
	// GiveUp: an attempt that failed for good.
	GiveUp
)

func (v Verdict) String() string {
	switch v {
	case Wait:
		return "wait"
	case Retry:
		return "retry"
	case GiveUp:
		return "give up"
	}
	return fmt.Sprintf("verdict(%d)", int(v))
}

// DeliveryError is a failed send with its verdict. Channels return it (or
// an error wrapping it) so the worker need not know the channel's errors.
type DeliveryError struct {
	Verdict Verdict
	Err     error
}

func (e *DeliveryError) Error() string { return e.Err.Error() }

func (e *DeliveryError) Unwrap() error { return e.Err }

// VerdictOf returns the verdict carried by err: GiveUp for an error that
// carries none (an unclassified failure is not retried blindly), and 0 for
// nil.
func VerdictOf(err error) Verdict {
	if err == nil {
		return 0
	}
	var de *DeliveryError
	if errors.As(err, &de) {
		return de.Verdict
	}
	return GiveUp
}

// DeliveryStats are a channel's counters for the status document.
type DeliveryStats struct {
	Sent      int64  `json:"sent"`
	Failed    int64  `json:"failed"`
	LastError string `json:"last_error,omitempty"`
}
