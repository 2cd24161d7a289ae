// Package status builds the document GET /api/v1/status serves (and the
// console's health page reads): one snapshot of every part of the relay —
// database, engine, modem, outbox, policy, and the optional parts (GPIO,
// MQTT). Each part is read through a small interface declared here, so the
// document is assembled in one place and cmd only hands the parts over.
//
// The modem part is the modem supervisor's State: the same fact the status
// light, MQTT status and the modem-health incident read.
package status

import (
	"context"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/modem"
)

// Store is the database. *sqlite.DB implements it.
type Store interface {
	Path() string
	Check(ctx context.Context) error
	OutboxDepth(ctx context.Context) (int, error)
	CurrentPolicy(ctx context.Context) (*escalation.Policy, []byte, escalation.PolicyVersion, error)
	OpenIncidents(ctx context.Context) (int, error)
}

// Engine is the escalation engine. *escalation.Engine implements it.
type Engine interface {
	LastTick() time.Time
	// Policy is the policy in force, for readiness (can it page anyone?).
	Policy() *escalation.Policy
}

// Modem is the modem supervisor. *modem.Supervisor implements it.
type Modem interface {
	State() modem.State
	Modem() *modem.Modem
}

// Delivery reports a channel's counters. *phone.Phone implements it.
type Delivery interface {
	Stats() escalation.DeliveryStats
}

// Parts are what the document is built from. GPIO and MQTT are nil when
// not configured (their sections are then left out).
type Parts struct {
	Version   string
	Started   time.Time
	Demo      bool
	Store     Store
	Engine    Engine
	Modem     Modem
	Device    string // modem.device as configured ("sim" for the simulator)
	Simulated bool
	Delivery  Delivery
	GPIO      func() any
	MQTT      func() any
	// Channels is the health of the e-mail, push and webhook channels.
	Channels func() []escalation.ChannelHealth
	// Cluster is the twin relays' view (escalation/cluster); nil alone.
	Cluster func() any
}

// Doc is the status document.
type Doc struct {
	Version  string `json:"version"`
	Uptime   string `json:"uptime"`
	Demo     bool   `json:"demo,omitempty"`
	Database DB     `json:"database"`
	Engine   Eng    `json:"engine"`
	Modem    Mod    `json:"modem"`
	Outbox   Outbox `json:"outbox"`
	Policy   any    `json:"policy"`
	GPIO     any    `json:"gpio,omitempty"`
	MQTT     any    `json:"mqtt,omitempty"`
	// Channels: e-mail, push and webhook delivery health.
	Channels []escalation.ChannelHealth `json:"channels"`
	// Cluster: twin relays, {name, role, members} (docs/twin.md).
	Cluster any `json:"cluster,omitempty"`

	// Readiness: configured: false and why ("not configured: no contact
	// can be paged"), until a policy reaches a person.
	escalation.Readiness
}

// DB is the database part.
type DB struct {
	Path  string `json:"path"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Eng is the engine part.
type Eng struct {
	LastTick string `json:"last_tick"`
	Open     int    `json:"open_incidents"`
}

// Outbox is the queue and the delivery counters.
type Outbox struct {
	Depth int `json:"depth"`
	escalation.DeliveryStats
}

// Mod is the modem part: the supervisor's State.
type Mod struct {
	Up           bool   `json:"up"`
	Device       string `json:"device"`
	Simulated    bool   `json:"simulated"`
	Model        string `json:"model,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	Firmware     string `json:"firmware,omitempty"`
	IMEI         string `json:"imei,omitempty"`
	SIM          string `json:"sim,omitempty"`
	SignalDBM    int    `json:"signal_dbm"`
	SignalKnown  bool   `json:"signal_known"`
	Registration string `json:"registration,omitempty"`
	Operator     string `json:"operator,omitempty"`
	Profile      string `json:"profile,omitempty"`
	Recovered    string `json:"recovered_by,omitempty"`
	// Reports is how the modem hands over delivery reports: "direct
	// (+CDS)", "stored (+CDSI)", or "none" — then "sent" is as far as
	// Tocsin can see.
	Reports     string `json:"delivery_reports,omitempty"`
	LastError   string `json:"last_error,omitempty"`
	Since       string `json:"since,omitempty"`
	HealthAlarm bool   `json:"health_incident_open"`
}

// Build reads every part now. It only reads (the console polls it every
// 2 s; an SD card must not be written for that).
func Build(ctx context.Context, p Parts) Doc {
	d := Doc{
		Version: p.Version,
		Uptime:  time.Since(p.Started).Round(time.Second).String(),
		Demo:    p.Demo,
		Modem:   ModemPart(p.Modem, p.Device, p.Simulated),
		Engine:  Eng{LastTick: p.Engine.LastTick().UTC().Format(time.RFC3339Nano)},
	}
	d.Database = DB{Path: p.Store.Path(), OK: true}
	if err := p.Store.Check(ctx); err != nil {
		d.Database.OK, d.Database.Error = false, err.Error()
	}
	depth, _ := p.Store.OutboxDepth(ctx)
	d.Outbox = Outbox{Depth: depth, DeliveryStats: p.Delivery.Stats()}
	if open, err := p.Store.OpenIncidents(ctx); err == nil {
		d.Engine.Open = open
	}
	if _, _, v, err := p.Store.CurrentPolicy(ctx); err == nil {
		d.Policy = v
	}
	if p.GPIO != nil {
		d.GPIO = p.GPIO()
	}
	if p.MQTT != nil {
		d.MQTT = p.MQTT()
	}
	d.Channels = []escalation.ChannelHealth{}
	if p.Channels != nil {
		d.Channels = p.Channels()
	}
	if p.Cluster != nil {
		d.Cluster = p.Cluster()
	}
	d.Readiness = escalation.CheckReadiness(p.Engine.Policy())
	return d
}

// ModemPart is the modem part of the document, from the supervisor's
// State (also used by the metrics exporter).
func ModemPart(m Modem, device string, simulated bool) Mod {
	st := m.State()
	s := Mod{Up: st.Up, Device: device, Simulated: simulated, HealthAlarm: st.Down}
	if !st.OK || !st.Up {
		s.LastError = st.Reason
	}
	if !st.Up {
		return s
	}
	i := st.Info
	s.Model, s.Manufacturer, s.Firmware, s.IMEI = i.Model, i.Manufacturer, i.Firmware, i.IMEI
	s.SIM, s.SignalDBM, s.SignalKnown = i.SIM, i.SignalDBm, i.SignalKnown
	s.Registration, s.Operator = i.Registration.String(), i.Operator
	if cur := m.Modem(); cur != nil {
		s.Profile = cur.Profile().Name
		s.Reports = cur.ReportMode().String()
	}
	s.Since = st.LastUp.UTC().Format(time.RFC3339)
	s.Recovered = st.Rung.String()
	return s
}
