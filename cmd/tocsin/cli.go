package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file is the one place that says how every command reads its
// arguments and answers --help, so that each command behaves like a Unix
// tool in the same way: flags anywhere among the arguments (`tocsin
// resolve 1 --by me`), "--" ends the flags, -h/--help prints the
// command's description, arguments, flags and an example on stdout and
// exits 0, and a usage mistake exits 2 with a pointer to --help.
//
// Every text of the help and of usage mistakes is in English and in
// Japanese, the latter under a Japanese locale (japanese): a command's own
// texts are its cmdDoc's, flag usages and usage mistakes are looked up by
// their English text in cliwords.go.

// cmdDoc is what `tocsin help` and `tocsin CMD --help` say about a command.
type cmdDoc struct {
	Name    string // "resolve", "modem probe"
	Args    string // "ID", "NUMBER TEXT..."; flags are listed from the FlagSet
	Summary string // one line for `tocsin help`
	Ja      string // the summary in Japanese
	Desc    string // what it does and when to use it
	DescJa  string // Desc in Japanese
	ArgDesc []string
	// ArgDescJa is ArgDesc in Japanese, line for line.
	ArgDescJa []string
	Example   string
	Group     string // heading in `tocsin help`
}

const (
	groupDaemon  = "Daemon and files"
	groupOperate = "Operate a running daemon (--server URL / TOCSIN_SERVER, --token-file / TOCSIN_TOKEN)"
	groupBringUp = "Bring-up (no daemon needed)"
)

// groupJa is each group's heading in Japanese.
var groupJa = map[string]string{
	groupDaemon:  "デーモンとファイル",
	groupOperate: "動作中のデーモンを操作（--server URL / TOCSIN_SERVER、--token-file / TOCSIN_TOKEN）",
	groupBringUp: "立ち上げ（デーモン不要）",
}

// commandDocs lists every command in the order `tocsin help` shows them.
// A group command ("modem") lists its subcommands ("modem probe").
var commandDocs = []cmdDoc{
	{Name: "serve", Ja: "デーモンを起動（-c なし: すべて模擬のデモ）", Group: groupDaemon, Summary: "run the daemon (without -c: the demo, all simulated)",
		Desc:    "Runs the relay: HTTP API and console, MQTT, escalation engine, modem and GPIO. Without -c it runs the demo: data in ./tocsin-data, console on http://127.0.0.1:8080 (login demo/demo), simulated modem and GPIO.",
		DescJa:  "中継を動かします: HTTP API とコンソール、MQTT、エスカレーションエンジン、モデム、GPIO。-c なしではデモを起動します: データは ./tocsin-data、コンソールは http://127.0.0.1:8080（ログイン demo/demo）、モデムと GPIO は模擬です。",
		Example: "tocsin serve -c /etc/tocsin/tocsin.yaml"},
	{Name: "init", Ja: "初回セットアップ: モデム検出、設定とポリシーの作成、SMS・通話・サイレンの試験", Group: groupDaemon, Summary: "first-run setup: find the modem, write config and policy, test SMS, call and sirens",
		Desc:    "Walks through a first install: lists the serial ports, says what holds one (ModemManager, the serial console, another process), probes the modem, asks for the first contacts and the console login, writes tocsin.yaml and policy.yaml (never over existing files without --force), sends a test SMS and offers a test call, pulses each zone's siren, then runs `tocsin check`. With --non-interactive every answer comes from flags.",
		DescJa:  "初回のインストールを順に案内します: シリアルポートを一覧して使用中のもの（ModemManager、シリアルコンソール、他のプロセス）を示し、モデムを調べ、最初の連絡先とコンソールのログインを尋ね、tocsin.yaml と policy.yaml を書き込みます（既存のファイルは --force なしでは上書きしません）。続いて試験 SMS を送り、試験通話を提案し、各ゾーンのサイレンを鳴らしてから `tocsin check` を実行します。--non-interactive では回答をすべてフラグから読みます。",
		Example: "sudo tocsin init\n  tocsin init --non-interactive --device sim --config-dir ./etc --contact \"tanaka,田中 太郎,090-1234-5678,ja\" --console-user admin --console-password-file pw.txt --yes"},
	{Name: "check", Ja: "設定とポリシーを検証し、相互に照合", Group: groupDaemon, Args: "[CONFIG]", Summary: "validate the config and its policy, and cross-check them",
		Desc:      "Validates the daemon config and the policy file it names, then cross-checks them: MQTT subscriptions and heartbeats against the policy's services and heartbeats, zones paged against the GPIO outputs, pins, listen addresses, token and password files, the `tocsin` service, overrides and contacts nobody can reach. Prints `file:line: message` for errors and `file:line: warning: message` for warnings. Exit 0 when there are no errors (warnings allowed), 1 when there are.",
		DescJa:    "デーモンの設定と、そこで指定したポリシーファイルを検証し、両者を照合します: MQTT の購読とハートビートをポリシーのサービス・ハートビートと、呼び出すゾーンを GPIO 出力と照合し、ピン、待ち受けアドレス、トークンとパスワードのファイル、`tocsin` サービス、代理当番、誰も呼び出せない連絡先を確認します。エラーは `file:line: message`、警告は `file:line: warning: message` の形で表示します。エラーがなければ終了コード 0（警告は可）、あれば 1。",
		ArgDescJa: []string{"CONFIG  設定ファイル（-c と同じ）"},
		ArgDesc:   []string{"CONFIG  the config file (same as -c)"},
		Example:   "tocsin check -c /etc/tocsin/tocsin.yaml"},
	{Name: "policy", Ja: "オンコールポリシーの検証・適用・出力", Group: groupDaemon, Summary: "validate, apply or export the on-call policy"},
	{Name: "policy check", Ja: "ポリシーファイルを検証（デーモン不要）", Args: "FILE", Summary: "validate a policy file (no daemon needed)",
		Desc:      "Validates a policy file alone and prints every problem as `file:line: message`; warnings (such as a missing `tocsin` service) are printed too but do not fail it. Exit 1 on errors.",
		DescJa:    "ポリシーファイルだけを検証し、問題をすべて `file:line: message` の形で表示します。警告（`tocsin` サービスがない、など）も表示しますが、失敗にはしません。エラーがあれば終了コード 1。",
		ArgDescJa: []string{"FILE  ポリシーファイル（YAML または JSON）"},
		ArgDesc:   []string{"FILE  the policy file (YAML or JSON)"},
		Example:   "tocsin policy check /etc/tocsin/policy.yaml"},
	{Name: "policy apply", Ja: "動作中のデーモンにポリシーを適用（版管理）", Args: "FILE", Summary: "apply a policy to the running daemon (versioned)",
		Desc:      "Sends the policy to the running daemon, which validates it and puts it in force atomically as a new version.",
		DescJa:    "ポリシーを動作中のデーモンに送ります。デーモンが検証し、新しい版としてまとめて適用します。",
		ArgDescJa: []string{"FILE  ポリシーファイル（YAML または JSON）"},
		ArgDesc:   []string{"FILE  the policy file (YAML or JSON)"},
		Example:   "tocsin policy apply policy.yaml"},
	{Name: "policy export", Ja: "適用中のポリシーを YAML で出力", Summary: "print the policy in force as YAML",
		Desc:    "Prints the running daemon's current policy as YAML, ready to edit and apply again.",
		DescJa:  "動作中のデーモンで適用中のポリシーを YAML で出力します。編集してそのまま再適用できます。",
		Example: "tocsin policy export > policy.yaml"},
	{Name: "passwd", Ja: "コンソールのパスワードをハッシュ（bcrypt）でファイルに保存", Group: groupDaemon, Args: "FILE", Summary: "store a console password in FILE as its bcrypt hash",
		Desc:      "Asks for a web console password twice (without echo; without a terminal, reads the first line of stdin) and writes its bcrypt hash to FILE (0600, or 0640 with the directory's group), to list as an http.users password_file. The daemon accepts a password file holding either a bcrypt hash or the password itself; a hash does not give the password away if the file is copied.",
		DescJa:    "Web コンソールのパスワードを2回たずね（画面に表示しません。端末がなければ標準入力の1行目を読みます）、その bcrypt ハッシュを FILE に書き込みます（0600、ディレクトリのグループ付きなら 0640）。http.users の password_file に指定してください。デーモンはパスワードファイルの中身として bcrypt ハッシュとパスワードそのもののどちらも受け付けます。ハッシュなら、ファイルが複製されてもパスワードは漏れません。",
		ArgDesc:   []string{"FILE  the password file to write (replaced if it exists)"},
		ArgDescJa: []string{"FILE  書き込むパスワードファイル（既にあれば置き換え）"},
		Example:   "sudo tocsin passwd /etc/tocsin/shift-lead.pass"},
	{Name: "backup", Ja: "データベースのオンラインコピー（デーモン動作中でも安全）", Group: groupDaemon, Args: "FILE", Summary: "online copy of the database, safe while the daemon runs",
		Desc:      "Copies the live SQLite database with SQLite's online backup; the daemon may keep running.",
		DescJa:    "稼働中の SQLite データベースを SQLite のオンラインバックアップでコピーします。デーモンは動かしたままで構いません。",
		ArgDescJa: []string{"FILE  コピーの書き込み先"},
		ArgDesc:   []string{"FILE  where to write the copy"},
		Example:   "tocsin backup /mnt/usb/tocsin-$(date +%F).db -c /etc/tocsin/tocsin.yaml"},
	{Name: "version", Ja: "バージョン、コミット、ビルド日", Group: groupDaemon, Summary: "version, commit, build date",
		Desc: "Prints the version, the commit and the build date.", Example: "tocsin version",
		DescJa: "バージョン、コミット、ビルド日を表示します。"},
	{Name: "help", Ja: "全コマンドの一覧、または1つの説明", Group: groupDaemon, Args: "[COMMAND]", Summary: "list every command, or describe one",
		Desc: "Without an argument lists every command; with one, the same as `tocsin COMMAND --help`.", Example: "tocsin help modem sms",
		DescJa: "引数なしでは全コマンドを一覧します。コマンドを指定すると `tocsin COMMAND --help` と同じです。"},

	{Name: "alert", Ja: "アラートを送信（発生・了解・解決）", Group: groupOperate, Summary: "send an alert (trigger, acknowledge or resolve)",
		Desc:    "Sends an alert to the running daemon as any integration would. Alerts with the same dedup key fold into one incident.",
		DescJa:  "他の連携システムと同じように、動作中のデーモンにアラートを送ります。重複キーが同じアラートは1件のインシデントにまとまります。",
		Example: "tocsin alert --service press-line-1 --summary \"Hydraulic pressure low\" --severity critical"},
	{Name: "incidents", Ja: "インシデントの一覧（新しい順）", Group: groupOperate, Summary: "list incidents, newest first",
		Desc: "Lists incidents of the running daemon, newest first.", Example: "tocsin incidents --status open",
		DescJa: "動作中のデーモンのインシデントを新しい順に一覧します。"},
	{Name: "show", Ja: "1件のインシデントとその経過", Group: groupOperate, Args: "ID", Summary: "one incident with its timeline",
		Desc: "Prints one incident and its timeline.", ArgDesc: []string{"ID  the incident number (12 or #12)"}, Example: "tocsin show 12 --json",
		DescJa:    "インシデント1件とその経過記録を表示します。",
		ArgDescJa: []string{"ID  インシデント番号（12 または #12）"}},
	{Name: "ack", Ja: "インシデントを了解（エスカレーション停止）", Group: groupOperate, Args: "ID", Summary: "acknowledge an incident (stops escalation)",
		Desc: "Acknowledges an incident: escalation stops, sirens go quiet, lights turn steady.", ArgDesc: []string{"ID  the incident number (12 or #12)"}, Example: "tocsin ack 12 --by tanaka",
		DescJa:    "インシデントを了解します: エスカレーションが止まり、サイレンが鳴りやみ、表示灯は点灯に変わります。",
		ArgDescJa: []string{"ID  インシデント番号（12 または #12）"}},
	{Name: "resolve", Ja: "インシデントを解決", Group: groupOperate, Args: "ID", Summary: "resolve an incident",
		Desc: "Resolves an incident: it is over, its outputs go off.", ArgDesc: []string{"ID  the incident number (12 or #12)"}, Example: "tocsin resolve 12 --by tanaka",
		DescJa:    "インシデントを解決します: 対応は完了となり、その出力はすべて消えます。",
		ArgDescJa: []string{"ID  インシデント番号（12 または #12）"}},
	{Name: "escalate", Ja: "次のレベルを今すぐ呼び出す", Group: groupOperate, Args: "ID", Summary: "page the next level now",
		Desc: "Escalates an incident to its next level at once, without waiting for the level's delay.", ArgDesc: []string{"ID  the incident number (12 or #12)"}, Example: "tocsin escalate 12",
		DescJa:    "レベルの待ち時間を待たずに、インシデントを今すぐ次のレベルへエスカレートします。",
		ArgDescJa: []string{"ID  インシデント番号（12 または #12）"}},
	{Name: "oncall", Ja: "現在（または指定時刻）の当番", Group: groupOperate, Summary: "who is on call now (or at a time)",
		Desc: "Prints who is on call on each schedule, and until when.", Example: "tocsin oncall --at 2026-12-24T22:00:00+09:00",
		DescJa: "当番表ごとに、当番が誰でいつまでかを表示します。"},
	{Name: "status", Ja: "状態の要約: モデム、送信待ち、インシデント、ポリシー", Group: groupOperate, Summary: "short health summary: modem, outbox, incidents, policy",
		Desc: "Prints a short summary of the running daemon: modem up or down and why, the outbox depth, open incidents, the policy version and anything not configured. --json prints the whole status document.", Example: "tocsin status",
		DescJa: "動作中のデーモンの状態を短くまとめて表示します: モデムの正常・停止とその理由、送信キューの件数、未解決のインシデント、ポリシーの版、未設定の項目。--json で状態をすべて出力します。"},
	{Name: "drill", Ja: "実経路での試験呼び出し（各段階の所要時間）", Group: groupOperate, Summary: "test page through the real path, timed step by step",
		Desc: "Opens a drill incident, follows it until someone acknowledges it and prints how long each step took.", Example: "tocsin drill --service press-line-1 --timeout 10m",
		DescJa: "訓練用のインシデントを開き、誰かが了解するまで追って、各段階にかかった時間を表示します。"},
	{Name: "report", Ja: "サービス別 MTTA/MTTR、担当者別・時間帯別の呼び出し数", Group: groupOperate, Summary: "MTTA/MTTR per service, pages per person by hours",
		Desc: "Prints the on-call report: per service MTTA and MTTR (p50, p95), per person the pages received in business, off and sleep hours.", Example: "tocsin report --since 7d",
		DescJa: "オンコール報告を表示します: サービスごとの MTTA と MTTR（p50、p95）、担当者ごとに業務時間内・時間外・睡眠時間帯に受けた呼び出しの数。"},
	{Name: "gpio", Ja: "デーモン経由でボタンを押す、配線の試験", Group: groupOperate, Summary: "press a button through the daemon; test the wiring"},
	{Name: "gpio press", Ja: "動作中のデーモンの GPIO 入力を押す", Args: "INPUT", Summary: "press a GPIO input of the running daemon",
		Desc: "Presses a configured button as if by hand (through the daemon).", ArgDesc: []string{"INPUT  the input's id in the config (gpio.inputs)"}, Example: "tocsin gpio press ack-1 --long",
		DescJa:    "設定したボタンを、手で押したのと同じように押します（デーモン経由）。",
		ArgDescJa: []string{"INPUT  設定での入力の id（gpio.inputs）"}},
	{Name: "gpio test", Ja: "各出力を点灯し入力の変化を表示（先にデーモンを停止）", Summary: "pulse each output, print input edges (stop the daemon first)",
		Desc: "Wiring bring-up without the daemon: pulses each output in turn, then prints every input edge and press.", Example: "sudo systemctl stop tocsin; tocsin gpio test -c /etc/tocsin/tocsin.yaml",
		DescJa: "デーモンなしで配線を確認します: 各出力を順に点灯させ、その後は入力の変化と押下をすべて表示します。"},
	{Name: "sim", Ja: "デモ: 模擬電話", Group: groupOperate, Summary: "demo: the simulated phones"},
	{Name: "sim phones", Ja: "模擬電話の送受信を表示", Summary: "print what the simulated phones sent and received",
		Desc: "Demo only: prints every SMS to and from the simulated phones.", Example: "tocsin sim phones",
		DescJa: "デモ専用: 模擬電話が送受信した SMS をすべて表示します。"},
	{Name: "sim sms", Ja: "模擬電話から返信する", Args: "FROM TEXT...", Summary: "reply from a simulated phone",
		Desc: "Demo only: a simulated phone sends an SMS to the relay, as a reply to a page.", ArgDesc: []string{"FROM  the phone's number, in any form (09012345678, +819012345678)", "TEXT  the message, such as 4 (acknowledge) or 6 (resolve)"}, Example: "tocsin sim sms 09012345678 4",
		DescJa:    "デモ専用: 模擬電話から中継へ、呼び出しへの返信として SMS を送ります。",
		ArgDescJa: []string{"FROM  電話番号、どの形式でも可（09012345678、+819012345678）", "TEXT  メッセージ、例えば 4（了解）や 6（解決）"}},

	{Name: "modem", Ja: "モデムと直接通信: 調査、SMS 1通、通話 1回", Group: groupBringUp, Summary: "talk to the modem directly: probe, one SMS, one call"},
	{Name: "modem probe", Ja: "モデム、ファームウェア、SIM、電波、登録、事業者を確認", Summary: "identify modem, firmware, SIM, signal, registration, operator",
		Desc: "Opens the modem (stop the daemon first: it holds the port) and prints what it is and whether it can page.", Example: "tocsin modem probe --device /dev/serial/by-id/usb-SimTech_SIM7600-if02-port0",
		DescJa: "モデムを開き（先にデーモンを停止してください: デーモンがポートを使っています）、機種と、呼び出しに使えるかどうかを表示します。"},
	{Name: "modem sms", Ja: "モデムから SMS を1通送信", Args: "NUMBER TEXT...", Summary: "send one SMS through the modem",
		Desc: "Sends one SMS straight through the modem. The number may be national (090-1234-5678, read with --region) or international (+81...).", ArgDesc: []string{"NUMBER  the phone number", "TEXT    the message"}, Example: "tocsin modem sms --device sim 090-1234-5678 テスト",
		DescJa:    "モデムから直接 SMS を1通送ります。番号は国内形式（090-1234-5678、--region で解釈）でも国際形式（+81...）でも構いません。",
		ArgDescJa: []string{"NUMBER  電話番号", "TEXT    メッセージ"}},
	{Name: "modem call", Ja: "試験通話を1回かけ、各段階と押されたキーを表示", Args: "NUMBER", Summary: "place one test call, printing each step and key",
		Desc: "Calls a number through the modem, speaks a test message where the module can, and prints each step and every key pressed (4 or 6 ends the call).", ArgDesc: []string{"NUMBER  the phone number (national forms read with --region)"}, Example: "tocsin modem call --device sim 090-1234-5678",
		DescJa:    "モデムから電話をかけ、対応する機種では試験メッセージを読み上げ、各段階と押されたキーをすべて表示します（4 か 6 で通話を終えます）。",
		ArgDescJa: []string{"NUMBER  電話番号（国内形式は --region で解釈）"}},
}

// errHelpShown means a command printed its help: exit 0.
var errHelpShown = errors.New("help shown")

// usageError is a mistake in how a command was called: exit 2.
type usageError struct {
	cmd string
	msg string
}

func (e usageError) Error() string {
	return fmt.Sprintf(say("%s\nsee: tocsin %s --help", "%s\n詳しくは: tocsin %s --help"), e.msg, e.cmd)
}

// usagef reports a wrong call of cmd. Under a Japanese locale the message
// is format's Japanese from usageJa.
func usagef(cmd, format string, args ...any) error {
	if ja, ok := usageJa[format]; ok && japanese() {
		format = ja
	}
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
			return usageError{cmd: fs.Name(), msg: flagError(err)}
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
// description, arguments, flags (from fs, when given) and an example, in
// Japanese under a Japanese locale.
func printCommandHelp(out io.Writer, name string, fs *flag.FlagSet) {
	d, _ := findDoc(name)
	ja := japanese()
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
	fmt.Fprintf(out, "%s %s\n\n", say("Usage:", "使い方:"), usage)
	desc, argDesc := d.Desc, d.ArgDesc
	if desc == "" {
		desc = d.Summary
	}
	if ja {
		desc, argDesc = d.DescJa, d.ArgDescJa
		if desc == "" {
			desc = d.Ja
		}
	}
	if desc != "" {
		fmt.Fprintf(out, "%s\n", wrap(desc, 76, ""))
	}
	if !ja && d.Ja != "" {
		fmt.Fprintf(out, "（%s）\n", d.Ja)
	}
	if len(subs) > 0 {
		fmt.Fprintf(out, "\n%s\n", say("Commands:", "コマンド:"))
		for _, s := range subs {
			line := s.Name
			if s.Args != "" {
				line += " " + s.Args
			}
			fmt.Fprintf(out, "  tocsin %-26s %s\n", line, summary(s))
		}
		fmt.Fprintf(out, say("\nEach answers --help, e.g. tocsin %s --help\n", "\nどれも --help で説明を表示します（例: tocsin %s --help）\n"), subs[0].Name)
	}
	if len(argDesc) > 0 {
		fmt.Fprintf(out, "\n%s\n", say("Arguments:", "引数:"))
		for _, a := range argDesc {
			fmt.Fprintf(out, "  %s\n", a)
		}
	}
	if hasFlags {
		fmt.Fprintf(out, "\n%s\n", say("Flags (anywhere on the line):", "フラグ（行のどこに置いても可）:"))
		fs.VisitAll(func(f *flag.Flag) {
			kind, _ := flag.UnquoteUsage(f)
			usage := flagUsage(f)
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
				usage += fmt.Sprintf(say(" (default %s)", "（既定: %s）"), f.DefValue)
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
		fmt.Fprintf(out, "\n%s\n  %s\n", say("Example:", "例:"), d.Example)
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
// $LC_MESSAGES or $LANG, the first set): the help, usage mistakes and the
// status summary are then in Japanese.
func japanese() bool {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if l := os.Getenv(v); l != "" {
			return strings.HasPrefix(l, "ja")
		}
	}
	return false
}

// say returns ja under a Japanese locale, else en: the two texts of one
// message stand side by side where it is written.
func say(en, ja string) string {
	if japanese() {
		return ja
	}
	return en
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
	ja := japanese()
	fmt.Fprintf(out, "%s\n", say("tocsin — on-call alert relay (SMS, voice, sirens) that works without the internet",
		"tocsin — インターネットなしで動くオンコール通報の中継（SMS・音声通話・サイレン）"))
	var groups []string
	for _, d := range commandDocs {
		if d.Group != "" && !slices.Contains(groups, d.Group) {
			groups = append(groups, d.Group)
		}
	}
	for _, g := range groups {
		heading := g
		if ja && groupJa[g] != "" {
			heading = groupJa[g]
		}
		fmt.Fprintf(out, "\n%s:\n", heading)
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
	if ja {
		fmt.Fprintf(out, "\n各コマンドは --help で説明・フラグ・例を表示します。フラグは引数の前後どちらでも可。\n")
		return
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

// wrap breaks s into lines of at most width columns, indenting
// continuation lines with indent. A line breaks at a space, between two
// Japanese characters (which take two columns) or after Japanese closing
// punctuation, but never before closing punctuation such as 、。） nor
// after an opening bracket such as （.
func wrap(s string, width int, indent string) string {
	type unit struct {
		text  string
		w     int
		space bool // a space precedes it
	}
	var units []unit
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		w := runeWidth(r)
		if n := len(units); n > 0 && !space {
			prev := &units[n-1]
			last, _ := utf8.DecodeLastRuneInString(prev.text)
			breakable := (w == 2 && runeWidth(last) == 2 || strings.ContainsRune(breakAfter, last)) &&
				!strings.ContainsRune(noLineStart, r) && !strings.ContainsRune(noLineEnd, last) &&
				!strings.ContainsRune(".,;:)", r)
			if !breakable {
				prev.text += string(r)
				prev.w += w
				continue
			}
		}
		units = append(units, unit{text: string(r), w: w, space: space && len(units) > 0})
		space = false
	}
	var b strings.Builder
	n := 0
	for i, u := range units {
		sep := 0
		if u.space {
			sep = 1
		}
		if i > 0 && n+sep+u.w > width {
			b.WriteString("\n" + indent)
			n = 0
		} else if u.space {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(u.text)
		n += u.w
	}
	return b.String()
}

// Japanese line breaking (kinsoku): noLineStart never starts a line,
// noLineEnd never ends one, and a line may break after breakAfter even
// before a Latin word ("項目。--json").
const (
	noLineStart = "、。，．・：；？！）」』】〕ー…ぁぃぅぇぉっゃゅょァィゥェォッャュョ"
	noLineEnd   = "（「『【〔"
	breakAfter  = "、。）」』】〕"
)

// runeWidth is the columns r takes in a terminal: two for East Asian wide
// characters (kana, kanji, full-width forms), else one.
func runeWidth(r rune) int {
	switch {
	case r >= 0x1100 && r <= 0x115F,
		r >= 0x2E80 && r <= 0xA4CF,
		r >= 0xAC00 && r <= 0xD7A3,
		r >= 0xF900 && r <= 0xFAFF,
		r >= 0xFE30 && r <= 0xFE4F,
		r >= 0xFF00 && r <= 0xFF60,
		r >= 0xFFE0 && r <= 0xFFE6:
		return 2
	}
	return 1
}
