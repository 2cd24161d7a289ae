package escalation_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

const channelPolicy = `contacts:
  - {id: tanaka, phone: "+819012345678", language: ja, email: tanaka@factory.example, ntfy_topic: tocsin-tanaka}
  - {id: boss, phone: "+819011112222", email: boss@factory.example}
services:
  - {id: press, escalation_policy: line1}
escalation_policies:
  - id: line1
    levels:
      - after: 0s
        notify:
          - {contact: tanaka, via: [sms, email, push]}
          - {webhook: line-chat}
      - after: 1h
        notify:
          - {contact: boss, via: [email]}
webhooks:
  - {id: line-chat, url: "http://chat.lan/hooks/abc", format: slack}
  - {id: mes, url: "http://mes.lan/api/alarms", subscribe: [press]}
settings:
  default_region: JP
  public_url: "http://tocsin.lan:8080/"
`

// scripted is a Sender that answers from a script (nil: accepted) and
// records what it was given.
type scripted struct {
	mu     sync.Mutex
	script []error
	got    []escalation.Message
}

func (s *scripted) Send(_ context.Context, m escalation.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, m)
	if len(s.script) == 0 {
		return nil
	}
	err := s.script[0]
	s.script = s.script[1:]
	return err
}

func (s *scripted) messages() []escalation.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]escalation.Message(nil), s.got...)
}

func fail(v escalation.Verdict) error {
	return &escalation.DeliveryError{Verdict: v, Err: errors.New("scripted " + v.String())}
}

// worker runs a channel worker inside the rig's bubble.
func (r *rig) worker(ch escalation.Channel, s escalation.Sender) *escalation.ChannelWorker {
	w := escalation.NewChannelWorker(ch, s, r.db, r.e, escalation.NewAckLinks(r.db, r.e, 0), nil)
	r.e.OnOutbox(w.Wake)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	// Registered after newRig's stop, so it runs first (LIFO): the worker
	// stops before the database closes.
	r.t.Cleanup(func() {
		cancel()
		<-done
	})
	return w
}

func (r *rig) row(id int64, ch escalation.Channel, to string) escalation.Notification {
	r.t.Helper()
	ns, err := r.db.Outbox(context.Background(), sqlite.OutboxFilter{IncidentID: id, Limit: 100})
	if err != nil {
		r.t.Fatal(err)
	}
	for _, n := range ns {
		if n.Channel == ch && n.Number == to {
			return n
		}
	}
	r.t.Fatalf("no %s row to %s for #%d in %+v", ch, to, id, ns)
	return escalation.Notification{}
}

// TestChannelVerdicts: Wait is not an attempt and the page waits; Retry
// backs off and counts; a page that runs out of attempts gives up and
// moves the incident to its next level at once; each channel's trouble
// stays its own.
func TestChannelVerdicts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, channelPolicy)
		mail := &scripted{script: []error{fail(escalation.Wait), fail(escalation.Wait)}}
		push := &scripted{script: []error{fail(escalation.Retry), fail(escalation.Retry), fail(escalation.Retry), fail(escalation.Retry), fail(escalation.Retry)}}
		hook := &scripted{}
		mw := r.worker(escalation.Email, mail)
		pw := r.worker(escalation.Push, push)
		r.worker(escalation.WebhookChannel, hook)
		res := r.trigger("press", "k1", "pressure low")
		id := res.IncidentID
		synctest.Wait()

		// The webhook went at once, whatever e-mail and push do.
		if got := hook.messages(); len(got) != 1 || got[0].Number != "line-chat" || got[0].Event != escalation.EventPage || got[0].AckURL == "" {
			t.Fatalf("webhook got %+v, want the line-chat page with links", got)
		}
		if n := r.row(id, escalation.Email, "tanaka@factory.example"); n.Status != escalation.Queued || n.Attempts != 0 || n.Error != "E-mail to tanaka (tanaka@factory.example) waiting: scripted wait" {
			t.Errorf("e-mail after a Wait: %s with %d attempts (%q), want queued with 0 (not an attempt), waiting", n.Status, n.Attempts, n.Error)
		}
		if h := mw.Health(); h.State != "down" || !strings.Contains(h.LastError, "scripted wait") {
			t.Errorf("e-mail health = %+v, want down", h)
		}
		if n := r.row(id, escalation.Push, "tocsin-tanaka"); n.Status != escalation.Queued || n.Attempts != 1 {
			t.Errorf("push after a Retry: %s with %d attempts, want queued with 1", n.Status, n.Attempts)
		}

		// Backoffs: 5s, 10s for the Waits; the e-mail then goes.
		time.Sleep(escalation.RetryBackoff(1) + escalation.RetryBackoff(2) + time.Second)
		synctest.Wait()
		if n := r.row(id, escalation.Email, "tanaka@factory.example"); n.Status != escalation.Sent || n.Attempts != 1 {
			t.Errorf("e-mail: %s with %d attempts, want sent with 1", n.Status, n.Attempts)
		}
		if h := mw.Health(); h.State != "ok" || h.Sent != 1 {
			t.Errorf("e-mail health = %+v, want ok with 1 sent", h)
		}
		m := mail.messages()[2]
		if m.Language != "ja" || !m.FirstInThread || !strings.HasPrefix(m.AckURL, "http://tocsin.lan:8080/a/") || m.ResolveURL == m.AckURL {
			t.Errorf("e-mail message = %+v, want Japanese, first in thread, with two links", m)
		}

		// Push runs out of attempts well before level 2's hour: the
		// incident moves on at once and boss is e-mailed.
		time.Sleep(20 * time.Minute)
		synctest.Wait()
		n := r.row(id, escalation.Push, "tocsin-tanaka")
		if n.Status != escalation.Failed || n.Attempts != escalation.DefaultMaxAttempts {
			t.Errorf("push: %s after %d attempts, want failed after %d", n.Status, n.Attempts, escalation.DefaultMaxAttempts)
		}
		if h := pw.Health(); h.Failed != 1 || h.Retries != int64(escalation.DefaultMaxAttempts-1) {
			t.Errorf("push health = %+v", h)
		}
		if inc := r.incident(id); inc.Level != 2 {
			t.Errorf("incident level = %d after push gave up, want 2 (moved on at once)", inc.Level)
		}
		if n := r.row(id, escalation.Email, "boss@factory.example"); n.Status != escalation.Sent {
			t.Errorf("boss's e-mail: %s, want sent", n.Status)
		}
		if sms := r.row(id, escalation.SMS, "+819012345678"); sms.Status != escalation.Queued {
			t.Errorf("SMS row = %s; no channel worker may touch it", sms.Status)
		}
	})
}

// TestThreading: the second e-mail about an incident to one person is not
// first in its thread.
func TestThreading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, channelPolicy)
		mail := &scripted{}
		r.worker(escalation.Email, mail)
		id := r.trigger("press", "k1", "pressure low").IncidentID
		for range 2 {
			if _, err := r.e.Escalate(context.Background(), id, "test"); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
		}
		var first []bool
		for _, m := range mail.messages() {
			first = append(first, m.FirstInThread)
		}
		// tanaka (first), boss (first), boss again (a reply).
		if len(first) != 3 || !first[0] || !first[1] || first[2] {
			t.Errorf("FirstInThread = %v, want [true true false]", first)
		}
	})
}

// TestAckLinks: a link acts once, only by POST (Use), for its recipient
// and channel; looking changes nothing; wrong, used and expired tokens
// change nothing.
func TestAckLinks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, channelPolicy)
		id := r.trigger("press", "k1", "pressure low").IncidentID
		links := escalation.NewAckLinks(r.db, r.e, 0)
		ctx := context.Background()
		now := time.Now()
		ack, resolve, err := links.Links(ctx, "http://tocsin.lan", id, "tanaka", escalation.Email, now)
		if err != nil {
			t.Fatal(err)
		}
		tok := ack[strings.LastIndexByte(ack, '/')+1:]
		if len(tok) < 22 {
			t.Fatalf("token %q shorter than 128 bits", tok)
		}
		if _, err := links.Look(ctx, "wrong"+tok, now); escalation.KindOf(err) != escalation.NotFound {
			t.Errorf("wrong token: %v, want NotFound", err)
		}
		if _, err := links.Use(ctx, "wrong"+tok, now); escalation.KindOf(err) != escalation.NotFound {
			t.Errorf("wrong token used: %v, want NotFound", err)
		}
		for range 3 { // a mail scanner pre-fetching
			if v, err := links.Look(ctx, tok, now); err != nil || v.Incident.ID != id {
				t.Fatalf("look: %+v %v", v, err)
			}
		}
		if _, err := links.Look(ctx, tok, now.Add(escalation.DefaultLinkTTL)); escalation.KindOf(err) != escalation.Gone {
			t.Errorf("expired: %v, want Gone", err)
		}
		if _, err := links.Use(ctx, tok, now.Add(escalation.DefaultLinkTTL+time.Second)); escalation.KindOf(err) != escalation.Gone {
			t.Errorf("expired use: %v, want Gone", err)
		}
		if inc := r.incident(id); inc.Status != escalation.Triggered {
			t.Fatalf("status %s before any POST, want triggered", inc.Status)
		}
		v, err := links.Use(ctx, tok, now)
		if err != nil || !v.Done || v.Incident.Status != escalation.Acknowledged || v.Incident.AcknowledgedBy != "tanaka" {
			t.Fatalf("use: %+v %v", v, err)
		}
		if _, err := links.Use(ctx, tok, now); escalation.KindOf(err) != escalation.Gone {
			t.Errorf("reuse: %v, want Gone", err)
		}
		rt := resolve[strings.LastIndexByte(resolve, '/')+1:]
		if v, err := links.Use(ctx, rt, now); err != nil || v.Incident.Status != escalation.Resolved {
			t.Fatalf("resolve: %+v %v", v, err)
		}
		var lines []string
		for _, e := range r.incident(id).Timeline {
			lines = append(lines, e.Detail)
		}
		all := strings.Join(lines, "\n")
		for _, want := range []string{"acknowledged by tanaka via email", "resolved by tanaka via email"} {
			if !strings.Contains(all, want) {
				t.Errorf("timeline lacks %q:\n%s", want, all)
			}
		}
	})
}

func TestRetryBackoff(t *testing.T) {
	for _, tt := range []struct {
		tries int
		want  time.Duration
	}{{0, 5 * time.Second}, {1, 5 * time.Second}, {2, 10 * time.Second}, {3, 20 * time.Second}, {7, 320 * time.Second}, {8, 10 * time.Minute}, {100, 10 * time.Minute}} {
		if got := escalation.RetryBackoff(tt.tries); got != tt.want {
			t.Errorf("RetryBackoff(%d) = %s, want %s", tt.tries, got, tt.want)
		}
	}
}

// TestStakeholders: a subscribed webhook hears trigger, acknowledgement
// and resolution, without links, and an acknowledgement does not cancel
// the news still queued for it.
func TestStakeholders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, channelPolicy)
		st := escalation.NewStakeholders(r.e.Notify, r.e.Policy, r.db, time.Now())
		cancel := r.e.Subscribe(func(inc escalation.Incident) { st.Changed(context.Background(), inc) })
		defer cancel()
		mail := &scripted{}
		r.worker(escalation.Email, mail)
		id := r.trigger("press", "k1", "pressure low").IncidentID
		synctest.Wait()
		if _, err := r.e.Acknowledge(context.Background(), id, "tanaka"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		r.e.AddTimeline(context.Background(), id, escalation.TimelineEntry{At: time.Now(), Kind: "note", Detail: "not a state change"})
		synctest.Wait()
		if _, err := r.e.Resolve(context.Background(), id, "tanaka"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		hook := &scripted{}
		r.worker(escalation.WebhookChannel, hook)
		synctest.Wait()
		var events []string
		for _, m := range hook.messages() {
			if m.Number != "mes" {
				continue
			}
			events = append(events, m.Event)
			if m.AckURL != "" {
				t.Errorf("stakeholder update %s carries a link", m.Event)
			}
		}
		if got := strings.Join(events, " "); got != "triggered acknowledged resolved" {
			t.Errorf("mes heard %q, want triggered acknowledged resolved", got)
		}
		// tanaka, e-mailed the page, hears the acknowledgement and the
		// resolution in the same thread; boss, never paged, hears nothing.
		var got []string
		for _, m := range mail.messages() {
			got = append(got, fmt.Sprintf("%s %s first=%v", m.Number, m.Event, m.FirstInThread))
			if m.Event != escalation.EventPage && (m.AckURL != "" || m.Language != "ja") {
				t.Errorf("follow-up %+v: want Japanese without links", m)
			}
		}
		want := "tanaka@factory.example page first=true, tanaka@factory.example acknowledged first=false, tanaka@factory.example resolved first=false"
		if strings.Join(got, ", ") != want {
			t.Errorf("e-mails:\n%s\nwant:\n%s", strings.Join(got, ", "), want)
		}
		if title := escalation.MessageTitle(mail.messages()[2]); !strings.HasPrefix(title, "[解決] #") {
			t.Errorf("resolved title %q", title)
		}
	})
}
