package httpapi

// Prometheus Alertmanager webhook intake (and, in grafana.go, Grafana
// Alerting, which sends the same shape with a few fields more). One
// notification describes one alert group; Tocsin pages once per group, so
// the group key is the dedup key and the group's status drives the incident.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tocsin-relay/tocsin/escalation"
)

// maxDedupKey bounds the dedup key Tocsin stores for a group. Alertmanager
// group keys grow with the route's matchers and group_by labels; longer
// ones are replaced by a digest so they still identify the group.
const maxDedupKey = 255

// maxSummary bounds the summary built from a group (SMS text is short).
const maxSummary = 1024

// amMessage is the Alertmanager webhook payload, version 4, with the
// fields Grafana Alerting adds (orgId, title, state, message, and per
// alert values, silence, dashboard and panel URLs).
type amMessage struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []amAlert         `json:"alerts"`

	// Grafana Alerting only.
	OrgID   json.RawMessage `json:"orgId,omitempty"`
	Title   string          `json:"title,omitempty"`
	State   string          `json:"state,omitempty"`
	Message string          `json:"message,omitempty"`
}

// amAlert is one alert of a group. Times are kept as the sender wrote
// them: they are shown to people, not computed with.
type amAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
	Fingerprint  string            `json:"fingerprint,omitempty"`

	// Grafana Alerting only.
	Values       json.RawMessage `json:"values,omitempty"`
	ValueString  string          `json:"valueString,omitempty"`
	SilenceURL   string          `json:"silenceURL,omitempty"`
	DashboardURL string          `json:"dashboardURL,omitempty"`
	PanelURL     string          `json:"panelURL,omitempty"`
	ImageURL     string          `json:"imageURL,omitempty"`
}

// amDetails is what an incident keeps of a group notification: each
// alert's labels, annotations, start and generator URL, so the console
// and the timeline show what fired without a trip to Prometheus.
type amDetails struct {
	Receiver        string            `json:"receiver,omitempty"`
	GroupKey        string            `json:"group_key"`
	GroupLabels     map[string]string `json:"group_labels,omitempty"`
	ExternalURL     string            `json:"external_url,omitempty"`
	TruncatedAlerts int               `json:"truncated_alerts,omitempty"`
	Title           string            `json:"title,omitempty"`
	Message         string            `json:"message,omitempty"`
	Alerts          []amAlert         `json:"alerts"`
}

// decodeAlertmanager turns an Alertmanager v4 notification into one event
// for service: trigger while the group fires, resolve when it resolved.
func decodeAlertmanager(body []byte, service string) (escalation.Event, error) {
	var m amMessage
	if err := decodeWebhookJSON(body, &m); err != nil {
		return escalation.Event{}, err
	}
	if m.Version != "4" {
		return escalation.Event{}, escalation.Invalidf("version", "unsupported Alertmanager webhook version %q (want \"4\")", m.Version)
	}
	return alertGroupEvent(m, service, "alertmanager")
}

// alertGroupEvent is shared by the Alertmanager and Grafana decoders.
func alertGroupEvent(m amMessage, service, intake string) (escalation.Event, error) {
	if strings.TrimSpace(service) == "" {
		return escalation.Event{}, escalation.Invalidf("service", "the URL names no service (…/webhooks/%s/{service})", intake)
	}
	if m.GroupKey == "" {
		return escalation.Event{}, escalation.Invalidf("groupKey", "groupKey is missing: is this an %s webhook notification?", intake)
	}
	var action escalation.Action
	switch m.Status {
	case "firing":
		action = escalation.Trigger
	case "resolved":
		action = escalation.Resolve
	case "":
		return escalation.Event{}, escalation.Invalidf("status", "status is missing (want firing or resolved)")
	default:
		return escalation.Event{}, escalation.Invalidf("status", "unknown status %q (want firing or resolved)", m.Status)
	}
	for i, a := range m.Alerts {
		if a.Status != "firing" && a.Status != "resolved" {
			return escalation.Event{}, escalation.Invalidf(fmt.Sprintf("alerts[%d].status", i),
				"alerts[%d].status is %q (want firing or resolved)", i, a.Status)
		}
	}
	ev := escalation.Event{
		Service:  service,
		Summary:  groupSummary(m),
		Severity: groupSeverity(m),
		Source:   groupSource(m),
		DedupKey: groupDedupKey(m.GroupKey),
		Action:   action,
		Intake:   intake,
		// Group keys are matched only against the same sender's, so a
		// group can never fold into an alert that merely shares its key.
		DedupScope: intake,
	}
	if action == escalation.Trigger {
		// The incident's count and summary follow the group (3 firing,
		// then 2 when one resolves). A firing group always has one.
		ev.Alerts = max(1, firingCount(m))
	}
	ev.Details = marshalDetails(amDetails{
		Receiver:        m.Receiver,
		GroupKey:        m.GroupKey,
		GroupLabels:     m.GroupLabels,
		ExternalURL:     m.ExternalURL,
		TruncatedAlerts: m.TruncatedAlerts,
		Title:           m.Title,
		Message:         m.Message,
		Alerts:          nonNilAlerts(m.Alerts),
	})
	return ev, nil
}

func nonNilAlerts(a []amAlert) []amAlert {
	if a == nil {
		return []amAlert{}
	}
	return a
}

// firingCount is how many alerts of the group fire, those Alertmanager
// left out of the message (max_alerts) included.
func firingCount(m amMessage) int {
	firing := m.TruncatedAlerts
	for _, a := range m.Alerts {
		if a.Status == "firing" {
			firing++
		}
	}
	return firing
}

// groupSummary prefers the group's common summary annotation, then the
// Grafana title (which already counts the alerts), then the alert name, and
// says how many alerts fire when there are several — the same number the
// incident's alert count shows (Event.Alerts).
func groupSummary(m amMessage) string {
	firing := firingCount(m)
	s := m.CommonAnnotations["summary"]
	if s == "" && strings.TrimSpace(m.Title) != "" {
		return truncateRunes(m.Title, maxSummary)
	}
	if s == "" {
		s = firstNonEmpty(m.CommonLabels["alertname"], m.GroupLabels["alertname"])
	}
	if s == "" && len(m.Alerts) == 1 {
		s = firstNonEmpty(m.Alerts[0].Annotations["summary"], m.Alerts[0].Labels["alertname"])
	}
	if s == "" {
		s = "alert group " + m.GroupKey
	}
	if firing > 1 {
		s = fmt.Sprintf("%s (%d alerts)", s, firing)
	}
	return truncateRunes(s, maxSummary)
}

// groupSeverity maps the group's severity label: the four Tocsin names as
// they are, "page" as critical, anything else as warning. Without a common
// severity the most severe label among the alerts counts.
func groupSeverity(m amMessage) escalation.Severity {
	if s, ok := m.CommonLabels["severity"]; ok {
		return mapSeverityLabel(s)
	}
	worst, seen := escalation.SevInfo, false
	for _, a := range m.Alerts {
		if s, ok := a.Labels["severity"]; ok {
			if v := mapSeverityLabel(s); !seen || v < worst {
				worst, seen = v, true
			}
		}
	}
	if !seen {
		return escalation.SevWarning
	}
	return worst
}

func mapSeverityLabel(s string) escalation.Severity {
	if strings.EqualFold(s, "page") {
		return escalation.SevCritical
	}
	if v, err := escalation.ParseSeverity(s); err == nil {
		return v
	}
	return escalation.SevWarning
}

// groupSource names the monitored things: the instance label of the
// alerts (the common one, else the firing alerts' own, a few of them),
// else the common job. Alertmanager's own URL is not a source: it names
// the messenger, and the SMS shows the source in brackets.
func groupSource(m amMessage) string {
	if s := m.CommonLabels["instance"]; s != "" {
		return s
	}
	var labels []map[string]string
	for _, a := range m.Alerts {
		if a.Status == "firing" || m.Status == "resolved" {
			labels = append(labels, a.Labels)
		}
	}
	return firstNonEmpty(instances(labels), m.CommonLabels["job"])
}

// maxSources is how many instances a source lists before it counts the rest.
const maxSources = 3

// instances lists the distinct instance labels of alerts, in order:
// "plc-3, plc-4", or "plc-3, plc-4, plc-5 (+2)" for more.
func instances(alerts []map[string]string) string {
	var seen []string
	for _, l := range alerts {
		if in := l["instance"]; in != "" && !slices.Contains(seen, in) {
			seen = append(seen, in)
		}
	}
	if len(seen) > maxSources {
		return strings.Join(seen[:maxSources], ", ") + fmt.Sprintf(" (+%d)", len(seen)-maxSources)
	}
	return strings.Join(seen, ", ")
}

func groupDedupKey(groupKey string) string {
	if len(groupKey) <= maxDedupKey {
		return groupKey
	}
	sum := sha256.Sum256([]byte(groupKey))
	return "groupkey-sha256:" + hex.EncodeToString(sum[:])
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// decodeWebhookJSON decodes a JSON object, turning decoding failures into
// Invalid errors that name the field at fault.
func decodeWebhookJSON(body []byte, v any) error {
	if err := unmarshalObject(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return escalation.Invalidf(te.Field, "%s must be %s, not %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
		}
		return &escalation.Error{Kind: escalation.Invalid, Msg: "the body is not valid JSON", Err: err}
	}
	return nil
}

// handleAlertmanager serves POST /api/v1/webhooks/alertmanager/{service}.
func (s *Server) handleAlertmanager(w http.ResponseWriter, r *http.Request) {
	s.serveAlertGroup(w, r, "alertmanager", decodeAlertmanager)
}

// serveAlertGroup answers an alert-group webhook. Senders such as
// Alertmanager retry only on 5xx, and statusOf answers 5xx only when a
// retry can help (the commit failed); a bad payload or an unknown service
// gets a 4xx and is not sent again.
func (s *Server) serveAlertGroup(w http.ResponseWriter, r *http.Request, intake string,
	decode func([]byte, string) (escalation.Event, error)) {
	body, err := readJSON(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	ev, err := decode(body, r.PathValue("service"))
	if err != nil {
		s.log.Warn(intake+" notification rejected", "service", r.PathValue("service"), "err", err)
		writeError(w, err)
		return
	}
	res, err := s.ingest.Ingest(r.Context(), ev)
	if err != nil {
		if statusOf(err) >= 500 {
			s.log.Error(intake+" notification not committed", "service", ev.Service, "err", err)
		} else {
			s.log.Warn(intake+" notification rejected", "service", ev.Service, "err", err)
		}
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, res)
}
