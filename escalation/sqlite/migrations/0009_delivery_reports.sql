-- Delivery reports (SMS-STATUS-REPORT). Each part of a sent SMS is kept
-- with the reference the network gave it, so that a report, which names
-- only the recipient and that 8-bit reference, finds its page. References
-- wrap at 256: a report matches the newest unreported part with the same
-- recipient and reference.
CREATE TABLE sms_parts (
    id          INTEGER PRIMARY KEY,
    outbox_id   INTEGER NOT NULL REFERENCES outbox (id),
    number      TEXT    NOT NULL, -- digits only, as the report's recipient is compared
    ref         INTEGER NOT NULL,
    sent_at     INTEGER NOT NULL,
    reported_at INTEGER,          -- NULL until a final report came
    delivered   INTEGER NOT NULL DEFAULT 0,
    reason      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sms_parts_match ON sms_parts (number, ref, id);
CREATE INDEX sms_parts_pending ON sms_parts (sent_at) WHERE reported_at IS NULL;
CREATE INDEX sms_parts_outbox ON sms_parts (outbox_id);

-- A page whose every part was reported delivered: the outbox shows it as
-- "delivered", a state beyond "sent". (The status column keeps "sent" so
-- its CHECK constraint need not change.)
ALTER TABLE outbox ADD COLUMN delivered_at INTEGER;
