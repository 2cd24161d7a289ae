package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/cluster"
	"github.com/tocsin-relay/tocsin/escalation/status"
)

// How the CLI shows the daemon to a person: times in one zone with its
// label (the policy's settings.time_zone, else the host's), and `tocsin
// status` as a short summary.

// policy fetches the policy in force as JSON (GET /api/v1/policy with
// Accept: application/json; without it the daemon answers YAML).
func (c *client) policy(ctx context.Context) (*escalation.Policy, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/api/v1/policy", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the daemon at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v1/policy: HTTP %d", resp.StatusCode)
	}
	var p escalation.Policy
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&p); err != nil {
		return nil, err
	}
	return &p, nil
}

// zone is where the CLI shows times: the policy's settings.time_zone,
// else the host's zone. A daemon that cannot say leaves the host's.
func (c *client) zone(ctx context.Context) *time.Location {
	if p, err := c.policy(ctx); err == nil {
		return policyZone(p)
	}
	return time.Local
}

func policyZone(p *escalation.Policy) *time.Location {
	if p != nil && p.Settings.TimeZone != "" {
		if loc, err := escalation.LoadZone(p.Settings.TimeZone); err == nil {
			return loc
		}
	}
	return time.Local
}

// clock writes t in loc with the zone's label: "2026-12-05 15:04:05 JST".
func clock(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}

// statusView is the part of /api/v1/status the summary reads.
type statusView struct {
	Version  string `json:"version"`
	Uptime   string `json:"uptime"`
	Demo     bool   `json:"demo"`
	Database struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	} `json:"database"`
	Engine struct {
		Open int `json:"open_incidents"`
	} `json:"engine"`
	Modem  status.Mod `json:"modem"`
	Outbox struct {
		Depth     int    `json:"depth"`
		Sent      int64  `json:"sent"`
		Failed    int64  `json:"failed"`
		LastError string `json:"last_error"`
	} `json:"outbox"`
	Policy *struct {
		Version   int64     `json:"version"`
		AppliedAt time.Time `json:"applied_at"`
		AppliedBy string    `json:"applied_by"`
	} `json:"policy"`
	MQTT *struct {
		Broker    string `json:"broker"`
		Connected bool   `json:"connected"`
		LastError string `json:"last_error"`
	} `json:"mqtt"`
	// Warnings, when the daemon gives them (such as "not configured: no
	// contact can be paged").
	Warnings []string `json:"warnings"`
	// Configured is false while the policy can page nobody, and Reason
	// says why (escalation.Readiness); nil from a daemon that predates it.
	Configured *bool           `json:"configured"`
	Reason     string          `json:"not_configured_reason"`
	Cluster    *cluster.Status `json:"cluster"` // twin relays (cluster.go)
}

// statusWords are the texts of the `tocsin status` summary, in English
// (statusEn) and Japanese (statusJa). Labels are padded to Col columns of
// display width so the values line up in both.
type statusWords struct {
	Col                                                       int
	Modem, Outbox, Incidents, Policy, MQTT, Database, Warning string // labels
	Head, Demo                                                string
	Up, SignalUnknown, SignalDBM, UpSince                     string
	ReportsNone, Reports, ReportsDirect, ReportsStored        string
	Down, NotInitialised, HealthAlarm                         string
	OutboxCounts, LastError, Open                             string
	PolicyNone, PolicyVersion, PolicyCounts                   string
	Connected, Disconnected, Failing, NoContacts, Times       string
	// The pair of twin relays (printPair).
	Pair, PairRole, PairModemUp, PairModemDown, PairSelf, PairMember string
	PairJoinError, PairRefused, PairSlotConflict                     string
}

var statusEn = statusWords{
	Col:   12,
	Modem: "modem:", Outbox: "outbox:", Incidents: "incidents:", Policy: "policy:", MQTT: "mqtt:", Database: "database:", Warning: "warning:",
	Head:           "tocsin %s, up %s%s",
	Demo:           " (demo: everything simulated)",
	Up:             "up: %s, %s, %s, registration %s%s",
	SignalUnknown:  "signal unknown",
	SignalDBM:      "%d dBm",
	UpSince:        ", up since %s",
	ReportsNone:    "delivery reports: none (the module takes no AT+CNMI form for them; \"sent\" is as far as Tocsin sees)",
	Reports:        "delivery reports: %s",
	ReportsDirect:  "direct (+CDS)",
	ReportsStored:  "stored (+CDSI)",
	Down:           "DOWN (%s): %s",
	NotInitialised: "not initialised yet",
	HealthAlarm:    "an incident on the %q service is open about it",
	OutboxCounts:   "%d waiting, %d sent, %d failed",
	LastError:      " (last error: %s)",
	Open:           "%d open",
	PolicyNone:     "none applied",
	PolicyVersion:  "version %d, applied %s by %s",
	PolicyCounts:   ": %d contacts, %d services",
	Connected:      "connected",
	Disconnected:   "DISCONNECTED",
	Failing:        "FAILING: %s",
	NoContacts:     "not configured: no contact can be paged (the policy has no contacts)",
	Times:          "times in %s",

	Pair:             "pair:",
	PairRole:         "%s is %s",
	PairModemUp:      "modem up",
	PairModemDown:    "MODEM DOWN",
	PairSelf:         " (this box)",
	PairMember:       "%s at %s: %s, %s, priority %d",
	PairJoinError:    "cannot join the twin: %s",
	PairRefused:      "refused a box without the cluster key: %s",
	PairSlotConflict: "%s opens incidents in this box's id slot: list each box's address in the other's peers",
}

var statusJa = statusWords{
	Col:   14,
	Modem: "モデム:", Outbox: "送信キュー:", Incidents: "インシデント:", Policy: "ポリシー:", MQTT: "MQTT:", Database: "データベース:", Warning: "警告:",
	Head:           "tocsin %s、稼働時間 %s%s",
	Demo:           "（デモ: すべて模擬）",
	Up:             "正常: %s、%s、%s、登録状態 %s%s",
	SignalUnknown:  "電波 不明",
	SignalDBM:      "電波 %d dBm",
	UpSince:        "、%s から正常",
	ReportsNone:    "配達報告: なし（このモジュールは AT+CNMI で配達報告を受け取れないため、Tocsin が確認できるのは「送信済み」まで）",
	Reports:        "配達報告: %s",
	ReportsDirect:  "直接受信 (+CDS)",
	ReportsStored:  "保存後に読み取り (+CDSI)",
	Down:           "停止（%s）: %s",
	NotInitialised: "まだ初期化されていません",
	HealthAlarm:    "%q サービスにこの件のインシデントが開いています",
	OutboxCounts:   "送信待ち %d、送信済み %d、失敗 %d",
	LastError:      "（最後のエラー: %s）",
	Open:           "未解決 %d 件",
	PolicyNone:     "未適用",
	PolicyVersion:  "版 %d、%s に %s が適用",
	PolicyCounts:   "（連絡先 %d、サービス %d）",
	Connected:      "接続中",
	Disconnected:   "切断",
	Failing:        "障害: %s",
	NoContacts:     "未設定: 呼び出せる連絡先がありません（ポリシーに連絡先がありません）",
	Times:          "時刻は %s",

	Pair:             "二重化:",
	PairRole:         "%s は %s",
	PairModemUp:      "モデム正常",
	PairModemDown:    "モデム停止",
	PairSelf:         "（この機）",
	PairMember:       "%s（%s）: %s、%s、優先度 %d",
	PairJoinError:    "相手機に参加できません: %s",
	PairRefused:      "クラスタ鍵を持たない機器を拒否しました: %s",
	PairSlotConflict: "%s がこの機の ID 枠でインシデントを開いています: 各機のアドレスを相手の peers に書いてください",
}

// label pads a label of w to w.Col columns.
func (w statusWords) label(l string) string {
	n := 0
	for _, r := range l {
		n += runeWidth(r)
	}
	return l + strings.Repeat(" ", max(w.Col-n, 1))
}

// printStatus writes the short summary of `tocsin status`, in Japanese
// under a Japanese locale; what the daemon says (errors, warnings, the
// modem's names) is shown as it sends it.
func printStatus(out io.Writer, raw []byte, pol *escalation.Policy) error {
	var s statusView
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("status document: %w", err)
	}
	w := statusEn
	if japanese() {
		w = statusJa
	}
	indent := strings.Repeat(" ", w.Col)
	loc := policyZone(pol)
	demo := ""
	if s.Demo {
		demo = w.Demo
	}
	fmt.Fprintf(out, w.Head+"\n", s.Version, s.Uptime, demo)
	m := s.Modem
	switch {
	case m.Up:
		signal := w.SignalUnknown
		if m.SignalKnown {
			signal = fmt.Sprintf(w.SignalDBM, m.SignalDBM)
		}
		up := ""
		if t, err := time.Parse(time.RFC3339, m.Since); err == nil {
			up = fmt.Sprintf(w.UpSince, clock(t, loc))
		}
		fmt.Fprintf(out, w.label(w.Modem)+w.Up+"\n", orDash(m.Model), orDash(m.Operator), signal, orDash(m.Registration), up)
		switch m.Reports {
		case "":
		case "none":
			fmt.Fprintln(out, indent+w.ReportsNone)
		case statusEn.ReportsDirect: // the document's words are the English ones
			fmt.Fprintf(out, indent+w.Reports+"\n", w.ReportsDirect)
		case statusEn.ReportsStored:
			fmt.Fprintf(out, indent+w.Reports+"\n", w.ReportsStored)
		default:
			fmt.Fprintf(out, indent+w.Reports+"\n", m.Reports)
		}
	default:
		why := m.LastError
		if why == "" {
			why = w.NotInitialised
		}
		fmt.Fprintf(out, w.label(w.Modem)+w.Down+"\n", m.Device, why)
		if m.HealthAlarm {
			fmt.Fprintf(out, indent+w.HealthAlarm+"\n", escalation.SelfService)
		}
	}
	fmt.Fprintf(out, w.label(w.Outbox)+w.OutboxCounts, s.Outbox.Depth, s.Outbox.Sent, s.Outbox.Failed)
	if s.Outbox.LastError != "" {
		fmt.Fprintf(out, w.LastError, s.Outbox.LastError)
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, w.label(w.Incidents)+w.Open+"\n", s.Engine.Open)
	switch {
	case s.Policy == nil || s.Policy.Version == 0:
		fmt.Fprintln(out, w.label(w.Policy)+w.PolicyNone)
	default:
		fmt.Fprintf(out, w.label(w.Policy)+w.PolicyVersion, s.Policy.Version, clock(s.Policy.AppliedAt, loc), orDash(s.Policy.AppliedBy))
		if pol != nil {
			fmt.Fprintf(out, w.PolicyCounts, len(pol.Contacts), len(pol.Services))
		}
		fmt.Fprintln(out)
	}
	if s.MQTT != nil {
		state := w.Connected
		if !s.MQTT.Connected {
			state = w.Disconnected
			if s.MQTT.LastError != "" {
				state += ": " + s.MQTT.LastError
			}
		}
		fmt.Fprintf(out, "%s%s (%s)\n", w.label(w.MQTT), state, s.MQTT.Broker)
	}
	if !s.Database.OK {
		fmt.Fprintf(out, w.label(w.Database)+w.Failing+"\n", s.Database.Error)
	}
	if s.Cluster != nil {
		printPair(out, w, *s.Cluster)
	}
	var warns []string
	warns = append(warns, s.Warnings...)
	if s.Configured != nil && !*s.Configured {
		warns = append(warns, s.Reason)
	}
	switch {
	case pol == nil:
	case len(pol.Contacts) == 0:
		if s.Configured != nil {
			break // the daemon said it, with the reason
		}
		warns = append(warns, w.NoContacts)
	default:
		for _, pw := range pol.Warnings() {
			warns = append(warns, pw.Msg)
		}
	}
	for _, warn := range warns {
		fmt.Fprintf(out, "%s%s\n", w.label(w.Warning), warn)
	}
	fmt.Fprintf(out, w.Times+"\n", zoneLabel(loc))
	return nil
}

// zoneLabel names a zone for people: "Asia/Tokyo (JST)".
func zoneLabel(loc *time.Location) string {
	abbr, _ := time.Now().In(loc).Zone()
	name := loc.String()
	if name == "Local" {
		name = hostZone()
	}
	if strings.EqualFold(name, abbr) {
		return name
	}
	return fmt.Sprintf("%s (%s)", name, abbr)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
