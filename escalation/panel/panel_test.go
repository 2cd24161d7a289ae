package panel_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/tocsin-relay/tocsin/device"
	"github.com/tocsin-relay/tocsin/device/sim"
	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/panel"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

func testPolicy() *escalation.Policy {
	return &escalation.Policy{
		Contacts: []escalation.Contact{{ID: "tanaka", Phone: "+819012345678"}},
		Services: []escalation.Service{{ID: "press-line-1", EscalationPolicy: "line1"}},
		EscalationPolicies: []escalation.EscalationPolicy{{ID: "line1", Levels: []escalation.Level{
			{Notify: []escalation.Target{{Zone: "line1"}, {Contact: "tanaka"}}},
		}}},
	}
}

func gpioConfig() device.Config {
	return device.Config{
		Backend: device.BackendSim,
		Outputs: []device.OutputConfig{
			{ID: "siren-1", Pin: "GPIO17", Zone: "line1", Kind: device.KindSiren},
			{ID: "red-1", Pin: "GPIO27", Zone: "line1", Kind: device.KindLight},
		},
		Inputs: []device.InputConfig{
			{ID: "ack-1", Pin: "GPIO22", Zone: "line1", Action: device.ActionAck, Pull: "up", ActiveLow: true},
			{ID: "silence-1", Pin: "GPIO23", Zone: "line1", Action: device.ActionSilence, Pull: "up", ActiveLow: true},
			{ID: "resolve-1", Pin: "GPIO24", Zone: "line1", Action: device.ActionResolve, Pull: "up", ActiveLow: true},
		},
	}
}

// bench is the real chain: SQLite store, engine, device manager on the sim
// backend, and the panel between them, all inside one synctest bubble.
type bench struct {
	eng *escalation.Engine
	dev *device.Manager
	hw  *sim.Backend
	pnl *panel.Panel
}

func newBench(t *testing.T) *bench {
	t.Helper()
	return newBenchWith(t, nil)
}

// newBenchWith is newBench with the panel reading the engine through
// wrap (nil: directly).
func newBenchWith(t *testing.T, wrap func(panel.Incidents) panel.Incidents) *bench {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tocsin.db"))
	if err != nil {
		t.Fatal(err)
	}
	eng := escalation.NewEngine(db, testPolicy(), log)
	hw := sim.New()
	dev, err := device.Open(hw, gpioConfig(), device.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	var inc panel.Incidents = eng
	if wrap != nil {
		inc = wrap(eng)
	}
	pnl := panel.New(inc, dev, log)
	cancelSub := eng.Subscribe(func(escalation.Incident) { pnl.Changed() })
	ctx, cancel := context.WithCancel(context.Background())
	engDone, pnlDone := make(chan struct{}), make(chan struct{})
	go func() { eng.Run(ctx); close(engDone) }()
	go func() { pnl.Run(ctx); close(pnlDone) }()
	t.Cleanup(func() {
		cancel()
		<-pnlDone
		<-engDone
		cancelSub()
		if err := dev.Close(); err != nil {
			t.Error(err)
		}
		db.Close()
	})
	return &bench{eng: eng, dev: dev, hw: hw, pnl: pnl}
}

func (b *bench) alert(t *testing.T, sev escalation.Severity, key string) int64 {
	t.Helper()
	res, err := b.eng.Ingest(context.Background(), escalation.Event{
		Service: "press-line-1", Summary: "Hydraulic pressure low", Severity: sev,
		DedupKey: key, Action: escalation.Trigger, Intake: "cli",
	})
	if err != nil {
		t.Fatal(err)
	}
	synctest.Wait()
	return res.IncidentID
}

func (b *bench) press(t *testing.T, line string, hold time.Duration) {
	t.Helper()
	if err := b.hw.Press(context.Background(), line, hold); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // debounce, then the panel acts
	synctest.Wait()
}

// modes returns the siren's and the light's modes as the device shows them.
func (b *bench) modes() (siren, light string) {
	synctest.Wait()
	for _, o := range b.dev.Status().Outputs {
		switch o.ID {
		case "siren-1":
			siren = o.Mode
		case "red-1":
			light = o.Mode
		}
	}
	return siren, light
}

func (b *bench) incident(t *testing.T, id int64) escalation.Incident {
	t.Helper()
	inc, err := b.eng.Incident(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

func timeline(inc escalation.Incident) string {
	var s []string
	for _, e := range inc.Timeline {
		s = append(s, e.Kind+": "+e.Detail)
	}
	return strings.Join(s, "\n")
}

func TestAckStopsSirenAndLightGoesSteady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBench(t)
		id := b.alert(t, escalation.SevCritical, "p1")
		if siren, light := b.modes(); siren != "critical" || light != "flashing" {
			t.Fatalf("after a critical incident: siren %q light %q, want critical, flashing", siren, light)
		}
		if b.hw.Level("GPIO17") != gpio.High {
			t.Fatal("siren line low during a critical incident")
		}
		b.press(t, "GPIO22", 200*time.Millisecond)
		if siren, light := b.modes(); siren != "off" || light != "steady" {
			t.Fatalf("after ack: siren %q light %q, want off, steady", siren, light)
		}
		if b.hw.Level("GPIO17") != gpio.Low || b.hw.Level("GPIO27") != gpio.High {
			t.Fatal("after ack the siren line is not low or the light line not high")
		}
		inc := b.incident(t, id)
		if inc.Status != escalation.Acknowledged || inc.AcknowledgedBy != "ack-1" {
			t.Fatalf("incident %s by %q, want acknowledged by ack-1", inc.Status, inc.AcknowledgedBy)
		}
		if tl := timeline(inc); !strings.Contains(tl, "via button") {
			t.Errorf("timeline lacks the button:\n%s", tl)
		}
		if zs := b.pnl.Status(); len(zs) != 1 || zs[0].Acknowledged != 1 || zs[0].Light != "steady" {
			t.Errorf("panel status %+v", zs)
		}
	})
}

// costlyReads is the engine as the panel reads it in a storm: each read of
// the zone alarms takes cost (thousands of open incidents), and when each
// read started is recorded.
type costlyReads struct {
	panel.Incidents
	cost  time.Duration
	mu    sync.Mutex
	reads []time.Time
}

func (c *costlyReads) ZoneAlarms(ctx context.Context) ([]escalation.ZoneAlarm, error) {
	c.mu.Lock()
	c.reads = append(c.reads, time.Now())
	c.mu.Unlock()
	time.Sleep(c.cost)
	return c.Incidents.ZoneAlarms(ctx)
}

// In a storm the panel does not read the zones back to back: the first
// alarm sounds at once, later changes are shown with refreshes spaced by
// four times what a read costs, and the last change is shown too. A
// button press is acted on at once, whatever the spacing.
func TestPanelRefreshesSpacedInAStorm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const cost = 5 * time.Millisecond
		reads := &costlyReads{cost: cost}
		b := newBenchWith(t, func(inc panel.Incidents) panel.Incidents { reads.Incidents = inc; return reads })
		time.Sleep(time.Second) // the start-up read is over
		synctest.Wait()
		start := time.Now()
		reads.mu.Lock()
		reads.reads = nil
		reads.mu.Unlock()

		// 200 alarms, one every millisecond.
		for i := range 200 {
			b.alert(t, escalation.SevWarning, fmt.Sprintf("storm-%d", i))
			if i == 0 {
				time.Sleep(cost)
				if siren, _ := b.modes(); siren != "warning" {
					t.Fatalf("first alarm of the storm: siren %q after one read, want warning at once", siren)
				}
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Second)
		if zs := b.pnl.Status(); len(zs) != 1 || zs[0].Triggered != 200 {
			t.Fatalf("after the storm the panel shows %+v, want 200 triggered", zs)
		}
		reads.mu.Lock()
		got := append([]time.Time(nil), reads.reads...)
		reads.mu.Unlock()
		// Back to back, a read every 5 ms for the storm's 205 ms would be
		// about 40; spaced by 4 × 5 ms, about 9.
		if len(got) > 12 {
			t.Errorf("%d reads of the zones during a %v storm, want them spaced (at most 12)", len(got), time.Since(start)-time.Second)
		}
		for i := 1; i < len(got); i++ {
			if gap := got[i].Sub(got[i-1]); gap < 5*cost {
				t.Errorf("reads %d and %d only %v apart, want at least %v", i-1, i, gap, 5*cost)
			}
		}

		// A press right after a change is acted on at once.
		b.alert(t, escalation.SevCritical, "last")
		b.press(t, "GPIO22", 200*time.Millisecond)
		if siren, light := b.modes(); siren != "off" || light != "steady" {
			t.Errorf("after ack in the storm: siren %q light %q, want off, steady", siren, light)
		}
	})
}

func TestLongPressResolves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBench(t)
		id := b.alert(t, escalation.SevError, "p1")
		if siren, _ := b.modes(); siren != "error" {
			t.Fatalf("siren %q for an error incident", siren)
		}
		b.press(t, "GPIO22", 3500*time.Millisecond)
		if inc := b.incident(t, id); inc.Status != escalation.Resolved || inc.ResolvedBy != "ack-1" {
			t.Fatalf("after a long ack: %s by %q, want resolved by ack-1", inc.Status, inc.ResolvedBy)
		}
		if siren, light := b.modes(); siren != "off" || light != "off" {
			t.Fatalf("after resolve: siren %q light %q, want off, off", siren, light)
		}
		if len(b.pnl.Status()) != 0 {
			t.Errorf("panel still shows %+v", b.pnl.Status())
		}
	})
}

func TestResolveButton(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBench(t)
		id := b.alert(t, escalation.SevWarning, "p1")
		if siren, _ := b.modes(); siren != "warning" {
			t.Fatalf("siren %q for a warning incident", siren)
		}
		b.press(t, "GPIO24", 200*time.Millisecond)
		if inc := b.incident(t, id); inc.Status != escalation.Resolved {
			t.Fatalf("after resolve-1: %s", inc.Status)
		}
	})
}

func TestSilenceUntilNextIncident(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBench(t)
		first := b.alert(t, escalation.SevCritical, "p1")
		b.press(t, "GPIO23", 200*time.Millisecond)
		if siren, light := b.modes(); siren != "off" || light != "flashing" {
			t.Fatalf("after silence: siren %q light %q, want off, flashing", siren, light)
		}
		inc := b.incident(t, first)
		if inc.Status != escalation.Triggered {
			t.Fatalf("silence changed the incident to %s", inc.Status)
		}
		if tl := timeline(inc); !strings.Contains(tl, "silenced by silence-1") {
			t.Errorf("timeline lacks the silence:\n%s", tl)
		}
		if zs := b.pnl.Status(); len(zs) != 1 || !zs[0].Silenced {
			t.Errorf("panel status %+v, want line1 silenced", zs)
		}
		// The same incident alerting again is not a new incident.
		b.alert(t, escalation.SevCritical, "p1")
		if siren, _ := b.modes(); siren != "off" {
			t.Fatalf("a repeat alert of the silenced incident sounded the siren (%q)", siren)
		}
		time.Sleep(time.Minute) // resyncs change nothing
		if siren, _ := b.modes(); siren != "off" {
			t.Fatalf("siren %q a minute after silence", siren)
		}
		// A new incident sounds the siren again, at the worst severity.
		b.alert(t, escalation.SevWarning, "p2")
		if siren, light := b.modes(); siren != "critical" || light != "flashing" {
			t.Fatalf("after a new incident: siren %q light %q, want critical, flashing", siren, light)
		}
		b.press(t, "GPIO22", 200*time.Millisecond)
		if siren, light := b.modes(); siren != "off" || light != "steady" {
			t.Fatalf("after ack: siren %q light %q", siren, light)
		}
	})
}
