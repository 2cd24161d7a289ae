package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// This file is the one place that says how every command reads its
// arguments and answers --help, so that each command behaves like a Unix
// tool in the same way: flags anywhere among the arguments (`tocsin
// resolve 1 --by me`), "--" ends the flags, -h/--help prints the
// command's description, arguments, flags and an example on stdout and
// exits 0, and a usage mistake exits 2 with a pointer to --help.

// cmdDoc is what `tocsin help` and `tocsin CMD --help` say about a command.
type cmdDoc struct {
	Name    string // "resolve", "modem probe"
	Args    string // "ID", "NUMBER TEXT..."; flags are listed from the FlagSet
	Summary string // one line for `tocsin help`
	Ja      string // the summary in Japanese
	Desc    string // what it does and when to use it
	ArgDesc []string
	Example string
	Group   string // heading in `tocsin help`
}

const (
	groupDaemon  = "Daemon and files"
	groupOperate = "Operate a running daemon (--server URL / TOCSIN_SERVER, --token-file / TOCSIN_TOKEN)"
	groupBringUp = "Bring-up (no daemon needed)"
)

// commandDocs lists every command in the order `tocsin help` shows them.
// A group command ("modem") lists its subcommands ("modem probe").
var commandDocs = []cmdDoc{
	{Name: "serve", Ja: "デーモンを起動（-c なし: すべて模擬のデモ）", Group: groupDaemon, Summary: "run the daemon (without -c: the demo, all simulated)",
		Desc:    "Runs the relay: HTTP API and console, MQTT, escalation engine, modem and GPIO. Without -c it runs the demo: data in ./tocsin-data, console on http://127.0.0.1:8080 (login demo/demo), simulated modem and GPIO.",
		Example: "tocsin serve -c /etc/tocsin/tocsin.yaml"},
	{Name: "init", Ja: "初回セットアップ: モデム検出、設定とポリシーの作成、SMS・通話・サイレンの試験", Group: groupDaemon, Summary: "first-run setup: find the modem, write config and policy, test SMS, call and sirens",
		Desc:    "Walks through a first install: lists the serial ports, says what holds one (ModemManager, the serial console, another process), probes the modem, asks for the first contacts and the console login, writes tocsin.yaml and policy.yaml (never over existing files without --force), sends a test SMS and offers a test call, pulses each zone's siren, then runs `tocsin check`. With --non-interactive every answer comes from flags.",
		Example: "sudo tocsin init\n  tocsin init --non-interactive --device sim --config-dir ./etc --contact \"tanaka,田中 太郎,090-1234-5678,ja\" --console-user admin --console-password-file pw.txt --yes"},
	{Name: "check", Ja: "設定とポリシーを検証し、相互に照合", Group: groupDaemon, Args: "[CONFIG]", Summary: "validate the config and its policy, and cross-check them",
		Desc:    "Validates the daemon config and the policy file it names, then cross-checks them: MQTT subscriptions and heartbeats against the policy's services and heartbeats, zones paged against the GPIO outputs, pins, listen addresses, token and password files, the `tocsin` service, overrides and contacts nobody can reach. Prints `file:line: message` for errors and `file:line: warning: message` for warnings. Exit 0 when there are no errors (warnings allowed), 1 when there are.",
		ArgDesc: []string{"CONFIG  the config file (same as -c)"},
		Example: "tocsin check -c /etc/tocsin/tocsin.yaml"},
	{Name: "policy", Ja: "オンコールポリシーの検証・適用・出力", Group: groupDaemon, Summary: "validate, apply or export the on-call policy"},
	{Name: "policy check", Ja: "ポリシーファイルを検証（デーモン不要）", Args: "FILE", Summary: "validate a policy file (no daemon needed)",
		Desc:    "Validates a policy file alone and prints every problem as `file:line: message`; warnings (such as a missing `tocsin` service) are printed too but do not fail it. Exit 1 on errors.",
		ArgDesc: []string{"FILE  the policy file (YAML or JSON)"},
		Example: "tocsin policy check /etc/tocsin/policy.yaml"},
	{Name: "policy apply", Ja: "動作中のデーモンにポリシーを適用（版管理）", Args: "FILE", Summary: "apply a policy to the running daemon (versioned)",
		Desc:    "Sends the policy to the running daemon, which validates it and puts it in force atomically as a new version.",
		ArgDesc: []string{"FILE  the policy file (YAML or JSON)"},
		Example: "tocsin policy apply policy.yaml"},
	{Name: "policy export", Ja: "適用中のポリシーを YAML で出力", Summary: "print the policy in force as YAML",
		Desc:    "Prints the running daemon's current policy as YAML, ready to edit and apply again.",
		Example: "tocsin policy export > policy.yaml"},
	{Name: "passwd", Ja: "コンソールのパスワードをハッシュ（bcrypt）でファイルに保存", Group: groupDaemon, Args: "FILE", Summary: "store a console password in FILE as its bcrypt hash",
		Desc:    "Asks for a web console password twice (without echo; without a terminal, reads the first line of stdin) and writes its bcrypt hash to FILE (0600, or 0640 with the directory's group), to list as an http.users password_file. The daemon accepts a password file holding either a bcrypt hash or the password itself; a hash does not give the password away if the file is copied.",
		ArgDesc: []string{"FILE  the password file to write (replaced if it exists)"},
		Example: "sudo tocsin passwd /etc/tocsin/shift-lead.pass"},
	{Name: "backup", Ja: "データベースのオンラインコピー（デーモン動作中でも安全）", Group: groupDaemon, Args: "FILE", Summary: "online copy of the database, safe while the daemon runs",
		Desc:    "Copies the live SQLite database with SQLite's online backup; the daemon may keep running.",
		ArgDesc: []string{"FILE  where to write the copy"},
		Example: "tocsin backup /mnt/usb/tocsin-$(date +%F).db -c /etc/tocsin/tocsin.yaml"},
	{Name: "version", Ja: "バージョン、コミット、ビルド日", Group: groupDaemon, Summary: "version, commit, build date",
		Desc: "Prints the version, the commit and the build date.", Example: "tocsin version"},
	{Name: "help", Ja: "全コマンドの一覧、または1つの説明", Group: groupDaemon, Args: "[COMMAND]", Summary: "list every command, or describe one",
		Desc: "Without an argument lists every command; with one, the same as `tocsin COMMAND --help`.", Example: "tocsin help modem sms"},

	{Name: "alert", Ja: "アラートを送信（発生・了解・解決）", Group: groupOperate, Summary: "send an alert (trigger, acknowledge or resolve)",
		Desc:    "Sends an alert to the running daemon as any integration would. Alerts with the same dedup key fold into one incident.",
		Example: "tocsin alert --service press-line-1 --summary \"Hydraulic pressure low\" --severity critical"},
	{Name: "incidents", Ja: "インシデントの一覧（新しい順）", Group: groupOperate, Summary: "list incidents, newest first",
		Desc: "Lists incidents of the running daemon, newest first.", Example: "tocsin incidents --status open"},
	{Name: "show", Ja: "1件のインシデントとその経過", Group: groupOperate, Args: "ID", Summary: "one incident with its timeline",
		Desc: "Prints one incident and its timeline.", ArgDesc: []string{"ID  the incident number (12 or #12)"}, Example: "tocsin show 12 --json"},
	{Name: "ack", Ja: "インシデントを了解（エスカレーション停止）", Group: groupOperate, Args: "ID", Summary: "acknowledge an incident (stops escalation)",
		Desc: "Acknowledges an incident: escalation stops, sirens go quiet, lights turn steady.", ArgDesc: []string{"ID  the incident number (12 or #12)"}, Example: "tocsin ack 12 --by tanaka"},
	{Name: "resolve", Ja: "インシデントを解決", Group: groupOperate, Args: "ID", Summary: "resolve an incident",
		Desc: "Resolves an incident: it is over, its outputs go off.", ArgDesc: []string{"ID  the incident number (12 or #12)"}, Example: "tocsin resolve 12 --by tanaka"},
	{Name: "escalate", Ja: "次のレベルを今すぐ呼び出す", Group: groupOperate, Args: "ID", Summary: "page the next level now",
		Desc: "Escalates an incident to its next level at once, without waiting for the level's delay.", ArgDesc: []string{"ID  the incident number (12 or #12)"}, Example: "tocsin escalate 12"},
	{Name: "oncall", Ja: "現在（または指定時刻）の当番", Group: groupOperate, Summary: "who is on call now (or at a time)",
		Desc: "Prints who is on call on each schedule, and until when.", Example: "tocsin oncall --at 2026-12-24T22:00:00+09:00"},
	{Name: "status", Ja: "状態の要約: モデム、送信待ち、インシデント、ポリシー", Group: groupOperate, Summary: "short health summary: modem, outbox, incidents, policy",
		Desc: "Prints a short summary of the running daemon: modem up or down and why, the outbox depth, open incidents, the policy version and anything not configured. --json prints the whole status document.", Example: "tocsin status"},
	{Name: "drill", Ja: "実経路での試験呼び出し（各段階の所要時間）", Group: groupOperate, Summary: "test page through the real path, timed step by step",
		Desc: "Opens a drill incident, follows it until someone acknowledges it and prints how long each step took.", Example: "tocsin drill --service press-line-1 --timeout 10m"},
	{Name: "report", Ja: "サービス別 MTTA/MTTR、担当者別・時間帯別の呼び出し数", Group: groupOperate, Summary: "MTTA/MTTR per service, pages per person by hours",
		Desc: "Prints the on-call report: per service MTTA and MTTR (p50, p95), per person the pages received in business, off and sleep hours.", Example: "tocsin report --since 7d"},
	{Name: "gpio", Ja: "デーモン経由でボタンを押す、配線の試験", Group: groupOperate, Summary: "press a button through the daemon; test the wiring"},
	{Name: "gpio press", Ja: "動作中のデーモンの GPIO 入力を押す", Args: "INPUT", Summary: "press a GPIO input of the running daemon",
		Desc: "Presses a configured button as if by hand (through the daemon).", ArgDesc: []string{"INPUT  the input's id in the config (gpio.inputs)"}, Example: "tocsin gpio press ack-1 --long"},
	{Name: "gpio test", Ja: "各出力を点灯し入力の変化を表示（先にデーモンを停止）", Summary: "pulse each output, print input edges (stop the daemon first)",
		Desc: "Wiring bring-up without the daemon: pulses each output in turn, then prints every input edge and press.", Example: "sudo systemctl stop tocsin; tocsin gpio test -c /etc/tocsin/tocsin.yaml"},
	{Name: "sim", Ja: "デモ: 模擬電話", Group: groupOperate, Summary: "demo: the simulated phones"},
	{Name: "sim phones", Ja: "模擬電話の送受信を表示", Summary: "print what the simulated phones sent and received",
		Desc: "Demo only: prints every SMS to and from the simulated phones.", Example: "tocsin sim phones"},
	{Name: "sim sms", Ja: "模擬電話から返信する", Args: "FROM TEXT...", Summary: "reply from a simulated phone",
		Desc: "Demo only: a simulated phone sends an SMS to the relay, as a reply to a page.", ArgDesc: []string{"FROM  the phone's number, in any form (09012345678, +819012345678)", "TEXT  the message, such as 4 (acknowledge) or 6 (resolve)"}, Example: "tocsin sim sms 09012345678 4"},

	{Name: "modem", Ja: "モデムと直接通信: 調査、SMS 1通、通話 1回", Group: groupBringUp, Summary: "talk to the modem directly: probe, one SMS, one call"},
	{Name: "modem probe", Ja: "モデム、ファームウェア、SIM、電波、登録、事業者を確認", Summary: "identify modem, firmware, SIM, signal, registration, operator",
		Desc: "Opens the modem (stop the daemon first: it holds the port) and prints what it is and whether it can page.", Example: "tocsin modem probe --device /dev/serial/by-id/usb-SimTech_SIM7600-if02-port0"},
	{Name: "modem sms", Ja: "モデムから SMS を1通送信", Args: "NUMBER TEXT...", Summary: "send one SMS through the modem",
		Desc: "Sends one SMS straight through the modem. The number may be national (090-1234-5678, read with --region) or international (+81...).", ArgDesc: []string{"NUMBER  the phone number", "TEXT    the message"}, Example: "tocsin modem sms --device sim 090-1234-5678 テスト"},
	{Name: "modem call", Ja: "試験通話を1回かけ、各段階と押されたキーを表示", Args: "NUMBER", Summary: "place one test call, printing each step and key",
		Desc: "Calls a number through the modem, speaks a test message where the module can, and prints each step and every key pressed (4 or 6 ends the call).", ArgDesc: []string{"NUMBER  the phone number (national forms read with --region)"}, Example: "tocsin modem call --device sim 090-1234-5678"},
}

// errHelpShown means a command printed its help: exit 0.
var errHelpShown = errors.New("help shown")

// usageError is a mistake in how a command was called: exit 2.
type usageError struct {
	cmd string
	msg string
}

func (e usageError) Error() string {
	return fmt.Sprintf("%s\nsee: tocsin %s --help", e.msg, e.cmd)
}

// usagef reports a wrong call of cmd.
func usagef(cmd, format string, args ...any) error {
	return usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

func findDoc(name string) (cmdDoc, bool) {
	for _, d := range commandDocs {
		if d.Name == name {
			return d, true
		}
	}
	return cmdDoc{}, false
}

// newFlags returns the flag set of a command named in commandDocs. It
// prints nothing itself: parseFlags does.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args with flags and positional arguments in any order
// ("--" ends the flags). On -h or --help it prints the command's help to
// out and returns errHelpShown.
func parseFlags(fs *flag.FlagSet, args []string, out io.Writer) error {
	var pos []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printCommandHelp(out, fs.Name(), fs)
				return errHelpShown
			}
			return usagef(fs.Name(), "%v", err)
		}
		left := fs.Args()
		consumed := len(rest) - len(left)
		if consumed > 0 && rest[consumed-1] == "--" {
			pos = append(pos, left...)
			break
		}
		if len(left) == 0 {
			break
		}
		pos = append(pos, left[0])
		rest = left[1:]
	}
	// Leave the positional arguments where fs.Args() finds them.
	return fs.Parse(append([]string{"--"}, pos...))
}

// wantsHelp reports whether args ask for help before any "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// printCommandHelp writes the help of one command: usage line,
// description, arguments, flags (from fs, when given) and an example.
func printCommandHelp(out io.Writer, name string, fs *flag.FlagSet) {
	d, _ := findDoc(name)
	usage := "tocsin " + name
	if d.Args != "" {
		usage += " " + d.Args
	}
	subs := subcommands(name)
	if len(subs) > 0 {
		usage += " COMMAND"
	}
	hasFlags := false
	if fs != nil {
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	}
	if hasFlags {
		usage += " [flags]"
	}
	fmt.Fprintf(out, "Usage: %s\n\n", usage)
	desc := d.Desc
	if desc == "" {
		desc = d.Summary
	}
	if desc != "" {
		fmt.Fprintf(out, "%s\n", wrap(desc, 76, ""))
	}
	if d.Ja != "" {
		fmt.Fprintf(out, "（%s）\n", d.Ja)
	}
	if len(subs) > 0 {
		fmt.Fprintf(out, "\nCommands:\n")
		for _, s := range subs {
			line := s.Name
			if s.Args != "" {
				line += " " + s.Args
			}
			fmt.Fprintf(out, "  tocsin %-26s %s\n", line, summary(s))
		}
		fmt.Fprintf(out, "\nEach answers --help, e.g. tocsin %s --help\n", subs[0].Name)
	}
	if len(d.ArgDesc) > 0 {
		fmt.Fprintf(out, "\nArguments:\n")
		for _, a := range d.ArgDesc {
			fmt.Fprintf(out, "  %s\n", a)
		}
	}
	if hasFlags {
		fmt.Fprintf(out, "\nFlags (anywhere on the line):\n")
		fs.VisitAll(func(f *flag.Flag) {
			kind, usage := flag.UnquoteUsage(f)
			head := "--" + f.Name
			if len(f.Name) == 1 {
				head = "-" + f.Name
			}
			switch kind {
			case "":
			case "value", "string":
				head += " TEXT"
			case "int":
				head += " N"
			default:
				head += " " + strings.ToUpper(kind)
			}
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
				usage += fmt.Sprintf(" (default %s)", f.DefValue)
			}
			if len(head) > 22 {
				fmt.Fprintf(out, "  %s\n%25s", head, "")
			} else {
				fmt.Fprintf(out, "  %-22s ", head)
			}
			fmt.Fprintf(out, "%s\n", wrap(usage, 52, strings.Repeat(" ", 25)))
		})
	}
	if d.Example != "" {
		fmt.Fprintf(out, "\nExample:\n  %s\n", d.Example)
	}
}

// subcommands returns the docs of "name X" commands.
func subcommands(name string) []cmdDoc {
	var subs []cmdDoc
	for _, d := range commandDocs {
		if strings.HasPrefix(d.Name, name+" ") {
			subs = append(subs, d)
		}
	}
	return subs
}

// japanese reports whether the user's locale is Japanese ($LC_ALL,
// $LC_MESSAGES or $LANG, the first set), for summaries in `tocsin help`.
func japanese() bool {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if l := os.Getenv(v); l != "" {
			return strings.HasPrefix(l, "ja")
		}
	}
	return false
}

func summary(d cmdDoc) string {
	if japanese() && d.Ja != "" {
		return d.Ja
	}
	return d.Summary
}

// printUsage writes `tocsin help`: every command with its summary (in
// Japanese under a Japanese locale).
func printUsage(out io.Writer) {
	fmt.Fprintf(out, "tocsin — on-call alert relay (SMS, voice, sirens) that works without the internet\n")
	var groups []string
	for _, d := range commandDocs {
		if d.Group != "" && !slices.Contains(groups, d.Group) {
			groups = append(groups, d.Group)
		}
	}
	for _, g := range groups {
		fmt.Fprintf(out, "\n%s:\n", g)
		for _, d := range commandDocs {
			if d.Group != g {
				continue
			}
			subs := subcommands(d.Name)
			if len(subs) == 0 {
				subs = []cmdDoc{d}
			}
			for _, s := range subs {
				line := s.Name
				if s.Args != "" {
					line += " " + s.Args
				}
				fmt.Fprintf(out, "  tocsin %-26s %s\n", line, summary(s))
			}
		}
	}
	fmt.Fprintf(out, "\nEvery command answers --help with its flags and an example; flags may come\nbefore or after the arguments.\n各コマンドは --help で説明・フラグ・例を表示します。フラグは引数の前後どちらでも可。\n")
}

// groupCommand dispatches "tocsin GROUP SUB ...": no SUB or --help prints
// the group's subcommands; an unknown SUB is a usage error.
func groupCommand(group string, args []string, out io.Writer) (sub string, rest []string, err error) {
	if len(args) == 0 || wantsHelp(args[:1]) {
		printCommandHelp(out, group, nil)
		if len(args) == 0 {
			return "", nil, usagef(group, "tocsin %s needs a command", group)
		}
		return "", nil, errHelpShown
	}
	if _, ok := findDoc(group + " " + args[0]); !ok {
		var names []string
		for _, s := range subcommands(group) {
			names = append(names, strings.TrimPrefix(s.Name, group+" "))
		}
		return "", nil, usagef(group, "unknown %s command %q: want %s", group, args[0], strings.Join(names, ", "))
	}
	return args[0], args[1:], nil
}

// wrap breaks s into lines of at most width runes, indenting continuation
// lines with indent.
func wrap(s string, width int, indent string) string {
	var b strings.Builder
	n := 0
	for i, w := range strings.Fields(s) {
		l := len([]rune(w))
		if i > 0 {
			if n+1+l > width {
				b.WriteString("\n" + indent)
				n = 0
			} else {
				b.WriteByte(' ')
				n++
			}
		}
		b.WriteString(w)
		n += l
	}
	return b.String()
}
