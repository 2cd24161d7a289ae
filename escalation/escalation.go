// Package escalation is Tocsin's domain: alerts, incidents, the on-call
// policy, schedules, the SMS reply grammar and the escalation engine.
//
// It imports only the standard library. Adapters (sqlite, httpapi, mqttapi,
// phone, panel) import it and one technology each; only cmd/tocsin wires
// them together. Every decision that depends on time takes `now` so that the
// engine can be tested inside testing/synctest.
package escalation

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Severity orders how urgent an incident is. Lower values are more severe so
// that "ORDER BY severity" sends the worst first.
type Severity int

// Severities, most severe first.
const (
	SevCritical Severity = iota
	SevError
	SevWarning
	SevInfo
)

var severityNames = [...]string{"critical", "error", "warning", "info"}

// String returns the lower-case name used in JSON, config and the CLI.
func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// Short is the four-letter tag used in SMS text ("CRIT", "ERR", ...).
func (s Severity) Short() string {
	switch s {
	case SevCritical:
		return "CRIT"
	case SevError:
		return "ERR"
	case SevWarning:
		return "WARN"
	default:
		return "INFO"
	}
}

// ParseSeverity accepts the SPEC names (case-insensitive). An empty string
// is not a severity: callers decide their own default.
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want critical, error, warning or info)", s)
}

// MarshalJSON writes the severity as its name.
func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads a severity name.
func (s *Severity) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return fmt.Errorf("severity must be a string: %w", err)
	}
	v, err := ParseSeverity(str)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Status is an incident's state, PagerDuty style.
type Status string

// Incident states.
const (
	Triggered    Status = "triggered"
	Acknowledged Status = "acknowledged"
	Resolved     Status = "resolved"
)

// ParseStatus validates a status name.
func ParseStatus(s string) (Status, error) {
	switch Status(strings.ToLower(s)) {
	case Triggered, Acknowledged, Resolved:
		return Status(strings.ToLower(s)), nil
	}
	return "", fmt.Errorf("unknown status %q (want triggered, acknowledged or resolved)", s)
}

// Action is what an incoming event asks for.
type Action string

// Event actions (PagerDuty Events API v2 names).
const (
	Trigger     Action = "trigger"
	Acknowledge Action = "acknowledge"
	Resolve     Action = "resolve"
)

// ParseAction validates an action name; empty means trigger.
func ParseAction(s string) (Action, error) {
	switch Action(strings.ToLower(s)) {
	case "", Trigger:
		return Trigger, nil
	case Acknowledge, "ack":
		return Acknowledge, nil
	case Resolve:
		return Resolve, nil
	}
	return "", fmt.Errorf("unknown action %q (want trigger, acknowledge or resolve)", s)
}

// Event is one alert received from any intake (HTTP, MQTT, PagerDuty v2,
// Alertmanager, Grafana, CLI). Every event is stored as an alert row.
type Event struct {
	Service  string
	Summary  string
	Severity Severity
	Source   string // the monitored thing ("plc-3")
	DedupKey string // empty: a new unique key is generated on trigger
	Action   Action
	Details  json.RawMessage // any JSON object, kept verbatim; nil if none
	Intake   string          // "http", "mqtt", "pagerduty", "alertmanager", "grafana", "cli", "heartbeat"
	// DedupScope narrows dedup_key matching, e.g. the PagerDuty routing key.
	// Incidents match on (service, dedup_scope, dedup_key).
	DedupScope string
	// Alerts is, for a sender that reports a whole group of alerts in one
	// event (an Alertmanager or Grafana group), how many of the group fire
	// now; 0 for an event that is one alert. A trigger with Alerts > 0
	// sets the incident's alert count to it and its summary to the
	// event's, so that when a group of 3 drops to 2 the incident says 2
	// in both; a trigger with 0 adds one alert and keeps the summary.
	Alerts int
	// Message identifies the intake message that carried the event, for
	// intakes that may deliver one message twice (MQTT QoS 1 after a
	// restart); zero for the others.
	Message IntakeMessage
}

// IntakeMessage identifies one delivery of an intake message so that a
// redelivery of a message already committed is recognised and not counted
// again ("effectively once"). The store records it in the same
// transaction as the alert, so a message is either committed and
// recorded, or neither.
//
// Slot is where the intake can reuse an identity: for MQTT the broker,
// the client's session and the packet id. The broker reuses a packet id
// once the earlier message with it has been acknowledged, so the store
// keeps one record per slot, replaced at each commit. Hash is the
// message's content (topic and payload): a reused packet id with a
// different payload never matches. Redelivered is the intake's own mark
// of a possible repeat (MQTT's DUP flag): only such a message is matched
// against the record, because a message without it is new by definition,
// even when its slot and content equal an earlier, acknowledged one.
type IntakeMessage struct {
	Slot        string
	Hash        string
	Redelivered bool
}

// IngestResult is what the sender is told once the event is committed.
type IngestResult struct {
	IncidentID int64  `json:"incident_id"`
	DedupKey   string `json:"dedup_key"`
	Status     Status `json:"status"`
	New        bool   `json:"new"`
	// Dropped is true for acknowledge/resolve of an unknown key: accepted
	// and recorded as an alert, but it changed no incident.
	Dropped bool `json:"dropped,omitempty"`
	// Repeat is true when the event was a redelivery of a message already
	// committed: the result is the earlier one and nothing was counted.
	Repeat bool `json:"repeat,omitempty"`
	// PagesReady is true when the first step queued a page that can leave
	// at once (its number's turn has come and nothing of that number's
	// was already waiting to leave): delivery should look. It is not part
	// of the API answer.
	PagesReady bool `json:"-"`
}

// Incident is the unit people are paged about.
type Incident struct {
	ID             int64           `json:"id"`
	Service        string          `json:"service"`
	Summary        string          `json:"summary"`
	Severity       Severity        `json:"severity"`
	Status         Status          `json:"status"`
	DedupKey       string          `json:"dedup_key"`
	Source         string          `json:"source"`
	CreatedAt      time.Time       `json:"created_at"`
	AcknowledgedAt *time.Time      `json:"acknowledged_at"`
	AcknowledgedBy string          `json:"acknowledged_by"`
	ResolvedAt     *time.Time      `json:"resolved_at"`
	ResolvedBy     string          `json:"resolved_by"`
	Level          int             `json:"level"` // 1-based level last fired; 0 before the first
	Loop           int             `json:"loop"`  // 0 on the first pass, then each repeat
	AlertCount     int             `json:"alert_count"`
	Details        json.RawMessage `json:"details"`
	Drill          bool            `json:"drill,omitempty"`
	Timeline       []TimelineEntry `json:"timeline,omitempty"`
	// Notifications are the pages about this incident, newest first, with
	// their delivery state (the single-incident read only).
	Notifications []Notification `json:"notifications,omitempty"`
}

// Open reports whether the incident still needs attention.
func (i Incident) Open() bool { return i.Status != Resolved }

// TimelineEntry is one line of an incident's history: every alert,
// notification, delivery outcome, reply, key and button press.
type TimelineEntry struct {
	At     time.Time `json:"at"`
	Kind   string    `json:"kind"`
	Detail string    `json:"detail"`
}

// Timeline kinds.
const (
	KindTriggered    = "triggered"
	KindAlert        = "alert"
	KindAcknowledged = "acknowledged"
	KindResolved     = "resolved"
	KindRetriggered  = "retriggered"
	KindEscalated    = "escalated"
	KindLevel        = "level"
	KindNotify       = "notify" // a notification queued
	KindSent         = "sent"   // delivered to the network
	KindFailed       = "failed" // gave up on a notification
	KindReply        = "reply"  // an SMS reply or DTMF key
	KindCall         = "call"   // call progress: rang, answered, key
	KindButton       = "button" // a physical button
	KindZone         = "zone"   // sirens/lights of a zone raised
	KindSuppressed   = "suppressed"
)

// Channel is how a contact is reached.
type Channel string

// Notification channels.
const (
	SMS   Channel = "sms"
	Voice Channel = "voice"
)

// NotificationStatus is an outbox row's state.
type NotificationStatus string

// Outbox states: queued → sending → sent | failed.
const (
	Queued  NotificationStatus = "queued"
	Sending NotificationStatus = "sending"
	Sent    NotificationStatus = "sent"
	Failed  NotificationStatus = "failed"
)

// Notification is one SMS or call in the outbox.
type Notification struct {
	ID            int64              `json:"id"`
	IncidentID    int64              `json:"incident_id"` // 0 for replies/confirmations not tied to one incident
	ContactID     string             `json:"contact_id"`
	Channel       Channel            `json:"channel"`
	Number        string             `json:"number"`
	Text          string             `json:"text"`
	Status        NotificationStatus `json:"status"`
	Attempts      int                `json:"attempts"`
	ModemRef      string             `json:"modem_ref"`
	Error         string             `json:"error"`
	PolicyVersion int64              `json:"policy_version"`
	Level         int                `json:"level"`
	Severity      Severity           `json:"severity"`
	CreatedAt     time.Time          `json:"created_at"`
	UpdatedAt     time.Time          `json:"updated_at"`
	// DeliveredAt is when the handset received it, from the network's
	// delivery report (Status Delivered).
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	// Covers lists every incident this message pages about (a digest names
	// several); a reply without an id acts on these.
	Covers []int64 `json:"covers,omitempty"`
	// Answer is set on an answer to a reply (a confirmation or the grammar
	// help): answers to one number are bounded (see AnswerLimit).
	Answer AnswerKind `json:"answer,omitempty"`
}

// ZoneAlarm says that an incident has raised the sirens and lights of a
// zone. The panel adapter turns the set of alarms into output states.
type ZoneAlarm struct {
	Zone       string
	IncidentID int64
	Severity   Severity
	Status     Status
	Since      time.Time
}
