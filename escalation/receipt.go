package escalation

import "time"

// Delivery reports: an SMS "sent" has only reached the network; the
// network's status report says later whether the handset has it. A page
// with every part reported delivered is Delivered, a state beyond Sent. A
// page reported undeliverable, or (with Settings.UndeliveredAfter) left
// without a report for that long, is a failed page: the incident moves to
// its next level at once, as after a busy or unanswered call.

// Delivered is the state of a page the handset has received.
const Delivered NotificationStatus = "delivered"

// KindDelivered is the timeline entry of a delivery report.
const KindDelivered = "delivered"

// SentPage is an SMS handed to the network, waiting for its report: the
// outbox rows it carried (several for a digest), to whom, and what it
// paged about.
type SentPage struct {
	OutboxIDs []int64
	ContactID string
	Number    string
	Ref       int
	SentAt    time.Time
	// Level is the highest escalation level among the rows (0 for
	// confirmations and answers).
	Level  int
	Covers []int64
}

// DeliveryReport is what the network said about one part of a SentPage.
type DeliveryReport struct {
	Delivered bool
	// Reason is the network's status in words ("incompatible
	// destination"), or why no report counts as a failure.
	Reason string
	// At is when the handset took the message, or the network gave up.
	At time.Time
	// Timeline is what each covered incident's timeline records.
	Timeline string
}
