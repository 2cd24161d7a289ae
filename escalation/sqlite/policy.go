package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// PolicyVersion describes one applied policy (the domain's type, so the
// policy lifecycle in escalation/policyfile can name it).
type PolicyVersion = escalation.PolicyVersion

// ApplyPolicy stores p as a new version unless it is identical (same hash)
// to the current one. source is the YAML as written by its author. The
// caller validates p first: a rejected policy never reaches the store.
func (db *DB) ApplyPolicy(ctx context.Context, p *escalation.Policy, source []byte, by string, now time.Time) (PolicyVersion, bool, error) {
	body, err := json.Marshal(p)
	if err != nil {
		return PolicyVersion{}, false, err
	}
	sum := sha256.Sum256(body)
	v := PolicyVersion{AppliedAt: now.UTC(), AppliedBy: by, Hash: hex.EncodeToString(sum[:])}
	changed := false
	err = db.update(ctx, func(tx *sql.Tx) error {
		changed = false
		var cur sql.NullString
		var curVersion sql.NullInt64
		err := tx.QueryRow(`SELECT version, hash FROM policy_versions ORDER BY version DESC LIMIT 1`).Scan(&curVersion, &cur)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if cur.Valid && cur.String == v.Hash {
			v.Version = curVersion.Int64
			return nil
		}
		r, err := tx.Exec(`INSERT INTO policy_versions (applied_at, applied_by, hash, source, policy) VALUES (?, ?, ?, ?, ?)`,
			ms(now), by, v.Hash, string(source), string(body))
		if err != nil {
			return err
		}
		v.Version, _ = r.LastInsertId()
		changed = true
		return nil
	})
	if err != nil {
		return PolicyVersion{}, false, wrapErr("apply policy", err)
	}
	return v, changed, nil
}

// CurrentPolicy returns the newest applied policy and its source, or
// NotFound when none was ever applied.
func (db *DB) CurrentPolicy(ctx context.Context) (*escalation.Policy, []byte, PolicyVersion, error) {
	var (
		v            PolicyVersion
		at           int64
		source, body string
	)
	err := db.read.QueryRowContext(ctx, `SELECT version, applied_at, applied_by, hash, source, policy
		FROM policy_versions ORDER BY version DESC LIMIT 1`).Scan(&v.Version, &at, &v.AppliedBy, &v.Hash, &source, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, v, escalation.NotFoundf("no policy has been applied")
	}
	if err != nil {
		return nil, nil, v, wrapErr("policy", err)
	}
	v.AppliedAt = fromMS(at)
	var p escalation.Policy
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		return nil, nil, v, fmt.Errorf("stored policy version %d: %w", v.Version, err)
	}
	p.Version = v.Version
	return &p, []byte(source), v, nil
}

// PolicyVersions lists applied versions, newest first.
func (db *DB) PolicyVersions(ctx context.Context) ([]PolicyVersion, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT version, applied_at, applied_by, hash FROM policy_versions ORDER BY version DESC`)
	if err != nil {
		return nil, wrapErr("policy versions", err)
	}
	defer rows.Close()
	var out []PolicyVersion
	for rows.Next() {
		var (
			v  PolicyVersion
			at int64
		)
		if err := rows.Scan(&v.Version, &at, &v.AppliedBy, &v.Hash); err != nil {
			return nil, err
		}
		v.AppliedAt = fromMS(at)
		out = append(out, v)
	}
	return out, rows.Err()
}
