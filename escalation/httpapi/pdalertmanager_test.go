package httpapi

import (
	"encoding/json"
	"testing"

	"github.com/tocsin-relay/tocsin/escalation"
)

// amFiring is custom_details.firing as Alertmanager 0.25 sends it for two
// alerts (recorded from prometheus-alertmanager with its defaults).
const amFiring = "Labels:\n - alertname = HydraulicPressureLow\n - instance = plc-3\n - severity = page\nAnnotations:\n - summary = Hydraulic pressure low\nSource: \n" +
	"Labels:\n - alertname = HydraulicPressureLow\n - instance = plc-4\n - severity = warning\nAnnotations:\n - summary = Hydraulic pressure low\nSource: http://prometheus:9090/graph\n"

func TestParseAlertmanagerText(t *testing.T) {
	got := parseAlertmanagerText(amFiring)
	if len(got) != 2 || got[0].Labels["instance"] != "plc-3" || got[1].Labels["severity"] != "warning" ||
		got[1].Annotations["summary"] != "Hydraulic pressure low" || len(got[0].Labels) != 3 || len(got[0].Annotations) != 1 {
		t.Errorf("parsed %+v", got)
	}
}

func FuzzParseAlertmanagerText(f *testing.F) {
	f.Add(amFiring)
	f.Add("Labels:\n - a = b = c\nAnnotations:\n -  = \n")
	f.Add(" - orphan = line\nAnnotations:\n - x = y\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, a := range parseAlertmanagerText(s) {
			if a.Labels == nil || a.Annotations == nil {
				t.Fatalf("nil maps in %+v", a)
			}
		}
	})
}

// TestAlertmanagerPagerDutyDefaults: an event with Alertmanager's default
// fields takes its severity, summary, source and count from the alerts;
// fields the sender templated itself, and events from other clients, are
// left as sent.
func TestAlertmanagerPagerDutyDefaults(t *testing.T) {
	details, _ := json.Marshal(map[string]string{"firing": amFiring, "num_firing": "2", "num_resolved": "0", "resolved": ""})
	defaults := pdPayload{Summary: "[FIRING:2] HydraulicPressureLow", Source: "Alertmanager", Severity: "error", CustomDetails: details}
	tests := []struct {
		name    string
		client  string
		p       pdPayload
		summary string
		sev     escalation.Severity
		source  string
		alerts  int
	}{
		{"defaults", "Alertmanager", defaults, "Hydraulic pressure low (2 alerts)", escalation.SevCritical, "plc-3, plc-4", 2},
		{"templated by the sender", "Alertmanager",
			pdPayload{Summary: "Pressure!", Source: "press-1", Severity: "warning", CustomDetails: details},
			"Pressure!", escalation.SevWarning, "press-1", 2},
		{"another client", "Zabbix", defaults, "[FIRING:2] HydraulicPressureLow", escalation.SevError, "Alertmanager", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sev, _ := parsePDSeverity(tt.p.Severity)
			ev := escalation.Event{Summary: tt.p.Summary, Source: tt.p.Source, Severity: sev}
			fromAlertmanagerDefaults(&ev, tt.client, &tt.p)
			if ev.Summary != tt.summary || ev.Severity != tt.sev || ev.Source != tt.source || ev.Alerts != tt.alerts {
				t.Errorf("got %q %v %q %d, want %q %v %q %d", ev.Summary, ev.Severity, ev.Source, ev.Alerts, tt.summary, tt.sev, tt.source, tt.alerts)
			}
		})
	}
}

func TestGroupSource(t *testing.T) {
	firing := func(instance string) amAlert {
		return amAlert{Status: "firing", Labels: map[string]string{"instance": instance}}
	}
	tests := []struct {
		name string
		m    amMessage
		want string
	}{
		{"common instance", amMessage{CommonLabels: map[string]string{"instance": "plc-3", "job": "plc"}, Alerts: []amAlert{firing("plc-3")}}, "plc-3"},
		{"the firing alerts' instances", amMessage{Status: "firing", Alerts: []amAlert{firing("plc-3"), {Status: "resolved", Labels: map[string]string{"instance": "plc-9"}}, firing("plc-4"), firing("plc-3")}}, "plc-3, plc-4"},
		{"many", amMessage{Alerts: []amAlert{firing("a"), firing("b"), firing("c"), firing("d"), firing("e")}}, "a, b, c (+2)"},
		{"no instance: the job", amMessage{CommonLabels: map[string]string{"job": "plc"}, Alerts: []amAlert{{Status: "firing"}}}, "plc"},
		{"never Alertmanager's URL", amMessage{ExternalURL: "http://alertmanager:9093", Alerts: []amAlert{{Status: "firing"}}}, ""},
	}
	for _, tt := range tests {
		if got := groupSource(tt.m); got != tt.want {
			t.Errorf("%s: source %q, want %q", tt.name, got, tt.want)
		}
	}
}
