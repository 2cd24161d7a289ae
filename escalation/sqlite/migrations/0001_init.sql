-- Tocsin schema, version 1. Times are Unix milliseconds (UTC).

CREATE TABLE policy_versions (
    version    INTEGER PRIMARY KEY,
    applied_at INTEGER NOT NULL,
    applied_by TEXT    NOT NULL,
    hash       TEXT    NOT NULL,
    source     TEXT    NOT NULL,   -- the YAML as applied
    policy     TEXT    NOT NULL    -- the normalised policy as JSON
);

CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY,
    service         TEXT    NOT NULL,
    dedup_scope     TEXT    NOT NULL DEFAULT '',
    dedup_key       TEXT    NOT NULL,
    summary         TEXT    NOT NULL,
    severity        INTEGER NOT NULL,
    source          TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL CHECK (status IN ('triggered', 'acknowledged', 'resolved')),
    details         TEXT,
    created_at      INTEGER NOT NULL,
    last_alert_at   INTEGER NOT NULL,
    acknowledged_at INTEGER,
    acknowledged_by TEXT    NOT NULL DEFAULT '',
    resolved_at     INTEGER,
    resolved_by     TEXT    NOT NULL DEFAULT '',
    alert_count     INTEGER NOT NULL DEFAULT 1,
    drill           INTEGER NOT NULL DEFAULT 0
);
-- One open incident per key: a trigger on an open key adds an alert.
CREATE UNIQUE INDEX incidents_open_key ON incidents (service, dedup_scope, dedup_key)
    WHERE status != 'resolved';
CREATE INDEX incidents_status ON incidents (status, id);

-- Escalation state: where each incident is in its policy, and when the
-- engine must look at it next. A restarted daemon resumes from here.
CREATE TABLE escalations (
    incident_id     INTEGER PRIMARY KEY REFERENCES incidents (id),
    level           INTEGER NOT NULL DEFAULT 0,
    loop            INTEGER NOT NULL DEFAULT 0,
    loop_started_at INTEGER NOT NULL,
    next_at         INTEGER,
    policy_version  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX escalations_next ON escalations (next_at) WHERE next_at IS NOT NULL;

-- Every event received, valid or dropped.
CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER REFERENCES incidents (id),
    received_at INTEGER NOT NULL,
    intake      TEXT    NOT NULL,
    service     TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    dedup_key   TEXT    NOT NULL,
    summary     TEXT    NOT NULL,
    severity    INTEGER NOT NULL,
    source      TEXT    NOT NULL,
    details     TEXT
);
CREATE INDEX alerts_incident ON alerts (incident_id);

CREATE TABLE timeline (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    at          INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    detail      TEXT    NOT NULL
);
CREATE INDEX timeline_incident ON timeline (incident_id, id);

-- The notification outbox: one row per SMS or call.
CREATE TABLE outbox (
    id             INTEGER PRIMARY KEY,
    incident_id    INTEGER REFERENCES incidents (id),
    contact_id     TEXT    NOT NULL DEFAULT '',
    channel        TEXT    NOT NULL CHECK (channel IN ('sms', 'voice')),
    number         TEXT    NOT NULL,
    text           TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    modem_ref      TEXT    NOT NULL DEFAULT '',
    error          TEXT    NOT NULL DEFAULT '',
    policy_version INTEGER NOT NULL DEFAULT 0,
    level          INTEGER NOT NULL DEFAULT 0,
    severity       INTEGER NOT NULL DEFAULT 3,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    not_before     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_pending ON outbox (status, channel, severity, id);
CREATE INDEX outbox_number ON outbox (number, id);

-- Which incidents a message pages about (a digest names several).
CREATE TABLE outbox_covers (
    outbox_id   INTEGER NOT NULL REFERENCES outbox (id),
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    PRIMARY KEY (outbox_id, incident_id)
);
CREATE INDEX outbox_covers_incident ON outbox_covers (incident_id);

-- Every SMS received, stored before it is deleted from the modem.
CREATE TABLE received_sms (
    id           INTEGER PRIMARY KEY,
    received_at  INTEGER NOT NULL,
    number       TEXT    NOT NULL,
    text         TEXT    NOT NULL,
    pdu          TEXT    NOT NULL DEFAULT '',
    sent_at      INTEGER,
    concat_ref   INTEGER,
    concat_total INTEGER,
    concat_seq   INTEGER,
    status       TEXT    NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'part', 'processed', 'ignored')),
    contact_id   TEXT    NOT NULL DEFAULT '',
    result       TEXT    NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX received_sms_pdu ON received_sms (number, pdu) WHERE pdu != '';
CREATE INDEX received_sms_status ON received_sms (status);

-- Zones (sirens, lights) raised by incidents.
CREATE TABLE zone_alarms (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    zone        TEXT    NOT NULL,
    since       INTEGER NOT NULL,
    PRIMARY KEY (incident_id, zone)
);
