// Package promexport serves Tocsin's Prometheus metrics (GET /metrics).
//
// Counts of incidents, alerts and notifications are not kept in memory:
// the collector asks the store at scrape time, so the figures survive a
// restart and always agree with what the API lists. Only ingest latency,
// which nothing stores, is a live histogram observed by the HTTP API.
package promexport

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tocsin-relay/tocsin/escalation"
)

// Store reads the counts the metrics are made of.
type Store interface {
	Stats(ctx context.Context, ackBuckets []time.Duration) (escalation.Stats, error)
}

// HeartbeatStore is optional: a Store that also keeps heartbeat states
// gets their last beats exported too.
type HeartbeatStore interface {
	HeartbeatStates(ctx context.Context) ([]escalation.HeartbeatState, error)
}

// ModemStatus is what the exporter shows of the modem.
type ModemStatus struct {
	Up           bool
	SignalDBm    int    // 0: unknown
	Registration string // "home", "roaming", "searching", "denied", "not registered"; "" unknown
}

// ModemFunc returns the modem's current status; it must not block on the
// modem (return the last known values).
type ModemFunc func() ModemStatus

// AckBuckets are the upper bounds of the time-to-acknowledge histogram:
// from a reply within seconds to a page nobody answers for hours.
var AckBuckets = []time.Duration{
	15 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute,
	10 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour,
}

// ScrapeTimeout bounds the store queries of one scrape.
const ScrapeTimeout = 10 * time.Second

// Registration states exported as tocsin_modem_registration{state}.
var registrationStates = []string{"home", "roaming", "searching", "denied", "not registered"}

var (
	descIncidents     = prometheus.NewDesc("tocsin_incidents", "Incidents by service and status.", []string{"service", "status"}, nil)
	descAlerts        = prometheus.NewDesc("tocsin_alerts_received_total", "Events received, by intake (http, mqtt, pagerduty, alertmanager, grafana, heartbeat, drill, ...) and service.", []string{"intake", "service"}, nil)
	descNotifications = prometheus.NewDesc("tocsin_notifications_total", "Pages and messages by channel (sms, voice, email, push, webhook) and outcome (queued, sending, sent, delivered, failed).", []string{"channel", "status"}, nil)
	descOutboxDepth   = prometheus.NewDesc("tocsin_outbox_depth", "Messages waiting to be sent (queued or sending).", nil, nil)
	descTimeToAck     = prometheus.NewDesc("tocsin_time_to_acknowledge_seconds", "Time from an incident's creation to its acknowledgement (drills excluded).", nil, nil)
	descModemUp       = prometheus.NewDesc("tocsin_modem_up", "1 while the modem answers.", nil, nil)
	descModemSignal   = prometheus.NewDesc("tocsin_modem_signal_dbm", "Received signal strength in dBm (absent when unknown).", nil, nil)
	descModemReg      = prometheus.NewDesc("tocsin_modem_registration", "Network registration: 1 for the current state.", []string{"state"}, nil)
	descBeat          = prometheus.NewDesc("tocsin_heartbeat_last_beat_timestamp_seconds", "When each heartbeat last beat (Unix time; absent until its first beat).", []string{"heartbeat"}, nil)
	descBeatMissed    = prometheus.NewDesc("tocsin_heartbeat_missed", "1 while a heartbeat's miss is paging.", []string{"heartbeat"}, nil)
)

// Exporter is the /metrics handler and the ingest-latency histogram.
type Exporter struct {
	store  Store
	modem  ModemFunc
	log    *slog.Logger
	ingest *prometheus.HistogramVec
	reg    *prometheus.Registry
	h      http.Handler
}

// New returns an exporter reading store and modem (nil: no modem metrics),
// with the Go runtime and process collectors registered too.
func New(store Store, modem ModemFunc, log *slog.Logger) *Exporter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	x := &Exporter{store: store, modem: modem, log: log, reg: prometheus.NewRegistry()}
	x.ingest = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tocsin_ingest_duration_seconds",
		Help:    "Time to validate and commit one event in SQLite (the sender's answer waits for it), by intake.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"intake"})
	x.reg.MustRegister(x.ingest, storeCollector{x},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	x.h = promhttp.HandlerFor(x.reg, promhttp.HandlerOpts{
		// A failing store still lets the Go, process and ingest metrics
		// through; the error is logged and the store metrics are absent.
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slogPrinter{log},
	})
	return x
}

// ServeHTTP serves the metrics in the Prometheus text format.
func (x *Exporter) ServeHTTP(w http.ResponseWriter, r *http.Request) { x.h.ServeHTTP(w, r) }

// ObserveIngest records how long one event of intake took to commit.
func (x *Exporter) ObserveIngest(intake string, d time.Duration) {
	x.ingest.WithLabelValues(intake).Observe(d.Seconds())
}

// Registry is the exporter's registry (for tests and extra collectors).
func (x *Exporter) Registry() *prometheus.Registry { return x.reg }

// storeCollector answers from the store at scrape time.
type storeCollector struct{ x *Exporter }

func (c storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descIncidents, descAlerts, descNotifications, descOutboxDepth,
		descTimeToAck, descModemUp, descModemSignal, descModemReg, descBeat, descBeatMissed} {
		ch <- d
	}
}

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	if m := c.x.modem; m != nil {
		st := m()
		ch <- prometheus.MustNewConstMetric(descModemUp, prometheus.GaugeValue, boolFloat(st.Up))
		if st.Up && st.SignalDBm != 0 {
			ch <- prometheus.MustNewConstMetric(descModemSignal, prometheus.GaugeValue, float64(st.SignalDBm))
		}
		for _, s := range registrationStates {
			ch <- prometheus.MustNewConstMetric(descModemReg, prometheus.GaugeValue, boolFloat(st.Up && st.Registration == s), s)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), ScrapeTimeout)
	defer cancel()
	s, err := c.x.store.Stats(ctx, AckBuckets)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descIncidents, err)
		return
	}
	for _, i := range s.Incidents {
		ch <- prometheus.MustNewConstMetric(descIncidents, prometheus.GaugeValue, float64(i.N), i.Service, string(i.Status))
	}
	for _, a := range s.Alerts {
		ch <- prometheus.MustNewConstMetric(descAlerts, prometheus.CounterValue, float64(a.N), a.Intake, a.Service)
	}
	for _, n := range s.Notifications {
		ch <- prometheus.MustNewConstMetric(descNotifications, prometheus.CounterValue, float64(n.N), string(n.Channel), string(n.Status))
	}
	ch <- prometheus.MustNewConstMetric(descOutboxDepth, prometheus.GaugeValue, float64(s.OutboxDepth))
	buckets := make(map[float64]uint64, len(s.TimeToAck.Buckets))
	for _, b := range s.TimeToAck.Buckets {
		buckets[b.UpperBound.Seconds()] = b.Count
	}
	ch <- prometheus.MustNewConstHistogram(descTimeToAck, s.TimeToAck.Count, s.TimeToAck.Sum.Seconds(), buckets)
	if hs, ok := c.x.store.(HeartbeatStore); ok {
		states, err := hs.HeartbeatStates(ctx)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(descBeat, err)
			return
		}
		for _, st := range states {
			if !st.LastBeat.IsZero() {
				ch <- prometheus.MustNewConstMetric(descBeat, prometheus.GaugeValue, float64(st.LastBeat.UnixMilli())/1000, st.ID)
			}
			ch <- prometheus.MustNewConstMetric(descBeatMissed, prometheus.GaugeValue, boolFloat(!st.MissedAt.IsZero()), st.ID)
		}
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// slogPrinter lets promhttp report collection errors through slog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Warn("metrics", "err", v) }
