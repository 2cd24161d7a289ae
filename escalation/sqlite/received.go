package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// SaveReceived stores an incoming SMS. A message seen before (same number
// and PDU, e.g. re-read after a crash before the modem deleted it) is not
// stored twice; dup reports that.
func (db *DB) SaveReceived(ctx context.Context, m escalation.ReceivedSMS) (dup bool, err error) {
	status := "new"
	if m.ConcatTotal > 1 {
		status = "part"
	}
	err = db.update(ctx, func(tx *sql.Tx) error {
		r, err := tx.Exec(`INSERT OR IGNORE INTO received_sms (received_at, number, text, pdu, sent_at,
			concat_ref, concat_total, concat_seq, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ms(m.ReceivedAt), m.Number, m.Text, m.PDU, nullMS(m.SentAt),
			nullInt(m.ConcatRef, m.ConcatTotal), nullInt(m.ConcatTotal, m.ConcatTotal), nullInt(m.ConcatSeq, m.ConcatTotal), status)
		if err != nil {
			return err
		}
		n, _ := r.RowsAffected()
		dup = n == 0
		return nil
	})
	return dup, wrapErr("save sms", err)
}

func nullInt(v, total int) any {
	if total <= 1 {
		return nil
	}
	return v
}

// Unprocessed returns complete received messages not yet acted on, oldest
// first: single messages, and concatenated ones whose parts have all
// arrived (joined in sequence order).
func (db *DB) Unprocessed(ctx context.Context) ([]escalation.ReceivedSMS, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, received_at, number, text, pdu, COALESCE(sent_at, 0),
		COALESCE(concat_ref, 0), COALESCE(concat_total, 0), COALESCE(concat_seq, 0), status
		FROM received_sms WHERE status IN ('new', 'part') ORDER BY id`)
	if err != nil {
		return nil, wrapErr("received sms", err)
	}
	defer rows.Close()
	var (
		out    []escalation.ReceivedSMS
		groups = map[string][]escalation.ReceivedSMS{}
		order  []string
	)
	for rows.Next() {
		var (
			m             escalation.ReceivedSMS
			recv, sent    int64
			ref, tot, seq int
		)
		if err := rows.Scan(&m.ID, &recv, &m.Number, &m.Text, &m.PDU, &sent, &ref, &tot, &seq, &m.Status); err != nil {
			return nil, err
		}
		m.ReceivedAt = fromMS(recv)
		if sent != 0 {
			m.SentAt = fromMS(sent)
		}
		m.ConcatRef, m.ConcatTotal, m.ConcatSeq = ref, tot, seq
		m.PartIDs = []int64{m.ID}
		if m.Status == "new" {
			out = append(out, m)
			continue
		}
		key := m.Number + "\x00" + string(rune(ref)) + "\x00" + string(rune(tot))
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, key := range order {
		parts := groups[key]
		seen := map[int]escalation.ReceivedSMS{}
		for _, p := range parts {
			if _, ok := seen[p.ConcatSeq]; !ok {
				seen[p.ConcatSeq] = p
			}
		}
		if len(seen) < parts[0].ConcatTotal {
			continue // still waiting for parts
		}
		seqs := make([]int, 0, len(seen))
		for s := range seen {
			seqs = append(seqs, s)
		}
		sort.Ints(seqs)
		var text strings.Builder
		m := parts[0]
		m.PartIDs = nil
		for _, s := range seqs {
			text.WriteString(seen[s].Text)
		}
		for _, p := range parts {
			m.PartIDs = append(m.PartIDs, p.ID)
		}
		m.Text = text.String()
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// MarkReceived records what was done with a received message.
func (db *DB) MarkReceived(ctx context.Context, ids []int64, status, contactID, result string) error {
	return wrapErr("mark sms", db.update(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			if _, err := tx.Exec(`UPDATE received_sms SET status = ?, contact_id = ?, result = ? WHERE id = ?`,
				status, contactID, result, id); err != nil {
				return err
			}
		}
		return nil
	}))
}

// Received lists received SMS, newest first.
func (db *DB) Received(ctx context.Context, limit int) ([]escalation.ReceivedSMS, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.read.QueryContext(ctx, `SELECT id, received_at, number, text, status, contact_id, result
		FROM received_sms ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, wrapErr("received sms", err)
	}
	defer rows.Close()
	var out []escalation.ReceivedSMS
	for rows.Next() {
		var (
			m    escalation.ReceivedSMS
			recv int64
		)
		if err := rows.Scan(&m.ID, &recv, &m.Number, &m.Text, &m.Status, &m.ContactID, &m.Result); err != nil {
			return nil, err
		}
		m.ReceivedAt = fromMS(recv)
		out = append(out, m)
	}
	return out, rows.Err()
}

// ExpireParts gives up on multi-part messages whose parts were received
// before before and are still incomplete: each such part is marked ignored
// with the result "expired", so it is acted on never and no longer read by
// Unprocessed. It returns the expired parts, for the log.
func (db *DB) ExpireParts(ctx context.Context, before time.Time) ([]escalation.ReceivedSMS, error) {
	var out []escalation.ReceivedSMS
	err := db.update(ctx, func(tx *sql.Tx) error {
		out = nil
		rows, err := tx.Query(`SELECT id, received_at, number, text, COALESCE(concat_ref, 0), COALESCE(concat_total, 0),
			COALESCE(concat_seq, 0) FROM received_sms WHERE status = 'part' AND received_at < ? ORDER BY id`, ms(before))
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				m    escalation.ReceivedSMS
				recv int64
			)
			if err := rows.Scan(&m.ID, &recv, &m.Number, &m.Text, &m.ConcatRef, &m.ConcatTotal, &m.ConcatSeq); err != nil {
				rows.Close()
				return err
			}
			m.ReceivedAt = fromMS(recv)
			out = append(out, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i, m := range out {
			out[i].Status = "ignored"
			out[i].Result = fmt.Sprintf("expired: part %d of %d, the rest never arrived", m.ConcatSeq, m.ConcatTotal)
			if _, err := tx.Exec(`UPDATE received_sms SET status = 'ignored', result = ? WHERE id = ?`,
				out[i].Result, m.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, wrapErr("expire sms parts", err)
}
