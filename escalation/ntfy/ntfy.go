// Package ntfy pages phones through a self-hosted ntfy server on the site
// network, with its JSON publish API (POST to the server root with topic,
// title, message, priority, tags and actions). The notification carries
// Acknowledge and Resolve buttons: ntfy "http" actions that POST straight
// to the page's acknowledge links, so a tap acts without opening a browser.
package ntfy

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// Config is the ntfy server.
type Config struct {
	URL   string // server root, e.g. http://ntfy.factory.lan
	Token string // bearer access token; empty: none
	// Client defaults to one with a 30 s timeout.
	Client *http.Client
}

// Sender publishes pages to ntfy.
type Sender struct{ cfg Config }

// New returns a sender for cfg.
func New(cfg Config) *Sender {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	return &Sender{cfg: cfg}
}

// Publish is ntfy's JSON publish body.
type Publish struct {
	Topic    string   `json:"topic"`
	Title    string   `json:"title,omitempty"`
	Message  string   `json:"message"`
	Priority int      `json:"priority,omitempty"` // 1 (min) … 5 (max)
	Tags     []string `json:"tags,omitempty"`
	Click    string   `json:"click,omitempty"`
	Actions  []Action `json:"actions,omitempty"`
}

// Action is an ntfy action button; Tocsin uses "http" actions.
type Action struct {
	Action string `json:"action"` // "http"
	Label  string `json:"label"`
	URL    string `json:"url"`
	Method string `json:"method,omitempty"`
	// Clear dismisses the notification once the request succeeded.
	Clear bool `json:"clear,omitempty"`
}

// Priority maps severity to ntfy priority: critical 5 (max, overrides
// do-not-disturb on Android when allowed), error 4, warning 3, info 2.
func Priority(s escalation.Severity) int {
	switch s {
	case escalation.SevCritical:
		return 5
	case escalation.SevError:
		return 4
	case escalation.SevWarning:
		return 3
	}
	return 2
}

// tags are ntfy emoji short codes shown before the title.
func tags(m escalation.Message) []string {
	switch {
	case m.Event == string(escalation.Resolved):
		return []string{"white_check_mark", "tocsin"}
	case m.Event == string(escalation.Acknowledged):
		return []string{"eyes", "tocsin"}
	case m.Incident.Severity <= escalation.SevError:
		return []string{"rotating_light", m.Incident.Severity.String(), "tocsin"}
	}
	return []string{"warning", m.Incident.Severity.String(), "tocsin"}
}

// Body returns the publish request for m.
func Body(m escalation.Message) Publish {
	p := Publish{
		Topic:    m.Number,
		Title:    escalation.MessageTitle(m),
		Message:  escalation.MessageBody(m),
		Priority: Priority(m.Incident.Severity),
		Tags:     tags(m),
	}
	if m.AckURL != "" {
		p.Actions = []Action{
			{Action: "http", Label: escalation.LinkLabel(escalation.Acknowledge, m.Language), URL: m.AckURL, Method: http.MethodPost, Clear: true},
			{Action: "http", Label: escalation.LinkLabel(escalation.Resolve, m.Language), URL: m.ResolveURL, Method: http.MethodPost, Clear: true},
		}
	}
	return p
}

// Send publishes m.
func (s *Sender) Send(ctx context.Context, m escalation.Message) error {
	body, err := json.Marshal(Body(m))
	if err != nil {
		return &escalation.DeliveryError{Verdict: escalation.GiveUp, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL+"/", bytes.NewReader(body))
	if err != nil {
		return &escalation.DeliveryError{Verdict: escalation.GiveUp, Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	if s.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.cfg.Token)
	}
	return escalation.SendHTTP(s.cfg.Client, req, "ntfy")
}
