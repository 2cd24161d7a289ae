package status_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/status"
	"github.com/tocsin-relay/tocsin/modem"
)

type fakeStore struct{ checkErr error }

func (fakeStore) Path() string                               { return "/var/lib/tocsin/tocsin.db" }
func (s fakeStore) Check(context.Context) error              { return s.checkErr }
func (fakeStore) OpenIncidents(context.Context) (int, error) { return 2, nil }
func (fakeStore) OutboxDepth(context.Context) (int, error)   { return 3, nil }
func (fakeStore) CurrentPolicy(context.Context) (*escalation.Policy, []byte, escalation.PolicyVersion, error) {
	return &escalation.Policy{}, nil, escalation.PolicyVersion{Version: 7}, nil
}

type fakeEngine struct{}

func (fakeEngine) LastTick() time.Time        { return time.Now() }
func (fakeEngine) Policy() *escalation.Policy { return &escalation.Policy{} }

type fakeModem struct{ st modem.State }

func (m fakeModem) State() modem.State { return m.st }
func (fakeModem) Modem() *modem.Modem  { return nil }

type fakeDelivery struct{}

func (fakeDelivery) Stats() escalation.DeliveryStats {
	return escalation.DeliveryStats{Sent: 5, Failed: 1}
}

// The document says what an operator needs when the modem is away: not
// up, why, and whether the health incident is open; the JSON keys the
// console reads stay as they were.
func TestBuildModemDown(t *testing.T) {
	down := modem.State{Up: false, Reason: "modem not answering: timeout", Down: true, Since: time.Now().Add(-6 * time.Minute)}
	doc := status.Build(context.Background(), status.Parts{Version: "1.2", Started: time.Now().Add(-time.Hour),
		Store: fakeStore{checkErr: errors.New("disk full")}, Engine: fakeEngine{}, Modem: fakeModem{down},
		Device: "/dev/tocsin-modem", Delivery: fakeDelivery{}})
	if doc.Modem.Up || !doc.Modem.HealthAlarm || doc.Modem.LastError != down.Reason || doc.Modem.Device != "/dev/tocsin-modem" {
		t.Errorf("modem part = %+v", doc.Modem)
	}
	if doc.Database.OK || doc.Database.Error != "disk full" || doc.Outbox.Depth != 3 || doc.Outbox.Sent != 5 || doc.Engine.Open != 2 {
		t.Errorf("doc = %+v", doc)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"configured":false`, `"not_configured_reason":"not configured: no contact can be paged`, `"health_incident_open":true`, `"outbox":{"depth":3,"sent":5,"failed":1}`, `"policy":{"version":7`, `"open_incidents":2`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("%s lacks %s", b, key)
		}
	}
	if strings.Contains(string(b), `"gpio"`) || strings.Contains(string(b), `"mqtt"`) {
		t.Errorf("parts not configured appear: %s", b)
	}
}
