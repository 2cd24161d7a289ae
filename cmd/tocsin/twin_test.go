package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/cluster"
	"github.com/tocsin-relay/tocsin/modem/modemsim"
)

// Twin relay daemon tests (issue 13, docs/twin.md): two real daemons on
// loopback, each with its own SQLite file and its own simulated modem on
// its own pty, paired over memberlist with a real key. peer_timeout and
// peer_down_after are short so the tests run in seconds; memberlist's
// timing follows peer_timeout (cluster.Tuning).

const (
	twinPeerTimeout = 2 * time.Second
	twinDownAfter   = 3 * time.Second
)

// twinPolicy is testPolicy with the tocsin service, where a missing twin
// is reported (paged to suzuki).
func twinPolicy(levelTwo string) string {
	p := strings.Replace(testPolicy(levelTwo), "services:\n", "services:\n  - {id: tocsin, name: Tocsin relays, escalation_policy: relays}\n", 1)
	return strings.Replace(p, "settings:\n", `  - id: relays
    levels:
      - after: 0s
        notify:
          - {contact: suzuki, via: [sms]}
settings:
`, 1)
}

// twinBox is one relay of a pair.
type twinBox struct {
	*e2e
	name    string
	gossip  string // host:port of its memberlist
	base    string // the config without the cluster section
	keyFile string
}

func freeGossipPort(t testing.TB) string {
	t.Helper()
	for range 20 {
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := tl.Addr().String()
		ul, err := net.ListenPacket("udp", addr)
		tl.Close()
		if err != nil {
			continue
		}
		ul.Close()
		return addr
	}
	t.Fatal("no free port for memberlist")
	return ""
}

func writeKey(t testing.TB, dir string) string {
	t.Helper()
	var k [32]byte
	rand.Read(k[:])
	f := filepath.Join(dir, "cluster.key")
	if err := os.WriteFile(f, []byte(base64.StdEncoding.EncodeToString(k[:])+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// newTwinBox prepares a box; configure sets its cluster section.
func newTwinBox(t testing.TB, name, policy, keyFile string) *twinBox {
	e := newE2EWith(t, policy, "  sms_per_minute: 100")
	base, err := os.ReadFile(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &twinBox{e2e: e, name: name, gossip: freeGossipPort(t), base: string(base), keyFile: keyFile}
}

// configure writes the box's cluster section with peers.
func (b *twinBox) configure(priority int, peers ...string) {
	b.t.Helper()
	quoted := make([]string, len(peers))
	for i, p := range peers {
		quoted[i] = fmt.Sprintf("%q", p)
	}
	section := fmt.Sprintf(`cluster:
  name: %s
  listen: %q
  peers: [%s]
  secret_file: %s
  priority: %d
  peer_timeout: %s
  peer_down_after: %s
`, b.name, b.gossip, strings.Join(quoted, ", "), b.keyFile, priority, twinPeerTimeout, twinDownAfter)
	if err := os.WriteFile(b.cfg, []byte(b.base+section), 0o600); err != nil {
		b.t.Fatal(err)
	}
}

// newTwins starts relay-a (priority 1) and relay-b (priority 2), paired,
// and waits until each sees the other.
func newTwins(t *testing.T, levelTwo string) (a, b *twinBox) {
	t.Helper()
	key := writeKey(t, t.TempDir())
	a = newTwinBox(t, "relay-a", twinPolicy(levelTwo), key)
	b = newTwinBox(t, "relay-b", twinPolicy(levelTwo), key)
	a.configure(1, b.gossip)
	b.configure(2, a.gossip)
	a.start()
	b.start()
	a.waitRole(cluster.Active)
	b.waitRole(cluster.Standby)
	return a, b
}

type statusWithCluster struct {
	Cluster *cluster.Status `json:"cluster"`
}

func (b *twinBox) cluster() cluster.Status {
	b.t.Helper()
	var st statusWithCluster
	b.api("GET", "/api/v1/status", nil, &st)
	if st.Cluster == nil {
		b.t.Fatalf("%s: /api/v1/status has no cluster", b.name)
	}
	return *st.Cluster
}

// eventually polls cond every 20 ms until it holds or within elapses.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func (b *twinBox) waitRole(r cluster.Role) {
	b.t.Helper()
	eventually(b.t, 20*time.Second, b.name+" becomes "+string(r), func() bool { return b.cluster().Role == r })
}

// find returns the incident id on the box, or false.
func (b *twinBox) find(id int64) (escalation.Incident, bool) {
	var inc escalation.Incident
	code := b.api("GET", fmt.Sprintf("/api/v1/incidents/%d", id), nil, &inc)
	return inc, code == http.StatusOK
}

func (b *twinBox) incidentsByKey(key string) []escalation.Incident {
	var all []escalation.Incident
	b.api("GET", "/api/v1/incidents?limit=1000", nil, &all)
	var out []escalation.Incident
	for _, inc := range all {
		if inc.DedupKey == key {
			out = append(out, inc)
		}
	}
	return out
}

// smsTo counts what a box's modem sent to number.
func smsTo(s *modemsim.Sim, number string) int {
	n := 0
	for _, m := range s.History() {
		if m.To == number {
			n++
		}
	}
	return n
}

func hasTimeline(inc escalation.Incident, kind, substr string) bool {
	for _, e := range inc.Timeline {
		if e.Kind == kind && strings.Contains(e.Detail, substr) {
			return true
		}
	}
	return false
}

// TestTwinOnePage: an alert to A is paged once across both modems, and
// B holds the incident under the same id within a second.
func TestTwinOnePage(t *testing.T) {
	a, b := newTwins(t, "1h")
	res := a.alert(map[string]any{"service": "press-line-1", "summary": "Hydraulic pressure low", "severity": "critical", "dedup_key": "p1"})
	lag := eventually(t, time.Second, "incident on B with A's id", func() bool { _, ok := b.find(res.IncidentID); return ok })
	t.Logf("replication lag A→B: %s", lag)
	sms := a.nextSMS()
	if sms.To != "+819012345678" || !strings.Contains(sms.Text, fmt.Sprintf("#%d", res.IncidentID)) {
		t.Fatalf("A sent %+v", sms)
	}
	// B learns that A sent it and never sends it itself: wait past the
	// standby's hold for B's copy of the page to be settled as sent.
	eventually(t, 5*time.Second, "B's timeline records A's SMS", func() bool {
		inc, _ := b.find(res.IncidentID)
		return hasTimeline(inc, escalation.KindSent, "SMS to tanaka")
	})
	select {
	case s := <-b.sim.Sent():
		t.Fatalf("B sent %+v too", s)
	case <-time.After(twinPeerTimeout + 2*time.Second):
	}
	if n := smsTo(a.sim, "+819012345678") + smsTo(b.sim, "+819012345678"); n != 1 {
		t.Fatalf("%d SMS to tanaka across both modems, want 1", n)
	}
	incA, incB := a.incident(res.IncidentID), b.incident(res.IncidentID)
	if incA.Status != incB.Status || incA.Level != incB.Level || incA.Summary != incB.Summary {
		t.Fatalf("A holds %+v, B holds %+v", incA, incB)
	}
}

// TestTwinSameAlertBoth: one alert posted to both boxes at once opens one
// incident: if both opened one before seeing the other's, the higher id
// is folded into the lower on both, and one page goes out.
func TestTwinSameAlertBoth(t *testing.T) {
	a, b := newTwins(t, "1h")
	const rounds = 5
	dups := 0
	for i := range rounds {
		key := fmt.Sprintf("both-%d", i)
		alert := map[string]any{"service": "press-line-1", "summary": "Oil temperature high", "severity": "critical", "dedup_key": key}
		var wg sync.WaitGroup
		var ra, rb escalation.IngestResult
		wg.Add(2)
		go func() { defer wg.Done(); ra = a.alert(alert) }()
		go func() { defer wg.Done(); rb = b.alert(alert) }()
		wg.Wait()
		if ra.IncidentID != rb.IncidentID {
			dups++
		}
		keep := min(ra.IncidentID, rb.IncidentID)
		for _, box := range []*twinBox{a, b} {
			eventually(t, 5*time.Second, box.name+" holds one open incident for "+key, func() bool {
				open := 0
				for _, inc := range box.incidentsByKey(key) {
					if inc.Status != escalation.Resolved {
						open++
						if inc.ID != keep || inc.AlertCount != 2 {
							return false
						}
					} else if !strings.HasPrefix(inc.ResolvedBy, "merged into #") {
						return false
					}
				}
				return open == 1
			})
		}
	}
	t.Logf("%d of %d alerts sent to both boxes at once opened an incident on each before replication; folded into one", dups, rounds)
	// One page per alert across both modems.
	eventually(t, 10*time.Second, "one SMS per alert", func() bool {
		return smsTo(a.sim, "+819012345678")+smsTo(b.sim, "+819012345678") >= rounds
	})
	time.Sleep(twinPeerTimeout + 2*time.Second) // past the standby's hold: nothing more may leave
	if n := smsTo(a.sim, "+819012345678") + smsTo(b.sim, "+819012345678"); n != rounds {
		t.Fatalf("%d SMS to tanaka for %d alerts, want one each", n, rounds)
	}
}

// TestTwinReplyToB: a reply to B's modem acknowledges a page A sent, on
// both boxes, and level 2 is never sent.
func TestTwinReplyToB(t *testing.T) {
	a, b := newTwins(t, "4s")
	res := a.alert(map[string]any{"service": "press-line-1", "summary": "Conveyor stopped", "severity": "critical", "dedup_key": "r1"})
	a.nextSMS()
	eventually(t, 5*time.Second, "B knows the page was sent", func() bool {
		inc, _ := b.find(res.IncidentID)
		return hasTimeline(inc, escalation.KindSent, "SMS to tanaka")
	})
	if err := b.sim.InjectSMS("09012345678", "4"); err != nil {
		t.Fatal(err)
	}
	for _, box := range []*twinBox{b, a} {
		eventually(t, 5*time.Second, "acknowledged on "+box.name, func() bool {
			inc, _ := box.find(res.IncidentID)
			return inc.Status == escalation.Acknowledged
		})
	}
	// Level 2 was due 4 s after the alert; wait past it and the hold.
	time.Sleep(4*time.Second + twinPeerTimeout)
	if n := smsTo(a.sim, "+819011112222") + smsTo(b.sim, "+819011112222"); n != 0 {
		t.Fatalf("boss paged %d times after the ack", n)
	}
}
