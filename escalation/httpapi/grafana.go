package httpapi

// Grafana Alerting webhook intake. Grafana's webhook contact point sends
// the Alertmanager shape (groupKey, status, alerts, commonLabels, ...)
// plus a rendered title and message, version "1". The legacy (pre-8)
// dashboard-alert webhook has no groupKey and is rejected with a clear
// message rather than guessed at.

import (
	"net/http"

	"github.com/tocsin-relay/tocsin/escalation"
)

// decodeGrafana turns a Grafana Alerting notification into one event for
// service, one incident per alert group.
func decodeGrafana(body []byte, service string) (escalation.Event, error) {
	var m amMessage
	if err := decodeWebhookJSON(body, &m); err != nil {
		return escalation.Event{}, err
	}
	if m.GroupKey == "" && m.State != "" {
		return escalation.Event{}, escalation.Invalidf("groupKey",
			"this is a legacy Grafana dashboard alert (state %q, no groupKey): use a Grafana Alerting webhook contact point", m.State)
	}
	return alertGroupEvent(m, service, "grafana")
}

// handleGrafana serves POST /api/v1/webhooks/grafana/{service}.
func (s *Server) handleGrafana(w http.ResponseWriter, r *http.Request) {
	s.serveAlertGroup(w, r, "grafana", decodeGrafana)
}
