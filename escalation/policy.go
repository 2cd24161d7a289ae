package escalation

import "time"

// Policy is the whole on-call configuration: who can be paged, which
// services exist, the schedules and the escalation rules. It is applied
// atomically and versioned in the store; the engine always works from one
// Policy value and never from a half-applied one.
type Policy struct {
	Contacts           []Contact          `json:"contacts" yaml:"contacts"`
	Services           []Service          `json:"services" yaml:"services"`
	Schedules          []Schedule         `json:"schedules,omitempty" yaml:"schedules,omitempty"`
	EscalationPolicies []EscalationPolicy `json:"escalation_policies" yaml:"escalation_policies"`
	Heartbeats         []Heartbeat        `json:"heartbeats,omitempty" yaml:"heartbeats,omitempty"`
	Maintenance        []Maintenance      `json:"maintenance,omitempty" yaml:"maintenance,omitempty"`
	Webhooks           []Webhook          `json:"webhooks,omitempty" yaml:"webhooks,omitempty"`
	Settings           Settings           `json:"settings" yaml:"settings"`

	// Version is the store's version number of this policy (0 when not yet
	// applied). Not part of the file.
	Version int64 `json:"-" yaml:"-"`
}

// Contact is a person who can be paged.
type Contact struct {
	ID       string `json:"id" yaml:"id"`
	Name     string `json:"name,omitempty" yaml:"name,omitempty"`
	Phone    string `json:"phone" yaml:"phone"`                           // E.164 after loading
	Language string `json:"language,omitempty" yaml:"language,omitempty"` // "en" (default) or "ja"
	// CallbackAck: a call from this number is rejected and acknowledges the
	// incidents currently paging this contact.
	CallbackAck bool `json:"callback_ack,omitempty" yaml:"callback_ack,omitempty"`
	// Email is where via: email pages go (one address, no display name).
	Email string `json:"email,omitempty" yaml:"email,omitempty"`
	// NtfyTopic is the ntfy topic the contact's phone subscribes to, for
	// via: push.
	NtfyTopic string `json:"ntfy_topic,omitempty" yaml:"ntfy_topic,omitempty"`
}

// Service is a monitored thing that alerts arrive for.
type Service struct {
	ID               string `json:"id" yaml:"id"`
	Name             string `json:"name,omitempty" yaml:"name,omitempty"`
	EscalationPolicy string `json:"escalation_policy" yaml:"escalation_policy"`
	RoutingKey       string `json:"routing_key,omitempty" yaml:"routing_key,omitempty"`
	// GroupBy folds triggers with the same dedup key arriving within this
	// window into one incident even after it was resolved. Zero: off.
	GroupBy Duration `json:"group_by,omitempty" yaml:"group_by,omitempty"`
}

// Schedule says who is on call when.
type Schedule struct {
	ID        string     `json:"id" yaml:"id"`
	Name      string     `json:"name,omitempty" yaml:"name,omitempty"`
	TimeZone  string     `json:"time_zone" yaml:"time_zone"`
	Layers    []Layer    `json:"layers" yaml:"layers"`
	Overrides []Override `json:"overrides,omitempty" yaml:"overrides,omitempty"`
}

// Layer is one rotation. Later layers in the list win where they have
// someone on call.
type Layer struct {
	// Rotation is "daily", "weekly" or a duration such as "12h" or "3d".
	Rotation     string        `json:"rotation" yaml:"rotation"`
	Start        string        `json:"start" yaml:"start"` // "2006-01-02 15:04", wall clock in the schedule's zone
	Members      []string      `json:"members" yaml:"members"`
	Restrictions []Restriction `json:"restrictions,omitempty" yaml:"restrictions,omitempty"`
}

// Restriction limits a layer to some days and hours (local time).
type Restriction struct {
	Days []string `json:"days,omitempty" yaml:"days,omitempty"` // mon..sun; empty = every day
	From string   `json:"from" yaml:"from"`                     // "09:00"
	To   string   `json:"to" yaml:"to"`                         // "18:00"; To <= From spans midnight
}

// Override puts a contact on call for a fixed interval, above all layers.
type Override struct {
	Contact string    `json:"contact" yaml:"contact"`
	Start   time.Time `json:"start" yaml:"start"`
	End     time.Time `json:"end" yaml:"end"`
}

// EscalationPolicy is a list of levels run in order, repeated Repeat more
// times while nobody acknowledges.
type EscalationPolicy struct {
	ID     string  `json:"id" yaml:"id"`
	Repeat int     `json:"repeat,omitempty" yaml:"repeat,omitempty"`
	Levels []Level `json:"levels" yaml:"levels"`
}

// Level fires After its delay, counted from the incident's trigger (for
// the first pass) or from the start of the current repeat loop.
type Level struct {
	After  Duration `json:"after" yaml:"after"`
	Notify []Target `json:"notify" yaml:"notify"`
}

// Target is exactly one of Schedule, Contact, Zone or Webhook, with
// channels for people (default sms).
type Target struct {
	Schedule string    `json:"schedule,omitempty" yaml:"schedule,omitempty"`
	Contact  string    `json:"contact,omitempty" yaml:"contact,omitempty"`
	Zone     string    `json:"zone,omitempty" yaml:"zone,omitempty"`
	Webhook  string    `json:"webhook,omitempty" yaml:"webhook,omitempty"`
	Via      []Channel `json:"via,omitempty" yaml:"via,omitempty"`
}

// Heartbeat is a dead-man's switch: a missed Interval opens an incident on
// Service.
type Heartbeat struct {
	ID       string   `json:"id" yaml:"id"`
	Service  string   `json:"service" yaml:"service"`
	Interval Duration `json:"interval" yaml:"interval"`
}

// Maintenance silences paging for a service during a one-off or weekly window.
type Maintenance struct {
	Service string       `json:"service" yaml:"service"`
	Start   *time.Time   `json:"start,omitempty" yaml:"start,omitempty"` // one-off
	End     *time.Time   `json:"end,omitempty" yaml:"end,omitempty"`
	Weekly  *Restriction `json:"weekly,omitempty" yaml:"weekly,omitempty"`
	// TimeZone for Weekly; default Settings.TimeZone, then UTC.
	TimeZone string `json:"time_zone,omitempty" yaml:"time_zone,omitempty"`
}

// Settings are policy-wide knobs.
type Settings struct {
	DefaultRegion string   `json:"default_region,omitempty" yaml:"default_region,omitempty"` // ISO 3166 alpha-2, e.g. JP
	AckTimeout    Duration `json:"ack_timeout,omitempty" yaml:"ack_timeout,omitempty"`
	TimeZone      string   `json:"time_zone,omitempty" yaml:"time_zone,omitempty"`
	// DigestWindow: pages to one contact within this window are folded into
	// one digest SMS. Zero: the engine's default (30s).
	DigestWindow Duration `json:"digest_window,omitempty" yaml:"digest_window,omitempty"`
	// SMSPerContact limits SMS per contact per minute (default 3); beyond
	// that pages are folded into the next digest.
	SMSPerContact int `json:"sms_per_contact_per_minute,omitempty" yaml:"sms_per_contact_per_minute,omitempty"`
	// UndeliveredAfter turns an SMS page without a delivery report after
	// this long into a failed page (the incident moves to its next level).
	// Zero: off; a report that never comes changes nothing.
	UndeliveredAfter Duration `json:"undelivered_after,omitempty" yaml:"undelivered_after,omitempty"`
	// PublicURL is how people reach this daemon's HTTP server from their
	// phones and mail clients ("http://tocsin.factory.lan:8080"): the base
	// of the acknowledge and resolve links in e-mail, push and chat.
	PublicURL string `json:"public_url,omitempty" yaml:"public_url,omitempty"`
}

// Duration is a time.Duration that reads and writes Go duration strings and
// also accepts a day suffix ("3d").
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Contact returns the contact with id, if any.
func (p *Policy) Contact(id string) (Contact, bool) {
	for _, c := range p.Contacts {
		if c.ID == id {
			return c, true
		}
	}
	return Contact{}, false
}

// Service returns the service with id, if any.
func (p *Policy) Service(id string) (Service, bool) {
	for _, s := range p.Services {
		if s.ID == id {
			return s, true
		}
	}
	return Service{}, false
}

// ServiceByRoutingKey returns the service whose routing key is key.
func (p *Policy) ServiceByRoutingKey(key string) (Service, bool) {
	for _, s := range p.Services {
		if s.RoutingKey != "" && s.RoutingKey == key {
			return s, true
		}
	}
	return Service{}, false
}

// EscalationPolicy returns the escalation policy with id, if any.
func (p *Policy) EscalationPolicy(id string) (EscalationPolicy, bool) {
	for _, e := range p.EscalationPolicies {
		if e.ID == id {
			return e, true
		}
	}
	return EscalationPolicy{}, false
}

// Schedule returns the schedule with id, if any.
func (p *Policy) Schedule(id string) (Schedule, bool) {
	for _, s := range p.Schedules {
		if s.ID == id {
			return s, true
		}
	}
	return Schedule{}, false
}

// Webhook returns the webhook with id, if any.
func (p *Policy) Webhook(id string) (Webhook, bool) {
	for _, w := range p.Webhooks {
		if w.ID == id {
			return w, true
		}
	}
	return Webhook{}, false
}

// ContactByNumber finds the contact whose phone is number (both E.164).
func (p *Policy) ContactByNumber(number string) (Contact, bool) {
	for _, c := range p.Contacts {
		if c.Phone == number {
			return c, true
		}
	}
	return Contact{}, false
}

// PolicyVersion describes one applied policy, as the store keeps it.
type PolicyVersion struct {
	Version   int64     `json:"version"`
	AppliedAt time.Time `json:"applied_at"`
	AppliedBy string    `json:"applied_by"`
	Hash      string    `json:"hash"`
}
