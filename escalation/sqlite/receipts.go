package sqlite

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// reportKey is how a number is compared with a report's recipient: its
// last nine digits, so that "+819012345678" (as sent) and "09012345678" (as
// some networks report it) meet.
func reportKey(number string) string {
	var b strings.Builder
	for _, r := range number {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	if len(d) > 9 {
		d = d[len(d)-9:]
	}
	return d
}

// recordParts remembers, for the SMS rows ids just sent with the modem
// references refs ("12" or "12,13" for a concatenated message), each part,
// so that the delivery reports can find them.
func recordParts(tx *sql.Tx, ids []int64, refs string, now time.Time) error {
	if refs == "" {
		return nil
	}
	in, args := inList(ids)
	rows, err := tx.Query(`SELECT id, number FROM outbox WHERE id IN (`+in+`) AND channel = 'sms'`, args...)
	if err != nil {
		return err
	}
	type row struct {
		id     int64
		number string
	}
	var rs []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.number); err != nil {
			rows.Close()
			return err
		}
		rs = append(rs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range rs {
		for _, f := range strings.Split(refs, ",") {
			ref, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				continue
			}
			if _, err := tx.Exec(`INSERT INTO sms_parts (outbox_id, number, ref, sent_at) VALUES (?, ?, ?, ?)`,
				r.id, reportKey(r.number), ref, ms(now)); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReportedPage finds the sent SMS a delivery report for number and ref is
// about: the newest part with that recipient and reference that has no
// final report yet (references wrap at 256, so an older one is long
// settled). ok is false when nothing matches (a report for an SMS sent by
// `tocsin modem sms`, or one already settled).
func (db *DB) ReportedPage(ctx context.Context, number string, ref int) (p escalation.SentPage, ok bool, err error) {
	key := reportKey(number)
	var sentAt int64
	err = db.read.QueryRowContext(ctx, `SELECT sent_at FROM sms_parts WHERE number = ? AND ref = ? AND reported_at IS NULL
		ORDER BY id DESC LIMIT 1`, key, ref).Scan(&sentAt)
	if err == sql.ErrNoRows {
		return p, false, nil
	}
	if err != nil {
		return p, false, wrapErr("reported page", err)
	}
	p, err = db.sentPage(ctx, db.read, key, ref, sentAt)
	return p, err == nil && len(p.OutboxIDs) > 0, wrapErr("reported page", err)
}

// rowsQuerier is the read pool or a transaction.
type rowsQuerier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// sentPage gathers the outbox rows one SMS carried: every row whose part
// with this recipient and reference was sent at sentAt.
func (db *DB) sentPage(ctx context.Context, q rowsQuerier, key string, ref int, sentAt int64) (escalation.SentPage, error) {
	p := escalation.SentPage{Ref: ref, SentAt: fromMS(sentAt)}
	rows, err := q.QueryContext(ctx, `SELECT o.id, o.contact_id, o.number, o.level FROM sms_parts s
		JOIN outbox o ON o.id = s.outbox_id
		WHERE s.number = ? AND s.ref = ? AND s.sent_at = ? ORDER BY o.id`, key, ref, sentAt)
	if err != nil {
		return p, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id    int64
			level int
		)
		if err := rows.Scan(&id, &p.ContactID, &p.Number, &level); err != nil {
			return p, err
		}
		p.OutboxIDs = append(p.OutboxIDs, id)
		p.Level = max(p.Level, level)
	}
	if err := rows.Err(); err != nil || len(p.OutboxIDs) == 0 {
		return p, err
	}
	in, args := inList(p.OutboxIDs)
	crows, err := q.QueryContext(ctx, `SELECT DISTINCT incident_id FROM outbox_covers WHERE outbox_id IN (`+in+`)
		ORDER BY incident_id`, args...)
	if err != nil {
		return p, err
	}
	defer crows.Close()
	for crows.Next() {
		var id int64
		if err := crows.Scan(&id); err != nil {
			return p, err
		}
		p.Covers = append(p.Covers, id)
	}
	return p, crows.Err()
}

// RecordReport records a final delivery report for one part of page p. A
// page whose parts are all reported delivered becomes delivered; a part
// reported undeliverable fails the page. Either way the covered incidents'
// timelines get r.Timeline once. It reports whether the page is now
// settled (delivered or failed) by this report.
func (db *DB) RecordReport(ctx context.Context, p escalation.SentPage, r escalation.DeliveryReport, now time.Time) (settled bool, err error) {
	err = db.update(ctx, func(tx *sql.Tx) error {
		settled = false
		key := reportKey(p.Number)
		res, err := tx.Exec(`UPDATE sms_parts SET reported_at = ?, delivered = ?, reason = ?
			WHERE number = ? AND ref = ? AND sent_at = ? AND reported_at IS NULL`,
			ms(now), boolInt(r.Delivered), r.Reason, key, p.Ref, ms(p.SentAt))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // settled meanwhile
		}
		in, args := inList(p.OutboxIDs)
		if !r.Delivered {
			if _, err := tx.Exec(`UPDATE outbox SET status = 'failed', error = ?, updated_at = ?
				WHERE id IN (`+in+`) AND status = 'sent'`, append([]any{"not delivered: " + r.Reason, ms(now)}, args...)...); err != nil {
				return err
			}
			// The other parts of a failed page need no report any more.
			if _, err := tx.Exec(`UPDATE sms_parts SET reported_at = ?, reason = 'page failed'
				WHERE outbox_id IN (`+in+`) AND reported_at IS NULL`, append([]any{ms(now)}, args...)...); err != nil {
				return err
			}
			settled = true
			return timelineFor(tx, p.Covers, now, escalation.KindFailed, r.Timeline)
		}
		var pending int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM sms_parts WHERE outbox_id IN (`+in+`)
			AND (reported_at IS NULL OR delivered = 0)`, args...).Scan(&pending); err != nil {
			return err
		}
		if pending > 0 {
			return nil // another part of a concatenated page is still on its way
		}
		if _, err := tx.Exec(`UPDATE outbox SET delivered_at = ?, updated_at = ? WHERE id IN (`+in+`) AND status = 'sent'`,
			append([]any{ms(r.At), ms(now)}, args...)...); err != nil {
			return err
		}
		settled = true
		return timelineFor(tx, p.Covers, now, escalation.KindDelivered, r.Timeline)
	})
	return settled, wrapErr("record report", err)
}

func timelineFor(tx *sql.Tx, incidents []int64, now time.Time, kind, detail string) error {
	if detail == "" {
		return nil
	}
	for _, id := range incidents {
		if err := addTimeline(tx, id, now, kind, detail); err != nil {
			return err
		}
	}
	return nil
}

// Unreported lists the pages (level > 0) with a part sent at or before
// cutoff that has no report yet: the pages undelivered_after gives up on.
func (db *DB) Unreported(ctx context.Context, cutoff time.Time) ([]escalation.SentPage, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT DISTINCT s.number, s.ref, s.sent_at FROM sms_parts s
		JOIN outbox o ON o.id = s.outbox_id
		WHERE s.reported_at IS NULL AND s.sent_at <= ? AND o.level > 0 AND o.status = 'sent'
		ORDER BY s.sent_at LIMIT 100`, ms(cutoff))
	if err != nil {
		return nil, wrapErr("unreported", err)
	}
	type key struct {
		number string
		ref    int
		at     int64
	}
	var keys []key
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.number, &k.ref, &k.at); err != nil {
			rows.Close()
			return nil, wrapErr("unreported", err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	var out []escalation.SentPage
	for _, k := range keys {
		p, err := db.sentPage(ctx, db.read, k.number, k.ref, k.at)
		if err != nil {
			return nil, wrapErr("unreported", err)
		}
		if len(p.OutboxIDs) > 0 {
			out = append(out, p)
		}
	}
	return out, nil
}

// NextUnreported returns when the oldest page still waiting for a report
// was sent.
func (db *DB) NextUnreported(ctx context.Context) (time.Time, bool, error) {
	var v sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT MIN(s.sent_at) FROM sms_parts s JOIN outbox o ON o.id = s.outbox_id
		WHERE s.reported_at IS NULL AND o.level > 0 AND o.status = 'sent'`).Scan(&v)
	if err != nil || !v.Valid {
		return time.Time{}, false, wrapErr("next unreported", err)
	}
	return fromMS(v.Int64), true, nil
}
