package console

import (
	"net/http"
	"strconv"
	"strings"
)

// lang is a UI language: "en" or "ja".
type lang string

// T returns the UI text for key in l, falling back to English and then to
// the key itself, so a missing translation shows up as a readable word.
func (l lang) T(key string) string {
	if s, ok := messages[string(l)][key]; ok {
		return s
	}
	if s, ok := messages["en"][key]; ok {
		return s
	}
	return key
}

// Code is the language tag for <html lang>.
func (l lang) Code() string { return string(l) }

// pickLang chooses the UI language: the cookie set by the language switch
// first, then the browser's Accept-Language, then English.
func pickLang(r *http.Request) lang {
	if ck, err := r.Cookie(langCookie); err == nil {
		if _, ok := messages[ck.Value]; ok {
			return lang(ck.Value)
		}
	}
	return negotiate(r.Header.Get("Accept-Language"))
}

// negotiate picks the supported language the Accept-Language header
// prefers most; ties go to the earlier entry.
func negotiate(header string) lang {
	best, bestQ := lang("en"), -1.0
	for _, r := range ParseAcceptLanguage(header) {
		primary, _, _ := strings.Cut(strings.ToLower(r.Tag), "-")
		if _, ok := messages[primary]; !ok || r.Q <= 0 {
			continue
		}
		if r.Q > bestQ {
			best, bestQ = lang(primary), r.Q
		}
	}
	return best
}

// LanguageRange is one entry of an Accept-Language header.
type LanguageRange struct {
	Tag string
	Q   float64
}

// ParseAcceptLanguage reads an Accept-Language header (RFC 9110 §12.5.4)
// leniently: malformed entries are skipped, a missing or bad weight counts
// as 1, and weights are clamped to [0, 1].
func ParseAcceptLanguage(header string) []LanguageRange {
	var out []LanguageRange
	for part := range strings.SplitSeq(header, ",") {
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.TrimSpace(tag)
		if tag == "" || len(tag) > 35 || strings.Trim(tag, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-*") != "" {
			continue
		}
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f != f { // NaN
				continue
			}
			q = min(max(f, 0), 1)
		}
		out = append(out, LanguageRange{Tag: tag, Q: q})
	}
	return out
}

// messages are the UI texts. Japanese is written the way a Japanese
// factory floor talks about alarms (発報, 了解, 解決).
var messages = map[string]map[string]string{
	"en": {
		"title":              "Tocsin",
		"incidents":          "Incidents",
		"open_incidents":     "Open incidents",
		"recently_resolved":  "Recently resolved",
		"no_open":            "No open incidents. All quiet.",
		"more_open":          "… and %d more open incidents, less urgent (tocsin incidents --status triggered lists them all).",
		"oncall":             "On call",
		"health":             "Health",
		"policy":             "Policy",
		"phones":             "Phones",
		"simulated_phones":   "Simulated phones",
		"ack":                "Acknowledge",
		"resolve":            "Resolve",
		"escalate":           "Escalate",
		"triggered":          "triggered",
		"acknowledged":       "acknowledged",
		"resolved":           "resolved",
		"critical":           "critical",
		"error":              "error",
		"warning":            "warning",
		"info":               "info",
		"level":              "level",
		"age":                "age",
		"paged":              "paged",
		"nobody_paged":       "nobody paged yet",
		"service":            "service",
		"source":             "source",
		"alerts":             "alerts",
		"dedup_key":          "dedup key",
		"timeline":           "Timeline",
		"notifications":      "Notifications",
		"created":            "created",
		"by":                 "by",
		"status":             "status",
		"details":            "details",
		"drill":              "drill",
		"login":              "Log in",
		"logout":             "Log out",
		"user":               "User",
		"password":           "Password",
		"token":              "API token",
		"or_token":           "or log in with an API token",
		"login_failed":       "Wrong user name or password.",
		"login_failed_token": "That token is not accepted.",
		"login_expired":      "The login form expired. Please try again.",
		"login_throttled":    "Too many failed logins. Wait a minute and try again.",
		"read_only":          "read-only",
		"live":               "live",
		"offline":            "reconnecting…",
		"now":                "On call now",
		"next":               "Next",
		"until":              "until",
		"handoff":            "next handoff",
		"no_change":          "no change within a year",
		"overrides":          "Overrides",
		"active":             "active",
		"nobody":             "nobody",
		"time_zone":          "time zone",
		"no_schedules":       "The policy has no schedules.",
		"modem":              "Modem",
		"up":                 "up",
		"down":               "down",
		"signal":             "signal",
		"registration":       "registration",
		"operator":           "operator",
		"model":              "model",
		"last_error":         "last error",
		"since":              "since",
		"outbox":             "Outbox",
		"queue_depth":        "waiting to send",
		"version":            "version",
		"uptime":             "uptime",
		"database":           "Database",
		"engine":             "Engine",
		"gpio":               "GPIO",
		"mqtt":               "MQTT",
		"daemon":             "Daemon",
		"not_configured":     "not configured",
		"status_unavailable": "The status document is not available.",
		"export":             "Export as YAML",
		"export_api":         "Scripts: GET /api/v1/policy with a bearer token, or `tocsin policy export`.",
		"policy_version":     "policy version",
		"contacts":           "Contacts",
		"services":           "Services",
		"schedules":          "Schedules",
		"escalation_pols":    "Escalation policies",
		"escalation_pol":     "escalation policy",
		"heartbeats":         "Heartbeats",
		"maintenance":        "Maintenance",
		"settings":           "Settings",
		"name":               "name",
		"phone":              "phone",
		"language":           "language",
		"after":              "after",
		"notify":             "notify",
		"repeat":             "repeat",
		"rotation":           "rotation",
		"members":            "members",
		"start":              "start",
		"end":                "end",
		"interval":           "interval",
		"send":               "Send",
		"reply_4":            "4 (ack)",
		"reply_6":            "6 (resolve)",
		"free_text":          "Reply…",
		"no_messages":        "No messages yet.",
		"phones_intro":       "The demo's simulated modem: each contact's phone, with what it received. Replies go through the simulated modem exactly as a real SMS reply would.",
		"unknown_number":     "not in the policy",
		"ringing":            "Tocsin is calling",
		"in_call":            "In a call with Tocsin",
		"keys":               "keys",
		"answer":             "Answer",
		"decline":            "Decline",
		"hang_up":            "Hang up",
		"key_4":              "Press 4 (ack)",
		"key_6":              "Press 6 (resolve)",
		"back":               "All incidents",
		"not_found":          "No such incident.",
		"error_title":        "Something went wrong",
	},
	"ja": {
		"title":              "Tocsin",
		"incidents":          "インシデント",
		"open_incidents":     "未解決のインシデント",
		"recently_resolved":  "最近解決したもの",
		"no_open":            "未解決のインシデントはありません。",
		"more_open":          "… ほかに緊急度の低い未解決インシデントが%d件あります (tocsin incidents --status triggered で全件表示)。",
		"oncall":             "当番",
		"health":             "稼働状況",
		"policy":             "ポリシー",
		"phones":             "電話",
		"simulated_phones":   "模擬電話",
		"ack":                "了解",
		"resolve":            "解決",
		"escalate":           "エスカレート",
		"triggered":          "発報中",
		"acknowledged":       "了解済み",
		"resolved":           "解決済み",
		"critical":           "重大",
		"error":              "エラー",
		"warning":            "警告",
		"info":               "情報",
		"level":              "レベル",
		"age":                "経過",
		"paged":              "呼び出し先",
		"nobody_paged":       "まだ誰も呼び出していません",
		"service":            "サービス",
		"source":             "発生源",
		"alerts":             "アラート数",
		"dedup_key":          "重複キー",
		"timeline":           "経過記録",
		"notifications":      "通知",
		"created":            "発生",
		"by":                 "担当",
		"status":             "状態",
		"details":            "詳細",
		"drill":              "訓練",
		"login":              "ログイン",
		"logout":             "ログアウト",
		"user":               "ユーザー名",
		"password":           "パスワード",
		"token":              "APIトークン",
		"or_token":           "またはAPIトークンでログイン",
		"login_failed":       "ユーザー名またはパスワードが違います。",
		"login_failed_token": "このトークンは使えません。",
		"login_expired":      "ログイン画面の有効期限が切れました。もう一度お試しください。",
		"login_throttled":    "ログインの失敗が多すぎます。1分待ってからお試しください。",
		"read_only":          "閲覧のみ",
		"live":               "ライブ",
		"offline":            "再接続中…",
		"now":                "現在の当番",
		"next":               "次の当番",
		"until":              "まで",
		"handoff":            "次の交代",
		"no_change":          "1年以内に交代なし",
		"overrides":          "代理当番",
		"active":             "適用中",
		"nobody":             "不在",
		"time_zone":          "タイムゾーン",
		"no_schedules":       "ポリシーに当番表がありません。",
		"modem":              "モデム",
		"up":                 "正常",
		"down":               "停止",
		"signal":             "電波",
		"registration":       "登録状態",
		"operator":           "事業者",
		"model":              "機種",
		"last_error":         "最後のエラー",
		"since":              "開始",
		"outbox":             "送信キュー",
		"queue_depth":        "送信待ち",
		"version":            "バージョン",
		"uptime":             "稼働時間",
		"database":           "データベース",
		"engine":             "エンジン",
		"gpio":               "GPIO",
		"mqtt":               "MQTT",
		"daemon":             "デーモン",
		"not_configured":     "未設定",
		"status_unavailable": "状態を取得できません。",
		"export":             "YAMLでエクスポート",
		"export_api":         "スクリプトから: GET /api/v1/policy (Bearerトークン) または `tocsin policy export`。",
		"policy_version":     "ポリシーの版",
		"contacts":           "連絡先",
		"services":           "サービス",
		"schedules":          "当番表",
		"escalation_pols":    "エスカレーションポリシー",
		"escalation_pol":     "エスカレーションポリシー",
		"heartbeats":         "ハートビート",
		"maintenance":        "メンテナンス",
		"settings":           "設定",
		"name":               "名前",
		"phone":              "電話番号",
		"language":           "言語",
		"after":              "経過後",
		"notify":             "通知先",
		"repeat":             "繰り返し",
		"rotation":           "交代周期",
		"members":            "メンバー",
		"start":              "開始",
		"end":                "終了",
		"interval":           "間隔",
		"send":               "送信",
		"reply_4":            "4 (了解)",
		"reply_6":            "6 (解決)",
		"free_text":          "返信…",
		"no_messages":        "まだメッセージはありません。",
		"phones_intro":       "デモの模擬モデムです。連絡先ごとの電話と受信したSMSを表示します。返信は本物のSMS返信と同じく模擬モデムを通ります。",
		"unknown_number":     "ポリシーにない番号",
		"ringing":            "Tocsinから着信中",
		"in_call":            "Tocsinと通話中",
		"keys":               "押したキー",
		"answer":             "応答",
		"decline":            "拒否",
		"hang_up":            "切る",
		"key_4":              "4を押す (了解)",
		"key_6":              "6を押す (解決)",
		"back":               "インシデント一覧",
		"not_found":          "そのインシデントはありません。",
		"error_title":        "エラーが発生しました",
	},
}
