package phone

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/modem"
)

// ModemState is the modem supervisor as the health rule sees it.
// *modem.Supervisor implements it.
type ModemState interface {
	State() modem.State
	Changed() <-chan struct{}
}

// Ingester takes Tocsin's own alerts. *escalation.Engine implements it.
type Ingester interface {
	Ingest(ctx context.Context, ev escalation.Event) (escalation.IngestResult, error)
	// Policy gives the time zone the summary's time is written in.
	Policy() *escalation.Policy
}

// HealthService and HealthDedupKey name the incident a modem unusable for
// the supervisor's grace (5 minutes) opens. The "tocsin" service of the
// policy pages by whatever still works (sirens, MQTT).
const (
	HealthService  = "tocsin"
	HealthDedupKey = "modem-health"
)

// ModemHealth follows the modem supervisor's State: it logs each change an
// operator cares about (ready, lost, back) and runs the modem-health rule —
// a modem that has not been usable (no answer, no SIM, no registration) for
// the supervisor's grace opens an incident on the "tocsin" service; the
// incident is resolved when the modem is usable again. It owns its
// goroutine (Run) and no other state than what it last saw.
type ModemHealth struct {
	modem  ModemState
	ingest Ingester
	device string // for the incident's source and the log
	log    *slog.Logger

	// Owned by Run.
	open    bool // the health incident is (known to be) open
	healthy bool // a resolve has been sent since the modem was last OK
	up      bool
}

// NewModemHealth returns the rule for the modem m is; ingest may be nil
// (only logging).
func NewModemHealth(m ModemState, ingest Ingester, device string, log *slog.Logger) *ModemHealth {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &ModemHealth{modem: m, ingest: ingest, device: device, log: log}
}

// Run follows the State until ctx ends.
func (h *ModemHealth) Run(ctx context.Context) error {
	for {
		changed := h.modem.Changed()
		h.Observe(ctx, h.modem.State())
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
	}
}

// Observe acts on one State (Run calls it at every change).
func (h *ModemHealth) Observe(ctx context.Context, st modem.State) {
	switch {
	case st.Up && !h.up:
		h.log.Info("modem ready", "device", h.device, "model", st.Info.Model, "signal_dbm", st.Info.SignalDBm,
			"registration", st.Info.Registration.String(), "operator", st.Info.Operator, "recovered_by", st.Rung.String())
	case !st.Up && h.up:
		h.log.Warn("modem down; recovering", "device", h.device, "reason", st.Reason)
	}
	h.up = st.Up
	ok := st.Up && st.OK && !st.Down
	ev := escalation.Event{Service: HealthService, DedupKey: HealthDedupKey, Source: h.device, Intake: "self", Severity: escalation.SevCritical}
	switch {
	case st.Down && !h.open:
		ev.Action = escalation.Trigger
		loc := time.Local
		if h.ingest != nil {
			if l, err := escalation.LoadZone(h.ingest.Policy().Settings.TimeZone); err == nil && h.ingest.Policy().Settings.TimeZone != "" {
				loc = l
			}
		}
		ev.Summary = fmt.Sprintf("Modem unusable since %s: %s", st.Since.In(loc).Format("15:04 MST"), st.Reason)
	case ok && !h.healthy:
		ev.Action = escalation.Resolve // dropped when no incident is open
	default:
		return
	}
	wasOpen := h.open
	if st.Down {
		h.open, h.healthy = true, false
	} else {
		h.open, h.healthy = false, true
	}
	if h.ingest == nil {
		return
	}
	if _, err := h.ingest.Ingest(ctx, ev); err != nil {
		if escalation.KindOf(err) == escalation.Invalid {
			h.log.Warn("modem health incident: the policy has no \"tocsin\" service", "err", err)
			return
		}
		h.log.Error("modem health incident", "err", err)
		return
	}
	switch {
	case ev.Action == escalation.Trigger:
		h.log.Error("modem unusable; health incident opened", "reason", st.Reason, "since", st.Since.Format(time.RFC3339))
	case wasOpen:
		h.log.Info("modem healthy again; health incident resolved")
	}
}
