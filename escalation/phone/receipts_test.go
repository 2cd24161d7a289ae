package phone_test

import (
	"context"
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

// network stands in for the modem at the edge: it takes every SMS, gives
// it the next reference, and keeps what was sent.
type network struct {
	alwaysUp
	mu   sync.Mutex
	ref  int
	sent []string // numbers, in order
}

func (n *network) SendSMS(_ context.Context, number, _ string) ([]int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ref = (n.ref + 1) % 256
	n.sent = append(n.sent, number)
	return []int{n.ref}, nil
}

func (n *network) numbers() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.sent...)
}

const reportPolicy = `contacts:
  - {id: tanaka, phone: "+819012345678"}
  - {id: boss, phone: "+819011112222"}
services:
  - {id: press, escalation_policy: p}
escalation_policies:
  - id: p
    levels:
      - {after: 0s, notify: [{contact: tanaka, via: [sms]}]}
      - {after: 30m, notify: [{contact: boss, via: [sms]}]}
settings:
  undelivered_after: 3m
`

// rig runs the real engine, store and delivery worker in a synctest
// bubble, with the network above as the modem.
func reportRig(t *testing.T, policy string) (*escalation.Engine, *phone.Phone, *network, *sqlite.DB) {
	ctx := t.Context()
	pol, err := policyfile.Load("p.yaml", []byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tocsin.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	eng := escalation.NewEngine(db, pol, nil)
	net := &network{}
	ph := phone.New(net, db, db, eng, phone.Options{Reports: db})
	eng.OnOutbox(ph.Wake)
	go eng.Run(ctx)
	go ph.Run(ctx)
	return eng, ph, net, db
}

// With settings.undelivered_after, a page with no delivery report after
// that long is a failed page: the next level is paged at once, 27 minutes
// before its time.
func TestUndeliveredAfterMovesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eng, _, net, _ := reportRig(t, reportPolicy)
		res, err := eng.Ingest(t.Context(), escalation.Event{Service: "press", Summary: "fault", Severity: escalation.SevCritical,
			Action: escalation.Trigger, Intake: "test"})
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := net.numbers(); len(got) != 1 || got[0] != "+819012345678" {
			t.Fatalf("sent %v, want tanaka's page", got)
		}
		time.Sleep(2*time.Minute + 59*time.Second)
		synctest.Wait()
		if got := net.numbers(); len(got) != 1 {
			t.Fatalf("sent %v before undelivered_after ran out", got)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := net.numbers(); len(got) != 2 || got[1] != "+819011112222" {
			t.Fatalf("sent %v, want the boss paged at once", got)
		}
		inc, _ := eng.Incident(t.Context(), res.IncidentID)
		if inc.Level != 2 || !hasEntry(inc, escalation.KindFailed, "SMS to tanaka: no delivery report within 3m0s; counted as not delivered") {
			t.Errorf("level %d, timeline %+v", inc.Level, inc.Timeline)
		}
	})
}

// A report that comes in time settles the page; nothing moves on.
func TestReportInTimeKeepsLevel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eng, ph, net, _ := reportRig(t, reportPolicy)
		res, err := eng.Ingest(t.Context(), escalation.Event{Service: "press", Summary: "fault", Severity: escalation.SevCritical,
			Action: escalation.Trigger, Intake: "test"})
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		time.Sleep(4 * time.Second)
		ph.HandleReport(t.Context(), modem.StatusReport{Ref: 1, Recipient: "+819012345678", Status: 0, DoneAt: time.Now()})
		synctest.Wait()
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if got := net.numbers(); len(got) != 1 {
			t.Fatalf("sent %v, want only tanaka's page", got)
		}
		inc, _ := eng.Incident(t.Context(), res.IncidentID)
		if inc.Level != 1 || !hasEntry(inc, escalation.KindDelivered, "(after 4s)") {
			t.Errorf("level %d, timeline %+v", inc.Level, inc.Timeline)
		}
	})
}

func hasEntry(inc escalation.Incident, kind, substr string) bool {
	for _, e := range inc.Timeline {
		if e.Kind == kind && strings.Contains(e.Detail, substr) {
			return true
		}
	}
	return false
}
