package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation/status"
	"github.com/tocsin-relay/tocsin/internal/needs"
)

// postAlerts posts n alerts with unique dedup keys (prefix-i) from clients
// concurrent senders and returns how long it took and how many failed.
func postAlerts(addr, token, service, prefix, severity string, n, clients int) (time.Duration, int64) {
	return postConcurrently(clients, n, http.StatusAccepted, func(i int64) *http.Request {
		body := fmt.Sprintf(`{"service":%q,"summary":"sensor %d out of range","severity":%q,"dedup_key":"%s-%d"}`,
			service, i, severity, prefix, i)
		req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/alerts", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		return req
	})
}

// postConcurrently sends total requests (request i made by build) from
// clients concurrent senders on reused connections, and returns how long
// it took and how many were refused (no answer, or a status other than
// want). The load tests and benchmarks all send through it.
func postConcurrently(clients, total, want int, build func(i int64) *http.Request) (time.Duration, int64) {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	var (
		next, failed atomic.Int64
		wg           sync.WaitGroup
	)
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(total) {
					return
				}
				resp, err := client.Do(build(i))
				if err != nil {
					failed.Add(1)
					continue
				}
				if resp.StatusCode != want {
					failed.Add(1)
				}
				io.Copy(io.Discard, resp.Body) // read to the end, so the connection is reused
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	return time.Since(start), failed.Load()
}

// probe times rounds of one POST /api/v1/alerts (a new incident that
// pages) and one GET /healthz, checking that each answers as it should,
// and returns the median and the slowest of each.
func probe(t *testing.T, e *e2e, label string, rounds int) (post, health [2]time.Duration) {
	t.Helper()
	var posts, healths []time.Duration
	for i := range rounds {
		start := time.Now()
		e.alert(map[string]any{"service": "press-line-1", "summary": "probe", "severity": "warning",
			"dedup_key": fmt.Sprintf("probe-%s-%d", label, i)})
		posts = append(posts, time.Since(start))
		start = time.Now()
		resp, err := http.Get("http://" + e.addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		healths = append(healths, time.Since(start))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/healthz = %d with %s", resp.StatusCode, label)
		}
	}
	stat := func(d []time.Duration) [2]time.Duration {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return [2]time.Duration{d[len(d)/2], d[len(d)-1]}
	}
	return stat(posts), stat(healths)
}

var firstIncident = regexp.MustCompile(`#(\d+)`)

// A backlog of 20,000 pages for one person with the default pacing (3 SMS
// a minute) does not stall the daemon: alerts and /healthz answer as on an
// empty queue, a restart does not send the person more than the limit, and
// the page of a new critical incident leaves first at the person's next
// turn. Figures are printed, not asserted.
func TestBacklogDoesNotStall(t *testing.T) {
	needs.Long(t, "waits for the person's next turn (a minute)")
	e := newE2E(t, testPolicy("1h")) // default pacing: no sms_per_minute
	e.start()
	emptyPost, emptyHealth := probe(t, e, "empty", 20)

	const backlog = 20000
	elapsed, failed := postAlerts(e.addr, e.token, "press-line-1", "backlog", "warning", backlog, 16)
	if failed > 0 {
		t.Fatalf("%d of %d alerts failed", failed, backlog)
	}
	// The first minute's three SMS (the first probes' pages, then digests);
	// then the person waits for their turn.
	var first time.Time
	for i := range 3 {
		s := e.nextSMS()
		if i == 0 {
			first = s.At
		}
	}
	backlogPost, backlogHealth := probe(t, e, "backlog", 20)
	var st status.Doc
	e.api("GET", "/api/v1/status", nil, &st)
	if st.Outbox.Depth < backlog-3*51 {
		t.Errorf("outbox depth %d, want the backlog of about %d still queued", st.Outbox.Depth, backlog)
	}

	// A restart: the backlog and the person's pacing survive it.
	e.cmd.Process.Signal(os.Interrupt)
	<-e.exited
	restart := time.Now()
	e.start()
	restarted := time.Since(restart)
	afterPost, afterHealth := probe(t, e, "restarted", 5)

	crit := e.alert(map[string]any{"service": "press-line-1", "summary": "press jammed", "severity": "critical",
		"dedup_key": "critical-after-backlog"})
	var next time.Time
	select {
	case s := <-e.sim.Sent():
		next = s.At
		m := firstIncident.FindStringSubmatch(s.Text)
		if m == nil || m[1] != strconv.FormatInt(crit.IncidentID, 10) {
			t.Errorf("the SMS after the critical alert starts with %v, want #%d first:\n%s", m, crit.IncidentID, s.Text)
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("no SMS within 90 s of the critical alert")
	}
	if gap := next.Sub(first); gap < time.Minute {
		t.Errorf("4th SMS to the person %s after the 1st, within a minute (limit 3 a minute)", gap)
	}

	t.Logf("%d alerts paging one person queued in %s (%.0f alerts/s); outbox depth %d",
		backlog, elapsed.Round(time.Millisecond), backlog/elapsed.Seconds(), st.Outbox.Depth)
	t.Logf("POST /api/v1/alerts median/max: empty queue %s/%s, with the backlog %s/%s, after restart %s/%s",
		emptyPost[0], emptyPost[1], backlogPost[0], backlogPost[1], afterPost[0], afterPost[1])
	t.Logf("GET /healthz median/max: empty queue %s/%s, with the backlog %s/%s, after restart %s/%s",
		emptyHealth[0], emptyHealth[1], backlogHealth[0], backlogHealth[1], afterHealth[0], afterHealth[1])
	t.Logf("restart with %d queued: %s until the HTTP server and the modem were ready", st.Outbox.Depth, restarted.Round(time.Millisecond))
	t.Logf("4th SMS to the person %s after the 1st (the critical page first)", next.Sub(first).Round(time.Millisecond))
}
