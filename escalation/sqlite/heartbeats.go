package sqlite

import (
	"context"
	"database/sql"

	"github.com/tocsin-relay/tocsin/escalation"
)

var _ escalation.HeartbeatStore = (*DB)(nil)

// HeartbeatStates returns the stored state of every heartbeat seen so far.
func (db *DB) HeartbeatStates(ctx context.Context) ([]escalation.HeartbeatState, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, last_beat, missed_at FROM heartbeats ORDER BY id`)
	if err != nil {
		return nil, wrapErr("heartbeats", err)
	}
	defer rows.Close()
	var out []escalation.HeartbeatState
	for rows.Next() {
		var (
			s            escalation.HeartbeatState
			last, missed sql.NullInt64
		)
		if err := rows.Scan(&s.ID, &last, &missed); err != nil {
			return nil, wrapErr("heartbeats", err)
		}
		if last.Valid {
			s.LastBeat = fromMS(last.Int64)
		}
		if missed.Valid {
			s.MissedAt = fromMS(missed.Int64)
		}
		out = append(out, s)
	}
	return out, wrapErr("heartbeats", rows.Err())
}

// SaveHeartbeat stores s, replacing the heartbeat's previous state.
func (db *DB) SaveHeartbeat(ctx context.Context, s escalation.HeartbeatState) error {
	return wrapErr("save heartbeat", db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO heartbeats (id, last_beat, missed_at) VALUES (?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET last_beat = excluded.last_beat, missed_at = excluded.missed_at`,
			s.ID, nullMS(s.LastBeat), nullMS(s.MissedAt))
		return err
	}))
}
