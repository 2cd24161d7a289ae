package console_test

import (
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/console"
)

// Another front end gets the console's words: a timeline line with the
// contact's name, a page's state, a channel, a status and a severity, in
// Japanese; an unknown language reads English, and without a policy the
// ids stay.
func TestWordsForTheCLI(t *testing.T) {
	pol := &escalation.Policy{Contacts: []escalation.Contact{{ID: "tanaka", Name: "田中 太郎"}}}
	ja := console.WordsIn("ja")
	e := escalation.TimelineEntry{At: time.Now(), Kind: escalation.KindSent, Detail: "SMS to tanaka (+819012345678) sent, modem ref 7"}
	if label, text := ja.Timeline(e, pol, time.Now(), time.UTC); label != "送信" || text != "田中 太郎 (+819012345678) へSMS送信、モデム参照番号 7" {
		t.Errorf("ja timeline = %q %q", label, text)
	}
	if _, text := ja.Timeline(e, nil, time.Now(), time.UTC); text != "tanaka (+819012345678) へSMS送信、モデム参照番号 7" {
		t.Errorf("ja timeline without a policy = %q", text)
	}
	if label, text := console.WordsIn("fr").Timeline(e, pol, time.Now(), time.UTC); label != "sent" || text != "SMS to 田中 太郎 (+819012345678) sent, modem ref 7" {
		t.Errorf("fr (English) timeline = %q %q", label, text)
	}
	for _, tt := range []struct{ got, want string }{
		{ja.Page(escalation.Notification{Status: escalation.Sent}), "送信済み"},
		{ja.Page(escalation.Notification{Status: escalation.Failed, Error: "cancelled: incident acknowledged"}), "取消: 了解済み"},
		{ja.Channel(escalation.Voice), "音声通話"},
		{ja.State("acknowledged"), "了解済み"},
		{ja.State("critical"), "重大"},
		{ja.State("someday"), "someday"},
		{ja.Duration(70 * time.Second), "1分10秒"},
		{ja.Age(3 * time.Minute), "3分"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
