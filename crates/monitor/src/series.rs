//! Read-only queries behind the dashboard: latency and uptime buckets for the charts, recent failures, open
//! incidents, and the incremental reads the main page's rollup is kept current with.
//!
//! The SQL is kept portable between SQLite and PostgreSQL: plain `SELECT`s with `$n` placeholders, buckets as
//! integer division of `at_ms`, `ok` only used as a boolean (`CASE WHEN ok`, `NOT ok`). Percentiles are not portable
//! SQL (PostgreSQL has `percentile_cont`, SQLite nothing), so SQL buckets the results and orders each bucket's
//! durations, and the nearest rank is picked here. Windows are read through the `(check_id, at_ms)` index; the whole-table reads go
//! by `id` ranges, which both databases answer from the primary key.

use crate::store::{Incident, Store, StoreError, max_opt};
use sqlx::Row;

pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 86_400_000;

/// A chart's time span and the width of its buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub label: &'static str,
    pub window_ms: i64,
    pub bucket_ms: i64,
}

/// The check page's three charts: 1 h in minutes, 24 h in quarter hours, 7 d in hours.
pub const SPANS: [Span; 3] = [
    Span {
        label: "1 h",
        window_ms: HOUR_MS,
        bucket_ms: MINUTE_MS,
    },
    Span {
        label: "24 h",
        window_ms: DAY_MS,
        bucket_ms: 15 * MINUTE_MS,
    },
    Span {
        label: "7 d",
        window_ms: 7 * DAY_MS,
        bucket_ms: HOUR_MS,
    },
];

/// One bucket of a check's results. Percentiles are over successful results only (a timeout's duration says
/// nothing about latency); failures count against uptime.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub start_ms: i64,
    pub samples: i64,
    pub failures: i64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
}

impl Bucket {
    fn empty(start_ms: i64) -> Bucket {
        Bucket {
            start_ms,
            samples: 0,
            failures: 0,
            p50_ms: None,
            p95_ms: None,
        }
    }
}

/// A stored failure, with its context as it was stored (masked before it was written).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct FailureRow {
    pub at_ms: i64,
    pub step: String,
    pub status: Option<i64>,
    pub error_kind: Option<String>,
    pub error: Option<String>,
    pub context: Option<String>,
}

/// A raw result as the rollup reads it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Raw {
    pub id: i64,
    #[sqlx(rename = "check_id")]
    pub check: String,
    pub at_ms: i64,
    pub ok: bool,
    pub status: Option<i64>,
    pub duration_ms: f64,
    pub error: Option<String>,
}

/// Results of one check in one hour.
#[derive(Debug, Clone, PartialEq)]
pub struct HourCount {
    pub check: String,
    pub hour_ms: i64,
    pub samples: i64,
    pub failures: i64,
}

/// One notice of an incident and where it went: a step of the incident's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct NoticeRow {
    pub channel: String,
    pub kind: crate::alert::NoticeKind,
    pub rule: String,
    pub check: String,
    pub since_ms: i64,
    pub created_ms: i64,
    pub delivered_ms: Option<i64>,
    pub attempts: i64,
    /// The last delivery error, as the channel reported it (the page masks URLs in it).
    pub last_error: Option<String>,
}

/// Nearest rank of values already sorted ascending (the same rank `alert::percentile` uses).
fn ranked(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Sets a finished bucket's percentiles from its sorted successful durations, and empties them.
fn close(
    out: &mut std::collections::BTreeMap<i64, Bucket>,
    key: Option<i64>,
    sorted: &mut Vec<f64>,
) {
    if let Some(bucket) = key.and_then(|k| out.get_mut(&k)) {
        bucket.p50_ms = ranked(sorted, 50.0);
        bucket.p95_ms = ranked(sorted, 95.0);
    }
    sorted.clear();
}

impl Store {
    /// A check's results in `[since_ms, until_ms)` in buckets of `bucket_ms`, oldest first, with the hourly
    /// aggregates of hours whose raw results were already folded. Buckets without results are absent.
    pub async fn buckets(
        &self,
        check: &str,
        since_ms: i64,
        until_ms: i64,
        bucket_ms: i64,
    ) -> Result<Vec<Bucket>, StoreError> {
        crate::store::with_pool!(self, |pool| {
            let bucket_ms = bucket_ms.max(1);
            // One pass: SQL buckets and orders, so each bucket's successful durations arrive sorted and the
            // nearest rank is an index. (A second, grouped query for the counts would read every row again.)
            let rows = sqlx::query(
                "SELECT at_ms / $2 AS bucket, ok, duration_ms FROM results
                 WHERE check_id = $1 AND at_ms >= $3 AND at_ms < $4
                 ORDER BY bucket, duration_ms",
            )
            .bind(check)
            .bind(bucket_ms)
            .bind(since_ms)
            .bind(until_ms)
            .fetch_all(pool)
            .await?;
            let mut out: std::collections::BTreeMap<i64, Bucket> = Default::default();
            let mut sorted: Vec<f64> = Vec::new();
            let mut current: Option<i64> = None;
            for row in &rows {
                let key: i64 = row.try_get("bucket")?;
                if current != Some(key) {
                    close(&mut out, current, &mut sorted);
                    current = Some(key);
                }
                let bucket = out
                    .entry(key)
                    .or_insert_with(|| Bucket::empty(key * bucket_ms));
                bucket.samples += 1;
                if row.try_get::<bool, _>("ok")? {
                    sorted.push(row.try_get("duration_ms")?);
                } else {
                    bucket.failures += 1;
                }
            }
            close(&mut out, current, &mut sorted);
            let hours = sqlx::query(
                "SELECT hour_ms, samples, failures, p50_ms, p95_ms FROM hourly
                 WHERE check_id = $1 AND hour_ms >= $2 AND hour_ms < $3 ORDER BY hour_ms",
            )
            .bind(check)
            .bind(since_ms - since_ms.rem_euclid(HOUR_MS))
            .bind(until_ms)
            .fetch_all(pool)
            .await?;
            for row in &hours {
                let hour_ms: i64 = row.try_get("hour_ms")?;
                let key = hour_ms.div_euclid(bucket_ms);
                let (samples, failures): (i64, i64) =
                    (row.try_get("samples")?, row.try_get("failures")?);
                let (p50, p95): (Option<f64>, Option<f64>) =
                    (row.try_get("p50_ms")?, row.try_get("p95_ms")?);
                // An hour and raw results in the same bucket (late results): counts add up, and the larger
                // percentile is kept, an upper bound, as downsampling itself does.
                let bucket = out
                    .entry(key)
                    .or_insert_with(|| Bucket::empty(key * bucket_ms));
                bucket.samples += samples;
                bucket.failures += failures;
                bucket.p50_ms = max_opt(bucket.p50_ms, p50);
                bucket.p95_ms = max_opt(bucket.p95_ms, p95);
            }
            Ok(out.into_values().collect())
        })
    }

    /// A check's most recent failures since `since_ms`, newest first. The bound keeps a check that rarely fails
    /// from having all its history read in search of `limit` failures.
    pub async fn failures(
        &self,
        check: &str,
        since_ms: i64,
        limit: i64,
    ) -> Result<Vec<FailureRow>, StoreError> {
        crate::store::with_pool!(self, |pool| {
            Ok(sqlx::query_as(
                "SELECT at_ms, step, status, error_kind, error, context FROM results
                 WHERE check_id = $1 AND at_ms >= $2 AND NOT ok ORDER BY at_ms DESC LIMIT $3",
            )
            .bind(check)
            .bind(since_ms)
            .bind(limit)
            .fetch_all(pool)
            .await?)
        })
    }

    /// Incidents not resolved yet, newest first.
    pub async fn open_incidents(&self) -> Result<Vec<Incident>, StoreError> {
        crate::store::with_pool!(self, |pool| {
            Ok(sqlx::query_as(
                "SELECT rule, check_id, since_ms, resolved_ms, summary FROM incidents
                 WHERE resolved_ms IS NULL ORDER BY since_ms DESC",
            )
            .fetch_all(pool)
            .await?)
        })
    }

    /// The latest `limit` notices of the outbox, oldest first, each with its delivery state.
    pub async fn notices(&self, limit: i64) -> Result<Vec<NoticeRow>, StoreError> {
        crate::store::with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT channel, payload, created_ms, delivered_ms, attempts, last_error FROM outbox
                 ORDER BY id DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?;
            let mut out = rows
                .iter()
                .map(|row| {
                    let notice: crate::alert::Notification =
                        serde_json::from_str(&row.try_get::<String, _>("payload")?)?;
                    Ok(NoticeRow {
                        channel: row.try_get("channel")?,
                        kind: notice.kind,
                        rule: notice.rule,
                        check: notice.check,
                        since_ms: notice.since_ms,
                        created_ms: row.try_get("created_ms")?,
                        delivered_ms: row.try_get("delivered_ms")?,
                        attempts: row.try_get("attempts")?,
                        last_error: row.try_get("last_error")?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            out.reverse();
            Ok(out)
        })
    }

    /// The largest result id, or 0 for an empty table.
    pub async fn max_result_id(&self) -> Result<i64, StoreError> {
        crate::store::with_pool!(self, |pool| {
            let id: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM results")
                .fetch_one(pool)
                .await?;
            Ok(id.unwrap_or(0))
        })
    }

    /// The smallest id of a result at or after `at_ms`, found by bisecting ids (results are stored in about
    /// the order they ran), so no scan of the whole table is needed without an index on `at_ms`. A result stored
    /// long after it ran can be missed by a window that starts from this id; the rollup's windows are minutes
    /// wider than its figures for that reason.
    pub async fn first_id_since(&self, at_ms: i64) -> Result<i64, StoreError> {
        crate::store::with_pool!(self, |pool| {
            // Two statements: SQLite answers a lone MIN or MAX from the primary key, but both in one SELECT
            // by reading the whole table.
            let lo: Option<i64> = sqlx::query_scalar("SELECT MIN(id) FROM results")
                .fetch_one(pool)
                .await?;
            let hi: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM results")
                .fetch_one(pool)
                .await?;
            let (Some(mut lo), Some(mut hi)) = (lo, hi) else {
                return Ok(0);
            };
            // Invariant: every id below `lo` ran before `at_ms`; the answer is in [lo, hi + 1].
            hi += 1;
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                let at: Option<i64> = sqlx::query_scalar(
                    "SELECT at_ms FROM results WHERE id >= $1 ORDER BY id LIMIT 1",
                )
                .bind(mid)
                .fetch_optional(pool)
                .await?;
                match at {
                    Some(at) if at < at_ms => lo = mid + 1,
                    _ => hi = mid,
                }
            }
            Ok(lo)
        })
    }

    /// Per check and hour: samples and failures of results with `from_id <= id <= to_id` and `at_ms >= since_ms`.
    pub async fn hour_counts(
        &self,
        from_id: i64,
        to_id: i64,
        since_ms: i64,
    ) -> Result<Vec<HourCount>, StoreError> {
        crate::store::with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT check_id, at_ms / $4 AS hour, COUNT(*) AS samples,
                        SUM(CASE WHEN ok THEN 0 ELSE 1 END) AS failures
                 FROM results WHERE id >= $1 AND id <= $2 AND at_ms >= $3
                 GROUP BY check_id, hour",
            )
            .bind(from_id)
            .bind(to_id)
            .bind(since_ms)
            .bind(HOUR_MS)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(HourCount {
                        check: row.try_get("check_id")?,
                        hour_ms: row.try_get::<i64, _>("hour")? * HOUR_MS,
                        samples: row.try_get("samples")?,
                        failures: row.try_get("failures")?,
                    })
                })
                .collect()
        })
    }

    /// Each check's latest result among ids `from_id..=to_id`: one grouped query for all checks.
    pub async fn latest(&self, from_id: i64, to_id: i64) -> Result<Vec<Raw>, StoreError> {
        crate::store::with_pool!(self, |pool| {
            Ok(sqlx::query_as(
                "SELECT r.id, r.check_id, r.at_ms, r.ok, r.status, r.duration_ms, r.error
                 FROM results r JOIN
                   (SELECT MAX(id) AS id FROM results WHERE id >= $1 AND id <= $2 GROUP BY check_id) m
                 ON r.id = m.id",
            )
            .bind(from_id)
            .bind(to_id)
            .fetch_all(pool)
            .await?)
        })
    }

    /// One check's latest result, through the `(check_id, at_ms)` index.
    pub async fn latest_of(&self, check: &str) -> Result<Option<Raw>, StoreError> {
        crate::store::with_pool!(self, |pool| {
            Ok(sqlx::query_as(
                "SELECT id, check_id, at_ms, ok, status, duration_ms, error FROM results
                 WHERE check_id = $1 ORDER BY at_ms DESC, id DESC LIMIT 1",
            )
            .bind(check)
            .fetch_optional(pool)
            .await?)
        })
    }

    /// Results with `after_id < id <= to_id`, by id, at most `limit` of them.
    pub async fn results_after(
        &self,
        after_id: i64,
        to_id: i64,
        limit: i64,
    ) -> Result<Vec<Raw>, StoreError> {
        crate::store::with_pool!(self, |pool| {
            Ok(sqlx::query_as(
                "SELECT id, check_id, at_ms, ok, status, duration_ms, error FROM results
                 WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3",
            )
            .bind(after_id)
            .bind(to_id)
            .bind(limit)
            .fetch_all(pool)
            .await?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::CheckResult;
    use crate::test_support::{self, temp_store as store};

    /// A failure here carries the kind and text the runner records for a 500.
    fn result(check: &str, at_ms: i64, ok: bool, duration_ms: f64) -> CheckResult {
        CheckResult {
            error_kind: (!ok).then(|| "status".to_string()),
            error: (!ok).then(|| "500 from GET /".to_string()),
            ..test_support::result(check, at_ms, ok, duration_ms)
        }
    }

    #[tokio::test]
    async fn buckets_group_by_integer_division_and_rank_successes_only() {
        let (_dir, store) = store().await;
        // Minute 0: 10, 20, 30 ms and a failure; minute 2: 5 ms; another check is ignored.
        for (at, ok, d) in [
            (1_000, true, 30.0),
            (2_000, true, 10.0),
            (3_000, false, 9_999.0),
            (59_999, true, 20.0),
            (120_000, true, 5.0),
        ] {
            store.insert_result(&result("a", at, ok, d)).await.unwrap();
        }
        store
            .insert_result(&result("b", 1_000, true, 1.0))
            .await
            .unwrap();
        let buckets = store.buckets("a", 0, 180_000, MINUTE_MS).await.unwrap();
        assert_eq!(
            buckets,
            vec![
                Bucket {
                    start_ms: 0,
                    samples: 4,
                    failures: 1,
                    p50_ms: Some(20.0),
                    p95_ms: Some(30.0)
                },
                Bucket {
                    start_ms: 120_000,
                    samples: 1,
                    failures: 0,
                    p50_ms: Some(5.0),
                    p95_ms: Some(5.0)
                },
            ]
        );
        // The window's end is exclusive.
        assert_eq!(
            store
                .buckets("a", 0, 120_000, MINUTE_MS)
                .await
                .unwrap()
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn folded_hours_still_chart() {
        let (_dir, store) = store().await;
        for i in 0..6 {
            store
                .insert_result(&result("a", i * 600_000, i != 2, 100.0 + i as f64))
                .await
                .unwrap();
        }
        store.downsample(2 * HOUR_MS).await.unwrap();
        store
            .insert_result(&result("a", HOUR_MS + 5, true, 50.0))
            .await
            .unwrap();
        let buckets = store.buckets("a", 0, 2 * HOUR_MS, HOUR_MS).await.unwrap();
        assert_eq!(buckets.len(), 2);
        assert_eq!((buckets[0].samples, buckets[0].failures), (6, 1));
        assert_eq!(buckets[0].p95_ms, Some(105.0));
        assert_eq!((buckets[1].start_ms, buckets[1].samples), (HOUR_MS, 1));
    }

    #[tokio::test]
    async fn the_rollup_reads_find_windows_by_id() {
        let (_dir, store) = store().await;
        assert_eq!(store.first_id_since(0).await.unwrap(), 0);
        for i in 0..100 {
            let check = if i % 2 == 0 { "a" } else { "b" };
            store
                .insert_result(&result(check, i * MINUTE_MS, i % 10 != 1, i as f64))
                .await
                .unwrap();
        }
        let max = store.max_result_id().await.unwrap();
        assert_eq!(max, 100);
        // Result i has id i + 1.
        assert_eq!(store.first_id_since(50 * MINUTE_MS).await.unwrap(), 51);
        assert_eq!(store.first_id_since(0).await.unwrap(), 1);
        assert_eq!(store.first_id_since(1_000 * MINUTE_MS).await.unwrap(), 101);
        let latest = store.latest(1, max).await.unwrap();
        let mut ids: Vec<_> = latest.iter().map(|r| (r.check.as_str(), r.id)).collect();
        ids.sort();
        assert_eq!(ids, vec![("a", 99), ("b", 100)]);
        let hours = store.hour_counts(1, max, 0).await.unwrap();
        let b0 = hours
            .iter()
            .find(|h| h.check == "b" && h.hour_ms == 0)
            .unwrap();
        // b has the odd minutes 1..59 of hour 0 (30 results); 1, 11, … 51 failed.
        assert_eq!((b0.samples, b0.failures), (30, 6));
        let after = store.results_after(95, max, 3).await.unwrap();
        assert_eq!(after.iter().map(|r| r.id).collect::<Vec<_>>(), [96, 97, 98]);
        assert_eq!(
            store.failures("b", 0, 2).await.unwrap()[0].at_ms,
            91 * MINUTE_MS
        );
    }
}
