package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// Replication between twin relays (docs/twin.md). The store's part is
// small and mechanical: note which incidents changed (triggers into
// repl_log), export them as escalation.IncidentRecord, import a twin's
// records with escalation.MergeIncident, allocate incident ids in this
// box's own slot so that ids never collide, and hold a standby's pages back
// (not_before) while a better-placed box may send them.

// replTriggers note every change that a twin must see. They are created
// by EnableReplication and dropped by DisableReplication.
var replTriggers = []string{
	`CREATE TRIGGER IF NOT EXISTS repl_incident_ins AFTER INSERT ON incidents
		BEGIN INSERT INTO repl_log (incident_id) VALUES (NEW.id); END`,
	`CREATE TRIGGER IF NOT EXISTS repl_incident_upd AFTER UPDATE ON incidents
		BEGIN INSERT INTO repl_log (incident_id) VALUES (NEW.id); END`,
	`CREATE TRIGGER IF NOT EXISTS repl_escalation_upd AFTER UPDATE ON escalations
		BEGIN INSERT INTO repl_log (incident_id) VALUES (NEW.incident_id); END`,
	`CREATE TRIGGER IF NOT EXISTS repl_timeline_ins AFTER INSERT ON timeline
		BEGIN INSERT INTO repl_log (incident_id) VALUES (NEW.incident_id); END`,
	`CREATE TRIGGER IF NOT EXISTS repl_outbox_ins AFTER INSERT ON outbox
		WHEN NEW.incident_id IS NOT NULL AND NEW.level > 0
		BEGIN INSERT INTO repl_log (incident_id) VALUES (NEW.incident_id); END`,
	`CREATE TRIGGER IF NOT EXISTS repl_outbox_upd AFTER UPDATE OF status ON outbox
		WHEN NEW.incident_id IS NOT NULL AND NEW.level > 0
		BEGIN INSERT INTO repl_log (incident_id) VALUES (NEW.incident_id); END`,
	// A page of a folded duplicate that leaves stands for the survivor's
	// same page (settleFoldedPages, for the fold itself; this, when the
	// duplicate's page is sent later).
	`CREATE TRIGGER IF NOT EXISTS repl_settle_fold AFTER UPDATE OF status ON outbox
		WHEN NEW.status IN ('sending', 'sent') AND NEW.level > 0 AND NEW.incident_id IS NOT NULL
		BEGIN UPDATE outbox SET status = 'sent', error = 'sent for duplicate #' || NEW.incident_id, held = 0
			WHERE status = 'queued' AND level = NEW.level AND contact_id = NEW.contact_id AND channel = NEW.channel
			AND incident_id = (SELECT CAST(substr(resolved_by, 14) AS INTEGER) FROM incidents
				WHERE id = NEW.incident_id AND resolved_by LIKE 'merged into #%'); END`,
	// A page of a folded duplicate that stood for the survivor's page and
	// then did not leave (a failed send, a retry, the modem gone) gives the
	// survivor its page back: a fresh queued copy of the page it settled,
	// while the duplicate's own page, if it would be retried, is cancelled
	// (the copy replaces it). Without this the level was never paged.
	// (last_insert_rowid() is the copy's id until this trigger ends.)
	`CREATE TRIGGER IF NOT EXISTS repl_unsettle_fold AFTER UPDATE OF status ON outbox
		WHEN OLD.status = 'sending' AND NEW.status IN ('queued', 'failed') AND NEW.level > 0 AND NEW.incident_id IS NOT NULL
		AND EXISTS (SELECT 1 FROM incidents WHERE id = NEW.incident_id AND resolved_by LIKE 'merged into #%')
		BEGIN
		INSERT INTO outbox (incident_id, contact_id, channel, number, text, status, attempts, policy_version, level, severity,
			created_at, updated_at, error)
			SELECT s.incident_id, s.contact_id, s.channel, s.number, s.text, 'queued', 0, s.policy_version, s.level, s.severity,
				NEW.updated_at, NEW.updated_at, 'again: the page of duplicate #' || NEW.incident_id || ' did not leave'
			FROM outbox s WHERE s.status = 'sent' AND s.error = 'sent for duplicate #' || NEW.incident_id
			AND s.level = NEW.level AND s.contact_id = NEW.contact_id AND s.channel = NEW.channel
			AND s.incident_id = (SELECT CAST(substr(resolved_by, 14) AS INTEGER) FROM incidents WHERE id = NEW.incident_id)
			ORDER BY s.id LIMIT 1;
		UPDATE outbox SET status = 'failed', error = 'cancelled: merged; paged again for the incident it was merged into'
			WHERE id = NEW.id AND status = 'queued' AND EXISTS (SELECT 1 FROM outbox
				WHERE id = last_insert_rowid() AND error = 'again: the page of duplicate #' || NEW.incident_id || ' did not leave');
		UPDATE outbox SET error = 'sent for duplicate #' || NEW.incident_id || ', which did not leave'
			WHERE status = 'sent' AND error = 'sent for duplicate #' || NEW.incident_id
			AND level = NEW.level AND contact_id = NEW.contact_id AND channel = NEW.channel
			AND EXISTS (SELECT 1 FROM outbox WHERE id = last_insert_rowid()
				AND error = 'again: the page of duplicate #' || NEW.incident_id || ' did not leave');
		INSERT INTO outbox_covers (outbox_id, incident_id) SELECT id, incident_id FROM outbox
			WHERE id = last_insert_rowid() AND error = 'again: the page of duplicate #' || NEW.incident_id || ' did not leave'
			AND NOT EXISTS (SELECT 1 FROM outbox_covers WHERE outbox_id = last_insert_rowid());
		END`,
	// A standby holds its own new pages back by hold_ms: the active box
	// sends them, and the twin's "sent" cancels them here.
	`CREATE TRIGGER IF NOT EXISTS repl_outbox_hold AFTER INSERT ON outbox
		WHEN NEW.level > 0 AND NEW.gkey IS NULL
		AND CAST(COALESCE((SELECT value FROM cluster_state WHERE key = 'hold_ms'), '0') AS INTEGER) > 0
		BEGIN UPDATE outbox SET held = 1, not_before = MAX(not_before, NEW.created_at +
			CAST((SELECT value FROM cluster_state WHERE key = 'hold_ms') AS INTEGER)) WHERE id = NEW.id; END`,
}

var replTriggerNames = []string{"repl_incident_ins", "repl_incident_upd", "repl_escalation_upd",
	"repl_timeline_ins", "repl_outbox_ins", "repl_outbox_upd", "repl_settle_fold", "repl_unsettle_fold", "repl_outbox_hold"}

// idSlot is this box's share of incident ids: id % stride == slot. Zero
// stride: ids as SQLite assigns them.
type idSlot struct {
	slot, stride int64
	floor        int64 // the highest id a twin reported
}

// EnableReplication creates the change triggers and this database's
// instance name (kept across restarts), and sets the id slot: this box
// opens incidents only with ids ≡ slot (mod stride), so two boxes that
// cannot see each other never hand out the same id.
func (db *DB) EnableReplication(ctx context.Context, slot, stride int) (instance string, err error) {
	if stride < 1 || slot < 0 || slot >= stride {
		return "", fmt.Errorf("id slot %d of %d", slot, stride)
	}
	var b [6]byte
	rand.Read(b[:])
	fresh := hex.EncodeToString(b[:])
	err = db.update(ctx, func(tx *sql.Tx) error {
		for _, q := range replTriggers {
			if _, err := tx.Exec(q); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(`INSERT INTO cluster_state (key, value) VALUES ('instance', ?) ON CONFLICT DO NOTHING`, fresh); err != nil {
			return err
		}
		return tx.QueryRow(`SELECT value FROM cluster_state WHERE key = 'instance'`).Scan(&instance)
	})
	if err != nil {
		return "", wrapErr("enable replication", err)
	}
	db.slot.Store(&idSlot{slot: int64(slot), stride: int64(stride)})
	return instance, nil
}

// DisableReplication drops the change triggers and releases held pages:
// a box running alone pays nothing for the cluster.
func (db *DB) DisableReplication(ctx context.Context) error {
	return wrapErr("disable replication", db.update(ctx, func(tx *sql.Tx) error {
		for _, n := range replTriggerNames {
			if _, err := tx.Exec(`DROP TRIGGER IF EXISTS ` + n); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(`DELETE FROM repl_log`); err != nil {
			return err
		}
		_, err := tx.Exec(`UPDATE outbox SET held = 0, not_before = 0 WHERE held = 1 AND status = 'queued'`)
		return err
	}))
}

// SetIDFloor records the highest incident id a twin holds, so that a box
// with an empty database never opens an incident under an id its twin has
// already used.
func (db *DB) SetIDFloor(id int64) {
	for {
		old := db.slot.Load()
		if old == nil || old.floor >= id {
			return
		}
		n := *old
		n.floor = id
		if db.slot.CompareAndSwap(old, &n) {
			return
		}
	}
}

// newIncidentID returns the id of a new incident: nil (SQLite's choice)
// without replication, else the next id above every id known in this
// box's slot.
func (db *DB) newIncidentID(tx *sql.Tx) (any, error) {
	s := db.slot.Load()
	if s == nil || s.stride <= 1 {
		return nil, nil
	}
	var m sql.NullInt64
	if err := tx.QueryRow(`SELECT MAX(id) FROM incidents`).Scan(&m); err != nil {
		return nil, err
	}
	next := max(m.Int64, s.floor) + 1
	next += (s.slot - next%s.stride + s.stride) % s.stride
	if next == 0 {
		next = s.stride
	}
	return next, nil
}

// SetHold sets how long this box holds its new pages back (a standby:
// peer_timeout; active or alone: zero). Setting zero releases every page
// held so far, at once: this box has become the one that pages.
func (db *DB) SetHold(ctx context.Context, hold time.Duration, now time.Time) error {
	return wrapErr("set hold", db.update(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO cluster_state (key, value) VALUES ('hold_ms', ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, strconv.FormatInt(hold.Milliseconds(), 10)); err != nil {
			return err
		}
		if hold > 0 {
			return nil
		}
		_, err := tx.Exec(`UPDATE outbox SET held = 0, not_before = MIN(not_before, ?)
			WHERE held = 1 AND status = 'queued'`, ms(now))
		return err
	}))
}

// HoldWaiting holds every page still waiting for hold from now: a box that
// starts (after a crash, a power cut) gives its twin that long to report
// what it sent meanwhile, so it never sends again what the twin sent.
func (db *DB) HoldWaiting(ctx context.Context, hold time.Duration, now time.Time) error {
	return wrapErr("hold waiting pages", db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE outbox SET held = 1, not_before = MAX(not_before, ?)
			WHERE status = 'queued' AND level > 0`, ms(now.Add(hold)))
		return err
	}))
}

// ChangedSince returns the incidents changed after log position seq, and
// the new position.
func (db *DB) ChangedSince(ctx context.Context, seq int64) ([]int64, int64, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT seq, incident_id FROM repl_log WHERE seq > ? ORDER BY seq LIMIT 5000`, seq)
	if err != nil {
		return nil, seq, wrapErr("changes", err)
	}
	defer rows.Close()
	seen := map[int64]bool{}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&seq, &id); err != nil {
			return nil, seq, err
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, seq, rows.Err()
}

// PruneChanges forgets the change log up to seq (shipped).
func (db *DB) PruneChanges(ctx context.Context, seq int64) error {
	return wrapErr("prune changes", db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`DELETE FROM repl_log WHERE seq <= ?`, seq)
		return err
	}))
}

// Fingerprints returns a short summary of every incident (status, position,
// alert, timeline and finished page counts): two boxes whose fingerprints
// of an incident agree hold the same incident. It is what anti-entropy
// compares, and MaxID is the highest id held.
func (db *DB) Fingerprints(ctx context.Context) (map[int64]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT i.id, i.status, COALESCE(e.level, 0), COALESCE(e.loop, 0), i.alert_count,
		(SELECT COUNT(*) FROM timeline t WHERE t.incident_id = i.id),
		(SELECT COUNT(*) FROM outbox_covers c JOIN outbox o ON o.id = c.outbox_id
			WHERE c.incident_id = i.id AND o.incident_id = i.id AND o.level > 0 AND o.status IN ('sent', 'failed'))
		FROM incidents i LEFT JOIN escalations e ON e.incident_id = i.id`)
	if err != nil {
		return nil, wrapErr("fingerprints", err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var (
			id                                int64
			status                            string
			level, loop, alerts, tl, finished int
		)
		if err := rows.Scan(&id, &status, &level, &loop, &alerts, &tl, &finished); err != nil {
			return nil, err
		}
		out[id] = fmt.Sprintf("%s/%d/%d/%d/%d/%d", status[:1], level, loop, alerts, tl, finished)
	}
	return out, rows.Err()
}

// ExportIncidents returns the records of incidents ids (missing ones are
// left out), read in a handful of queries whatever their number.
func (db *DB) ExportIncidents(ctx context.Context, ids []int64) ([]escalation.IncidentRecord, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	in, args := inList(ids)
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}) // one snapshot for all queries
	if err != nil {
		return nil, wrapErr("export", err)
	}
	defer tx.Rollback()
	byID := map[int64]*escalation.IncidentRecord{}
	var out []escalation.IncidentRecord
	rows, err := tx.QueryContext(ctx, `SELECT `+incidentCols+`, i.dedup_scope, i.last_alert_at, e.loop_started_at, e.next_at, e.policy_version`+
		incidentFrom+` WHERE i.id IN (`+in+`) ORDER BY i.id`, args...)
	if err != nil {
		return nil, wrapErr("export", err)
	}
	for rows.Next() {
		var (
			rec             escalation.IncidentRecord
			last, loopStart int64
			next            sql.NullInt64
		)
		inc, err := scanIncident(rows, &rec.DedupScope, &last, &loopStart, &next, &rec.Escalation.PolicyVersion)
		if err != nil {
			rows.Close()
			return nil, wrapErr("export", err)
		}
		rec.Incident = inc
		rec.LastAlert, rec.Escalation.LoopStartedAt = fromMS(last), fromMS(loopStart)
		rec.Escalation.Level, rec.Escalation.Loop = inc.Level, inc.Loop
		if next.Valid {
			rec.Escalation.NextAt = fromMS(next.Int64)
		}
		out = append(out, rec)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrapErr("export", err)
	}
	for i := range out {
		byID[out[i].Incident.ID] = &out[i]
	}
	// Timelines.
	rows, err = tx.QueryContext(ctx, `SELECT incident_id, at, kind, detail FROM timeline WHERE incident_id IN (`+in+`) ORDER BY incident_id, id`, args...)
	if err != nil {
		return nil, wrapErr("export timeline", err)
	}
	for rows.Next() {
		var (
			id, at int64
			e      escalation.TimelineEntry
		)
		if err := rows.Scan(&id, &at, &e.Kind, &e.Detail); err != nil {
			rows.Close()
			return nil, wrapErr("export timeline", err)
		}
		e.At = fromMS(at)
		if r := byID[id]; r != nil {
			r.Timeline = append(r.Timeline, e)
		}
	}
	rows.Close()
	// Pages, with what each covers and the SMS it went with.
	// A page this box queued is named by this database's instance and
	// its row id (computed here, so queuing a page writes nothing more);
	// a twin's page keeps the name it came with (gkey).
	rows, err = tx.QueryContext(ctx, `SELECT `+outboxCols+`, COALESCE(o.gkey, (SELECT value FROM cluster_state WHERE key = 'instance') || ':' || o.id),
		COALESCE((SELECT COALESCE(w.gkey, (SELECT value FROM cluster_state WHERE key = 'instance') || ':' || w.id) FROM outbox w WHERE w.id = o.sent_with), '')
		FROM outbox_covers c JOIN outbox o ON o.id = c.outbox_id
		WHERE c.incident_id IN (`+in+`) AND o.incident_id = c.incident_id AND o.level > 0
		ORDER BY o.id`, args...)
	if err != nil {
		return nil, wrapErr("export pages", err)
	}
	pageOf := map[int64]*escalation.ReplicaPage{}
	var outIDs []int64
	for rows.Next() {
		var p escalation.ReplicaPage
		n, err := scanOutboxRow(rows, &p.Key, &p.SentWith)
		if err != nil {
			rows.Close()
			return nil, wrapErr("export pages", err)
		}
		p.Notification, p.Status = n, n.Status
		if r := byID[n.IncidentID]; r != nil {
			r.Pages = append(r.Pages, p)
			outIDs = append(outIDs, n.ID)
		}
	}
	rows.Close()
	for i := range out {
		for j := range out[i].Pages {
			pageOf[out[i].Pages[j].Notification.ID] = &out[i].Pages[j]
		}
	}
	if len(outIDs) > 0 {
		oin, oargs := inList(outIDs)
		rows, err = tx.QueryContext(ctx, `SELECT outbox_id, incident_id FROM outbox_covers WHERE outbox_id IN (`+oin+`) ORDER BY incident_id`, oargs...)
		if err != nil {
			return nil, wrapErr("export covers", err)
		}
		for rows.Next() {
			var o, c int64
			if err := rows.Scan(&o, &c); err != nil {
				rows.Close()
				return nil, wrapErr("export covers", err)
			}
			if p := pageOf[o]; p != nil {
				p.Notification.Covers = append(p.Notification.Covers, c)
			}
		}
		rows.Close()
	}
	for _, p := range pageOf {
		p.Notification.ID = 0
	}
	// Zones.
	rows, err = tx.QueryContext(ctx, `SELECT incident_id, zone FROM zone_alarms WHERE incident_id IN (`+in+`) ORDER BY incident_id, zone`, args...)
	if err != nil {
		return nil, wrapErr("export zones", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id int64
			z  string
		)
		if err := rows.Scan(&id, &z); err != nil {
			return nil, wrapErr("export zones", err)
		}
		if r := byID[id]; r != nil {
			r.Zones = append(r.Zones, z)
		}
	}
	return out, wrapErr("export zones", rows.Err())
}

// scanOutboxRow reads outboxCols (scanOutbox) and extra columns after them.
func scanOutboxRow(r scanner, extra ...any) (escalation.Notification, error) {
	return scanOutbox(extraScanner{r, extra})
}

type extraScanner struct {
	r     scanner
	extra []any
}

func (e extraScanner) Scan(dest ...any) error { return e.r.Scan(append(dest, e.extra...)...) }

// ImportIncidents applies records a twin sent, each merged with what this
// box holds (escalation.MergeIncident), all in one transaction. A new page
// that is still waiting is held back by hold (zero: this box pages at
// once). Two open incidents for the same alert (service, scope and key),
// opened on both boxes before either saw the other's, become one: the
// lower id stays and the other is folded into it, resolved as "merged
// into #N", the same way on both boxes. changed lists the incidents this
// box now holds differently; merged counts the folds.
func (db *DB) ImportIncidents(ctx context.Context, recs []escalation.IncidentRecord, hold time.Duration, now time.Time) (changed []int64, merged int, err error) {
	err = db.update(ctx, func(tx *sql.Tx) error {
		changed, merged = nil, 0
		// What the import writes is the twin's news, not this box's: it
		// is not shipped back (the twin merges this box's own changes the
		// same way). Jobs of a batch run one after the other, so the log
		// rows between these two positions are this import's.
		var before int64
		if err := tx.QueryRow(`SELECT COALESCE(MAX(seq), 0) FROM repl_log`).Scan(&before); err != nil {
			return err
		}
		for _, rec := range recs {
			ids, folded, err := importOne(tx, rec, hold, now)
			if err != nil {
				return fmt.Errorf("incident #%d: %w", rec.Incident.ID, err)
			}
			changed = append(changed, ids...)
			if folded {
				merged++
			}
		}
		_, err := tx.Exec(`DELETE FROM repl_log WHERE seq > ?`, before)
		return err
	})
	if err == nil {
		for _, rec := range recs {
			db.SetIDFloor(rec.Incident.ID)
		}
	}
	return changed, merged, wrapErr("import", err)
}

// localRecord reads incident id as a record for merging (no pages).
func localRecord(tx *sql.Tx, id int64) (escalation.IncidentRecord, bool, error) {
	var rec escalation.IncidentRecord
	var (
		last, loopStart int64
		next            sql.NullInt64
	)
	inc, err := scanIncident(tx.QueryRow(`SELECT `+incidentCols+`, i.dedup_scope, i.last_alert_at, e.loop_started_at, e.next_at, e.policy_version`+
		incidentFrom+` WHERE i.id = ?`, id), &rec.DedupScope, &last, &loopStart, &next, &rec.Escalation.PolicyVersion)
	if errors.Is(err, sql.ErrNoRows) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, err
	}
	rec.Incident = inc
	rec.LastAlert, rec.Escalation.LoopStartedAt = fromMS(last), fromMS(loopStart)
	rec.Escalation.Level, rec.Escalation.Loop = inc.Level, inc.Loop
	if next.Valid {
		rec.Escalation.NextAt = fromMS(next.Int64)
	}
	rows, err := tx.Query(`SELECT at, kind, detail FROM timeline WHERE incident_id = ? ORDER BY id`, id)
	if err != nil {
		return rec, true, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			e  escalation.TimelineEntry
			at int64
		)
		if err := rows.Scan(&at, &e.Kind, &e.Detail); err != nil {
			return rec, true, err
		}
		e.At = fromMS(at)
		rec.Timeline = append(rec.Timeline, e)
	}
	return rec, true, rows.Err()
}

func mergedDetail(dup, into int64) string {
	return fmt.Sprintf("duplicate #%d merged into #%d", dup, into)
}

func importOne(tx *sql.Tx, rec escalation.IncidentRecord, hold time.Duration, now time.Time) (changed []int64, folded bool, err error) {
	id := rec.Incident.ID
	local, found, err := localRecord(tx, id)
	if err != nil {
		return nil, false, err
	}
	if !found {
		if rec.Incident.Status != escalation.Resolved {
			var dup int64
			err := tx.QueryRow(`SELECT id FROM incidents WHERE service = ? AND dedup_scope = ? AND dedup_key = ?
				AND status != 'resolved'`, rec.Incident.Service, rec.DedupScope, rec.Incident.DedupKey).Scan(&dup)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, false, err
			}
			if err == nil {
				dupRec, _, err := localRecord(tx, dup)
				if err != nil {
					return nil, false, err
				}
				if dup < id {
					// The twin's incident is the duplicate: store it folded.
					rec = foldInto(rec, &dupRec)
					if err := writeIncident(tx, dupRec, now); err != nil {
						return nil, false, err
					}
				} else {
					dupRec = foldInto(dupRec, &rec)
					if err := writeIncident(tx, dupRec, now); err != nil {
						return nil, false, err
					}
					if err := cancelPages(tx, dup, "merged", now); err != nil {
						return nil, false, err
					}
				}
				changed = append(changed, dup)
				folded = true
			}
		}
		if err := insertIncident(tx, rec); err != nil {
			return nil, false, err
		}
		if err := upsertPages(tx, rec, hold, now); err != nil {
			return nil, false, err
		}
		if folded {
			if err := settleFoldedPages(tx, min(id, changed[0]), max(id, changed[0]), now); err != nil {
				return nil, false, err
			}
		}
		return append(changed, id), folded, nil
	}
	m := escalation.MergeIncident(local, rec)
	if err := writeIncident(tx, m, now); err != nil {
		return nil, false, err
	}
	if m.Incident.Status != local.Incident.Status && m.Incident.Status != escalation.Triggered {
		if err := cancelPages(tx, id, string(m.Incident.Status), now); err != nil {
			return nil, false, err
		}
	}
	pagesChanged, err := upsertPagesChanged(tx, rec, hold, now)
	if err != nil {
		return nil, false, err
	}
	if pagesChanged || recordDiffers(local, m) {
		changed = append(changed, id)
	}
	return changed, false, nil
}

// foldInto folds dup (an open incident opened for the same alert as
// survivor, with a higher id) into survivor: dup is resolved as merged,
// survivor counts its alerts. The entries written carry dup's creation
// time, so both boxes write the same ones and their union holds each once.
func foldInto(dup escalation.IncidentRecord, survivor *escalation.IncidentRecord) escalation.IncidentRecord {
	detail := mergedDetail(dup.Incident.ID, survivor.Incident.ID)
	at := dup.Incident.CreatedAt
	already := false
	for _, e := range survivor.Timeline {
		if e.Kind == escalation.KindAlert && e.Detail == detail {
			already = true
		}
	}
	if !already {
		survivor.Incident.AlertCount += dup.Incident.AlertCount
		survivor.Incident.Severity = min(survivor.Incident.Severity, dup.Incident.Severity)
		survivor.Timeline = append(survivor.Timeline, escalation.TimelineEntry{At: at, Kind: escalation.KindAlert, Detail: detail})
	}
	dup.Incident.Status = escalation.Resolved
	dup.Incident.ResolvedAt = &at
	dup.Incident.ResolvedBy = fmt.Sprintf("merged into #%d", survivor.Incident.ID)
	dup.Escalation.NextAt = time.Time{}
	dup.Timeline = append(dup.Timeline, escalation.TimelineEntry{At: at, Kind: escalation.KindResolved, Detail: detail})
	for i := range dup.Pages {
		switch dup.Pages[i].Status {
		case escalation.Queued:
			dup.Pages[i].Status = escalation.Failed
			dup.Pages[i].Notification.Error = "cancelled: " + detail
		case escalation.Sending:
			// The twin is sending it: it stands for the survivor's page
			// (settleFoldedPages), and is never sent again here.
			dup.Pages[i].Status = escalation.Sent
			dup.Pages[i].Notification.Error = "being sent by the twin; " + detail
		}
	}
	return dup
}

func insertIncident(tx *sql.Tx, rec escalation.IncidentRecord) error {
	inc := rec.Incident
	if _, err := tx.Exec(`INSERT INTO incidents (id, service, dedup_scope, dedup_key, summary, severity, source, status,
		details, created_at, last_alert_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by, alert_count, drill)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		inc.ID, inc.Service, rec.DedupScope, inc.DedupKey, inc.Summary, int(inc.Severity), inc.Source, string(inc.Status),
		nullString(string(inc.Details)), ms(inc.CreatedAt), ms(rec.LastAlert), msPtr(inc.AcknowledgedAt), inc.AcknowledgedBy,
		msPtr(inc.ResolvedAt), inc.ResolvedBy, inc.AlertCount, boolInt(inc.Drill)); err != nil {
		return err
	}
	e := rec.Escalation
	if _, err := tx.Exec(`INSERT INTO escalations (incident_id, level, loop, loop_started_at, next_at, policy_version)
		VALUES (?, ?, ?, ?, ?, ?)`, inc.ID, e.Level, e.Loop, ms(e.LoopStartedAt), nullMS(e.NextAt), e.PolicyVersion); err != nil {
		return err
	}
	for _, t := range rec.Timeline {
		if err := addTimeline(tx, inc.ID, t.At, t.Kind, t.Detail); err != nil {
			return err
		}
	}
	if inc.Status != escalation.Resolved {
		for _, z := range rec.Zones {
			if _, err := tx.Exec(`INSERT INTO zone_alarms (incident_id, zone, since) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
				inc.ID, z, ms(inc.CreatedAt)); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeIncident stores a merged record over the local one: fields,
// position, the timeline entries the box lacks, and zones. Unchanged rows
// are not written, so an echo of this box's own record changes nothing.
func writeIncident(tx *sql.Tx, rec escalation.IncidentRecord, now time.Time) error {
	inc := rec.Incident
	if _, err := tx.Exec(`UPDATE incidents SET summary = ?, severity = ?, status = ?, last_alert_at = ?,
		acknowledged_at = ?, acknowledged_by = ?, resolved_at = ?, resolved_by = ?, alert_count = ?
		WHERE id = ? AND (summary != ? OR severity != ? OR status != ? OR last_alert_at != ? OR acknowledged_at IS NOT ?
		OR acknowledged_by != ? OR resolved_at IS NOT ? OR resolved_by != ? OR alert_count != ?)`,
		inc.Summary, int(inc.Severity), string(inc.Status), ms(rec.LastAlert), msPtr(inc.AcknowledgedAt), inc.AcknowledgedBy,
		msPtr(inc.ResolvedAt), inc.ResolvedBy, inc.AlertCount, inc.ID,
		inc.Summary, int(inc.Severity), string(inc.Status), ms(rec.LastAlert), msPtr(inc.AcknowledgedAt), inc.AcknowledgedBy,
		msPtr(inc.ResolvedAt), inc.ResolvedBy, inc.AlertCount); err != nil {
		return err
	}
	e := rec.Escalation
	if _, err := tx.Exec(`UPDATE escalations SET level = ?, loop = ?, loop_started_at = ?, next_at = ?, policy_version = ?
		WHERE incident_id = ? AND (level != ? OR loop != ? OR loop_started_at != ? OR next_at IS NOT ? OR policy_version != ?)`,
		e.Level, e.Loop, ms(e.LoopStartedAt), nullMS(e.NextAt), e.PolicyVersion, inc.ID,
		e.Level, e.Loop, ms(e.LoopStartedAt), nullMS(e.NextAt), e.PolicyVersion); err != nil {
		return err
	}
	local, _, err := localRecord(tx, inc.ID)
	if err != nil {
		return err
	}
	for _, t := range escalation.MissingTimeline(local.Timeline, rec.Timeline) {
		if err := addTimeline(tx, inc.ID, t.At, t.Kind, t.Detail); err != nil {
			return err
		}
	}
	if inc.Status == escalation.Resolved {
		if _, err := tx.Exec(`DELETE FROM zone_alarms WHERE incident_id = ?`, inc.ID); err != nil {
			return err
		}
	} else {
		for _, z := range rec.Zones {
			if _, err := tx.Exec(`INSERT INTO zone_alarms (incident_id, zone, since) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
				inc.ID, z, ms(now)); err != nil {
				return err
			}
		}
	}
	return nil
}

// settleFoldedPages: a page of the folded duplicate that already left (or
// is leaving) this box stands for the survivor's same page (same person,
// channel and level), which is then recorded as sent and never sent again;
// its "sent" reaches the twin, which does not send it either.
func settleFoldedPages(tx *sql.Tx, survivor, dup int64, now time.Time) error {
	_, err := tx.Exec(`UPDATE outbox SET status = 'sent', error = ?, updated_at = ?, held = 0
		WHERE status = 'queued' AND incident_id = ? AND level > 0 AND EXISTS (SELECT 1 FROM outbox d
			WHERE d.incident_id = ? AND d.status IN ('sending', 'sent') AND d.contact_id = outbox.contact_id
			AND d.channel = outbox.channel AND d.level = outbox.level)`,
		fmt.Sprintf("sent for duplicate #%d", dup), ms(now), survivor, dup)
	return err
}

// cancelPages stops pages still waiting for incident id, as Transition does.
func cancelPages(tx *sql.Tx, id int64, why string, now time.Time) error {
	_, err := tx.Exec(`UPDATE outbox SET status = 'failed', error = 'cancelled: incident ' || ?, updated_at = ?
		WHERE status = 'queued' AND incident_id = ?`, why, ms(now), id)
	return err
}

func upsertPages(tx *sql.Tx, rec escalation.IncidentRecord, hold time.Duration, now time.Time) error {
	_, err := upsertPagesChanged(tx, rec, hold, now)
	return err
}

// upsertPagesChanged stores the twin's pages: a page new here is inserted
// (held back by hold while it still waits); a known one takes the merged
// status, so a page the twin sent is never sent here.
func upsertPagesChanged(tx *sql.Tx, rec escalation.IncidentRecord, hold time.Duration, now time.Time) (bool, error) {
	changed := false
	for _, p := range rec.Pages {
		var (
			localID int64
			status  string
		)
		err := tx.QueryRow(`SELECT id, status FROM outbox WHERE gkey = ?
			UNION ALL SELECT id, status FROM outbox WHERE gkey IS NULL AND id = ?
			AND ? = (SELECT value FROM cluster_state WHERE key = 'instance') || ':' || id LIMIT 1`,
			p.Key, ownID(p.Key), p.Key).Scan(&localID, &status)
		if errors.Is(err, sql.ErrNoRows) {
			n := p.Notification
			st := p.Status
			if st == escalation.Sending {
				st = escalation.Queued // the twin may die mid-send: this box sends it if no "sent" comes
			}
			var delivered any
			if st == escalation.Delivered { // stored as sent with the time the network reported it
				st, delivered = escalation.Sent, msPtr(n.DeliveredAt)
			}
			notBefore, held := int64(0), 0
			if st == escalation.Queued && hold > 0 {
				notBefore, held = ms(now.Add(hold)), 1
			}
			var incID any
			if n.IncidentID != 0 {
				incID = n.IncidentID
			}
			r, err := tx.Exec(`INSERT INTO outbox (incident_id, contact_id, channel, number, text, status, attempts, modem_ref, error,
				policy_version, level, severity, created_at, updated_at, not_before, gkey, held, delivered_at)
				VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				incID, n.ContactID, string(n.Channel), n.Number, n.Text, string(st), n.ModemRef, n.Error,
				n.PolicyVersion, n.Level, int(n.Severity), ms(n.CreatedAt), ms(n.UpdatedAt), notBefore, p.Key, held, delivered)
			if err != nil {
				return false, err
			}
			oid, _ := r.LastInsertId()
			if err := setSentWith(tx, oid, st, p.SentWith); err != nil {
				return false, err
			}
			for _, c := range n.Covers {
				if _, err := tx.Exec(`INSERT INTO outbox_covers (outbox_id, incident_id)
					SELECT ?, ? WHERE EXISTS (SELECT 1 FROM incidents WHERE id = ?)`, oid, c, c); err != nil {
					return false, err
				}
			}
			changed = true
			continue
		}
		if err != nil {
			return false, err
		}
		st := escalation.MergePage(escalation.NotificationStatus(status), p.Status)
		if st == escalation.Delivered {
			st = escalation.Sent // the delivery report's time stays with the box that got it
		}
		if string(st) == status {
			continue
		}
		// A page this box is sending right now stays "sending": its own
		// Finish records the outcome (both sent it: a fail-open duplicate).
		if _, err := tx.Exec(`UPDATE outbox SET status = ?, modem_ref = ?, error = ?, updated_at = ?, held = 0
			WHERE id = ? AND status IN ('queued', 'failed')`, string(st), p.Notification.ModemRef, p.Notification.Error, ms(now), localID); err != nil {
			return false, err
		}
		if err := setSentWith(tx, localID, st, p.SentWith); err != nil {
			return false, err
		}
		changed = true
	}
	return changed, nil
}

// setSentWith marks a page the twin sent with the SMS that carried it, so
// that a reply to this box's modem acts on it (LastTold): the local row
// of that SMS's first page, or the page itself when it is not here (yet).
func setSentWith(tx *sql.Tx, id int64, st escalation.NotificationStatus, with string) error {
	if st != escalation.Sent {
		return nil
	}
	_, err := tx.Exec(`UPDATE outbox SET sent_with = COALESCE((SELECT w.id FROM outbox w WHERE w.gkey = ?1 AND ?1 != ''),
		(SELECT w.id FROM outbox w WHERE w.gkey IS NULL AND w.id = ?2
			AND ?1 = (SELECT value FROM cluster_state WHERE key = 'instance') || ':' || w.id), id)
		WHERE id = ?3 AND sent_with IS NULL`, with, ownID(with), id)
	return err
}

// ownID is the row id a page name ends with (0 if none): a name this
// box gave one of its own pages is "instance:id".
func ownID(key string) int64 {
	i := strings.LastIndexByte(key, ':')
	if i < 0 {
		return 0
	}
	id, _ := strconv.ParseInt(key[i+1:], 10, 64)
	return id
}

func recordDiffers(a, b escalation.IncidentRecord) bool {
	ai, bi := a.Incident, b.Incident
	return ai.Status != bi.Status || ai.AlertCount != bi.AlertCount || ai.Severity != bi.Severity ||
		ai.Summary != bi.Summary || a.Escalation != b.Escalation || len(a.Timeline) != len(b.Timeline)
}

func msPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ms(*t)
}
