package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// helpCommands reads `tocsin help` and returns every command it lists, as
// argument lists ("modem", "sms"), plus each group on its own ("modem").
func helpCommands(t *testing.T) [][]string {
	t.Helper()
	out, err := inLocale("C", "help").Output()
	if err != nil {
		t.Fatalf("tocsin help: %v\n%s", err, out)
	}
	var cmds [][]string
	seen := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		rest, ok := strings.CutPrefix(line, "  tocsin ")
		if !ok {
			continue
		}
		var words []string
		for _, w := range strings.Fields(rest) {
			if w != strings.ToLower(w) || strings.HasPrefix(w, "[") {
				break // arguments (ID, FILE, [COMMAND]) and the summary
			}
			words = append(words, w)
			if len(words) == 2 {
				break
			}
		}
		// A summary word may follow a one-word command: keep only what
		// names a command, the first word always and the second when the
		// first is a group.
		if len(words) == 2 && !isGroup(words[0]) {
			words = words[:1]
		}
		for i := 1; i <= len(words); i++ {
			key := strings.Join(words[:i], " ")
			if !seen[key] {
				seen[key] = true
				cmds = append(cmds, words[:i])
			}
		}
	}
	return cmds
}

func isGroup(name string) bool { return len(subcommands(name)) > 0 }

// Every command `tocsin help` lists answers --help (and -h) with exit 0,
// a usage line naming it, a description and an example.
func TestEveryCommandAnswersHelp(t *testing.T) {
	cmds := helpCommands(t)
	if len(cmds) < 25 {
		t.Fatalf("tocsin help lists only %d commands: %v", len(cmds), cmds)
	}
	for _, c := range cmds {
		name := strings.Join(c, " ")
		for _, flag := range []string{"--help", "-h"} {
			t.Run(name+" "+flag, func(t *testing.T) {
				out, err := inLocale("C", append(append([]string{}, c...), flag)...).CombinedOutput()
				if code := exitCode(err); code != 0 {
					t.Fatalf("exit %d, want 0:\n%s", code, out)
				}
				text := string(out)
				if !strings.HasPrefix(text, "Usage: tocsin "+name) {
					t.Errorf("does not start with its usage line:\n%s", text)
				}
				if isGroup(name) {
					if !strings.Contains(text, "Commands:") {
						t.Errorf("a group's help lists no commands:\n%s", text)
					}
				} else if !strings.Contains(text, "Example:\n  ") {
					t.Errorf("no example:\n%s", text)
				}
			})
		}
	}
	// `tocsin help CMD` is the same as CMD --help.
	a, _ := inLocale("C", "help", "modem", "sms").Output()
	b, _ := inLocale("C", "modem", "sms", "--help").Output()
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("tocsin help modem sms:\n%s\ndiffers from modem sms --help:\n%s", a, b)
	}
}

// Mistakes in a call exit 2 and point at --help; they never print a Go
// flag dump or read "--help" as a file name.
func TestUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"resolve"}, "see: tocsin resolve --help"},
		{[]string{"show", "1", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"policy", "frobnicate"}, `unknown policy command "frobnicate": want check, apply, export`},
		{[]string{"modem"}, "tocsin modem needs a command"},
		{[]string{"check"}, "see: tocsin check --help"},
	} {
		out, err := inLocale("C", tt.args...).CombinedOutput()
		if code := exitCode(err); code != 2 {
			t.Errorf("tocsin %v: exit %d, want 2:\n%s", tt.args, code, out)
		}
		if !strings.Contains(string(out), tt.want) {
			t.Errorf("tocsin %v: output lacks %q:\n%s", tt.args, tt.want, out)
		}
	}
}

// Flags after positional arguments work against a running daemon:
// `tocsin show 1 --json`, `tocsin resolve 1 --by me`, and `tocsin status`
// is a short summary with --json for the document.
func TestFlagsAfterArguments(t *testing.T) {
	e := newE2E(t, testPolicy("10m")+"  time_zone: Asia/Tokyo\n")
	e.start()
	tokenFile := filepath.Join(e.dir, "token")
	os.WriteFile(tokenFile, []byte(e.token+"\n"), 0o600)
	conn := []string{"--server", "http://" + e.addr, "--token-file", tokenFile}
	run := func(args ...string) string {
		t.Helper()
		out, err := inLocale("C", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("tocsin %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	res := e.alert(map[string]any{"service": "press-line-1", "summary": "Hydraulic pressure low", "severity": "critical"})
	id := "1"
	if res.IncidentID != 1 {
		t.Fatalf("incident %d, want 1", res.IncidentID)
	}
	var inc struct {
		ID      int64  `json:"id"`
		Summary string `json:"summary"`
	}
	out := run(append([]string{"show", id, "--json"}, conn...)...)
	if err := json.Unmarshal([]byte(out), &inc); err != nil || inc.ID != 1 || inc.Summary != "Hydraulic pressure low" {
		t.Errorf("show 1 --json: %v\n%s", err, out)
	}
	out = run(append([]string{"resolve", "#1", "--by", "me"}, conn...)...)
	if !strings.Contains(out, "incident #1 is resolved") {
		t.Errorf("resolve 1 --by me: %s", out)
	}
	if got := e.incident(1); got.ResolvedBy != "me" {
		t.Errorf("resolved by %q, want me", got.ResolvedBy)
	}
	// Flags first still work, and "--" ends them.
	out = run(append(append([]string{"show"}, conn...), "--", "1")...)
	if !strings.Contains(out, "#1 [critical] press-line-1: Hydraulic pressure low") || !strings.Contains(out, "resolved by me") {
		t.Errorf("show -- 1: %s", out)
	}
	// Times are in the policy's zone, with its label.
	if !strings.Contains(out, " JST  triggered") {
		t.Errorf("timeline times unlabelled: %s", out)
	}

	out = run(append([]string{"status"}, conn...)...)
	for _, want := range []string{"modem:      up: ", "outbox:     0 waiting", "incidents:  0 open", "policy:     version 1, applied ", ": 3 contacts, 1 services",
		`warning:    no "tocsin" service: when the modem or the uplink fails, the incident Tocsin opens pages nobody`, "times in Asia/Tokyo (JST)"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	// Under a Japanese locale the same summary in Japanese; what the
	// daemon and the policy say (the warning) stays as they say it.
	jaOut, err := inLocale("ja_JP.UTF-8", append([]string{"status"}, conn...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("status under LANG=ja_JP.UTF-8: %v\n%s", err, jaOut)
	}
	for _, want := range []string{"モデム:       正常: ", "送信キュー:   送信待ち 0、", "インシデント: 未解決 0 件", "配達報告: 直接受信 (+CDS)", "ポリシー:     版 1、", "（連絡先 3、サービス 1）",
		`警告:         no "tocsin" service`, "時刻は Asia/Tokyo (JST)"} {
		if !strings.Contains(string(jaOut), want) {
			t.Errorf("status in Japanese lacks %q:\n%s", want, jaOut)
		}
	}
	out = run(append([]string{"status", "--json"}, conn...)...)
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc["modem"] == nil {
		t.Errorf("status --json is not the document: %v\n%s", err, out)
	}
	jaJSON, err := inLocale("ja_JP.UTF-8", append([]string{"status", "--json"}, conn...)...).Output()
	if err != nil {
		t.Fatalf("status --json under LANG=ja_JP.UTF-8: %v", err)
	}
	var jaDoc map[string]any
	if err := json.Unmarshal(jaJSON, &jaDoc); err != nil || !slices.Equal(slices.Sorted(maps.Keys(jaDoc)), slices.Sorted(maps.Keys(doc))) {
		t.Errorf("status --json under LANG=ja_JP.UTF-8 is not the same document: %v\n%s", err, jaJSON)
	}
}

// Every command has its summary in English and Japanese; `tocsin help`
// under a Japanese locale shows the Japanese ones.
func TestHelpInJapanese(t *testing.T) {
	for _, d := range commandDocs {
		if d.Summary == "" || d.Ja == "" {
			t.Errorf("%s: summary %q, Japanese %q", d.Name, d.Summary, d.Ja)
		}
	}
	out, err := inLocale("ja_JP.UTF-8", "help").Output()
	if err != nil || !strings.Contains(string(out), "tocsin ack ID                     インシデントを了解") {
		t.Errorf("help under LANG=ja_JP: %v\n%s", err, out)
	}
}

// parseFlags takes flags before, between and after the arguments; "--"
// makes the rest arguments even when they look like flags.
func TestParseFlagsInterleaved(t *testing.T) {
	for _, tt := range []struct {
		args []string
		by   string
		json bool
		pos  string
	}{
		{[]string{"1", "--by", "me"}, "me", false, "1"},
		{[]string{"--json", "1", "--by=me", "2"}, "me", true, "1 2"},
		{[]string{"1", "--", "--by", "x"}, "", false, "1 --by x"},
		{[]string{"--by", "--", "1"}, "--", false, "1"},
		{nil, "", false, ""},
	} {
		fs := newFlags("resolve")
		by := fs.String("by", "", "")
		asJSON := fs.Bool("json", false, "")
		if err := parseFlags(fs, tt.args, io.Discard); err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if *by != tt.by || *asJSON != tt.json || strings.Join(fs.Args(), " ") != tt.pos {
			t.Errorf("%q: by %q json %v args %q; want %q %v %q", tt.args, *by, *asJSON, fs.Args(), tt.by, tt.json, tt.pos)
		}
	}
	fs := newFlags("resolve")
	if err := parseFlags(fs, []string{"1", "--nope"}, io.Discard); err == nil || !strings.Contains(err.Error(), "see: tocsin resolve --help") {
		t.Errorf("unknown flag: %v", err)
	}
}

// inLocale is a tocsin command run under the locale lang (LANG, with
// LC_ALL and LC_MESSAGES unset so that LANG decides).
func inLocale(lang string, args ...string) *exec.Cmd {
	cmd := exec.Command(tocsinBin, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=", "LC_MESSAGES=", "LANG="+lang)
	return cmd
}

// helpFlags reads the flag section of a --help output: each flag's name
// ("by", "c") and its usage with the lines joined.
func helpFlags(help string) map[string]string {
	flags := map[string]string{}
	in := false
	var name string
	for _, line := range strings.Split(help, "\n") {
		switch {
		case line == "Flags (anywhere on the line):" || line == "フラグ（行のどこに置いても可）:":
			in = true
		case !in:
		case line == "":
			return flags
		case strings.HasPrefix(line, "  -"):
			name = strings.TrimLeft(strings.Fields(line)[0], "-")
			flags[name] = ""
			if len(line) > 25 && line[24] == ' ' { // else the usage starts on the next line
				flags[name] = strings.TrimSpace(line[25:])
			}
		default:
			flags[name] = strings.TrimSpace(flags[name] + " " + strings.TrimSpace(line))
		}
	}
	return flags
}

// squeeze removes every space: a wrapped text compares with its source.
func squeeze(s string) string { return strings.Join(strings.Fields(s), "") }

// hasJapanese reports whether s holds kana or kanji.
func hasJapanese(s string) bool {
	for _, r := range s {
		if r >= 0x3040 && r <= 0x9FFF {
			return true
		}
	}
	return false
}

// Every text of the help has its Japanese: each command's description and
// arguments, each group heading, and every flag of every command's real
// flag set, as `tocsin CMD --help` lists it under LANG=C. Under
// LANG=ja_JP.UTF-8 the help shows the Japanese texts and no English
// label; under LANG=C the English ones. A flag added without Japanese, or
// whose English changed since it was translated, fails here by name.
func TestHelpJapaneseComplete(t *testing.T) {
	for _, d := range commandDocs {
		if d.Desc != "" && !hasJapanese(d.DescJa) {
			t.Errorf("%s: no Japanese description (DescJa)", d.Name)
		}
		if len(d.ArgDescJa) != len(d.ArgDesc) {
			t.Errorf("%s: %d argument lines, %d in Japanese", d.Name, len(d.ArgDesc), len(d.ArgDescJa))
			continue
		}
		for i, a := range d.ArgDesc {
			en, ja := strings.Fields(a), strings.Fields(d.ArgDescJa[i])
			if len(ja) < 2 || ja[0] != en[0] || !hasJapanese(d.ArgDescJa[i]) {
				t.Errorf("%s: argument %q has Japanese %q, want %s then its Japanese", d.Name, a, d.ArgDescJa[i], en[0])
			}
		}
		if d.Group != "" && !hasJapanese(groupJa[d.Group]) {
			t.Errorf("%s: group %q has no Japanese heading", d.Name, d.Group)
		}
	}

	catalog := map[string]string{} // squeezed English usage -> the key
	for en, ja := range flagJa {
		catalog[squeeze(en)] = en
		if !hasJapanese(ja) {
			t.Errorf("flag usage %q: Japanese %q", en, ja)
		}
	}
	used := map[string]bool{}
	flagsSeen := 0
	for _, c := range helpCommands(t) {
		name := strings.Join(c, " ")
		args := append(append([]string{}, c...), "--help")
		enOut, err := inLocale("C", args...).Output()
		if code := exitCode(err); code != 0 {
			t.Errorf("%s --help under LANG=C: exit %d, want 0", name, code)
		}
		jaOut, err := inLocale("ja_JP.UTF-8", args...).Output()
		if code := exitCode(err); code != 0 {
			t.Errorf("%s --help under LANG=ja_JP.UTF-8: exit %d, want 0", name, code)
		}
		en, ja := string(enOut), string(jaOut)
		d, _ := findDoc(name)

		if !strings.HasPrefix(ja, "使い方: tocsin "+name) {
			t.Errorf("%s --help in Japanese does not start with 使い方:\n%s", name, ja)
		}
		for _, label := range []string{"Usage:", "Commands:", "Arguments:", "Flags (", "Example:", "(default"} {
			if strings.Contains(ja, label) {
				t.Errorf("%s --help in Japanese shows %q:\n%s", name, label, ja)
			}
		}
		if d.Desc != "" {
			if !strings.Contains(squeeze(ja), squeeze(d.DescJa)) || strings.Contains(squeeze(ja), squeeze(d.Desc)) {
				t.Errorf("%s --help in Japanese lacks DescJa or shows Desc:\n%s", name, ja)
			}
			if !strings.Contains(squeeze(en), squeeze(d.Desc)) || strings.Contains(squeeze(en), squeeze(d.DescJa)) {
				t.Errorf("%s --help in English lacks Desc or shows DescJa:\n%s", name, en)
			}
		}
		for i := range d.ArgDesc {
			if !strings.Contains(ja, "\n  "+d.ArgDescJa[i]+"\n") || !strings.Contains(en, "\n  "+d.ArgDesc[i]+"\n") {
				t.Errorf("%s: argument line %q / %q missing:\n%s\n%s", name, d.ArgDesc[i], d.ArgDescJa[i], en, ja)
			}
		}

		enFlags, jaFlags := helpFlags(en), helpFlags(ja)
		if len(enFlags) != len(jaFlags) {
			t.Errorf("%s: %d flags in English, %d in Japanese", name, len(enFlags), len(jaFlags))
		}
		for flag, text := range enFlags {
			flagsSeen++
			usage := squeeze(text) // Japanese lines break without a space
			// The usage, then " (default X)" when the flag has one.
			key, ok := catalog[usage]
			def := ""
			if i := strings.LastIndex(usage, "(default"); !ok && i > 0 {
				key, ok = catalog[usage[:i]]
				def = strings.TrimSuffix(usage[i+len("(default"):], ")")
			}
			if !ok {
				t.Errorf("%s --%s: no Japanese for %q (add it to flagJa in cliwords.go)", name, flag, text)
				continue
			}
			used[key] = true
			want := squeeze(flagJa[key])
			if def != "" {
				want += "（既定:" + def + "）"
			}
			if squeeze(jaFlags[flag]) != want {
				t.Errorf("%s --%s in Japanese: %q, want %q", name, flag, jaFlags[flag], want)
			}
		}
	}
	if flagsSeen < 50 {
		t.Errorf("read only %d flags from the help of every command", flagsSeen)
	}
	for en := range flagJa {
		if !used[en] {
			t.Errorf("flagJa has %q, which no command's flag says (stale after a change of its English?)", en)
		}
	}
}

// Mistakes in a call are explained in Japanese under a Japanese locale,
// with the same exit code 2 and the pointer to --help.
func TestUsageErrorsJapanese(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"resolve"}, []string{"tocsin resolve: インシデントの ID を1つ指定してください（引数が 0 個あります）", "詳しくは: tocsin resolve --help"}},
		{[]string{"show", "1", "--bogus"}, []string{"そのようなフラグはありません: -bogus", "詳しくは: tocsin show --help"}},
		{[]string{"drill", "--timeout", "soon"}, []string{`フラグ -timeout の値 "soon" が正しくありません`}},
		{[]string{"incidents", "--limit"}, []string{"フラグ -limit には値が必要です"}},
		{[]string{"policy", "frobnicate"}, []string{`policy に "frobnicate" というコマンドはありません（check, apply, export のいずれか）`}},
		{[]string{"modem"}, []string{"tocsin modem にはコマンドが必要です", "使い方: tocsin modem COMMAND"}},
		{[]string{"check"}, []string{"設定ファイルを1つ指定してください: tocsin check -c FILE", "詳しくは: tocsin check --help"}},
		{[]string{"status", "now"}, []string{`余分な引数があります: "now"`}},
		{[]string{"frobnicate"}, []string{`tocsin: "frobnicate" というコマンドはありません`, "各コマンドは --help で"}},
	} {
		out, err := inLocale("ja_JP.UTF-8", tt.args...).CombinedOutput()
		if code := exitCode(err); code != 2 {
			t.Errorf("tocsin %v: exit %d, want 2:\n%s", tt.args, code, out)
		}
		for _, want := range tt.want {
			if !strings.Contains(string(out), want) {
				t.Errorf("tocsin %v: output lacks %q:\n%s", tt.args, want, out)
			}
		}
		for _, english := range []string{"see: ", "unknown ", "flag provided", "needs a command", "want "} {
			if strings.Contains(string(out), english) {
				t.Errorf("tocsin %v under LANG=ja_JP.UTF-8 says %q:\n%s", tt.args, english, out)
			}
		}
	}
}

// Every usagef call in the package has its Japanese in usageJa, with the
// same verbs in the same order, and usageJa holds nothing no call says.
// The calls are read from the source, so a new one without Japanese fails.
func TestUsageMessagesJapanese(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	verbs := regexp.MustCompile(`%[-+# 0-9.\[\]]*[a-zA-Z%]`)
	used := map[string]bool{}
	calls := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "usagef" || len(call.Args) < 2 {
				return true
			}
			calls++
			lit, ok := call.Args[1].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: usagef with a format that is not a string literal", fset.Position(call.Pos()))
				return true
			}
			format, _ := strconv.Unquote(lit.Value)
			ja, ok := usageJa[format]
			if !ok {
				t.Errorf("%s: usagef %q has no Japanese in usageJa (cliwords.go)", fset.Position(call.Pos()), format)
				return true
			}
			used[format] = true
			if a, b := verbs.FindAllString(format, -1), verbs.FindAllString(ja, -1); !slices.Equal(a, b) {
				t.Errorf("usagef %q: verbs %v, Japanese %q has %v", format, a, ja, b)
			}
			if !hasJapanese(ja) {
				t.Errorf("usagef %q: Japanese %q", format, ja)
			}
			return true
		})
	}
	if calls < 20 {
		t.Errorf("found only %d usagef calls", calls)
	}
	for format := range usageJa {
		if !used[format] {
			t.Errorf("usageJa has %q, which no usagef call says", format)
		}
	}
}

// Every parse error of the flag package reads in Japanese, as the flag
// package words it today (a Go release that rewords one fails here).
func TestFlagErrorsJapanese(t *testing.T) {
	t.Setenv("LC_ALL", "")
	t.Setenv("LC_MESSAGES", "")
	t.Setenv("LANG", "ja_JP.UTF-8")
	for _, args := range [][]string{
		{"--nope"},
		{"--limit"},
		{"--limit", "many"},
		{"--limit", "99999999999999999999"},
		{"--json=maybe"},
		{"---json"},
		{"--timeout", "soon"},
	} {
		fs := newFlags("incidents")
		fs.Int("limit", 50, "")
		fs.Bool("json", false, "")
		fs.Duration("timeout", 0, "")
		err := parseFlags(fs, args, io.Discard)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: %v, want a usage error", args, err)
			continue
		}
		if !hasJapanese(ue.msg) || strings.Contains(ue.msg, "flag") || strings.Contains(ue.msg, "parse error") || strings.Contains(ue.msg, "out of range") {
			t.Errorf("%q: %q is not Japanese", args, ue.msg)
		}
		if !strings.Contains(ue.Error(), "詳しくは: tocsin incidents --help") {
			t.Errorf("%q: %q lacks the pointer to --help", args, ue.Error())
		}
	}
}

// The status summary has every text in Japanese, with the same verbs as
// the English, and shows every line of a daemon in trouble (modem down,
// MQTT disconnected, database failing, a twin pair with warnings) in
// Japanese under a Japanese locale and as before under LANG=C.
func TestStatusJapanese(t *testing.T) {
	verbs := regexp.MustCompile(`%[-+# 0-9.\[\]]*[a-zA-Z%]`)
	en, ja := reflect.ValueOf(statusEn), reflect.ValueOf(statusJa)
	for i := range en.NumField() {
		if en.Field(i).Kind() != reflect.String {
			continue
		}
		name, e, j := en.Type().Field(i).Name, en.Field(i).String(), ja.Field(i).String()
		if e == "" || j == "" {
			t.Errorf("status text %s: English %q, Japanese %q", name, e, j)
		}
		if a, b := verbs.FindAllString(e, -1), verbs.FindAllString(j, -1); !slices.Equal(a, b) {
			t.Errorf("status text %s: verbs %v, Japanese %q has %v", name, a, j, b)
		}
	}

	doc := []byte(`{"version": "1.2.0", "uptime": "3h0m0s", "demo": true,
		"database": {"ok": false, "error": "disk I/O error"},
		"engine": {"open_incidents": 2},
		"modem": {"up": false, "device": "/dev/ttyUSB2", "health_incident_open": true},
		"outbox": {"depth": 4, "sent": 10, "failed": 1, "last_error": "+CMS ERROR: 500"},
		"mqtt": {"broker": "tcp://127.0.0.1:1883", "connected": false, "last_error": "connection refused"},
		"cluster": {"name": "relay-a", "role": "primary", "members": [{"name": "relay-a", "address": "10.0.0.1:7946", "state": "alive", "modem_up": true, "priority": 1, "self": true}],
			"join_error": "no route", "refused": "10.0.0.9", "slot_conflict": "relay-c"}}`)
	print := func(lang string) string {
		t.Setenv("LC_ALL", "")
		t.Setenv("LC_MESSAGES", "")
		t.Setenv("LANG", lang)
		var b bytes.Buffer
		if err := printStatus(&b, doc, nil); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	enOut, jaOut := print("C"), print("ja_JP.UTF-8")
	for _, want := range []string{"tocsin 1.2.0, up 3h0m0s (demo: everything simulated)", "modem:      DOWN (/dev/ttyUSB2): not initialised yet",
		"outbox:     4 waiting, 10 sent, 1 failed (last error: +CMS ERROR: 500)", "mqtt:       DISCONNECTED: connection refused (tcp://127.0.0.1:1883)",
		`an incident on the "tocsin" service is open about it`, "database:   FAILING: disk I/O error", "pair:       relay-a is primary", "warning:    cannot join the twin: no route"} {
		if !strings.Contains(enOut, want) {
			t.Errorf("status under LANG=C lacks %q:\n%s", want, enOut)
		}
	}
	for _, want := range []string{"tocsin 1.2.0、稼働時間 3h0m0s（デモ: すべて模擬）", "モデム:       停止（/dev/ttyUSB2）: まだ初期化されていません",
		"送信キュー:   送信待ち 4、送信済み 10、失敗 1（最後のエラー: +CMS ERROR: 500）", "MQTT:         切断: connection refused (tcp://127.0.0.1:1883)",
		`"tocsin" サービスにこの件のインシデントが開いています`, "データベース: 障害: disk I/O error", "二重化:       relay-a は primary", "relay-a（この機）", "警告:         相手機に参加できません: no route",
		"クラスタ鍵を持たない機器を拒否しました: 10.0.0.9", "relay-c がこの機の ID 枠で"} {
		if !strings.Contains(jaOut, want) {
			t.Errorf("status under LANG=ja_JP.UTF-8 lacks %q:\n%s", want, jaOut)
		}
	}
}

// Japanese descriptions wrap by display width (kana and kanji take two
// columns) and by the Japanese rules: no line longer than the width, none
// starting with closing punctuation or ending with an opening bracket, and
// nothing lost. English wraps at spaces as before.
func TestHelpWrapJapanese(t *testing.T) {
	for _, d := range commandDocs {
		for _, text := range []string{d.DescJa, d.Desc} {
			if text == "" {
				continue
			}
			got := wrap(text, 76, "  ")
			if squeeze(got) != squeeze(text) {
				t.Errorf("%s: wrapping changed the text:\n%s", d.Name, got)
			}
			for i, line := range strings.Split(got, "\n") {
				cols := 0
				for _, r := range line {
					cols += runeWidth(r)
				}
				first, _ := utf8.DecodeRuneInString(strings.TrimSpace(line))
				last, _ := utf8.DecodeLastRuneInString(line)
				if cols > 76+2 || i > 0 && strings.ContainsRune(noLineStart, first) || strings.ContainsRune(noLineEnd, last) {
					t.Errorf("%s: line %d (%d columns) breaks the rules:\n%s", d.Name, i+1, cols, got)
				}
			}
		}
	}
	if got, want := wrap("Acknowledges an incident: escalation stops, sirens go quiet, lights turn steady.", 72, ""),
		"Acknowledges an incident: escalation stops, sirens go quiet, lights turn\nsteady."; got != want {
		t.Errorf("English wrap: %q, want %q", got, want)
	}
}
