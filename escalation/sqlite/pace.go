package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// SMS pacing and the claim order.
//
// The limit is "never more than perMinute SMS to one number in any 60 s
// window". Each number's state is one sms_pace row: the claim times of its
// SMS in the last minute (at most perMinute of them) and next_at, when its
// turn comes again. A claim reads and rewrites that one row; nothing counts
// sent rows in the outbox, so the cost of a claim does not grow with the
// queue.
//
// The queue is read one number at a time through the outbox_queue index:
// the numbers with queued messages are found by skipping from one to the
// next in the index, and each number's head (pages before answers and
// confirmations, then most severe, then oldest) is one index seek. A claim
// therefore costs a few seeks per number with something queued, whether
// that number has one page waiting or 100,000.

// paceWindow is the window the per-minute limit applies to.
const paceWindow = time.Minute

// parseRecent reads sms_pace.recent: claim times in Unix ms, oldest first.
func parseRecent(s string) []int64 {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	out := make([]int64, 0, len(parts))
	for _, p := range parts {
		if v, err := strconv.ParseInt(p, 10, 64); err == nil {
			out = append(out, v)
		}
	}
	slices.Sort(out) // a clock set backwards must not break the order
	return out
}

func formatRecent(v []int64) string {
	var b strings.Builder
	for i, t := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(t, 10))
	}
	return b.String()
}

// nextAllowed returns the earliest time at or after now (Unix ms) when one
// more SMS keeps every 60 s window at perMinute or fewer, given the claim
// times recent (sorted). Two SMS share a window when they are less than
// 60 s apart.
func nextAllowed(recent []int64, perMinute int, now int64) int64 {
	if perMinute <= 0 || len(recent) < perMinute {
		return now
	}
	// The perMinute-th most recent SMS must have left the window.
	t := recent[len(recent)-perMinute] + paceWindow.Milliseconds()
	return max(t, now)
}

// recordSend adds a claim at now to recent and keeps what a later check
// needs: the SMS within the window, at most perMinute of them.
func recordSend(recent []int64, perMinute int, now int64) []int64 {
	out := make([]int64, 0, len(recent)+1)
	for _, t := range recent {
		if t > now-paceWindow.Milliseconds() {
			out = append(out, t)
		}
	}
	out = append(out, now)
	slices.Sort(out)
	if len(out) > perMinute {
		out = out[len(out)-perMinute:]
	}
	return out
}

// querier is a transaction or the read pool: the claim order is read from
// either.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// paceState is one number's sms_pace row.
type paceState struct {
	stored int64   // next_at as stored
	recent []int64 // claim times within the window
}

func readPace(ctx context.Context, q querier, number string) (paceState, error) {
	var (
		p      paceState
		recent string
	)
	err := q.QueryRowContext(ctx, `SELECT next_at, recent FROM sms_pace WHERE number = ?`, number).Scan(&p.stored, &recent)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil
	}
	p.recent = parseRecent(recent)
	return p, err
}

// head is the first claimable message of one number's queue.
type head struct {
	id       int64
	answer   bool // level 0: an answer or confirmation, after the pages
	severity int
	number   string
}

// before reports whether h leaves before o: pages before answers, then
// most severe, then oldest.
func (h head) before(o head) bool {
	if h.answer != o.answer {
		return !h.answer
	}
	if h.severity != o.severity {
		return h.severity < o.severity
	}
	return h.id < o.id
}

// nextNumber returns the first number after after with a queued message on
// channel, skipping through the outbox_queue index.
func nextNumber(ctx context.Context, q querier, channel escalation.Channel, after string) (string, bool, error) {
	var n string
	err := q.QueryRowContext(ctx, `SELECT number FROM outbox WHERE status = 'queued' AND channel = ? AND number > ?
		ORDER BY channel, number LIMIT 1`, string(channel), after).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return n, err == nil, err
}

// pick finds the message to claim next on channel at now: the best head
// among the numbers whose turn has come. stale lists the numbers whose
// stored next_at disagrees with perMinute (the limit changed since their
// last claim), with the corrected value, so NextRetry stays truthful.
func pick(ctx context.Context, q querier, channel escalation.Channel, perMinute int, now time.Time) (best head, found bool, stale map[string]int64, err error) {
	paced := channel == escalation.SMS && perMinute > 0
	nowMS := ms(now)
	for number, ok := "", true; ; {
		number, ok, err = nextNumber(ctx, q, channel, number)
		if err != nil || !ok {
			return best, found, stale, err
		}
		answersOnly := false
		if paced {
			p, err := readPace(ctx, q, number)
			if err != nil {
				return best, found, stale, err
			}
			if na := nextAllowed(p.recent, perMinute, nowMS); na > nowMS {
				if p.stored != na {
					if stale == nil {
						stale = map[string]int64{}
					}
					stale[number] = na
				}
				// This number's turn has not come for pages. Answers and
				// confirmations are not paced (they are bounded per hour
				// where they are made, escalation/answer.go), so that a
				// reply loop's answers never use up the person's turns.
				answersOnly = true
			}
		}
		h := head{number: number}
		// "+not_before" keeps SQLite on outbox_queue, which is in claim
		// order, instead of outbox_queue_ready and a sort of the queue.
		err = q.QueryRowContext(ctx, `SELECT id, level = 0, severity FROM outbox
			WHERE status = 'queued' AND channel = ? AND number = ? AND +not_before <= ? AND (? = 0 OR level = 0)
			ORDER BY level = 0, severity, id LIMIT 1`, string(channel), number, nowMS, boolInt(answersOnly)).Scan(&h.id, &h.answer, &h.severity)
		if errors.Is(err, sql.ErrNoRows) {
			continue // everything queued for number waits for a retry time
		}
		if err != nil {
			return best, found, stale, err
		}
		if !found || h.before(best) {
			best, found = h, true
		}
	}
}

// claimable reports whether a message queued now for number on channel
// can leave at once and nothing else of that number's could already: the
// only case in which delivery needs to be told. An answer (level 0) is not
// paced, so it can always leave.
func claimable(tx *sql.Tx, channel escalation.Channel, number string, level int, now time.Time) (bool, error) {
	if level == 0 {
		return true, nil
	}
	var ok bool
	err := tx.QueryRow(`SELECT COALESCE((SELECT next_at FROM sms_pace WHERE number = ?1 AND ?2 = 'sms'), 0) <= ?3
		AND NOT EXISTS (SELECT 1 FROM outbox WHERE status = 'queued' AND channel = ?2 AND number = ?1 AND not_before <= ?3)`,
		number, string(channel), ms(now)).Scan(&ok)
	return ok, err
}

// releasePace gives back the turn a claim took when nothing was sent (the
// modem was down and the claimed rows go back to the queue uncounted). It
// must run in the transaction that hands the rows back, before their
// updated_at changes: it removes the claim's time (the rows' updated_at,
// set by Claim) from the number's recent sends. next_at becomes 0; the next
// Claim sets it again if the limit still holds the number back.
func releasePace(tx *sql.Tx, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	var (
		number, channel string
		at              int64
	)
	err := tx.QueryRow(`SELECT number, channel, updated_at FROM outbox WHERE id = ? AND status = 'sending'`, ids[0]).
		Scan(&number, &channel, &at)
	if errors.Is(err, sql.ErrNoRows) || channel != string(escalation.SMS) {
		return nil
	}
	if err != nil {
		return err
	}
	p, err := readPace(context.Background(), tx, number)
	if err != nil {
		return err
	}
	if i := slices.Index(p.recent, at); i >= 0 {
		p.recent = slices.Delete(p.recent, i, i+1)
	}
	_, err = tx.Exec(`UPDATE sms_pace SET next_at = 0, recent = ? WHERE number = ?`, formatRecent(p.recent), number)
	return err
}
