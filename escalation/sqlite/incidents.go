package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

var _ escalation.Store = (*DB)(nil)

const incidentCols = `i.id, i.service, i.dedup_key, i.summary, i.severity, i.source, i.status,
	i.details, i.created_at, i.acknowledged_at, i.acknowledged_by, i.resolved_at, i.resolved_by,
	i.alert_count, i.drill, COALESCE(e.level, 0), COALESCE(e.loop, 0)`

const incidentFrom = ` FROM incidents i LEFT JOIN escalations e ON e.incident_id = i.id`

type scanner interface{ Scan(dest ...any) error }

// scanIncident reads the incidentCols columns, then any extra columns the
// query added into extra.
func scanIncident(r scanner, extra ...any) (escalation.Incident, error) {
	var (
		inc      escalation.Incident
		details  sql.NullString
		created  int64
		ack, res sql.NullInt64
		drill    int
		status   string
	)
	dest := append([]any{&inc.ID, &inc.Service, &inc.DedupKey, &inc.Summary, &inc.Severity, &inc.Source, &status,
		&details, &created, &ack, &inc.AcknowledgedBy, &res, &inc.ResolvedBy,
		&inc.AlertCount, &drill, &inc.Level, &inc.Loop}, extra...)
	if err := r.Scan(dest...); err != nil {
		return inc, err
	}
	inc.Status = escalation.Status(status)
	inc.CreatedAt = fromMS(created)
	inc.AcknowledgedAt = timePtr(ack)
	inc.ResolvedAt = timePtr(res)
	inc.Drill = drill != 0
	if details.Valid && details.String != "" {
		inc.Details = []byte(details.String)
	}
	return inc, nil
}

func newDedupKey() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Ingest records ev and applies PagerDuty dedup semantics:
//   - trigger on an open incident with the same (service, scope, key) adds
//     an alert to it; otherwise it opens a new incident, due to escalate now;
//   - acknowledge/resolve act on the open incident with that key; for an
//     unknown key they are recorded and dropped;
//   - groupBy > 0 folds a trigger into the most recent incident with the
//     same key even if it was resolved within the window (storm control).
//
// A new incident's first escalation step is written in the same
// transaction: first (the engine's pure decision) computes it from the new
// incident, so an alert that pages someone costs one transaction, not an
// ingest and then a step. With first nil the incident is due at now and
// the engine steps it.
func (db *DB) Ingest(ctx context.Context, ev escalation.Event, groupBy time.Duration, now time.Time,
	first func(escalation.EscalationState) escalation.StepResult) (escalation.IngestResult, error) {
	var res escalation.IngestResult
	if ev.Action == escalation.Trigger && ev.DedupKey == "" {
		ev.DedupKey = newDedupKey()
	}
	details := nullString(string(ev.Details))
	err := db.update(ctx, intakeOnce(ev, &res, now, func(tx *sql.Tx) error {
		res = escalation.IngestResult{DedupKey: ev.DedupKey}
		var (
			id     int64
			status string
		)
		err := tx.QueryRow(`SELECT id, status FROM incidents
			WHERE service = ? AND dedup_scope = ? AND dedup_key = ? AND status != 'resolved'`,
			ev.Service, ev.DedupScope, ev.DedupKey).Scan(&id, &status)
		found := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if !found && ev.Action == escalation.Trigger && groupBy > 0 {
			err := tx.QueryRow(`SELECT id FROM incidents
				WHERE service = ? AND dedup_scope = ? AND dedup_key = ? AND created_at >= ?
				ORDER BY id DESC LIMIT 1`,
				ev.Service, ev.DedupScope, ev.DedupKey, ms(now.Add(-groupBy))).Scan(&id)
			if err == nil {
				// Reopen by folding: the old incident stays resolved; the
				// alert is attached to it and no new page goes out.
				found, status = true, string(escalation.Resolved)
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		switch {
		case ev.Action == escalation.Trigger && !found:
			drill := ev.Intake == escalation.DrillIntake
			newID, err := db.newIncidentID(tx) // twin relays: ids in this box's slot
			if err != nil {
				return err
			}
			r, err := tx.Exec(`INSERT INTO incidents (id, service, dedup_scope, dedup_key, summary, severity,
				source, status, details, created_at, last_alert_at, alert_count, drill)
				VALUES (?, ?, ?, ?, ?, ?, ?, 'triggered', ?, ?, ?, ?, ?)`,
				newID, ev.Service, ev.DedupScope, ev.DedupKey, ev.Summary, int(ev.Severity), ev.Source,
				details, ms(now), ms(now), max(1, ev.Alerts), boolInt(drill))
			if err != nil {
				return err
			}
			id, _ = r.LastInsertId()
			res.New, res.Status = true, escalation.Triggered
			inc := escalation.Incident{ID: id, Service: ev.Service, DedupKey: ev.DedupKey, Summary: ev.Summary,
				Severity: ev.Severity, Source: ev.Source, Status: escalation.Triggered, Details: ev.Details,
				CreatedAt: fromMS(ms(now)), AlertCount: max(1, ev.Alerts), Drill: drill}
			s := escalation.StepResult{IncidentID: id, Status: escalation.Triggered, LoopStartedAt: now, NextAt: now}
			if first != nil {
				s = first(escalation.EscalationState{Incident: inc, LoopStartedAt: now, NextAt: now})
			}
			if res.PagesReady, err = firstStep(tx, inc, ev, s, now); err != nil {
				return err
			}
		case ev.Action == escalation.Trigger && ev.Alerts > 0:
			// A group's latest word on itself: how many fire and the
			// summary that counts them (Event.Alerts). The worst severity
			// seen stays.
			res.Status = escalation.Status(status)
			if _, err := tx.Exec(`UPDATE incidents SET alert_count = ?, summary = ?, last_alert_at = ?,
				severity = MIN(severity, ?) WHERE id = ?`, ev.Alerts, ev.Summary, ms(now), int(ev.Severity), id); err != nil {
				return err
			}
		case ev.Action == escalation.Trigger:
			res.Status = escalation.Status(status)
			// Keep the worst severity seen and the first summary (the one
			// people were paged with); each alert is on the timeline.
			if _, err := tx.Exec(`UPDATE incidents SET alert_count = alert_count + 1, last_alert_at = ?,
				severity = MIN(severity, ?) WHERE id = ?`, ms(now), int(ev.Severity), id); err != nil {
				return err
			}
		case !found:
			res.Dropped = true
		default:
			res.Status = escalation.Status(status)
			to := escalation.Acknowledged
			if ev.Action == escalation.Resolve {
				to = escalation.Resolved
			}
			if status != string(to) && status != string(escalation.Resolved) {
				by := ev.Source
				if by == "" {
					by = ev.Intake
				}
				if err := transition(tx, id, to, by, ev.Intake, time.Time{}, now); err != nil {
					return err
				}
				res.Status = to
			}
		}
		if !res.Dropped {
			res.IncidentID = id
		}
		var incID any
		if id != 0 && !res.Dropped {
			incID = id
		}
		if _, err := tx.Exec(`INSERT INTO alerts (incident_id, received_at, intake, service, action,
			dedup_key, summary, severity, source, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			incID, ms(now), ev.Intake, ev.Service, string(ev.Action), ev.DedupKey, ev.Summary,
			int(ev.Severity), ev.Source, details); err != nil {
			return err
		}
		if id != 0 && !res.New && !res.Dropped && ev.Action == escalation.Trigger {
			return addTimeline(tx, id, now, escalation.KindAlert,
				fmt.Sprintf("%s via %s: %s", ev.Severity, ev.Intake, ev.Summary))
		}
		return nil
	}))
	return res, wrapErr("ingest", err)
}

// firstStep writes a new incident's escalation state, its timeline (the
// trigger, then what step s decided) in one statement, and the zones and
// pages of s. It reports whether a page can leave at once.
func firstStep(tx *sql.Tx, inc escalation.Incident, ev escalation.Event, s escalation.StepResult, now time.Time) (bool, error) {
	if _, err := tx.Exec(`INSERT INTO escalations (incident_id, level, loop, loop_started_at, next_at, policy_version)
		VALUES (?, ?, ?, ?, ?, ?)`, inc.ID, s.Level, s.Loop, ms(s.LoopStartedAt), nullMS(s.NextAt), s.PolicyVersion); err != nil {
		return false, err
	}
	entries := append([]escalation.TimelineEntry{{At: now, Kind: escalation.KindTriggered,
		Detail: fmt.Sprintf("%s via %s: %s", ev.Severity, ev.Intake, ev.Summary)}}, s.Timeline...)
	if err := addTimelines(tx, inc.ID, entries); err != nil {
		return false, err
	}
	return stepEffects(tx, s, inc.ID, now)
}

// Transition acknowledges or resolves incident id.
func (db *DB) Transition(ctx context.Context, id int64, to escalation.Status, by, via string, next, now time.Time) (escalation.Incident, error) {
	err := db.update(ctx, func(tx *sql.Tx) error {
		var status string
		err := tx.QueryRow(`SELECT status FROM incidents WHERE id = ?`, id).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return escalation.NotFoundf("incident #%d not found", id)
		}
		if err != nil {
			return err
		}
		if escalation.Status(status) == escalation.Resolved {
			return &escalation.Error{Kind: escalation.Conflict, Msg: fmt.Sprintf("incident #%d is already resolved", id)}
		}
		if escalation.Status(status) == to {
			return nil // idempotent: acknowledging twice is not an error
		}
		return transition(tx, id, to, by, via, next, now)
	})
	if err != nil {
		return escalation.Incident{}, wrapErr("transition", err)
	}
	return db.Incident(ctx, id)
}

func transition(tx *sql.Tx, id int64, to escalation.Status, by, via string, next, now time.Time) error {
	var q string
	switch to {
	case escalation.Acknowledged:
		q = `UPDATE incidents SET status = 'acknowledged', acknowledged_at = ?, acknowledged_by = ? WHERE id = ?`
	case escalation.Resolved:
		q = `UPDATE incidents SET status = 'resolved', resolved_at = ?, resolved_by = ? WHERE id = ?`
	default:
		return escalation.Invalidf("status", "cannot move an incident to %q", to)
	}
	if _, err := tx.Exec(q, ms(now), by, id); err != nil {
		return err
	}
	if _, err := tx.Exec(`UPDATE escalations SET next_at = ? WHERE incident_id = ?`, nullMS(next), id); err != nil {
		return err
	}
	// Stop everything still pending for this incident. A digest that also
	// covers other open incidents stays queued.
	if _, err := tx.Exec(`UPDATE outbox SET status = 'failed', error = 'cancelled: incident ' || ?, updated_at = ?
		WHERE status = 'queued' AND incident_id = ?
		AND NOT EXISTS (SELECT 1 FROM outbox_covers c JOIN incidents o ON o.id = c.incident_id
			WHERE c.outbox_id = outbox.id AND o.id != ? AND o.status = 'triggered')`,
		string(to), ms(now), id, id); err != nil {
		return err
	}
	if to == escalation.Resolved {
		if _, err := tx.Exec(`DELETE FROM zone_alarms WHERE incident_id = ?`, id); err != nil {
			return err
		}
	}
	detail := fmt.Sprintf("%s by %s", to, by)
	if via != "" {
		detail += " via " + via
	}
	return addTimeline(tx, id, now, string(to), detail)
}

func addTimeline(tx *sql.Tx, id int64, at time.Time, kind, detail string) error {
	_, err := tx.Exec(`INSERT INTO timeline (incident_id, at, kind, detail) VALUES (?, ?, ?, ?)`, id, ms(at), kind, detail)
	return err
}

// addTimelines appends entries to incident id's timeline in one statement.
func addTimelines(tx *sql.Tx, id int64, entries []escalation.TimelineEntry) error {
	switch len(entries) {
	case 0:
		return nil
	case 1:
		return addTimeline(tx, id, entries[0].At, entries[0].Kind, entries[0].Detail)
	}
	args := make([]any, 0, 4*len(entries))
	for _, e := range entries {
		args = append(args, id, ms(e.At), e.Kind, e.Detail)
	}
	_, err := tx.Exec(`INSERT INTO timeline (incident_id, at, kind, detail) VALUES (?, ?, ?, ?)`+
		strings.Repeat(`, (?, ?, ?, ?)`, len(entries)-1), args...)
	return err
}

// AddTimeline appends entries to incident id's timeline.
func (db *DB) AddTimeline(ctx context.Context, id int64, entries ...escalation.TimelineEntry) error {
	return wrapErr("timeline", db.update(ctx, func(tx *sql.Tx) error {
		for _, e := range entries {
			if err := addTimeline(tx, id, e.At, e.Kind, e.Detail); err != nil {
				return err
			}
		}
		return nil
	}))
}

// Incident returns incident id with its timeline.
func (db *DB) Incident(ctx context.Context, id int64) (escalation.Incident, error) {
	inc, err := scanIncident(db.read.QueryRowContext(ctx, `SELECT `+incidentCols+incidentFrom+` WHERE i.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return inc, escalation.NotFoundf("incident #%d not found", id)
	}
	if err != nil {
		return inc, wrapErr("incident", err)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT at, kind, detail FROM timeline WHERE incident_id = ? ORDER BY id`, id)
	if err != nil {
		return inc, wrapErr("timeline", err)
	}
	defer rows.Close()
	inc.Timeline = []escalation.TimelineEntry{}
	for rows.Next() {
		var (
			e  escalation.TimelineEntry
			at int64
		)
		if err := rows.Scan(&at, &e.Kind, &e.Detail); err != nil {
			return inc, err
		}
		e.At = fromMS(at)
		inc.Timeline = append(inc.Timeline, e)
	}
	return inc, rows.Err()
}

// IncidentDetail is Incident with the pages about it and their delivery
// state: what `GET /api/v1/incidents/{id}` and `tocsin show` print. The
// engine and the delivery workers read incidents without them (a digest
// reads one incident per page it folds).
func (db *DB) IncidentDetail(ctx context.Context, id int64) (escalation.Incident, error) {
	inc, err := db.Incident(ctx, id)
	if err != nil {
		return inc, err
	}
	inc.Notifications, err = db.Outbox(ctx, OutboxFilter{IncidentID: id, Limit: 200})
	return inc, err
}

// Incidents lists incidents newest first.
func (db *DB) Incidents(ctx context.Context, f escalation.IncidentFilter) ([]escalation.Incident, error) {
	var (
		where []string
		args  []any
	)
	if f.Status != "" {
		where = append(where, "i.status = ?")
		args = append(args, string(f.Status))
	}
	if f.Open {
		where = append(where, "i.status != 'resolved'")
	}
	if f.Service != "" {
		where = append(where, "i.service = ?")
		args = append(args, f.Service)
	}
	if f.Before > 0 {
		where = append(where, "i.id < ?")
		args = append(args, f.Before)
	}
	if len(f.IDs) > 0 {
		in, ids := inList(f.IDs)
		where = append(where, "i.id IN ("+in+")")
		args = append(args, ids...)
	}
	q := `SELECT ` + incidentCols + incidentFrom
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q += " ORDER BY i.id DESC LIMIT ? OFFSET ?"
	args = append(args, f.Limit, f.Offset)
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrapErr("incidents", err)
	}
	defer rows.Close()
	out := []escalation.Incident{}
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, inc)
	}
	return out, rows.Err()
}

// OpenIncidents counts the incidents not resolved yet (for /api/v1/status),
// from the status index without reading a row.
func (db *DB) OpenIncidents(ctx context.Context) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM incidents WHERE status IN ('triggered', 'acknowledged')`).Scan(&n)
	return n, wrapErr("open incidents", err)
}

// NextDue returns the earliest escalation due time.
func (db *DB) NextDue(ctx context.Context) (time.Time, bool, error) {
	var v sql.NullInt64
	if err := db.read.QueryRowContext(ctx, `SELECT MIN(next_at) FROM escalations WHERE next_at IS NOT NULL`).Scan(&v); err != nil {
		return time.Time{}, false, wrapErr("next due", err)
	}
	if !v.Valid {
		return time.Time{}, false, nil
	}
	return fromMS(v.Int64), true, nil
}

// Due lists the escalation states due at or before now, oldest first.
func (db *DB) Due(ctx context.Context, now time.Time) ([]escalation.EscalationState, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+incidentCols+`, e.loop_started_at, e.next_at, e.policy_version`+
		incidentFrom+` WHERE e.next_at IS NOT NULL AND e.next_at <= ? ORDER BY i.severity, e.next_at, i.id LIMIT 1000`, ms(now))
	if err != nil {
		return nil, wrapErr("due", err)
	}
	defer rows.Close()
	var out []escalation.EscalationState
	for rows.Next() {
		var (
			st            escalation.EscalationState
			loopStart, nx int64
		)
		inc, err := scanIncident(rows, &loopStart, &nx, &st.PolicyVersion)
		if err != nil {
			return nil, err
		}
		st.Incident = inc
		st.Level, st.Loop = inc.Level, inc.Loop
		st.LoopStartedAt = fromMS(loopStart)
		st.NextAt = fromMS(nx)
		out = append(out, st)
	}
	return out, rows.Err()
}

// Step commits one escalation step atomically.
func (db *DB) Step(ctx context.Context, s escalation.StepResult, now time.Time) error {
	return wrapErr("escalation step", db.update(ctx, func(tx *sql.Tx) error { return step(tx, s, now) }))
}

// Steps commits several steps in one transaction. A step whose incident
// changed meanwhile is skipped and reported as Conflict in errs; the others
// commit. Steps run optimistically without savepoints; only if one conflicts
// does the transaction run again with a savepoint around each step.
func (db *DB) Steps(ctx context.Context, steps []escalation.StepResult, now time.Time) ([]error, error) {
	errs := make([]error, len(steps))
	err := db.update(ctx, func(tx *sql.Tx) error {
		clear(errs)
		for i, s := range steps {
			if err := step(tx, s, now); err != nil {
				if escalation.KindOf(err) == escalation.Conflict {
					return errConflictInBatch
				}
				errs[i] = err
				return err
			}
		}
		return nil
	})
	if !errors.Is(err, errConflictInBatch) {
		return errs, wrapErr("escalation steps", err)
	}
	err = db.update(ctx, func(tx *sql.Tx) error {
		for i, s := range steps {
			if _, err := tx.Exec("SAVEPOINT step"); err != nil {
				return err
			}
			errs[i] = step(tx, s, now)
			if errs[i] != nil {
				if escalation.KindOf(errs[i]) != escalation.Conflict {
					return errs[i]
				}
				if _, err := tx.Exec("ROLLBACK TO step"); err != nil {
					return err
				}
			}
			if _, err := tx.Exec("RELEASE step"); err != nil {
				return err
			}
		}
		return nil
	})
	return errs, wrapErr("escalation steps", err)
}

var errConflictInBatch = errors.New("a step conflicted")

func step(tx *sql.Tx, s escalation.StepResult, now time.Time) error {
	// The guard and the update are one statement: the step applies only if
	// the incident is still where the decision saw it.
	r, err := tx.Exec(`UPDATE escalations SET level = ?, loop = ?, loop_started_at = ?, next_at = ?, policy_version = ?
		WHERE incident_id = ? AND level = ? AND loop = ?
		AND (SELECT status FROM incidents WHERE id = ?) = ?`,
		s.Level, s.Loop, ms(s.LoopStartedAt), nullMS(s.NextAt), s.PolicyVersion,
		s.IncidentID, s.ExpectLevel, s.ExpectLoop, s.IncidentID, string(s.ExpectStatus))
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n != 1 {
		return &escalation.Error{Kind: escalation.Conflict, Msg: fmt.Sprintf("incident #%d changed", s.IncidentID)}
	}
	if s.Status != s.ExpectStatus {
		if s.Status != escalation.Triggered {
			return fmt.Errorf("step may only re-trigger, not move to %s", s.Status)
		}
		if _, err := tx.Exec(`UPDATE incidents SET status = 'triggered', acknowledged_at = NULL,
			acknowledged_by = '' WHERE id = ?`, s.IncidentID); err != nil {
			return err
		}
	}
	if err := addTimelines(tx, s.IncidentID, s.Timeline); err != nil {
		return err
	}
	_, err = stepEffects(tx, s, s.IncidentID, now)
	return err
}

// stepEffects raises the zones and queues the pages of step s for incident
// id. It reports whether a page can leave at once (see claimable).
func stepEffects(tx *sql.Tx, s escalation.StepResult, id int64, now time.Time) (bool, error) {
	for _, z := range s.Zones {
		if _, err := tx.Exec(`INSERT INTO zone_alarms (incident_id, zone, since) VALUES (?, ?, ?)
			ON CONFLICT DO NOTHING`, id, z, ms(now)); err != nil {
			return false, err
		}
	}
	ready := false
	for _, n := range s.Pages {
		if n.IncidentID == 0 {
			n.IncidentID = id
		}
		r, err := enqueue(tx, n, now)
		if err != nil {
			return false, err
		}
		ready = ready || r
	}
	return ready, nil
}

// ZoneAlarms lists the zones raised by open incidents.
func (db *DB) ZoneAlarms(ctx context.Context) ([]escalation.ZoneAlarm, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT z.zone, i.id, i.severity, i.status, z.since
		FROM zone_alarms z JOIN incidents i ON i.id = z.incident_id
		WHERE i.status != 'resolved' ORDER BY z.zone, i.id`)
	if err != nil {
		return nil, wrapErr("zone alarms", err)
	}
	defer rows.Close()
	var out []escalation.ZoneAlarm
	for rows.Next() {
		var (
			z      escalation.ZoneAlarm
			status string
			since  int64
		)
		if err := rows.Scan(&z.Zone, &z.IncidentID, &z.Severity, &status, &since); err != nil {
			return nil, err
		}
		z.Status = escalation.Status(status)
		z.Since = fromMS(since)
		out = append(out, z)
	}
	return out, rows.Err()
}

// Paging returns the triggered incidents paged to number, oldest first.
func (db *DB) Paging(ctx context.Context, number string) ([]int64, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT DISTINCT i.id FROM outbox o
		JOIN outbox_covers c ON c.outbox_id = o.id JOIN incidents i ON i.id = c.incident_id
		WHERE o.number = ? AND o.status IN ('sending', 'sent', 'queued') AND i.status = 'triggered'
		ORDER BY i.id`, number)
	if err != nil {
		return nil, wrapErr("paging", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// State returns incident id's escalation state.
func (db *DB) State(ctx context.Context, id int64) (escalation.EscalationState, error) {
	var (
		st            escalation.EscalationState
		loopStart     int64
		next          sql.NullInt64
		policyVersion int64
	)
	inc, err := db.Incident(ctx, id)
	if err != nil {
		return st, err
	}
	err = db.read.QueryRowContext(ctx, `SELECT loop_started_at, next_at, policy_version FROM escalations
		WHERE incident_id = ?`, id).Scan(&loopStart, &next, &policyVersion)
	if err != nil {
		return st, wrapErr("escalation state", err)
	}
	st.Incident = inc
	st.Level, st.Loop = inc.Level, inc.Loop
	st.LoopStartedAt = fromMS(loopStart)
	if next.Valid {
		st.NextAt = fromMS(next.Int64)
	}
	st.PolicyVersion = policyVersion
	return st, nil
}
