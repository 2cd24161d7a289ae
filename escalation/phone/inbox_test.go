package phone_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/phone"
	"github.com/tocsin-relay/tocsin/escalation/policyfile"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
	"github.com/tocsin-relay/tocsin/modem"
)

const policy = `contacts:
  - {id: tanaka, phone: "+819012345678", language: en}
services:
  - {id: press, escalation_policy: line1}
escalation_policies:
  - id: line1
    levels:
      - after: 0s
        notify:
          - {contact: tanaka, via: [sms]}
settings:
  default_region: JP
`

const tanaka = "+819012345678"

// handset is the fake at the edge: a modem that records what it sends.
type handset struct {
	alwaysUp
	mu   sync.Mutex
	sent []sent
}

type sent struct {
	to, text string
	at       time.Time
}

func (h *handset) SendSMS(ctx context.Context, number, text string) ([]int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sent = append(h.sent, sent{number, text, time.Now()})
	return []int{len(h.sent)}, nil
}

func (h *handset) messages() []sent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]sent(nil), h.sent...)
}

// inboxRig is the delivery worker on a real SQLite file with the real
// engine, inside a synctest bubble: synctest.Wait returns once the inbox
// and the sender have nothing left to do.
type inboxRig struct {
	db     *sqlite.DB
	e      *escalation.Engine
	p      *phone.Phone
	modem  *handset
	cancel context.CancelFunc
	done   chan struct{}
}

func newInboxRig(t *testing.T) *inboxRig {
	t.Helper()
	pol, err := policyfile.Load("policy.yaml", []byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tocsin.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &inboxRig{db: db, e: escalation.NewEngine(db, pol, nil), modem: &handset{}, cancel: cancel, done: make(chan struct{})}
	r.p = phone.New(r.modem, db, db, r.e, phone.Options{})
	r.e.OnOutbox(r.p.Wake)
	go func() {
		defer close(r.done)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); r.e.Run(ctx) }()
		go func() { defer wg.Done(); r.p.Run(ctx) }()
		wg.Wait()
	}()
	t.Cleanup(func() {
		r.cancel()
		<-r.done
		r.db.Close()
	})
	return r
}

func reply(text, pdu string) modem.InboundSMS {
	return modem.InboundSMS{From: tanaka, Text: text, PDU: pdu, SentAt: time.Now()}
}

// The same reply delivered concurrently and repeatedly (a +CMTI racing a
// ReadStored, a message re-read after a crash) is stored once and acted on
// once: one acknowledgement, one timeline entry, one confirmation.
func TestConcurrentDeliveriesActOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newInboxRig(t)
		ctx := context.Background()
		inc, err := r.e.Ingest(ctx, escalation.Event{Service: "press", Summary: "jam", Severity: escalation.SevCritical,
			Action: escalation.Trigger, Intake: "test"})
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the page is sent
		msg := reply("4", "0011AABB")
		var wg sync.WaitGroup
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 5 {
					if err := r.p.HandleSMS(ctx, msg); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		synctest.Wait()
		got, err := r.e.Incident(ctx, inc.IncidentID)
		if err != nil || got.Status != escalation.Acknowledged {
			t.Fatalf("incident %+v, %v; want acknowledged", got.Status, err)
		}
		replies := 0
		for _, tl := range got.Timeline {
			if tl.Kind == escalation.KindReply {
				replies++
			}
		}
		if replies != 1 {
			t.Errorf("%d reply entries on the timeline, want 1: %+v", replies, got.Timeline)
		}
		var confirms []string
		for _, s := range r.modem.messages() {
			if strings.HasPrefix(s.text, "OK ") || strings.HasPrefix(s.text, "No open") {
				confirms = append(confirms, s.text)
			}
		}
		if len(confirms) != 1 || !strings.Contains(confirms[0], fmt.Sprintf("#%d acknowledged", inc.IncidentID)) {
			t.Errorf("confirmations %q, want one acknowledging #%d", confirms, inc.IncidentID)
		}
		rs, err := r.db.Received(ctx, 100)
		if err != nil || len(rs) != 1 || rs[0].Status != "processed" {
			t.Errorf("received rows %+v, %v; want one processed", rs, err)
		}
	})
}

// A flood of junk from a contact gets at most three grammar answers, and a
// page queued meanwhile leaves at once: answers use none of the person's
// pacing turns.
func TestJunkFloodBoundedAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newInboxRig(t)
		ctx := context.Background()
		for i := range 300 {
			if err := r.p.HandleSMS(ctx, reply(fmt.Sprintf("junk %d", i), fmt.Sprintf("00%04X", i))); err != nil {
				t.Fatal(err)
			}
			if i == 150 {
				if _, err := r.e.Ingest(ctx, escalation.Event{Service: "press", Summary: "jam", Severity: escalation.SevCritical,
					Action: escalation.Trigger, Intake: "test"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		queuedAt := time.Now()
		synctest.Wait()
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		answers, pages := 0, 0
		for _, s := range r.modem.messages() {
			switch {
			case strings.HasPrefix(s.text, "Not understood"):
				answers++
			case strings.Contains(s.text, "jam"):
				pages++
				// Pages go before answers in the claim, and answers are not
				// paced (escalation/sqlite Claim), so the page does not
				// wait for the per-number pacing the answers would use.
				if d := s.at.Sub(queuedAt); d > time.Second {
					t.Errorf("the page left %v after it was queued, behind answers", d)
				}
			default:
				t.Errorf("unexpected SMS %q", s.text)
			}
		}
		if answers > 3 || answers == 0 {
			t.Errorf("%d grammar answers to 300 junk SMS, want 1 to 3", answers)
		}
		if pages != 1 {
			t.Errorf("%d pages sent, want 1", pages)
		}
		rs, err := r.db.Received(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		dropped := 0
		for _, m := range rs {
			if strings.Contains(m.Result, "answer not sent") {
				dropped++
			}
		}
		if dropped != 300-answers {
			t.Errorf("%d received rows record a dropped answer, want %d", dropped, 300-answers)
		}
	})
}

// A multi-part reply whose other parts never come expires after 24 h:
// recorded as expired, nothing acted on, nothing answered.
func TestIncompleteMultipartExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newInboxRig(t)
		ctx := context.Background()
		inc, err := r.e.Ingest(ctx, escalation.Event{Service: "press", Summary: "jam", Severity: escalation.SevCritical,
			Action: escalation.Trigger, Intake: "test"})
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		before := len(r.modem.messages())
		part := reply("4", "0044AA")
		part.Concat = &modem.Concat{Ref: 9, Total: 2, Seq: 1}
		if err := r.p.HandleSMS(ctx, part); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if rs, _ := r.db.Received(ctx, 10); len(rs) != 1 || rs[0].Status != "part" {
			t.Fatalf("received %+v, want one waiting part", rs)
		}
		time.Sleep(phone.PartsExpireAfter - time.Minute)
		synctest.Wait()
		if rs, _ := r.db.Received(ctx, 10); rs[0].Status != "part" {
			t.Errorf("expired early: %+v", rs[0])
		}
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		rs, _ := r.db.Received(ctx, 10)
		if rs[0].Status != "ignored" || !strings.HasPrefix(rs[0].Result, "expired") {
			t.Errorf("after 24 h the part is %s %q, want ignored/expired", rs[0].Status, rs[0].Result)
		}
		if got, _ := r.e.Incident(ctx, inc.IncidentID); got.Status != escalation.Triggered {
			t.Errorf("incident %s, want triggered: nothing acted on", got.Status)
		}
		if n := len(r.modem.messages()); n != before {
			t.Errorf("%d SMS sent for an expired part", n-before)
		}
	})
}
