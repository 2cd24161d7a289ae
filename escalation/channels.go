package escalation

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Channels beyond the modem. Their outbox rows carry the recipient in
// Notification.Number: the e-mail address, the ntfy topic or the webhook
// id.
const (
	Email          Channel = "email"
	Push           Channel = "push"
	WebhookChannel Channel = "webhook" // a level's {webhook: id} or a stakeholder update
)

// Webhook formats.
const (
	FormatSlack   = "slack"   // Slack, Mattermost and Rocket.Chat incoming webhooks
	FormatTeams   = "teams"   // Microsoft Teams Workflows: an Adaptive Card
	FormatGeneric = "generic" // Tocsin's incident JSON, or template_file
)

// Webhook is an HTTP endpoint told about incidents: a chat channel, an MES,
// a ticketing system. As a level's target it is paged like a person (with
// acknowledge links); with Subscribe it is a stakeholder that hears every
// state change of those services without being a responder.
type Webhook struct {
	ID     string `json:"id" yaml:"id"`
	URL    string `json:"url" yaml:"url"`
	Format string `json:"format,omitempty" yaml:"format,omitempty"` // slack, teams or generic (default)
	// TemplateFile, for format generic, is a Go text/template that writes
	// the request body instead of the incident JSON.
	TemplateFile string `json:"template_file,omitempty" yaml:"template_file,omitempty"`
	// HeadersFile holds extra request headers, one "Name: value" a line
	// (an auth token kept out of the policy).
	HeadersFile string   `json:"headers_file,omitempty" yaml:"headers_file,omitempty"`
	Subscribe   []string `json:"subscribe,omitempty" yaml:"subscribe,omitempty"`
}

// Events a message can be about.
const (
	EventPage = "page" // a level paged the recipient
	// Stakeholder updates carry the incident's new status as their event:
	// "triggered", "acknowledged" or "resolved".
)

// Message is one outbox row made ready for a channel: the incident as it
// is now, who it goes to, in which language, and the links that act on it.
type Message struct {
	Notification          // the outbox row; Number is the recipient
	Incident     Incident // without timeline
	Contact      Contact  // zero for webhooks
	Webhook      Webhook  // for Channel Webhook
	Language     string   // "en" or "ja"
	// Event is EventPage or, for a stakeholder update, the new status.
	Event string
	// AckURL and ResolveURL act on the incident for this recipient (empty
	// without settings.public_url, and for stakeholder updates).
	AckURL, ResolveURL string
	// FirstInThread is true when no earlier message about this incident
	// reached this recipient on this channel (e-mail threading).
	FirstInThread bool
}

// Sender delivers messages on one channel. Send returns nil when the other
// side accepted the message, or an error whose Verdict (see DeliveryError)
// says what the failure means; the channel's Classify decides it.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, m Message) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, m Message) error { return f(ctx, m) }

// ChannelStore is the outbox as a channel worker sees it.
type ChannelStore interface {
	// ClaimChannel takes the next ready row of channel ch and marks it
	// sending, counting an attempt; ok is false when none is ready.
	ClaimChannel(ctx context.Context, ch Channel, now time.Time) (n Notification, ok bool, err error)
	// Release puts a claimed row back without counting the attempt (a
	// Wait verdict), to be tried again from retryAt; reason says why.
	Release(ctx context.Context, ids []int64, note string, retryAt, now time.Time) error
	// Finish records the outcome of a claimed row and its timeline line.
	Finish(ctx context.Context, ids []int64, o Outcome, now time.Time) error
	// SentBefore reports whether a row of channel ch to recipient about
	// incident was sent before row id.
	SentBefore(ctx context.Context, ch Channel, recipient string, incident, id int64) (bool, error)
	// NextChannelRetry is when the earliest held-back row of ch is ready.
	NextChannelRetry(ctx context.Context, ch Channel) (time.Time, bool, error)
}

// ChannelEngine is what a channel worker reads incidents from and moves
// them on with.
type ChannelEngine interface {
	Incident(ctx context.Context, id int64) (Incident, error)
	Escalate(ctx context.Context, id int64, by string) (Incident, error)
	Policy() *Policy
}

// LinkMaker issues acknowledge and resolve links for a page.
type LinkMaker interface {
	Links(ctx context.Context, base string, incident int64, recipient string, ch Channel, now time.Time) (ack, resolve string, err error)
}

// RetryBackoff is how long a page waits before its next try after the
// given number of failed tries (1, 2, ...): 5s, 10s, 20s … capped at ten
// minutes. Every channel worker uses it, for Retry and for Wait.
func RetryBackoff(tries int) time.Duration {
	const first, most = 5 * time.Second, 10 * time.Minute
	if tries < 1 {
		tries = 1
	}
	if tries > 8 {
		return most
	}
	return min(first<<(tries-1), most)
}

// DefaultMaxAttempts bounds the attempts (Retry verdicts) of one page.
const DefaultMaxAttempts = 5

// ChannelHealth is one channel's state for /api/v1/status and the console.
type ChannelHealth struct {
	Channel Channel `json:"channel"`
	// State: "ok" (last send worked or none tried), "retrying" (the last
	// send failed and will be tried again) or "down" (the channel could not
	// be reached; its pages wait).
	State       string     `json:"state"`
	Sent        int64      `json:"sent"`
	Failed      int64      `json:"failed"`
	Retries     int64      `json:"retries"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
	LastSentAt  *time.Time `json:"last_sent_at,omitempty"`
	// Queued counts the channel's rows waiting to be sent (filled in by
	// the status document from the store).
	Queued int `json:"queued"`
}

// ChannelWorker drives one channel: it claims that channel's outbox rows,
// prepares each (incident, language, links), hands it to the Sender and
// applies the verdict. Each channel has its own worker, so a channel that
// is down delays only its own pages, never the modem's or another
// channel's.
type ChannelWorker struct {
	ch     Channel
	sender Sender
	store  ChannelStore
	engine ChannelEngine
	links  LinkMaker
	log    *slog.Logger

	wake chan struct{}

	mu     sync.Mutex // guards health and waits; Run writes, Health reads
	health ChannelHealth
	waits  map[string]int // recipient → consecutive Wait verdicts
}

// NewChannelWorker returns the worker for channel ch.
func NewChannelWorker(ch Channel, s Sender, store ChannelStore, e ChannelEngine, links LinkMaker, log *slog.Logger) *ChannelWorker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &ChannelWorker{ch: ch, sender: s, store: store, engine: e, links: links, log: log,
		wake: make(chan struct{}, 1), health: ChannelHealth{Channel: ch, State: "ok"}, waits: map[string]int{}}
}

// Wake tells the worker that the outbox changed.
func (w *ChannelWorker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Health returns the channel's state.
func (w *ChannelWorker) Health() ChannelHealth {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.health
}

// Run sends the channel's rows until ctx ends.
func (w *ChannelWorker) Run(ctx context.Context) error {
	for {
		if ctx.Err() != nil {
			return nil
		}
		busy, err := w.sendOne(ctx, time.Now())
		if err != nil && ctx.Err() == nil {
			w.log.Error("outbox", "channel", w.ch, "err", err)
		}
		if busy && err == nil {
			continue
		}
		next, ok, err := w.store.NextChannelRetry(ctx, w.ch)
		if !IdleUntil(ctx, w.wake, next, ok && err == nil) {
			return nil
		}
	}
}

// IdleUntil is how every delivery worker waits when it has nothing to
// send now: until it is woken (the outbox changed), until next when known
// (a retry or a pacing turn comes due: nothing else wakes it then), or
// for a minute at most, so that a lost wake-up costs a minute, not a page.
// It reports false when ctx ended.
func IdleUntil(ctx context.Context, wake <-chan struct{}, next time.Time, known bool) bool {
	wait := time.Minute
	if known {
		wait = min(max(time.Until(next), 10*time.Millisecond), wait)
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-wake:
	case <-timer.C:
	}
	return true
}

// sendOne claims, sends and records one row; it reports whether there was
// one.
func (w *ChannelWorker) sendOne(ctx context.Context, now time.Time) (bool, error) {
	n, ok, err := w.store.ClaimChannel(ctx, w.ch, now)
	if err != nil || !ok {
		return false, err
	}
	m, err := w.prepare(ctx, n, now)
	if KindOf(err) == Unavailable {
		// The database was busy: not an attempt; try again shortly.
		return false, w.store.Release(context.WithoutCancel(ctx), []int64{n.ID}, err.Error(), now.Add(RetryBackoff(1)), now)
	}
	if err != nil {
		// The row cannot be made into a message (its incident or webhook
		// is gone): nothing to retry.
		return true, w.store.Finish(ctx, []int64{n.ID}, Outcome{Status: Failed, Error: err.Error(),
			Timeline: fmt.Sprintf("%s to %s not sent: %v", w.ch, who(n), err)}, now)
	}
	err = w.sender.Send(ctx, m)
	now = time.Now()
	if err == nil {
		w.record(func(h *ChannelHealth) {
			h.State, h.LastSentAt = "ok", &now
			h.Sent++
		})
		w.mu.Lock()
		delete(w.waits, n.Number)
		w.mu.Unlock()
		err := w.store.Finish(ctx, []int64{n.ID}, Outcome{Status: Sent,
			Timeline: fmt.Sprintf("%s to %s sent", channelWord(w.ch), who(n))}, now)
		// Logged after the outcome is committed, so the log never claims
		// more than the database holds.
		w.log.Info("sent", "channel", w.ch, "to", n.Number, "incident", m.Incident.ID, "event", m.Event)
		return true, err
	}
	if ctx.Err() != nil {
		// Shutting down mid-send: not an attempt; the row waits.
		return false, w.store.Release(context.WithoutCancel(ctx), []int64{n.ID}, "interrupted by shutdown", now, now)
	}
	msg := err.Error()
	verdict := VerdictOf(err)
	if verdict == Retry && n.Attempts >= DefaultMaxAttempts {
		verdict = GiveUp
	}
	switch verdict {
	case Wait:
		w.mu.Lock()
		w.waits[n.Number]++
		tries := w.waits[n.Number]
		w.mu.Unlock()
		w.record(func(h *ChannelHealth) { h.State, h.LastError, h.LastErrorAt = "down", msg, &now })
		w.log.Warn("channel unavailable; the page waits", "channel", w.ch, "to", n.Number, "err", err)
		return true, w.store.Release(ctx, []int64{n.ID}, fmt.Sprintf("%s to %s waiting: %s", channelWord(w.ch), who(n), msg), now.Add(RetryBackoff(tries)), now)
	case Retry:
		backoff := RetryBackoff(n.Attempts)
		w.record(func(h *ChannelHealth) {
			h.State, h.LastError, h.LastErrorAt = "retrying", msg, &now
			h.Retries++
		})
		w.log.Warn("send failed, will retry", "channel", w.ch, "to", n.Number, "attempt", n.Attempts, "err", err)
		return true, w.store.Finish(ctx, []int64{n.ID}, Outcome{Status: Queued, Error: msg, RetryAt: now.Add(backoff),
			Timeline: fmt.Sprintf("%s to %s failed (attempt %d): %s; retrying in %s", channelWord(w.ch), who(n), n.Attempts, msg, backoff)}, now)
	}
	w.record(func(h *ChannelHealth) {
		h.LastError, h.LastErrorAt = msg, &now
		h.Failed++
	})
	w.log.Error("send failed for good", "channel", w.ch, "to", n.Number, "attempts", n.Attempts, "err", err)
	if err := w.store.Finish(ctx, []int64{n.ID}, Outcome{Status: Failed, Error: msg,
		Timeline: fmt.Sprintf("%s to %s failed after %d attempt(s): %s", channelWord(w.ch), who(n), n.Attempts, msg)}, now); err != nil {
		return true, err
	}
	// A page that cannot be delivered moves its incident to the next
	// level now instead of waiting out the delay.
	if n.Level > 0 && m.Incident.Status == Triggered && m.Incident.Level == n.Level {
		if _, err := w.engine.Escalate(ctx, m.Incident.ID, "delivery failure"); err != nil && KindOf(err) != Conflict {
			return true, err
		}
	}
	return true, nil
}

func (w *ChannelWorker) record(fn func(h *ChannelHealth)) {
	w.mu.Lock()
	fn(&w.health)
	w.mu.Unlock()
}

// prepare turns a claimed row into a Message.
func (w *ChannelWorker) prepare(ctx context.Context, n Notification, now time.Time) (Message, error) {
	m := Message{Notification: n, Event: EventPage}
	if n.Level == 0 && n.Text != "" {
		m.Event = n.Text // a stakeholder update names the new status
	}
	id := n.IncidentID
	if id == 0 && len(n.Covers) > 0 {
		id = n.Covers[0]
	}
	if id == 0 {
		return m, fmt.Errorf("row %d names no incident", n.ID)
	}
	inc, err := w.engine.Incident(ctx, id)
	if err != nil {
		return m, fmt.Errorf("incident #%d: %w", id, err)
	}
	inc.Timeline = nil
	if m.Event != EventPage {
		// An update describes the incident in the state it announces,
		// even if the incident has moved on since it was queued.
		inc.Status = Status(m.Event)
	}
	m.Incident = inc
	pol := w.engine.Policy()
	if w.ch == WebhookChannel {
		wh, ok := pol.Webhook(n.Number)
		if !ok {
			return m, fmt.Errorf("webhook %q is no longer in the policy", n.Number)
		}
		m.Webhook = wh
	} else if c, ok := pol.Contact(n.ContactID); ok {
		m.Contact = c
		m.Language = c.Language
	}
	if m.Language == "" {
		m.Language = "en"
	}
	if m.Event == EventPage && pol.Settings.PublicURL != "" && w.links != nil {
		recipient := n.ContactID
		if w.ch == WebhookChannel {
			recipient = n.Number
		}
		if m.AckURL, m.ResolveURL, err = w.links.Links(ctx, pol.Settings.PublicURL, id, recipient, w.ch, now); err != nil {
			return m, err
		}
	}
	sent, err := w.store.SentBefore(ctx, w.ch, n.Number, id, n.ID)
	if err != nil {
		return m, err
	}
	m.FirstInThread = !sent
	return m, nil
}

func who(n Notification) string {
	if n.ContactID != "" && n.ContactID != n.Number {
		return fmt.Sprintf("%s (%s)", n.ContactID, n.Number)
	}
	return n.Number
}

func channelWord(ch Channel) string {
	switch ch {
	case Email:
		return "E-mail"
	case Push:
		return "Push"
	case WebhookChannel:
		return "Webhook"
	}
	return string(ch)
}
