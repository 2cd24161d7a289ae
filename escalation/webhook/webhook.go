// Package webhook tells HTTP endpoints about incidents: chat servers
// (Slack, Mattermost and Rocket.Chat incoming webhooks; Microsoft Teams
// Workflows with an Adaptive Card) and anything else (an MES, a LINE WORKS
// bot, a ticketing system) with Tocsin's incident JSON or a Go
// text/template of the site's own. Extra headers (an auth token) come from
// a file, one "Name: value" a line, so secrets stay out of the policy.
package webhook

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"text/template"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// Sender posts webhook messages.
type Sender struct {
	client *http.Client
}

// New returns a sender; client nil means one with a 30 s timeout.
func New(client *http.Client) *Sender {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	return &Sender{client: client}
}

// Send posts m to its webhook in the webhook's format.
func (s *Sender) Send(ctx context.Context, m escalation.Message) error {
	wh := m.Webhook
	body, ctype, err := Payload(m)
	if err != nil {
		return &escalation.DeliveryError{Verdict: escalation.GiveUp, Err: fmt.Errorf("webhook %s: %w", wh.ID, err)}
	}
	var extra http.Header
	if wh.HeadersFile != "" {
		data, err := os.ReadFile(wh.HeadersFile)
		if err != nil {
			return &escalation.DeliveryError{Verdict: escalation.GiveUp, Err: fmt.Errorf("webhook %s: headers_file: %w", wh.ID, err)}
		}
		if extra, err = ParseHeaders(data); err != nil {
			return &escalation.DeliveryError{Verdict: escalation.GiveUp, Err: fmt.Errorf("webhook %s: %s: %w", wh.ID, wh.HeadersFile, err)}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, wh.URL, bytes.NewReader(body))
	if err != nil {
		return &escalation.DeliveryError{Verdict: escalation.GiveUp, Err: fmt.Errorf("webhook %s: %w", wh.ID, err)}
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("User-Agent", "Tocsin")
	for k, vs := range extra {
		req.Header[k] = vs
	}
	return escalation.SendHTTP(s.client, req, "webhook "+wh.ID)
}

// Payload renders m in its webhook's format and returns the body and its
// content type.
func Payload(m escalation.Message) ([]byte, string, error) {
	switch m.Webhook.Format {
	case escalation.FormatSlack:
		b, err := json.Marshal(slack(m))
		return b, "application/json", err
	case escalation.FormatTeams:
		b, err := json.Marshal(teams(m))
		return b, "application/json", err
	}
	if m.Webhook.TemplateFile != "" {
		src, err := os.ReadFile(m.Webhook.TemplateFile)
		if err != nil {
			return nil, "", fmt.Errorf("template_file: %w", err)
		}
		b, err := Render(string(src), m)
		return b, "application/json", err
	}
	b, err := json.Marshal(Generic(m))
	return b, "application/json", err
}

// Data is Tocsin's incident JSON for generic webhooks, and the value a
// template_file is executed with ({{.Incident.Summary}}, {{.AckURL}} …).
type Data struct {
	Event      string              `json:"event"` // page, triggered, acknowledged, resolved
	Webhook    string              `json:"webhook"`
	Level      int                 `json:"level,omitempty"`
	Title      string              `json:"title"`
	Text       string              `json:"text"`
	Incident   escalation.Incident `json:"incident"`
	AckURL     string              `json:"ack_url,omitempty"`
	ResolveURL string              `json:"resolve_url,omitempty"`
}

// Generic returns the generic payload of m.
func Generic(m escalation.Message) Data {
	return Data{Event: m.Event, Webhook: m.Webhook.ID, Level: m.Level, Title: escalation.MessageTitle(m),
		Text: escalation.MessageBody(m), Incident: m.Incident, AckURL: m.AckURL, ResolveURL: m.ResolveURL}
}

// Render executes a template_file for m. A template that fails to parse
// or to execute is an error (the page gives up; `tocsin check` cannot see
// the file's content ahead of time).
func Render(src string, m escalation.Message) ([]byte, error) {
	t, err := template.New("webhook").Option("missingkey=error").Funcs(template.FuncMap{
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
	}).Parse(src)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, Generic(m)); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	return b.Bytes(), nil
}

// ParseHeaders reads a headers_file: one "Name: value" a line; blank lines
// and lines starting with # are skipped. Names must be HTTP tokens, and the
// headers the HTTP client owns (Host, Content-Length, Transfer-Encoding)
// are refused. Errors name the line.
func ParseHeaders(data []byte) (http.Header, error) {
	h := http.Header{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case !ok:
			return nil, fmt.Errorf("line %d: want \"Name: value\"", n)
		case !isToken(name):
			return nil, fmt.Errorf("line %d: %q is not a header name", n, name)
		case strings.ContainsAny(value, "\x00\r\n"):
			return nil, fmt.Errorf("line %d: control character in the value", n)
		}
		switch http.CanonicalHeaderKey(name) {
		case "Host", "Content-Length", "Transfer-Encoding", "Connection":
			return nil, fmt.Errorf("line %d: %s is set by Tocsin's HTTP client", n, name)
		}
		h.Add(name, value)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return h, nil
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r >= 0x7f || r <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	return true
}

// color is the attachment bar colour by event and severity.
func color(m escalation.Message) string {
	switch {
	case m.Event == string(escalation.Resolved):
		return "#2e7d32"
	case m.Event == string(escalation.Acknowledged):
		return "#f9a825"
	case m.Incident.Severity <= escalation.SevError:
		return "#c62828"
	}
	return "#ef6c00"
}

// slackMessage is an incoming-webhook message as Slack, Mattermost and
// Rocket.Chat accept it: text plus legacy attachments.
type slackMessage struct {
	Text        string            `json:"text"`
	Attachments []slackAttachment `json:"attachments"`
}

type slackAttachment struct {
	Fallback string       `json:"fallback"`
	Color    string       `json:"color"`
	Title    string       `json:"title"`
	Text     string       `json:"text"`
	Fields   []slackField `json:"fields,omitempty"`
}

type slackField struct {
	Title string `json:"title"`
	Value string `json:"value"`
	Short bool   `json:"short"`
}

func slack(m escalation.Message) slackMessage {
	title := escalation.MessageTitle(m)
	inc := m.Incident
	text := inc.Summary
	if m.AckURL != "" {
		// Plain URLs: every one of the three servers links them, while
		// their link markups differ.
		text += fmt.Sprintf("\n%s: %s\n%s: %s", escalation.LinkLabel(escalation.Acknowledge, m.Language), m.AckURL,
			escalation.LinkLabel(escalation.Resolve, m.Language), m.ResolveURL)
	}
	fields := []slackField{
		{Title: "Service", Value: inc.Service, Short: true},
		{Title: "Severity", Value: inc.Severity.String(), Short: true},
		{Title: "Status", Value: string(inc.Status), Short: true},
	}
	if inc.Source != "" {
		fields = append(fields, slackField{Title: "Source", Value: inc.Source, Short: true})
	}
	return slackMessage{Text: title, Attachments: []slackAttachment{{
		Fallback: title, Color: color(m), Title: fmt.Sprintf("#%d %s", inc.ID, inc.Summary), Text: text, Fields: fields,
	}}}
}

// Teams Workflows ("Post to a channel when a webhook request is
// received") take a message whose attachment is an Adaptive Card.
type teamsMessage struct {
	Type        string            `json:"type"` // "message"
	Attachments []teamsAttachment `json:"attachments"`
}

type teamsAttachment struct {
	ContentType string       `json:"contentType"` // application/vnd.microsoft.card.adaptive
	ContentURL  *string      `json:"contentUrl"`  // null
	Content     adaptiveCard `json:"content"`
}

type adaptiveCard struct {
	Schema  string        `json:"$schema"`
	Type    string        `json:"type"` // "AdaptiveCard"
	Version string        `json:"version"`
	Body    []cardElement `json:"body"`
	Actions []cardAction  `json:"actions,omitempty"`
}

type cardElement struct {
	Type   string     `json:"type"` // TextBlock or FactSet
	Text   string     `json:"text,omitempty"`
	Weight string     `json:"weight,omitempty"`
	Size   string     `json:"size,omitempty"`
	Color  string     `json:"color,omitempty"`
	Wrap   bool       `json:"wrap,omitempty"`
	Facts  []cardFact `json:"facts,omitempty"`
}

type cardFact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

// cardAction opens the confirmation page: a card button cannot POST to a
// URL without a bot, and the page asks for the one click that acts.
type cardAction struct {
	Type  string `json:"type"` // Action.OpenUrl
	Title string `json:"title"`
	URL   string `json:"url"`
}

func teams(m escalation.Message) teamsMessage {
	inc := m.Incident
	col := "Warning"
	switch {
	case m.Event == string(escalation.Resolved):
		col = "Good"
	case inc.Severity <= escalation.SevError && m.Event != string(escalation.Acknowledged):
		col = "Attention"
	}
	facts := []cardFact{
		{Title: "Incident", Value: fmt.Sprintf("#%d", inc.ID)},
		{Title: "Service", Value: inc.Service},
		{Title: "Severity", Value: inc.Severity.String()},
		{Title: "Status", Value: string(inc.Status)},
	}
	if inc.Source != "" {
		facts = append(facts, cardFact{Title: "Source", Value: inc.Source})
	}
	card := adaptiveCard{
		Schema:  "http://adaptivecards.io/schemas/adaptive-card.json",
		Type:    "AdaptiveCard",
		Version: "1.4",
		Body: []cardElement{
			{Type: "TextBlock", Text: escalation.MessageTitle(m), Weight: "Bolder", Size: "Medium", Color: col, Wrap: true},
			{Type: "FactSet", Facts: facts},
		},
	}
	if m.AckURL != "" {
		card.Actions = []cardAction{
			{Type: "Action.OpenUrl", Title: escalation.LinkLabel(escalation.Acknowledge, m.Language), URL: m.AckURL},
			{Type: "Action.OpenUrl", Title: escalation.LinkLabel(escalation.Resolve, m.Language), URL: m.ResolveURL},
		}
	}
	return teamsMessage{Type: "message", Attachments: []teamsAttachment{{
		ContentType: "application/vnd.microsoft.card.adaptive", Content: card,
	}}}
}
