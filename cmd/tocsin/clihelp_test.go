package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// helpCommands reads `tocsin help` and returns every command it lists, as
// argument lists ("modem", "sms"), plus each group on its own ("modem").
func helpCommands(t *testing.T) [][]string {
	t.Helper()
	out, err := exec.Command(tocsinBin, "help").Output()
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
				out, err := exec.Command(tocsinBin, append(append([]string{}, c...), flag)...).CombinedOutput()
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
	a, _ := exec.Command(tocsinBin, "help", "modem", "sms").Output()
	b, _ := exec.Command(tocsinBin, "modem", "sms", "--help").Output()
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
		out, err := exec.Command(tocsinBin, tt.args...).CombinedOutput()
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
		out, err := exec.Command(tocsinBin, args...).CombinedOutput()
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
	out = run(append([]string{"status", "--json"}, conn...)...)
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc["modem"] == nil {
		t.Errorf("status --json is not the document: %v\n%s", err, out)
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
	cmd := exec.Command(tocsinBin, "help")
	cmd.Env = append(os.Environ(), "LC_ALL=", "LC_MESSAGES=", "LANG=ja_JP.UTF-8")
	out, err := cmd.Output()
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
