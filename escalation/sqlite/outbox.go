package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// enqueue adds n to the outbox. It reports whether n made something
// claimable that was not (see claimable), so the caller wakes delivery only
// then and not once per page.
func enqueue(tx *sql.Tx, n escalation.Notification, now time.Time) (bool, error) {
	if n.Channel == "" {
		n.Channel = escalation.SMS
	}
	ready, err := claimable(tx, n.Channel, n.Number, n.Level, now)
	if err != nil {
		return false, err
	}
	var incID any
	if n.IncidentID != 0 {
		incID = n.IncidentID
	}
	r, err := tx.Exec(`INSERT INTO outbox (incident_id, contact_id, channel, number, text, status, attempts,
		policy_version, level, severity, created_at, updated_at, answer)
		VALUES (?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?, ?, ?)`,
		incID, n.ContactID, string(n.Channel), n.Number, n.Text, n.PolicyVersion, n.Level, int(n.Severity), ms(now), ms(now),
		string(n.Answer))
	if err != nil {
		return false, err
	}
	id, _ := r.LastInsertId()
	covers := n.Covers
	if len(covers) == 0 && n.IncidentID != 0 {
		covers = []int64{n.IncidentID}
	}
	for _, c := range covers {
		if _, err := tx.Exec(`INSERT OR IGNORE INTO outbox_covers (outbox_id, incident_id) VALUES (?, ?)`, id, c); err != nil {
			return false, err
		}
	}
	return ready, nil
}

// Enqueue adds notifications to the outbox.
func (db *DB) Enqueue(ctx context.Context, ns ...escalation.Notification) error {
	now := time.Now()
	return wrapErr("enqueue", db.update(ctx, func(tx *sql.Tx) error {
		for _, n := range ns {
			if _, err := enqueue(tx, n, now); err != nil {
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
// Pages go before answers and confirmations (level 0), then most severe,
// then oldest. For an SMS page, the other pages queued for the same number
// (up to maxFold) are claimed with it, so the caller can fold them into one
// digest. An SMS is claimed only for a number whose turn has come: never
// more than perMinute SMS to one number in any 60 s window (their pages
// wait and fold into a later digest); perMinute <= 0 means no limit. It
// returns nil when nothing is ready.
//
// The cost does not depend on how many messages are queued (see pace.go),
// and a call that finds nothing to claim reads only: it never takes a turn
// in the writer that ingest, acknowledgements and /healthz go through.
func (db *DB) Claim(ctx context.Context, channel escalation.Channel, perMinute int, now time.Time) ([]escalation.Notification, error) {
	if _, found, stale, err := pick(ctx, db.read, channel, perMinute, now); err != nil {
		return nil, wrapErr("claim", err)
	} else if !found && len(stale) == 0 {
		return nil, nil
	}
	var out []escalation.Notification
	err := db.update(ctx, func(tx *sql.Tx) error {
		out = nil
		// Again inside the transaction: the read above may be stale.
		bg := context.Background()
		best, found, stale, err := pick(bg, tx, channel, perMinute, now)
		if err != nil {
			return err
		}
		for number, next := range stale {
			if _, err := tx.Exec(`UPDATE sms_pace SET next_at = ? WHERE number = ?`, next, number); err != nil {
				return err
			}
		}
		if !found {
			return nil
		}
		first, err := scanOutbox(tx.QueryRow(`SELECT `+outboxCols+` FROM outbox o WHERE o.id = ?`, best.id))
		if err != nil {
			return err
		}
		out = append(out, first)
		if channel == escalation.SMS && first.Level > 0 {
			// Fold the other pages (not confirmations) for this number,
			// read in claim order from the outbox_queue index ("+" keeps
			// SQLite from sorting the number's queue by another index).
			rows, err := tx.Query(`SELECT `+outboxCols+` FROM outbox o WHERE o.status = 'queued' AND o.channel = 'sms'
				AND o.number = ? AND (o.level = 0) = 0 AND o.id != ? AND +o.not_before <= ?
				ORDER BY o.severity, o.id LIMIT ?`,
				first.Number, first.ID, ms(now), maxFold)
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
			if err := rows.Err(); err != nil {
				return err
			}
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
		if channel == escalation.SMS && perMinute > 0 && first.Level > 0 {
			// Pages use the person's turns; answers do not (see pick).
			p, err := readPace(bg, tx, first.Number)
			if err != nil {
				return err
			}
			recent := recordSend(p.recent, perMinute, ms(now))
			if _, err := tx.Exec(`INSERT INTO sms_pace (number, next_at, recent) VALUES (?, ?, ?)
				ON CONFLICT (number) DO UPDATE SET next_at = excluded.next_at, recent = excluded.recent`,
				first.Number, nextAllowed(recent, perMinute, ms(now)), formatRecent(recent)); err != nil {
				return err
			}
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

// maxFold bounds how many other pages one claim folds into a digest.
const maxFold = 50

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
		if o.Status == escalation.Sent {
			// One SMS carried these rows: remember which, for LastTold.
			q += `, sent_with = ?`
			args = append(args, ids[0])
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
		// One statement for every incident the digest covered.
		seen := map[int64]bool{}
		var rows []any
		for _, id := range ids {
			for _, inc := range covers[id] {
				if seen[inc] {
					continue
				}
				seen[inc] = true
				rows = append(rows, inc, ms(now), kind, o.Timeline)
			}
		}
		if len(rows) == 0 {
			return nil
		}
		_, err = tx.Exec(`INSERT INTO timeline (incident_id, at, kind, detail) VALUES (?, ?, ?, ?)`+
			strings.Repeat(`, (?, ?, ?, ?)`, len(rows)/4-1), rows...)
		return err
	}))
}

// RequeueInterrupted puts messages left in "sending" by a crash back in the
// queue. The message may already have left the modem; sending a page twice
// is better than never, and the timeline says so.
func (db *DB) RequeueInterrupted(ctx context.Context, now time.Time) (int, error) {
	const note = "interrupted by restart; may have been sent"
	var n int64
	err := db.update(ctx, func(tx *sql.Tx) error {
		// The timeline first, while the rows are still 'sending'.
		if _, err := tx.Exec(`INSERT INTO timeline (incident_id, at, kind, detail)
			SELECT DISTINCT c.incident_id, ?, ?, ? FROM outbox_covers c JOIN outbox o ON o.id = c.outbox_id
			WHERE o.status = 'sending'`, ms(now), escalation.KindNotify, note); err != nil {
			return err
		}
		r, err := tx.Exec(`UPDATE outbox SET status = 'queued', error = ?, updated_at = ? WHERE status = 'sending'`, note, ms(now))
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

// NextRetry returns when the next queued SMS may leave: for each number
// with SMS queued, the later of its turn (the per-minute limit) and its
// earliest retry time; the earliest of those. The delivery worker sleeps
// until then. It reads a few index entries per number, never the queue.
func (db *DB) NextRetry(ctx context.Context) (time.Time, bool, error) {
	var (
		next  int64
		found bool
	)
	for number := ""; ; {
		var (
			ok  bool
			err error
		)
		number, ok, err = nextNumber(ctx, db.read, escalation.SMS, number)
		if err != nil {
			return time.Time{}, false, wrapErr("next retry", err)
		}
		if !ok {
			break
		}
		var t int64
		// Pages wait for the number's turn and their retry time; answers,
		// which are not paced, for their retry time only.
		err = db.read.QueryRowContext(ctx, `SELECT MIN(
			COALESCE(MAX(COALESCE((SELECT next_at FROM sms_pace WHERE number = ?1), 0),
				(SELECT MIN(not_before) FROM outbox WHERE status = 'queued' AND channel = 'sms' AND number = ?1 AND level > 0)), ?2),
			COALESCE((SELECT MIN(not_before) FROM outbox WHERE status = 'queued' AND channel = 'sms' AND number = ?1 AND level = 0), ?2))`,
			number, int64(math.MaxInt64)).Scan(&t)
		if err != nil {
			return time.Time{}, false, wrapErr("next retry", err)
		}
		if !found || t < next {
			next, found = t, true
		}
	}
	if !found {
		return time.Time{}, false, nil
	}
	return fromMS(next), true, nil
}
