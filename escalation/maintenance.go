package escalation

import "time"

// maxMaintenanceChain bounds how many back-to-back windows InMaintenance
// follows to find where continuous maintenance ends.
const maxMaintenanceChain = 64

// InMaintenance reports whether service is inside a maintenance window at
// t and, if so, until when maintenance lasts without a break (windows that
// overlap or touch are followed from one to the next). Outside maintenance
// until is zero. One-off windows are [Start, End), a missing Start meaning
// "since ever"; weekly windows use the entry's TimeZone, then
// Settings.TimeZone, then UTC. An entry that cannot be read (a bad time
// zone or day, which Validate reports) never matches.
func (p *Policy) InMaintenance(service string, t time.Time) (in bool, until time.Time) {
	var ws []Maintenance
	for _, m := range p.Maintenance {
		if m.Service == service {
			ws = append(ws, m)
		}
	}
	if len(ws) == 0 {
		return false, time.Time{}
	}
	for i := 0; i < maxMaintenanceChain; i++ {
		end, ok := p.maintenanceEnd(ws, t)
		if !ok {
			break
		}
		in, until, t = true, end, end
	}
	return in, until
}

// maintenanceEnd returns the latest end of the windows in ws that contain t.
func (p *Policy) maintenanceEnd(ws []Maintenance, t time.Time) (time.Time, bool) {
	var end time.Time
	found := false
	later := func(e time.Time) {
		if !found || e.After(end) {
			end, found = e, true
		}
	}
	for _, m := range ws {
		if m.End != nil && (m.Start == nil || !t.Before(*m.Start)) && t.Before(*m.End) {
			later(*m.End)
		}
		if m.Weekly == nil {
			continue
		}
		w, err := compileWindow(*m.Weekly)
		if err != nil {
			continue
		}
		zone := m.TimeZone
		if zone == "" {
			zone = p.Settings.TimeZone
		}
		loc, err := LoadZone(zone)
		if err != nil {
			continue
		}
		if in, e := inWindows([]window{w}, loc, t); in {
			later(e)
		}
	}
	return end, found
}
