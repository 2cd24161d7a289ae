package sqlite

import (
	"context"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// ReportData reads what the on-call report is made of: the incidents
// created in [since, until), drills left out (they measure the path, not
// the people), and the pages sent to people in the same span. A digest SMS
// is one row per incident in the outbox but one message on the phone, so
// rows sent together (same contact, channel, modem reference and time) are
// counted once. Confirmations of replies are not pages (level 0).
func (db *DB) ReportData(ctx context.Context, since, until time.Time) ([]escalation.Incident, []escalation.PageRecord, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+incidentCols+incidentFrom+`
		WHERE i.created_at >= ? AND i.created_at < ? AND i.drill = 0 ORDER BY i.id`, ms(since), ms(until))
	if err != nil {
		return nil, nil, wrapErr("report incidents", err)
	}
	var incs []escalation.Incident
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			rows.Close()
			return nil, nil, wrapErr("report incidents", err)
		}
		incs = append(incs, inc)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, wrapErr("report incidents", err)
	}

	rows, err = db.read.QueryContext(ctx, `SELECT o.contact_id, o.channel, o.updated_at FROM outbox o
		JOIN incidents i ON i.id = o.incident_id
		WHERE o.status = 'sent' AND o.level > 0 AND o.contact_id != '' AND i.drill = 0
		  AND o.updated_at >= ? AND o.updated_at < ?
		GROUP BY o.contact_id, o.channel, o.modem_ref, o.updated_at
		ORDER BY o.updated_at`, ms(since), ms(until))
	if err != nil {
		return nil, nil, wrapErr("report pages", err)
	}
	defer rows.Close()
	var pages []escalation.PageRecord
	for rows.Next() {
		var (
			p  escalation.PageRecord
			at int64
		)
		if err := rows.Scan(&p.ContactID, &p.Channel, &at); err != nil {
			return nil, nil, wrapErr("report pages", err)
		}
		p.At = fromMS(at)
		pages = append(pages, p)
	}
	return incs, pages, wrapErr("report pages", rows.Err())
}
