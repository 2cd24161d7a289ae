package policyfile

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// The policy's lifecycle in the daemon: applied from policy_file at start
// (or the newest stored version), applied again when the file changes on
// disk, on SIGHUP and through the API — each time validated first, stored
// as a version, then handed to the engine. A rejected policy changes
// nothing.

// Store keeps policy versions. *sqlite.DB implements it.
type Store interface {
	ApplyPolicy(ctx context.Context, p *escalation.Policy, source []byte, by string, now time.Time) (escalation.PolicyVersion, bool, error)
	CurrentPolicy(ctx context.Context) (*escalation.Policy, []byte, escalation.PolicyVersion, error)
}

// Engine runs the policy in force. *escalation.Engine implements it.
type Engine interface {
	SetPolicy(p *escalation.Policy)
}

// Fallback is the policy used when there is no policy file and nothing is
// stored yet (the demo's).
type Fallback struct {
	Name string
	Data []byte
}

// Vet is a check of a loaded policy beyond its own validity, which only
// the daemon can make (cmd refuses the example files' phone numbers with a
// real modem). An error rejects the policy.
type Vet func(p *escalation.Policy) error

// Keeper applies policies. Apply may be called from any goroutine; applies
// are serialised. Watch owns its goroutine.
type Keeper struct {
	store    Store
	engine   Engine
	file     string    // policy_file; "" for none
	fallback *Fallback // nil: none
	vet      Vet       // nil: none
	log      *slog.Logger

	mu sync.Mutex // serialises applies (file, SIGHUP, API)
}

// NewKeeper returns the keeper of engine's policy; vet may be nil.
func NewKeeper(store Store, engine Engine, file string, fallback *Fallback, vet Vet, log *slog.Logger) *Keeper {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Keeper{store: store, engine: engine, file: file, fallback: fallback, vet: vet, log: log}
}

// Start puts the initial policy in force: policy_file when there is one
// (an invalid file stops the daemon), else the newest stored version, else
// the fallback. Without any of them nobody is paged, and the log says so.
func (k *Keeper) Start(ctx context.Context) (*escalation.Policy, error) {
	if k.file != "" {
		return k.ApplyFile(ctx, "start")
	}
	p, _, _, err := k.store.CurrentPolicy(ctx)
	switch {
	case err == nil:
		k.engine.SetPolicy(p)
		k.warnNotConfigured(p)
		return p, nil
	case escalation.KindOf(err) != escalation.NotFound:
		return nil, err
	case k.fallback != nil:
		return k.Apply(ctx, k.fallback.Name, k.fallback.Data, "demo")
	}
	k.log.Warn("no policy applied yet: alerts are recorded but nobody is paged; run `tocsin policy apply FILE`")
	p = &escalation.Policy{}
	k.engine.SetPolicy(p)
	return p, nil
}

// ApplyFile applies policy_file again (by says why: "SIGHUP", "file
// change").
func (k *Keeper) ApplyFile(ctx context.Context, by string) (*escalation.Policy, error) {
	if k.file == "" {
		return nil, escalation.NotFoundf("no policy_file configured")
	}
	data, err := os.ReadFile(k.file)
	if err != nil {
		return nil, err
	}
	return k.Apply(ctx, k.file, data, by)
}

// Apply validates and stores a policy and hands it to the engine. A
// rejected policy changes nothing.
func (k *Keeper) Apply(ctx context.Context, name string, data []byte, by string) (*escalation.Policy, error) {
	return k.ApplyAt(ctx, name, data, by, time.Now())
}

// ApplyAt is Apply recording the policy as applied at at: a twin relay's
// policy keeps the time it was applied on the twin, so both boxes compare
// the same versions the same way (escalation/cluster).
func (k *Keeper) ApplyAt(ctx context.Context, name string, data []byte, by string, at time.Time) (*escalation.Policy, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	p, err := Load(name, data)
	if err == nil && k.vet != nil {
		err = k.vet(p)
	}
	if err != nil {
		return nil, &escalation.Error{Kind: escalation.Invalid, Field: "policy", Msg: "policy rejected", Err: err}
	}
	v, changed, err := k.store.ApplyPolicy(ctx, p, data, by, at)
	if err != nil {
		return nil, err
	}
	p.Version = v.Version
	k.engine.SetPolicy(p)
	if changed || by == "start" {
		if changed {
			k.log.Info("policy applied", "version", v.Version, "hash", v.Hash[:min(12, len(v.Hash))], "by", by, "from", name)
		}
		k.warnNotConfigured(p)
	}
	return p, nil
}

// warnNotConfigured logs, in the words the status shows, that the policy
// in force pages nobody (escalation.CheckReadiness).
func (k *Keeper) warnNotConfigured(p *escalation.Policy) {
	if r := escalation.CheckReadiness(p); !r.Configured {
		k.log.Warn(r.Reason, "policy_version", p.Version)
	}
}

// Watch applies policy_file again when it changes on disk (an editor's
// save, a config-management push), looking every 2 seconds, until ctx
// ends. A file that does not pass validation is reported and the running
// policy stays.
func (k *Keeper) Watch(ctx context.Context) error {
	if k.file == "" {
		return nil
	}
	stamp := func() string {
		fi, err := os.Stat(k.file)
		if err != nil {
			return "missing"
		}
		return fmt.Sprintf("%d/%d", fi.ModTime().UnixNano(), fi.Size())
	}
	last := stamp()
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now := stamp()
		if now == last || now == "missing" {
			continue
		}
		last = now
		if _, err := k.ApplyFile(ctx, "file change"); err != nil {
			k.log.Error("changed policy file rejected; the running policy is unchanged", "file", k.file, "err", err)
		}
	}
}
