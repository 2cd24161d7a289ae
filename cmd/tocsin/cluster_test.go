package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

func TestClusterConfig(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "cluster.key")
	os.WriteFile(key, []byte("MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=\n"), 0o600)
	short := filepath.Join(dir, "short.key")
	os.WriteFile(short, []byte("c2hvcnQ=\n"), 0o600)
	base := "modem: {device: sim}\ngpio: {backend: none}\n"
	c, err := parseConfig("t.yaml", []byte(base+"cluster: {name: relay-a, listen: \"127.0.0.1:7946\", peers: [\"127.0.0.1:7947\"]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster.PeerTimeout != duration(15*time.Second) || c.Cluster.PeerDownAfter != duration(time.Minute) {
		t.Errorf("defaults: %+v", c.Cluster)
	}
	c, err = parseConfig("t.yaml", []byte(base+"cluster: {peers: [\"10.0.0.2:7946\"], secret_file: "+key+"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster.Listen != "0.0.0.0:7946" || c.Cluster.Name == "" {
		t.Errorf("defaults: %+v", c.Cluster)
	}
	if k, err := readClusterKey(key); err != nil || len(k) != 32 {
		t.Errorf("key: %d bytes, %v", len(k), err)
	}
	if _, err := readClusterKey(short); err == nil || !strings.Contains(err.Error(), "32-byte") {
		t.Errorf("a short key: %v", err)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"cluster: {listen: \"0.0.0.0:7946\"}", "t.yaml:3: cluster.secret_file is required unless cluster.listen is a loopback address"},
		{"cluster: {listen: \"127.0.0.1\", secret_file: x}", "cluster.listen \"127.0.0.1\": want host:port"},
		{"cluster:\n  listen: \"127.0.0.1:1\"\n  peers: [relay-b]", "t.yaml:5: cluster.peers \"relay-b\": want host:port"},
		{"cluster: {listen: \"127.0.0.1:1\", peer_timeout: -1s}", "negative"},
	} {
		_, err := parseConfig("t.yaml", []byte(base+tc.yaml+"\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

type ingestRecorder struct{ ev escalation.Event }

func (r *ingestRecorder) Ingest(ctx context.Context, ev escalation.Event) (escalation.IngestResult, error) {
	r.ev = ev
	return escalation.IngestResult{}, nil
}

func (r *ingestRecorder) Policy() *escalation.Policy { return &escalation.Policy{} }

// In a pair each box's modem incident is its own: scoped by the box name.
func TestOwnIngestScopedByBox(t *testing.T) {
	rec := &ingestRecorder{}
	b := boxScoped{rec, "relay-a"}
	b.Ingest(context.Background(), escalation.Event{Service: "tocsin", DedupKey: "modem-health", Source: "/dev/ttyUSB2"})
	if rec.ev.DedupScope != "relay-a" || rec.ev.Source != "relay-a /dev/ttyUSB2" {
		t.Fatalf("event %+v", rec.ev)
	}
}
