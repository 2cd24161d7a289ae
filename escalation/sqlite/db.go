// Package sqlite is Tocsin's store: incidents, alerts, the escalation state,
// the notification outbox, received SMS and the versioned policy, in one
// SQLite database file (github.com/mattn/go-sqlite3).
//
// Durability: the database runs in WAL mode with synchronous=FULL, so a
// transaction is on disk (the WAL is fsynced) before Commit returns, and
// every caller acknowledges its sender only after that. A power cut can
// lose nothing that was acknowledged; at most an event whose sender got no
// answer, which the sender (HTTP client, MQTT broker) sends again.
//
// All writes go through one writer goroutine that owns the only write
// connection. Writes that arrive while a transaction is running are applied
// together in the next transaction (group commit): one fsync serves many alerts, which is what lets a Raspberry Pi
// take thousands of alerts a second without giving up durability. A job that
// fails makes its batch run again one job per transaction, so it never
// takes the others down with it.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/tocsin-relay/tocsin/escalation"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is an open Tocsin database.
type DB struct {
	path  string
	read  *sql.DB // pool of read connections
	write *sql.DB // exactly one connection, used only by the writer goroutine

	jobs chan *job
	stop chan struct{}
	done chan struct{}

	closeOnce sync.Once

	lastFail atomic.Pointer[failure] // the writer's last failed commit

	slot atomic.Pointer[idSlot] // twin relays: this box's incident ids (replication.go)
}

type job struct {
	fn  func(tx *sql.Tx) error
	err chan error
}

// maxBatch bounds how many writes share one transaction, so one commit
// never holds the write lock for long.
const maxBatch = 512

// maxLinger bounds how long the writer lingers for more writes to join a
// batch under load; an fsync costs several times as much. The writer
// lingers by yielding the processor (at most maxLingerYields times), not by
// sleeping on a timer: a writer holding answered-but-uncommitted work never
// looks idle, so nothing (a watchdog, a synctest bubble's Wait) can take a
// half-done batch for a quiet database.
const (
	maxLinger       = time.Millisecond
	maxLingerYields = 256
)

// Open opens (creating if needed) the database at path, runs migrations
// and starts the writer. Close releases it.
func Open(ctx context.Context, path string) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create state directory: %w", err)
		}
	}
	// Connection parameters, applied by the driver to every connection:
	//   journal_mode=WAL   readers never block the writer and vice versa.
	//   synchronous=FULL   fsync the WAL at every commit: an acknowledged
	//                      alert survives a power cut (NORMAL could lose
	//                      the last commits).
	//   foreign_keys=on    rows cannot point at incidents that do not exist.
	//   busy_timeout=5000  wait for a lock (e.g. a backup) instead of failing.
	//   stmt_cache_size    keep prepared statements per connection.
	//   txlock=immediate   take the write lock at BEGIN, never upgrade later.
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_foreign_keys", "on")
	q.Set("_busy_timeout", "5000")
	q.Set("_stmt_cache_size", "64") // reuse prepared statements: the same few run all day
	dsn := "file:" + url.PathEscape(path) + "?"
	wq := url.Values{}
	for k, v := range q {
		wq[k] = v
	}
	wq.Set("_txlock", "immediate")
	write, err := sql.Open("sqlite3", dsn+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	if err := migrate(ctx, write); err != nil {
		write.Close()
		return nil, err
	}
	q.Set("mode", "ro")
	read, err := sql.Open("sqlite3", dsn+q.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	read.SetMaxOpenConns(4)
	db := &DB{
		path:  path,
		read:  read,
		write: write,
		jobs:  make(chan *job, 1024),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go db.writer()
	return db, nil
}

// Close stops the writer and closes the database.
func (db *DB) Close() error {
	var err error
	db.closeOnce.Do(func() {
		close(db.stop)
		<-db.done
		err = errors.Join(db.read.Close(), db.write.Close())
	})
	return err
}

// Path is the database file.
func (db *DB) Path() string { return db.path }

// migrate applies embedded migrations in order, each in a transaction,
// recording the schema version in user_version.
func migrate(ctx context.Context, db *sql.DB) error {
	steps, err := migrationSteps()
	if err != nil {
		return err
	}
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if latest := steps[len(steps)-1].version; version > latest {
		return fmt.Errorf("the database's schema version is %d, newer than this tocsin knows (%d): run the newer tocsin, or restore a backup made by this one", version, latest)
	}
	for _, m := range steps {
		if m.version <= version {
			continue
		}
		body, err := migrations.ReadFile(m.name)
		if err != nil {
			return err
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}

// migration is one file of migrations/: NNNN_what.sql sets the schema
// version (PRAGMA user_version) to NNNN.
type migration struct {
	name    string
	version int
}

// migrationSteps lists the migrations in order. Their numbers must run
// 1, 2, 3, … without a gap or a repeat: the version a database records is
// the number of the last file applied, so a file slipped in below it would
// never run.
func migrationSteps() ([]migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	steps := make([]migration, 0, len(names))
	for i, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v != i+1 {
			return nil, fmt.Errorf("migration %s: want the number %04d as its prefix (NNNN_what.sql, in order, without gaps)", base, i+1)
		}
		steps = append(steps, migration{name: name, version: v})
	}
	if len(steps) == 0 {
		return nil, errors.New("no migrations embedded")
	}
	return steps, nil
}

// writer owns the write connection. It runs queued jobs in batches: all
// jobs of a batch share one transaction and one commit. If any job fails,
// the batch is rolled back and each job runs again in a transaction of its
// own, so one bad job never undoes the others. Every job is answered only
// after its transaction committed (or failed). Under concurrent load the
// writer lingers up to maxLinger for as many jobs as its previous batch had:
// the callers that commit answered are on their way back, and one fsync
// for all of them beats two for half each.
func (db *DB) writer() {
	defer close(db.done)
	batch := make([]*job, 0, maxBatch)
	last := 0 // size of the previous batch
	for {
		select {
		case <-db.stop:
			db.drain()
			return
		case j := <-db.jobs:
			batch = append(batch[:0], j)
		}
	collect:
		for len(batch) < maxBatch {
			select {
			case j := <-db.jobs:
				batch = append(batch, j)
			default:
				break collect
			}
		}
		// Under concurrent load (the previous batch shared its commit),
		// the writers answered by that commit are already on their way
		// back: wait a moment for as many, so that one fsync serves them
		// all instead of every other commit carrying half of them. On a
		// quiet day batches hold one write each, and nothing waits.
		if last > 1 && len(batch) < last {
			start := time.Now()
			for i := 0; len(batch) < last && i < maxLingerYields && time.Since(start) < maxLinger; i++ {
				select {
				case j := <-db.jobs:
					batch = append(batch, j)
				default:
					runtime.Gosched()
				}
			}
		}
		last = len(batch)
		if len(batch) == 1 || !db.runTogether(batch) {
			for _, j := range batch {
				j.err <- db.runAlone(j)
			}
		}
	}
}

func (db *DB) drain() {
	for {
		select {
		case j := <-db.jobs:
			j.err <- errors.New("database closed")
		default:
			return
		}
	}
}

// runTogether runs the batch in one transaction. It reports false, having
// rolled back and answered nobody, if any job failed or the commit did.
func (db *DB) runTogether(batch []*job) bool {
	tx, err := db.write.BeginTx(context.Background(), nil)
	if err != nil {
		return false
	}
	for _, j := range batch {
		if err := j.fn(tx); err != nil {
			tx.Rollback()
			return false
		}
	}
	if err := tx.Commit(); err != nil {
		return false
	}
	for _, j := range batch {
		j.err <- nil
	}
	return true
}

// runAlone runs one job in its own transaction. Jobs must not keep state
// from an earlier run: runTogether may have run them already and rolled
// back.
func (db *DB) runAlone(j *job) error {
	tx, err := db.write.BeginTx(context.Background(), nil)
	if err != nil {
		return escalation.Unavailablef(err, "database")
	}
	if err := j.fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		db.lastFail.Store(&failure{at: time.Now(), err: err})
		return escalation.Unavailablef(err, "commit")
	}
	return nil
}

// update runs fn inside the writer's transaction and returns once it is
// committed (or failed and rolled back).
func (db *DB) update(ctx context.Context, fn func(tx *sql.Tx) error) error {
	j := &job{fn: fn, err: make(chan error, 1)}
	select {
	case db.jobs <- j:
	case <-db.stop:
		return escalation.Unavailablef(errors.New("database closed"), "database")
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued the job will run; wait for its answer even if ctx ends,
	// so a caller never reports failure for something that was committed.
	return <-j.err
}

// Check reads from the database and reports the last failed commit, if it
// failed within the last minute. Unlike Ping it writes nothing, so status
// pages can call it as often as they like without wearing an SD card.
func (db *DB) Check(ctx context.Context) error {
	var one int
	if err := db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if p := db.lastFail.Load(); p != nil && time.Since(p.at) < time.Minute {
		return fmt.Errorf("last commit failed %s ago: %w", time.Since(p.at).Round(time.Second), p.err)
	}
	return nil
}

type failure struct {
	at  time.Time
	err error
}

// Ping checks that the database answers and is writable.
func (db *DB) Ping(ctx context.Context) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec("CREATE TABLE IF NOT EXISTS healthcheck (x INTEGER); DELETE FROM healthcheck")
		return err
	})
}

// Backup copies the live database to dest with SQLite's online backup API;
// it is safe while the daemon runs.
func (db *DB) Backup(ctx context.Context, dest string) error {
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("backup: %s already exists", dest)
	}
	destDB, err := sql.Open("sqlite3", "file:"+url.PathEscape(dest))
	if err != nil {
		return err
	}
	defer destDB.Close()
	dc, err := destDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer dc.Close()
	sc, err := db.read.Conn(ctx)
	if err != nil {
		return err
	}
	defer sc.Close()
	return dc.Raw(func(d any) error {
		return sc.Raw(func(s any) error {
			b, err := d.(*sqlite3.SQLiteConn).Backup("main", s.(*sqlite3.SQLiteConn), "main")
			if err != nil {
				return fmt.Errorf("backup: %w", err)
			}
			for {
				done, err := b.Step(256)
				if err != nil {
					b.Close()
					return fmt.Errorf("backup: %w", err)
				}
				if done {
					break
				}
			}
			return b.Close()
		})
	})
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func nullMS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func isBusy(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked || se.Code == sqlite3.ErrFull || se.Code == sqlite3.ErrIoErr
	}
	return false
}

// wrapErr turns driver errors into domain errors a sender can act on.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if escalation.KindOf(err) != 0 {
		return err
	}
	if isBusy(err) {
		return escalation.Unavailablef(err, "%s", op)
	}
	return fmt.Errorf("%s: %w", op, err)
}
