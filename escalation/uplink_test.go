package escalation_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// runUplink starts a check whose probe answers from up (the network edge,
// faked by hand) against the rig's real engine and database.
func runUplink(t *testing.T, r *rig, up *atomic.Bool) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	u := &escalation.UplinkCheck{
		Target: "https://monitoring.lan/-/healthy", Service: "paint", Interval: time.Minute, Tries: 3,
		Probe: func(ctx context.Context) error {
			if up.Load() {
				return nil
			}
			return errors.New("connection refused")
		},
		Ingest: r.e, Lister: r.e,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := u.Run(ctx); err != nil {
			t.Error(err)
		}
	}()
	return func() { cancel(); <-done }
}

func (r *rig) uplinkIncidents() []escalation.Incident {
	r.t.Helper()
	synctest.Wait()
	all, err := r.e.Incidents(context.Background(), escalation.IncidentFilter{Limit: 100})
	if err != nil {
		r.t.Fatal(err)
	}
	var out []escalation.Incident
	for _, inc := range all {
		if inc.DedupKey == escalation.UplinkDedupKey("https://monitoring.lan/-/healthy") {
			out = append(out, inc)
		}
	}
	return out
}

func TestUplinkPagesAfterTriesAndResolvesOnRecovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, basePolicy)
		var up atomic.Bool
		up.Store(true)
		stop := runUplink(t, r, &up)
		defer stop()
		time.Sleep(30 * time.Second)
		up.Store(false) // probes at 1m, 2m and 3m fail
		time.Sleep(2 * time.Minute)
		if got := r.uplinkIncidents(); len(got) != 0 {
			t.Fatalf("paged after 2 failed probes: %+v", got)
		}
		time.Sleep(time.Minute)
		got := r.uplinkIncidents()
		if len(got) != 1 || got[0].Status != escalation.Triggered || got[0].Service != "paint" ||
			!strings.HasPrefix(got[0].Summary, "Internet/monitoring unreachable: https://monitoring.lan/-/healthy failed 3 checks") {
			t.Fatalf("after 3 failed probes: %+v, want one triggered paint incident saying what is unreachable", got)
		}
		// Still down: no more incidents or alerts; paint's policy pages
		// suzuki once.
		time.Sleep(10 * time.Minute)
		r.wantPages(got[0].ID, "suzuki/sms")
		if got := r.uplinkIncidents(); len(got) != 1 || got[0].AlertCount != 1 {
			t.Errorf("10m later: %+v, want the one incident unchanged", got)
		}
		up.Store(true)
		time.Sleep(time.Minute)
		if got := r.uplinkIncidents(); got[0].Status != escalation.Resolved {
			t.Errorf("after recovery the incident is %s, want resolved", got[0].Status)
		}
	})
}

func TestUplinkOneFailureIsNotAnOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, basePolicy)
		var up atomic.Bool
		up.Store(true)
		stop := runUplink(t, r, &up)
		defer stop()
		for range 5 { // fail two probes, succeed one, again and again
			time.Sleep(30 * time.Second)
			up.Store(false)
			time.Sleep(2 * time.Minute)
			up.Store(true)
			time.Sleep(30 * time.Second)
		}
		if got := r.uplinkIncidents(); len(got) != 0 {
			t.Errorf("paged for failures that never reached 3 in a row: %+v", got)
		}
	})
}

func TestUplinkResolvesAPageLeftOpenByAPreviousRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, basePolicy)
		var up atomic.Bool
		stop := runUplink(t, r, &up)
		time.Sleep(2*time.Minute + time.Second)
		if got := r.uplinkIncidents(); len(got) != 1 {
			t.Fatalf("down for 3 probes: %d incidents, want 1", len(got))
		}
		stop() // the daemon restarts while the uplink is down ...
		up.Store(true)
		stop = runUplink(t, r, &up) // ... and comes back with it up
		defer stop()
		if got := r.uplinkIncidents(); got[0].Status != escalation.Resolved {
			t.Errorf("first good probe after a restart left the incident %s, want resolved", got[0].Status)
		}
	})
}
