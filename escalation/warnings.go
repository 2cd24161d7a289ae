package escalation

import "fmt"

// SelfService is the service Tocsin opens incidents on about itself (the
// modem down, the uplink lost): without it in the policy such an incident
// pages nobody.
const SelfService = "tocsin"

// Warnings returns what in a valid policy is allowed but probably loses a
// page: no SelfService, so Tocsin's own faults page nobody; contacts that
// no escalation level reaches (directly or through a schedule); and
// overrides of one schedule that overlap (the engine puts every one of
// them on call, which is rarely what the author meant). Paths are spelled
// as in Validate. Call it on a policy that passed Validate.
func (p *Policy) Warnings() []ValidationError {
	v := &validator{}
	if _, ok := p.Service(SelfService); !ok {
		v.add("services", "no %q service: when the modem or the uplink fails, the incident Tocsin opens pages nobody (add {id: %s, escalation_policy: …})", SelfService, SelfService)
	}

	reached := map[string]bool{}
	for _, e := range p.EscalationPolicies {
		p.addLevelContacts(reached, e.Levels)
	}
	for i, c := range p.Contacts {
		if !reached[c.ID] {
			v.add(fmt.Sprintf("contacts[%d]", i), "contact %q is in no escalation level, directly or through a schedule: no page ever reaches them", c.ID)
		}
	}

	for i, s := range p.Schedules {
		for j, o := range s.Overrides {
			for k := range j {
				q := s.Overrides[k]
				if o.Start.Before(q.End) && q.Start.Before(o.End) {
					who := "both put on call"
					if o.Contact == q.Contact {
						who = "the same contact twice"
					}
					v.add(fmt.Sprintf("schedules[%d].overrides[%d]", i, j),
						"overlaps overrides[%d] (%s, %s – %s): %s for the overlap", k, q.Contact,
						q.Start.Format(timeLayout), q.End.Format(timeLayout), who)
				}
			}
		}
	}
	return v.errs
}

// addLevelContacts adds to set the id of every contact levels reach:
// named directly, or as a member or an override of a schedule they page.
func (p *Policy) addLevelContacts(set map[string]bool, levels []Level) {
	for _, l := range levels {
		for _, t := range l.Notify {
			if t.Contact != "" {
				set[t.Contact] = true
			}
			if s, ok := p.Schedule(t.Schedule); ok && t.Schedule != "" {
				for _, layer := range s.Layers {
					for _, m := range layer.Members {
						set[m] = true
					}
				}
				for _, o := range s.Overrides {
					set[o.Contact] = true
				}
			}
		}
	}
}
