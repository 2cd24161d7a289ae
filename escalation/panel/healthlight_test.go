package panel

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tocsin-relay/tocsin/device"
	"github.com/tocsin-relay/tocsin/escalation"
)

type lightRecorder struct {
	mu   sync.Mutex
	last device.Health
}

func (r *lightRecorder) SetHealth(h device.Health) {
	r.mu.Lock()
	r.last = h
	r.mu.Unlock()
}

func (r *lightRecorder) get() device.Health {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// configured is a policy in force that pages a person.
type configured struct{}

func (configured) Policy() *escalation.Policy {
	return &escalation.Policy{
		Contacts:           []escalation.Contact{{ID: "tanaka", Phone: "+819000000001"}},
		Services:           []escalation.Service{{ID: "press", EscalationPolicy: "main"}},
		EscalationPolicies: []escalation.EscalationPolicy{{ID: "main", Levels: []escalation.Level{{Notify: []escalation.Target{{Contact: "tanaka"}}}}}},
	}
}

// nobody is the package's example: no contact at all.
type nobody struct{}

func (nobody) Policy() *escalation.Policy { return &escalation.Policy{} }

// Until a policy reaches a person the light says so (four blinks).
func TestHealthLightNotConfigured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out, up, db := &lightRecorder{}, &upFlag{}, &pinger{}
		up.v.Store(true)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			NewHealthLight(out, up, db, nil, nobody{}).Run(ctx)
		}()
		synctest.Wait()
		if got := out.get(); got != (device.Health{NotConfigured: true}) {
			t.Errorf("with a policy that pages nobody: %+v, want only NotConfigured", got)
		}
		cancel()
		<-done
	})
}

type upFlag struct{ v atomic.Bool }

func (u *upFlag) Up() bool        { return u.v.Load() }
func (u *upFlag) Connected() bool { return u.v.Load() }

type pinger struct{ err atomic.Pointer[error] }

func (p *pinger) Ping(context.Context) error {
	if e := p.err.Load(); e != nil {
		return *e
	}
	return nil
}

// The light follows the modem within a second and the database within
// thirty (a ping is a write).
func TestHealthLight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out, modem, mqtt, db := &lightRecorder{}, &upFlag{}, &upFlag{}, &pinger{}
		modem.v.Store(true)
		mqtt.v.Store(true)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			NewHealthLight(out, modem, db, mqtt, configured{}).Run(ctx)
		}()
		synctest.Wait()
		if got := out.get(); got != (device.Health{}) {
			t.Errorf("all well: %+v", got)
		}
		modem.v.Store(false)
		bad := errors.New("disk I/O error")
		db.err.Store(&bad)
		time.Sleep(time.Second)
		synctest.Wait()
		if got := out.get(); !got.ModemDown || got.DatabaseError {
			t.Errorf("after 1s: %+v, want the modem down and the database not yet pinged", got)
		}
		time.Sleep(29 * time.Second)
		synctest.Wait()
		if got := out.get(); !got.ModemDown || !got.DatabaseError || got.MQTTDown {
			t.Errorf("after 30s: %+v, want modem down and database error", got)
		}
		cancel()
		<-done
	})
}
