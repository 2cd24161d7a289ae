package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// ReportData adds to b what the on-call report is made of: the incidents
// created in [since, until), drills left out (they measure the path, not
// the people), and the pages sent to people in the same span. A digest SMS
// is one row per incident in the outbox but one message on the phone, so
// rows sent together (same contact, channel, modem reference and time) are
// counted once. Confirmations of replies are not pages (level 0).
//
// Rows are streamed into b, and only the columns the report needs are
// read, so a report over years of history holds no incidents in memory.
func (db *DB) ReportData(ctx context.Context, since, until time.Time, b *escalation.ReportBuilder) error {
	rows, err := db.read.QueryContext(ctx, `SELECT service, created_at, acknowledged_at, resolved_at FROM incidents
		WHERE created_at >= ? AND created_at < ? AND drill = 0`, ms(since), ms(until))
	if err != nil {
		return wrapErr("report incidents", err)
	}
	for rows.Next() {
		var (
			service       string
			created       int64
			acked, solved sql.NullInt64
		)
		if err := rows.Scan(&service, &created, &acked, &solved); err != nil {
			rows.Close()
			return wrapErr("report incidents", err)
		}
		b.AddIncident(service, fromMS(created), timePtr(acked), timePtr(solved))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return wrapErr("report incidents", err)
	}

	rows, err = db.read.QueryContext(ctx, `SELECT o.contact_id, o.channel, o.updated_at FROM outbox o
		JOIN incidents i ON i.id = o.incident_id
		WHERE o.status = 'sent' AND o.level > 0 AND o.contact_id != '' AND i.drill = 0
		  AND o.updated_at >= ? AND o.updated_at < ?
		GROUP BY o.contact_id, o.channel, o.modem_ref, o.updated_at`, ms(since), ms(until))
	if err != nil {
		return wrapErr("report pages", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			p  escalation.PageRecord
			at int64
		)
		if err := rows.Scan(&p.ContactID, &p.Channel, &at); err != nil {
			return wrapErr("report pages", err)
		}
		p.At = fromMS(at)
		b.AddPage(p)
	}
	return wrapErr("report pages", rows.Err())
}
