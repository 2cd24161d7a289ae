package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation/status"
)

// BenchmarkHTTPIngest measures durable ingest through the real daemon:
// 16 concurrent clients post alerts with unique dedup keys, every alert a
// new incident that pages one person; each answer (202) comes only after
// the SQLite commit (WAL, synchronous=FULL). It runs the same load three
// times and prints the figures side by side: with the pacing a user gets
// (3 SMS per person per minute, so the pages pile up in the outbox), with
// the pacing lifted (sms_per_minute: 1000000, so the modem sends while
// alerts come in), and through Prometheus Alertmanager's POST
// /api/v2/alerts, which keeps alerts in memory only.
func BenchmarkHTTPIngest(b *testing.B) {
	const clients, total, rounds = 16, 20000, 4
	// Both daemons run side by side and take the load in alternating
	// rounds, so that what else the machine does weighs on both alike.
	paced := newE2EWith(b, testPolicy("1h"), "")
	lifted := newE2EWith(b, testPolicy("1h"), "  sms_per_minute: 1000000")
	paced.start()
	lifted.start()
	var took [2]time.Duration
	b.ResetTimer()
	for n := range b.N {
		for r := range rounds {
			for i, e := range []*e2e{paced, lifted} {
				d, failed := postAlerts(e.addr, e.token, "press-line-1", fmt.Sprintf("bench-%d-%d", n, r), "warning", total/rounds, clients)
				if failed > 0 {
					b.Fatalf("%d of %d alerts failed", failed, total/rounds)
				}
				took[i] += d
				if e == lifted {
					// The lifted daemon goes on sending what this round
					// queued; let it finish before the other's round.
					waitOutboxSettled(b, e)
				}
			}
		}
	}
	if os.Getenv("TOCSIN_CPUPROFILE") != "" {
		paced.cmd.Process.Signal(os.Interrupt)
		<-paced.exited
	}
	pacedRate := float64(total*b.N) / took[0].Seconds()
	liftedRate := float64(total*b.N) / took[1].Seconds()
	am, amErr := alertmanagerIngest(b, total*b.N, clients)
	b.StopTimer()
	b.ReportMetric(pacedRate, "alerts/s")
	b.ReportMetric(liftedRate, "lifted-alerts/s")
	b.ReportMetric(0, "ns/op")
	line := fmt.Sprintf("durable HTTP ingest, %d alerts, %d clients, unique keys, each a new incident paging one person: "+
		"default pacing %.0f alerts/s; pacing lifted %.0f alerts/s (default/lifted %.2f)", total*b.N, clients, pacedRate, liftedRate, pacedRate/liftedRate)
	if amErr != nil {
		line += fmt.Sprintf("; Alertmanager not measured: %v", amErr)
	} else {
		b.ReportMetric(am, "alertmanager-alerts/s")
		line += fmt.Sprintf("; Alertmanager in memory %.0f alerts/s (Tocsin default/Alertmanager %.2f)", am, pacedRate/am)
	}
	fmt.Fprintln(os.Stderr, line)
}

// BenchmarkHTTPIngestPanel is BenchmarkHTTPIngest's load (default
// pacing) on a shop-floor box: level 1 also sounds zone line1 (a siren and
// a light on the GPIO simulator), so every new incident changes what the
// alarm panel shows, and the panel reads every open alarm of the zone.
func BenchmarkHTTPIngestPanel(b *testing.B) {
	const clients, total = 16, 10000
	pol := strings.Replace(testPolicy("1h"), "          - {contact: tanaka, via: [sms]}\n",
		"          - {contact: tanaka, via: [sms]}\n          - {zone: line1}\n", 1)
	e := newE2EFull(b, pol, "", `gpio:
  backend: sim
  outputs:
    - {id: siren-1, pin: GPIO17, zone: line1, kind: siren}
    - {id: red-1,   pin: GPIO27, zone: line1, kind: light}`)
	e.start()
	var took time.Duration
	b.ResetTimer()
	for n := range b.N {
		d, failed := postAlerts(e.addr, e.token, "press-line-1", fmt.Sprintf("panel-%d", n), "warning", total, clients)
		if failed > 0 {
			b.Fatalf("%d of %d alerts failed", failed, total)
		}
		took += d
	}
	b.StopTimer()
	rate := float64(total*b.N) / took.Seconds()
	b.ReportMetric(rate, "alerts/s")
	b.ReportMetric(0, "ns/op")
	fmt.Fprintf(os.Stderr, "durable HTTP ingest into a siren zone (GPIO simulator), %d alerts, %d clients, default pacing: %.0f alerts/s\n",
		total*b.N, clients, rate)
}

// waitOutboxSettled polls the daemon's status until its outbox depth stops
// falling (sent, or waiting for a turn). A benchmark may poll; tests wait
// on events instead.
func waitOutboxSettled(b *testing.B, e *e2e) {
	prev := -1
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		var st status.Doc
		e.api("GET", "/api/v1/status", nil, &st)
		if st.Outbox.Depth == 0 || st.Outbox.Depth == prev {
			return
		}
		prev = st.Outbox.Depth
	}
	b.Fatalf("outbox of %s still draining after 2 minutes", e.addr)
}

// manyPeoplePolicy: n services, each paging its own person at once, so a
// benchmark can page with the default pacing without waiting for turns.
func manyPeoplePolicy(n int) string {
	var b strings.Builder
	b.WriteString("contacts:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {id: p%d, phone: \"+8190%08d\"}\n", i, i)
	}
	b.WriteString("services:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {id: s%d, escalation_policy: e%d}\n", i, i)
	}
	b.WriteString("escalation_policies:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - id: e%d\n    levels:\n      - after: 0s\n        notify: [{contact: p%d}]\n", i, i)
	}
	b.WriteString("settings: {default_region: JP}\n")
	return b.String()
}

// BenchmarkPageLatency measures, on the serial line, the time from a POST
// being answered to the first AT+CMGS of its page, one alert at a time
// with the modem idle. It runs with the default pacing: each probe pages
// one of 100 people in turn, so no one gets more than 3 SMS a minute.
func BenchmarkPageLatency(b *testing.B) {
	const people = 100
	e := newE2E(b, manyPeoplePolicy(people))
	cmgs := make(chan time.Time, 16)
	e.sim.OnCommand(func(line string, at time.Time) {
		if strings.HasPrefix(line, "AT+CMGS=") {
			select {
			case cmgs <- at:
			default:
			}
		}
	})
	e.start()
	const rounds = 300
	var lat []time.Duration
	b.ResetTimer()
	for n := range b.N {
		for i := range rounds {
			body := fmt.Sprintf(`{"service":"s%d","summary":"latency probe %d","severity":"critical","dedup_key":"lat-%d-%d"}`, i%people, i, n, i)
			req, _ := http.NewRequest("POST", "http://"+e.addr+"/api/v1/alerts", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+e.token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			answered := time.Now()
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Fatalf("status %d", resp.StatusCode)
			}
			select {
			case at := <-cmgs:
				lat = append(lat, at.Sub(answered))
			case <-time.After(10 * time.Second):
				b.Fatalf("no AT+CMGS for alert %d", i)
			}
			e.nextSMS() // the modem is idle again
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(0, "ns/op")
	fmt.Fprintf(os.Stderr, "POST answered → AT+CMGS on the line: p50 %s, p99 %s (%d alerts, default pacing, %d people)\n", p50, p99, len(lat), people)
}

// BenchmarkStormFullSpeed: 10,000 alerts with unique keys posted as fast
// as 16 clients can, spread over 5 services that each page their own
// person, with the default pacing. It prints the time from the first POST
// sent to the first SMS complete on the wire, and the daemon's peak RSS
// once the storm is in.
func BenchmarkStormFullSpeed(b *testing.B) {
	const total, clients, people = 10000, 16, 5
	for n := range b.N {
		e := newE2EWith(b, stormPolicy(), "")
		e.start()
		var (
			next, failed atomic.Int64
			wg           sync.WaitGroup
		)
		tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
		client := &http.Client{Transport: tr, Timeout: time.Minute}
		start := time.Now()
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1)
					if i > total {
						return
					}
					body := fmt.Sprintf(`{"service":"svc%d","summary":"machine %d fault","severity":"error","dedup_key":"full-%d-%d"}`, i%people, i, n, i)
					req, _ := http.NewRequest("POST", "http://"+e.addr+"/api/v1/alerts", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+e.token)
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil || resp.StatusCode != http.StatusAccepted {
						failed.Add(1)
					}
					if resp != nil {
						io.Copy(io.Discard, resp.Body) // read to the end, so the connection is reused
						resp.Body.Close()
					}
				}
			}()
		}
		first := e.nextSMS()
		wg.Wait()
		elapsed := time.Since(start)
		tr.CloseIdleConnections()
		if f := failed.Load(); f > 0 {
			b.Fatalf("%d alerts were not accepted", f)
		}
		peak := vmHWM(b, e.cmd.Process.Pid)
		firstOut := first.At.Sub(start)
		b.ReportMetric(float64(firstOut.Microseconds())/1000, "first-SMS-ms")
		b.ReportMetric(float64(peak)/1024, "peak-RSS-MB")
		b.ReportMetric(total/elapsed.Seconds(), "alerts/s")
		b.ReportMetric(0, "ns/op")
		fmt.Fprintf(os.Stderr, "storm at full speed: %d alerts (unique keys, %d clients, %d people, default pacing) in %s (%.0f alerts/s): first SMS on the wire %s after the first POST, peak RSS %.1f MB\n",
			total, clients, people, elapsed.Round(time.Millisecond), total/elapsed.Seconds(), firstOut.Round(time.Millisecond), float64(peak)/1024)
		e.cmd.Process.Kill()
		<-e.exited
	}
}

// BenchmarkIdleRSS reports the resident memory of the idle daemon (real
// modem path through the simulator, policy loaded, HTTP listening).
func BenchmarkIdleRSS(b *testing.B) {
	e := newE2E(b, testPolicy("1h"))
	e.start()
	// Exercise the API once so lazily built state exists, then read.
	var out []any
	e.api("GET", "/api/v1/incidents", nil, &out)
	e.api("GET", "/api/v1/status", nil, nil)
	rss := vmRSS(b, e.cmd.Process.Pid)
	for range b.N {
	}
	b.ReportMetric(float64(rss)/1024, "RSS-MB")
	b.ReportMetric(0, "ns/op")
	fmt.Fprintf(os.Stderr, "idle daemon RSS: %.1f MB\n", float64(rss)/1024)
}

// vmRSS reads a process's resident set size in KiB.
func vmRSS(tb testing.TB, pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := strings.Fields(string(rest))
			kb, _ := strconv.Atoi(f[0])
			return kb
		}
	}
	tb.Fatal("no VmRSS")
	return 0
}
