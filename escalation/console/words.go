package console

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// What a person reads instead of the engine's codes: a page's state in
// words, a channel's name, a timeline line in the reader's language, times
// with their zone and durations the way a phone shows them. Channels and
// states other engineers add later (e-mail, push, webhooks, "delivered")
// are shown by their own name until they get a translation here.

// pageState is one notification's state as the console shows it: Key is
// the CSS class (queued, sending, sent, delivered, failed, cancelled or
// any newer state's own name), Text the words.
type pageState struct {
	Key  string
	Text string
}

// cancelledPrefix starts the error of a page the store stopped because its
// incident was acknowledged or resolved ("cancelled: incident
// acknowledged"); such a page did not fail.
const cancelledPrefix = "cancelled"

// stateOf puts a notification's state into words: "sent", "cancelled:
// acknowledged", "failed: +CMS ERROR: 500".
func (l lang) stateOf(n escalation.Notification) pageState {
	status := string(n.Status)
	if (n.Status == escalation.Failed || status == "cancelled") && strings.HasPrefix(n.Error, cancelledPrefix) {
		why := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(n.Error, cancelledPrefix), ":"))
		why = strings.TrimPrefix(why, "incident ")
		text := l.T("st_cancelled")
		if why != "" {
			text += ": " + l.word(why)
		}
		return pageState{Key: "cancelled", Text: text}
	}
	text := l.word("st_" + status)
	if text == "st_"+status {
		text = status // a state this console does not know yet
	}
	if n.Error != "" && n.Status != escalation.Sent && status != "delivered" {
		text += ": " + l.reason(n.Error)
	}
	return pageState{Key: status, Text: text}
}

// word is the translation of key, or key itself when there is none.
func (l lang) word(key string) string {
	if s, ok := messages[string(l)][key]; ok {
		return s
	}
	if s, ok := messages["en"][key]; ok {
		return s
	}
	return key
}

// reason translates the failure reasons Tocsin itself writes; a modem's
// or a server's own error text (+CMS ERROR: 500) is shown as it came.
func (l lang) reason(err string) string {
	if s, ok := messages[string(l)]["why_"+err]; ok {
		return s
	}
	return err
}

// channel is a channel's name: "SMS", "voice call", or the name of a
// channel added since.
func (l lang) channel(ch escalation.Channel) string {
	if s, ok := messages[string(l)]["ch_"+string(ch)]; ok {
		return s
	}
	return string(ch)
}

// dur is a countdown or a delay: "1m10s", "2h05m" (ja "1分10秒").
func (l lang) dur(d time.Duration) string {
	d = max(d, 0).Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if l == "ja" {
		switch {
		case d < time.Minute:
			return fmt.Sprintf("%d秒", s)
		case d < time.Hour && s == 0:
			return fmt.Sprintf("%d分", m)
		case d < time.Hour:
			return fmt.Sprintf("%d分%d秒", m, s)
		case m == 0:
			return fmt.Sprintf("%d時間", h)
		}
		return fmt.Sprintf("%d時間%d分", h, m)
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", s)
	case d < time.Hour && s == 0:
		return fmt.Sprintf("%dm", m)
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", m, s)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh%02dm", h, m)
}

// age is how long ago, shortly: "3m", "2h 5m", "4d 2h" (ja "3分").
func (l lang) age(d time.Duration) string {
	d = max(d, 0)
	mins, hours := int(d.Minutes()), int(d.Hours())
	if l == "ja" {
		switch {
		case d < time.Minute:
			return fmt.Sprintf("%d秒", int(d.Seconds()))
		case d < time.Hour:
			return fmt.Sprintf("%d分", mins)
		case d < 24*time.Hour:
			return fmt.Sprintf("%d時間%d分", hours, mins%60)
		}
		return fmt.Sprintf("%d日%d時間", hours/24, hours%24)
	}
	return age(d)
}

// zoneTime formats t in zone with the zone's label: "15:04:05 JST" today,
// "2026-12-04 15:04 JST" on another day.
func zoneTime(t, now time.Time, zone *time.Location) string {
	if t.IsZero() {
		return ""
	}
	t, now = t.In(zone), now.In(zone)
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04:05 MST")
	}
	return t.Format("2006-01-02 15:04 MST")
}

// names resolves what the console shows for ids: contacts and services by
// their names.
type names struct{ pol *escalation.Policy }

func (n names) contact(id string) string { return contactName(n.pol, id) }

func (n names) service(id string) string {
	if s, ok := n.pol.Service(id); ok && s.Name != "" {
		return s.Name
	}
	return id
}

// line is one timeline entry as a person reads it.
type line struct {
	Kind  string // the entry's kind, for the CSS class
	Label string // the kind in words
	Text  string
}

// linePattern reads one detail the engine, the store or a channel writes
// in English and says it again in the reader's language with names for
// ids. The patterns follow the fmt.Sprintf calls that write them (engine
// decide/targets, sqlite transition and ingest, phone SMS and voice
// outcomes, panel buttons); a detail that matches none is shown as
// written.
type linePattern struct {
	kind string // "" for any kind
	re   *regexp.Regexp
	// key is the message with the translated format; args turns the
	// matches into its arguments.
	key  string
	args func(r *lineReader, m []string) []any
}

// lineReader carries what translating a line needs.
type lineReader struct {
	l    lang
	n    names
	now  time.Time
	zone *time.Location
}

func (r *lineReader) who(s string) string { return r.n.contact(s) }

// via translates how something arrived or was done ("console", "sms",
// "button"); unknown ways are shown as they are.
func (r *lineReader) via(s string) string {
	if t, ok := messages[string(r.l)]["via_"+s]; ok {
		return t
	}
	return s
}

// targets translates a level's list: "tanaka by sms, zone line1".
func (r *lineReader) targets(s string) string {
	if s == "nobody on call" {
		return r.l.T("nobody_on_call")
	}
	parts := strings.Split(s, ", ")
	for i, p := range parts {
		if z, ok := strings.CutPrefix(p, "zone "); ok {
			parts[i] = fmt.Sprintf(r.l.T("zone_n"), z)
		} else if who, ch, ok := strings.Cut(p, " by "); ok {
			parts[i] = fmt.Sprintf(r.l.T("who_by"), r.who(who), r.l.channel(escalation.Channel(ch)))
		}
	}
	return strings.Join(parts, r.l.T("list_sep"))
}

// callSteps translates a call's progress: "dialing, rang, answered, key 4".
func (r *lineReader) callSteps(s string) string {
	parts := strings.Split(s, ", ")
	for i, p := range parts {
		if k, ok := strings.CutPrefix(p, "key "); ok {
			parts[i] = fmt.Sprintf(r.l.T("key_n"), k)
		} else {
			parts[i] = r.l.word("call_" + p)
			if parts[i] == "call_"+p {
				parts[i] = p
			}
		}
	}
	return strings.Join(parts, r.l.T("list_sep"))
}

func (r *lineReader) sev(s string) string { return r.l.T(s) }

// goDur reads a Go duration ("2s", "1m4s") and says it as dur does.
func (r *lineReader) goDur(s string) string {
	d, err := time.ParseDuration(s)
	if err != nil {
		return s
	}
	return r.l.dur(d)
}

func (r *lineReader) action(s string) string { return r.l.word(s) }

// when reads an RFC 3339 time and shows it in the display zone.
func (r *lineReader) when(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return zoneTime(t, r.now, r.zone)
}

var linePatterns = []linePattern{
	{"", regexp.MustCompile(`^(critical|error|warning|info) via (\S+): (.*)$`), "tl_alert",
		func(r *lineReader, m []string) []any { return []any{r.sev(m[1]), r.via(m[2]), m[3]} }},
	{"", regexp.MustCompile(`^(acknowledged|resolved) by (.+?) via (\S+)$`), "tl_done_via",
		func(r *lineReader, m []string) []any { return []any{r.action(m[1]), r.who(m[2]), r.via(m[3])} }},
	{"", regexp.MustCompile(`^(acknowledged|resolved) by (.+)$`), "tl_done",
		func(r *lineReader, m []string) []any { return []any{r.action(m[1]), r.who(m[2])} }},
	{escalation.KindRetriggered, regexp.MustCompile(`^re-triggered by escalation$`), "tl_retriggered_escalation", nil},
	{escalation.KindRetriggered, regexp.MustCompile(`^acknowledged but not resolved within the ack timeout; paging again$`), "tl_retriggered_timeout", nil},
	{escalation.KindEscalated, regexp.MustCompile(`^escalated by (.+)$`), "tl_escalated",
		func(r *lineReader, m []string) []any { return []any{r.who(m[1])} }},
	{escalation.KindSuppressed, regexp.MustCompile(`^service "(.*)" is not in policy v(\d+); nobody paged$`), "tl_no_service",
		func(r *lineReader, m []string) []any { return []any{m[1], m[2]} }},
	{escalation.KindSuppressed, regexp.MustCompile(`^no escalation policy for service "(.*)"; nobody paged$`), "tl_no_policy",
		func(r *lineReader, m []string) []any { return []any{r.n.service(m[1])} }},
	{escalation.KindSuppressed, regexp.MustCompile(`^maintenance window for (\S+) until (\S+): nobody paged$`), "tl_maintenance",
		func(r *lineReader, m []string) []any { return []any{r.n.service(m[1]), r.when(m[2])} }},
	{escalation.KindSuppressed, regexp.MustCompile(`^schedule (\S+): (.*)$`), "tl_schedule_error",
		func(r *lineReader, m []string) []any { return []any{m[1], m[2]} }},
	{escalation.KindLevel, regexp.MustCompile(`^level (\d+) \(loop (\d+), policy v(\d+)\): (.*)$`), "tl_level",
		func(r *lineReader, m []string) []any { return []any{m[1], m[2], m[3], r.targets(m[4])} }},
	{escalation.KindZone, regexp.MustCompile(`^zone (\S+) raised$`), "tl_zone",
		func(r *lineReader, m []string) []any { return []any{m[1]} }},
	{"", regexp.MustCompile(`^sirens of zone (\S+) silenced by (\S+)$`), "tl_silenced",
		func(r *lineReader, m []string) []any { return []any{m[1], m[2]} }},
	{"", regexp.MustCompile(`^SMS to (\S+) \((\S+)\) sent \(digest of (\d+) pages\), modem ref (.*)$`), "tl_sms_sent_digest",
		func(r *lineReader, m []string) []any { return []any{r.who(m[1]), m[2], m[3], m[4]} }},
	{"", regexp.MustCompile(`^SMS to (\S+) \((\S+)\) sent, modem ref (.*)$`), "tl_sms_sent",
		func(r *lineReader, m []string) []any { return []any{r.who(m[1]), m[2], m[3]} }},
	{"", regexp.MustCompile(`^SMS to (\S+) failed \(attempt (\d+)\): (.*); retrying in (\S+)$`), "tl_sms_retry",
		func(r *lineReader, m []string) []any {
			return []any{r.who(m[1]), m[2], r.l.reason(m[3]), r.goDur(m[4])}
		}},
	{"", regexp.MustCompile(`^SMS to (\S+) failed after (\d+) attempt\(s\): (.*)$`), "tl_sms_failed",
		func(r *lineReader, m []string) []any { return []any{r.who(m[1]), m[2], r.l.reason(m[3])} }},
	{"", regexp.MustCompile(`^call to (\S+) failed: (.*); retrying in (\S+)$`), "tl_call_retry",
		func(r *lineReader, m []string) []any { return []any{r.who(m[1]), r.l.reason(m[2]), r.goDur(m[3])} }},
	{"", regexp.MustCompile(`^call to (\S+) failed: (.*)$`), "tl_call_failed",
		func(r *lineReader, m []string) []any { return []any{r.who(m[1]), r.l.reason(m[2])} }},
	{"", regexp.MustCompile(`^call to (\S+) answered; (acknowledged|resolved) by key$`), "tl_call_acted",
		func(r *lineReader, m []string) []any { return []any{r.who(m[1]), r.action(m[2])} }},
	{"", regexp.MustCompile(`^call to (\S+) answered without a key: not an acknowledgement$`), "tl_call_nokey",
		func(r *lineReader, m []string) []any { return []any{r.who(m[1])} }},
	{"", regexp.MustCompile(`^call to (\S+) not answered \((.*)\)$`), "tl_call_unanswered",
		func(r *lineReader, m []string) []any { return []any{r.who(m[1]), r.l.reason(m[2])} }},
	{"", regexp.MustCompile(`^call to (\S+) \((\S+)\): (.*)$`), "tl_call_progress",
		func(r *lineReader, m []string) []any { return []any{r.who(m[1]), m[2], r.callSteps(m[3])} }},
	{"", regexp.MustCompile(`^(\S+) reply "(.*)" from (\S+)$`), "tl_reply",
		func(r *lineReader, m []string) []any { return []any{r.who(m[3]), m[2], r.via(m[1])} }},
	{"", regexp.MustCompile(`^call-back from (\S+)$`), "tl_callback",
		func(r *lineReader, m []string) []any { return []any{r.who(m[1])} }},
	// Delivery reports (escalation/phone receipts.go).
	{"", regexp.MustCompile(`^SMS to (\S+) delivered to the handset at (.+) \(after (\S+)\)$`), "tl_delivered",
		func(r *lineReader, m []string) []any { return []any{r.who(m[1]), m[2], r.goDur(m[3])} }},
	{"", regexp.MustCompile(`^SMS to (\S+) not delivered: (.*)$`), "tl_not_delivered",
		func(r *lineReader, m []string) []any { return []any{r.who(m[1]), r.l.reason(m[2])} }},
	{"", regexp.MustCompile(`^SMS to (\S+): no delivery report within (\S+); counted as not delivered$`), "tl_no_report",
		func(r *lineReader, m []string) []any { return []any{r.who(m[1]), r.goDur(m[2])} }},
	// Waiting for the modem, and a send a crash interrupted (phone, sqlite).
	{"", regexp.MustCompile(`^(SMS|call) to (\S+) waiting for the modem: (.*)$`), "tl_waiting_modem",
		func(r *lineReader, m []string) []any { return []any{r.sendWord(m[1]), r.who(m[2]), r.l.reason(m[3])} }},
	{"", regexp.MustCompile(`^page waiting for the modem: (.*)$`), "tl_page_waiting",
		func(r *lineReader, m []string) []any { return []any{r.l.reason(m[1])} }},
	{"", regexp.MustCompile(`^page waiting for the modem$`), "tl_page_waiting_bare", nil},
	{"", regexp.MustCompile(`^interrupted by restart; may have been sent$`), "tl_interrupted", nil},
	// E-mail, push and webhooks (escalation/channels.go).
	{"", regexp.MustCompile(`^(E-mail|Push|Webhook) to (.+?) sent$`), "tl_ch_sent",
		func(r *lineReader, m []string) []any { return []any{r.sendWord(m[1]), r.whoAddr(m[2])} }},
	{"", regexp.MustCompile(`^(E-mail|Push|Webhook) to (.+?) waiting: (.*)$`), "tl_ch_waiting",
		func(r *lineReader, m []string) []any {
			return []any{r.sendWord(m[1]), r.whoAddr(m[2]), r.l.reason(m[3])}
		}},
	{"", regexp.MustCompile(`^(E-mail|Push|Webhook) to (.+?) failed \(attempt (\d+)\): (.*); retrying in (\S+)$`), "tl_ch_retry",
		func(r *lineReader, m []string) []any {
			return []any{r.sendWord(m[1]), r.whoAddr(m[2]), m[3], r.l.reason(m[4]), r.goDur(m[5])}
		}},
	{"", regexp.MustCompile(`^(E-mail|Push|Webhook) to (.+?) failed after (\d+) attempt\(s\): (.*)$`), "tl_ch_failed",
		func(r *lineReader, m []string) []any {
			return []any{r.sendWord(m[1]), r.whoAddr(m[2]), m[3], r.l.reason(m[4])}
		}},
	{"", regexp.MustCompile(`^(email|push|webhook) to (.+?) not sent: (.*)$`), "tl_ch_not_sent",
		func(r *lineReader, m []string) []any {
			return []any{r.l.channel(escalation.Channel(m[1])), r.whoAddr(m[2]), r.l.reason(m[3])}
		}},
	// Bounded answers and contacts without an address (the engine).
	{"", regexp.MustCompile(`^(\S+) answer to (\S+) not sent: (\d+) already in the last (\S+) \((.*)\)$`), "tl_answer_dropped",
		func(r *lineReader, m []string) []any { return []any{r.who(m[2]), m[3], r.goDur(m[4]), m[5]} }},
	{"", regexp.MustCompile(`^(\S+) has no (\S+) address; not paged by (\S+)$`), "tl_no_address",
		func(r *lineReader, m []string) []any {
			return []any{r.who(m[1]), r.l.channel(escalation.Channel(m[2]))}
		}},
}

// sendWord names what was sent ("SMS", "call", "E-mail", "Push",
// "Webhook") in the reader's language.
func (r *lineReader) sendWord(s string) string {
	switch s {
	case "SMS":
		return r.l.channel(escalation.SMS)
	case "call":
		return r.l.channel(escalation.Voice)
	case "E-mail":
		return r.l.channel("email")
	case "Push":
		return r.l.channel("push")
	case "Webhook":
		return r.l.channel("webhook")
	}
	return s
}

// whoAddr is a recipient as the channel workers write it: "tanaka
// (tanaka@factory.example)", or the address alone.
func (r *lineReader) whoAddr(s string) string {
	if i := strings.Index(s, " ("); i > 0 && strings.HasSuffix(s, ")") {
		return r.who(s[:i]) + s[i:]
	}
	return r.who(s)
}

// line renders one timeline entry in r's language.
func (r *lineReader) line(e escalation.TimelineEntry) line {
	out := line{Kind: e.Kind, Label: r.l.word("tl_kind_" + e.Kind), Text: e.Detail}
	if out.Label == "tl_kind_"+e.Kind {
		out.Label = e.Kind
	}
	for _, p := range linePatterns {
		if p.kind != "" && p.kind != e.Kind {
			continue
		}
		m := p.re.FindStringSubmatch(e.Detail)
		if m == nil {
			continue
		}
		if p.args == nil {
			out.Text = r.l.T(p.key)
		} else {
			out.Text = fmt.Sprintf(r.l.T(p.key), p.args(r, m)...)
		}
		break
	}
	return out
}

// HK is a key of the status document in words ("engine.last_tick" →
// "engine: last tick"); keys the console does not know are shown as they
// are.
func (p *pageData) HK(key string) string {
	if s := p.L.word("hk_" + key); s != "hk_"+key {
		return s
	}
	return key
}

// HC is a table cell of the status document: ids, pins and zones as
// written, other values as HV shows them.
func (p *pageData) HC(col, v string) string {
	if isKeyColumn(col) {
		return v
	}
	return p.HV(v)
}

// HV is a value of the status document as a person reads it: yes and no
// in the reader's language, a time in the display zone with its label,
// known words (modes, kinds, registration) translated.
func (p *pageData) HV(v string) string {
	switch v {
	case "yes", "no":
		return p.L.T(v)
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil && len(v) >= len("2006-01-02T15:04:05Z") {
		return p.Time(t)
	}
	if s := p.L.word("v_" + v); s != "v_"+v {
		return s
	}
	return v
}

// Target describes one notify target of a level: "schedule line1-oncall
// (SMS)", "田中 太郎 (SMS)", "zone line1".
func (p *pageData) Target(t escalation.Target) string {
	var s string
	switch {
	case t.Schedule != "":
		name := t.Schedule
		if sc, ok := p.policy().Schedule(t.Schedule); ok && sc.Name != "" {
			name = sc.Name
		}
		s = fmt.Sprintf(p.L.T("schedule_n"), name)
	case t.Contact != "":
		s = p.Who(t.Contact)
	case t.Zone != "":
		return fmt.Sprintf(p.L.T("zone_n"), t.Zone)
	}
	via := t.Via
	if len(via) == 0 {
		via = []escalation.Channel{escalation.SMS}
	}
	chs := make([]string, len(via))
	for i, ch := range via {
		chs[i] = p.L.channel(ch)
	}
	return s + " (" + strings.Join(chs, " + ") + ")"
}

// Rotation is a layer's rotation in words ("weekly", or a duration).
func (p *pageData) Rotation(r string) string {
	if s := p.L.word("rot_" + r); s != "rot_"+r {
		return s
	}
	if d, err := time.ParseDuration(r); err == nil {
		return p.L.dur(d)
	}
	return r
}

// Language is a contact's language in words.
func (p *pageData) Language(code string) string {
	if code == "" {
		code = "en"
	}
	if s := p.L.word("lang_" + code); s != "lang_"+code {
		return s
	}
	return code
}

// Names are the names of contacts, listed.
func (p *pageData) Names(ids []string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = p.Who(id)
	}
	return strings.Join(out, p.L.T("list_sep"))
}

// ZoneName is the display zone's name ("Asia/Tokyo", or "Local" for the
// host's).
func (p *pageData) ZoneName() string { return p.Zone.String() }
