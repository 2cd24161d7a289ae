package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// The store's side of the delivery contract (escalation/delivery.go): a
// send that failed with the verdict Wait is not an attempt. The worker
// hands the claimed rows back with Release; Claim counted an attempt when
// it took them, and Release takes it back.

// Release puts the claimed messages ids back in the queue without counting
// the attempt Claim recorded: the channel was unavailable (escalation.Wait)
// and the pages wait, uncounted, for it to come back (not before retryAt,
// when it is set; the SMS worker instead waits for the modem's wake-up).
// Every channel's worker hands rows back through here. The first time a
// message waits, note goes on the timeline of every incident it pages
// about (and in the row's error); a message already waiting is not noted
// again, so an outage adds one line per page, not one per try (nor per
// outage: one line says the page had to wait; the sent line says when it
// left).
func (db *DB) Release(ctx context.Context, ids []int64, note string, retryAt, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	return wrapErr("release", db.update(ctx, func(tx *sql.Tx) error {
		// Nothing was sent: the person's turn the claim took is given
		// back (before updated_at, which identifies the claim, changes).
		if err := releasePace(tx, ids); err != nil {
			return err
		}
		in, args := inList(ids)
		// The incidents of the messages that start waiting now.
		rows, err := tx.Query(`SELECT DISTINCT c.incident_id FROM outbox_covers c JOIN outbox o ON o.id = c.outbox_id
			WHERE o.id IN (`+in+`) AND o.status = 'sending' AND o.waiting_since = 0 ORDER BY c.incident_id`, args...)
		if err != nil {
			return err
		}
		var incs []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			incs = append(incs, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE outbox SET status = 'queued', attempts = MAX(attempts - 1, 0), error = ?,
			updated_at = ?, not_before = ?, waiting_since = CASE WHEN waiting_since = 0 THEN ? ELSE waiting_since END
			WHERE id IN (`+in+`) AND status = 'sending'`, append([]any{note, ms(now), ms(retryAt), ms(now)}, args...)...); err != nil {
			return err
		}
		for _, inc := range incs {
			if err := addTimeline(tx, inc, now, escalation.KindNotify, note); err != nil {
				return err
			}
		}
		return nil
	}))
}

// NoteWaiting records, on the timeline of every incident they page about,
// that the messages queued on channel and ready to leave wait for it
// (note says why), without claiming them: the worker does not claim while
// its channel is down. Like Release it notes each message once. It returns
// how many messages it noted.
func (db *DB) NoteWaiting(ctx context.Context, ch escalation.Channel, note string, now time.Time) (int, error) {
	var n int64
	err := db.update(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO timeline (incident_id, at, kind, detail)
			SELECT DISTINCT c.incident_id, ?, ?, ? FROM outbox_covers c JOIN outbox o ON o.id = c.outbox_id
			WHERE o.status = 'queued' AND o.channel = ? AND o.not_before <= ? AND o.waiting_since = 0`,
			ms(now), escalation.KindNotify, note, string(ch), ms(now)); err != nil {
			return err
		}
		r, err := tx.Exec(`UPDATE outbox SET waiting_since = ? WHERE status = 'queued' AND channel = ?
			AND not_before <= ? AND waiting_since = 0`, ms(now), string(ch), ms(now))
		if err != nil {
			return err
		}
		n, _ = r.RowsAffected()
		return nil
	})
	return int(n), wrapErr("note waiting", err)
}
