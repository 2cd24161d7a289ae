-- Intake messages committed, for "effectively once" MQTT intake: a QoS 1
-- message committed just before the daemon died, and so never
-- acknowledged, is delivered again by the broker (DUP set). The row is
-- written in the alert's own transaction; a redelivery that finds it
-- returns the recorded result and adds nothing.
--
-- One row per slot (broker, session and packet id): the broker reuses a
-- packet id only after the earlier message with it was acknowledged, and
-- the next commit in that slot replaces the row. So the table never holds
-- more than 65,535 rows per MQTT session.
CREATE TABLE intake_messages (
    slot         TEXT    PRIMARY KEY,
    hash         TEXT    NOT NULL,
    incident_id  INTEGER,
    dedup_key    TEXT    NOT NULL,
    dropped      INTEGER NOT NULL DEFAULT 0,
    committed_at INTEGER NOT NULL
) WITHOUT ROWID;
