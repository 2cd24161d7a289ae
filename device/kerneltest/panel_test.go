package kerneltest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/device"
	"github.com/tocsin-relay/tocsin/device/periph"
	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/panel"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

// TestIncidentToSirenToButton runs the whole shop-floor path on real GPIO
// lines: an incident committed to SQLite raises the siren line through the
// engine and the panel; pulling the button line acknowledges it.
func TestIncidentToSirenToButton(t *testing.T) {
	inGuest(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tocsin.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	eng := escalation.NewEngine(db, &escalation.Policy{
		Contacts: []escalation.Contact{{ID: "tanaka", Phone: "+819012345678"}},
		Services: []escalation.Service{{ID: "press-line-1", EscalationPolicy: "line1"}},
		EscalationPolicies: []escalation.EscalationPolicy{{ID: "line1", Levels: []escalation.Level{
			{Notify: []escalation.Target{{Zone: "line1"}, {Contact: "tanaka"}}},
		}}},
	}, nil)
	b, err := periph.Open()
	if err != nil {
		t.Fatal(err)
	}
	dev, err := device.Open(b, config(), device.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pnl := panel.New(eng, dev, nil)
	defer eng.Subscribe(func(escalation.Incident) { pnl.Changed() })()
	engDone, pnlDone := make(chan struct{}), make(chan struct{})
	go func() { eng.Run(ctx); close(engDone) }()
	go func() { pnl.Run(ctx); close(pnlDone) }()

	res, err := eng.Ingest(ctx, escalation.Event{Service: "press-line-1", Summary: "Hydraulic pressure low",
		Severity: escalation.SevCritical, Action: escalation.Trigger, Intake: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "siren line high after the incident", func() bool { return value("GPIO17") == "1" })

	pull(t, "GPIO22", "pull-down")
	time.Sleep(150 * time.Millisecond) // the finger holds the button
	pull(t, "GPIO22", "pull-up")
	eventually(t, "incident acknowledged by the button", func() bool {
		inc, err := eng.Incident(ctx, res.IncidentID)
		return err == nil && inc.Status == escalation.Acknowledged && inc.AcknowledgedBy == "ack-1"
	})
	eventually(t, "siren line low after the ack", func() bool { return value("GPIO17") == "0" })
	eventually(t, "light line steady high after the ack", func() bool { return value("GPIO27") == "1" })

	cancel()
	<-pnlDone
	<-engDone
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
	if value("GPIO17") != "0" || value("GPIO27") != "0" || value("GPIO5") != "1" {
		t.Fatalf("after shutdown: siren %s light %s relay(active-low) %s, want 0 0 1",
			value("GPIO17"), value("GPIO27"), value("GPIO5"))
	}
}
