package modem

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/tpdu"
)

func TestCleanText(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "[#1 CRIT] press: low", "[#1 CRIT] press: low"},
		{"japanese", "油圧低下\n返信 4=了解", "油圧低下\n返信 4=了解"},
		{"ansi colour", "\x1b[31mDOWN\x1b[0m", "DOWN"},
		{"charset designation", "a\x1b(b", "a"},
		{"ansi with params", "x\x1b[1;33;41mWARN\x1b[m y", "xWARN y"},
		{"osc title with BEL", "\x1b]0;title\x07after", "after"},
		{"osc with ST", "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"},
		{"lone esc at end", "end\x1b", "end"},
		{"esc before non-ascii", "\x1b油", "油"},
		{"c1 csi", "a\u009b31mb", "ab"},
		{"c1 control", "a\u0085b", "ab"},
		{"crlf", "line1\r\nline2\rline3", "line1\nline2\nline3"},
		{"tab ff vt", "a\tb\fc\vd", "a b c d"},
		{"nul bel ctrl-z del", "a\x00b\x07c\x1ad\x7fe", "abcde"},
		{"at injection", "AT+CMGD=1,4\r\x1aATD+15551234567;\r", "AT+CMGD=1,4\nATD+15551234567;\n"},
		{"gsm extension chars stay", "{}[]~|€^\\", "{}[]~|€^\\"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CleanText(tc.in); got != tc.want {
				t.Errorf("CleanText(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// A summary copied from a coloured log goes out without the GSM escape
// septet: the PDU, decoded independently of DecodeSubmit, has no 0x1B in
// its 7-bit user data and reads as the clean text.
func TestEncodeSubmitNoEscapeSeptet(t *testing.T) {
	m := testModem(t)
	for _, tc := range []struct{ in, want string }{
		{"\x1b[31mDOWN\x1b[0m", "DOWN"},
		{"a\x1b(b", "a"},
		{"[#3 CRIT] press: \x1b[31mDOWN\x1b[0m a\x1b(b", "[#3 CRIT] press: DOWN a"},
	} {
		pdus, err := m.EncodeSubmit("+819012345678", tc.in)
		if err != nil {
			t.Fatal(err)
		}
		var text strings.Builder
		for _, b := range pdus {
			p, err := sms.Unmarshal(b, sms.AsMO)
			if err != nil {
				t.Fatal(err)
			}
			if a, _ := p.Alphabet(); a != tpdu.Alpha7Bit {
				t.Errorf("%q encoded in alphabet %v, want GSM 7-bit", tc.in, a)
			}
			// "[" is in the extension table: the escape septet is legitimate
			// before it, and only before an extension character.
			ud := p.UD
			for i, s := range ud {
				if s == 0x1b && !strings.ContainsAny(tc.want, "[]{}~|^\\€") {
					t.Errorf("%q: escape septet at %d of %X, and the text has no extension character", tc.in, i, ud)
				}
				if s == 0x1b && (i+1 >= len(ud) || !strings.ContainsRune("[]{}~|^\\€\f", rune(extChar(ud[i+1])))) {
					t.Errorf("%q: escape septet at %d of %X", tc.in, i, ud)
				}
			}
			d, err := sms.Decode([]*tpdu.TPDU{p})
			if err != nil {
				t.Fatal(err)
			}
			text.Write(d)
		}
		if text.String() != tc.want {
			t.Errorf("%q went out as %q, want %q", tc.in, text.String(), tc.want)
		}
	}
}

// extChar maps the septet after an escape to its extension-table character
// (3GPP TS 23.038 §6.2.1.1), or 0.
func extChar(s byte) byte {
	switch s {
	case 0x0a:
		return '\f'
	case 0x14:
		return '^'
	case 0x28:
		return '{'
	case 0x29:
		return '}'
	case 0x2f:
		return '\\'
	case 0x3c:
		return '['
	case 0x3d:
		return '~'
	case 0x3e:
		return ']'
	case 0x40:
		return '|'
	}
	return 0
}

// FuzzCleanText checks that no C0 control other than LF, no DEL, no C1
// control and no ESC (which would become the GSM escape septet) survives,
// that clean text is left alone, and that cleaning twice changes nothing.
func FuzzCleanText(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b[31mDOWN\x1b[0m", "a\x1b(b", "\x1b]0;t\x07x", "\x1b", "\x1b[",
		"\r\n\r", "油圧\x1b低下", "\u009b1m", "\x1b]unterminated\nnext", "\xff\xfe", "a\x00\x7f\u0085b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := CleanText(in)
		if !utf8.ValidString(out) {
			t.Fatalf("CleanText(%q) = %q: invalid UTF-8", in, out)
		}
		for _, r := range out {
			if r != '\n' && isControl(r) {
				t.Fatalf("CleanText(%q) = %q keeps control %U", in, out, r)
			}
		}
		if again := CleanText(out); again != out {
			t.Fatalf("CleanText not idempotent: %q -> %q -> %q", in, out, again)
		}
		if isClean(in) && out != in {
			t.Fatalf("clean text %q changed to %q", in, out)
		}
	})
}

// FuzzEncodeSubmitClean checks the encoder entry itself: whatever text a
// caller passes, what is encoded decodes to text with no control character
// other than LF.
func FuzzEncodeSubmitClean(f *testing.F) {
	for _, s := range []string{"\x1b[31mDOWN\x1b[0m", "a\x1b(b", "x\x1by", "\x1b{", "AT\r\x1a", "油\x1b圧", "{}€"} {
		f.Add(s)
	}
	m := testModem(f)
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > 1000 {
			return
		}
		pdus, err := m.EncodeSubmit("+819012345678", in)
		if err != nil {
			return // empty after cleaning, invalid UTF-8: refused, nothing encoded
		}
		for _, b := range pdus {
			_, text, _, err := DecodeSubmit(b)
			if err != nil {
				t.Fatalf("%q: own PDU undecodable: %v", in, err)
			}
			for _, r := range text {
				if r != '\n' && isControl(r) {
					t.Fatalf("%q reached the wire with control %U: %q", in, r, text)
				}
			}
		}
	})
}
