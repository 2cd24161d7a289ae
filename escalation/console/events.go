package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// Live updates. Each open page holds one Server-Sent Events stream. The
// engine calls the subscription from its notifier goroutine, which must
// never wait for a browser, so changes go through a buffered channel and,
// when that is full, a "resync" flag that tells the page to reload its
// data once. The request's goroutine owns the stream and ends it when the
// browser goes away or the console is closed.

// incidentEvent is the data of an "incident" event.
type incidentEvent struct {
	ID       int64               `json:"id"`
	Status   escalation.Status   `json:"status"`
	Severity escalation.Severity `json:"severity"`
	Level    int                 `json:"level"`
	Summary  string              `json:"summary"`
}

const (
	keepAlive     = 15 * time.Second
	phonesPollGap = 500 * time.Millisecond
)

func (c *Console) handleEvents(w http.ResponseWriter, r *http.Request, rq request) {
	rc := http.NewResponseController(w)
	changes := make(chan escalation.Incident, 64)
	overflow := make(chan struct{}, 1)
	cancel := c.opts.Engine.Subscribe(func(inc escalation.Incident) {
		select {
		case changes <- inc:
		default:
			select {
			case overflow <- struct{}{}:
			default:
			}
		}
	})
	defer cancel()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(event string, data any) bool {
		b, _ := json.Marshal(data)
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil || !send("hello", map[string]string{"user": rq.sess.user}) {
		return
	}

	ka := time.NewTicker(keepAlive)
	defer ka.Stop()
	// The simulated phones have no change feed of their own; their
	// message count is looked at a few times a second.
	var poll <-chan time.Time
	seen := ""
	if c.opts.Phones != nil {
		t := time.NewTicker(phonesPollGap)
		defer t.Stop()
		poll = t.C
		seen = c.phonesState()
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-c.done:
			return
		case inc := <-changes:
			if !send("incident", incidentEvent{ID: inc.ID, Status: inc.Status, Severity: inc.Severity, Level: inc.Level, Summary: inc.Summary}) {
				return
			}
		case <-overflow:
			if !send("resync", struct{}{}) {
				return
			}
		case <-poll:
			if st := c.phonesState(); st != seen {
				seen = st
				if !send("phones", map[string]string{"state": st}) {
					return
				}
			}
		case <-ka.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}

// phonesState changes whenever the simulated phones have something new to
// show: a message, or a call ringing, answered, keyed or ended.
func (c *Console) phonesState() string {
	st := fmt.Sprintf("%d", len(c.opts.Phones.Messages()))
	if pc, ok := c.opts.Phones.(PhoneCalls); ok {
		if call, ok := pc.ActiveCall(); ok {
			st += fmt.Sprintf(" call %s %v %v %s", call.Number, call.Ringing, call.Answered, call.Keys)
		}
	}
	return st
}
