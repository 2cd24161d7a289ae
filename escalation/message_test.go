package escalation_test

import (
	"strings"
	"testing"

	"github.com/tocsin-relay/tocsin/escalation"
)

// A drill page asks for its id in both languages; a real page does not; a
// digest naming a drill beside real incidents says the drill needs its id.
func TestReplyInstructions(t *testing.T) {
	drill := escalation.Incident{ID: 13, Service: "paint", Summary: "Test page by ops", Severity: escalation.SevWarning, Drill: true}
	real := escalation.Incident{ID: 12, Service: "press", Summary: "Hydraulic pressure low", Severity: escalation.SevCritical}
	for _, tc := range []struct {
		name, got, want string
	}{
		{"real page en", escalation.FormatPage(real, "en"), "\nReply 4 ack, 6 resolve"},
		{"real page ja", escalation.FormatPage(real, "ja"), "\n返信 4=了解 6=解決"},
		{"drill page en", escalation.FormatPage(drill, "en"), "\nReply 4 13 ack, 6 13 resolve"},
		{"drill page ja", escalation.FormatPage(drill, "ja"), "\n返信 4 13=了解 6 13=解決"},
		{"digest en", escalation.FormatDigest([]escalation.Incident{real, real}, "en"), "\nReply 4 to ack all, 6 to resolve all"},
		{"mixed digest en", escalation.FormatDigest([]escalation.Incident{real, drill}, "en"), "\nReply 4 to ack all, 6 to resolve all (drills with their number: 4 13)"},
		{"mixed digest ja", escalation.FormatDigest([]escalation.Incident{real, drill}, "ja"), "\n4で全て了解 6で全て解決 (訓練は番号付き: 4 13)"},
	} {
		if !strings.HasSuffix(tc.got, tc.want) {
			t.Errorf("%s: %q does not end with %q", tc.name, tc.got, tc.want)
		}
	}
}
