package cluster

import (
	"testing"
	"time"
)

// The policy rule is the same on every box: the later first-applied time
// wins, ties by hash, and a box never replaces a policy by itself.
func TestPolicyNewer(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC)
	a := policyNote{Hash: "aaa", AppliedAt: t0}
	b := policyNote{Hash: "bbb", AppliedAt: t0.Add(time.Second)}
	if !b.newer(a) || a.newer(b) {
		t.Error("the later policy does not win on both sides")
	}
	c := policyNote{Hash: "ccc", AppliedAt: t0}
	if !c.newer(a) || a.newer(c) {
		t.Error("a tie is not broken by the hash the same way on both sides")
	}
	if a.newer(a) || (policyNote{}).newer(a) {
		t.Error("the same or an empty policy replaced one")
	}
}
