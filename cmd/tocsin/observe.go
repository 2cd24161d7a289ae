package main

import (
	"context"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/promexport"
	"github.com/tocsin-relay/tocsin/escalation/status"
)

// observability holds the parts that watch the relay and what feeds it:
// the metrics exporter, the heartbeat monitor and the optional uplink
// check. serve starts them through startObservability.
type observability struct {
	metrics    *promexport.Exporter
	heartbeats *escalation.Heartbeats
}

// startObservability builds the exporter and starts the heartbeat monitor
// (and the uplink check when configured) under run, which owns their
// goroutines and stops them with the daemon.
func (d *daemon) startObservability(run func(name string, fn func(ctx context.Context))) {
	d.obs.metrics = promexport.New(d.db, d.modemMetrics, d.log.With("part", "metrics"))
	d.obs.heartbeats = escalation.NewHeartbeats(d.engine, d.engine.Policy, d.db, d.log.With("part", "heartbeat"))
	run("heartbeats", func(ctx context.Context) {
		if err := d.obs.heartbeats.Run(ctx); err != nil {
			d.log.Error("heartbeat monitor stopped", "err", err)
		}
	})
	d.startUplink(run)
}

func (d *daemon) modemMetrics() promexport.ModemStatus {
	s := status.ModemPart(d.modem.sup, d.cfg.Modem.Device, d.modem.sim != nil)
	return promexport.ModemStatus{Up: s.Up, SignalDBm: s.SignalDBM, Registration: s.Registration}
}

func (d *daemon) observeIngest(intake string, dur time.Duration) {
	d.obs.metrics.ObserveIngest(intake, dur)
}

// heartbeat records a beat from the API or an MQTT heartbeat topic.
func (d *daemon) heartbeat(ctx context.Context, id string) error {
	return d.obs.heartbeats.Beat(ctx, id)
}

// drill answers POST /api/v1/drill: a test page through the real path.
func (d *daemon) drill(ctx context.Context, service, by string) (any, error) {
	res, err := d.engine.Drill(ctx, service, by)
	if err != nil {
		return nil, err
	}
	inc, err := d.engine.Incident(ctx, res.IncidentID)
	if err != nil {
		return nil, err
	}
	d.log.Info("drill started", "incident", inc.ID, "service", inc.Service, "by", by)
	return inc, nil
}
