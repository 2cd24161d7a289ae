package main

import (
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/internal/testnet"

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
	// peerTimeout overrides twinPeerTimeout (the benchmarks use the default).
	peerTimeout time.Duration
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
	return &twinBox{e2e: e, name: name, gossip: testnet.Addr(t), base: string(base), keyFile: keyFile}
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
`, b.name, b.gossip, strings.Join(quoted, ", "), b.keyFile, priority, cmp.Or(b.peerTimeout, twinPeerTimeout), twinDownAfter)
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
// B holds the incident under the same id (the lag is printed here and
// measured by BenchmarkTwin; the test allows for a loaded CI machine).
func TestTwinOnePage(t *testing.T) {
	a, b := newTwins(t, "1h")
	res := a.alert(map[string]any{"service": "press-line-1", "summary": "Hydraulic pressure low", "severity": "critical", "dedup_key": "p1"})
	lag := eventually(t, 10*time.Second, "incident on B with A's id", func() bool { _, ok := b.find(res.IncidentID); return ok })
	t.Logf("replication lag A→B: %s", lag)
	sms := a.nextSMS()
	if sms.To != "+819012345678" || !strings.Contains(sms.Text, fmt.Sprintf("#%d", res.IncidentID)) {
		t.Fatalf("A sent %+v", sms)
	}
	// B learns that A sent it and never sends it itself: wait past the
	// standby's hold for B's copy of the page to be settled as sent.
	eventually(t, 20*time.Second, "B's timeline records A's SMS", func() bool {
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

	// An alert to the standby is paged once too, by the active's modem.
	rb := b.alert(map[string]any{"service": "press-line-1", "summary": "Coolant level low", "severity": "critical", "dedup_key": "p2"})
	if rb.IncidentID == res.IncidentID {
		t.Fatalf("B opened #%d, A's id", rb.IncidentID)
	}
	if s := a.waitSMSTo("+819012345678", 10*time.Second); !strings.Contains(s.Text, fmt.Sprintf("#%d", rb.IncidentID)) {
		t.Fatalf("A sent %q for B's alert #%d", s.Text, rb.IncidentID)
	}
	time.Sleep(twinPeerTimeout + 2*time.Second) // past B's hold
	if n := smsTo(b.sim, "+819012345678"); n != 0 {
		t.Fatalf("B sent %d SMS for its own alert while A is active", n)
	}

	// The pair in the status, the metrics and `tocsin status`.
	st := a.cluster()
	if st.Name != "relay-a" || len(st.Members) != 2 || st.Members[1].Name != "relay-b" || st.Members[1].State != cluster.StateAlive ||
		!st.Members[1].ModemUp || st.Members[1].Priority != 2 {
		t.Fatalf("A's cluster status %+v", st)
	}
	metrics := string(a.raw("GET", "/metrics"))
	for _, want := range []string{`tocsin_cluster_role{role="active"} 1`, `tocsin_cluster_role{role="standby"} 0`, `tocsin_cluster_members{state="alive"} 2`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	cmd := exec.Command(tocsinBin, "status", "--server", "http://"+b.addr)
	cmd.Env = append(os.Environ(), "TOCSIN_TOKEN="+b.token)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "pair:       relay-b is standby") ||
		!strings.Contains(string(out), "relay-a at "+a.gossip+": alive, modem up, priority 1") {
		t.Fatalf("tocsin status: %v\n%s", err, out)
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
			eventually(t, 20*time.Second, box.name+" holds one open incident for "+key, func() bool {
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
	eventually(t, 30*time.Second, "one SMS per alert", func() bool {
		return smsTo(a.sim, "+819012345678")+smsTo(b.sim, "+819012345678") >= rounds
	})
	time.Sleep(twinPeerTimeout + 2*time.Second) // past the standby's hold: nothing more may leave
	// One incident per alert is the guarantee. A page may go out twice
	// when both boxes paged their copy before the fold (the pair fails
	// open: a page twice beats a page never); the test counts and reports
	// it, and never accepts more than one duplicate per alert.
	n := smsTo(a.sim, "+819012345678") + smsTo(b.sim, "+819012345678")
	t.Logf("%d SMS to tanaka for %d alerts sent to both boxes (%d duplicate pages)", n, rounds, n-rounds)
	if n < rounds || n > 2*rounds {
		t.Fatalf("%d SMS to tanaka for %d alerts, want one each (at most one duplicate each)", n, rounds)
	}
}

// TestTwinReplyToB: a reply to B's modem acknowledges a page A sent, on
// both boxes, and level 2 is never sent.
func TestTwinReplyToB(t *testing.T) {
	a, b := newTwins(t, "4s")
	res := a.alert(map[string]any{"service": "press-line-1", "summary": "Conveyor stopped", "severity": "critical", "dedup_key": "r1"})
	a.nextSMS()
	eventually(t, 20*time.Second, "B knows the page was sent", func() bool {
		inc, _ := b.find(res.IncidentID)
		return hasTimeline(inc, escalation.KindSent, "SMS to tanaka")
	})
	if err := b.sim.InjectSMS("09012345678", "4"); err != nil {
		t.Fatal(err)
	}
	for _, box := range []*twinBox{b, a} {
		eventually(t, 20*time.Second, "acknowledged on "+box.name, func() bool {
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

// waitSMSTo waits for the box's modem to send an SMS to number and
// returns when it did.
func (b *twinBox) waitSMSTo(number string, within time.Duration) modemsim.SentSMS {
	b.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case s := <-b.sim.Sent():
			if s.To == number {
				return s
			}
		case <-deadline:
			b.t.Fatalf("%s sent no SMS to %s within %s; sent %+v", b.name, number, within, b.sim.History())
		}
	}
}

// TestTwinActiveKilled: A dies between level 1 and level 2; B sends
// level 2 at most peer_timeout + 5 s late and never level 1 again.
func TestTwinActiveKilled(t *testing.T) {
	const levelTwo = 6 * time.Second
	a, b := newTwins(t, levelTwo.String())
	res := a.alert(map[string]any{"service": "press-line-1", "summary": "Furnace door open", "severity": "critical", "dedup_key": "k1"})
	inc := a.incident(res.IncidentID)
	a.waitSMSTo("+819012345678", 10*time.Second)
	eventually(t, 20*time.Second, "B knows level 1 was sent", func() bool {
		inc, _ := b.find(res.IncidentID)
		return hasTimeline(inc, escalation.KindSent, "SMS to tanaka")
	})
	a.kill()
	due := inc.CreatedAt.Add(levelTwo)
	s := b.waitSMSTo("+819011112222", levelTwo+twinPeerTimeout+10*time.Second)
	late := s.At.Sub(due)
	t.Logf("level 2 due %s, sent by B %s late (bound: peer_timeout %s + 5s)", due.Format(time.StampMilli), late, twinPeerTimeout)
	if late > twinPeerTimeout+5*time.Second {
		t.Fatalf("B sent level 2 %s late", late)
	}
	if n := smsTo(b.sim, "+819012345678"); n != 0 {
		t.Fatalf("B sent level 1 again (%d SMS to tanaka)", n)
	}
}

// TestTwinModemFailover: A's modem stops answering; the next page leaves
// through B's modem within peer_timeout + 5 s.
func TestTwinModemFailover(t *testing.T) {
	a, b := newTwins(t, "1h")
	a.sim.SetSilent(true)
	start := time.Now()
	a.alert(map[string]any{"service": "press-line-1", "summary": "Chiller pump failed", "severity": "critical", "dedup_key": "m1"})
	b.waitSMSTo("+819012345678", twinPeerTimeout+15*time.Second)
	took := time.Since(start)
	t.Logf("A's modem silent: page left through B's modem %s after the alert (bound: peer_timeout %s + 5s)", took, twinPeerTimeout)
	if took > twinPeerTimeout+5*time.Second {
		t.Fatalf("B's modem sent the page %s after the alert", took)
	}
}

// TestTwinUnreachable: kill B; A opens "relay relay-b unreachable" on
// the tocsin service after peer_down_after, and resolves it when B is
// back.
func TestTwinUnreachable(t *testing.T) {
	a, b := newTwins(t, "1h")
	b.kill()
	killed := time.Now()
	var open escalation.Incident
	eventually(t, twinDownAfter+30*time.Second, "A opens the unreachable incident", func() bool {
		incs := a.incidentsByKey(cluster.UnreachableKey("relay-b"))
		if len(incs) == 1 && incs[0].Status == escalation.Triggered {
			open = incs[0]
			return true
		}
		return false
	})
	t.Logf("unreachable incident #%d opened %s after B died (peer_down_after %s): %q", open.ID, time.Since(killed).Round(time.Millisecond), twinDownAfter, open.Summary)
	if open.Service != "tocsin" || !strings.Contains(open.Summary, "relay relay-b unreachable") {
		t.Fatalf("incident %+v", open)
	}
	if since := time.Since(killed); since < twinDownAfter {
		t.Fatalf("opened %s after B died, before peer_down_after", since)
	}
	a.waitSMSTo("+819087654321", 10*time.Second) // paged like any incident, from A's own modem
	b.start()
	eventually(t, 30*time.Second, "A resolves it when B is back", func() bool {
		inc, _ := a.find(open.ID)
		return inc.Status == escalation.Resolved
	})
	eventually(t, 20*time.Second, "B holds it resolved too", func() bool {
		inc, _ := b.find(open.ID)
		return inc.Status == escalation.Resolved
	})
}

// TestTwinEmptyDatabase: B joins with an empty database, catches up with
// everything A holds under the same ids and sends nothing old.
func TestTwinEmptyDatabase(t *testing.T) {
	key := writeKey(t, t.TempDir())
	a := newTwinBox(t, "relay-a", twinPolicy("1h"), key)
	b := newTwinBox(t, "relay-b", twinPolicy("1h"), key)
	a.configure(1, b.gossip)
	b.configure(2, a.gossip)
	a.start()
	var ids []int64
	for i := range 3 {
		res := a.alert(map[string]any{"service": "press-line-1", "summary": fmt.Sprintf("Line %d stopped", i), "severity": "critical", "dedup_key": fmt.Sprintf("e%d", i)})
		ids = append(ids, res.IncidentID)
	}
	eventually(t, 30*time.Second, "A paged all three", func() bool { return smsTo(a.sim, "+819012345678") >= 1 })
	a.api("POST", fmt.Sprintf("/api/v1/incidents/%d/ack", ids[0]), map[string]string{"by": "test"}, nil)
	eventually(t, 30*time.Second, "A's pages all sent", func() bool {
		for _, id := range ids {
			if !hasTimeline(a.incident(id), escalation.KindSent, "SMS to tanaka") {
				return false
			}
		}
		return true
	})
	// A twin never seen since A started is missing too: reported under
	// its address.
	var missing escalation.Incident
	eventually(t, twinDownAfter+30*time.Second, "A reports the twin it never saw", func() bool {
		incs := a.incidentsByKey(cluster.UnreachableKey(b.gossip))
		if len(incs) == 1 {
			missing = incs[0]
		}
		return len(incs) == 1
	})
	b.start() // fresh state directory: an empty database
	start := time.Now()
	eventually(t, 30*time.Second, "A resolves it when B joins", func() bool {
		inc, _ := a.find(missing.ID)
		return inc.Status == escalation.Resolved
	})
	for _, id := range ids {
		eventually(t, 30*time.Second, fmt.Sprintf("B holds #%d", id), func() bool {
			inc, ok := b.find(id)
			return ok && inc.Status == a.incident(id).Status
		})
	}
	t.Logf("B caught up with %d incidents in %s", len(ids), time.Since(start).Round(time.Millisecond))
	time.Sleep(twinPeerTimeout + 2*time.Second) // past any hold: nothing old may leave B
	if h := b.sim.History(); len(h) != 0 {
		t.Fatalf("B sent %+v after catching up", h)
	}
	res := b.alert(map[string]any{"service": "press-line-1", "summary": "New after rejoin", "severity": "critical", "dedup_key": "e-new"})
	for _, id := range ids {
		if res.IncidentID == id {
			t.Fatalf("B opened #%d, an id A already used", id)
		}
	}
}

// TestTwinPartitionHeal: the twins cannot see each other (B holds the
// wrong key); each pages on its own; when the link heals the histories
// merge: nothing lost, ids stable, the alert both took folded into one.
func TestTwinPartitionHeal(t *testing.T) {
	keyA := writeKey(t, t.TempDir())
	keyB := writeKey(t, t.TempDir())
	a := newTwinBox(t, "relay-a", twinPolicy("1h"), keyA)
	b := newTwinBox(t, "relay-b", twinPolicy("1h"), keyB)
	a.configure(1, b.gossip)
	b.configure(2, a.gossip)
	a.start()
	b.start()
	a.waitRole(cluster.Alone)
	b.waitRole(cluster.Alone)
	ra := a.alert(map[string]any{"service": "press-line-1", "summary": "Only A saw this", "severity": "critical", "dedup_key": "only-a"})
	rb := b.alert(map[string]any{"service": "press-line-1", "summary": "Only B saw this", "severity": "error", "dedup_key": "only-b"})
	both := map[string]any{"service": "press-line-1", "summary": "Both saw this", "severity": "critical", "dedup_key": "both"}
	sa, sb := a.alert(both), b.alert(both)
	if sa.IncidentID == sb.IncidentID {
		t.Fatalf("partitioned boxes handed out one id twice: #%d", sa.IncidentID)
	}
	// A policy changed on each side: the later one wins on both after heal.
	if code := a.api("PUT", "/api/v1/policy", twinPolicy("8m"), nil); code != http.StatusOK {
		t.Fatalf("PUT policy on A = %d", code)
	}
	// B's comes from its policy_file (applied when the file changes, and
	// at start), strictly later.
	time.Sleep(10 * time.Millisecond)
	if err := os.WriteFile(filepath.Join(b.dir, "policy.yaml"), []byte(twinPolicy("9m")), 0o600); err != nil {
		t.Fatal(err)
	}
	b.waitLog(0, "by=\"file change\"")
	eventually(t, 30*time.Second, "each side pages its own (fail open)", func() bool {
		paged := func(box *twinBox, id int64) bool {
			return hasTimeline(box.incident(id), escalation.KindSent, "SMS to tanaka")
		}
		return paged(a, ra.IncidentID) && paged(a, sa.IncidentID) && paged(b, rb.IncidentID) && paged(b, sb.IncidentID)
	})
	sentBeforeHeal := smsTo(a.sim, "+819012345678") + smsTo(b.sim, "+819012345678")
	// Heal: B gets the right key.
	b.kill()
	b.keyFile = keyA
	b.configure(2, a.gossip)
	b.start()
	a.waitRole(cluster.Active)
	for _, box := range []*twinBox{a, b} {
		eventually(t, 30*time.Second, box.name+" holds the merged history", func() bool {
			for _, id := range []int64{ra.IncidentID, rb.IncidentID} {
				if _, ok := box.find(id); !ok {
					return false
				}
			}
			open := 0
			for _, inc := range box.incidentsByKey("both") {
				if inc.Status != escalation.Resolved {
					open++
				}
			}
			return open == 1 && len(box.incidentsByKey("both")) == 2
		})
	}
	for _, box := range []*twinBox{a, b} {
		eventually(t, 30*time.Second, box.name+" runs the later policy", func() bool {
			return strings.Contains(string(box.raw("GET", "/api/v1/policy")), "9m")
		})
	}
	a.waitLog(0, "policy conflict: the twin's policy is newer")
	keep := min(sa.IncidentID, sb.IncidentID)
	for _, box := range []*twinBox{a, b} {
		inc := box.incident(keep)
		if inc.AlertCount != 2 || inc.Status != escalation.Triggered {
			t.Fatalf("%s: #%d after heal: %+v", box.name, keep, inc)
		}
		dup := box.incident(max(sa.IncidentID, sb.IncidentID))
		if dup.ResolvedBy != fmt.Sprintf("merged into #%d", keep) {
			t.Fatalf("%s: duplicate #%d: %+v", box.name, dup.ID, dup)
		}
		if got := box.incident(ra.IncidentID).Summary; got != "Only A saw this" {
			t.Fatalf("%s: #%d summary %q", box.name, ra.IncidentID, got)
		}
	}
	st := a.cluster()
	t.Logf("partition: 4 incidents opened on two sides, each paged by its side (%d SMS; the shared alert paged from both), after heal both hold the same %d incidents, %d duplicate folded on A, %d on B",
		sentBeforeHeal, 3+1, st.MergedDuplicates, b.cluster().MergedDuplicates)
	time.Sleep(twinPeerTimeout + time.Second) // nothing is paged again after the heal
	if n := smsTo(a.sim, "+819012345678") + smsTo(b.sim, "+819012345678"); n != sentBeforeHeal {
		t.Fatalf("%d SMS after heal, %d before: paged again", n, sentBeforeHeal)
	}
}

// TestTwinWrongKeyRefused: a box with another key cannot join, and both
// say so in the log and the status.
func TestTwinWrongKeyRefused(t *testing.T) {
	a := newTwinBox(t, "relay-a", twinPolicy("1h"), writeKey(t, t.TempDir()))
	c := newTwinBox(t, "relay-c", twinPolicy("1h"), writeKey(t, t.TempDir()))
	a.configure(1, c.gossip)
	c.configure(2, a.gossip)
	a.start()
	c.start()
	eventually(t, 30*time.Second, "C reports why it cannot join", func() bool { return c.cluster().JoinError != "" })
	eventually(t, 30*time.Second, "A reports the refused box", func() bool { return a.cluster().Refused != "" })
	for _, box := range []*twinBox{a, c} {
		st := box.cluster()
		if st.Role != cluster.Alone || len(st.Members) != 1 {
			t.Fatalf("%s: %+v", box.name, st)
		}
	}
	a.waitLog(0, "refused a box that does not hold the cluster key")
	t.Logf("C: %s; A: %s", strings.Join(strings.Fields(c.cluster().JoinError), " "), a.cluster().Refused)
}

// TestTwinPolicyFollows: a policy applied on B is in force on A too.
func TestTwinPolicyFollows(t *testing.T) {
	a, b := newTwins(t, "1h")
	changed := twinPolicy("7m")
	if code := b.api("PUT", "/api/v1/policy", changed, nil); code != http.StatusOK {
		t.Fatalf("PUT policy on B = %d", code)
	}
	took := eventually(t, 30*time.Second, "A runs B's policy", func() bool {
		return strings.Contains(string(a.raw("GET", "/api/v1/policy")), "7m")
	})
	t.Logf("policy applied on B in force on A after %s", took)
	a.waitLog(0, "(on relay-b)")
	// Both run one policy: neither sends it back as a conflict.
	time.Sleep(2 * time.Second)
	if strings.Contains(a.logText()+b.logText(), "policy conflict") {
		t.Fatal("a policy conflict was logged for a plain apply")
	}
}
