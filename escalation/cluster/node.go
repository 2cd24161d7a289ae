package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/tocsin-relay/tocsin/escalation"
)

// Store is the replication side of the store (escalation/sqlite).
type Store interface {
	EnableReplication(ctx context.Context, slot, stride int) (instance string, err error)
	ChangedSince(ctx context.Context, seq int64) ([]int64, int64, error)
	PruneChanges(ctx context.Context, seq int64) error
	ExportIncidents(ctx context.Context, ids []int64) ([]escalation.IncidentRecord, error)
	ImportIncidents(ctx context.Context, recs []escalation.IncidentRecord, hold time.Duration, now time.Time) ([]int64, int, error)
	Fingerprints(ctx context.Context) (map[int64]string, error)
	SetHold(ctx context.Context, hold time.Duration, now time.Time) error
	HoldWaiting(ctx context.Context, hold time.Duration, now time.Time) error
	SetIDFloor(id int64)
}

// Engine is told about incidents a twin changed, so that subscribers
// (console, MQTT, sirens), the escalation loop and the delivery workers
// see them, and opens the "relay unreachable" incidents.
type Engine interface {
	Ingester
	Replicated(ids ...int64)
}

// Config is a validated cluster: section (cmd/tocsin reads it).
type Config struct {
	Name      string
	Listen    string // host:port, TCP and UDP
	Advertise string // host:port; empty: memberlist's choice
	Peers     []string
	Key       []byte // 32 bytes (AES-256-GCM); nil only on loopback
	Priority  int
	// PeerTimeout is how long a standby waits for a better-placed box's
	// "sent" before paging itself; it also sets memberlist's failure
	// detection (Tuning).
	PeerTimeout   time.Duration
	PeerDownAfter time.Duration
	Log           *slog.Logger
}

// Node is this box's membership in the cluster. New starts memberlist;
// Run drives replication, roles and the twin watch until ctx ends.
type Node struct {
	cfg      Config
	store    Store
	engine   Engine      // set by Run before its goroutines start
	policies Policies    // set by Run; nil: policies do not follow
	agreed   string      // hash of the last policy both boxes ran; owned by the receiver
	modem    func() bool // set by Run: this box's modem health
	log      *slog.Logger
	ml       *memberlist.Memberlist
	watch    *Watch
	instance string
	slot     int
	stride   int

	kick  chan struct{}
	inbox chan []byte // messages from twins, handled by Run's receiver

	// peerAddrs are the configured peers' addresses (resolved): a peer
	// never seen since start is watched under its address.
	peerAddrs map[string]bool

	modemUp atomic.Bool
	role    atomic.Pointer[Role]
	merged  atomic.Int64 // duplicate incidents folded on this box
	started time.Time    // set by New: the start grace runs from here

	mu         sync.Mutex        // guards the fields below
	members    map[string]Member // every box seen, self excluded
	joinErr    string
	refusedErr string
	conflict   string
}

type nodeMeta struct {
	Priority int  `json:"p"`
	ModemUp  bool `json:"m"`
	Slot     int  `json:"s"`
	Stride   int  `json:"n"`
}

// Tuning returns memberlist's LAN configuration scaled to peerTimeout:
// a dead twin is declared after about a third of it (probe interval a
// tenth, suspicion two probes; the LAN defaults — 1 s probes, 30 s
// push/pull — apply from peer_timeout 10 s up), and the full comparison
// (push/pull) runs every two peer timeouts, at most every 30 s.
func Tuning(c *memberlist.Config, peerTimeout time.Duration) {
	probe := min(max(peerTimeout/10, 100*time.Millisecond), time.Second)
	c.ProbeInterval = probe
	c.ProbeTimeout = max(probe/2, 50*time.Millisecond)
	c.SuspicionMult = 2
	c.GossipInterval = min(probe/2, 200*time.Millisecond)
	c.PushPullInterval = min(max(2*peerTimeout, time.Second), 30*time.Second)
	c.TCPTimeout = 10 * time.Second     // push/pull carries every incident's fingerprint; a busy SD card is slow
	c.DeadNodeReclaimTime = time.Second // a restarted twin comes back under its name at once
}

// New starts memberlist on cfg.Listen, derives this box's incident id slot
// and turns on replication in store. It does not join the peers yet (Run
// does, and keeps trying).
func New(ctx context.Context, cfg Config, store Store) (*Node, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	n := &Node{cfg: cfg, store: store, log: cfg.Log,
		kick: make(chan struct{}, 1), inbox: make(chan []byte, 1024), members: map[string]Member{}}
	n.watch = NewWatch(cfg.PeerDownAfter, cfg.Log)
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("cluster.listen: %w", err)
	}
	mc := memberlist.DefaultLANConfig()
	Tuning(mc, cfg.PeerTimeout)
	mc.Name = cfg.Name
	mc.BindAddr = host
	if mc.BindPort, err = strconv.Atoi(port); err != nil {
		return nil, fmt.Errorf("cluster.listen: %w", err)
	}
	if cfg.Advertise != "" {
		ah, ap, err := net.SplitHostPort(cfg.Advertise)
		if err != nil {
			return nil, fmt.Errorf("cluster.advertise: %w", err)
		}
		mc.AdvertiseAddr = ah
		if mc.AdvertisePort, err = strconv.Atoi(ap); err != nil {
			return nil, fmt.Errorf("cluster.advertise: %w", err)
		}
	} else {
		mc.AdvertisePort = mc.BindPort
	}
	mc.SecretKey = cfg.Key
	mc.Delegate = (*delegate)(n)
	mc.Events = (*events)(n)
	mc.Logger = log.New(&logBridge{n: n}, "", 0)
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	n.ml = ml
	n.slot, n.stride = Slot(ml.LocalNode().Address(), cfg.Peers)
	n.peerAddrs = map[string]bool{}
	for _, p := range cfg.Peers {
		if a := resolve(p); a != resolve(ml.LocalNode().Address()) {
			n.peerAddrs[a] = true
		}
	}
	if n.instance, err = store.EnableReplication(ctx, n.slot, n.stride); err != nil {
		ml.Shutdown()
		return nil, err
	}
	r := Alone
	n.role.Store(&r)
	// Until the twin had a chance to answer (the start grace), this box
	// pages nothing it has not heard about: it may have been away while
	// the twin sent what it still holds as waiting.
	n.started = time.Now()
	if err := store.SetHold(ctx, n.Hold(), n.started); err != nil {
		ml.Shutdown()
		return nil, err
	}
	if len(cfg.Peers) > 0 {
		if err := store.HoldWaiting(ctx, cfg.PeerTimeout, n.started); err != nil {
			ml.Shutdown()
			return nil, err
		}
	}
	n.log.Info("cluster listening", "name", cfg.Name, "address", ml.LocalNode().Address(), "peers", cfg.Peers,
		"priority", cfg.Priority, "instance", n.instance, "id_slot", n.slot, "id_stride", n.stride, "encrypted", len(cfg.Key) > 0)
	return n, nil
}

// Slot returns this box's share of incident ids: its position among the
// sorted addresses of itself and its peers, and their number. Every box of
// a symmetric configuration (each lists the others) derives distinct
// slots without talking, so even a partition cannot hand out one id twice.
func Slot(self string, peers []string) (slot, stride int) {
	all := []string{resolve(self)}
	for _, p := range peers {
		all = append(all, resolve(p))
	}
	sort.Strings(all)
	all = slices.Compact(all)
	return slices.Index(all, resolve(self)), len(all)
}

// resolve writes a host:port as ip:port, as memberlist names addresses.
func resolve(a string) string {
	if ta, err := net.ResolveTCPAddr("tcp", a); err == nil {
		return ta.String()
	}
	return a
}

// Kick asks Run to ship changes now (the engine changed an incident).
func (n *Node) Kick() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// Role is this box's role now.
func (n *Node) Role() Role { return *n.role.Load() }

// Hold is how long this box holds a page back: peer_timeout while a
// better-placed twin may send it — a standby, or any box in its first
// peer_timeout (the start grace) — zero otherwise.
func (n *Node) Hold() time.Duration {
	switch {
	case n.Role() == Standby:
		return n.cfg.PeerTimeout
	case n.Role() == Alone && len(n.cfg.Peers) > 0 && time.Since(n.started) < n.cfg.PeerTimeout:
		return n.cfg.PeerTimeout
	}
	return 0
}

// Status is the cluster part of GET /api/v1/status.
type Status struct {
	Name    string   `json:"name"`
	Role    Role     `json:"role"`
	Members []Member `json:"members"`
	// JoinError is the last failure to reach the peers (a wrong key, a
	// wrong address), empty once a twin is alive.
	JoinError string `json:"join_error,omitempty"`
	// Refused is the last box this one refused (it could not decrypt its
	// packets: a wrong cluster key).
	Refused string `json:"refused,omitempty"`
	// SlotConflict names a twin that opens incidents in this box's id
	// slot (an asymmetric peers list).
	SlotConflict string `json:"slot_conflict,omitempty"`
	// MergedDuplicates counts incidents opened on both boxes for one alert
	// and folded into one on this box.
	MergedDuplicates int64 `json:"merged_duplicates"`
}

// Status returns the pair as this box sees it, itself first.
func (n *Node) Status() Status {
	self := n.self()
	self.Self = true
	self.State = StateAlive
	n.mu.Lock()
	s := Status{Name: n.cfg.Name, Role: n.Role(), JoinError: n.joinErr, Refused: n.refusedErr,
		SlotConflict: n.conflict, MergedDuplicates: n.merged.Load()}
	others := make([]Member, 0, len(n.members))
	for _, m := range n.members {
		others = append(others, m)
	}
	n.mu.Unlock()
	sort.Slice(others, func(i, j int) bool { return better(others[i], others[j]) })
	s.Members = append([]Member{self}, others...)
	return s
}

func (n *Node) self() Member {
	return Member{Name: n.cfg.Name, Address: n.ml.LocalNode().Address(), State: StateAlive,
		ModemUp: n.modemUp.Load(), Priority: n.cfg.Priority}
}

// Run joins the peers (and keeps trying), ships changes, applies what the
// twins send into engine, keeps the role current from modemUp (this box's
// modem health, announced to the twins), keeps one policy in force on the
// boxes through policies and watches the twins, until ctx ends; then it
// leaves the cluster.
func (n *Node) Run(ctx context.Context, engine Engine, policies Policies, modemUp func() bool) error {
	n.engine, n.policies, n.modem = engine, policies, modemUp
	n.modemUp.Store(modemUp())
	if err := n.ml.UpdateNode(time.Second); err != nil {
		n.log.Warn("cluster: announce modem state", "err", err)
	}
	// A configured twin not seen since start is missing too: a box that
	// restarts while its twin is dead still reports it.
	now := time.Now()
	for a := range n.peerAddrs {
		n.watch.Gone(a, now)
	}
	watch := func(ctx context.Context) { n.watch.Run(ctx, engine) }
	var wg sync.WaitGroup
	for _, fn := range []func(context.Context){n.joiner, n.shipper, n.receiver, n.roles, n.policyAnnouncer, watch} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(ctx)
		}()
	}
	wg.Wait()
	n.ml.Leave(time.Second)
	return n.ml.Shutdown()
}

// joiner joins the configured peers while none is alive: at start, after
// a partition, after the twin restarted with a new address.
func (n *Node) joiner(ctx context.Context) {
	every := min(max(n.cfg.PeerTimeout/4, 500*time.Millisecond), 10*time.Second)
	for {
		if len(n.cfg.Peers) > 0 && n.ml.NumMembers() < 2 {
			_, err := n.ml.Join(n.cfg.Peers)
			n.mu.Lock()
			prev := n.joinErr
			if err != nil {
				n.joinErr = err.Error()
			} else {
				n.joinErr = ""
			}
			cur := n.joinErr
			n.mu.Unlock()
			if cur != "" && cur != prev {
				n.log.Warn("cannot join the twin (wrong address or cluster key?)", "peers", n.cfg.Peers, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// Messages between twins: one type byte, then JSON.
const msgRecords byte = 'R'

// chunk is how many incidents one message carries.
const chunk = 200

// shipper sends every changed incident to every alive twin. The change log
// is read at least every 100 ms and at once when kicked; what fails to
// reach a twin is caught up by the next push/pull comparison.
func (n *Node) shipper(ctx context.Context) {
	var seq, pruned int64
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	lastPrune := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.kick:
			// Let the commits of a burst gather: one export for many.
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		case <-tick.C:
		}
		for {
			ids, next, err := n.store.ChangedSince(ctx, seq)
			if err != nil {
				n.log.Error("cluster: read changes", "err", err)
				break
			}
			if len(ids) == 0 {
				break
			}
			n.ship(ctx, ids, nil)
			seq = next
		}
		if seq > pruned && time.Since(lastPrune) > 5*time.Second {
			if err := n.store.PruneChanges(ctx, seq); err == nil {
				pruned, lastPrune = seq, time.Now()
			}
		}
	}
}

// ship exports ids and sends them to node to, or to every alive twin.
func (n *Node) ship(ctx context.Context, ids []int64, to *memberlist.Node) {
	targets := []*memberlist.Node{to}
	if to == nil {
		targets = n.twins()
	}
	if len(targets) == 0 {
		return
	}
	for len(ids) > 0 {
		part := ids[:min(len(ids), chunk)]
		ids = ids[len(part):]
		recs, err := n.store.ExportIncidents(ctx, part)
		if err != nil {
			n.log.Error("cluster: export", "err", err)
			return
		}
		body, err := json.Marshal(recs)
		if err != nil {
			n.log.Error("cluster: encode", "err", err)
			return
		}
		msg := append([]byte{msgRecords}, body...)
		for _, t := range targets {
			if err := n.ml.SendReliable(t, msg); err != nil {
				n.log.Debug("cluster: send to twin failed; the next comparison catches up", "twin", t.Name, "err", err)
			}
		}
	}
}

func (n *Node) twins() []*memberlist.Node {
	var out []*memberlist.Node
	for _, m := range n.ml.Members() {
		if m.Name != n.cfg.Name && m.State == memberlist.StateAlive {
			out = append(out, m)
		}
	}
	return out
}

// receiver applies what the twins send, one message at a time.
func (n *Node) receiver(ctx context.Context) {
	for {
		var msg []byte
		select {
		case <-ctx.Done():
			return
		case msg = <-n.inbox:
		}
		switch msg[0] {
		case msgRecords:
			var recs []escalation.IncidentRecord
			if err := json.Unmarshal(msg[1:], &recs); err != nil {
				n.log.Error("cluster: bad records from a twin", "err", err)
				continue
			}
			n.apply(ctx, recs)
		case msgState:
			var st pushState
			if err := json.Unmarshal(msg[1:], &st); err != nil {
				n.log.Error("cluster: bad state from a twin", "err", err)
				continue
			}
			n.reconcile(ctx, st)
			if st.Policy != nil {
				n.mergePolicy(ctx, *st.Policy)
			}
		case msgPolicy:
			var p policyNote
			if err := json.Unmarshal(msg[1:], &p); err != nil {
				n.log.Error("cluster: bad policy from a twin", "err", err)
				continue
			}
			n.mergePolicy(ctx, p)
		}
	}
}

func (n *Node) apply(ctx context.Context, recs []escalation.IncidentRecord) {
	changed, merged, err := n.store.ImportIncidents(ctx, recs, n.Hold(), time.Now())
	if err != nil {
		n.log.Error("cluster: import from twin", "incidents", len(recs), "err", err)
		return
	}
	if merged > 0 {
		n.merged.Add(int64(merged))
		n.log.Warn("cluster: one alert opened an incident on both boxes; folded into the lower id", "count", merged)
	}
	if len(changed) > 0 {
		n.engine.Replicated(changed...)
	}
	n.logApplied(ctx, recs, changed)
}

// logApplied writes one debug line per incident the twin's records
// changed here, after they are committed: with the twin's status, level
// and sent pages, it is how an operator follows replication in the journal.
// An incident of this box that a fold changed (the survivor or the
// duplicate of one alert opened on both boxes) has no record of its own.
func (n *Node) logApplied(ctx context.Context, recs []escalation.IncidentRecord, changed []int64) {
	if len(changed) == 0 || !n.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	byID := make(map[int64]*escalation.IncidentRecord, len(recs))
	for i := range recs {
		byID[recs[i].Incident.ID] = &recs[i]
	}
	for _, id := range changed {
		r := byID[id]
		if r == nil {
			n.log.Debug("cluster: incident changed by the twin's records", "incident", id, "fold", true)
			continue
		}
		sent := 0
		for _, p := range r.Pages {
			if p.Status == escalation.Sent || p.Status == escalation.Delivered {
				sent++
			}
		}
		n.log.Debug("cluster: incident changed by the twin's records", "incident", id, "twin_status", r.Incident.Status,
			"twin_level", r.Escalation.Level, "twin_pages_sent", sent, "twin_pages", len(r.Pages))
	}
}

const msgState byte = 'S'

// pushState is what a box sends in memberlist's push/pull: its name, the
// highest incident id it holds and a fingerprint of every incident.
type pushState struct {
	Name  string           `json:"name"`
	MaxID int64            `json:"max_id"`
	FP    map[int64]string `json:"fp"`
	// Policy is the policy in force there, with its source.
	Policy *policyNote `json:"policy,omitempty"`
}

// reconcile sends the twin every incident it lacks or holds differently.
// The twin does the same with ours, so both converge: a restarted or empty
// box catches up, a healed partition merges.
func (n *Node) reconcile(ctx context.Context, remote pushState) {
	n.store.SetIDFloor(remote.MaxID)
	local, err := n.store.Fingerprints(ctx)
	if err != nil {
		n.log.Error("cluster: fingerprints", "err", err)
		return
	}
	var ids []int64
	for id, fp := range local {
		if remote.FP[id] != fp {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return
	}
	slices.Sort(ids)
	var to *memberlist.Node
	for _, m := range n.ml.Members() {
		if m.Name == remote.Name {
			to = m
		}
	}
	if to == nil {
		return
	}
	level := slog.LevelDebug // a few in flight at every comparison is normal
	if len(ids) >= 10 {
		level = slog.LevelInfo // catching up: a restart, an empty database, a healed partition
	}
	n.log.Log(ctx, level, "cluster: sending the twin what it lacks", "twin", remote.Name, "incidents", len(ids))
	n.ship(ctx, ids, to)
}

// roles follows this box's modem and its twins, keeps the node metadata
// and the role current, and tells the store how long to hold pages.
func (n *Node) roles(ctx context.Context) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var applied time.Duration = -1
	for {
		if up := n.modem(); up != n.modemUp.Load() {
			n.modemUp.Store(up)
			n.log.Info("cluster: modem state announced to the twins", "modem_up", up)
			if err := n.ml.UpdateNode(time.Second); err != nil {
				n.log.Warn("cluster: announce modem state", "err", err)
			}
		}
		n.mu.Lock()
		members := make([]Member, 0, len(n.members))
		for _, m := range n.members {
			members = append(members, m)
		}
		n.mu.Unlock()
		r := DecideRole(n.self(), members)
		if old := n.Role(); old != r {
			n.role.Store(&r)
			n.log.Info("cluster role", "role", r, "was", old)
		}
		if h := n.Hold(); h != applied {
			if err := n.store.SetHold(ctx, h, time.Now()); err == nil {
				applied = h
				n.engine.Replicated() // released pages: wake delivery and escalation
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// delegate is the Node seen by memberlist.
type delegate Node

func (d *delegate) NodeMeta(limit int) []byte {
	n := (*Node)(d)
	b, _ := json.Marshal(nodeMeta{Priority: n.cfg.Priority, ModemUp: n.modemUp.Load(), Slot: n.slot, Stride: n.stride})
	return b
}

func (d *delegate) NotifyMsg(b []byte) {
	if len(b) == 0 {
		return
	}
	n := (*Node)(d)
	select {
	case n.inbox <- slices.Clone(b):
	default:
		n.log.Warn("cluster: inbox full; the next comparison catches up")
	}
}

func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }

func (d *delegate) LocalState(join bool) []byte {
	n := (*Node)(d)
	fp, err := n.store.Fingerprints(context.Background())
	if err != nil {
		n.log.Error("cluster: fingerprints", "err", err)
		return nil
	}
	st := pushState{Name: n.cfg.Name, FP: fp}
	if p, ok := n.currentPolicy(context.Background()); ok {
		st.Policy = &p
	}
	for id := range fp {
		st.MaxID = max(st.MaxID, id)
	}
	b, _ := json.Marshal(st)
	return b
}

func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	if len(buf) == 0 {
		return
	}
	d.NotifyMsg(append([]byte{msgState}, buf...))
}

// events keeps the member list; memberlist calls it in order.
type events Node

func (e *events) member(nd *memberlist.Node) Member {
	m := Member{Name: nd.Name, Address: nd.Address(), State: StateAlive}
	switch nd.State {
	case memberlist.StateSuspect:
		m.State = StateSuspect
	case memberlist.StateDead, memberlist.StateLeft:
		m.State = StateDead
	}
	var meta nodeMeta
	if json.Unmarshal(nd.Meta, &meta) == nil {
		m.Priority, m.ModemUp = meta.Priority, meta.ModemUp
		n := (*Node)(e)
		if meta.Stride == n.stride && meta.Slot == n.slot && nd.Name != n.cfg.Name {
			n.mu.Lock()
			if n.conflict == "" {
				n.log.Error("cluster: a twin opens incidents in this box's id slot; list each box's address in the other's peers",
					"twin", nd.Name, "slot", meta.Slot)
			}
			n.conflict = nd.Name
			n.mu.Unlock()
		}
	}
	return m
}

func (e *events) NotifyJoin(nd *memberlist.Node) { e.update(nd, true) }

func (e *events) NotifyUpdate(nd *memberlist.Node) { e.update(nd, true) }

func (e *events) NotifyLeave(nd *memberlist.Node) { e.update(nd, false) }

func (e *events) update(nd *memberlist.Node, alive bool) {
	n := (*Node)(e)
	if nd.Name == n.cfg.Name {
		return
	}
	m := e.member(nd)
	if !alive {
		m.State = StateDead
	}
	n.mu.Lock()
	old, had := n.members[m.Name]
	n.members[m.Name] = m
	if alive {
		n.joinErr = ""
	}
	n.mu.Unlock()
	if alive {
		n.watch.Seen(m.Name)
		if n.peerAddrs[resolve(m.Address)] {
			n.watch.Seen(resolve(m.Address)) // never away again under its address: its name is watched
		}
		if !had || old.State != StateAlive {
			n.log.Info("twin joined", "twin", m.Name, "address", m.Address, "priority", m.Priority, "modem_up", m.ModemUp)
		} else if old.ModemUp != m.ModemUp {
			// It moves the pair's roles: the best-placed box with a
			// working modem is the active one.
			n.log.Info("twin's modem state changed", "twin", m.Name, "modem_up", m.ModemUp)
		}
	} else {
		n.watch.Gone(m.Name, time.Now())
		n.log.Warn("twin gone", "twin", m.Name, "address", m.Address)
	}
	n.Kick()
}

// logBridge turns memberlist's log lines into structured logs, and
// remembers a refused box (a wrong key) for the status.
type logBridge struct {
	n           *Node
	mu          sync.Mutex
	lastRefused time.Time // guarded by mu
}

func (l *logBridge) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	sc := bufio.NewScanner(strings.NewReader(string(p)))
	for sc.Scan() {
		line := sc.Text()
		level, msg := slog.LevelDebug, line
		for _, lv := range []struct {
			tag   string
			level slog.Level
		}{{"[ERR] ", slog.LevelError}, {"[WARN] ", slog.LevelWarn}, {"[INFO] ", slog.LevelDebug}, {"[DEBUG] ", slog.LevelDebug}} {
			if i := strings.Index(line, lv.tag); i >= 0 {
				level, msg = lv.level, line[i+len(lv.tag):]
				break
			}
		}
		switch {
		case strings.Contains(msg, "failed to join"):
			level = slog.LevelDebug // the joiner reports it once (join_error)
		case strings.Contains(msg, "decrypt") || strings.Contains(msg, "Encryption is configured but remote state is not encrypted"):
			l.n.mu.Lock()
			l.n.refusedErr = msg
			l.n.mu.Unlock()
			// Once a minute is enough: a wrong-key box retries every second.
			level = slog.LevelDebug
			if time.Since(l.lastRefused) > time.Minute {
				level, l.lastRefused = slog.LevelError, time.Now()
			}
			msg = "refused a box that does not hold the cluster key: " + msg
		}
		l.n.log.Log(context.Background(), level, msg)
	}
	return len(p), nil
}

var _ io.Writer = (*logBridge)(nil)
