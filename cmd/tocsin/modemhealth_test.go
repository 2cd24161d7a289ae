package main

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"strconv"
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
	"github.com/tocsin-relay/tocsin/modem/modemsim"
)

// pipePort opens the simulator over an in-memory pipe, so the supervisor
// runs inside a synctest bubble.
type pipePort struct {
	sim  *modemsim.Sim
	mu   sync.Mutex
	ends []io.Closer
	wg   sync.WaitGroup
}

func (p *pipePort) Open(ctx context.Context) (io.ReadWriteCloser, error) {
	a, b := net.Pipe()
	p.mu.Lock()
	p.ends = append(p.ends, b)
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		_ = p.sim.Serve(context.Background(), b)
	}()
	return a, nil
}

func (p *pipePort) close() {
	p.mu.Lock()
	for _, c := range p.ends {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// The modem stops answering for six minutes while three incidents page
// tanaka. The real supervisor, delivery worker, engine and SQLite store run
// in a synctest bubble. After five minutes the "tocsin" health incident
// opens; the pages wait (none fails, none counts an attempt); when the
// modem answers again tanaka gets one digest of the three, and the health
// incident is resolved.
func TestModemHealthIncidentAndDigest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		pol, err := policyfile.Load("p.yaml", []byte(`contacts:
  - {id: tanaka, phone: "+819012345678", language: en}
services:
  - {id: tocsin, escalation_policy: self}
  - {id: press-line-1, escalation_policy: line1}
escalation_policies:
  - {id: self, levels: [{after: 0s, notify: [{zone: control-room}]}]}
  - {id: line1, levels: [{after: 0s, notify: [{contact: tanaka, via: [sms]}]}]}
`))
		if err != nil {
			t.Fatal(err)
		}
		db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tocsin.db"))
		if err != nil {
			t.Fatal(err)
		}
		sim := modemsim.New(modemsim.Options{SendDelay: 10 * time.Millisecond})
		port := &pipePort{sim: sim}
		eng := escalation.NewEngine(db, pol, nil)
		sup := modem.NewSupervisor(modem.SupervisorConfig{Ladder: modem.Ladder{Open: port.Open, BootWait: 5 * time.Second}})
		ph := phone.New(sup, db, db, eng, phone.Options{})
		eng.OnOutbox(ph.Wake)
		var wg sync.WaitGroup
		for _, run := range []func(context.Context) error{sup.Run, ph.Run, eng.Run, phone.NewModemHealth(sup, eng, "/dev/ttyUSB2", nil).Run} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				run(ctx)
			}()
		}
		defer func() {
			cancel()
			wg.Wait()
			port.close()
			db.Close()
		}()
		openHealth := func() []escalation.Incident {
			incs, err := eng.Incidents(ctx, escalation.IncidentFilter{Service: "tocsin", Open: true})
			if err != nil {
				t.Fatal(err)
			}
			return incs
		}
		<-sup.Ready()
		sim.SetSilent(true)
		start := time.Now()
		var ids []int64
		for _, s := range []string{"Spindle vibration", "Hydraulic pressure low", "Coolant flow"} {
			res, err := eng.Ingest(ctx, escalation.Event{Service: "press-line-1", Summary: s, Severity: escalation.SevError, Action: escalation.Trigger})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, res.IncidentID)
		}
		time.Sleep(4 * time.Minute)
		if n := len(openHealth()); n != 0 {
			t.Fatalf("after 4 minutes %d health incidents, want none yet", n)
		}
		time.Sleep(2 * time.Minute)
		health := openHealth()
		if len(health) != 1 || health[0].Severity != escalation.SevCritical || health[0].DedupKey != "modem-health" {
			t.Fatalf("after 6 minutes: %+v, want one critical modem-health incident", health)
		}
		if !sup.State().Down {
			t.Error("the supervisor's state does not say down")
		}
		rows, err := db.Outbox(ctx, sqlite.OutboxFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range rows {
			if n.Status != escalation.Queued || n.Attempts != 0 {
				t.Errorf("during the outage outbox row %d is %s after %d attempts, want queued, uncounted", n.ID, n.Status, n.Attempts)
			}
		}
		if len(sim.History()) != 0 {
			t.Fatalf("sent during the outage: %+v", sim.History())
		}

		sim.SetSilent(false)
		got := <-sim.Sent()
		t.Logf("modem back after %s; first SMS: %q", time.Since(start).Round(time.Second), got.Text)
		if got.To != "+819012345678" || !strings.HasPrefix(got.Text, "3 new:") {
			t.Errorf("first SMS after the outage = %+v, want one digest of 3 to tanaka", got)
		}
		for _, id := range ids {
			inc, err := eng.Incident(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if inc.Level != 1 {
				t.Errorf("incident %d at level %d, want 1", id, inc.Level)
			}
			if !strings.Contains(got.Text, "#"+itoa(id)) {
				t.Errorf("digest %q does not name incident %d", got.Text, id)
			}
			waited := false
			for _, e := range inc.Timeline {
				if strings.Contains(e.Detail, "waiting for the modem") {
					if waited {
						t.Errorf("incident %d: the wait is noted twice", id)
					}
					waited = true
				}
			}
			if !waited {
				t.Errorf("incident %d: the timeline does not say why the page waited", id)
			}
		}
		synctest.Wait()
		time.Sleep(2 * time.Minute) // the next probe resolves the health incident
		if n := len(openHealth()); n != 0 {
			t.Errorf("modem back but %d health incidents open", n)
		}
		if n := len(sim.History()); n != 1 {
			t.Errorf("%d SMS sent, want the one digest: %+v", n, sim.History())
		}
	})
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }
