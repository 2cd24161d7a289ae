package escalation

import (
	"errors"
	"strings"
	"testing"
)

func TestParseReply(t *testing.T) {
	ack := func(id int64) Reply { return Reply{Action: Acknowledge, IncidentID: id} }
	res := func(id int64) Reply { return Reply{Action: Resolve, IncidentID: id} }
	tests := []struct {
		text string
		want Reply
	}{
		{"4", ack(0)},
		{"ack", ack(0)},
		{"ACK", ack(0)},
		{"Ack.", ack(0)},
		{"a", ack(0)},
		{"A", ack(0)},
		{"acknowledge", ack(0)},
		{"了解", ack(0)},
		{"了解です", Reply{}}, // an error: see TestParseReplyErrors
		{"「了解」", ack(0)},
		{"りょうかい", ack(0)},
		{"６", res(0)},
		{"6", res(0)},
		{"res", res(0)},
		{"R", res(0)},
		{"Resolve!", res(0)},
		{"解決", res(0)},
		{"4 42", ack(42)},
		{"ACK 42", ack(42)},
		{"ack42", ack(42)},
		{"42a", ack(42)},
		{"42 A", ack(42)},
		{"#42 ack", ack(42)},
		{"#42 4", ack(42)},
		{"42 4", ack(42)},
		{"4 #42", ack(42)},
		{"4 6", ack(6)},
		{"6 4", res(4)},
		{"4 4", ack(4)},
		{"#4 6", res(4)},
		{"了解 42", ack(42)},
		{"了解42", ack(42)},
		{"42了解", ack(42)},
		{"解決 #7", res(7)},
		{"４　４２", ack(42)},
		{"ＡＣＫ　４２", ack(42)},
		{"４２ａ", ack(42)},
		{"  6 r ", res(6)}, // "r 6" written backwards
		{"\n\tres 12\n", res(12)},
		{"res, 12.", res(12)},
		{"res-12", res(12)},
		{"04", ack(0)},
		{"4 0042", ack(42)},
	}
	for _, tt := range tests {
		if tt.want == (Reply{}) {
			continue
		}
		got, err := ParseReply(tt.text)
		if err != nil || got != tt.want {
			t.Errorf("ParseReply(%q) = %+v, %v; want %+v", tt.text, got, err, tt.want)
		}
	}
}

func TestParseReplyErrors(t *testing.T) {
	tests := []struct{ text, reason string }{
		{"", "it is empty"},
		{"  ?! ", "it is empty"},
		{"ok", `unknown word "ok"`},
		{"了解です", `unknown word "了解です"`},
		{"42", "42 is not 4 or 6 and no action is given"},
		{"#4", "4 is not 4 or 6"},
		{"41 42", "neither 41 nor 42 is 4 or 6"},
		{"ack 4 2", "too many words"},
		{"ack res", "two words and no number"},
		{"ack 0", "there is no incident #0"},
		{"ack 99999999999999999999", "too large"},
		{strings.Repeat("4", 200), "too long"},
		{"stop", `unknown word "stop"`},
	}
	for _, tt := range tests {
		got, err := ParseReply(tt.text)
		var re *ReplyError
		if !errors.As(err, &re) {
			t.Errorf("ParseReply(%q) = %+v, %v; want a *ReplyError", tt.text, got, err)
			continue
		}
		if !strings.Contains(re.Reason, tt.reason) {
			t.Errorf("ParseReply(%q) reason %q, want it to contain %q", tt.text, re.Reason, tt.reason)
		}
		if !strings.Contains(err.Error(), ReplyHelp) {
			t.Errorf("ParseReply(%q) error %q does not say which replies are understood", tt.text, err)
		}
	}
}

func FuzzParseReply(f *testing.F) {
	for _, s := range []string{"4", "ack 42", "42a", "#42 ack", "了解 42", "４２ａ", "6 4", "res, 12.", "", "#", "a#1",
		"ack 99999999999999999999", "了解です"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		r, err := ParseReply(text)
		if err != nil {
			var re *ReplyError
			if !errors.As(err, &re) {
				t.Fatalf("ParseReply(%q) error %v is not a *ReplyError", text, err)
			}
			return
		}
		if r.Action != Acknowledge && r.Action != Resolve {
			t.Fatalf("ParseReply(%q) action %q", text, r.Action)
		}
		if r.IncidentID < 0 {
			t.Fatalf("ParseReply(%q) id %d", text, r.IncidentID)
		}
		// Upper-casing (ASCII) never changes what a reply means.
		if r2, err := ParseReply(strings.ToUpper(text)); err == nil && r2 != r && isASCII(text) {
			t.Fatalf("ParseReply(%q) = %+v but upper-cased %+v", text, r, r2)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
