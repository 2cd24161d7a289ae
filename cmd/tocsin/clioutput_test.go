package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// The commands that operate a daemon (alert, incidents, show, ack,
// escalate, resolve, oncall, report) speak Japanese under a Japanese
// locale, with no English label left, and under LANG=C print what they
// printed before, line for line; --json is the same document in both.
func TestOperateCommandsJapanese(t *testing.T) {
	e := newE2E(t, testPolicy("1h")+`  time_zone: Asia/Tokyo
schedules:
  - id: week
    time_zone: Asia/Tokyo
    layers:
      - {rotation: weekly, start: "2026-11-02 09:00", members: [suzuki, boss]}
`)
	e.start()
	tokenFile := filepath.Join(e.dir, "token")
	if err := os.WriteFile(tokenFile, []byte(e.token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conn := []string{"--server", "http://" + e.addr, "--token-file", tokenFile}
	run := func(lang string, args ...string) string {
		t.Helper()
		out, err := inLocale(lang, append(args, conn...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tocsin %v under LANG=%s: %v\n%s", args, lang, err, out)
		}
		t.Logf("LANG=%s tocsin %s\n%s", lang, strings.Join(args, " "), out)
		return string(out)
	}
	// en checks that every line of the English output matches one of
	// the patterns, in order: nothing added, nothing reworded.
	en := func(out string, lines ...string) {
		t.Helper()
		got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(got) != len(lines) {
			t.Errorf("under LANG=C %d lines, want %d:\n%s", len(got), len(lines), out)
			return
		}
		for i, l := range lines {
			if !regexp.MustCompile(`^` + l + `$`).MatchString(got[i]) {
				t.Errorf("under LANG=C line %d is %q, want it to match %q", i+1, got[i], l)
			}
		}
	}
	// ja checks that the Japanese output has every want and none of the
	// English labels.
	ja := func(out string, want []string, english ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("under LANG=ja_JP.UTF-8 lacks %q:\n%s", w, out)
			}
		}
		for _, w := range english {
			if strings.Contains(out, w) {
				t.Errorf("under LANG=ja_JP.UTF-8 still says %q:\n%s", w, out)
			}
		}
	}
	// enAny checks that every line of the English output matches one of
	// the patterns and every pattern one line: for a timeline whose
	// entries written in the same millisecond may come in either order.
	// A delivery report is written whenever the simulated handset sends
	// it, so its line is left out.
	enAny := func(out string, lines ...string) {
		t.Helper()
		got := slices.DeleteFunc(strings.Split(strings.TrimSuffix(out, "\n"), "\n"), func(l string) bool {
			return strings.Contains(l, " JST  delivered    SMS to ")
		})
		if len(got) != len(lines) {
			t.Errorf("under LANG=C %d lines, want %d:\n%s", len(got), len(lines), out)
		}
		used := make([]bool, len(lines))
		for _, g := range got {
			found := false
			for i, l := range lines {
				if !used[i] && regexp.MustCompile(`^`+l+`$`).MatchString(g) {
					used[i], found = true, true
					break
				}
			}
			if !found {
				t.Errorf("under LANG=C line %q matches none of the patterns left", g)
			}
		}
	}
	const stamp = `2\d{3}-\d\d-\d\d \d\d:\d\d:\d\d`

	en(run("C", "alert", "--service", "press-line-1", "--summary", "Hydraulic pressure low", "--severity", "critical", "--dedup-key", "press-1"),
		`incident #1 opened \(triggered, dedup key press-1\)`)
	ja(run("ja_JP.UTF-8", "alert", "--service", "press-line-1", "--summary", "Hydraulic pressure low", "--severity", "critical", "--dedup-key", "press-1"),
		[]string{"インシデント #1 に追加しました（発報中）"}, "added", "triggered")
	ja(run("ja_JP.UTF-8", "alert", "--service", "press-line-1", "--action", "resolve", "--dedup-key", "nothing-open"),
		[]string{"重複キー nothing-open の未解決インシデントはありません"}, "no open incident", "nothing changed")
	e.nextSMS()
	e.waitLog(0, `msg="SMS sent"`)

	at := e.logLen()
	ja(run("ja_JP.UTF-8", "escalate", "1"), []string{"インシデント #1 は発報中です（レベル 2）"}, "incident", "triggered", "level")
	e.nextSMS()
	e.waitLog(at, `msg="SMS sent"`)
	ja(run("ja_JP.UTF-8", "ack", "#1", "--by", "me"), []string{"インシデント #1 は了解済みです（レベル 2）"}, "incident", "acknowledged", "level")

	en(run("C", "incidents"),
		`ID  STATUS        SEVERITY  SERVICE       LEVEL  ALERTS  AGE  SUMMARY`,
		`#1  acknowledged  critical  press-line-1  2      2       \S+ +Hydraulic pressure low`)
	ja(run("ja_JP.UTF-8", "incidents"),
		[]string{"状態", "重大度", "サービス", "レベル", "アラート", "経過", "概要", "了解済み", "重大", "Hydraulic pressure low"},
		"STATUS", "SEVERITY", "SERVICE", "LEVEL", "ALERTS", "AGE", "SUMMARY", "acknowledged", "critical")

	enAny(run("C", "show", "1"),
		`#1 \[critical\] press-line-1: Hydraulic pressure low`,
		`status acknowledged, level 2, 2 alert\(s\), source cli, dedup key press-1`,
		`  `+stamp+` JST  triggered    critical via http: Hydraulic pressure low`,
		`  `+stamp+` JST  level        level 1 \(loop 1, policy v1\): tanaka by sms`,
		`  `+stamp+` JST  alert        critical via http: Hydraulic pressure low`,
		`  `+stamp+` JST  sent         SMS to tanaka \(\+819012345678\) sent, modem ref \d+`,
		`  `+stamp+` JST  escalated    escalated by test`,
		`  `+stamp+` JST  level        level 2 \(loop 1, policy v1\): boss by sms`,
		`  `+stamp+` JST  sent         SMS to boss \(\+819011112222\) sent, modem ref \d+`,
		`  `+stamp+` JST  acknowledged acknowledged by me via api`,
		`notifications:`,
		`  `+stamp+` JST  sms    tanaka     level 1  (sent|delivered)`,
		`  `+stamp+` JST  sms    boss       level 2  (sent|delivered)`)
	ja(run("ja_JP.UTF-8", "show", "1"),
		[]string{"#1 [重大] press-line-1: Hydraulic pressure low", "状態 了解済み、レベル 2、アラート 2 件、発生源 cli、重複キー press-1",
			" JST  発報", " JST  呼び出し", "田中 太郎", "通知:", "  SMS    tanaka     レベル 1  "},
		"status", "level", "alert(s)", "source", "dedup key", "notifications", "triggered", "acknowledged", " by ", " sent")

	en(run("C", "oncall"),
		`SCHEDULE  ON CALL  UNTIL`,
		`week      (suzuki|boss  )   `+stamp+` JST`)
	ja(run("ja_JP.UTF-8", "oncall"), []string{"スケジュール", "当番", "交代時刻"}, "SCHEDULE", "ON CALL", "UNTIL")

	en(run("C", "report", "--since", "1h"),
		`On-call report, incidents created \d{4}-\d\d-\d\d \d\d:\d\d JST – \d{4}-\d\d-\d\d \d\d:\d\d JST \(1h\)`,
		``,
		`SERVICE       INCIDENTS  ACKED  MTTA p50  MTTA p95  RESOLVED  MTTR p50  MTTR p95`,
		`press-line-1  1          1      \S+ +\S+ +0         -         -`,
		``,
		`Pages received \(business = Mon–Fri 09:00–18:00, sleep = 22:00–07:00, in each person's zone\):`,
		`PERSON  ZONE        PAGES  BUSINESS  OFF HOURS  SLEEP`,
		`boss    Asia/Tokyo  1      \d +\d +\d`,
		`tanaka  Asia/Tokyo  1      \d +\d +\d`)
	ja(run("ja_JP.UTF-8", "report", "--since", "1h"),
		[]string{"オンコール報告", "サービス", "インシデント", "了解まで中央値", "解決まで95%", "受けた呼び出し", "担当者", "業務時間", "時間外", "睡眠時間"},
		"On-call report", "SERVICE", "INCIDENTS", "ACKED", "MTTA", "MTTR", "Pages received", "PERSON", "ZONE", "PAGES", "BUSINESS", "OFF HOURS", "SLEEP")

	en(run("C", "resolve", "1"), `incident #1 is resolved \(level 2\)`)
	policy := filepath.Join(e.dir, "policy.yaml")
	en(run("C", "policy", "apply", policy), `policy version \d+ in force`)
	ja(run("ja_JP.UTF-8", "policy", "apply", policy), []string{"ポリシー 版 1 を適用しました"}, "policy", "version", "in force")

	// --json is the same document under either locale: the same fields
	// with the same states (a delivery report may land in between).
	for _, args := range [][]string{{"incidents", "--json"}, {"show", "1", "--json"}, {"oncall", "--json"}} {
		var a, b any
		if err := json.Unmarshal([]byte(run("C", args...)), &a); err != nil {
			t.Fatalf("%v under LANG=C: %v", args, err)
		}
		if err := json.Unmarshal([]byte(run("ja_JP.UTF-8", args...)), &b); err != nil {
			t.Fatalf("%v under LANG=ja_JP.UTF-8: %v", args, err)
		}
		if ka, kb := jsonShape(a), jsonShape(b); ka != kb {
			t.Errorf("%v under LANG=ja_JP.UTF-8 is another document:\n%s\nwant\n%s", args, kb, ka)
		}
	}
}

// jsonShape is a document's keys with its id, status, severity and
// schedule values, of the first element of a list: what a locale must
// not change.
func jsonShape(v any) string {
	if l, ok := v.([]any); ok && len(l) > 0 {
		v = l[0]
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Sprint(v)
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b.WriteString(k)
		switch k {
		case "id", "status", "severity", "schedule", "contacts":
			fmt.Fprintf(&b, "=%v", m[k])
		}
		b.WriteByte(' ')
	}
	return b.String()
}

// Every text of the operate commands has its Japanese, with the same
// verbs in the same order and, for a table's header, as many columns.
func TestOutputWordsJapaneseComplete(t *testing.T) {
	verbs := regexp.MustCompile(`%[-+# 0-9.\[\]]*[a-zA-Z%]`)
	en, ja := reflect.ValueOf(outputEn), reflect.ValueOf(outputJa)
	for i := range en.NumField() {
		if en.Field(i).Kind() != reflect.String {
			continue
		}
		name, e, j := en.Type().Field(i).Name, en.Field(i).String(), ja.Field(i).String()
		if e == "" || j == "" {
			t.Errorf("output text %s: English %q, Japanese %q", name, e, j)
		}
		if a, b := verbs.FindAllString(e, -1), verbs.FindAllString(j, -1); !slices.Equal(a, b) {
			t.Errorf("output text %s: verbs %v, Japanese %q has %v", name, a, j, b)
		}
		if a, b := strings.Count(e, "\t"), strings.Count(j, "\t"); a != b {
			t.Errorf("output text %s: %d columns, Japanese %q has %d", name, a+1, j, b+1)
		}
		if !hasJapanese(j) && j != e && strings.Trim(j, "。、") != "" {
			t.Errorf("output text %s: Japanese %q has no Japanese", name, j)
		}
	}
}

// A Japanese table lines up by display width (kana and kanji take two
// columns), as text/tabwriter lines up an English one.
func TestWideTableAligns(t *testing.T) {
	var b strings.Builder
	tw := outputJa.table(&b)
	fmt.Fprintln(tw, "スケジュール\t当番\t交代時刻")
	fmt.Fprintln(tw, "week\tsuzuki\t-")
	fmt.Fprintln(tw, "夜勤\t田中\t2026-12-07 09:00:00 JST")
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "スケジュール  当番    交代時刻\n" +
		"week          suzuki  -\n" +
		"夜勤          田中    2026-12-07 09:00:00 JST\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	// The same rows in ASCII come out as tabwriter writes them.
	var ours, theirs strings.Builder
	rows := "ID\tSTATUS\tAGE\tSUMMARY\n#1\tacknowledged\t3m\tPress 1 down\n#12\ttriggered\t1h2m3s\tx\n(no incidents)\n"
	wt := &wideTable{out: &ours}
	io.WriteString(wt, rows)
	wt.Flush()
	tabw := tabwriter.NewWriter(&theirs, 0, 4, 2, ' ', 0)
	io.WriteString(tabw, rows)
	tabw.Flush()
	if ours.String() != theirs.String() {
		t.Errorf("wideTable wrote\n%s\ntabwriter\n%s", ours.String(), theirs.String())
	}
	// English tables line Japanese data up too (a summary written in
	// Japanese), where tabwriter, counting characters, would not.
	b.Reset()
	tw = outputEn.table(&b)
	fmt.Fprintln(tw, "SERVICE\tSUMMARY\tAGE")
	fmt.Fprintln(tw, "press\t油圧低下\t3m")
	fmt.Fprintln(tw, "paint\tjam\t1h")
	tw.Flush()
	if want := "SERVICE  SUMMARY   AGE\npress    油圧低下  3m\npaint    jam       1h\n"; b.String() != want {
		t.Errorf("English table with Japanese data:\n%s\nwant\n%s", b.String(), want)
	}
}

// An empty report says so in the locale's words.
func TestReportEmptyJapanese(t *testing.T) {
	t.Setenv("LC_ALL", "")
	t.Setenv("LC_MESSAGES", "")
	for _, tt := range []struct{ lang, want string }{
		{"C", "SERVICE  INCIDENTS  ACKED  MTTA p50  MTTA p95  RESOLVED  MTTR p50  MTTR p95\n(no incidents)\n"},
		{"C", "PERSON  ZONE  PAGES  BUSINESS  OFF HOURS  SLEEP\n(no pages)\n"},
		{"ja_JP.UTF-8", "（インシデントなし）\n"},
		{"ja_JP.UTF-8", "担当者  タイムゾーン  呼び出し  業務時間  時間外  睡眠時間\n（呼び出しなし）\n"},
	} {
		t.Setenv("LANG", tt.lang)
		var b strings.Builder
		if err := printReport(&b, escalation.Report{}, "30d", time.UTC); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tt.want) {
			t.Errorf("empty report under LANG=%s lacks %q:\n%s", tt.lang, tt.want, b.String())
		}
	}
}

// A drill under a Japanese locale reports every step in Japanese, the
// timeline's details in the console's words, with no English label left.
func TestDrillJapanese(t *testing.T) {
	e := newE2E(t, testPolicy("1h"))
	e.start()
	tokenFile := filepath.Join(e.dir, "token")
	if err := os.WriteFile(tokenFile, []byte(e.token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd := inLocale("ja_JP.UTF-8", "drill", "--server", "http://"+e.addr, "--token-file", tokenFile,
		"--service", "press-line-1", "--poll", "50ms", "--timeout", "1m")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	e.nextSMS()
	e.waitLog(0, `msg="SMS sent"`) // recorded as sent: a bare reply answers it
	if err := e.sim.InjectSMS("09012345678", "4"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("tocsin drill: %v\n%s", err, out.String())
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("tocsin drill did not finish after the ack:\n%s", out.String())
	}
	report := out.String()
	t.Logf("LANG=ja_JP.UTF-8 tocsin drill\n%s", report)
	for _, want := range []string{"訓練: インシデント #1（press-line-1）", "受付", "最初の呼び出しを登録", "田中 太郎 (SMS)", "SMS を送信", "へSMS送信",
		"了解", "tanaka が応答", "訓練 合格: 呼び出しの登録から "} {
		if !strings.Contains(report, want) {
			t.Errorf("drill under LANG=ja_JP.UTF-8 lacks %q:\n%s", want, report)
		}
	}
	for _, english := range []string{"drill", "accepted", "first page queued", "SMS on the wire", "acknowledged", " by ", "passed", "level", "sent"} {
		if strings.Contains(report, english) {
			t.Errorf("drill under LANG=ja_JP.UTF-8 still says %q:\n%s", english, report)
		}
	}
}
