package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/modem/modemsim"
)

// An SMS page the network reports delivered: the timeline says when the
// handset got it, and the page's state is "delivered", beyond "sent".
func TestDeliveryReportDeliveredDaemon(t *testing.T) {
	e := newE2E(t, testPolicy("10m"))
	e.sim.SetReports(modemsim.ReportDelivered, 300*time.Millisecond)
	e.start()
	from := e.logLen()
	res := e.alert(map[string]any{"service": "press-line-1", "summary": "Hydraulic pressure low", "severity": "critical"})
	if page := e.nextSMS(); page.To != "+819012345678" {
		t.Fatalf("page to %s", page.To)
	}
	e.waitLog(from, "delivery report")
	inc := e.incident(res.IncidentID)
	if !timelineHas(inc, escalation.KindDelivered, "SMS to tanaka delivered to the handset at ") {
		t.Errorf("timeline lacks the delivery: %+v", inc.Timeline)
	}
	if len(inc.Notifications) != 1 || inc.Notifications[0].Status != escalation.Delivered || inc.Notifications[0].DeliveredAt == nil {
		t.Errorf("notifications = %+v, want one delivered page", inc.Notifications)
	}
	var st struct {
		Modem struct {
			Reports string `json:"delivery_reports"`
		} `json:"modem"`
	}
	if code := e.api("GET", "/api/v1/status", nil, &st); code != http.StatusOK || st.Modem.Reports != "direct (+CDS)" {
		t.Errorf("status = %d, delivery_reports %q; want direct (+CDS)", code, st.Modem.Reports)
	}
	if got := value(e.scrape(), "tocsin_notifications_total", "channel=sms", "status=delivered"); got != 1 {
		t.Errorf("tocsin_notifications_total{channel=sms,status=delivered} = %v, want 1", got)
	}
	cmd := exec.Command(tocsinBin, "show", fmt.Sprint(res.IncidentID))
	cmd.Env = append(os.Environ(), "TOCSIN_SERVER=http://"+e.addr, "TOCSIN_TOKEN="+e.token)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "sms    tanaka     level 1  delivered") {
		t.Errorf("tocsin show (%v) does not say the page was delivered:\n%s", err, out)
	}
}

// A page the network reports undeliverable is a failed page: the incident
// moves to its next level at once instead of waiting ten minutes.
func TestDeliveryReportFailedMovesOn(t *testing.T) {
	e := newE2E(t, testPolicy("10m"))
	e.sim.SetReports(modemsim.ReportFailed, 300*time.Millisecond)
	e.start()
	res := e.alert(map[string]any{"service": "press-line-1", "summary": "Hydraulic pressure low", "severity": "critical"})
	if page := e.nextSMS(); page.To != "+819012345678" {
		t.Fatalf("page to %s", page.To)
	}
	if boss := e.nextSMS(); boss.To != "+819011112222" || !strings.Contains(boss.Text, "#1") {
		t.Fatalf("next SMS = %+v, want level 2 to the boss at once", boss)
	}
	inc := e.incident(res.IncidentID)
	if !timelineHas(inc, escalation.KindFailed, "SMS to tanaka not delivered: incompatible destination") {
		t.Errorf("timeline lacks the failed report: %+v", inc.Timeline)
	}
	if inc.Level != 2 {
		t.Errorf("level %d, want 2", inc.Level)
	}
}
