package console

import (
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// Words lends the console's words for one language to another front end
// (the tocsin CLI), so that a timeline line, a page's state or an
// incident's status reads the same in a terminal as on the console and
// each is translated in one place.
type Words struct{ l lang }

// WordsIn returns the words of language ("en" or "ja"); any other
// language reads English.
func WordsIn(language string) Words {
	if _, ok := messages[language]; ok {
		return Words{lang(language)}
	}
	return Words{"en"}
}

// Timeline is one timeline entry as the console shows it: the kind in
// words and the detail in w's language with contact names for ids (pol
// may be nil: ids stay), times in zone relative to now.
func (w Words) Timeline(e escalation.TimelineEntry, pol *escalation.Policy, now time.Time, zone *time.Location) (label, text string) {
	if pol == nil {
		pol = &escalation.Policy{}
	}
	r := &lineReader{l: w.l, n: names{pol}, now: now, zone: zone}
	ln := r.line(e)
	return ln.Label, ln.Text
}

// Page is a notification's state in words: "sent", "cancelled:
// acknowledged", "failed: +CMS ERROR: 500".
func (w Words) Page(n escalation.Notification) string { return w.l.stateOf(n).Text }

// Channel is a channel's name ("SMS", "voice call").
func (w Words) Channel(ch escalation.Channel) string { return w.l.channel(ch) }

// State is an incident's status or an alert's severity in words
// ("acknowledged", "critical"); an unknown one is shown as it is.
func (w Words) State(s string) string { return w.l.word(s) }

// Duration is a delay or a time to act, as the console counts it: "1m10s",
// "2h05m" (ja "1分10秒").
func (w Words) Duration(d time.Duration) string { return w.l.dur(d) }

// Age is how long ago, shortly: "3m", "2h 5m" (ja "3分").
func (w Words) Age(d time.Duration) string { return w.l.age(d) }
