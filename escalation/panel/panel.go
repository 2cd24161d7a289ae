// Package panel is the shop-floor alarm panel: it turns the open incidents
// of each zone into siren and light states on the device outputs, and the
// zone's buttons into acknowledgements, as operators know from industrial
// annunciators (silence the horn, acknowledge, reset).
//
// Per zone: the siren sounds for the most severe unacknowledged incident,
// with that severity's cadence, unless silenced; the light flashes while
// any incident is unacknowledged and is steady while incidents are
// acknowledged but open. Buttons: ack acknowledges every triggered incident
// of its zone (a long press resolves them), resolve resolves, silence mutes
// the zone's sirens without changing any incident until a new incident
// arrives (or a silenced one is acknowledged and later re-triggers).
//
// Silence is kept in memory: after a restart the siren sounds again, which
// is the safe side.
package panel

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/tocsin-relay/tocsin/device"
	"github.com/tocsin-relay/tocsin/escalation"
)

// Incidents is what the panel needs from the engine.
type Incidents interface {
	ZoneAlarms(ctx context.Context) ([]escalation.ZoneAlarm, error)
	AckZone(ctx context.Context, zone, by string) (int, error)
	ResolveZone(ctx context.Context, zone, by string) (int, error)
	AddTimeline(ctx context.Context, id int64, entries ...escalation.TimelineEntry) error
}

// Outputs is what the panel drives: a device.Manager.
type Outputs interface {
	SetZone(zone string, s device.ZoneState)
	Presses() <-chan device.Press
}

// Panel ties zones to outputs and buttons to incidents. Run owns all of
// its state; Changed and Status are safe from any goroutine.
type Panel struct {
	inc     Incidents
	out     Outputs
	log     *slog.Logger
	resync  time.Duration
	changed chan struct{}

	mu    sync.Mutex // guards zones, for Status
	zones map[string]ZoneStatus

	// owned by Run
	silenced map[string]map[int64]bool // zone -> triggered incidents silenced
	applied  map[string]device.ZoneState
}

// ZoneStatus is one zone as the panel shows it.
type ZoneStatus struct {
	Zone         string `json:"zone"`
	Siren        string `json:"siren"` // none, info, warning, error, critical
	Light        string `json:"light"` // off, steady, flashing
	Silenced     bool   `json:"silenced"`
	Triggered    int    `json:"triggered"`
	Acknowledged int    `json:"acknowledged"`
}

// Resync is how often the panel re-reads the zones even without Changed,
// so a missed notification or a database hiccup heals by itself.
const Resync = 30 * time.Second

// New returns a panel; Run starts it.
func New(inc Incidents, out Outputs, log *slog.Logger) *Panel {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Panel{
		inc:      inc,
		out:      out,
		log:      log,
		resync:   Resync,
		changed:  make(chan struct{}, 1),
		zones:    map[string]ZoneStatus{},
		silenced: map[string]map[int64]bool{},
		applied:  map[string]device.ZoneState{},
	}
}

// Changed tells the panel that incidents changed (wire it to the engine's
// Subscribe). It never blocks.
func (p *Panel) Changed() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// Status returns every zone with open incidents or a lit output.
func (p *Panel) Status() []ZoneStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []ZoneStatus
	for _, z := range sortedKeys(p.zones) {
		out = append(out, p.zones[z])
	}
	return out
}

// Run applies incident changes to the outputs and button presses to the
// incidents until ctx ends or the presses channel closes.
//
// A refresh reads every open incident that has a zone, so in a storm of
// thousands it costs milliseconds, and changes come faster than that. The
// first change after a quiet spell is shown at once; after that, refreshes
// for changes are spaced so that they take at most a 1/refreshDuty share
// of the time (with 10,000 open alarms: a refresh every few tens of
// milliseconds instead of back to back, which starved ingest on a Pi).
// Button presses are never delayed.
func (p *Panel) Run(ctx context.Context) error {
	p.refresh(ctx)
	t := time.NewTicker(p.resync)
	defer t.Stop()
	presses := p.out.Presses()
	var (
		next time.Time        // no refresh for a change before this
		hold <-chan time.Time // fires at next while a change waits
	)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p.changed:
			if wait := time.Until(next); wait > 0 {
				if hold == nil {
					hold = time.After(wait)
				}
				continue
			}
		case <-hold:
		case <-t.C:
		case pr, ok := <-presses:
			if !ok {
				return nil
			}
			p.press(ctx, pr)
		}
		hold = nil // this refresh shows any change that was waiting
		start := time.Now()
		p.refresh(ctx)
		next = time.Now().Add(refreshDuty * time.Since(start))
	}
}

// refreshDuty spaces refreshes for changes by this many times what the
// last one took: the panel spends at most about a fifth of a core on them.
const refreshDuty = 4

// press acts on one button press. Errors are logged, not returned: the
// panel must keep serving the other buttons, and the operator can press
// again.
func (p *Panel) press(ctx context.Context, pr device.Press) {
	log := p.log.With("input", pr.Input, "zone", pr.Zone, "long", pr.Long)
	var (
		n    int
		err  error
		verb string
	)
	switch {
	case pr.Action == device.ActionAck && !pr.Long:
		verb = "acknowledged"
		n, err = p.inc.AckZone(ctx, pr.Zone, pr.Input)
	case pr.Action == device.ActionAck, pr.Action == device.ActionResolve:
		verb = "resolved"
		n, err = p.inc.ResolveZone(ctx, pr.Zone, pr.Input)
	case pr.Action == device.ActionSilence:
		verb = "silenced"
		n, err = p.silence(ctx, pr)
	default: // lamp test: the device lights the lamps itself
		log.Info("lamp test")
		return
	}
	if err != nil {
		log.Error("button press not applied", "action", pr.Action, "err", err)
		return
	}
	log.Info("button", "action", pr.Action, "incidents", n, "result", verb)
}

// silence mutes the zone's sirens for the incidents triggered now and
// notes it on their timelines.
func (p *Panel) silence(ctx context.Context, pr device.Press) (int, error) {
	alarms, err := p.inc.ZoneAlarms(ctx)
	if err != nil {
		return 0, fmt.Errorf("zone alarms: %w", err)
	}
	set := p.silenced[pr.Zone]
	if set == nil {
		set = map[int64]bool{}
	}
	n := 0
	for _, a := range alarms {
		if a.Zone != pr.Zone || a.Status != escalation.Triggered || set[a.IncidentID] {
			continue
		}
		set[a.IncidentID] = true
		n++
		entry := escalation.TimelineEntry{At: pr.At, Kind: escalation.KindButton,
			Detail: fmt.Sprintf("sirens of zone %s silenced by %s", pr.Zone, pr.Input)}
		if err := p.inc.AddTimeline(ctx, a.IncidentID, entry); err != nil {
			p.log.Warn("silence not recorded on the timeline", "incident", a.IncidentID, "err", err)
		}
	}
	p.silenced[pr.Zone] = set
	return n, nil
}

// refresh reads the zones and pushes their states to the outputs.
func (p *Panel) refresh(ctx context.Context) {
	alarms, err := p.inc.ZoneAlarms(ctx)
	if err != nil {
		// Keep the outputs as they are: a siren that keeps sounding while
		// the database is failing is the right failure.
		if ctx.Err() == nil {
			p.log.Error("panel: cannot read zone alarms", "err", err)
		}
		return
	}
	type acc struct {
		st         device.ZoneState
		trig, ackd int
		fresh      bool // a triggered incident that was not silenced
	}
	zones := map[string]*acc{}
	trig := map[zoneIncident]bool{} // the triggered incidents, per zone
	for _, a := range alarms {
		if a.Status == escalation.Triggered {
			trig[zoneIncident{a.Zone, a.IncidentID}] = true
		}
		z := zones[a.Zone]
		if z == nil {
			z = &acc{}
			zones[a.Zone] = z
		}
		switch a.Status {
		case escalation.Triggered:
			z.trig++
			z.st.Light = device.LightFlashing
			if !p.silenced[a.Zone][a.IncidentID] {
				z.fresh = true
				z.st.Siren = max(z.st.Siren, alarmFor(a.Severity))
			}
		case escalation.Acknowledged:
			z.ackd++
			if z.st.Light == device.LightOff {
				z.st.Light = device.LightSteady
			}
		}
	}
	// A silence lasts until a new incident: once one sounds, the whole
	// zone sounds again. Incidents no longer triggered leave the set, so
	// an acknowledged incident that re-triggers sounds again too.
	for zone, set := range p.silenced {
		z := zones[zone]
		if z != nil && z.fresh && len(set) > 0 {
			delete(p.silenced, zone)
			for _, a := range alarms {
				if a.Zone == zone && a.Status == escalation.Triggered {
					z.st.Siren = max(z.st.Siren, alarmFor(a.Severity))
				}
			}
			continue
		}
		for id := range set {
			if !trig[zoneIncident{zone, id}] {
				delete(set, id)
			}
		}
		if len(set) == 0 {
			delete(p.silenced, zone)
		}
	}
	status := map[string]ZoneStatus{}
	for zone, z := range zones {
		p.apply(zone, z.st)
		status[zone] = ZoneStatus{Zone: zone, Siren: z.st.Siren.String(), Light: z.st.Light.String(),
			Silenced: len(p.silenced[zone]) > 0, Triggered: z.trig, Acknowledged: z.ackd}
	}
	for zone := range p.applied {
		if zones[zone] == nil {
			p.apply(zone, device.ZoneState{})
		}
	}
	p.mu.Lock()
	p.zones = status
	p.mu.Unlock()
}

func (p *Panel) apply(zone string, st device.ZoneState) {
	if prev, ok := p.applied[zone]; ok && prev == st {
		return
	}
	if st == (device.ZoneState{}) {
		delete(p.applied, zone)
	} else {
		p.applied[zone] = st
	}
	p.out.SetZone(zone, st)
}

// zoneIncident is one incident in one zone.
type zoneIncident struct {
	zone string
	id   int64
}

// alarmFor maps an incident severity to a siren alarm level.
func alarmFor(s escalation.Severity) device.Alarm {
	switch s {
	case escalation.SevCritical:
		return device.AlarmCritical
	case escalation.SevError:
		return device.AlarmError
	case escalation.SevWarning:
		return device.AlarmWarning
	}
	return device.AlarmInfo
}

func sortedKeys(m map[string]ZoneStatus) []string {
	return slices.Sorted(maps.Keys(m))
}
