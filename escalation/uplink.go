package escalation

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// ProbeFunc checks that something outside the relay answers (a URL, a
// host on the LAN or WAN). It returns nil when it does.
type ProbeFunc func(ctx context.Context) error

// IncidentLister lists incidents; the Engine is one.
type IncidentLister interface {
	Incidents(ctx context.Context, f IncidentFilter) ([]Incident, error)
}

// UplinkCheck pages when the way out is gone: Tries failed probes in a
// row open an incident "internet/monitoring unreachable" on Service, and
// the first successful probe after that resolves it. This is the first
// reason people want a local SMS path: when the internet or the
// monitoring server is down, nothing else can tell them.
//
// Run owns all mutable state; nothing else touches it.
type UplinkCheck struct {
	Target   string        // what is probed, for the summary ("https://monitoring.lan/-/healthy")
	Service  string        // the service paged
	Interval time.Duration // between probes
	Tries    int           // failed probes in a row before paging (at least 1)
	Timeout  time.Duration // for one probe; default min(Interval, 10s)
	Probe    ProbeFunc
	Ingest   Ingester
	Lister   IncidentLister // finds a page left open by a previous run
	Log      *slog.Logger
}

// UplinkDedupKey is the dedup key of the incident of target.
func UplinkDedupKey(target string) string { return "uplink/" + target }

// Run probes every Interval until ctx ends.
func (u *UplinkCheck) Run(ctx context.Context) error {
	log := u.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if u.Interval <= 0 || u.Probe == nil || u.Ingest == nil {
		return fmt.Errorf("uplink check of %s: interval, probe and ingest are required", u.Target)
	}
	tries := max(u.Tries, 1)
	timeout := u.Timeout
	if timeout <= 0 {
		timeout = min(u.Interval, 10*time.Second)
	}
	key := UplinkDedupKey(u.Target)
	paging := u.openBefore(ctx, key, log)
	failures := 0
	var firstFail time.Time
	tick := time.NewTicker(u.Interval)
	defer tick.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := u.Probe(pctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		now := time.Now()
		switch {
		case err == nil && paging:
			if _, ierr := u.Ingest.Ingest(ctx, Event{Service: u.Service, Action: Resolve, DedupKey: key,
				Summary: u.Target + " reachable again", Source: "uplink", Severity: SevInfo, Intake: "uplink"}); ierr != nil {
				log.Error("resolve uplink incident", "target", u.Target, "err", ierr)
				break // try again at the next success
			}
			log.Info("uplink back", "target", u.Target, "down_for", now.Sub(firstFail).Round(time.Second).String())
			paging, failures = false, 0
		case err == nil:
			failures = 0
		default:
			if failures == 0 {
				firstFail = now
			}
			failures++
			log.Warn("uplink probe failed", "target", u.Target, "failures", failures, "err", err)
			if failures >= tries && !paging {
				summary := fmt.Sprintf("Internet/monitoring unreachable: %s failed %d checks since %s: %v",
					u.Target, failures, firstFail.UTC().Format("15:04:05Z"), err)
				if _, ierr := u.Ingest.Ingest(ctx, Event{Service: u.Service, Action: Trigger, DedupKey: key,
					Summary: truncateRunes(summary, MaxSummary), Source: "uplink", Severity: SevCritical, Intake: "uplink"}); ierr != nil {
					log.Error("open uplink incident", "target", u.Target, "err", ierr)
					break // try again after the next failed probe
				}
				paging = true
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// openBefore reports whether a previous run left the incident open, so
// that the first successful probe resolves it.
func (u *UplinkCheck) openBefore(ctx context.Context, key string, log *slog.Logger) bool {
	if u.Lister == nil {
		return false
	}
	incs, err := u.Lister.Incidents(ctx, IncidentFilter{Open: true, Service: u.Service, Limit: 1000})
	if err != nil {
		log.Error("look for an open uplink incident", "err", err)
		return false
	}
	for _, inc := range incs {
		if inc.DedupKey == key {
			return true
		}
	}
	return false
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
