package main

import (
	"context"
	"fmt"
	"github.com/tocsin-relay/tocsin/internal/needs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

// stormPolicy: five services, each paging its own person at once.
func stormPolicy() string {
	var b strings.Builder
	b.WriteString("contacts:\n")
	for i := range 5 {
		fmt.Fprintf(&b, "  - {id: op%d, phone: \"+8190000000%02d\"}\n", i, i)
	}
	b.WriteString("services:\n")
	for i := range 5 {
		fmt.Fprintf(&b, "  - {id: svc%d, escalation_policy: ep%d}\n", i, i)
	}
	b.WriteString("escalation_policies:\n")
	for i := range 5 {
		fmt.Fprintf(&b, "  - id: ep%d\n    levels:\n      - after: 0s\n        notify: [{contact: op%d}]\n      - after: 30m\n        notify: [{contact: op%d}]\n", i, i, i)
	}
	b.WriteString("settings: {default_region: JP}\n")
	return b.String()
}

// stormPerMinute is the per-person SMS limit the storm runs with (the
// default). The bound on SMS in the first minute of a storm is
// stormPerMinute per person paged.
const stormPerMinute = 3

type stormResult struct {
	alerts        int
	firstPage     time.Duration // first POST sent → first complete SMS on the wire
	smsFirstMin   int           // SMS on the wire once every person had a page
	incidents     int
	alertsStored  int
	pagesQueued   int // page rows for the 100 incidents, sent or waiting
	peakRSSkB     int
	ingestElapsed time.Duration
}

// runStorm sends 10,000 alerts in 10 s across 100 dedup keys and 5
// services through the daemon and the modem simulator.
func runStorm(tb testing.TB) stormResult {
	e := newE2EWith(tb, stormPolicy(), "")
	e.start()
	const (
		total    = 10000
		keys     = 100
		duration = 10 * time.Second
		workers  = 16
	)
	jobs := make(chan int, total)
	var (
		wg       sync.WaitGroup
		failed   atomic.Int64
		firstOut = make(chan time.Time, 1)
	)
	tr := &http.Transport{MaxIdleConnsPerHost: workers}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				k := i % keys
				sev := []string{"critical", "error", "warning", "info"}[k%4]
				body := fmt.Sprintf(`{"service":"svc%d","summary":"machine %d fault","severity":"%s","dedup_key":"m%d"}`, k%5, k, sev, k)
				req, _ := http.NewRequest("POST", "http://"+e.addr+"/api/v1/alerts", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+e.token)
				req.Header.Set("Content-Type", "application/json")
				if i == 0 {
					firstOut <- time.Now()
				}
				resp, err := client.Do(req)
				if err != nil || resp.StatusCode != http.StatusAccepted {
					failed.Add(1)
				}
				if resp != nil {
					resp.Body.Close()
				}
			}
		}()
	}
	// Pace the storm: 10 alerts every 10 ms for 10 s.
	start := time.Now()
	tick := time.NewTicker(duration / (total / 10))
	for i := 0; i < total; i += 10 {
		for j := i; j < i+10; j++ {
			jobs <- j
		}
		<-tick.C
	}
	tick.Stop()
	close(jobs)
	first := e.nextSMS()
	t0 := <-firstOut
	wg.Wait()
	res := stormResult{alerts: total, ingestElapsed: time.Since(start), firstPage: first.At.Sub(t0)}
	if f := failed.Load(); f > 0 {
		tb.Fatalf("%d alerts were not accepted", f)
	}
	// Wait until every person has had a page (the first page or a digest).
	paged := map[string]bool{first.To: true}
	res.smsFirstMin = 1
	for len(paged) < 5 {
		s := e.nextSMS()
		paged[s.To] = true
		res.smsFirstMin++
	}
	res.smsFirstMin = len(e.sim.History())
	res.peakRSSkB = vmHWM(tb, e.cmd.Process.Pid)

	// Every alert and every incident is in the database, and every incident
	// has its page, sent or waiting for its person's next digest.
	db, err := sqlite.Open(context.Background(), filepath.Join(e.dir, "state", "tocsin.db"))
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	incs, err := db.Incidents(context.Background(), escalation.IncidentFilter{Limit: 100000})
	if err != nil {
		tb.Fatal(err)
	}
	res.incidents = len(incs)
	for _, inc := range incs {
		res.alertsStored += inc.AlertCount
	}
	out, err := db.Outbox(context.Background(), sqlite.OutboxFilter{Limit: 100000})
	if err != nil {
		tb.Fatal(err)
	}
	for _, n := range out {
		if n.Level > 0 && n.Status != escalation.Failed {
			res.pagesQueued++
		}
	}
	return res
}

// A storm through the real daemon: nothing lost, the first page fast, and
// the SMS count bounded by the digest rules instead of one per incident.
func TestAlertStorm(t *testing.T) {
	needs.Long(t, "storm takes 10 s")
	r := runStorm(t)
	if r.alertsStored != r.alerts {
		t.Errorf("%d alerts recorded, want %d", r.alertsStored, r.alerts)
	}
	if r.incidents != 100 {
		t.Errorf("%d incidents, want 100", r.incidents)
	}
	if r.firstPage > time.Second {
		t.Errorf("first SMS on the wire %s after the first alert, want within 1s", r.firstPage)
	}
	// Bound: in the first minute each of the 5 people gets at most
	// stormPerMinute SMS (the first page, then digests), so at most 15 SMS
	// carry the 100 pages — not 100.
	if bound := 5 * stormPerMinute; r.smsFirstMin > bound {
		t.Errorf("%d SMS in the first minute, want at most %d", r.smsFirstMin, bound)
	}
	if r.pagesQueued != 100 {
		t.Errorf("%d pages sent or waiting, want 100 (one per incident)", r.pagesQueued)
	}
	t.Logf("storm: first page after %s, %d SMS for 100 incidents, peak RSS %.1f MB",
		r.firstPage, r.smsFirstMin, float64(r.peakRSSkB)/1024)
}

// BenchmarkStorm prints the storm's figures.
func BenchmarkStorm(b *testing.B) {
	for range b.N {
		r := runStorm(b)
		b.ReportMetric(float64(r.firstPage.Microseconds())/1000, "first-page-ms")
		b.ReportMetric(float64(r.smsFirstMin), "SMS")
		b.ReportMetric(float64(r.peakRSSkB)/1024, "peak-RSS-MB")
		b.ReportMetric(0, "ns/op")
		fmt.Fprintf(os.Stderr, "storm: 10000 alerts/10s, 100 keys, 5 services: first page %s, %d SMS (bound %d), %d incidents, %d alerts stored, peak RSS %.1f MB\n",
			r.firstPage.Round(time.Millisecond), r.smsFirstMin, 5*stormPerMinute, r.incidents, r.alertsStored, float64(r.peakRSSkB)/1024)
	}
}

// vmHWM reads a process's peak resident set size in KiB.
func vmHWM(tb testing.TB, pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int
			fmt.Sscan(rest, &kb)
			return kb
		}
	}
	return 0
}
