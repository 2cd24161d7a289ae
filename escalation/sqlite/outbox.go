package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

func enqueue(tx *sql.Tx, n escalation.Notification, now time.Time) error {
	if n.Channel == "" {
		n.Channel = escalation.SMS
	}
	var incID any
	if n.IncidentID != 0 {
		incID = n.IncidentID
	}
	r, err := tx.Exec(`INSERT INTO outbox (incident_id, contact_id, channel, number, text, status, attempts,
		policy_version, level, severity, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?, ?)`,
		incID, n.ContactID, string(n.Channel), n.Number, n.Text, n.PolicyVersion, n.Level, int(n.Severity), ms(now), ms(now))
	if err != nil {
		return err
	}
	id, _ := r.LastInsertId()
	covers := n.Covers
	if len(covers) == 0 && n.IncidentID != 0 {
		covers = []int64{n.IncidentID}
	}
	for _, c := range covers {
		if _, err := tx.Exec(`INSERT OR IGNORE INTO outbox_covers (outbox_id, incident_id) VALUES (?, ?)`, id, c); err != nil {
			return err
		}
	}
	return nil
}

// Enqueue adds notifications to the outbox.
func (db *DB) Enqueue(ctx context.Context, ns ...escalation.Notification) error {
	now := time.Now()
	return wrapErr("enqueue", db.update(ctx, func(tx *sql.Tx) error {
		for _, n := range ns {
			if err := enqueue(tx, n, now); err != nil {
				return err
			}
		}
		return nil
	}))
}

const outboxCols = `o.id, COALESCE(o.incident_id, 0), o.contact_id, o.channel, o.number, o.text, o.status,
	o.attempts, o.modem_ref, o.error, o.policy_version, o.level, o.severity, o.created_at, o.updated_at, o.delivered_at`

func scanOutbox(r scanner) (escalation.Notification, error) {
	var (
		n                escalation.Notification
		channel, status  string
		created, updated int64
		delivered        sql.NullInt64
	)
	err := r.Scan(&n.ID, &n.IncidentID, &n.ContactID, &channel, &n.Number, &n.Text, &status,
		&n.Attempts, &n.ModemRef, &n.Error, &n.PolicyVersion, &n.Level, &n.Severity, &created, &updated, &delivered)
	n.Channel = escalation.Channel(channel)
	n.Status = escalation.NotificationStatus(status)
	if delivered.Valid && n.Status == escalation.Sent {
		n.Status = escalation.Delivered // the network reported it on the handset
		n.DeliveredAt = timePtr(delivered)
	}
	n.CreatedAt, n.UpdatedAt = fromMS(created), fromMS(updated)
	return n, err
}

// Claim takes the next message to send on channel and marks it sending.
// Pages go most severe first, then oldest. For an SMS page, every other
// page queued for the same number is claimed with it, so the caller can
// fold them into one digest. Numbers that were sent perMinute SMS in the last minute are
// skipped (their pages wait and fold into a later digest); perMinute <= 0
// means no limit. It returns nil when nothing is ready.
func (db *DB) Claim(ctx context.Context, channel escalation.Channel, perMinute int, now time.Time) ([]escalation.Notification, error) {
	var out []escalation.Notification
	err := db.update(ctx, func(tx *sql.Tx) error {
		out = nil
		q := `SELECT ` + outboxCols + ` FROM outbox o WHERE o.status = 'queued' AND o.channel = ? AND o.not_before <= ?`
		args := []any{string(channel), ms(now)}
		if perMinute > 0 && channel == escalation.SMS {
			q += ` AND (SELECT COUNT(*) FROM outbox s WHERE s.number = o.number AND s.channel = 'sms'
				AND s.status IN ('sending', 'sent') AND s.updated_at > ? AND s.attempts > 0) < ?`
			args = append(args, ms(now.Add(-time.Minute)), perMinute)
		}
		q += ` ORDER BY o.severity, o.id LIMIT 1`
		first, err := scanOutbox(tx.QueryRow(q, args...))
		if err == sql.ErrNoRows {
			return nil
		}
		if err != nil {
			return err
		}
		out = append(out, first)
		if channel == escalation.SMS && first.Level > 0 {
			// Fold the other pages (not confirmations) for this number.
			rows, err := tx.Query(`SELECT `+outboxCols+` FROM outbox o WHERE o.status = 'queued' AND o.channel = 'sms'
				AND o.number = ? AND o.id != ? AND o.not_before <= ? AND o.level > 0 ORDER BY o.severity, o.id LIMIT 50`,
				first.Number, first.ID, ms(now))
			if err != nil {
				return err
			}
			for rows.Next() {
				n, err := scanOutbox(rows)
				if err != nil {
					rows.Close()
					return err
				}
				out = append(out, n)
			}
			rows.Close()
		}
		ids := make([]int64, len(out))
		for i := range out {
			ids[i] = out[i].ID
			out[i].Status = escalation.Sending
			out[i].Attempts++
		}
		in, args := inList(ids)
		if _, err := tx.Exec(`UPDATE outbox SET status = 'sending', attempts = attempts + 1, updated_at = ?
			WHERE id IN (`+in+`)`, append([]any{ms(now)}, args...)...); err != nil {
			return err
		}
		covers, err := coversOf(tx, ids)
		if err != nil {
			return err
		}
		for i := range out {
			out[i].Covers = covers[out[i].ID]
		}
		return nil
	})
	return out, wrapErr("claim", err)
}

// inList returns "?, ?, ?" for ids and the ids as arguments.
func inList(ids []int64) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", "), args
}

// coversOf returns, for each outbox row in ids, the incidents it pages
// about, in one query.
func coversOf(tx *sql.Tx, ids []int64) (map[int64][]int64, error) {
	in, args := inList(ids)
	rows, err := tx.Query(`SELECT outbox_id, incident_id FROM outbox_covers WHERE outbox_id IN (`+in+`)
		ORDER BY outbox_id, incident_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	covers := map[int64][]int64{}
	for rows.Next() {
		var o, inc int64
		if err := rows.Scan(&o, &inc); err != nil {
			return nil, err
		}
		covers[o] = append(covers[o], inc)
	}
	return covers, rows.Err()
}

// Finish records the outcome of sending the claimed messages ids, and on
// the timeline of every incident they page about.
func (db *DB) Finish(ctx context.Context, ids []int64, o escalation.Outcome, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	return wrapErr("finish", db.update(ctx, func(tx *sql.Tx) error {
		in, idArgs := inList(ids)
		q := `UPDATE outbox SET status = ?, modem_ref = ?, error = ?, updated_at = ?, not_before = ?`
		args := []any{string(o.Status), o.Ref, o.Error, ms(now), ms(o.RetryAt)}
		if o.Text != "" {
			q += `, text = ?`
			args = append(args, o.Text)
		}
		q += ` WHERE id IN (` + in + `) AND status = 'sending'`
		if _, err := tx.Exec(q, append(args, idArgs...)...); err != nil {
			return err
		}
		if o.Status == escalation.Sent {
			if err := recordParts(tx, ids, o.Ref, now); err != nil {
				return err
			}
		}
		if o.Timeline == "" {
			return nil
		}
		kind := escalation.KindSent
		switch o.Status {
		case escalation.Failed:
			kind = escalation.KindFailed
		case escalation.Queued:
			kind = escalation.KindNotify
		}
		covers, err := coversOf(tx, ids)
		if err != nil {
			return err
		}
		seen := map[int64]bool{}
		for _, id := range ids {
			for _, inc := range covers[id] {
				if seen[inc] {
					continue
				}
				seen[inc] = true
				if err := addTimeline(tx, inc, now, kind, o.Timeline); err != nil {
					return err
				}
			}
		}
		return nil
	}))
}

// RequeueInterrupted puts messages left in "sending" by a crash back in the
// queue. The message may already have left the modem; sending a page twice
// is better than never, and the timeline says so.
func (db *DB) RequeueInterrupted(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := db.update(ctx, func(tx *sql.Tx) error {
		r, err := tx.Exec(`UPDATE outbox SET status = 'queued', error = 'interrupted by restart; may have been sent',
			updated_at = ? WHERE status = 'sending'`, ms(now))
		if err != nil {
			return err
		}
		n, _ = r.RowsAffected()
		return nil
	})
	return int(n), wrapErr("requeue", err)
}

// OutboxFilter selects outbox rows.
type OutboxFilter struct {
	IncidentID int64
	Status     escalation.NotificationStatus
	Limit      int
}

// Outbox lists messages, newest first.
func (db *DB) Outbox(ctx context.Context, f OutboxFilter) ([]escalation.Notification, error) {
	var (
		where []string
		args  []any
	)
	if f.IncidentID != 0 {
		where = append(where, "o.id IN (SELECT outbox_id FROM outbox_covers WHERE incident_id = ?)")
		args = append(args, f.IncidentID)
	}
	if f.Status != "" {
		where = append(where, "o.status = ?")
		args = append(args, string(f.Status))
	}
	q := `SELECT ` + outboxCols + ` FROM outbox o`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q += fmt.Sprintf(" ORDER BY o.id DESC LIMIT %d", f.Limit)
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrapErr("outbox", err)
	}
	defer rows.Close()
	var out []escalation.Notification
	for rows.Next() {
		n, err := scanOutbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// OutboxDepth counts messages waiting to be sent.
func (db *DB) OutboxDepth(ctx context.Context) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending')`).Scan(&n)
	return n, wrapErr("outbox depth", err)
}

// NextRetry returns when the earliest held-back message becomes ready.
func (db *DB) NextRetry(ctx context.Context) (time.Time, bool, error) {
	var v sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT MIN(not_before) FROM outbox WHERE status = 'queued'`).Scan(&v)
	if err != nil || !v.Valid {
		return time.Time{}, false, wrapErr("next retry", err)
	}
	return fromMS(v.Int64), true, nil
}
