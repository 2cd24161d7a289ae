package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkModemBackToFirstSMS measures, after a modem outage, the time
// from "modem up again" (the daemon's "modem ready" log line, written when
// the supervisor publishes Up) to the first queued SMS on the wire (the
// AT+CMGS the simulator sees). Each round unplugs the modem for 2 s, posts
// an alert during the outage and waits for its page. Aim: at most 1 s —
// the delivery worker is woken by the supervisor, not by a poll.
func BenchmarkModemBackToFirstSMS(b *testing.B) {
	e := newE2E(b, testPolicy("1h"))
	e.start()
	const rounds = 5
	var (
		mu   sync.Mutex
		cmgs time.Time
	)
	e.sim.OnCommand(func(line string, at time.Time) {
		if strings.HasPrefix(line, "AT+CMGS=") {
			mu.Lock()
			if cmgs.IsZero() {
				cmgs = at
			}
			mu.Unlock()
		}
	})
	var lat []time.Duration
	b.ResetTimer()
	for range b.N {
		for r := range rounds {
			from := e.logLen()
			if err := e.sim.UnplugFor(b.Context(), 2*time.Second); err != nil {
				b.Fatal(err)
			}
			e.waitLog(from, "modem down; recovering")
			mu.Lock()
			cmgs = time.Time{}
			mu.Unlock()
			e.alert(map[string]any{"service": "press-line-1", "summary": fmt.Sprintf("outage round %d", r), "severity": "error"})
			ready := e.waitLog(from, "modem ready")
			readyAt := logTime(b, e.logText()[:ready])
			if got := e.nextSMS(); !strings.Contains(got.Text, fmt.Sprintf("outage round %d", r)) {
				b.Fatalf("round %d: SMS %+v", r, got)
			}
			mu.Lock()
			lat = append(lat, cmgs.Sub(readyAt))
			mu.Unlock()
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	median, worst := lat[len(lat)/2], lat[len(lat)-1]
	b.ReportMetric(float64(median.Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(worst.Microseconds())/1000, "ms-max")
	b.ReportMetric(0, "ns/op")
	fmt.Fprintf(os.Stderr, "modem up again -> first queued SMS on the wire, %d outages of 2 s: median %s, max %s (log time has 1 ms resolution)\n",
		len(lat), median.Round(time.Millisecond), worst.Round(time.Millisecond))
}
