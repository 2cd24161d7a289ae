package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// LastTold returns the incidents named in the last page or digest sent to
// number by SMS (the rows Finish marked with one sent_with), whatever their
// status now, oldest first. Confirmations and other answers (level 0) are
// not pages and do not count; pages still queued were not told yet.
func (db *DB) LastTold(ctx context.Context, number string) ([]escalation.Incident, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+incidentCols+incidentFrom+` WHERE i.id IN (
		SELECT c.incident_id FROM outbox o JOIN outbox_covers c ON c.outbox_id = o.id
		WHERE o.sent_with = (SELECT sent_with FROM outbox
			WHERE number = ? AND status = 'sent' AND level > 0 AND channel = 'sms' AND sent_with IS NOT NULL
			ORDER BY updated_at DESC, id DESC LIMIT 1))
		ORDER BY i.id`, number)
	if err != nil {
		return nil, wrapErr("last told", err)
	}
	defer rows.Close()
	var out []escalation.Incident
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, wrapErr("last told", err)
		}
		out = append(out, inc)
	}
	return out, wrapErr("last told", rows.Err())
}

// EnqueueAnswer queues n unless max answers of n.Answer's kind were queued
// for n.Number after since. Counting and inserting in one transaction keeps
// the bound exact even if two replies are answered at once.
func (db *DB) EnqueueAnswer(ctx context.Context, n escalation.Notification, max int, since, now time.Time) (bool, error) {
	var queued bool
	err := db.update(ctx, func(tx *sql.Tx) error {
		queued = false
		var count int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM outbox WHERE number = ? AND answer = ? AND created_at > ?`,
			n.Number, string(n.Answer), ms(since)).Scan(&count); err != nil {
			return err
		}
		if count >= max {
			return nil
		}
		queued = true
		_, err := enqueue(tx, n, now)
		return err
	})
	return queued, wrapErr("enqueue answer", err)
}
