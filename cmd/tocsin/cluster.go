package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/cluster"
	"github.com/tocsin-relay/tocsin/escalation/phone"
)

// ClusterConfig is the cluster: section (docs/reference.md §12, docs/twin.md): twin
// relays on hashicorp/memberlist.
type ClusterConfig struct {
	Name          string   `yaml:"name"`
	Listen        string   `yaml:"listen"`
	Advertise     string   `yaml:"advertise"`
	Peers         []string `yaml:"peers"`
	SecretFile    string   `yaml:"secret_file"`
	Priority      int      `yaml:"priority"`
	PeerTimeout   duration `yaml:"peer_timeout"`
	PeerDownAfter duration `yaml:"peer_down_after"`
}

// validateCluster fills the defaults and checks the section.
func (c *Config) validateCluster(root *yaml.Node) configErrors {
	k := c.Cluster
	if k == nil {
		return nil
	}
	var errs configErrors
	bad := func(msg string, path ...string) {
		errs = append(errs, configError{File: c.file, Line: nodeLine(root, append([]string{"cluster"}, path...)...), Msg: msg})
	}
	if k.Name == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			bad("cluster.name is required (the hostname is unknown)")
		}
		k.Name = h
	}
	if k.Listen == "" {
		k.Listen = "0.0.0.0:7946"
	}
	host, _, err := net.SplitHostPort(k.Listen)
	if err != nil {
		bad(fmt.Sprintf("cluster.listen %q: want host:port", k.Listen), "listen")
	}
	if k.Advertise != "" {
		if _, _, err := net.SplitHostPort(k.Advertise); err != nil {
			bad(fmt.Sprintf("cluster.advertise %q: want host:port", k.Advertise), "advertise")
		}
	}
	for i, p := range k.Peers {
		if _, _, err := net.SplitHostPort(p); err != nil {
			bad(fmt.Sprintf("cluster.peers %q: want host:port", p), "peers", strconv.Itoa(i))
		}
	}
	if k.SecretFile == "" && err == nil && !isLoopback(host) {
		bad("cluster.secret_file is required unless cluster.listen is a loopback address: gossip and state transfer must be encrypted", "listen")
	}
	if k.PeerTimeout == 0 {
		k.PeerTimeout = duration(15 * time.Second)
	}
	if k.PeerDownAfter == 0 {
		k.PeerDownAfter = duration(time.Minute)
	}
	return errs
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// readClusterKey reads the base64 32-byte key (AES-256-GCM).
func readClusterKey(file string) ([]byte, error) {
	if file == "" {
		return nil, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("cluster.secret_file: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("cluster.secret_file %s: want a base64 32-byte key (head -c 32 /dev/urandom | base64)", file)
	}
	return key, nil
}

// startCluster starts memberlist and replication when the config has a
// cluster: section; the returned store is what the engine must work from
// (a standby takes escalation steps peer_timeout late).
func (d *daemon) startCluster(ctx context.Context) (escalation.Store, error) {
	k := d.cfg.Cluster
	if k == nil {
		// A box taken out of a pair stops logging changes and pages at once.
		return d.db, d.db.DisableReplication(ctx)
	}
	key, err := readClusterKey(k.SecretFile)
	if err != nil {
		return nil, err
	}
	d.node, err = cluster.New(ctx, cluster.Config{Name: k.Name, Listen: k.Listen, Advertise: k.Advertise, Peers: k.Peers,
		Key: key, Priority: k.Priority, PeerTimeout: time.Duration(k.PeerTimeout), PeerDownAfter: time.Duration(k.PeerDownAfter),
		Log: d.log.With("part", "cluster")}, d.db)
	if err != nil {
		return nil, err
	}
	return cluster.NewHeldStore(d.db, d.node), nil
}

// runCluster runs replication beside the engine, and exports the pair's
// state as metrics.
func (d *daemon) runCluster(run func(name string, fn func(ctx context.Context))) (cancel func()) {
	if d.node == nil {
		return func() {}
	}
	d.obs.metrics.Registry().MustRegister(clusterCollector{d.node})
	cancelSub := d.engine.Subscribe(func(escalation.Incident) { d.node.Kick() })
	run("cluster", func(ctx context.Context) {
		if err := d.node.Run(ctx, d.engine, twinPolicies{d}, func() bool { return d.modemMetrics().Up }); err != nil {
			d.log.Error("cluster stopped", "err", err)
		}
	})
	return cancelSub
}

var (
	clusterMembersDesc = prometheus.NewDesc("tocsin_cluster_members", "Relays of the cluster by state, this one included.", []string{"state"}, nil)
	clusterRoleDesc    = prometheus.NewDesc("tocsin_cluster_role", "This relay's role: 1 for the role it has.", []string{"role"}, nil)
)

type clusterCollector struct{ n *cluster.Node }

func (c clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- clusterMembersDesc
	ch <- clusterRoleDesc
}

func (c clusterCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.n.Status()
	count := map[string]int{cluster.StateAlive: 0, cluster.StateSuspect: 0, cluster.StateDead: 0}
	for _, m := range s.Members {
		count[m.State]++
	}
	for state, n := range count {
		ch <- prometheus.MustNewConstMetric(clusterMembersDesc, prometheus.GaugeValue, float64(n), state)
	}
	for _, r := range []cluster.Role{cluster.Active, cluster.Standby, cluster.Alone} {
		v := 0.0
		if s.Role == r {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(clusterRoleDesc, prometheus.GaugeValue, v, string(r))
	}
}

// twinPolicies lets the cluster read the policy in force and apply a
// twin's through the policy keeper, like any other apply.
type twinPolicies struct{ d *daemon }

func (p twinPolicies) Current(ctx context.Context) ([]byte, escalation.PolicyVersion, error) {
	_, src, v, err := p.d.db.CurrentPolicy(ctx)
	return src, v, err
}

func (p twinPolicies) ApplyAt(ctx context.Context, source []byte, by string, at time.Time) error {
	_, err := p.d.policy.ApplyAt(ctx, "twin", source, by, at)
	return err
}

// printPair writes the twin relays' lines of `tocsin status` in w's
// language: this box's role, then every box with its state, modem and
// priority.
func printPair(out io.Writer, w statusWords, c cluster.Status) {
	indent := strings.Repeat(" ", w.Col)
	fmt.Fprintf(out, w.label(w.Pair)+w.PairRole+"\n", c.Name, c.Role)
	for _, m := range c.Members {
		modem := w.PairModemUp
		if !m.ModemUp {
			modem = w.PairModemDown
		}
		who := m.Name
		if m.Self {
			who += w.PairSelf
		}
		state := m.State
		if state != cluster.StateAlive {
			state = strings.ToUpper(state)
		}
		fmt.Fprintf(out, indent+w.PairMember+"\n", who, m.Address, state, modem, m.Priority)
	}
	if c.JoinError != "" {
		fmt.Fprintf(out, w.label(w.Warning)+w.PairJoinError+"\n", strings.Join(strings.Fields(c.JoinError), " "))
	}
	if c.Refused != "" {
		fmt.Fprintf(out, w.label(w.Warning)+w.PairRefused+"\n", c.Refused)
	}
	if c.SlotConflict != "" {
		fmt.Fprintf(out, w.label(w.Warning)+w.PairSlotConflict+"\n", c.SlotConflict)
	}
}

// ownIngest is where this box reports faults of its own hardware (its
// modem): in a pair, each box's report is its own incident (the dedup
// scope is the box's name), so one box's modem coming back never resolves
// the other's.
func (d *daemon) ownIngest() phone.Ingester {
	if d.cfg.Cluster == nil {
		return d.engine
	}
	return boxScoped{d.engine, d.cfg.Cluster.Name}
}

type boxScoped struct {
	phone.Ingester
	scope string
}

func (b boxScoped) Ingest(ctx context.Context, ev escalation.Event) (escalation.IngestResult, error) {
	ev.DedupScope = b.scope
	if ev.Source == "" || !strings.Contains(ev.Source, b.scope) {
		ev.Source = strings.TrimSpace(b.scope + " " + ev.Source)
	}
	return b.Ingester.Ingest(ctx, ev)
}
