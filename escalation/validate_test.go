package escalation

import (
	"strings"
	"testing"
	"time"
)

// examplePolicy is the docs/reference.md §4 example, made valid (suzuki, sato and boss
// exist), with national numbers for Normalize to rewrite.
func examplePolicy() *Policy {
	jst := time.FixedZone("", 9*3600)
	start := time.Date(2026, 12, 1, 18, 0, 0, 0, jst)
	end := time.Date(2026, 12, 2, 9, 0, 0, 0, jst)
	return &Policy{
		Contacts: []Contact{
			{ID: "tanaka", Name: "田中 太郎", Phone: "+819012345678", Language: "ja"},
			{ID: "suzuki", Phone: "090-2345-6789", Language: "ja"},
			{ID: "sato", Phone: "080 3456 7890"},
			{ID: "boss", Phone: "+1 415 555 0100", Language: "en"},
		},
		Services: []Service{{ID: "press-line-1", Name: "プレス1号ライン", EscalationPolicy: "line1", RoutingKey: "0123456789abcdef0123456789abcdef"}},
		Schedules: []Schedule{{ID: "line1-oncall", TimeZone: "Asia/Tokyo", Layers: []Layer{{
			Rotation: "weekly", Start: "2026-11-02 09:00", Members: []string{"tanaka", "suzuki"},
			Restrictions: []Restriction{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: "09:00", To: "18:00"}},
		}}, Overrides: []Override{{Contact: "sato", Start: start, End: end}}}},
		EscalationPolicies: []EscalationPolicy{{ID: "line1", Repeat: 2, Levels: []Level{
			{After: 0, Notify: []Target{{Schedule: "line1-oncall", Via: []Channel{SMS}}, {Zone: "line1"}}},
			{After: Duration(5 * time.Minute), Notify: []Target{{Schedule: "line1-oncall", Via: []Channel{Voice, SMS}}, {Contact: "boss", Via: []Channel{SMS}}}},
		}}},
		Heartbeats:  []Heartbeat{{ID: "scada-main", Service: "press-line-1", Interval: Duration(5 * time.Minute)}},
		Maintenance: []Maintenance{{Service: "press-line-1", Weekly: &Restriction{Days: []string{"sun"}, From: "02:00", To: "04:00"}}},
		Settings:    Settings{DefaultRegion: "jp", AckTimeout: Duration(30 * time.Minute)},
	}
}

func TestNormalize(t *testing.T) {
	p := examplePolicy()
	p.Settings.TimeZone = "Asia/Tokyo"
	p.Schedules[0].TimeZone = ""
	p.Normalize()
	want := []string{"+819012345678", "+819023456789", "+818034567890", "+14155550100"}
	for i, c := range p.Contacts {
		if c.Phone != want[i] {
			t.Errorf("contacts[%d].phone = %q, want %q", i, c.Phone, want[i])
		}
	}
	if p.Settings.DefaultRegion != "JP" {
		t.Errorf("default_region = %q, want JP", p.Settings.DefaultRegion)
	}
	if p.Schedules[0].TimeZone != "Asia/Tokyo" || p.Maintenance[0].TimeZone != "Asia/Tokyo" {
		t.Errorf("zones %q, %q; want Settings.TimeZone copied", p.Schedules[0].TimeZone, p.Maintenance[0].TimeZone)
	}
	if errs := p.Validate(); len(errs) != 0 {
		t.Errorf("Validate() = %v, want no errors", ValidationErrors(errs))
	}
}

func TestValidateUnnormalized(t *testing.T) {
	p := examplePolicy()
	errs := p.Validate()
	if len(errs) != 3 || errs[0].Path != "contacts[1].phone" || !strings.Contains(errs[0].Msg, "not in E.164 form (+819023456789)") {
		t.Errorf("Validate() before Normalize = %v, want contacts[1], [2] and [3] not in E.164", ValidationErrors(errs))
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *Policy)
		path   string
		msg    string
	}{
		{"duplicate contact", func(p *Policy) { p.Contacts[1].ID = "tanaka" }, "contacts[1].id", `duplicate id "tanaka" (also contacts[0])`},
		{"missing id", func(p *Policy) { p.Services[0].ID = "" }, "services[0].id", "missing"},
		{"id with a space", func(p *Policy) { p.Heartbeats[0].ID = "scada main" }, "heartbeats[0].id", `contains ' '`},
		{"invalid phone", func(p *Policy) { p.Contacts[0].Phone = "090-1234" }, "contacts[0].phone", `"090-1234": 6 digits after country code +81, want 9 to 10`},
		{"shared phone", func(p *Policy) { p.Contacts[3].Phone = "+819012345678" }, "contacts[3].phone", "also the phone of contacts[0] (tanaka)"},
		{"no phone", func(p *Policy) { p.Contacts[0].Phone = "" }, "contacts[0].phone", "missing"},
		{"national phone without region", func(p *Policy) { p.Settings.DefaultRegion = ""; p.Contacts[0].Phone = "090-1234-5678" }, "contacts[0].phone", "needs a region"},
		{"unknown region", func(p *Policy) { p.Settings.DefaultRegion = "XX" }, "settings.default_region", `unknown region "XX"`},
		{"language", func(p *Policy) { p.Contacts[0].Language = "de" }, "contacts[0].language", `unknown language "de"`},
		{"service without policy", func(p *Policy) { p.Services[0].EscalationPolicy = "" }, "services[0].escalation_policy", "needs an escalation policy"},
		{"service unknown policy", func(p *Policy) { p.Services[0].EscalationPolicy = "line2" }, "services[0].escalation_policy", `unknown escalation policy "line2"`},
		{"duplicate routing key", func(p *Policy) {
			p.Services = append(p.Services, Service{ID: "press-line-2", EscalationPolicy: "line1", RoutingKey: p.Services[0].RoutingKey})
		}, "services[1].routing_key", "already used by services[0] (press-line-1)"},
		{"empty schedule", func(p *Policy) { p.Schedules[0].Layers = nil }, "schedules[0].layers", "has no layers"},
		{"bad zone", func(p *Policy) { p.Schedules[0].TimeZone = "Asia/Tokio" }, "schedules[0].time_zone", `unknown time zone "Asia/Tokio"`},
		{"bad settings zone", func(p *Policy) { p.Settings.TimeZone = "JST" }, "settings.time_zone", `unknown time zone "JST"`},
		{"bad rotation", func(p *Policy) { p.Schedules[0].Layers[0].Rotation = "monthly" }, "schedules[0].layers[0].rotation", `rotation "monthly"`},
		{"no rotation", func(p *Policy) { p.Schedules[0].Layers[0].Rotation = "" }, "schedules[0].layers[0].rotation", "rotation is missing"},
		{"bad start", func(p *Policy) { p.Schedules[0].Layers[0].Start = "2026-11-31 09:00" }, "schedules[0].layers[0].start", "YYYY-MM-DD HH:MM"},
		{"no start", func(p *Policy) { p.Schedules[0].Layers[0].Start = "" }, "schedules[0].layers[0].start", "missing"},
		{"no members", func(p *Policy) { p.Schedules[0].Layers[0].Members = nil }, "schedules[0].layers[0].members", "no members"},
		{"unknown member", func(p *Policy) { p.Schedules[0].Layers[0].Members[1] = "yamada" }, "schedules[0].layers[0].members[1]", `unknown contact "yamada"`},
		{"bad day", func(p *Policy) { p.Schedules[0].Layers[0].Restrictions[0].Days[4] = "fry" }, "schedules[0].layers[0].restrictions[0].days", `unknown day "fry"`},
		{"bad from", func(p *Policy) { p.Schedules[0].Layers[0].Restrictions[0].From = "9:00am" }, "schedules[0].layers[0].restrictions[0].from", `time "9:00am"`},
		{"bad to", func(p *Policy) { p.Schedules[0].Layers[0].Restrictions[0].To = "" }, "schedules[0].layers[0].restrictions[0].to", `time ""`},
		{"override unknown contact", func(p *Policy) { p.Schedules[0].Overrides[0].Contact = "ghost" }, "schedules[0].overrides[0].contact", `unknown contact "ghost"`},
		{"override backwards", func(p *Policy) {
			o := &p.Schedules[0].Overrides[0]
			o.Start, o.End = o.End, o.Start
		}, "schedules[0].overrides[0].end", "is not after start"},
		{"override without end", func(p *Policy) { p.Schedules[0].Overrides[0].End = time.Time{} }, "schedules[0].overrides[0].end", "missing"},
		{"levels out of order", func(p *Policy) { p.EscalationPolicies[0].Levels[0].After = Duration(10 * time.Minute) }, "escalation_policies[0].levels[1].after", "levels out of order: 5m comes before the previous level's 10m"},
		{"no levels", func(p *Policy) { p.EscalationPolicies[0].Levels = nil }, "escalation_policies[0].levels", `"line1" has no levels`},
		{"negative repeat", func(p *Policy) { p.EscalationPolicies[0].Repeat = -1 }, "escalation_policies[0].repeat", "negative"},
		{"level without targets", func(p *Policy) { p.EscalationPolicies[0].Levels[1].Notify = nil }, "escalation_policies[0].levels[1].notify", "level 2 notifies nobody"},
		{"target with two", func(p *Policy) { p.EscalationPolicies[0].Levels[0].Notify[1].Contact = "boss" }, "escalation_policies[0].levels[0].notify[1]", "exactly one of schedule, contact, zone or webhook (this one names 2)"},
		{"target with none", func(p *Policy) { p.EscalationPolicies[0].Levels[0].Notify[1].Zone = "" }, "escalation_policies[0].levels[0].notify[1]", "(this one names 0)"},
		{"unknown schedule", func(p *Policy) { p.EscalationPolicies[0].Levels[0].Notify[0].Schedule = "line2" }, "escalation_policies[0].levels[0].notify[0].schedule", `unknown schedule "line2"`},
		{"unknown contact", func(p *Policy) { p.EscalationPolicies[0].Levels[1].Notify[1].Contact = "bos" }, "escalation_policies[0].levels[1].notify[1].contact", `unknown contact "bos"`},
		{"unknown channel", func(p *Policy) { p.EscalationPolicies[0].Levels[1].Notify[0].Via[0] = "fax" }, "escalation_policies[0].levels[1].notify[0].via[0]", `unknown channel "fax"`},
		{"e-mail without address", func(p *Policy) {
			p.EscalationPolicies[0].Levels[1].Notify[0].Via[0] = Email
			p.Settings.PublicURL = "http://t.lan"
		}, "escalation_policies[0].levels[1].notify[0].via[0]", "who have no email"},
		{"e-mail without public_url", func(p *Policy) {
			for i := range p.Contacts {
				p.Contacts[i].Email = p.Contacts[i].ID + "@factory.example"
			}
			p.EscalationPolicies[0].Levels[1].Notify[0].Via[0] = Email
		}, "escalation_policies[0].levels[1].notify[0]", "set settings.public_url"},
		{"malformed e-mail", func(p *Policy) { p.Contacts[0].Email = "tanaka@" }, "contacts[0].email", "not an e-mail address"},
		{"unknown webhook", func(p *Policy) {
			p.Settings.PublicURL = "http://t.lan"
			p.EscalationPolicies[0].Levels[0].Notify[1] = Target{Webhook: "chat"}
		}, "escalation_policies[0].levels[0].notify[1].webhook", `unknown webhook "chat"`},
		{"bad public_url", func(p *Policy) { p.Settings.PublicURL = "tocsin.lan" }, "settings.public_url", "not an http"},
		{"twice the channel", func(p *Policy) { p.EscalationPolicies[0].Levels[1].Notify[0].Via[0] = "sms" }, "escalation_policies[0].levels[1].notify[0].via[1]", `channel "sms" given twice`},
		{"zone with via", func(p *Policy) { p.EscalationPolicies[0].Levels[0].Notify[1].Via = []Channel{SMS} }, "escalation_policies[0].levels[0].notify[1].via", "sirens and lights"},
		{"heartbeat unknown service", func(p *Policy) { p.Heartbeats[0].Service = "press-line-9" }, "heartbeats[0].service", `unknown service "press-line-9"`},
		{"heartbeat zero interval", func(p *Policy) { p.Heartbeats[0].Interval = 0 }, "heartbeats[0].interval", "missing or zero"},
		{"maintenance unknown service", func(p *Policy) { p.Maintenance[0].Service = "nope" }, "maintenance[0].service", `unknown service "nope"`},
		{"maintenance both", func(p *Policy) { now := time.Now(); p.Maintenance[0].End = &now }, "maintenance[0]", "not both"},
		{"maintenance neither", func(p *Policy) { p.Maintenance[0].Weekly = nil }, "maintenance[0]", "no window"},
		{"maintenance bad weekly", func(p *Policy) { p.Maintenance[0].Weekly.From = "2:00" + "x" }, "maintenance[0].weekly.from", `time "2:00x"`},
		{"maintenance backwards", func(p *Policy) {
			a, b := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			p.Maintenance[0] = Maintenance{Service: "press-line-1", Start: &a, End: &b}
		}, "maintenance[0].end", "is not after start"},
		{"maintenance zone", func(p *Policy) { p.Maintenance[0].TimeZone = "Nowhere" }, "maintenance[0].time_zone", `unknown time zone "Nowhere"`},
		{"negative ack timeout", func(p *Policy) { p.Settings.AckTimeout = -1 }, "settings.ack_timeout", "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := examplePolicy()
			p.Normalize()
			tt.change(p)
			errs := p.Validate()
			for _, e := range errs {
				if e.Path == tt.path && strings.Contains(e.Msg, tt.msg) {
					return
				}
			}
			t.Errorf("Validate() = %v; want %s: …%s…", ValidationErrors(errs), tt.path, tt.msg)
		})
	}
}
