package escalation

import (
	"fmt"
	"strings"
)

// Message templates for SMS, in English and Japanese (Contact.Language).
// Texts are short on purpose: one GSM 7-bit segment holds 160 characters,
// one UCS-2 segment (any Japanese) only 70.

// severityJA is the Japanese tag for each severity.
var severityJA = map[Severity]string{SevCritical: "重大", SevError: "異常", SevWarning: "警告", SevInfo: "情報"}

func isJA(lang string) bool { return strings.HasPrefix(strings.ToLower(lang), "ja") }

// FormatPage is the SMS that pages a contact about one incident:
//
//	[#42 CRIT] press-line-1: Hydraulic pressure low (plc-3)
//	Reply 4 ack, 6 resolve
//
// A drill page asks for the incident id ("Reply 4 13 ack, 6 13 resolve").
func FormatPage(inc Incident, lang string) string {
	var b strings.Builder
	if inc.Drill {
		if isJA(lang) {
			b.WriteString("[訓練] ")
		} else {
			b.WriteString("[DRILL] ")
		}
	}
	tag := inc.Severity.Short()
	if isJA(lang) {
		tag = severityJA[inc.Severity]
	}
	fmt.Fprintf(&b, "[#%d %s] %s: %s", inc.ID, tag, inc.Service, inc.Summary)
	if inc.Source != "" {
		fmt.Fprintf(&b, " (%s)", inc.Source)
	}
	switch {
	case inc.Drill && isJA(lang):
		// A drill asks for its id, so that nobody learns to answer a drill
		// with the bare reply that acknowledges real alarms.
		fmt.Fprintf(&b, "\n返信 4 %d=了解 6 %d=解決", inc.ID, inc.ID)
	case inc.Drill:
		fmt.Fprintf(&b, "\nReply 4 %d ack, 6 %d resolve", inc.ID, inc.ID)
	case isJA(lang):
		b.WriteString("\n返信 4=了解 6=解決")
	default:
		b.WriteString("\nReply 4 ack, 6 resolve")
	}
	return b.String()
}

// FormatDigest folds several pages to one contact into one SMS:
//
//	3 new: #12 press-line-1 Hydraulic pressure low; #13 ...
//	Reply 4 to ack all
func FormatDigest(incs []Incident, lang string) string {
	var b strings.Builder
	if isJA(lang) {
		fmt.Fprintf(&b, "新着%d件: ", len(incs))
	} else {
		fmt.Fprintf(&b, "%d new: ", len(incs))
	}
	const listed = 5
	for i, inc := range incs {
		if i == listed {
			if isJA(lang) {
				fmt.Fprintf(&b, " 他%d件", len(incs)-listed)
			} else {
				fmt.Fprintf(&b, "; +%d more", len(incs)-listed)
			}
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		summary := inc.Summary
		if r := []rune(summary); len(r) > 40 {
			summary = string(r[:39]) + "…"
		}
		if inc.Drill {
			summary = "[DRILL] " + summary
		}
		fmt.Fprintf(&b, "#%d %s %s %s", inc.ID, inc.Severity.Short(), inc.Service, summary)
	}
	// A bare reply acts on every incident named (BareReplyTargets), except
	// that drills named beside real incidents need their id: say so.
	var drill int64
	real := false
	for _, inc := range incs {
		if inc.Drill && drill == 0 {
			drill = inc.ID
		}
		real = real || !inc.Drill
	}
	switch {
	case drill != 0 && real && isJA(lang):
		fmt.Fprintf(&b, "\n4で全て了解 6で全て解決 (訓練は番号付き: 4 %d)", drill)
	case drill != 0 && real:
		fmt.Fprintf(&b, "\nReply 4 to ack all, 6 to resolve all (drills with their number: 4 %d)", drill)
	case isJA(lang):
		b.WriteString("\n4で全て了解 6で全て解決")
	default:
		b.WriteString("\nReply 4 to ack all, 6 to resolve all")
	}
	return b.String()
}

// FormatConfirm answers a reply: what it did to which incidents.
func FormatConfirm(action Action, ids []int64, by string, lang string) string {
	list := make([]string, len(ids))
	for i, id := range ids {
		list[i] = fmt.Sprintf("#%d", id)
	}
	if len(ids) == 0 {
		if isJA(lang) {
			return "対象のインシデントはありません"
		}
		return "No open incident to " + verb(action)
	}
	if isJA(lang) {
		word := "了解"
		if action == Resolve {
			word = "解決"
		}
		return fmt.Sprintf("%s を%sにしました (%s)", strings.Join(list, " "), word, by)
	}
	past := "acknowledged"
	if action == Resolve {
		past = "resolved"
	}
	return fmt.Sprintf("OK %s %s by %s", strings.Join(list, " "), past, by)
}

// FormatNotUnderstood answers a reply the grammar does not accept.
func FormatNotUnderstood(lang string) string {
	if isJA(lang) {
		return "理解できませんでした。4=了解 6=解決 (例: 4 42) と返信してください"
	}
	return "Not understood. Reply 4 to ack, 6 to resolve, optionally with the incident number (4 42)"
}

func verb(a Action) string {
	if a == Resolve {
		return "resolve"
	}
	return "acknowledge"
}
