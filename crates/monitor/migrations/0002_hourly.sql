-- Per-hour aggregates that replace raw results once they are older than the retention period.
CREATE TABLE hourly (
    check_id TEXT NOT NULL,
    hour_ms INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    p50_ms REAL,
    p95_ms REAL,
    max_ms REAL,
    PRIMARY KEY (check_id, hour_ms)
);
