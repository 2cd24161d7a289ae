package escalation

import "time"

// Twin relays (docs/twin.md) keep one history on every box. What travels
// between boxes is an IncidentRecord: an incident with everything that
// decides who is paged next — its escalation position, its timeline and its
// pages. A record is applied as an idempotent upsert keyed by the incident
// id, through MergeIncident, so it may arrive twice, late or out of order
// and every box still ends with the same incident.

// IncidentRecord is one incident as replicated between twin relays.
type IncidentRecord struct {
	Incident   Incident        `json:"incident"` // Timeline inside is left empty
	DedupScope string          `json:"dedup_scope,omitempty"`
	LastAlert  time.Time       `json:"last_alert_at"`
	Escalation RecordPosition  `json:"escalation"`
	Timeline   []TimelineEntry `json:"timeline"`
	Pages      []ReplicaPage   `json:"pages,omitempty"`
	Zones      []string        `json:"zones,omitempty"`
}

// RecordPosition is where an incident stands in its escalation policy.
type RecordPosition struct {
	Level         int       `json:"level"`
	Loop          int       `json:"loop"`
	LoopStartedAt time.Time `json:"loop_started_at"`
	NextAt        time.Time `json:"next_at"` // zero: nothing due
	PolicyVersion int64     `json:"policy_version"`
}

// ReplicaPage is one page (an outbox row with a level) as replicated. Key
// names the row on every box: the database instance that created it and
// its row id there.
type ReplicaPage struct {
	Key          string             `json:"key"`
	Notification Notification       `json:"n"`
	Status       NotificationStatus `json:"status"`
	// SentWith is the Key of the first page of the SMS that carried this
	// one (a digest carries several): what a reply without an id acts on.
	SentWith string `json:"sent_with,omitempty"`
}

// pageRank orders page states for merging: a page sent anywhere is sent
// everywhere; a cancelled or failed page beats one still waiting.
func pageRank(s NotificationStatus) int {
	switch s {
	case Delivered:
		return 4
	case Sent:
		return 3
	case Failed:
		return 2
	case Sending:
		return 1
	}
	return 0
}

// MergePage returns the status a box keeps for a page it holds as local
// when a twin reports remote.
func MergePage(local, remote NotificationStatus) NotificationStatus {
	if pageRank(remote) > pageRank(local) && remote != Sending {
		return remote
	}
	return local
}

// statusRank is the heal rule of a partition: resolved over acknowledged
// over triggered.
func statusRank(s Status) int {
	switch s {
	case Resolved:
		return 2
	case Acknowledged:
		return 1
	}
	return 0
}

// retriggers counts how often an incident was paged again after an ack
// timed out: the side that re-triggered more recently knows more, even
// though its status ranks lower.
func retriggers(tl []TimelineEntry) int {
	n := 0
	for _, e := range tl {
		if e.Kind == KindRetriggered {
			n++
		}
	}
	return n
}

// MergeIncident merges what a twin reports (remote) into what this box
// holds (local) for the same incident id. The result is the same on both
// boxes whichever order records arrive in:
//
//   - status: the side with more re-triggers wins; otherwise resolved over
//     acknowledged over triggered; the earliest acknowledgement is kept;
//   - escalation position: the winner's; on a tie the further one;
//   - timeline: the union (entries equal in time, kind and text are one),
//     local entries first;
//   - alert count and severity: the larger count, the worst severity.
//
// Pages and zones are merged by the store, row by row.
func MergeIncident(local, remote IncidentRecord) IncidentRecord {
	out := local
	li, ri := local.Incident, remote.Incident
	lr, rr := retriggers(local.Timeline), retriggers(remote.Timeline)
	remoteWins := rr > lr || (rr == lr && statusRank(ri.Status) > statusRank(li.Status))
	tie := rr == lr && ri.Status == li.Status
	if remoteWins {
		out.Incident.Status = ri.Status
		out.Incident.AcknowledgedAt, out.Incident.AcknowledgedBy = ri.AcknowledgedAt, ri.AcknowledgedBy
		out.Incident.ResolvedAt, out.Incident.ResolvedBy = ri.ResolvedAt, ri.ResolvedBy
		out.Escalation = remote.Escalation
	}
	// Within one re-trigger epoch, the earliest ack and resolution stand,
	// whichever side they were recorded on.
	if rr == lr {
		for _, side := range []Incident{li, ri} {
			if earlier(side.AcknowledgedAt, out.Incident.AcknowledgedAt) && out.Incident.Status != Triggered {
				out.Incident.AcknowledgedAt, out.Incident.AcknowledgedBy = side.AcknowledgedAt, side.AcknowledgedBy
			}
			if earlier(side.ResolvedAt, out.Incident.ResolvedAt) && out.Incident.Status == Resolved {
				out.Incident.ResolvedAt, out.Incident.ResolvedBy = side.ResolvedAt, side.ResolvedBy
			}
		}
	}
	if tie && further(remote.Escalation, local.Escalation) {
		out.Escalation = remote.Escalation
	}
	if out.Incident.Status == Resolved {
		out.Escalation.NextAt = time.Time{}
	}
	out.Incident.AlertCount = max(li.AlertCount, ri.AlertCount)
	out.Incident.Severity = min(li.Severity, ri.Severity)
	if remote.LastAlert.After(local.LastAlert) {
		out.LastAlert = remote.LastAlert
		out.Incident.Summary = ri.Summary
	}
	out.Timeline = append(append([]TimelineEntry(nil), local.Timeline...), MissingTimeline(local.Timeline, remote.Timeline)...)
	out.Incident.Level, out.Incident.Loop = out.Escalation.Level, out.Escalation.Loop
	return out
}

func earlier(a, b *time.Time) bool { return a != nil && (b == nil || a.Before(*b)) }

// further reports whether position a is past b: a later loop or level, or
// the same step with a later next step (the twin already stepped).
func further(a, b RecordPosition) bool {
	if a.Loop != b.Loop {
		return a.Loop > b.Loop
	}
	if a.Level != b.Level {
		return a.Level > b.Level
	}
	if a.LoopStartedAt.Equal(b.LoopStartedAt) {
		return a.NextAt.IsZero() && !b.NextAt.IsZero() || !b.NextAt.IsZero() && a.NextAt.After(b.NextAt)
	}
	return a.LoopStartedAt.After(b.LoopStartedAt)
}

// MissingTimeline returns the entries of remote that local lacks (the
// multiset difference), in remote's order: what a box appends.
func MissingTimeline(local, remote []TimelineEntry) []TimelineEntry {
	type key struct {
		at           int64
		kind, detail string
	}
	count := map[key]int{}
	for _, e := range local {
		count[key{e.At.UnixMilli(), e.Kind, e.Detail}]++
	}
	var out []TimelineEntry
	for _, e := range remote {
		k := key{e.At.UnixMilli(), e.Kind, e.Detail}
		if count[k] > 0 {
			count[k]--
			continue
		}
		out = append(out, e)
	}
	return out
}
