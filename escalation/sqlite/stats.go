package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// Stats counts incidents, alerts and notifications for the metrics
// exporter. ackBuckets are the upper bounds of the time-to-acknowledge
// histogram, ascending. Every figure comes from one read transaction, so
// the numbers agree with each other.
func (db *DB) Stats(ctx context.Context, ackBuckets []time.Duration) (escalation.Stats, error) {
	var s escalation.Stats
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return s, wrapErr("stats", err)
	}
	defer tx.Rollback()

	rows, err := tx.QueryContext(ctx, `SELECT service, status, COUNT(*) FROM incidents GROUP BY service, status ORDER BY service, status`)
	if err != nil {
		return s, wrapErr("stats: incidents", err)
	}
	for rows.Next() {
		var c escalation.IncidentCount
		if err := rows.Scan(&c.Service, &c.Status, &c.N); err != nil {
			rows.Close()
			return s, wrapErr("stats: incidents", err)
		}
		s.Incidents = append(s.Incidents, c)
	}
	rows.Close()

	rows, err = tx.QueryContext(ctx, `SELECT intake, service, COUNT(*) FROM alerts GROUP BY intake, service ORDER BY intake, service`)
	if err != nil {
		return s, wrapErr("stats: alerts", err)
	}
	for rows.Next() {
		var c escalation.AlertCount
		if err := rows.Scan(&c.Intake, &c.Service, &c.N); err != nil {
			rows.Close()
			return s, wrapErr("stats: alerts", err)
		}
		s.Alerts = append(s.Alerts, c)
	}
	rows.Close()

	rows, err = tx.QueryContext(ctx, `SELECT channel, CASE WHEN delivered_at IS NOT NULL AND status = 'sent' THEN 'delivered' ELSE status END AS st,
		COUNT(*) FROM outbox GROUP BY channel, st ORDER BY channel, st`)
	if err != nil {
		return s, wrapErr("stats: outbox", err)
	}
	for rows.Next() {
		var c escalation.NotificationCount
		if err := rows.Scan(&c.Channel, &c.Status, &c.N); err != nil {
			rows.Close()
			return s, wrapErr("stats: outbox", err)
		}
		if c.Status == escalation.Queued || c.Status == escalation.Sending {
			s.OutboxDepth += int(c.N)
		}
		s.Notifications = append(s.Notifications, c)
	}
	rows.Close()

	// The histogram in one pass: a count per bucket, computed by SQLite,
	// so a scrape costs the same with ten incidents or a million.
	var q strings.Builder
	q.WriteString(`SELECT COUNT(*), COALESCE(SUM(d), 0)`)
	for _, b := range ackBuckets {
		fmt.Fprintf(&q, `, COALESCE(SUM(d <= %d), 0)`, b.Milliseconds())
	}
	q.WriteString(` FROM (SELECT acknowledged_at - created_at AS d FROM incidents
		WHERE acknowledged_at IS NOT NULL AND drill = 0)`)
	var (
		count uint64
		sum   int64
	)
	counts := make([]uint64, len(ackBuckets))
	dest := []any{&count, &sum}
	for i := range counts {
		dest = append(dest, &counts[i])
	}
	if err := tx.QueryRowContext(ctx, q.String()).Scan(dest...); err != nil {
		return s, wrapErr("stats: time to acknowledge", err)
	}
	s.TimeToAck = escalation.DurationHistogram{Count: count, Sum: time.Duration(sum) * time.Millisecond}
	for i, b := range ackBuckets {
		s.TimeToAck.Buckets = append(s.TimeToAck.Buckets, escalation.Bucket{UpperBound: b, Count: counts[i]})
	}
	return s, nil
}
