package main

import (
	"flag"
	"regexp"
	"strings"
)

// This file holds the Japanese of the CLI texts that are written in English
// where they are used: each command declares its flags inline, and calls
// usagef with an English format. Both tables are keyed by the English text
// itself, so a flag or message whose English changes loses its Japanese
// until it is translated again, which TestHelpJapaneseComplete and
// TestUsageMessagesJapanese report, rather than showing a stale
// translation. A text missing here is shown in English, never blank.

// flagJa is the Japanese usage of every flag, keyed by its English usage.
var flagJa = map[string]string{
	// addClientFlags (client.go): every command that talks to a daemon.
	"daemon URL (default $TOCSIN_SERVER, the config's http.listen, or http://127.0.0.1:8080)": "デーモンの URL（既定: $TOCSIN_SERVER、設定の http.listen、なければ http://127.0.0.1:8080）",
	"file holding the API token (default $TOCSIN_TOKEN or the config's first token)":          "API トークンを書いたファイル（既定: $TOCSIN_TOKEN、なければ設定の最初のトークン）",
	"daemon config, to find the server and token":                                             "デーモンの設定ファイル（接続先とトークンを読む）",
	"print JSON": "JSON で出力",

	// serve, check, backup.
	"config file (default: the demo, everything simulated)": "設定ファイル（既定: すべて模擬のデモ）",
	"config file (or give it as the argument)":              "設定ファイル（引数で指定しても可）",
	"config file (default: the demo's ./tocsin-data)":       "設定ファイル（既定: デモの ./tocsin-data）",

	// alert.
	"service id (required)":               "サービスの id（必須）",
	"what is wrong (required to trigger)": "何が起きているか（発報には必須）",
	"critical, error, warning or info":    "重大度: critical（重大）、error（エラー）、warning（警告）、info（情報）のいずれか",
	"dedup key (default: a new incident)": "重複キー（既定: 新しいインシデントを開く）",
	"the affected thing":                  "発生源（影響を受けている設備など）",
	"trigger, acknowledge or resolve":     "trigger（発報）、acknowledge（了解）、resolve（解決）のいずれか",

	// incidents, status, ack/resolve/escalate, oncall, gpio press.
	"triggered, acknowledged, resolved or open":                 "状態で絞り込む: triggered（発報中）、acknowledged（了解済み）、resolved（解決済み）、open（未解決）",
	"how many, newest first (fetched in pages of at most 1000)": "表示する件数、新しい順（1回に最大1000件ずつ取得）",
	"every incident, newest first, page by page":                "すべてのインシデントを新しい順に、ページごとに取得",
	"print the whole status document as JSON":                   "状態をすべて JSON で出力",
	"who (default: the token's name)":                           "操作した人（既定: トークンの名前）",
	"RFC 3339 time (default now)":                               "この時刻の当番、RFC 3339 形式（既定: 現在）",
	"hold for 3 s (a long ack press resolves)":                  "3秒間押し続ける（了解ボタンの長押しは解決）",

	// drill.
	"service whose contacts are paged (default: the policy's first)": "呼び出す連絡先のサービス（既定: ポリシーの最初のサービス）",
	"give up when nobody acknowledged within this time":              "この時間内に誰も了解しなければ打ち切る",
	"how often to look at the incident":                              "インシデントを確認する間隔",

	// report.
	"how far back: incidents created in this span (30d, 12h, ...)": "集計期間: この期間内に発生したインシデント（30d、12h など）",

	// gpio test.
	"daemon config (default: the demo's simulated GPIO)": "デーモンの設定ファイル（既定: デモの模擬 GPIO）",
	"how long each output is on":                         "各出力をオンにする時間",
	"how long to print input edges after the outputs":    "出力の試験の後、入力の変化を表示し続ける時間",

	// modem probe, sms, call.
	"serial device, or \"sim\" (default: the config's modem.device)": "シリアルデバイス、または \"sim\"（既定: 設定の modem.device）",
	"baud rate (default 115200)":                                     "ボーレート（既定 115200）",
	"daemon config":                                                  "デーモンの設定ファイル",
	"print the AT traffic":                                           "AT コマンドのやり取りを表示",
	"region of national numbers such as 090-1234-5678 (default: the policy's settings.default_region with -c, else " + defaultRegion + ")": "090-1234-5678 のような国内形式の番号の地域（既定: -c があればポリシーの settings.default_region、なければ " + defaultRegion + "）",

	// init.
	"ask nothing: every answer from flags":                   "何も質問しない: 回答はすべてフラグから読む",
	"where tocsin.yaml, policy.yaml and the secret files go": "tocsin.yaml、policy.yaml と秘密情報のファイルを書き込むディレクトリ",
	"modem serial device (/dev/serial/by-id/...), or sim":    "モデムのシリアルデバイス（/dev/serial/by-id/...）、または sim",
	"modem baud rate": "モデムのボーレート",
	"a contact as \"id,name,phone,lang\" (lang ja or en); repeat for more":    "連絡先を \"id,名前,電話番号,言語\" で指定（言語は ja か en）。複数なら繰り返す",
	"region of national phone numbers such as 090-1234-5678":                  "090-1234-5678 のような国内形式の電話番号の地域",
	"the policy's time zone (IANA name)":                                      "ポリシーのタイムゾーン（IANA 名）",
	"web console login name":                                                  "Web コンソールのログイン名",
	"web console password (prefer --console-password-file)":                   "Web コンソールのパスワード（--console-password-file の方が安全）",
	"file holding the web console password":                                   "Web コンソールのパスワードを書いたファイル",
	"address of the API and web console":                                      "API と Web コンソールの待ち受けアドレス",
	"where the database lives":                                                "データベースを置くディレクトリ",
	"GPIO backend: periph (the Pi), sim or none":                              "GPIO のバックエンド: periph（Raspberry Pi）、sim、none のいずれか",
	"a siren output as ZONE:PIN, such as line1:GPIO17; repeat for more":       "サイレンの出力を ZONE:PIN で指定（例: line1:GPIO17）。複数なら繰り返す",
	"overwrite an existing tocsin.yaml or policy.yaml":                        "既存の tocsin.yaml や policy.yaml を上書きする",
	"answer yes to the tests: send the SMS, place the call, pulse the sirens": "試験にすべて「はい」と答える: SMS を送り、試験通話をかけ、サイレンを鳴らす",
}

// flagUsage is f's usage in the user's language.
func flagUsage(f *flag.Flag) string {
	_, usage := flag.UnquoteUsage(f)
	if ja, ok := flagJa[f.Usage]; ok && japanese() {
		return ja
	}
	return usage
}

// usageJa is the Japanese of every usagef format, keyed by the English
// format; the verbs come in the same order.
var usageJa = map[string]string{
	"tocsin %s needs a command":                                                    "tocsin %s にはコマンドが必要です",
	"unknown %s command %q: want %s":                                               "%s に %q というコマンドはありません（%s のいずれか）",
	"unexpected argument %q":                                                       "余分な引数があります: %q",
	"want one config file: tocsin check -c FILE":                                   "設定ファイルを1つ指定してください: tocsin check -c FILE",
	"want one FILE, the password_file to write":                                    "書き込むパスワードファイル FILE を1つ指定してください",
	"want one FILE to write the copy to":                                           "コピーの書き込み先 FILE を1つ指定してください",
	"want one incident ID, got %d arguments":                                       "インシデントの ID を1つ指定してください（引数が %d 個あります）",
	"want one policy FILE, got %d arguments":                                       "ポリシーファイル FILE を1つ指定してください（引数が %d 個あります）",
	"takes no arguments":                                                           "引数は指定できません",
	"want one INPUT, got %d arguments":                                             "INPUT を1つ指定してください（引数が %d 個あります）",
	"want FROM and TEXT":                                                           "FROM と TEXT を指定してください",
	"want NUMBER and TEXT":                                                         "NUMBER と TEXT を指定してください",
	"want one NUMBER, got %d arguments":                                            "NUMBER を1つ指定してください（引数が %d 個あります）",
	"--non-interactive needs --device":                                             "--non-interactive には --device が必要です",
	"--non-interactive needs at least one --contact \"id,name,phone,lang\"":        "--non-interactive には --contact \"id,name,phone,lang\" が1つ以上必要です",
	"no modem: give --device /dev/serial/by-id/... (or --device sim) or -c CONFIG": "モデムが指定されていません: --device /dev/serial/by-id/...（または --device sim）か -c CONFIG を指定してください",
}

// flagErrors turns the flag package's parse errors into Japanese; their
// causes ("parse error", a duration's syntax) stay as the flag package or
// the flag's Set says them, but for the two the flag package names.
var flagErrors = []struct {
	re *regexp.Regexp
	ja string
}{
	{regexp.MustCompile(`^flag provided but not defined: (.*)$`), "そのようなフラグはありません: $1"},
	{regexp.MustCompile(`^flag needs an argument: (.*)$`), "フラグ $1 には値が必要です"},
	{regexp.MustCompile(`^invalid value (".*") for flag (\S+): (.*)$`), "フラグ $2 の値 $1 が正しくありません: $3"},
	{regexp.MustCompile(`^invalid boolean value (".*") for (\S+): (.*)$`), "フラグ $2 の値 $1 は true か false で指定してください: $3"},
	{regexp.MustCompile(`^invalid boolean flag (\S+): (.*)$`), "フラグ $1 の値が正しくありません: $2"},
	{regexp.MustCompile(`^bad flag syntax: (.*)$`), "フラグの書き方が正しくありません: $1"},
}

// flagError is the message of a flag parse error in the user's language.
func flagError(err error) string {
	msg := err.Error()
	if !japanese() {
		return msg
	}
	for _, e := range flagErrors {
		if !e.re.MatchString(msg) {
			continue
		}
		ja := e.re.ReplaceAllString(msg, e.ja)
		if rest, ok := strings.CutSuffix(ja, ": parse error"); ok {
			ja = rest + ": 解釈できません"
		}
		if rest, ok := strings.CutSuffix(ja, ": value out of range"); ok {
			ja = rest + ": 範囲外です"
		}
		return ja
	}
	return msg
}
