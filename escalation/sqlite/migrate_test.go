package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

// A database written by a newer tocsin (a schema version beyond the last
// migration this one embeds) is refused with the versions named, and left
// as it was; reopening a current database migrates nothing.
func TestMigrateRefusesNewerDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tocsin.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var current int
	if err := raw.QueryRow("PRAGMA user_version").Scan(&current); err != nil || current < 10 {
		t.Fatalf("schema version after Open = %d (%v), want the last migration's number", current, err)
	}
	// Opening again changes nothing.
	if db, err := sqlite.Open(context.Background(), path); err != nil {
		t.Fatalf("reopening a current database: %v", err)
	} else {
		db.Close()
	}
	if _, err := raw.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	_, err = sqlite.Open(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), "schema version is 999, newer than this tocsin knows") {
		t.Fatalf("opening a newer database: %v, want a refusal naming the versions", err)
	}
	var v int
	raw.QueryRow("PRAGMA user_version").Scan(&v)
	if v != 999 {
		t.Errorf("the refused database's version became %d", v)
	}
}
