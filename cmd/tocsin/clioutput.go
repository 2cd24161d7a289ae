package main

import (
	"bytes"
	"io"
	"strings"
	"time"

	"github.com/tocsin-relay/tocsin/escalation/console"
)

// What the commands that operate a daemon (alert, incidents, show, ack,
// resolve, escalate, oncall, report, drill, policy apply, gpio press, sim sms)
// print for a person, in English (outputEn) and Japanese (outputJa). The
// words for what the daemon keeps (an incident's status, a severity, a
// timeline line, a page's state, a channel) are the web console's
// (console.Words), so a terminal and the console say them alike. Under an
// English locale the output is what it was before the Japanese came:
// states, durations and details as the daemon writes them.

// outputWords are the texts of the operate commands' output. A row of a
// table is tab-separated, one cell per column.
type outputWords struct {
	ja bool // the daemon's words in Japanese too (console.Words)

	// alert.
	Opened, NotOpen, Added string
	// incidents.
	IncidentsHead string
	// show.
	Facts, Notifications, PageLevel string
	// ack, resolve, escalate.
	Transition string
	// oncall.
	OnCallHead, Nobody string
	// report.
	ReportHead, ReportServices, ReportNoIncidents string
	ReportPagesHead, ReportPeople, ReportNoPages  string
	// policy apply, gpio press, sim sms.
	PolicyApplied, Pressed, SimSent string
	// drill: the head, each step's name, the verdict, and why it failed.
	DrillHead, DrillAccepted, DrillQueued, DrillSent, DrillFailed string
	DrillAcked, DrillResolved, DrillBy, DrillPassed, DrillTimeout string
	DrillNoPage, DrillNoSend, DrillSep                            string
}

var outputEn = outputWords{
	Opened:  "incident #%d opened (%s, dedup key %s)",
	NotOpen: "no open incident with dedup key %s; nothing changed",
	Added:   "added to incident #%d (%s)",

	IncidentsHead: "ID\tSTATUS\tSEVERITY\tSERVICE\tLEVEL\tALERTS\tAGE\tSUMMARY",

	Facts:         "status %s, level %d, %d alert(s), source %s, dedup key %s",
	Notifications: "notifications:",
	PageLevel:     "level %d",

	Transition: "incident #%d is %s (level %d)",

	OnCallHead: "SCHEDULE\tON CALL\tUNTIL",
	Nobody:     "(nobody)",

	ReportHead:        "On-call report, incidents created %s – %s (%s)",
	ReportServices:    "SERVICE\tINCIDENTS\tACKED\tMTTA p50\tMTTA p95\tRESOLVED\tMTTR p50\tMTTR p95",
	ReportNoIncidents: "(no incidents)",
	ReportPagesHead:   "Pages received (business = Mon–Fri 09:00–18:00, sleep = 22:00–07:00, in each person's zone):",
	ReportPeople:      "PERSON\tZONE\tPAGES\tBUSINESS\tOFF HOURS\tSLEEP",
	ReportNoPages:     "(no pages)",

	PolicyApplied: "policy version %d in force",
	Pressed:       "pressed %s",
	SimSent:       "simulated phone %s sent %q",

	DrillHead:     "drill: incident #%d on %s",
	DrillAccepted: "accepted",
	DrillQueued:   "first page queued",
	DrillSent:     "SMS on the wire",
	DrillFailed:   "delivery failed",
	DrillAcked:    "acknowledged",
	DrillResolved: "resolved",
	DrillBy:       "by %s",
	DrillPassed:   "drill passed: acknowledged %s after the page was queued",
	DrillTimeout:  "drill: incident #%d not acknowledged within %s; still open: acknowledge or resolve it with `tocsin resolve %d`%s",
	DrillNoPage:   "no page was queued (is anyone on call for the service?)",
	DrillNoSend:   "no message reached the network (look at `tocsin status` for the modem)",
	DrillSep:      "; ",
}

var outputJa = outputWords{
	ja:      true,
	Opened:  "インシデント #%d を開きました（%s、重複キー %s）",
	NotOpen: "重複キー %s の未解決インシデントはありません。何も変えていません",
	Added:   "インシデント #%d に追加しました（%s）",

	IncidentsHead: "ID\t状態\t重大度\tサービス\tレベル\tアラート\t経過\t概要",

	Facts:         "状態 %s、レベル %d、アラート %d 件、発生源 %s、重複キー %s",
	Notifications: "通知:",
	PageLevel:     "レベル %d",

	Transition: "インシデント #%d は%sです（レベル %d）",

	OnCallHead: "スケジュール\t当番\t交代時刻",
	Nobody:     "（当番なし）",

	ReportHead:        "オンコール報告: %s ～ %s に発生したインシデント（%s）",
	ReportServices:    "サービス\tインシデント\t了解\t了解まで中央値\t了解まで95%\t解決\t解決まで中央値\t解決まで95%",
	ReportNoIncidents: "（インシデントなし）",
	ReportPagesHead:   "受けた呼び出し（業務時間 = 月～金 09:00～18:00、睡眠時間 = 22:00～07:00、各人のタイムゾーンで）:",
	ReportPeople:      "担当者\tタイムゾーン\t呼び出し\t業務時間\t時間外\t睡眠時間",
	ReportNoPages:     "（呼び出しなし）",

	PolicyApplied: "ポリシー 版 %d を適用しました",
	Pressed:       "%s を押しました",
	SimSent:       "模擬電話 %s が %q を送信しました",

	DrillHead:     "訓練: インシデント #%d（%s）",
	DrillAccepted: "受付",
	DrillQueued:   "最初の呼び出しを登録",
	DrillSent:     "SMS を送信",
	DrillFailed:   "送信失敗",
	DrillAcked:    "了解",
	DrillResolved: "解決",
	DrillBy:       "%s が応答",
	DrillPassed:   "訓練 合格: 呼び出しの登録から %s 後に了解",
	DrillTimeout:  "訓練: インシデント #%d は %s 以内に了解されませんでした。まだ開いています: `tocsin resolve %d` で了解または解決してください%s",
	DrillNoPage:   "呼び出しが登録されていません（このサービスの当番はいますか）",
	DrillNoSend:   "どのメッセージも通信網に届いていません（モデムの状態は `tocsin status` で確認）",
	DrillSep:      "。",
}

// output returns the texts of the user's locale.
func output() outputWords {
	if japanese() {
		return outputJa
	}
	return outputEn
}

// words are the console's Japanese words (English output keeps the
// daemon's own).
func (w outputWords) words() console.Words { return console.WordsIn("ja") }

// state is an incident's status or a severity: as the daemon writes it in
// English, in words in Japanese.
func (w outputWords) state(s string) string {
	if !w.ja {
		return s
	}
	return w.words().State(s)
}

// dur is a time to acknowledge or resolve: "1m10s", ja "1分10秒".
func (w outputWords) dur(d time.Duration) string {
	if !w.ja {
		return d.Round(time.Second).String()
	}
	return w.words().Duration(d)
}

// age is how long ago an incident opened: "3m12s", ja "3分".
func (w outputWords) age(d time.Duration) string {
	if !w.ja {
		return d.Round(time.Second).String()
	}
	return w.words().Age(d)
}

// table returns where a command writes tab-separated rows: a writer that
// counts kana and kanji as two columns, so Japanese headers and Japanese
// data (a summary, a name) line up in either language.
func (w outputWords) table(out io.Writer) interface {
	io.Writer
	Flush() error
} {
	return &wideTable{out: out}
}

// pad fills s with spaces to n columns of display width.
func pad(s string, n int) string {
	return s + strings.Repeat(" ", max(n-displayWidth(s), 0))
}

func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

// wideTable lines up tab-separated cells as tabwriter.NewWriter(out, 0,
// 4, 2, ' ', 0) does for the tables here (each column as wide as its
// widest cell plus two spaces, the last cell of a line as it is), but by
// display width.
type wideTable struct {
	out io.Writer
	buf bytes.Buffer
}

func (t *wideTable) Write(p []byte) (int, error) { return t.buf.Write(p) }

// Flush writes the rows buffered so far.
func (t *wideTable) Flush() error {
	text := t.buf.String()
	t.buf.Reset()
	if text == "" {
		return nil
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	var widths []int
	rows := make([][]string, len(lines))
	for i, l := range lines {
		rows[i] = strings.Split(l, "\t")
		for j, c := range rows[i][:len(rows[i])-1] {
			if j == len(widths) {
				widths = append(widths, 0)
			}
			widths[j] = max(widths[j], displayWidth(c))
		}
	}
	var b strings.Builder
	for _, cells := range rows {
		for j, c := range cells {
			if j < len(cells)-1 {
				b.WriteString(pad(c, widths[j]+2))
			} else {
				b.WriteString(c)
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(t.out, b.String())
	return err
}
