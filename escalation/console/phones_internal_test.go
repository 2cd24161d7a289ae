package console

import (
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

func TestGroupPhones(t *testing.T) {
	pol := &escalation.Policy{
		Contacts: []escalation.Contact{{ID: "tanaka", Phone: "+819012345678"}, {ID: "suzuki", Phone: "+819087654321"}},
		Settings: escalation.Settings{DefaultRegion: "JP"},
	}
	at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	msgs := []PhoneMessage{
		{Number: "+819012345678", ToPhone: true, Text: "[#1 重大] ...", At: at},
		{Number: "09012345678", Text: "4", At: at.Add(time.Second)}, // national form: still tanaka
		{Number: "+819087654321", ToPhone: true, Text: "answered, keys 4", At: at.Add(2 * time.Second), Call: true},
		{Number: "+15550100", Text: "who is this?", At: at.Add(3 * time.Second)},
	}
	got := groupPhones(pol, msgs)
	if len(got) != 3 {
		t.Fatalf("got %d phones, want tanaka, suzuki and one unknown number: %+v", len(got), got)
	}
	if got[0].Contact.ID != "tanaka" || len(got[0].Messages) != 2 || got[0].Messages[1].Text != "4" {
		t.Errorf("tanaka's phone = %+v", got[0])
	}
	if got[1].Contact.ID != "suzuki" || len(got[1].Messages) != 1 || !got[1].Messages[0].Call {
		t.Errorf("suzuki's phone = %+v, want the call", got[1])
	}
	if got[2].Known || got[2].Number != "+15550100" || len(got[2].Messages) != 1 {
		t.Errorf("unknown number's phone = %+v", got[2])
	}

	var many []PhoneMessage
	for i := range maxPhoneMessages + 5 {
		many = append(many, PhoneMessage{Number: "+819012345678", Text: "x", At: at.Add(time.Duration(i) * time.Second)})
	}
	if n := len(groupPhones(pol, many)[0].Messages); n != maxPhoneMessages {
		t.Errorf("a phone shows %d messages, want the newest %d", n, maxPhoneMessages)
	}
}
