-- Twin relays (docs/twin.md).
--
-- repl_log lists the incidents changed since the cluster adapter last
-- shipped them to the twin. Triggers fill it, and they exist only while
-- the cluster is on (EnableReplication), so a lone box pays nothing.
CREATE TABLE repl_log (
    seq         INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL
);

-- A page's name on every box is the database instance that created it
-- and its row id there; gkey holds it for a page that came from a twin
-- (NULL: this box's own). held marks a page a standby keeps back
-- (not_before) while a better-placed box may send it.
ALTER TABLE outbox ADD COLUMN gkey TEXT;
ALTER TABLE outbox ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX outbox_gkey ON outbox (gkey) WHERE gkey IS NOT NULL;

-- Small facts of this box's place in the cluster: its database instance
-- and how long a standby holds its own pages back (hold_ms).
CREATE TABLE cluster_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
