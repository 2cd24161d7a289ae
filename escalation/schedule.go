package escalation

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// OnCallAt is who is on call for one schedule at one instant, and until
// when that answer holds. It is the element of GET /api/v1/oncall.
type OnCallAt struct {
	Schedule string   `json:"schedule"`
	Contacts []string `json:"contacts"` // contact ids; empty (not nil) in a gap
	// Until is the next instant the answer changes (a handoff, a
	// restriction edge, an override edge); zero when it does not change
	// within a year.
	Until time.Time `json:"until,omitzero"`
}

// StartLayout is how Layer.Start is written: wall-clock time in the
// schedule's zone.
const StartLayout = "2006-01-02 15:04"

// onCallHorizon bounds the search for the next change of the answer, so
// that a schedule that never changes (one member, no restrictions) costs a
// bounded number of steps.
const (
	onCallHorizon  = 366 * 24 * time.Hour
	onCallMaxSteps = 5000
)

// OnCall answers "who is on call for s at t". It is a pure function of its
// arguments (time zones are loaded once and cached).
//
// Rules: each layer rotates through its members from Start, a wall-clock
// time in the schedule's zone; before Start the layer has nobody. A
// handoff or restriction edge whose wall time is skipped by a
// daylight-saving jump happens when the jump ends (02:30 on the night
// New York skips 02:00-03:00 becomes 03:00 EDT). Daily,
// weekly and whole-day rotations ("3d") hand off at the same local time
// every time, across daylight-saving changes; other lengths ("12h", "36h")
// are measured in absolute time from Start. A layer with restrictions has
// someone only inside them (the rotation keeps turning outside). The last
// layer in the list that has someone wins; overrides active at t beat all
// layers (several overlapping overrides put all of them on call). Nobody on
// call is a valid answer. An empty TimeZone means UTC.
func OnCall(s Schedule, t time.Time) (OnCallAt, error) {
	c, err := compileSchedule(s, "")
	if err != nil {
		return OnCallAt{}, err
	}
	return c.onCall(t), nil
}

// OnCallAll answers OnCall for every schedule of p, in policy order.
// Schedules without a time zone use Settings.TimeZone, then UTC. A
// schedule that cannot be evaluated is left out and its error joined into
// the returned error; the others are still answered.
func OnCallAll(p *Policy, t time.Time) ([]OnCallAt, error) {
	out := make([]OnCallAt, 0, len(p.Schedules))
	var errs []error
	for _, s := range p.Schedules {
		c, err := compileSchedule(s, p.Settings.TimeZone)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, c.onCall(t))
	}
	return out, errors.Join(errs...)
}

type compiledSchedule struct {
	id        string
	loc       *time.Location
	layers    []compiledLayer
	overrides []Override
}

type compiledLayer struct {
	members []string
	days    int           // > 0: the rotation is this many local days
	length  time.Duration // otherwise: this absolute length
	start   time.Time     // the first handoff
	// y, m, d, clock: Start as wall-clock parts, for day-based rotations.
	y      int
	m      time.Month
	d      int
	clock  int // minutes after midnight
	limits []window
}

// window is a restriction or weekly maintenance window: on the given
// weekdays, from..to minutes after local midnight; to <= from spans
// midnight into the next day.
type window struct {
	days     [7]bool // indexed by time.Weekday
	from, to int
}

func compileSchedule(s Schedule, defaultZone string) (*compiledSchedule, error) {
	zone := s.TimeZone
	if zone == "" {
		zone = defaultZone
	}
	loc, err := LoadZone(zone)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", s.ID, err)
	}
	c := &compiledSchedule{id: s.ID, loc: loc, overrides: s.Overrides}
	for i, l := range s.Layers {
		cl, err := compileLayer(l, loc)
		if err != nil {
			return nil, fmt.Errorf("schedule %q layer %d: %w", s.ID, i+1, err)
		}
		c.layers = append(c.layers, cl)
	}
	return c, nil
}

func compileLayer(l Layer, loc *time.Location) (compiledLayer, error) {
	var cl compiledLayer
	if len(l.Members) == 0 {
		return cl, errors.New("no members")
	}
	cl.members = l.Members
	var err error
	if cl.days, cl.length, err = ParseRotation(l.Rotation); err != nil {
		return cl, err
	}
	civil, err := ParseLocalStart(l.Start, time.UTC) // the wall-clock fields
	if err != nil {
		return cl, err
	}
	cl.y, cl.m, cl.d = civil.Date()
	cl.clock = civil.Hour()*60 + civil.Minute()
	cl.start = wallTime(cl.y, cl.m, cl.d, cl.clock, loc)
	for _, r := range l.Restrictions {
		w, err := compileWindow(r)
		if err != nil {
			return cl, err
		}
		cl.limits = append(cl.limits, w)
	}
	return cl, nil
}

// ParseRotation reads Layer.Rotation: "daily", "weekly" or a length such
// as "12h" or "3d" (at least one hour). Whole-day lengths come back as
// days, which keep the handoff at the same local time; others as an
// absolute length.
func ParseRotation(s string) (days int, length time.Duration, err error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "daily":
		return 1, 0, nil
	case "weekly":
		return 7, 0, nil
	case "":
		return 0, 0, errors.New("rotation is missing (want daily, weekly or a length such as 12h or 3d)")
	}
	d, err := ParseDuration(s)
	if err != nil {
		return 0, 0, fmt.Errorf("rotation %q: want daily, weekly or a length such as 12h or 3d", s)
	}
	if d < time.Hour {
		return 0, 0, fmt.Errorf("rotation %q: shorter than 1h", s)
	}
	if d%(24*time.Hour) == 0 {
		return int(d / (24 * time.Hour)), 0, nil
	}
	return 0, d, nil
}

// ParseLocalStart reads Layer.Start ("2026-11-02 09:00") as wall-clock
// time in loc.
func ParseLocalStart(s string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation(StartLayout, strings.TrimSpace(s), loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("start %q: want local time as YYYY-MM-DD HH:MM", s)
	}
	return t, nil
}

var zones sync.Map // zone name → *time.Location

// LoadZone loads an IANA time zone ("Asia/Tokyo"), caching it; "" is UTC.
// "Local" is refused: a policy must not depend on the machine's setting.
func LoadZone(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location), nil
	}
	if name == "Local" {
		return nil, errors.New(`time zone "Local" is not allowed: name an IANA zone such as Asia/Tokyo`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (want an IANA name such as Asia/Tokyo or Europe/Berlin)", name)
	}
	zones.Store(name, loc)
	return loc, nil
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// ParseDays reads Restriction.Days: "mon".."sun" (full names and ranges
// such as "mon-fri" too, any case). No days means every day.
func ParseDays(days []string) ([7]bool, error) {
	var set [7]bool
	if len(days) == 0 {
		return [7]bool{true, true, true, true, true, true, true}, nil
	}
	for _, d := range days {
		name := strings.ToLower(strings.TrimSpace(d))
		if a, b, ok := strings.Cut(name, "-"); ok {
			from, ok1 := dayNames[a]
			to, ok2 := dayNames[b]
			if !ok1 || !ok2 {
				return set, fmt.Errorf("unknown day range %q (want e.g. mon-fri)", d)
			}
			for w := from; ; w = (w + 1) % 7 {
				set[w] = true
				if w == to {
					break
				}
			}
			continue
		}
		w, ok := dayNames[name]
		if !ok {
			return set, fmt.Errorf("unknown day %q (want mon, tue, wed, thu, fri, sat or sun)", d)
		}
		set[w] = true
	}
	return set, nil
}

// ParseClock reads a local time of day "HH:MM" (00:00 to 24:00) as minutes
// after midnight.
func ParseClock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || len(h) < 1 || len(h) > 2 ||
		hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("time %q: want HH:MM between 00:00 and 24:00", s)
	}
	return hh*60 + mm, nil
}

func compileWindow(r Restriction) (window, error) {
	var w window
	var err error
	if w.days, err = ParseDays(r.Days); err != nil {
		return w, err
	}
	if w.from, err = ParseClock(r.From); err != nil {
		return w, fmt.Errorf("from: %w", err)
	}
	if w.to, err = ParseClock(r.To); err != nil {
		return w, fmt.Errorf("to: %w", err)
	}
	return w, nil
}

// interval is a half-open span of absolute time.
type interval struct{ start, end time.Time }

// windowIntervals lists the merged intervals of ws that touch the local
// days from t's day - 1 to t's day + 8, sorted by start. Wall-clock edges
// that fall into a daylight-saving gap move to its end (see wallTime).
func windowIntervals(ws []window, loc *time.Location, t time.Time) []interval {
	y, m, d := t.In(loc).Date()
	var ivs []interval
	for day := -1; day <= 8; day++ {
		date := time.Date(y, m, d+day, 12, 0, 0, 0, loc)
		for _, w := range ws {
			if !w.days[date.Weekday()] {
				continue
			}
			start := wallTime(y, m, d+day, w.from, loc)
			endDay := d + day
			if w.to <= w.from {
				endDay++
			}
			end := wallTime(y, m, endDay, w.to, loc)
			if end.After(start) {
				ivs = append(ivs, interval{start, end})
			}
		}
	}
	sort.Slice(ivs, func(i, j int) bool { return ivs[i].start.Before(ivs[j].start) })
	merged := ivs[:0]
	for _, iv := range ivs {
		if n := len(merged); n > 0 && !iv.start.After(merged[n-1].end) {
			if iv.end.After(merged[n-1].end) {
				merged[n-1].end = iv.end
			}
			continue
		}
		merged = append(merged, iv)
	}
	return merged
}

// inWindows reports whether t is inside one of ws and the next instant
// that changes (the end of the window it is in, or the start of the next
// one; zero if there is none).
func inWindows(ws []window, loc *time.Location, t time.Time) (bool, time.Time) {
	for _, iv := range windowIntervals(ws, loc, t) {
		if t.Before(iv.start) {
			return false, iv.start
		}
		if t.Before(iv.end) {
			return true, iv.end
		}
	}
	return false, time.Time{}
}

// slotStart is the k-th handoff of a day-based layer.
func (l *compiledLayer) slotStart(k int, loc *time.Location) time.Time {
	return wallTime(l.y, l.m, l.d+k*l.days, l.clock, loc)
}

// wallTime is the instant the clocks in loc show min minutes after
// midnight of the given day (out-of-range days and minutes normalise as
// in time.Date). When that wall time does not exist because the clocks
// jump forward over it, it is the end of the jump: the first instant at
// which the clocks show that time or later. (time.Date alone may pick an
// instant an hour early.)
func wallTime(y int, m time.Month, d, min int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, 0, min, 0, 0, loc)
	want := time.Date(y, m, d, 0, min, 0, 0, time.UTC)
	sy, sm, sd := t.Date()
	shown := time.Date(sy, sm, sd, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	diff := want.Sub(shown)
	if diff <= 0 {
		return t
	}
	later := t.Add(diff)
	if start, _ := later.ZoneBounds(); start.After(t) && !start.After(later) {
		return start
	}
	return later
}

// at returns the member of l on call at t (ok false when nobody is) and
// the next instant after t at which that can change.
func (l *compiledLayer) at(t time.Time, loc *time.Location) (member string, ok bool, next time.Time) {
	if t.Before(l.start) {
		return "", false, l.start
	}
	var k int
	if l.days > 0 {
		ly, lm, ld := t.In(loc).Date()
		from := time.Date(l.y, l.m, l.d, 0, 0, 0, 0, time.UTC)
		to := time.Date(ly, lm, ld, 0, 0, 0, 0, time.UTC)
		k = int((to.Unix()-from.Unix())/(24*3600)) / l.days // Unix: Sub saturates after 292 years
		for k > 0 && l.slotStart(k, loc).After(t) {
			k--
		}
		for !l.slotStart(k+1, loc).After(t) {
			k++
		}
		next = l.slotStart(k+1, loc)
	} else {
		k = int(t.Sub(l.start) / l.length)
		next = l.start.Add(time.Duration(k+1) * l.length)
	}
	member, ok = l.members[k%len(l.members)], true
	if len(l.limits) > 0 {
		in, edge := inWindows(l.limits, loc, t)
		if !in {
			member, ok = "", false
		}
		if !edge.IsZero() && edge.Before(next) {
			next = edge
		}
	}
	return member, ok, next
}

// at returns who is on call at t and the earliest instant after t at
// which any part of the schedule has an edge (not every edge changes the
// answer).
func (c *compiledSchedule) at(t time.Time) (contacts []string, next time.Time) {
	earlier := func(e time.Time) {
		if e.After(t) && (next.IsZero() || e.Before(next)) {
			next = e
		}
	}
	for _, o := range c.overrides {
		if !t.Before(o.Start) && t.Before(o.End) && !slices.Contains(contacts, o.Contact) {
			contacts = append(contacts, o.Contact)
		}
		earlier(o.Start)
		earlier(o.End)
	}
	found := len(contacts) > 0
	for i := len(c.layers) - 1; i >= 0; i-- {
		m, ok, e := c.layers[i].at(t, c.loc)
		earlier(e)
		if ok && !found {
			contacts, found = []string{m}, true
		}
	}
	if contacts == nil {
		contacts = []string{}
	}
	return contacts, next
}

func (c *compiledSchedule) onCall(t time.Time) OnCallAt {
	cur, next := c.at(t)
	a := OnCallAt{Schedule: c.id, Contacts: cur}
	for i := 0; i < onCallMaxSteps && !next.IsZero() && next.Sub(t) <= onCallHorizon; i++ {
		got, n := c.at(next)
		if !slices.Equal(got, cur) {
			a.Until = next
			break
		}
		next = n
	}
	return a
}
