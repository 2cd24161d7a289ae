package escalation

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Reply is an SMS reply understood by ParseReply: acknowledge or resolve,
// optionally naming one incident.
type Reply struct {
	Action     Action // Acknowledge or Resolve
	IncidentID int64  // 0: the incidents currently paging the sender
}

// ReplyHelp says which replies are understood; it ends every ReplyError
// and suits a confirmation SMS answering a reply that was not understood.
const ReplyHelp = "reply 4 or ACK to acknowledge, 6 or RES to resolve, optionally with the incident number (4 42)"

// ReplyError says why an SMS reply was not understood.
type ReplyError struct {
	Text   string // the reply as received
	Reason string // what is wrong with it
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("reply %q not understood: %s; %s", e.Text, e.Reason, ReplyHelp)
}

// replyWords are the words that name an action, after width folding and
// lower-casing. "4" and "6" are handled with the numbers.
var replyWords = map[string]Action{
	"a":           Acknowledge,
	"ack":         Acknowledge,
	"acknowledge": Acknowledge,
	"了解":          Acknowledge,
	"りょうかい":       Acknowledge,
	"r":           Resolve,
	"res":         Resolve,
	"resolve":     Resolve,
	"解決":          Resolve,
	"かいけつ":        Resolve,
}

// maxReplyLen bounds the text ParseReply looks at; real replies are a few
// characters, and a long one is certainly not a command.
const maxReplyLen = 160

type replyToken struct {
	text string
	num  bool // all digits
	hash bool // written "#42": certainly an incident id
}

// ParseReply reads an SMS reply (docs/reference.md §7). It is case- and
// width-insensitive: "4", "ack", "a", "了解" acknowledge; "6", "res", "r",
// "resolve", "解決" resolve; each may be followed or preceded by an
// incident id ("4 42", "ACK 42", "42a", "#42 ack", "了解 42", "４２ａ").
// Surrounding spaces and punctuation are ignored. When both words are
// numbers the first 4 or 6 is the action ("4 6" acknowledges incident 6),
// unless it is marked "#". Anything else is a *ReplyError.
func ParseReply(text string) (Reply, error) {
	if len(text) > maxReplyLen {
		return Reply{}, &ReplyError{Text: text[:maxReplyLen] + "…", Reason: "too long"}
	}
	toks := replyTokens(strings.ToLower(foldWidth(text)))
	fail := func(format string, args ...any) (Reply, error) {
		return Reply{}, &ReplyError{Text: text, Reason: fmt.Sprintf(format, args...)}
	}
	var nums, words []replyToken
	for _, t := range toks {
		if t.num {
			nums = append(nums, t)
		} else {
			words = append(words, t)
		}
	}
	var r Reply
	var idTok *replyToken
	switch {
	case len(toks) == 0:
		return fail("it is empty")
	case len(toks) > 2:
		return fail("too many words")
	case len(words) == 2:
		return fail("two words and no number")
	case len(words) == 1:
		a, ok := replyWords[words[0].text]
		if !ok {
			return fail("unknown word %q", words[0].text)
		}
		r.Action = a
		if len(nums) == 1 {
			idTok = &nums[0]
		}
	case len(nums) == 1:
		a, ok := numberAction(nums[0])
		if !ok {
			return fail("%s is not 4 or 6 and no action is given", nums[0].text)
		}
		r.Action = a
	default: // two numbers
		if a, ok := numberAction(nums[0]); ok {
			r.Action, idTok = a, &nums[1]
		} else if a, ok := numberAction(nums[1]); ok {
			r.Action, idTok = a, &nums[0]
		} else {
			return fail("neither %s nor %s is 4 or 6", nums[0].text, nums[1].text)
		}
	}
	if idTok != nil {
		id, err := strconv.ParseInt(idTok.text, 10, 64)
		if err != nil || id > 1<<53 {
			return fail("incident number %s is too large", idTok.text)
		}
		if id == 0 {
			return fail("there is no incident #0")
		}
		r.IncidentID = id
	}
	return r, nil
}

// numberAction reads the action keys 4 and 6 (the DTMF keys of the call).
func numberAction(t replyToken) (Action, bool) {
	if t.hash {
		return "", false
	}
	switch strings.TrimLeft(t.text, "0") {
	case "4":
		return Acknowledge, true
	case "6":
		return Resolve, true
	}
	return "", false
}

// replyTokens splits s into runs of digits, of ASCII letters and of other
// letters; everything else separates. "42a" is two tokens, "了解42" too.
func replyTokens(s string) []replyToken {
	var toks []replyToken
	class := func(r rune) int {
		switch {
		case r >= '0' && r <= '9':
			return 1
		case r >= 'a' && r <= 'z':
			return 2
		case r > unicode.MaxASCII && (unicode.IsLetter(r) || unicode.Is(unicode.Mn, r)):
			return 3
		}
		return 0
	}
	cur, curClass, hash := []rune(nil), 0, false
	var prev rune
	flush := func() {
		if len(cur) > 0 {
			toks = append(toks, replyToken{text: string(cur), num: curClass == 1, hash: hash && curClass == 1})
		}
		cur, hash = nil, false
	}
	for _, r := range s {
		c := class(r)
		if c != curClass || c == 0 {
			flush()
			hash = c == 1 && prev == '#'
		}
		if c != 0 {
			cur = append(cur, r)
		}
		curClass, prev = c, r
	}
	flush()
	return toks
}
