package phone

import (
	"strings"
	"testing"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/modem"
)

// What the module can say keeps the key options whatever the summary.
func TestSpeechKeepsKeyOptions(t *testing.T) {
	for _, summary := range []string{
		"Hydraulic pressure low",
		strings.Repeat("very long summary ", 30),
		"油圧低下 プレス1号ライン",
	} {
		said := modem.SpeechText(speech(escalation.Incident{ID: 42, Severity: escalation.SevCritical, Service: "press-line-1", Summary: summary}))
		if !strings.Contains(said, "Press 4 to acknowledge, 6 to resolve") || !strings.Contains(said, "incident 42") {
			t.Errorf("for %q the module says %q", summary, said)
		}
	}
}
