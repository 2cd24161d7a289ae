package escalation

import (
	"fmt"
	"strings"
	"time"
)

// Texts for e-mail, push and chat, in English and Japanese. Unlike SMS
// they have room: a title line and a body with the incident's facts and
// the links that act on it.

// MessageTitle is the e-mail subject, push title or chat headline:
//
//	[CRIT] #42 press-line-1: Hydraulic pressure low
//	[解決] #42 press-line-1: Hydraulic pressure low
//
// The subject stays the same for every page of an incident (only the tag
// changes with the event), which is what mail clients thread by besides
// References.
func MessageTitle(m Message) string {
	ja := isJA(m.Language)
	tag := m.Incident.Severity.Short()
	if ja {
		tag = severityJA[m.Incident.Severity]
	}
	if m.Event != EventPage {
		tag = strings.ToUpper(m.Event)
		if ja {
			tag = statusWord(Status(m.Event), ja)
		}
	}
	drill := ""
	if m.Incident.Drill {
		drill = "[DRILL] "
		if ja {
			drill = "[訓練] "
		}
	}
	return fmt.Sprintf("%s[%s] #%d %s: %s", drill, tag, m.Incident.ID, m.Incident.Service, m.Incident.Summary)
}

// MessageBody is the plain-text body: facts, then the links.
func MessageBody(m Message) string {
	ja := isJA(m.Language)
	inc := m.Incident
	var b strings.Builder
	line := func(en, jp, val string) {
		if val == "" {
			return
		}
		if ja {
			fmt.Fprintf(&b, "%s: %s\n", jp, val)
		} else {
			fmt.Fprintf(&b, "%s: %s\n", en, val)
		}
	}
	b.WriteString(inc.Summary + "\n\n")
	line("Incident", "インシデント", fmt.Sprintf("#%d", inc.ID))
	line("Service", "サービス", inc.Service)
	sev := inc.Severity.String()
	if ja {
		sev = severityJA[inc.Severity]
	}
	line("Severity", "重大度", sev)
	line("Status", "状態", statusWord(inc.Status, ja))
	line("Source", "発生源", inc.Source)
	line("Since", "発生時刻", inc.CreatedAt.UTC().Format(time.RFC3339))
	if inc.AcknowledgedBy != "" {
		line("Acknowledged by", "了解者", inc.AcknowledgedBy)
	}
	if inc.ResolvedBy != "" {
		line("Resolved by", "解決者", inc.ResolvedBy)
	}
	if m.Level > 0 {
		line("Level", "レベル", fmt.Sprint(m.Level))
	}
	if m.AckURL != "" {
		b.WriteString("\n")
		line(LinkLabel(Acknowledge, m.Language), LinkLabel(Acknowledge, m.Language), m.AckURL)
		line(LinkLabel(Resolve, m.Language), LinkLabel(Resolve, m.Language), m.ResolveURL)
	}
	return b.String()
}

// LinkLabel is the button or link text for an action.
func LinkLabel(a Action, lang string) string {
	switch {
	case a == Resolve && isJA(lang):
		return "解決"
	case a == Resolve:
		return "Resolve"
	case isJA(lang):
		return "了解"
	}
	return "Acknowledge"
}

func statusWord(s Status, ja bool) string {
	if !ja {
		return string(s)
	}
	switch s {
	case Triggered:
		return "発生中"
	case Acknowledged:
		return "了解済"
	case Resolved:
		return "解決"
	}
	return string(s)
}
