package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// The outbox as the e-mail, push and webhook workers see it (one row at a
// time, no digests, no SMS pacing), and the acknowledge links their
// messages carry.

// ClaimChannel takes the next ready row of channel ch (most severe, then
// oldest) and marks it sending with one more attempt.
func (db *DB) ClaimChannel(ctx context.Context, ch escalation.Channel, now time.Time) (escalation.Notification, bool, error) {
	var (
		n  escalation.Notification
		ok bool
	)
	err := db.update(ctx, func(tx *sql.Tx) error {
		ok = false
		var err error
		n, err = scanOutbox(tx.QueryRow(`SELECT `+outboxCols+` FROM outbox o
			WHERE o.status = 'queued' AND o.channel = ? AND o.not_before <= ?
			ORDER BY o.severity, o.id LIMIT 1`, string(ch), ms(now)))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE outbox SET status = 'sending', attempts = attempts + 1, updated_at = ? WHERE id = ?`,
			ms(now), n.ID); err != nil {
			return err
		}
		n.Status, n.Attempts = escalation.Sending, n.Attempts+1
		covers, err := coversOf(tx, []int64{n.ID})
		if err != nil {
			return err
		}
		n.Covers, ok = covers[n.ID], true
		return nil
	})
	return n, ok, wrapErr("claim channel", err)
}

// SentBefore reports whether a row of channel ch to recipient about
// incident was sent before row id.
func (db *DB) SentBefore(ctx context.Context, ch escalation.Channel, recipient string, incident, id int64) (bool, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox o JOIN outbox_covers c ON c.outbox_id = o.id
		WHERE o.number = ? AND o.id < ? AND o.channel = ? AND o.status = 'sent' AND c.incident_id = ?`,
		recipient, id, string(ch), incident).Scan(&n)
	return n > 0, wrapErr("sent before", err)
}

// NextChannelRetry returns when the earliest held-back row of ch is ready.
func (db *DB) NextChannelRetry(ctx context.Context, ch escalation.Channel) (time.Time, bool, error) {
	var v sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT MIN(not_before) FROM outbox WHERE status = 'queued' AND channel = ?`,
		string(ch)).Scan(&v)
	if err != nil || !v.Valid {
		return time.Time{}, false, wrapErr("next retry", err)
	}
	return fromMS(v.Int64), true, nil
}

// ChannelDepth counts rows of ch waiting to be sent.
func (db *DB) ChannelDepth(ctx context.Context, ch escalation.Channel) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending') AND channel = ?`,
		string(ch)).Scan(&n)
	return n, wrapErr("channel depth", err)
}

// Followers returns one row per recipient (contact and address) that was
// sent a page (level > 0) of channel ch about incident.
func (db *DB) Followers(ctx context.Context, ch escalation.Channel, incident int64) ([]escalation.Notification, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT DISTINCT o.contact_id, o.number FROM outbox o
		JOIN outbox_covers c ON c.outbox_id = o.id
		WHERE c.incident_id = ? AND o.channel = ? AND o.status = 'sent' AND o.level > 0
		ORDER BY o.contact_id, o.number`, incident, string(ch))
	if err != nil {
		return nil, wrapErr("followers", err)
	}
	defer rows.Close()
	var out []escalation.Notification
	for rows.Next() {
		n := escalation.Notification{Channel: ch}
		if err := rows.Scan(&n.ContactID, &n.Number); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// linkKeep is how long a link is kept after it expired, so that opening
// it says "expired" rather than "unknown".
const linkKeep = 7 * 24 * time.Hour

// SaveAckLinks stores links, and drops those expired long ago.
func (db *DB) SaveAckLinks(ctx context.Context, links ...escalation.AckLink) error {
	return wrapErr("save ack links", db.update(ctx, func(tx *sql.Tx) error {
		for _, l := range links {
			if _, err := tx.Exec(`INSERT INTO ack_links (hash, incident_id, recipient, action, channel, created_at, expires_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, l.Hash, l.IncidentID, l.Recipient, string(l.Action), string(l.Channel),
				ms(l.CreatedAt), ms(l.ExpiresAt)); err != nil {
				return err
			}
		}
		if len(links) > 0 {
			_, err := tx.Exec(`DELETE FROM ack_links WHERE expires_at < ?`, ms(links[0].CreatedAt.Add(-linkKeep)))
			return err
		}
		return nil
	}))
}

// AckLink returns the link stored under hash.
func (db *DB) AckLink(ctx context.Context, hash string) (escalation.AckLink, error) {
	var (
		l                escalation.AckLink
		action, channel  string
		created, expires int64
		used             sql.NullInt64
	)
	err := db.read.QueryRowContext(ctx, `SELECT hash, incident_id, recipient, action, channel, created_at, expires_at, used_at
		FROM ack_links WHERE hash = ?`, hash).Scan(&l.Hash, &l.IncidentID, &l.Recipient, &action, &channel, &created, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return l, escalation.NotFoundf("no such link")
	}
	if err != nil {
		return l, wrapErr("ack link", err)
	}
	l.Action, l.Channel = escalation.Action(action), escalation.Channel(channel)
	l.CreatedAt, l.ExpiresAt = fromMS(created), fromMS(expires)
	if used.Valid {
		l.UsedAt = fromMS(used.Int64)
	}
	return l, nil
}

// UseAckLink marks the link used if it is unused and unexpired at now; it
// reports whether this call did.
func (db *DB) UseAckLink(ctx context.Context, hash string, now time.Time) (bool, error) {
	var won bool
	err := db.update(ctx, func(tx *sql.Tx) error {
		r, err := tx.Exec(`UPDATE ack_links SET used_at = ? WHERE hash = ? AND used_at IS NULL AND expires_at > ?`,
			ms(now), hash, ms(now))
		if err != nil {
			return err
		}
		n, _ := r.RowsAffected()
		won = n == 1
		return nil
	})
	return won, wrapErr("use ack link", err)
}
