package escalation

import "time"

// Outcome is the result of one delivery attempt of claimed messages.
type Outcome struct {
	Status NotificationStatus // Sent, Failed, or Queued to retry
	Text   string             // the text actually sent (a digest), if it differs
	Ref    string             // modem message reference(s)
	Error  string
	// RetryAt, with Status Queued, holds the message back until then.
	RetryAt time.Time
	// Timeline is what each covered incident's timeline records.
	Timeline string
}

// ReceivedSMS is one SMS (or one part of a concatenated SMS) read from the
// modem. It is stored before the modem deletes it.
type ReceivedSMS struct {
	ID         int64
	ReceivedAt time.Time
	Number     string
	Text       string
	PDU        string
	SentAt     time.Time
	// Concatenation; ConcatTotal 0 for a single-part message.
	ConcatRef, ConcatTotal, ConcatSeq int
	Status                            string // new, part, processed, ignored
	ContactID                         string
	Result                            string
	// PartIDs are the stored rows an assembled message came from.
	PartIDs []int64
}
