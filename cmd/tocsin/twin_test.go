package main

import (
	"bytes"
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
	a.waitTwinModem(b.name)
	b.waitTwinModem(a.name)
	return a, b
}

// waitTwinModem waits until the box sees twin alive with its modem up (a
// box announces its modem once it is ready, maybe after the pair formed).
func (b *twinBox) waitTwinModem(twin string) {
	b.t.Helper()
	b.waitUntil(30*time.Second, b.name+" sees "+twin+"'s modem up", func() bool {
		for _, m := range b.cluster().Members {
			if m.Name == twin && m.State == cluster.StateAlive && m.ModemUp {
				return true
			}
		}
		return false
	}, `msg="twin joined"`, `msg="twin's modem state changed"`)
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

// Waiting on the twins. Every wait here is on an event — a line a daemon
// logs once what it reports is committed, or an SMS on a simulator's
// channel — and the state is then read through the API, as a user reads it.
// Where several events may make a condition true and the order is not the
// code's to guarantee, waitUntil checks the condition again after each of
// them (a condition variable on the daemon's log).

// Log lines the twin tests wait on.
const (
	// logReplicated: a twin's records changed an incident here (debug).
	logReplicated = "cluster: incident changed by the twin's records"
	// logSMSSent: this box's modem sent an SMS, its outcome committed.
	logSMSSent = `msg="SMS sent"`
	// logRole: this box's role changed.
	logRole = `msg="cluster role"`
)

// waitLine blocks until one line logged at or after offset from holds all
// of subs, and returns the offset just past it. Take from (logLen) before
// causing the event.
func (e *e2e) waitLine(from int, within time.Duration, subs ...string) int {
	e.t.Helper()
	return e.scanLog(from, within, fmt.Sprintf("a log line with %q", subs), func(line []byte) bool {
		for _, s := range subs {
			if !bytes.Contains(line, []byte(s)) {
				return false
			}
		}
		return true
	})
}

// logField returns the value of an unquoted key=value field of the log
// line that ends at offset end (as waitLine returns it).
func (e *e2e) logField(end int, key string) string {
	e.t.Helper()
	e.logMu.Lock()
	text := e.log.Bytes()[:end]
	line := string(text[bytes.LastIndexByte(text[:len(text)-1], '\n')+1:])
	e.logMu.Unlock()
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	e.t.Fatalf("log line %q has no %s", line, key)
	return ""
}

// waitUntil blocks until cond holds: it checks cond, then again after each
// line the daemon logs that holds one of wakeOn (the events that can make
// cond true), and fails after within. It returns how long it waited.
func (e *e2e) waitUntil(within time.Duration, what string, cond func() bool, wakeOn ...string) time.Duration {
	e.t.Helper()
	start := time.Now()
	// The offset is taken before cond is checked: an event that comes
	// after the check is logged past it and wakes the next check.
	from := e.logLen()
	for !cond() {
		left := within - time.Since(start)
		if left <= 0 {
			e.t.Fatalf("not within %s: %s", within, what)
		}
		from = e.scanLog(from, left, what, func(line []byte) bool {
			for _, s := range wakeOn {
				if bytes.Contains(line, []byte(s)) {
					return true
				}
			}
			return false
		})
		// Every line logged so far is before the next check: no need to
		// wake for them again.
		from = max(from, e.logLen())
	}
	return time.Since(start)
}

func (b *twinBox) waitRole(r cluster.Role) {
	b.t.Helper()
	b.waitUntil(30*time.Second, b.name+" becomes "+string(r), func() bool { return b.cluster().Role == r }, logRole)
}

// settled reports whether the box holds each incident and will send nothing
// more for it before its next level: an open one has taken its first level
// (a standby takes it from the active's record), and no page of it waits or
// is being sent. A page is recorded sent after the modem took it, so once
// settled holds, the simulator has seen every SMS the box sends for them.
func (b *twinBox) settled(ids ...int64) bool {
	b.t.Helper()
	for _, id := range ids {
		inc, ok := b.find(id)
		if !ok || (inc.Status != escalation.Resolved && inc.Level < 1) {
			return false
		}
		for _, n := range inc.Notifications {
			if n.Status == escalation.Queued || n.Status == escalation.Sending {
				return false
			}
		}
	}
	return true
}

// waitSettled waits until the box is settled for ids: what changes them
// there is the twin's records and the box's own SMS.
func (b *twinBox) waitSettled(what string, ids ...int64) {
	b.t.Helper()
	b.waitUntil(30*time.Second, b.name+": "+what, func() bool { return b.settled(ids...) }, logReplicated, logSMSSent)
}

// quietUntil waits for the clock to reach at. It is for the one absence
// no event marks: an escalation step that must no longer fire (its incident
// was acknowledged) logs nothing at its due time, so the test lets that time
// pass, with a short margin, and then counts what left.
func quietUntil(t testing.TB, at time.Time, why string) {
	t.Helper()
	t.Logf("quiet for %s: %s", time.Until(at).Round(time.Millisecond), why)
	time.Sleep(time.Until(at))
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
// measured by BenchmarkTwinReplicationLag; the test allows for a loaded CI
// machine).
func TestTwinOnePage(t *testing.T) {
	a, b := newTwins(t, "1h")
	from := b.logLen()
	res := a.alert(map[string]any{"service": "press-line-1", "summary": "Hydraulic pressure low", "severity": "critical", "dedup_key": "p1"})
	accepted := time.Now()
	b.waitLine(from, 10*time.Second, logReplicated, fmt.Sprintf(" incident=%d ", res.IncidentID))
	t.Logf("replication lag A→B: %s", time.Since(accepted))
	if _, ok := b.find(res.IncidentID); !ok {
		t.Fatalf("B logged #%d from A but does not hold it", res.IncidentID)
	}
	sms := a.nextSMS()
	if sms.To != "+819012345678" || !strings.Contains(sms.Text, fmt.Sprintf("#%d", res.IncidentID)) {
		t.Fatalf("A sent %+v", sms)
	}
	// B learns that A sent it and never sends it itself: once B records
	// A's SMS and holds its copy of the page as sent, at level 1, nothing
	// of it can leave B before level 2.
	b.waitUntil(20*time.Second, "B's timeline records A's SMS", func() bool {
		inc, _ := b.find(res.IncidentID)
		return hasTimeline(inc, escalation.KindSent, "SMS to tanaka") && b.settled(res.IncidentID)
	}, logReplicated)
	if h := b.sim.History(); len(h) != 0 {
		t.Fatalf("B sent %+v too", h)
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
	// B's own first step waits peer_timeout; A's record moves B past it
	// (had B taken it, its own page would wait or be sent: not settled).
	b.waitSettled("A's page of B's alert recorded as sent", rb.IncidentID)
	if n := smsTo(b.sim, "+819012345678"); n != 0 {
		t.Fatalf("B sent %d SMS for its own alert while A is active", n)
	}
	if inc := b.incident(rb.IncidentID); !hasTimeline(inc, escalation.KindSent, "SMS to tanaka") {
		t.Fatalf("B's #%d does not record A's SMS: %+v", rb.IncidentID, inc.Timeline)
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
	var ids []int64
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
		ids = append(ids, ra.IncidentID, rb.IncidentID)
		keep := min(ra.IncidentID, rb.IncidentID)
		for _, box := range []*twinBox{a, b} {
			// The fold, and the twin's alert count, come with the twin's records.
			box.waitUntil(20*time.Second, box.name+" holds one open incident for "+key, func() bool {
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
			}, logReplicated)
		}
	}
	t.Logf("%d of %d alerts sent to both boxes at once opened an incident on each before replication; folded into one", dups, rounds)
	// Every alert is paged, from either modem: an SMS names one of its
	// incidents (a digest names several).
	paged := func(sms modemsim.SentSMS, round int) bool {
		return sms.To == "+819012345678" && (strings.Contains(sms.Text, fmt.Sprintf("#%d ", ids[2*round])) ||
			strings.Contains(sms.Text, fmt.Sprintf("#%d ", ids[2*round+1])))
	}
	waiting := map[int]bool{}
	for i := range rounds {
		waiting[i] = true
	}
	for len(waiting) > 0 {
		var sms modemsim.SentSMS
		select {
		case sms = <-a.sim.Sent():
		case sms = <-b.sim.Sent():
		case <-time.After(30 * time.Second):
			t.Fatalf("alerts %v not paged within 30s; A sent %+v, B sent %+v", waiting, a.sim.History(), b.sim.History())
		}
		for i := range waiting {
			if paged(sms, i) {
				delete(waiting, i)
			}
		}
	}
	// Nothing more may leave once both boxes hold every incident at level 1
	// with no page waiting (the standby's held copies settled as sent by
	// the twin, the duplicates' cancelled).
	for _, box := range []*twinBox{a, b} {
		box.waitSettled("every page of the alerts sent or cancelled", ids...)
	}
	// One incident per alert is the guarantee. A page may go out twice
	// when both boxes paged their copy before the fold (the pair fails
	// open: a page twice beats a page never); the test counts and reports
	// it, and never accepts more than one duplicate per alert.
	sent := append(a.sim.History(), b.sim.History()...)
	pages := 0
	for i := range rounds {
		n := 0
		for _, sms := range sent {
			if paged(sms, i) {
				n++
			}
		}
		if n < 1 || n > 2 {
			t.Fatalf("alert %d paged %d times, want once (at most one duplicate); sent %+v", i, n, sent)
		}
		pages += n
	}
	t.Logf("%d pages to tanaka in %d SMS for %d alerts sent to both boxes (%d duplicate pages)", pages, len(sent), rounds, pages-rounds)
}

// TestTwinReplyToB: a reply to B's modem acknowledges a page A sent, on
// both boxes, and level 2 is never sent.
func TestTwinReplyToB(t *testing.T) {
	const levelTwo = 4 * time.Second
	a, b := newTwins(t, levelTwo.String())
	res := a.alert(map[string]any{"service": "press-line-1", "summary": "Conveyor stopped", "severity": "critical", "dedup_key": "r1"})
	a.nextSMS()
	b.waitUntil(20*time.Second, "B knows the page was sent", func() bool {
		inc, _ := b.find(res.IncidentID)
		return hasTimeline(inc, escalation.KindSent, "SMS to tanaka")
	}, logReplicated)
	from := b.logLen()
	if err := b.sim.InjectSMS("09012345678", "4"); err != nil {
		t.Fatal(err)
	}
	b.waitLine(from, 20*time.Second, `msg="SMS reply"`, "action=acknowledge")
	if inc := b.incident(res.IncidentID); inc.Status != escalation.Acknowledged {
		t.Fatalf("B took the reply; #%d is %s there", res.IncidentID, inc.Status)
	}
	a.waitUntil(20*time.Second, "acknowledged on A", func() bool {
		inc, _ := a.find(res.IncidentID)
		return inc.Status == escalation.Acknowledged
	}, logReplicated)
	// Level 2 was due levelTwo after the alert, on B peer_timeout later.
	// A step that no longer exists logs nothing: let its time pass.
	quietUntil(t, a.incident(res.IncidentID).CreatedAt.Add(levelTwo+twinPeerTimeout+time.Second), "level 2 must not fire on either box")
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
	b.waitUntil(20*time.Second, "B knows level 1 was sent", func() bool {
		inc, _ := b.find(res.IncidentID)
		return hasTimeline(inc, escalation.KindSent, "SMS to tanaka") && b.settled(res.IncidentID)
	}, logReplicated)
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
	from := a.logLen()
	b.kill()
	killed := time.Now()
	a.waitLine(from, twinDownAfter+30*time.Second, "twin unreachable: incident opened", "twin=relay-b")
	opened := time.Since(killed)
	incs := a.incidentsByKey(cluster.UnreachableKey("relay-b"))
	if len(incs) != 1 || incs[0].Status != escalation.Triggered {
		t.Fatalf("A logged the unreachable incident opened and holds %+v", incs)
	}
	open := incs[0]
	t.Logf("unreachable incident #%d opened %s after B died (peer_down_after %s): %q", open.ID, opened.Round(time.Millisecond), twinDownAfter, open.Summary)
	if open.Service != "tocsin" || !strings.Contains(open.Summary, "relay relay-b unreachable") {
		t.Fatalf("incident %+v", open)
	}
	if opened < twinDownAfter {
		t.Fatalf("opened %s after B died, before peer_down_after", opened)
	}
	a.waitSMSTo("+819087654321", 10*time.Second) // paged like any incident, from A's own modem
	from = a.logLen()
	b.start()
	a.waitLine(from, 30*time.Second, "twin reachable again: incident resolved", "twin=relay-b")
	if inc := a.incident(open.ID); inc.Status != escalation.Resolved {
		t.Fatalf("A logged #%d resolved; it is %s", open.ID, inc.Status)
	}
	b.waitUntil(20*time.Second, "B holds it resolved too", func() bool {
		inc, _ := b.find(open.ID)
		return inc.Status == escalation.Resolved
	}, logReplicated)
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
	a.nextSMS() // A pages once its start grace is over
	a.api("POST", fmt.Sprintf("/api/v1/incidents/%d/ack", ids[0]), map[string]string{"by": "test"}, nil)
	a.waitUntil(30*time.Second, "A's pages all sent", func() bool {
		for _, id := range ids {
			if !hasTimeline(a.incident(id), escalation.KindSent, "SMS to tanaka") {
				return false
			}
		}
		return true
	}, logSMSSent)
	// A twin never seen since A started is missing too: reported under
	// its address.
	a.waitLine(0, twinDownAfter+30*time.Second, "twin unreachable: incident opened", "twin="+b.gossip)
	incs := a.incidentsByKey(cluster.UnreachableKey(b.gossip))
	if len(incs) != 1 {
		t.Fatalf("A logged the missing twin's incident opened and holds %+v", incs)
	}
	missing := incs[0]
	from := a.logLen()
	b.start() // fresh state directory: an empty database
	start := time.Now()
	a.waitLine(from, 30*time.Second, "twin reachable again: incident resolved", "twin="+b.gossip)
	if inc := a.incident(missing.ID); inc.Status != escalation.Resolved {
		t.Fatalf("A logged #%d resolved; it is %s", missing.ID, inc.Status)
	}
	// B catches up with the twin's records; nothing old may leave B once
	// it holds each incident as A does, at level 1, with no page waiting.
	b.waitUntil(30*time.Second, "B holds A's incidents", func() bool {
		for _, id := range ids {
			inc, ok := b.find(id)
			if !ok || inc.Status != a.incident(id).Status {
				return false
			}
		}
		return b.settled(append(ids, missing.ID)...)
	}, logReplicated)
	t.Logf("B caught up with %d incidents in %s", len(ids), time.Since(start).Round(time.Millisecond))
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
	// Each box hears the other's join attempts and refuses them.
	for _, box := range []*twinBox{a, b} {
		box.waitLine(0, 30*time.Second, "refused a box that does not hold the cluster key")
		if r := box.cluster().Role; r != cluster.Alone {
			t.Fatalf("%s is %s with the wrong key", box.name, r)
		}
	}
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
	// at start), strictly later: policy times are kept to the millisecond,
	// so the clock moves past A's first (this waits for no event).
	time.Sleep(10 * time.Millisecond)
	if err := os.WriteFile(filepath.Join(b.dir, "policy.yaml"), []byte(twinPolicy("9m")), 0o600); err != nil {
		t.Fatal(err)
	}
	b.waitLog(0, "by=\"file change\"")
	for _, side := range []struct {
		box *twinBox
		ids []int64
	}{{a, []int64{ra.IncidentID, sa.IncidentID}}, {b, []int64{rb.IncidentID, sb.IncidentID}}} {
		side.box.waitUntil(30*time.Second, side.box.name+" pages its own (fail open)", func() bool {
			for _, id := range side.ids {
				if !hasTimeline(side.box.incident(id), escalation.KindSent, "SMS to tanaka") {
					return false
				}
			}
			return true
		}, logSMSSent)
	}
	sentBeforeHeal := smsTo(a.sim, "+819012345678") + smsTo(b.sim, "+819012345678")
	// Heal: B gets the right key.
	b.kill()
	b.keyFile = keyA
	b.configure(2, a.gossip)
	b.start()
	a.waitRole(cluster.Active)
	for _, box := range []*twinBox{a, b} {
		box.waitUntil(30*time.Second, box.name+" holds the merged history", func() bool {
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
		}, logReplicated)
	}
	// B's policy (applied later) stays; A applies it from B.
	for _, box := range []*twinBox{a, b} {
		box.waitUntil(30*time.Second, box.name+" runs the later policy", func() bool {
			return strings.Contains(string(box.raw("GET", "/api/v1/policy")), "9m")
		}, `msg="policy applied"`)
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
	// Nothing is paged again after the heal: both boxes hold every
	// incident at level 1 with no page waiting (B's restart held its
	// waiting pages for peer_timeout; the merge settled or cancelled them).
	for _, box := range []*twinBox{a, b} {
		box.waitSettled("every page of the partition sent or cancelled", ra.IncidentID, rb.IncidentID, sa.IncidentID, sb.IncidentID)
	}
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
	// Each is set before it is logged.
	c.waitLine(0, 30*time.Second, "cannot join the twin")
	if c.cluster().JoinError == "" {
		t.Fatal("C logged that it cannot join; its status has no join error")
	}
	a.waitLine(0, 30*time.Second, "refused a box that does not hold the cluster key")
	if a.cluster().Refused == "" {
		t.Fatal("A logged the refused box; its status does not name it")
	}
	for _, box := range []*twinBox{a, c} {
		st := box.cluster()
		if st.Role != cluster.Alone || len(st.Members) != 1 {
			t.Fatalf("%s: %+v", box.name, st)
		}
	}
	t.Logf("C: %s; A: %s", strings.Join(strings.Fields(c.cluster().JoinError), " "), a.cluster().Refused)
}

// TestTwinPolicyFollows: a policy applied on B is in force on A too.
func TestTwinPolicyFollows(t *testing.T) {
	a, b := newTwins(t, "1h")
	changed := twinPolicy("7m")
	fromA, fromB := a.logLen(), b.logLen()
	start := time.Now()
	if code := b.api("PUT", "/api/v1/policy", changed, nil); code != http.StatusOK {
		t.Fatalf("PUT policy on B = %d", code)
	}
	hash := b.logField(b.waitLine(fromB, 10*time.Second, `msg="policy applied"`, "by=test"), "hash")
	a.waitLine(fromA, 30*time.Second, `msg="policy applied"`, "(on relay-b)")
	t.Logf("policy applied on B in force on A after %s", time.Since(start))
	if !strings.Contains(string(a.raw("GET", "/api/v1/policy")), "7m") {
		t.Fatalf("A logged B's policy applied and runs:\n%s", a.raw("GET", "/api/v1/policy"))
	}
	// Both run one policy: when A announces it back, B finds it its own
	// and neither logs a conflict.
	b.waitLine(fromB, 30*time.Second, "cluster: the twin runs the same policy", "hash="+hash)
	if strings.Contains(a.logText()+b.logText(), "policy conflict") {
		t.Fatal("a policy conflict was logged for a plain apply")
	}
}
