-- E-mail, push and webhook rows in the outbox, and acknowledge links.
--
-- The outbox's channel column allowed only sms and voice in a CHECK that
-- SQLite cannot alter. The column is replaced (add, copy, drop, rename)
-- rather than the table rebuilt, so columns other migrations add to the
-- outbox survive. For those rows `number` holds the recipient: the e-mail
-- address, the ntfy topic or the webhook id.
DROP INDEX IF EXISTS outbox_pending;
ALTER TABLE outbox ADD COLUMN channel_new TEXT NOT NULL DEFAULT 'sms'
    CHECK (channel_new IN ('sms', 'voice', 'email', 'push', 'webhook'));
UPDATE outbox SET channel_new = channel;
ALTER TABLE outbox DROP COLUMN channel;
ALTER TABLE outbox RENAME COLUMN channel_new TO channel;
CREATE INDEX outbox_pending ON outbox (status, channel, severity, id);

-- Acknowledge links ({public_url}/a/{token}): only the SHA-256 of each
-- token is kept, so the database holds no working link. A link acts once
-- (used_at) and until expires_at.
CREATE TABLE ack_links (
    hash        TEXT    PRIMARY KEY,            -- hex SHA-256 of the token
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    recipient   TEXT    NOT NULL,               -- contact id, or webhook id
    action      TEXT    NOT NULL CHECK (action IN ('acknowledge', 'resolve')),
    channel     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX ack_links_expires ON ack_links (expires_at);
