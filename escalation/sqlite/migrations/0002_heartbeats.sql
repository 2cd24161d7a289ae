-- Heartbeats (dead-man's switch): when each policy heartbeat last beat and
-- whether its miss is paging, so a restarted daemon neither forgets a miss
-- nor pages for a heartbeat that beat just before the restart.
CREATE TABLE heartbeats (
    id        TEXT    PRIMARY KEY,
    last_beat INTEGER,            -- Unix ms; NULL: never seen
    missed_at INTEGER             -- Unix ms; NULL: not missed
);
