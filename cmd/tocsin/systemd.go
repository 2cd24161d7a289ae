package main

import (
	"context"
	"log/slog"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
)

// sdNotifyReady tells systemd (Type=notify) that the database is open and
// the engine runs. Outside systemd it does nothing.
func sdNotifyReady(log *slog.Logger) {
	if ok, err := sd.SdNotify(false, sd.SdNotifyReady); err != nil {
		log.Warn("sd_notify READY", "err", err)
	} else if ok {
		log.Info("told systemd we are ready")
	}
}

// sdNotifyStopping tells systemd the daemon is stopping (with or without a
// watchdog). Outside systemd it does nothing.
func sdNotifyStopping() { sd.SdNotify(false, sd.SdNotifyStopping) }

// sdWatchdog pings the systemd watchdog at half its interval, but only
// while the engine loop is alive: if the loop wedges, the pings stop and
// systemd restarts the daemon.
func sdWatchdog(ctx context.Context, lastTick func() time.Time, log *slog.Logger) {
	interval, err := sd.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		return
	}
	// The engine loop ticks at least every 15 s; allow for that plus slack.
	watchdogLoop(ctx, interval, max(interval, 30*time.Second), lastTick, log)
}

// watchdogLoop pings every interval/2 while lastTick is within stale of
// now, and says STOPPING=1 when ctx ends.
func watchdogLoop(ctx context.Context, interval, stale time.Duration, lastTick func() time.Time, log *slog.Logger) {
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	withheld := false
	for {
		select {
		case <-ctx.Done():
			sd.SdNotify(false, sd.SdNotifyStopping)
			return
		case <-t.C:
			if age := time.Since(lastTick()); age > stale {
				if !withheld {
					log.Error("engine loop stalled; withholding watchdog pings", "since", age.Round(time.Second))
				}
				withheld = true
				continue
			}
			if withheld {
				log.Warn("engine loop running again; watchdog pings resumed")
				withheld = false
			}
			sd.SdNotify(false, sd.SdNotifyWatchdog)
		}
	}
}
