package escalation_test

import (
	"context"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/policyfile"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

const heartbeatPolicy = basePolicy + `heartbeats:
  - {id: scada-main, service: press, interval: 5m}
  - {id: historian, service: paint, interval: 1h}
`

// hbDaemon is the part of a daemon that heartbeats need: a real SQLite
// file, the engine and the monitor, each with its goroutine. stop and a
// new hbDaemon on the same file model a restart.
type hbDaemon struct {
	t      *testing.T
	db     *sqlite.DB
	e      *escalation.Engine
	hb     *escalation.Heartbeats
	cancel context.CancelFunc
	done   chan struct{}
}

func startHB(t *testing.T, path string) *hbDaemon {
	t.Helper()
	ctx := context.Background()
	p, err := policyfile.Load("policy.yaml", []byte(heartbeatPolicy))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := db.ApplyPolicy(ctx, p, []byte(heartbeatPolicy), "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p.Version = v.Version
	e := escalation.NewEngine(db, p, nil)
	rctx, cancel := context.WithCancel(ctx)
	d := &hbDaemon{t: t, db: db, e: e, hb: escalation.NewHeartbeats(e, e.Policy, db, nil), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		eng := make(chan struct{})
		go func() {
			defer close(eng)
			e.Run(rctx)
		}()
		d.hb.Run(rctx)
		<-eng
	}()
	synctest.Wait()
	return d
}

func (d *hbDaemon) stop() {
	d.cancel()
	<-d.done
	d.db.Close()
}

func (d *hbDaemon) beat(id string) {
	d.t.Helper()
	if err := d.hb.Beat(context.Background(), id); err != nil {
		d.t.Fatalf("beat %s: %v", id, err)
	}
	synctest.Wait()
}

// heartbeatIncidents lists the incidents opened for heartbeat id, newest first.
func (d *hbDaemon) heartbeatIncidents(id string) []escalation.Incident {
	d.t.Helper()
	synctest.Wait()
	all, err := d.e.Incidents(context.Background(), escalation.IncidentFilter{Limit: 100})
	if err != nil {
		d.t.Fatal(err)
	}
	var out []escalation.Incident
	for _, inc := range all {
		if inc.DedupKey == escalation.HeartbeatDedupKey(id) {
			out = append(out, inc)
		}
	}
	return out
}

func TestHeartbeatMissOpensAndBeatResolves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := startHB(t, filepath.Join(t.TempDir(), "tocsin.db"))
		defer d.stop()
		time.Sleep(time.Minute)
		d.beat("scada-main")
		time.Sleep(5*time.Minute - time.Millisecond)
		if got := d.heartbeatIncidents("scada-main"); len(got) != 0 {
			t.Fatalf("incident before the interval ran out: %+v", got)
		}
		time.Sleep(time.Millisecond)
		got := d.heartbeatIncidents("scada-main")
		if len(got) != 1 {
			t.Fatalf("after 5m without a beat: %d incidents, want 1", len(got))
		}
		inc := got[0]
		if inc.Service != "press" || inc.Status != escalation.Triggered || inc.Summary != "Heartbeat scada-main missed: nothing for 5m0s" {
			t.Errorf("incident = %s %s %q, want a triggered press incident saying what was missed", inc.Service, inc.Status, inc.Summary)
		}
		// Staying silent does not open more incidents or add alerts.
		time.Sleep(time.Hour)
		if got := d.heartbeatIncidents("scada-main"); len(got) != 1 || got[0].AlertCount != 1 {
			t.Errorf("an hour later: %+v, want still one incident with one alert", got)
		}
		d.beat("scada-main")
		got = d.heartbeatIncidents("scada-main")
		if len(got) != 1 || got[0].Status != escalation.Resolved {
			t.Fatalf("after the beat: %+v, want the incident resolved", got)
		}
		// The clock runs again from the beat.
		time.Sleep(5 * time.Minute)
		if got := d.heartbeatIncidents("scada-main"); len(got) != 2 || got[0].Status != escalation.Triggered {
			t.Errorf("5m after the beat: %d incidents, want a second one open", len(got))
		}
	})
}

func TestHeartbeatNeverSeenStartsItsClockAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := startHB(t, filepath.Join(t.TempDir(), "tocsin.db"))
		defer d.stop()
		time.Sleep(time.Hour - time.Millisecond)
		if got := d.heartbeatIncidents("historian"); len(got) != 0 {
			t.Fatalf("historian paged before its first interval: %+v", got)
		}
		time.Sleep(time.Millisecond)
		if got := d.heartbeatIncidents("historian"); len(got) != 1 || got[0].Service != "paint" {
			t.Fatalf("historian never beat for 1h: %+v, want one paint incident", got)
		}
	})
}

func TestHeartbeatStateSurvivesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "tocsin.db")
		d := startHB(t, path)
		d.beat("scada-main")
		time.Sleep(2 * time.Minute)
		d.stop()
		// Restarted 2m after the beat: the clock is not reset, the miss
		// comes 5m after the beat, not 5m after the restart.
		d = startHB(t, path)
		time.Sleep(3*time.Minute - time.Millisecond)
		if got := d.heartbeatIncidents("scada-main"); len(got) != 0 {
			t.Fatalf("paged early: %+v", got)
		}
		time.Sleep(time.Millisecond)
		if got := d.heartbeatIncidents("scada-main"); len(got) != 1 {
			t.Fatalf("5m after the last beat (across a restart): %d incidents, want 1", len(got))
		}
		d.stop()

		// A restart while the miss is paging remembers it: no second
		// alert, and the next beat resolves the incident.
		d = startHB(t, path)
		defer d.stop()
		time.Sleep(time.Hour)
		got := d.heartbeatIncidents("scada-main")
		if len(got) != 1 || got[0].AlertCount != 1 {
			t.Fatalf("after a restart while missed: %+v, want one incident with one alert", got)
		}
		d.beat("scada-main")
		if got := d.heartbeatIncidents("scada-main"); got[0].Status != escalation.Resolved {
			t.Errorf("beat after restart: incident %s, want resolved", got[0].Status)
		}
	})
}

func TestHeartbeatDowntimeGivesSendersAFullInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "tocsin.db")
		d := startHB(t, path)
		d.beat("scada-main")
		d.stop()
		// Down for 20m: the beats sent meanwhile could not arrive. No page
		// at start; the senders get 5m to reach the restarted daemon.
		time.Sleep(20 * time.Minute)
		d = startHB(t, path)
		defer d.stop()
		if got := d.heartbeatIncidents("scada-main"); len(got) != 0 {
			t.Fatalf("paged at once after downtime: %+v", got)
		}
		time.Sleep(4 * time.Minute)
		d.beat("scada-main")
		time.Sleep(4 * time.Minute)
		if got := d.heartbeatIncidents("scada-main"); len(got) != 0 {
			t.Fatalf("paged although beats arrive: %+v", got)
		}
	})
}

func TestHeartbeatUnknownID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := startHB(t, filepath.Join(t.TempDir(), "tocsin.db"))
		defer d.stop()
		err := d.hb.Beat(context.Background(), "nope")
		if escalation.KindOf(err) != escalation.NotFound {
			t.Errorf("beat of an unknown heartbeat = %v, want NotFound", err)
		}
	})
}

func TestDeadline(t *testing.T) {
	start := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	hb := escalation.Heartbeat{ID: "x", Interval: escalation.Duration(5 * time.Minute)}
	tests := []struct {
		name string
		last time.Time
		want time.Time
	}{
		{"never seen", time.Time{}, start.Add(5 * time.Minute)},
		{"beat before a quick restart", start.Add(-2 * time.Minute), start.Add(3 * time.Minute)},
		{"beat after start", start.Add(10 * time.Minute), start.Add(15 * time.Minute)},
		{"interval ran out while down", start.Add(-time.Hour), start.Add(5 * time.Minute)},
	}
	for _, tt := range tests {
		got := escalation.Deadline(hb, escalation.HeartbeatState{ID: "x", LastBeat: tt.last}, start)
		if !got.Equal(tt.want) {
			t.Errorf("%s: Deadline = %s, want %s", tt.name, got.Format(time.TimeOnly), tt.want.Format(time.TimeOnly))
		}
	}
}

func TestHeartbeatAddedByPolicyChangeStartsItsClockThen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := startHB(t, filepath.Join(t.TempDir(), "tocsin.db"))
		defer d.stop()
		time.Sleep(3 * time.Hour)
		p, err := policyfile.Load("policy.yaml", []byte(heartbeatPolicy+"  - {id: new-plc, service: press, interval: 10m}\n"))
		if err != nil {
			t.Fatal(err)
		}
		d.e.SetPolicy(p)
		time.Sleep(time.Minute)
		if got := d.heartbeatIncidents("new-plc"); len(got) != 0 {
			t.Fatalf("a heartbeat added 3h after start paged at once: %+v", got)
		}
		time.Sleep(10 * time.Minute)
		if got := d.heartbeatIncidents("new-plc"); len(got) != 1 {
			t.Fatalf("10m after it was added without a beat: %d incidents, want 1", len(got))
		}
	})
}
