package escalation

import (
	"encoding/json"
	"math"
	"sort"
	"time"
)

// The on-call report answers two questions: how fast does each service get
// answered and fixed (MTTA, MTTR), and how much does paging cost each
// person, split by when the phone rang: business hours, off hours, or
// sleep hours. Night pages are what burns people out.

// DefaultReportSpan is how far back the report looks when not told.
const DefaultReportSpan = 30 * 24 * time.Hour

// PageRecord is one message that reached a person: a page SMS or call that
// was sent (a digest covering several incidents counts once).
type PageRecord struct {
	ContactID string
	Channel   Channel
	At        time.Time
}

// HourClass says when, in a person's working life, an instant falls.
type HourClass int

// Hour classes. Sleep wins over off hours; business hours never overlap
// sleep hours.
const (
	BusinessHours HourClass = iota // Monday to Friday, 09:00–18:00
	OffHours                       // evenings, early mornings, weekend days
	SleepHours                     // 22:00–07:00, every day
)

// ClassifyHour returns the class of t in loc.
func ClassifyHour(t time.Time, loc *time.Location) HourClass {
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	h := lt.Hour()
	switch {
	case h >= 22 || h < 7:
		return SleepHours
	case lt.Weekday() != time.Saturday && lt.Weekday() != time.Sunday && h >= 9 && h < 18:
		return BusinessHours
	}
	return OffHours
}

// Percentiles are the median and the 95th percentile of some durations
// (nearest rank). N is how many there were; with none both are zero.
type Percentiles struct {
	N   int
	P50 time.Duration
	P95 time.Duration
}

type percentilesJSON struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_seconds"`
	P95 float64 `json:"p95_seconds"`
}

// MarshalJSON writes the percentiles in seconds, as the API does for
// every duration a script may graph.
func (p Percentiles) MarshalJSON() ([]byte, error) {
	return json.Marshal(percentilesJSON{N: p.N, P50: p.P50.Seconds(), P95: p.P95.Seconds()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (p *Percentiles) UnmarshalJSON(b []byte) error {
	var v percentilesJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = Percentiles{N: v.N, P50: time.Duration(v.P50 * float64(time.Second)), P95: time.Duration(v.P95 * float64(time.Second))}
	return nil
}

// PercentilesOf computes nearest-rank percentiles; ds is not modified.
func PercentilesOf(ds []time.Duration) Percentiles {
	if len(ds) == 0 {
		return Percentiles{}
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[max(i, 0)]
	}
	return Percentiles{N: len(s), P50: rank(0.50), P95: rank(0.95)}
}

// ServiceReport is one service's response times.
type ServiceReport struct {
	Service   string      `json:"service"`
	Incidents int         `json:"incidents"`
	MTTA      Percentiles `json:"mtta"` // created → acknowledged
	MTTR      Percentiles `json:"mttr"` // created → resolved
}

// PersonReport is one person's paging load.
type PersonReport struct {
	Contact  string `json:"contact"`
	TimeZone string `json:"time_zone"`
	Pages    int    `json:"pages"`
	Business int    `json:"business_hours"`
	Off      int    `json:"off_hours"`
	Sleep    int    `json:"sleep_hours"`
}

// Report is the on-call report for incidents created since Since.
type Report struct {
	Since    time.Time       `json:"since"`
	Until    time.Time       `json:"until"`
	Services []ServiceReport `json:"services"`
	People   []PersonReport  `json:"people"`
}

// ReportBuilder adds up the on-call report one incident and one page at a
// time, so that a report over years of history costs a few bytes per
// incident (its two durations), not the incidents themselves.
type ReportBuilder struct {
	since, until time.Time
	zone         func(contact string) *time.Location
	bySvc        map[string]*serviceAcc
	byPerson     map[string]*personAcc
}

type personAcc struct {
	PersonReport
	loc *time.Location
}

type serviceAcc struct {
	n        int
	ack, res []time.Duration
}

// NewReportBuilder starts the report for [since, until). zone gives each
// contact's time zone for the hour classes (UTC when nil or unknown).
func NewReportBuilder(since, until time.Time, zone func(contact string) *time.Location) *ReportBuilder {
	return &ReportBuilder{since: since, until: until, zone: zone, bySvc: map[string]*serviceAcc{}, byPerson: map[string]*personAcc{}}
}

// AddIncident counts one incident of service created at created, and its
// times to acknowledgement and resolution when it had them. The caller
// leaves drills out.
func (b *ReportBuilder) AddIncident(service string, created time.Time, acked, resolved *time.Time) {
	a := b.bySvc[service]
	if a == nil {
		a = &serviceAcc{}
		b.bySvc[service] = a
	}
	a.n++
	if acked != nil && !acked.Before(created) {
		a.ack = append(a.ack, acked.Sub(created))
	}
	if resolved != nil && !resolved.Before(created) {
		a.res = append(a.res, resolved.Sub(created))
	}
}

// AddPage counts one message that reached a person.
func (b *ReportBuilder) AddPage(p PageRecord) {
	pr := b.byPerson[p.ContactID]
	if pr == nil {
		loc := time.UTC
		if b.zone != nil {
			if l := b.zone(p.ContactID); l != nil {
				loc = l
			}
		}
		pr = &personAcc{PersonReport{Contact: p.ContactID, TimeZone: loc.String()}, loc}
		b.byPerson[p.ContactID] = pr
	}
	pr.Pages++
	switch ClassifyHour(p.At, pr.loc) {
	case BusinessHours:
		pr.Business++
	case OffHours:
		pr.Off++
	case SleepHours:
		pr.Sleep++
	}
}

// Report returns the report of what was added: services by name, the
// most woken-up person first.
func (b *ReportBuilder) Report() Report {
	r := Report{Since: b.since, Until: b.until, Services: []ServiceReport{}, People: []PersonReport{}}
	for svc, a := range b.bySvc {
		r.Services = append(r.Services, ServiceReport{Service: svc, Incidents: a.n, MTTA: PercentilesOf(a.ack), MTTR: PercentilesOf(a.res)})
	}
	sort.Slice(r.Services, func(i, j int) bool { return r.Services[i].Service < r.Services[j].Service })
	for _, pr := range b.byPerson {
		r.People = append(r.People, pr.PersonReport)
	}
	// The most woken-up person first: that is who the report is for.
	sort.Slice(r.People, func(i, j int) bool {
		a, b := r.People[i], r.People[j]
		if a.Sleep != b.Sleep {
			return a.Sleep > b.Sleep
		}
		if a.Pages != b.Pages {
			return a.Pages > b.Pages
		}
		return a.Contact < b.Contact
	})
	return r
}

// ContactZones maps each contact to the time zone its hours are judged
// in: the zone of the first schedule that has the contact as a member or
// override, else the policy's settings.time_zone, else UTC. Unknown zone
// names fall back the same way.
func ContactZones(p *Policy) func(contact string) *time.Location {
	def := time.UTC
	if p != nil && p.Settings.TimeZone != "" {
		if l, err := time.LoadLocation(p.Settings.TimeZone); err == nil {
			def = l
		}
	}
	zones := map[string]*time.Location{}
	if p != nil {
		for _, s := range p.Schedules {
			l, err := time.LoadLocation(s.TimeZone)
			if err != nil || s.TimeZone == "" {
				continue
			}
			for _, layer := range s.Layers {
				for _, m := range layer.Members {
					if _, ok := zones[m]; !ok {
						zones[m] = l
					}
				}
			}
			for _, o := range s.Overrides {
				if _, ok := zones[o.Contact]; !ok {
					zones[o.Contact] = l
				}
			}
		}
	}
	return func(contact string) *time.Location {
		if l, ok := zones[contact]; ok {
			return l
		}
		return def
	}
}
