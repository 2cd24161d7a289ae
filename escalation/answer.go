package escalation

import "time"

// AnswerKind classifies the SMS Tocsin sends in answer to a reply. Answers
// are bounded per number (AnswerLimit) so that a reply loop — a phone with
// an auto-reply, a handset resending junk — can never crowd out pages.
type AnswerKind string

const (
	// AnswerConfirm confirms a reply that changed at least one incident.
	AnswerConfirm AnswerKind = "confirm"
	// AnswerHelp answers a reply that changed nothing: the grammar help for
	// text that was not understood, or "no open incident" for a reply that
	// found nothing to act on. A loop produces these, so they are bounded
	// hardest.
	AnswerHelp AnswerKind = "help"
)

// AnswerWindow is the period over which answers to one number are counted.
const AnswerWindow = time.Hour

// AnswerLimit is how many answers of a kind one number gets per
// AnswerWindow; the rest are recorded (timeline, received-SMS result, log)
// and not sent. Three help answers are enough for a person to learn the
// grammar; ten confirmations cover a person acknowledging incidents one by
// one in a bad hour, while a loop is stopped after a handful of messages.
func AnswerLimit(k AnswerKind) int {
	if k == AnswerConfirm {
		return 10
	}
	return 3
}

// BareReplyTargets chooses what a reply without an incident id acts on,
// from told, the incidents named in the last page or digest sent to the
// person (Store.LastTold):
//
//   - only incidents that action can still change: triggered ones for an
//     acknowledgement, triggered or acknowledged ones for a resolve;
//     incidents resolved (or acknowledged) since the message was sent are
//     left out and the rest are acted on;
//   - if the message named any real incident, the drills it named are left
//     out: a drill needs its id ("4 13"), so a bare reply meant for real
//     alarms never closes a drill, and a drill page — which names nothing
//     else — can never drag a real incident into a bare reply.
//
// The result keeps told's order.
func BareReplyTargets(told []Incident, a Action) []int64 {
	real := false
	for _, inc := range told {
		if !inc.Drill {
			real = true
		}
	}
	var ids []int64
	for _, inc := range told {
		if real && inc.Drill {
			continue
		}
		switch {
		case inc.Status == Triggered:
		case inc.Status == Acknowledged && a == Resolve:
		default:
			continue
		}
		ids = append(ids, inc.ID)
	}
	return ids
}
