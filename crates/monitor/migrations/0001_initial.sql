-- Results, alert state, the notification outbox and incidents of launchready monitor.
CREATE TABLE results (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    check_id TEXT NOT NULL,
    step TEXT NOT NULL DEFAULT '',
    ok INTEGER NOT NULL,
    status INTEGER,
    duration_ms REAL NOT NULL,
    timings TEXT NOT NULL DEFAULT 'null',
    error_kind TEXT,
    error TEXT,
    context TEXT,
    cert_expires_at_ms INTEGER
);
CREATE INDEX results_by_check ON results (check_id, at_ms);

CREATE TABLE alert_state (
    rule TEXT NOT NULL,
    check_id TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (rule, check_id)
);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    notice_key TEXT NOT NULL,
    channel TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    delivered_ms INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    UNIQUE (notice_key, channel)
);
CREATE INDEX outbox_pending ON outbox (delivered_ms);

CREATE TABLE incidents (
    id INTEGER PRIMARY KEY,
    rule TEXT NOT NULL,
    check_id TEXT NOT NULL,
    since_ms INTEGER NOT NULL,
    resolved_ms INTEGER,
    summary TEXT NOT NULL,
    UNIQUE (rule, check_id, since_ms)
);
