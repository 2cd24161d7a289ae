-- Per-number pacing and an indexed queue, so that claiming the next SMS
-- costs the same with 10 or 100,000 pages queued (issue 12).

-- SMS pacing per number: recent holds the claim times (Unix ms, comma
-- separated, oldest first) of the last SMS to the number within a minute,
-- at most sms_per_minute of them; next_at is when the number's turn comes
-- again (0: now). A claim updates the row; nothing else scans the outbox to
-- count what was sent.
CREATE TABLE sms_pace (
    number  TEXT    PRIMARY KEY,
    next_at INTEGER NOT NULL DEFAULT 0,
    recent  TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;

-- The queue of one number in claim order: pages before answers and
-- confirmations (level 0), then most severe, then oldest. Claim reads the
-- head of each number's queue from here, and the digest's pages after it.
CREATE INDEX outbox_queue ON outbox (channel, number, level = 0, severity, id)
    WHERE status = 'queued';
-- The earliest retry time of a number's queue (NextRetry, without a scan).
CREATE INDEX outbox_queue_ready ON outbox (channel, number, not_before)
    WHERE status = 'queued';
-- Acknowledging an incident cancels its queued pages without reading the
-- whole queue.
CREATE INDEX outbox_queue_incident ON outbox (incident_id)
    WHERE status = 'queued';
