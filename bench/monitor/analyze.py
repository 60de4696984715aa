#!/usr/bin/env python3
"""Reads the results a `launchready monitor` run stored in its SQLite file and prints one JSON object: how many
checks ran in the window, per second overall and per minute, and the scheduler lag.

The lag is the actual start of a run (`at_ms`, taken when the run begins) against its intended start. With
`jitter = 0` the intended start is exact: the first run of every check is due when the monitor starts, each next
run one interval after the previous one. A check whose next run is past due when the window ends counts with the
lag it has accumulated so far (a lower bound, reported as `overdue`), so checks that never got a second turn are
not left out of the percentiles. With jitter J the same figures are lower bounds: a run is only counted late by
what exceeds interval × (1 + J) (and the first by what exceeds interval × J).

When the results table has a `due_ms` column (the runner's own intended start), the lag it implies,
`at_ms - due_ms`, is reported too as `recorded_lag_ms`. The runner takes the next due time after the previous
run, its alert evaluation and its delivery have finished, so that figure leaves out time spent waiting there.

Usage: analyze.py DB START_MS END_MS INTERVAL_S JITTER CHECK_IDS_FILE (one planned check id per line)
"""
import json
import sqlite3
import sys

from nearest_rank import percentile


def main(db, start_ms, end_ms, interval_s, jitter, ids_file):
    interval = interval_s * 1000
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = con.execute(
        "SELECT check_id, at_ms, ok FROM results WHERE at_ms >= ? AND at_ms <= ? ORDER BY check_id, at_ms",
        (start_ms, end_ms),
    ).fetchall()
    with open(ids_file, encoding="utf-8") as f:
        checks = {line.strip() for line in f if line.strip()}
    by_check = {}
    for check, at, _ in rows:
        by_check.setdefault(check, []).append(at)
    # The scheduler's own start: the earliest run (with jitter 0 every check's first run is due then).
    sched0 = con.execute("SELECT MIN(at_ms) FROM results").fetchone()[0] or start_ms
    # First runs (due at start) and later runs (due one interval after the previous start) are also summed
    # apart: mixed, the median falls between the two groups.
    lags, first_lags, next_lags, overdue = [], [], [], 0
    first_slack, next_slack = interval * jitter, interval * (1 + jitter)
    for check in checks:
        ats = by_check.get(check, [])
        previous = None
        for at in ats:
            if previous is None:
                first_lags.append(max(0, at - sched0 - first_slack))
            else:
                next_lags.append(max(0, at - previous - next_slack))
            previous = at
        due = (sched0 + first_slack) if previous is None else previous + next_slack
        if end_ms > due:
            (first_lags if previous is None else next_lags).append(end_ms - due)
            overdue += 1
    lags = first_lags + next_lags
    summary = lambda v: {"p50": percentile(v, 50), "p99": percentile(v, 99), "max": max(v, default=None),
                         "samples": len(v)}
    recorded = None
    columns = {row[1] for row in con.execute("PRAGMA table_info(results)")}
    if "due_ms" in columns:
        due_lags = [at - due for (at, due) in con.execute(
            "SELECT at_ms, due_ms FROM results WHERE due_ms IS NOT NULL AND at_ms >= ? AND at_ms <= ?",
            (start_ms, end_ms))]
        recorded = {"p50": percentile(due_lags, 50), "p99": percentile(due_lags, 99),
                    "max": max(due_lags, default=None), "samples": len(due_lags)}
    span_s = (end_ms - start_ms) / 1000
    per_minute = [0] * max(1, -(-int(span_s) // 60))
    for _, at, _ in rows:
        per_minute[min(len(per_minute) - 1, int((at - start_ms) // 60000))] += 1
    last_minute = sum(1 for _, at, _ in rows if at > end_ms - 60000)
    print(json.dumps({
        "checks_planned": len(checks),
        "checks_that_ran": len(by_check),
        "results": len(rows),
        "ok": sum(1 for *_, ok in rows if ok),
        "span_s": round(span_s, 1),
        "startup_ms": sched0 - start_ms,
        "per_s": round(len(rows) / span_s, 1),
        "per_s_last_minute": round(last_minute / 60, 1),
        "per_minute": per_minute,
        "lag_ms": {"p50": percentile(lags, 50), "p99": percentile(lags, 99), "max": max(lags, default=None),
                   "samples": len(lags), "overdue": overdue},
        "first_run_lag_ms": summary(first_lags),
        "next_run_lag_ms": summary(next_lags),
        "recorded_lag_ms": recorded,
    }))


if __name__ == "__main__":
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
