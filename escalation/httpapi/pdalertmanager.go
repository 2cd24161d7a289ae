package httpapi

// Alertmanager's pagerduty_configs with its defaults sends events that,
// read literally, make poor incidents: every alert is severity "error",
// the summary is Alertmanager's subject line ("[FIRING:2]
// HydraulicPressureLow (page)"), and the source is "Alertmanager". What
// the alerts really say is in custom_details, as text: each firing
// alert's labels and annotations. For such events Tocsin takes severity,
// summary, source and the count of firing alerts from there, the same way
// the webhook intake reads them from JSON, so that the two integrations
// page alike. Fields the sender set itself (the snippet in
// docs/integrations.md) are kept.

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/tocsin-relay/tocsin/escalation"
)

// amClient is the client name Alertmanager's PagerDuty integration sends
// by default (and its default source).
const amClient = "Alertmanager"

// amSubject matches the start of Alertmanager's default description,
// template "__subject": "[FIRING:2] ".
var amSubject = regexp.MustCompile(`^\[FIRING:(\d+)\] `)

// amCustomDetails is Alertmanager's default PagerDuty details object.
type amCustomDetails struct {
	Firing    *string `json:"firing"`
	NumFiring string  `json:"num_firing"`
}

// amTextAlert is one alert of Alertmanager's "__text_alert_list" template.
type amTextAlert struct {
	Labels, Annotations map[string]string
}

// parseAlertmanagerText reads Alertmanager's text alert list:
//
//	Labels:
//	 - alertname = HydraulicPressureLow
//	 - instance = plc-3
//	Annotations:
//	 - summary = Hydraulic pressure low
//	Source: http://prometheus/graph?...
//
// repeated once per alert. Lines it does not know are ignored: the text
// is made for people, and a template change must not lose the alert.
func parseAlertmanagerText(s string) []amTextAlert {
	var (
		alerts  []amTextAlert
		section map[string]string
	)
	for _, line := range strings.Split(s, "\n") {
		switch {
		case line == "Labels:":
			alerts = append(alerts, amTextAlert{Labels: map[string]string{}, Annotations: map[string]string{}})
			section = alerts[len(alerts)-1].Labels
		case line == "Annotations:" && len(alerts) > 0:
			section = alerts[len(alerts)-1].Annotations
		case strings.HasPrefix(line, " - ") && section != nil:
			if k, v, ok := strings.Cut(line[3:], " = "); ok {
				section[k] = v
			}
		default:
			section = nil
		}
	}
	return alerts
}

// fromAlertmanagerDefaults rewrites, in place, the fields of a trigger
// that Alertmanager's PagerDuty defaults left uninformative. An event
// from anything else is left alone.
func fromAlertmanagerDefaults(ev *escalation.Event, client string, p *pdPayload) {
	if client != amClient || p == nil || len(p.CustomDetails) == 0 {
		return
	}
	var cd amCustomDetails
	if err := json.Unmarshal(p.CustomDetails, &cd); err != nil || cd.Firing == nil {
		return
	}
	alerts := parseAlertmanagerText(*cd.Firing)
	n, err := strconv.Atoi(cd.NumFiring)
	if err != nil || n < 1 {
		n = max(1, len(alerts))
	}
	ev.Alerts = n

	labels := make([]map[string]string, len(alerts))
	for i, a := range alerts {
		labels[i] = a.Labels
	}
	if p.Severity == "error" { // the default; an alert's own label says more
		worst, seen := escalation.SevInfo, false
		for _, l := range labels {
			if s, ok := l["severity"]; ok {
				if v := mapSeverityLabel(s); !seen || v < worst {
					worst, seen = v, true
				}
			}
		}
		if seen {
			ev.Severity = worst
		}
	}
	if p.Source == amClient {
		if s := firstNonEmpty(instances(labels), common(labels, "job")); s != "" {
			ev.Source = s
		}
	}
	if amSubject.MatchString(p.Summary) {
		s := firstNonEmpty(commonAnnotation(alerts, "summary"), common(labels, "alertname"), amSubject.ReplaceAllString(p.Summary, ""))
		if n > 1 {
			s = fmt.Sprintf("%s (%d alerts)", s, n)
		}
		ev.Summary = truncateRunes(s, pdMaxSummary)
	}
}

// common returns the value of label key when every alert has the same
// one, else "".
func common(labels []map[string]string, key string) string {
	var v string
	for i, l := range labels {
		if i == 0 {
			v = l[key]
		} else if l[key] != v {
			return ""
		}
	}
	return v
}

func commonAnnotation(alerts []amTextAlert, key string) string {
	ann := make([]map[string]string, len(alerts))
	for i, a := range alerts {
		ann[i] = a.Annotations
	}
	return common(ann, key)
}
