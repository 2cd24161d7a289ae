package modem

import (
	"strings"
)

// scanner splits the modem's byte stream into lines. Modems frame lines with
// "\r\n", some with "\r\r\n", echo ends in a bare "\r"; any run of CR and LF
// ends a line and empty lines are dropped. The SMS prompt "> " has no line
// end at all, so a partial line consisting of ">" is reported as a prompt as
// soon as it is seen. NUL bytes and other control characters (except the
// framing) are dropped, so line noise cannot produce a bogus result.
type scanner struct {
	buf []byte
}

// maxLine bounds a single line; longer runs are cut into pieces (garbage on
// the line must not grow memory without bound). A PDU line is at most
// 2*(12+164)=352 hex digits.
const maxLine = 4096

// event is one thing the scanner found: a line, or the SMS prompt.
type event struct {
	line   string
	prompt bool
}

// feed appends data and returns the complete events it contains.
func (s *scanner) feed(data []byte, out []event) []event {
	for _, b := range data {
		switch {
		case b == '\r' || b == '\n':
			if len(s.buf) > 0 {
				out = s.flush(out)
			}
			continue
		case b < 0x20 && b != '\t', b == 0x7f:
			continue // control characters, including stray Ctrl-Z or ESC
		}
		s.buf = append(s.buf, b)
		if len(s.buf) == 1 && b == '>' {
			s.buf = s.buf[:0]
			out = append(out, event{prompt: true})
			continue
		}
		if len(s.buf) >= maxLine {
			out = s.flush(out)
		}
	}
	return out
}

func (s *scanner) flush(out []event) []event {
	line := strings.TrimSpace(string(s.buf))
	s.buf = s.buf[:0]
	if line != "" {
		out = append(out, event{line: line})
	}
	return out
}

// resultKind classifies a line that ends a command.
type resultKind int

const (
	notFinal resultKind = iota
	resultOK
	resultError // any failure; err says which
)

// parseFinal reports whether line is a final result code and, for a
// failure, the error it stands for.
func parseFinal(line string) (resultKind, error) {
	switch line {
	case "OK":
		return resultOK, nil
	case "ERROR":
		return resultError, ErrError
	case "NO CARRIER":
		return resultError, ErrNoCarrier
	case "BUSY":
		return resultError, ErrBusy
	case "NO ANSWER":
		return resultError, ErrNoAnswer
	case "NO DIALTONE":
		return resultError, ErrNoDialtone
	}
	if arg, ok := strings.CutPrefix(line, "+CME ERROR:"); ok {
		code, text := codeAndText(arg, cmeTexts)
		return resultError, &CMEError{Code: code, Text: text}
	}
	if arg, ok := strings.CutPrefix(line, "+CMS ERROR:"); ok {
		code, text := codeAndText(arg, cmsTexts)
		return resultError, &CMSError{Code: code, Text: text}
	}
	return notFinal, nil
}

// splitParams splits the parameters of an information line such as
// `+CMTI: "ME",3` at commas outside double quotes and unquotes them.
func splitParams(s string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ',' && !quoted:
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	return append(out, strings.TrimSpace(cur.String()))
}

// infoParams returns the parameters of the first line in lines that starts
// with prefix (such as "+CSQ:"), and whether there was one. Lines that do not
// match are ignored, which tolerates garbage among the answer.
func infoParams(lines []string, prefix string) ([]string, bool) {
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			return splitParams(strings.TrimSpace(rest)), true
		}
	}
	return nil, false
}
