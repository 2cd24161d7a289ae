package modem

import (
	"strings"
	"unicode/utf8"
)

// CleanText makes text safe to put in an SMS: every control character other
// than LF is removed or replaced before the text reaches the encoder.
//
// Why here, once: summaries come from machines (PLC tags, log lines copied
// from coloured terminals, webhooks) and may hold ESC, NUL, BEL or C1
// controls. In the GSM 7-bit alphabet 0x1B is the escape to the extension
// table, so an ESC that reached the encoder would turn the next character
// into '{', '|', '€'… and decoders disagree on what follows; other controls
// show as garbage or cut the text on some handsets. Every SMS Tocsin sends,
// the daemon's pages as well as `tocsin modem sms`, goes through
// EncodeSubmit, which calls CleanText, so no caller can forget it.
//
// The rules:
//   - ANSI/ECMA-48 escape sequences are removed whole: CSI (ESC [ … final,
//     or the C1 CSI U+009B), OSC/DCS/SOS/PM/APC strings up to their
//     terminator (BEL or ESC \), and two- or three-byte escapes such as
//     ESC ( B. "\x1b[31mDOWN\x1b[0m" becomes "DOWN".
//   - CR LF and a lone CR become LF; TAB, VT and FF become a space.
//   - Every other C0 control, DEL and every C1 control (U+0080–U+009F) is
//     removed.
//   - Invalid UTF-8 bytes become U+FFFD.
func CleanText(text string) string {
	if isClean(text) {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
			i++
		case r == 0x1b:
			i = skipEscape(text, i+1)
		case r == 0x9b: // C1 CSI
			i = skipCSI(text, i+size)
		case r == 0x90 || r == 0x98 || r == 0x9d || r == 0x9e || r == 0x9f: // C1 DCS, SOS, OSC, PM, APC
			i = skipString(text, i+size)
		case r == '\r':
			b.WriteByte('\n')
			i += size
			if i < len(text) && text[i] == '\n' {
				i++
			}
		case r == '\t' || r == '\v' || r == '\f':
			b.WriteByte(' ')
			i += size
		case r == '\n':
			b.WriteByte('\n')
			i += size
		case isControl(r):
			i += size
		default:
			b.WriteString(text[i : i+size])
			i += size
		}
	}
	return b.String()
}

// isControl reports whether r is a C0 control, DEL or a C1 control.
func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f)
}

// isClean reports whether text is valid UTF-8 without controls other than
// LF, the common case, which CleanText then returns unchanged.
func isClean(text string) bool {
	for _, r := range text {
		if r == utf8.RuneError || (r != '\n' && isControl(r)) {
			return false
		}
	}
	return true
}

// skipEscape returns the index after the escape sequence whose ESC ends
// just before i (ECMA-35/ECMA-48): CSI and the string introducers have
// their own syntax; any other escape is intermediates (0x20–0x2F) and one
// final byte (0x30–0x7E). A malformed sequence loses only its ESC.
func skipEscape(text string, i int) int {
	if i >= len(text) {
		return i
	}
	switch text[i] {
	case '[':
		return skipCSI(text, i+1)
	case ']', 'P', 'X', '^', '_': // OSC, DCS, SOS, PM, APC
		return skipString(text, i+1)
	}
	j := i
	for j < len(text) && text[j] >= 0x20 && text[j] <= 0x2f {
		j++
	}
	if j < len(text) && text[j] >= 0x30 && text[j] <= 0x7e {
		return j + 1
	}
	return i
}

// skipCSI skips a control sequence's parameter bytes (0x30–0x3F),
// intermediate bytes (0x20–0x2F) and final byte (0x40–0x7E), starting just
// after the introducer. Anything else ends the sequence early, unconsumed.
func skipCSI(text string, i int) int {
	for i < len(text) && text[i] >= 0x30 && text[i] <= 0x3f {
		i++
	}
	for i < len(text) && text[i] >= 0x20 && text[i] <= 0x2f {
		i++
	}
	if i < len(text) && text[i] >= 0x40 && text[i] <= 0x7e {
		i++
	}
	return i
}

// skipString skips a control string (OSC and its kin) up to and including
// its terminator: BEL, ESC \ or the C1 ST. An unterminated string runs to
// the end of a line at most, so a stray OSC cannot swallow a whole page.
func skipString(text string, i int) int {
	for i < len(text) {
		switch {
		case text[i] == 0x07:
			return i + 1
		case text[i] == 0x1b && i+1 < len(text) && text[i+1] == '\\':
			return i + 2
		case strings.HasPrefix(text[i:], "\u009c"):
			return i + len("\u009c")
		case text[i] == '\n':
			return i
		}
		i++
	}
	return i
}
