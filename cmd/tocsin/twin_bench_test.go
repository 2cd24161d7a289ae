package main

import (
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/internal/testnet"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/cluster"
)

// Twin relay figures (docs/twin.md): failover time, replication lag and
// durable ingest with the twin on. peer_timeout is the tests' 2 s.

func benchTwins(b *testing.B, levelTwo, modemExtra string, peerTimeout time.Duration) (a, bb *twinBox) {
	key := writeKey(b, b.TempDir())
	mk := func(name string) *twinBox {
		e := newE2EWith(b, twinPolicy(levelTwo), modemExtra)
		base, err := os.ReadFile(e.cfg)
		if err != nil {
			b.Fatal(err)
		}
		return &twinBox{e2e: e, name: name, gossip: testnet.Addr(b), base: string(base), keyFile: key, peerTimeout: peerTimeout}
	}
	a, bb = mk("relay-a"), mk("relay-b")
	a.configure(1, bb.gossip)
	bb.configure(2, a.gossip)
	a.start()
	bb.start()
	a.waitRole(cluster.Active)
	bb.waitRole(cluster.Standby)
	a.waitTwinModem(bb.name)
	bb.waitTwinModem(a.name)
	return a, bb
}

// BenchmarkTwinFailover: the active dies after level 1 of an incident;
// the figure is the time from its death, and from level 2's due time, to
// level 2 complete on the standby's wire.
func BenchmarkTwinFailover(b *testing.B) {
	const levelTwo = 4 * time.Second
	var fromKill, fromDue []time.Duration
	for n := range b.N {
		a, s := benchTwins(b, levelTwo.String(), "", twinPeerTimeout)
		res := a.alert(map[string]any{"service": "press-line-1", "summary": "failover probe", "severity": "critical", "dedup_key": fmt.Sprintf("fo-%d", n)})
		inc := a.incident(res.IncidentID)
		a.waitSMSTo("+819012345678", 10*time.Second)
		due := inc.CreatedAt.Add(levelTwo)
		time.Sleep(time.Until(due.Add(-time.Second))) // the active dies a second before level 2 is due
		a.kill()
		killed := time.Now()
		sms := s.waitSMSTo("+819011112222", levelTwo+30*time.Second)
		fromKill = append(fromKill, sms.At.Sub(killed))
		fromDue = append(fromDue, sms.At.Sub(due))
	}
	k, d := fromKill[len(fromKill)/2], fromDue[len(fromDue)/2]
	b.ReportMetric(k.Seconds(), "s-kill-to-page")
	b.ReportMetric(d.Seconds(), "s-late")
	b.ReportMetric(0, "ns/op")
	fmt.Fprintf(os.Stderr, "twin failover: active killed 1 s before level 2 was due → level 2 on the standby's wire %s after the kill, %s after it was due (peer_timeout %s)\n",
		k.Round(time.Millisecond), d.Round(time.Millisecond), twinPeerTimeout)
}

// BenchmarkTwinReplicationLag: alerts accepted on A (202) until B has
// committed the incident (it logs so after the commit; the line reaches the
// test through B's stderr), one alert at a time.
func BenchmarkTwinReplicationLag(b *testing.B) {
	a, s := benchTwins(b, "1h", "  sms_per_minute: 1000000", twinPeerTimeout)
	const rounds = 200
	var lag []time.Duration
	b.ResetTimer()
	for n := range b.N {
		for i := range rounds {
			from := s.logLen()
			res := a.alert(map[string]any{"service": "press-line-1", "summary": "lag probe", "severity": "warning", "dedup_key": fmt.Sprintf("lag-%d-%d", n, i)})
			accepted := time.Now()
			s.waitLine(from, 10*time.Second, logReplicated, fmt.Sprintf(" incident=%d ", res.IncidentID))
			lag = append(lag, time.Since(accepted))
			if _, ok := s.find(res.IncidentID); !ok {
				b.Fatalf("B logged #%d from A but does not hold it", res.IncidentID)
			}
		}
	}
	b.StopTimer()
	sort.Slice(lag, func(i, j int) bool { return lag[i] < lag[j] })
	p50, p99 := lag[len(lag)/2], lag[len(lag)*99/100]
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(0, "ns/op")
	fmt.Fprintf(os.Stderr, "twin replication lag (202 on A → B logs the incident committed): p50 %s, p99 %s (%d alerts)\n", p50, p99, len(lag))
}

// postMany posts total alerts from 16 clients and returns alerts/s.
func postMany(b *testing.B, e *e2e, prefix string, total int) float64 {
	took, failed := postAlerts(e.addr, e.token, "press-line-1", prefix, "warning", total, 16)
	if failed > 0 {
		b.Fatalf("%d of %d alerts failed", failed, total)
	}
	return float64(total) / took.Seconds()
}

// BenchmarkTwinIngest: durable HTTP ingest (16 clients, unique keys) on a
// lone relay and on the active of a pair, whose every commit is also
// logged for and shipped to the twin; and how long the twin takes to hold
// all of them.
func BenchmarkTwinIngest(b *testing.B) {
	const total, rounds = 15000, 5
	alone := newE2EWith(b, twinPolicy("1h"), "  sms_per_minute: 1000000")
	alone.start()
	// The cluster on, its twin away: the cost of logging changes alone.
	solo := &twinBox{e2e: newE2EWith(b, twinPolicy("1h"), "  sms_per_minute: 1000000"), name: "relay-solo", gossip: testnet.Addr(b), keyFile: writeKey(b, b.TempDir())}
	base, _ := os.ReadFile(solo.cfg)
	solo.base = string(base)
	solo.configure(1, testnet.Addr(b))
	solo.start()
	a, s := benchTwins(b, "1h", "  sms_per_minute: 1000000", 15*time.Second) // the default: push/pull every 30 s
	b.ResetTimer()
	var rAlone, rSolo, rTwin float64
	var caught time.Duration
	median := func(v []float64) float64 { sort.Float64s(v); return v[len(v)/2] }
	for n := range b.N {
		from := s.logLen()
		// Interleaved rounds, so that the load of this shared machine
		// weighs on the three alike; the median of each.
		var ra, rs, rt []float64
		for r := range rounds {
			ra = append(ra, postMany(b, alone, fmt.Sprintf("alone-%d-%d", n, r), total/rounds))
			rs = append(rs, postMany(b, solo.e2e, fmt.Sprintf("solo-%d-%d", n, r), total/rounds))
			rt = append(rt, postMany(b, a.e2e, fmt.Sprintf("twin-%d-%d", n, r), total/rounds))
		}
		rAlone, rSolo, rTwin = median(ra), median(rs), median(rt)
		done := time.Now()
		// The twin holds the last incident A opened once it logs it
		// committed.
		var first, last []escalation.Incident
		a.api("GET", "/api/v1/incidents?limit=1", nil, &first)
		if len(first) != 1 {
			b.Fatal("A holds no incident")
		}
		s.waitLine(from, 2*time.Minute, logReplicated, fmt.Sprintf(" incident=%d ", first[0].ID))
		caught = time.Since(done)
		s.api("GET", "/api/v1/incidents?limit=1", nil, &last)
		if len(last) != 1 || last[0].ID != first[0].ID {
			b.Fatalf("B logged #%d from A; its last incident is %+v", first[0].ID, last)
		}
	}
	b.StopTimer()
	b.ReportMetric(rAlone, "alone-alerts/s")
	b.ReportMetric(rSolo, "twin-away-alerts/s")
	b.ReportMetric(rTwin, "twin-alerts/s")
	b.ReportMetric(rTwin/rAlone, "ratio")
	b.ReportMetric(0, "ns/op")
	fmt.Fprintf(os.Stderr, "durable ingest, %d alerts in 5 interleaved rounds, 16 clients (medians): alone %.0f alerts/s; cluster on, twin away %.0f alerts/s (%.2f×); active of a pair, both daemons on this machine's cores, %.0f alerts/s (%.2f×); the twin held the last one %s after the last 202\n",
		total, rAlone, rSolo, rSolo/rAlone, rTwin, rTwin/rAlone, caught.Round(time.Millisecond))
}
