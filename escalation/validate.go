package escalation

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// ValidationError is one problem found in a policy. Path names the field
// the way the policy file spells it ("escalation_policies[0].levels[1].after"),
// so that a loader can point at the line and the API at the field.
type ValidationError struct {
	Path string
	Msg  string
}

func (e ValidationError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// ValidationErrors is every problem found in a policy, as one error.
type ValidationErrors []ValidationError

func (es ValidationErrors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Normalize rewrites p into the form the engine works with: phone numbers
// in E.164 (national forms read with Settings.DefaultRegion), the region in
// upper case, and Settings.TimeZone copied into schedules and maintenance
// windows that name no zone, so that OnCall on a single schedule agrees
// with the policy. Values it cannot read are left as they are for Validate
// to report. Call Normalize, then Validate, whenever a policy comes in.
func (p *Policy) Normalize() {
	p.Settings.DefaultRegion = strings.ToUpper(strings.TrimSpace(p.Settings.DefaultRegion))
	for i := range p.Contacts {
		if n, err := NormalizeNumber(p.Contacts[i].Phone, p.Settings.DefaultRegion); err == nil {
			p.Contacts[i].Phone = n
		}
	}
	if p.Settings.TimeZone != "" {
		for i := range p.Schedules {
			if p.Schedules[i].TimeZone == "" {
				p.Schedules[i].TimeZone = p.Settings.TimeZone
			}
		}
		for i := range p.Maintenance {
			if p.Maintenance[i].Weekly != nil && p.Maintenance[i].TimeZone == "" {
				p.Maintenance[i].TimeZone = p.Settings.TimeZone
			}
		}
	}
}

// Validate returns every problem in p, or nil when the engine can run it:
// missing, duplicate and unknown ids (contacts, services, schedules,
// escalation policies, heartbeats), phone numbers that are invalid, not
// yet in E.164 (Normalize converts them) or shared by two contacts (a
// reply could not tell who sent it), empty schedules, rotations and
// member lists, bad rotations, time zones, days and times, levels out of
// order or without targets, targets that are not exactly one of schedule,
// contact or zone, unknown channels, services without a known escalation
// policy, heartbeats and maintenance windows for unknown services,
// duplicate routing keys and negative counts or durations. Validate does
// not modify p.
func (p *Policy) Validate() []ValidationError {
	v := &validator{}
	contacts := v.ids("contacts", len(p.Contacts), func(i int) string { return p.Contacts[i].ID })
	policies := v.ids("escalation_policies", len(p.EscalationPolicies), func(i int) string { return p.EscalationPolicies[i].ID })
	schedules := v.ids("schedules", len(p.Schedules), func(i int) string { return p.Schedules[i].ID })
	services := v.ids("services", len(p.Services), func(i int) string { return p.Services[i].ID })
	v.ids("heartbeats", len(p.Heartbeats), func(i int) string { return p.Heartbeats[i].ID })
	webhooks := v.ids("webhooks", len(p.Webhooks), func(i int) string { return p.Webhooks[i].ID })

	if r := p.Settings.DefaultRegion; r != "" && !KnownRegion(r) {
		v.add("settings.default_region", "unknown region %q (want an ISO 3166 code such as JP, US or DE)", r)
	}
	defaultZoneOK := true
	if z := p.Settings.TimeZone; z != "" {
		if _, err := LoadZone(z); err != nil {
			v.add("settings.time_zone", "%v", err)
			defaultZoneOK = false
		}
	}
	if p.Settings.AckTimeout < 0 {
		v.add("settings.ack_timeout", "must not be negative")
	}
	if p.Settings.DigestWindow < 0 {
		v.add("settings.digest_window", "must not be negative")
	}
	if d := p.Settings.UndeliveredAfter; d < 0 || d > 0 && d.D() < 30*time.Second {
		v.add("settings.undelivered_after", "must be at least 30s (networks take seconds to report), or left out")
	}
	if p.Settings.SMSPerContact < 0 {
		v.add("settings.sms_per_contact_per_minute", "must not be negative")
	}

	phones := map[string]int{}
	for i, c := range p.Contacts {
		path := fmt.Sprintf("contacts[%d]", i)
		n, err := NormalizeNumber(c.Phone, p.Settings.DefaultRegion)
		switch {
		case strings.TrimSpace(c.Phone) == "":
			v.add(path+".phone", "missing: every contact needs a phone number")
		case err != nil:
			v.add(path+".phone", "%s", strings.TrimPrefix(err.Error(), ErrInvalidNumber.Error()+" "))
		case n != c.Phone:
			v.add(path+".phone", "%q is not in E.164 form (%s); Normalize rewrites it", c.Phone, n)
		}
		if err == nil {
			if j, dup := phones[n]; dup {
				v.add(path+".phone", "%s is also the phone of contacts[%d] (%s): an SMS reply from it could not tell them apart", n, j, p.Contacts[j].ID)
			} else {
				phones[n] = i
			}
		}
		switch c.Language {
		case "", "en", "ja":
		default:
			v.add(path+".language", "unknown language %q (want ja or en)", c.Language)
		}
		if c.Email != "" {
			if err := checkEmail(c.Email); err != nil {
				v.add(path+".email", "%v", err)
			}
		}
		if c.NtfyTopic != "" && !validTopic(c.NtfyTopic) {
			v.add(path+".ntfy_topic", "%q is not an ntfy topic: use 1 to 64 letters, digits, - and _", c.NtfyTopic)
		}
	}
	v.webhooks(p, services)
	if u := p.Settings.PublicURL; u != "" {
		if err := checkHTTPURL(u); err != nil {
			v.add("settings.public_url", "%v", err)
		}
	}

	routingKeys := map[string]int{}
	for i, s := range p.Services {
		path := fmt.Sprintf("services[%d]", i)
		switch {
		case s.EscalationPolicy == "":
			v.add(path+".escalation_policy", "missing: service %q needs an escalation policy", s.ID)
		case !policies[s.EscalationPolicy]:
			v.add(path+".escalation_policy", "unknown escalation policy %q", s.EscalationPolicy)
		}
		if s.RoutingKey != "" {
			if j, dup := routingKeys[s.RoutingKey]; dup {
				v.add(path+".routing_key", "routing key already used by services[%d] (%s)", j, p.Services[j].ID)
			} else {
				routingKeys[s.RoutingKey] = i
			}
		}
		if s.GroupBy < 0 {
			v.add(path+".group_by", "must not be negative")
		}
	}

	for i, s := range p.Schedules {
		path := fmt.Sprintf("schedules[%d]", i)
		zone := s.TimeZone
		if zone == "" {
			zone = p.Settings.TimeZone
		}
		loc, err := LoadZone(zone)
		if err != nil {
			if s.TimeZone != "" || defaultZoneOK {
				v.add(path+".time_zone", "%v", err)
			}
			loc = nil
		}
		if len(s.Layers) == 0 {
			v.add(path+".layers", "schedule %q has no layers: nobody would ever be on call", s.ID)
		}
		for j, l := range s.Layers {
			lp := fmt.Sprintf("%s.layers[%d]", path, j)
			if _, _, err := ParseRotation(l.Rotation); err != nil {
				v.add(lp+".rotation", "%v", err)
			}
			if strings.TrimSpace(l.Start) == "" {
				v.add(lp+".start", "missing: the first handoff as YYYY-MM-DD HH:MM")
			} else {
				if loc == nil {
					loc = time.UTC // the zone is reported; still check the format
				}
				if _, err := ParseLocalStart(l.Start, loc); err != nil {
					v.add(lp+".start", "%v", err)
				}
			}
			if len(l.Members) == 0 {
				v.add(lp+".members", "no members: the layer needs at least one contact")
			}
			for k, m := range l.Members {
				if !contacts[m] {
					v.add(fmt.Sprintf("%s.members[%d]", lp, k), "unknown contact %q", m)
				}
			}
			for k, r := range l.Restrictions {
				v.window(fmt.Sprintf("%s.restrictions[%d]", lp, k), r)
			}
		}
		for j, o := range s.Overrides {
			op := fmt.Sprintf("%s.overrides[%d]", path, j)
			if !contacts[o.Contact] {
				if o.Contact == "" {
					v.add(op+".contact", "missing: who takes over")
				} else {
					v.add(op+".contact", "unknown contact %q", o.Contact)
				}
			}
			switch {
			case o.Start.IsZero():
				v.add(op+".start", "missing: an RFC 3339 time such as 2026-12-01T18:00:00+09:00")
			case o.End.IsZero():
				v.add(op+".end", "missing: an RFC 3339 time such as 2026-12-02T09:00:00+09:00")
			case !o.End.After(o.Start):
				v.add(op+".end", "end %s is not after start %s", o.End.Format(timeLayout), o.Start.Format(timeLayout))
			}
		}
	}

	for i, e := range p.EscalationPolicies {
		path := fmt.Sprintf("escalation_policies[%d]", i)
		if e.Repeat < 0 {
			v.add(path+".repeat", "must not be negative")
		}
		if len(e.Levels) == 0 {
			v.add(path+".levels", "escalation policy %q has no levels", e.ID)
		}
		for j, l := range e.Levels {
			lp := fmt.Sprintf("%s.levels[%d]", path, j)
			if l.After < 0 {
				v.add(lp+".after", "must not be negative")
			} else if j > 0 && l.After < e.Levels[j-1].After {
				v.add(lp+".after", "levels out of order: %s comes before the previous level's %s", l.After.Short(), e.Levels[j-1].After.Short())
			}
			if len(l.Notify) == 0 {
				v.add(lp+".notify", "level %d notifies nobody", j+1)
			}
			for k, t := range l.Notify {
				tp := fmt.Sprintf("%s.notify[%d]", lp, k)
				v.target(tp, t, contacts, schedules, webhooks)
				v.addresses(tp, t, p)
			}
		}
	}

	for i, h := range p.Heartbeats {
		path := fmt.Sprintf("heartbeats[%d]", i)
		v.serviceRef(path+".service", h.Service, services)
		if h.Interval <= 0 {
			v.add(path+".interval", "missing or zero: how often the heartbeat must arrive, such as 5m")
		}
	}

	for i, m := range p.Maintenance {
		path := fmt.Sprintf("maintenance[%d]", i)
		v.serviceRef(path+".service", m.Service, services)
		oneOff := m.Start != nil || m.End != nil
		switch {
		case oneOff && m.Weekly != nil:
			v.add(path, "a window is either one-off (start, end) or weekly, not both")
		case !oneOff && m.Weekly == nil:
			v.add(path, "no window: give start and end, or weekly")
		case m.Weekly != nil:
			v.window(path+".weekly", *m.Weekly)
		case m.End == nil:
			v.add(path+".end", "missing: when the one-off window ends")
		case m.Start != nil && !m.End.After(*m.Start):
			v.add(path+".end", "end %s is not after start %s", m.End.Format(timeLayout), m.Start.Format(timeLayout))
		}
		if m.TimeZone != "" {
			if _, err := LoadZone(m.TimeZone); err != nil {
				v.add(path+".time_zone", "%v", err)
			}
		}
	}
	return v.errs
}

const timeLayout = "2006-01-02T15:04:05Z07:00"

type validator struct {
	errs         []ValidationError
	linkReported bool // the missing settings.public_url was reported
}

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, ValidationError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// ids checks the ids of one list (present, well-formed, unique) and
// returns the set of them.
func (v *validator) ids(list string, n int, id func(int) string) map[string]bool {
	seen := make(map[string]int, n)
	set := make(map[string]bool, n)
	for i := 0; i < n; i++ {
		s := id(i)
		path := fmt.Sprintf("%s[%d].id", list, i)
		if s == "" {
			v.add(path, "missing")
			continue
		}
		if bad := strings.IndexFunc(s, func(r rune) bool {
			return unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune("/?#%\"", r)
		}); bad >= 0 {
			v.add(path, "id %q contains %q: ids appear in URLs and SMS, use letters, digits, - and _", s, []rune(s[bad:])[0])
		}
		if j, dup := seen[s]; dup {
			v.add(path, "duplicate id %q (also %s[%d])", s, list, j)
			continue
		}
		seen[s], set[s] = i, true
	}
	return set
}

func (v *validator) serviceRef(path, id string, services map[string]bool) {
	if id == "" {
		v.add(path, "missing")
	} else if !services[id] {
		v.add(path, "unknown service %q", id)
	}
}

func (v *validator) window(path string, r Restriction) {
	if _, err := ParseDays(r.Days); err != nil {
		v.add(path+".days", "%v", err)
	}
	if _, err := ParseClock(r.From); err != nil {
		v.add(path+".from", "%v", err)
	}
	if _, err := ParseClock(r.To); err != nil {
		v.add(path+".to", "%v", err)
	}
}

func (v *validator) target(path string, t Target, contacts, schedules, webhooks map[string]bool) {
	n := 0
	for _, s := range []string{t.Schedule, t.Contact, t.Zone, t.Webhook} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		v.add(path, "a target names exactly one of schedule, contact, zone or webhook (this one names %d)", n)
	}
	if t.Webhook != "" && !webhooks[t.Webhook] {
		v.add(path+".webhook", "unknown webhook %q (not in webhooks)", t.Webhook)
	}
	if t.Webhook != "" && n == 1 && len(t.Via) > 0 {
		v.add(path+".via", "a webhook is reached by its URL; via is for schedules and contacts")
	}
	if t.Schedule != "" && !schedules[t.Schedule] {
		v.add(path+".schedule", "unknown schedule %q", t.Schedule)
	}
	if t.Contact != "" && !contacts[t.Contact] {
		v.add(path+".contact", "unknown contact %q", t.Contact)
	}
	if t.Zone != "" && n == 1 && len(t.Via) > 0 {
		v.add(path+".via", "a zone is reached by its sirens and lights; via is for schedules and contacts")
	}
	seen := map[Channel]bool{}
	for i, c := range t.Via {
		switch c {
		case SMS, Voice, Email, Push:
		default:
			v.add(fmt.Sprintf("%s.via[%d]", path, i), "unknown channel %q (want sms, voice, email or push)", c)
		}
		if seen[c] {
			v.add(fmt.Sprintf("%s.via[%d]", path, i), "channel %q given twice", c)
		}
		seen[c] = true
	}
}
