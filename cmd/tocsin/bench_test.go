package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkHTTPIngest measures durable ingest through the real daemon:
// 16 concurrent clients post alerts with unique dedup keys; each answer
// (202) comes only after the SQLite commit (WAL, synchronous=FULL).
func BenchmarkHTTPIngest(b *testing.B) {
	e := newE2EWith(b, testPolicy("1h"), "  sms_per_minute: 1000000")
	e.start()
	const clients, total = 16, 20000
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	var (
		next   atomic.Int64
		failed atomic.Int64
		wg     sync.WaitGroup
	)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		next.Store(0)
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1)
					if i > total {
						return
					}
					body := fmt.Sprintf(`{"service":"press-line-1","summary":"sensor %d out of range","severity":"warning","dedup_key":"bench-%d-%d"}`, i, b.N, i)
					req, _ := http.NewRequest("POST", "http://"+e.addr+"/api/v1/alerts", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+e.token)
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						failed.Add(1)
						continue
					}
					if resp.StatusCode != http.StatusAccepted {
						failed.Add(1)
					}
					resp.Body.Close()
				}
			}()
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if os.Getenv("TOCSIN_CPUPROFILE") != "" {
		e.cmd.Process.Signal(os.Interrupt)
		<-e.exited
	}
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d alerts failed", f, total*b.N)
	}
	rate := float64(total*b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "alerts/s")
	b.ReportMetric(0, "ns/op")
	fmt.Fprintf(os.Stderr, "durable HTTP ingest: %d alerts, %d clients, unique keys: %.0f alerts/s\n", total*b.N, clients, rate)
}

// BenchmarkPageLatency measures, on the serial line, the time from a POST
// being answered to the first AT+CMGS of its page, one alert at a time
// with the modem idle.
func BenchmarkPageLatency(b *testing.B) {
	e := newE2EWith(b, testPolicy("1h"), "  sms_per_minute: 1000000")
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
	for range b.N {
		for i := range rounds {
			body := fmt.Sprintf(`{"service":"press-line-1","summary":"latency probe %d","severity":"critical","dedup_key":"lat-%d-%d"}`, i, b.N, i)
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
	fmt.Fprintf(os.Stderr, "POST answered → AT+CMGS on the line: p50 %s, p99 %s (%d alerts)\n", p50, p99, len(lat))
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
