package sqlite

import (
	"database/sql"
	"errors"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// intakeOnce wraps ingest, the body of an ingest transaction, so that an
// event carrying an intake message is committed at most once. A
// redelivered message whose slot holds the same content was committed
// before: its recorded result is returned (marked Repeat) and ingest does
// not run. Otherwise ingest runs and the slot is recorded with its result
// in the same transaction. Events without an intake message pass through.
func intakeOnce(ev escalation.Event, res *escalation.IngestResult, now time.Time, ingest func(tx *sql.Tx) error) func(tx *sql.Tx) error {
	m := ev.Message
	if m.Slot == "" {
		return ingest
	}
	return func(tx *sql.Tx) error {
		if m.Redelivered {
			var (
				id      sql.NullInt64
				key     string
				dropped bool
			)
			err := tx.QueryRow(`SELECT incident_id, dedup_key, dropped FROM intake_messages WHERE slot = ? AND hash = ?`,
				m.Slot, m.Hash).Scan(&id, &key, &dropped)
			switch {
			case err == nil:
				*res = escalation.IngestResult{IncidentID: id.Int64, DedupKey: key, Dropped: dropped, Repeat: true}
				if id.Valid {
					var status string
					if err := tx.QueryRow(`SELECT status FROM incidents WHERE id = ?`, id.Int64).Scan(&status); err != nil {
						return err
					}
					res.Status = escalation.Status(status)
				}
				return nil
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		if err := ingest(tx); err != nil {
			return err
		}
		var incID any
		if res.IncidentID != 0 {
			incID = res.IncidentID
		}
		_, err := tx.Exec(`INSERT INTO intake_messages (slot, hash, incident_id, dedup_key, dropped, committed_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (slot) DO UPDATE SET hash = excluded.hash, incident_id = excluded.incident_id,
				dedup_key = excluded.dedup_key, dropped = excluded.dropped, committed_at = excluded.committed_at`,
			m.Slot, m.Hash, incID, res.DedupKey, boolInt(res.Dropped), ms(now))
		return err
	}
}
