package escalation

import "time"

// Stats is a snapshot of counts kept in the store, read at scrape time by
// the metrics exporter: the database is the single source of truth, so the
// numbers survive restarts and agree with the incident list.
type Stats struct {
	Incidents     []IncidentCount
	Alerts        []AlertCount
	Notifications []NotificationCount
	OutboxDepth   int
	// TimeToAck covers every acknowledged incident that is not a drill:
	// acknowledged_at - created_at.
	TimeToAck DurationHistogram
}

// IncidentCount is how many incidents of a service are in a status.
type IncidentCount struct {
	Service string
	Status  Status
	N       int64
}

// AlertCount is how many events arrived through an intake for a service.
type AlertCount struct {
	Intake  string
	Service string
	N       int64
}

// NotificationCount is how many outbox rows of a channel are in a status.
type NotificationCount struct {
	Channel Channel
	Status  NotificationStatus
	N       int64
}

// DurationHistogram is a cumulative histogram of durations.
type DurationHistogram struct {
	Count   uint64
	Sum     time.Duration
	Buckets []Bucket // ascending UpperBound; Count is cumulative
}

// Bucket is one histogram bucket: how many observations were at most
// UpperBound.
type Bucket struct {
	UpperBound time.Duration
	Count      uint64
}
