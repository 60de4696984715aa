-- launchready monitor on PostgreSQL: the SQLite schema (results, alert state, outbox, incidents, hourly
-- aggregates) plus what several nodes sharing one database need: the schedule with its leases, and named leases
-- for work only one node may do at a time (alert evaluation and delivery, retention).
CREATE TABLE results (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    check_id TEXT NOT NULL,
    step TEXT NOT NULL DEFAULT '',
    ok BOOLEAN NOT NULL,
    status BIGINT,
    duration_ms DOUBLE PRECISION NOT NULL,
    timings TEXT NOT NULL DEFAULT 'null',
    error_kind TEXT,
    error TEXT,
    context TEXT,
    cert_expires_at_ms BIGINT,
    region TEXT NOT NULL DEFAULT '',
    node TEXT NOT NULL DEFAULT '',
    due_ms BIGINT
);
CREATE INDEX results_by_check ON results (check_id, at_ms);

CREATE TABLE alert_state (
    rule TEXT NOT NULL,
    check_id TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (rule, check_id)
);

CREATE TABLE outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notice_key TEXT NOT NULL,
    channel TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    delivered_ms BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    UNIQUE (notice_key, channel)
);
CREATE INDEX outbox_pending ON outbox (delivered_ms);

CREATE TABLE incidents (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule TEXT NOT NULL,
    check_id TEXT NOT NULL,
    since_ms BIGINT NOT NULL,
    resolved_ms BIGINT,
    summary TEXT NOT NULL,
    UNIQUE (rule, check_id, since_ms)
);

CREATE TABLE hourly (
    check_id TEXT NOT NULL,
    hour_ms BIGINT NOT NULL,
    samples BIGINT NOT NULL,
    failures BIGINT NOT NULL,
    p50_ms DOUBLE PRECISION,
    p95_ms DOUBLE PRECISION,
    max_ms DOUBLE PRECISION,
    PRIMARY KEY (check_id, hour_ms)
);

-- One row per check and region: the slot due next and who holds it. A node claims a due row with
-- FOR UPDATE SKIP LOCKED, runs the check while renewing its lease, then stores the result and moves the row to
-- the next slot in one transaction that still requires its lease; a dead node's lease simply expires.
CREATE TABLE schedule (
    check_id TEXT NOT NULL,
    region TEXT NOT NULL DEFAULT '',
    interval_ms BIGINT NOT NULL,
    next_due_ms BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until_ms BIGINT,
    skipped BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (check_id, region)
);
CREATE INDEX schedule_due ON schedule (region, next_due_ms);

-- Named leases: `evaluator` (alert evaluation and the outbox), `retention` (downsampling). `rounds` counts the
-- work done under a lease, so an operator (and the tests) can see that a new holder is at work.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until_ms BIGINT NOT NULL,
    rounds BIGINT NOT NULL DEFAULT 0
);
