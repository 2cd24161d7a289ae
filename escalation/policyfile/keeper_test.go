package policyfile_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/policyfile"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

const goodPolicy = `contacts:
  - {id: op, phone: "+819012345678"}
services:
  - {id: press, escalation_policy: p}
escalation_policies:
  - {id: p, levels: [{after: 0s, notify: [{contact: op, via: [sms]}]}]}
`

// The keeper puts policy_file in force at start, keeps the running policy
// when a changed file is invalid, and takes the next valid one, each as a
// stored version.
func TestKeeperLifecycle(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "tocsin.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	eng := escalation.NewEngine(db, nil, nil)
	file := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(file, []byte(goodPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	k := policyfile.NewKeeper(db, eng, file, nil, nil, nil)
	p, err := k.Start(ctx)
	if err != nil || p.Version != 1 || eng.Policy() != p {
		t.Fatalf("Start = v%d, %v; engine runs %p, want %p", p.Version, err, eng.Policy(), p)
	}
	if err := os.WriteFile(file, []byte("contacts: [{id: op}]\nbogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := k.ApplyFile(ctx, "SIGHUP"); escalation.KindOf(err) != escalation.Invalid {
		t.Fatalf("invalid file applied: %v", err)
	}
	if eng.Policy() != p {
		t.Fatal("a rejected policy replaced the running one")
	}
	p2, err := k.Apply(ctx, "request", []byte(goodPolicy+"settings:\n  default_region: JP\n"), "api")
	if err != nil || p2.Version != 2 || eng.Policy() != p2 {
		t.Fatalf("Apply = %+v, %v", p2, err)
	}
	// Without a file, the stored version is the one in force after a restart.
	eng2 := escalation.NewEngine(db, nil, nil)
	p3, err := policyfile.NewKeeper(db, eng2, "", nil, nil, nil).Start(ctx)
	if err != nil || p3.Version != 2 || eng2.Policy() != p3 {
		t.Fatalf("restart without a file: v%d, %v", p3.Version, err)
	}
}
