package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// Policy follows: a policy applied on either box is in force on both. Each
// box announces the policy it runs (its source, hash and the time it was
// first applied, on whichever box) when it changes and in every push/pull.
// A box that hears of a different policy applies it only if it is newer —
// a later first-applied time, ties broken by the hash — so when both boxes
// got a different policy during a partition, both end with the same one,
// and each logs the conflict and its outcome.

// Policies reads and applies policies (cmd wires the store and the
// policy keeper).
type Policies interface {
	// Current is the policy in force, its YAML source and version.
	Current(ctx context.Context) (source []byte, v escalation.PolicyVersion, err error)
	// ApplyAt validates and applies source as applied at at.
	ApplyAt(ctx context.Context, source []byte, by string, at time.Time) error
}

const msgPolicy byte = 'P'

// policyNote is a policy as announced to the twins.
type policyNote struct {
	From      string    `json:"from"`
	Hash      string    `json:"hash"`
	AppliedAt time.Time `json:"applied_at"`
	AppliedBy string    `json:"applied_by"`
	Source    []byte    `json:"source,omitempty"`
}

// newer reports whether a should replace b: the same rule on every box.
func (a policyNote) newer(b policyNote) bool {
	if a.Hash == b.Hash || a.Hash == "" {
		return false
	}
	if !a.AppliedAt.Equal(b.AppliedAt) {
		return a.AppliedAt.After(b.AppliedAt)
	}
	return a.Hash > b.Hash
}

func (n *Node) currentPolicy(ctx context.Context) (policyNote, bool) {
	if n.policies == nil {
		return policyNote{}, false
	}
	src, v, err := n.policies.Current(ctx)
	if err != nil {
		return policyNote{}, false
	}
	return policyNote{From: n.cfg.Name, Hash: v.Hash, AppliedAt: v.AppliedAt.UTC(), AppliedBy: v.AppliedBy, Source: src}, true
}

// policyAnnouncer sends the policy to the twins whenever it changes here
// (looked at every second) or a twin joins.
func (n *Node) policyAnnouncer(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last, twins := "", 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cur, ok := n.currentPolicy(ctx)
		t := len(n.twins())
		if !ok || (cur.Hash == last && t <= twins) {
			twins = t
			continue
		}
		body, _ := json.Marshal(cur)
		sent := false
		for _, tw := range n.twins() {
			if err := n.ml.SendReliable(tw, append([]byte{msgPolicy}, body...)); err == nil {
				sent = true
			}
		}
		if sent || t == 0 {
			last, twins = cur.Hash, t
		}
	}
}

// mergePolicy applies a twin's policy if it is newer than ours. A
// conflict — both boxes got a different policy since they last ran the
// same one (a partition) — is resolved by the same rule on both and
// logged on both.
func (n *Node) mergePolicy(ctx context.Context, remote policyNote) {
	local, ok := n.currentPolicy(ctx)
	if !ok || remote.Hash == "" {
		return
	}
	if remote.Hash == local.Hash {
		if n.agreed != local.Hash {
			// Said once per change, not at every comparison: from here a
			// policy that differs is a conflict again.
			n.log.Debug("cluster: the twin runs the same policy", "twin", remote.From, "hash", short(local.Hash))
		}
		n.agreed = local.Hash
		return
	}
	conflict := local.Hash != n.agreed && remote.Hash != n.agreed // "": never agreed (first join)
	if !remote.newer(local) || len(remote.Source) == 0 {
		if conflict {
			n.log.Warn("cluster: policy conflict: this box's policy is newer and stays; the twin takes it",
				"twin", remote.From, "twin_hash", short(remote.Hash), "local_hash", short(local.Hash), "local_applied_at", local.AppliedAt)
		}
		return
	}
	if conflict {
		n.log.Warn("cluster: policy conflict: the twin's policy is newer and is applied here too",
			"twin", remote.From, "twin_hash", short(remote.Hash), "twin_applied_at", remote.AppliedAt,
			"local_hash", short(local.Hash), "local_applied_at", local.AppliedAt)
	} else {
		n.log.Info("cluster: applying the policy applied on the twin", "twin", remote.From, "hash", short(remote.Hash))
	}
	by := fmt.Sprintf("%s (on %s)", remote.AppliedBy, remote.From)
	if err := n.policies.ApplyAt(ctx, remote.Source, by, remote.AppliedAt); err != nil {
		n.log.Error("cluster: the twin's policy is rejected here; the running policy stays", "twin", remote.From, "err", err)
		return
	}
	n.agreed = remote.Hash
}

func short(h string) string { return h[:min(12, len(h))] }
