//! Where results, alert state, the outbox and incidents live. Two backends behind one `Store`:
//!
//! - SQLite (the default, no setup): one file in WAL mode, written with `synchronous = FULL` so a result or a
//!   state change that was committed survives `kill -9` (and a power cut).
//! - PostgreSQL (a `postgres://` database): the same tables plus the schedule and leases that let several monitor
//!   nodes share the work (`cluster.rs`).
//!
//! Each backend has its own embedded migrations, applied by sqlx's migrator on open. Queries are built at run
//! time and written once, in the dialect both accept (`$1` parameters, `ON CONFLICT`); [`with_pool!`] runs one
//! body against whichever pool is open, so each query is type-checked against both drivers.

pub mod cluster;

use crate::alert::{AlertState, Key, NoticeKind, Notification};
use crate::checks::CheckResult;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::str::FromStr as _;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the monitor database {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot migrate the monitor database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("monitor database: {0}")]
    Query(#[from] sqlx::Error),
    #[error("monitor database holds unreadable data: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("{0} needs a PostgreSQL database (a postgres:// URL); this one is SQLite")]
    NotShared(&'static str),
}

/// A schema's migrations, embedded.
#[derive(Debug)]
struct Embedded(&'static [(i64, &'static str, &'static str)]);

const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../migrations/0001_initial.sql")),
    (2, "hourly", include_str!("../migrations/0002_hourly.sql")),
    (
        3,
        "node region",
        include_str!("../migrations/0003_node_region.sql"),
    ),
];

const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "initial",
    include_str!("../migrations/postgres/0001_initial.sql"),
)];

/// How long raw results are kept before they are folded into hourly aggregates.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(14 * 86_400);
const HOUR_MS: i64 = 3_600_000;

/// One check's figures for one hour, kept after its raw results are gone.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Hourly {
    #[sqlx(rename = "check_id")]
    pub check: String,
    pub hour_ms: i64,
    pub samples: i64,
    pub failures: i64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

type BoxDynError = Box<dyn std::error::Error + Send + Sync>;

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// An undelivered notification for one channel.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    pub channel: String,
    pub notification: Notification,
    pub attempts: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Incident {
    pub rule: String,
    #[sqlx(rename = "check_id")]
    pub check: String,
    pub since_ms: i64,
    pub resolved_ms: Option<i64>,
    pub summary: String,
}

/// Who produced a result and for which slot: the node's name, its region label (empty: none) and the intended
/// start of the run (`None` for a run outside the schedule, such as `--once`).
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct RunMeta {
    pub node: String,
    pub region: String,
    pub due_ms: Option<i64>,
}

/// A stored result with where it ran, for per-region views and for checking the schedule.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Run {
    #[sqlx(rename = "check_id")]
    pub check: String,
    pub at_ms: i64,
    pub ok: bool,
    #[sqlx(flatten)]
    pub meta: RunMeta,
}

/// The open pool. Code that queries matches on it through [`with_pool!`].
#[derive(Debug, Clone)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to whichever pool `$store` has open. The body is compiled once per driver,
/// so a query written in the common dialect is checked against both.
macro_rules! with_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// The columns a result is inserted with, in the order [`bind_result!`] binds them.
const INSERT_RESULT: &str = "INSERT INTO results (at_ms, check_id, step, ok, status, duration_ms, timings, error_kind, error, context, cert_expires_at_ms, region, node, due_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

macro_rules! bind_result {
    ($query:expr, $r:expr, $meta:expr, $timings:expr) => {
        $query
            .bind($r.at_ms)
            .bind(&$r.check)
            .bind(&$r.step)
            .bind($r.ok)
            .bind($r.status.map(i64::from))
            .bind($r.duration_ms)
            .bind($timings)
            .bind(&$r.error_kind)
            .bind(&$r.error)
            .bind(&$r.context)
            .bind($r.cert_expires_at_ms)
            .bind(&$meta.region)
            .bind(&$meta.node)
            .bind($meta.due_ms)
    };
}
pub(crate) use bind_result;

/// True when `database` names a PostgreSQL server rather than a SQLite file.
pub fn is_postgres_url(database: &str) -> bool {
    database.starts_with("postgres://") || database.starts_with("postgresql://")
}

/// A database URL fit for messages: the password, if any, masked.
pub fn display_url(database: &str) -> String {
    match url::Url::parse(database) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        Ok(url) => url.to_string(),
        Err(_) => database.to_string(),
    }
}

#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: Pool,
}

impl Store {
    /// Opens the monitor's database: a `postgres://` (or `postgresql://`) URL is a PostgreSQL server, anything
    /// else a SQLite file, created when missing.
    pub async fn open(database: &Path) -> Result<Store, StoreError> {
        match database.to_str() {
            Some(url) if is_postgres_url(url) => Store::open_postgres(url).await,
            _ => Store::open_sqlite(database).await,
        }
    }

    pub async fn open_sqlite(path: &Path) -> Result<Store, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                path: path.display().to_string(),
                source,
            })?;
        Migrator::new(Embedded(SQLITE_MIGRATIONS))
            .await?
            .run(&pool)
            .await?;
        Ok(Store {
            pool: Pool::Sqlite(pool),
        })
    }

    /// Connects to PostgreSQL and applies its migrations (sqlx's migrator holds an advisory lock meanwhile, so
    /// nodes starting together migrate once).
    pub async fn open_postgres(url: &str) -> Result<Store, StoreError> {
        let open_error = |source| StoreError::Open {
            path: display_url(url),
            source,
        };
        let options = PgConnectOptions::from_str(url).map_err(open_error)?;
        // Each check in flight needs a connection to store its result; 16 keeps a burst of completions from
        // queueing behind one another without crowding a small server's connection limit.
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(open_error)?;
        Migrator::new(Embedded(POSTGRES_MIGRATIONS))
            .await?
            .run(&pool)
            .await?;
        Ok(Store {
            pool: Pool::Postgres(pool),
        })
    }

    /// True on PostgreSQL, where several nodes may share the database.
    pub fn is_shared(&self) -> bool {
        matches!(self.pool, Pool::Postgres(_))
    }

    /// The open pool, for read-only queries that live beside the store.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub async fn insert_result(&self, r: &CheckResult) -> Result<(), StoreError> {
        self.insert_run(r, &RunMeta::default()).await
    }

    /// Stores a result with the node, region and slot it ran for.
    pub async fn insert_run(&self, r: &CheckResult, meta: &RunMeta) -> Result<(), StoreError> {
        let timings = serde_json::to_string(&r.timings)?;
        with_pool!(self, |pool| {
            bind_result!(sqlx::query(INSERT_RESULT), r, meta, &timings)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Stores many results in one transaction (one commit, one fsync): all of them or, on an error, none.
    pub async fn insert_runs(&self, runs: &[(CheckResult, RunMeta)]) -> Result<(), StoreError> {
        let timings = runs
            .iter()
            .map(|(r, _)| serde_json::to_string(&r.timings))
            .collect::<Result<Vec<_>, _>>()?;
        let begin = self.begin_write();
        with_pool!(self, |pool| {
            let mut tx = pool.begin_with(begin).await?;
            for ((r, meta), timings) in runs.iter().zip(&timings) {
                bind_result!(sqlx::query(INSERT_RESULT), r, meta, timings)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// A check's results since `since_ms`, oldest first, but at least its last `at_least` results.
    pub async fn results(
        &self,
        check: &str,
        since_ms: i64,
        at_least: i64,
    ) -> Result<Vec<CheckResult>, StoreError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT at_ms, check_id, step, ok, status, duration_ms, timings, error_kind, error, context, cert_expires_at_ms
                 FROM results WHERE check_id = $1 AND (at_ms > $2 OR id IN
                   (SELECT id FROM results WHERE check_id = $1 ORDER BY at_ms DESC, id DESC LIMIT $3))
                 ORDER BY at_ms, id",
            )
            .bind(check)
            .bind(since_ms)
            .bind(at_least)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(CheckResult {
                        at_ms: row.try_get("at_ms")?,
                        check: row.try_get("check_id")?,
                        step: row.try_get("step")?,
                        ok: row.try_get("ok")?,
                        status: row
                            .try_get::<Option<i64>, _>("status")?
                            .and_then(|s| u16::try_from(s).ok()),
                        duration_ms: row.try_get("duration_ms")?,
                        timings: serde_json::from_str(&row.try_get::<String, _>("timings")?)?,
                        error_kind: row.try_get("error_kind")?,
                        error: row.try_get("error")?,
                        context: row.try_get("context")?,
                        cert_expires_at_ms: row.try_get("cert_expires_at_ms")?,
                    })
                })
                .collect()
        })
    }

    /// Every stored run of every check with its node, region and slot, oldest first.
    pub async fn runs(&self) -> Result<Vec<Run>, StoreError> {
        with_pool!(self, |pool| {
            Ok(sqlx::query_as(
                "SELECT check_id, at_ms, ok, node, region, due_ms FROM results ORDER BY at_ms, id",
            )
            .fetch_all(pool)
            .await?)
        })
    }

    pub async fn result_count(&self) -> Result<i64, StoreError> {
        with_pool!(self, |pool| Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM results"
        )
        .fetch_one(pool)
        .await?))
    }

    pub async fn states(&self) -> Result<BTreeMap<Key, AlertState>, StoreError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query("SELECT rule, check_id, state FROM alert_state")
                .fetch_all(pool)
                .await?;
            let mut out = BTreeMap::new();
            for row in rows {
                let state: AlertState = serde_json::from_str(&row.try_get::<String, _>("state")?)?;
                out.insert((row.try_get("rule")?, row.try_get("check_id")?), state);
            }
            Ok(out)
        })
    }

    /// Saves an evaluation: the new states, one outbox row per notification and channel (a notice already in
    /// the outbox is not added again), and the incidents it opens or closes — all in one transaction, so a crash
    /// leaves either the old state or the new state with its notices, never a state without its notices.
    pub async fn commit_evaluation(
        &self,
        states: &BTreeMap<Key, AlertState>,
        notifications: &[Notification],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.commit_evaluation_fenced(states, notifications, now_ms, None)
            .await
            .map(|_| ())
    }

    /// [`Store::commit_evaluation`], but on PostgreSQL only while `fence` = (lease name, owner) still holds that
    /// lease: the lease row is locked in the same transaction, so an evaluator whose lease was taken over (it
    /// stalled past its expiry) commits nothing. Returns whether it committed.
    pub async fn commit_evaluation_fenced(
        &self,
        states: &BTreeMap<Key, AlertState>,
        notifications: &[Notification],
        now_ms: i64,
        fence: Option<(&str, &str)>,
    ) -> Result<bool, StoreError> {
        let states_json = states
            .iter()
            .map(|(key, state)| Ok((key, serde_json::to_string(state)?)))
            .collect::<Result<Vec<_>, serde_json::Error>>()?;
        let payloads = notifications
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()?;
        if fence.is_some() && !self.is_shared() {
            return Err(StoreError::NotShared("a fenced evaluation"));
        }
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            if let Some((lease, owner)) = fence {
                let holder: Option<(String, i64)> =
                    sqlx::query_as("SELECT owner, until_ms FROM leases WHERE name = $1 FOR UPDATE")
                        .bind(lease)
                        .fetch_optional(&mut *tx)
                        .await?;
                if !holder.is_some_and(|(who, until)| who == owner && until >= now_ms) {
                    tx.rollback().await?;
                    return Ok(false);
                }
            }
            for ((rule, check), state) in &states_json {
                sqlx::query(
                    "INSERT INTO alert_state (rule, check_id, state) VALUES ($1, $2, $3)
                     ON CONFLICT (rule, check_id) DO UPDATE SET state = excluded.state",
                )
                .bind(rule)
                .bind(check)
                .bind(state)
                .execute(&mut *tx)
                .await?;
            }
            for (notification, payload) in notifications.iter().zip(&payloads) {
                for channel in &notification.channels {
                    sqlx::query(
                        "INSERT INTO outbox (notice_key, channel, payload, created_ms) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (notice_key, channel) DO NOTHING",
                    )
                    .bind(&notification.key)
                    .bind(channel)
                    .bind(payload)
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
                }
                match notification.kind {
                    NoticeKind::Firing => {
                        sqlx::query(
                            "INSERT INTO incidents (rule, check_id, since_ms, summary) VALUES ($1, $2, $3, $4)
                             ON CONFLICT (rule, check_id, since_ms) DO NOTHING",
                        )
                        .bind(&notification.rule)
                        .bind(&notification.check)
                        .bind(notification.since_ms)
                        .bind(notification.text())
                        .execute(&mut *tx)
                        .await?;
                    }
                    NoticeKind::Resolved => {
                        sqlx::query(
                            "UPDATE incidents SET resolved_ms = $1 WHERE rule = $2 AND check_id = $3 AND since_ms = $4",
                        )
                        .bind(now_ms)
                        .bind(&notification.rule)
                        .bind(&notification.check)
                        .bind(notification.since_ms)
                        .execute(&mut *tx)
                        .await?;
                    }
                    NoticeKind::Reminder => {}
                }
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    pub async fn pending(&self) -> Result<Vec<OutboxRow>, StoreError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT id, channel, payload, attempts FROM outbox WHERE delivered_ms IS NULL ORDER BY id",
            )
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(OutboxRow {
                        id: row.try_get("id")?,
                        channel: row.try_get("channel")?,
                        notification: serde_json::from_str(&row.try_get::<String, _>("payload")?)?,
                        attempts: row.try_get("attempts")?,
                    })
                })
                .collect()
        })
    }

    pub async fn mark_delivered(&self, id: i64, now_ms: i64) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(MARK_DELIVERED)
                .bind(now_ms)
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    pub async fn mark_failed(&self, id: i64, error: &str) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(MARK_FAILED)
                .bind(error)
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Delivered outbox rows per channel, for tests and the dashboard.
    pub async fn delivered_count(&self) -> Result<i64, StoreError> {
        with_pool!(self, |pool| Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE delivered_ms IS NOT NULL"
        )
        .fetch_one(pool)
        .await?))
    }

    pub async fn incidents(&self, limit: i64) -> Result<Vec<Incident>, StoreError> {
        with_pool!(self, |pool| {
            Ok(sqlx::query_as(
                "SELECT rule, check_id, since_ms, resolved_ms, summary FROM incidents ORDER BY since_ms DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?)
        })
    }

    /// (ok, duration_ms) of a check's results since `since_ms`, for uptime and latency figures.
    pub async fn window(&self, check: &str, since_ms: i64) -> Result<Vec<(bool, f64)>, StoreError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT ok, duration_ms FROM results WHERE check_id = $1 AND at_ms > $2",
            )
            .bind(check)
            .bind(since_ms)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| Ok((row.try_get("ok")?, row.try_get("duration_ms")?)))
                .collect()
        })
    }

    /// Folds raw results of whole hours that ended before `cutoff_ms` into hourly aggregates (merged with any
    /// aggregate already there for that hour) and deletes them, in one transaction. Returns the rows folded.
    pub async fn downsample(&self, cutoff_ms: i64) -> Result<u64, StoreError> {
        let cutoff = cutoff_ms - cutoff_ms.rem_euclid(HOUR_MS);
        let begin = self.begin_write();
        with_pool!(self, |pool| {
            let mut tx = pool.begin_with(begin).await?;
            let rows = sqlx::query(
                "SELECT check_id, at_ms, ok, duration_ms FROM results WHERE at_ms < $1",
            )
            .bind(cutoff)
            .fetch_all(&mut *tx)
            .await?;
            let mut groups: BTreeMap<(String, i64), (i64, i64, Vec<f64>)> = BTreeMap::new();
            for row in &rows {
                let at: i64 = row.try_get("at_ms")?;
                let entry = groups
                    .entry((row.try_get("check_id")?, at - at.rem_euclid(HOUR_MS)))
                    .or_default();
                entry.0 += 1;
                if row.try_get::<bool, _>("ok")? {
                    entry.2.push(row.try_get("duration_ms")?);
                } else {
                    entry.1 += 1;
                }
            }
            for ((check, hour), (samples, failures, durations)) in groups {
                let previous = sqlx::query(
                    "SELECT samples, failures, p50_ms, p95_ms, max_ms FROM hourly WHERE check_id = $1 AND hour_ms = $2",
                )
                .bind(&check)
                .bind(hour)
                .fetch_optional(&mut *tx)
                .await?;
                let p = |q| crate::alert::percentile(&durations, q);
                let max = durations.iter().copied().reduce(f64::max);
                // A second fold of the same hour (results stored late) keeps the larger percentiles: an upper
                // bound.
                let (samples, failures, p50, p95, max) = match previous {
                    Some(row) => (
                        samples + row.try_get::<i64, _>("samples")?,
                        failures + row.try_get::<i64, _>("failures")?,
                        max_opt(p(50.0), row.try_get("p50_ms")?),
                        max_opt(p(95.0), row.try_get("p95_ms")?),
                        max_opt(max, row.try_get("max_ms")?),
                    ),
                    None => (samples, failures, p(50.0), p(95.0), max),
                };
                sqlx::query(
                    "INSERT INTO hourly (check_id, hour_ms, samples, failures, p50_ms, p95_ms, max_ms)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (check_id, hour_ms) DO UPDATE SET samples = excluded.samples,
                       failures = excluded.failures, p50_ms = excluded.p50_ms, p95_ms = excluded.p95_ms,
                       max_ms = excluded.max_ms",
                )
                .bind(&check)
                .bind(hour)
                .bind(samples)
                .bind(failures)
                .bind(p50)
                .bind(p95)
                .bind(max)
                .execute(&mut *tx)
                .await?;
            }
            let deleted = sqlx::query("DELETE FROM results WHERE at_ms < $1")
                .bind(cutoff)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(deleted)
        })
    }

    /// Deletes the hourly aggregates of hours that started before `cutoff_ms`. Returns the rows deleted.
    pub async fn delete_hourly_before(&self, cutoff_ms: i64) -> Result<u64, StoreError> {
        with_pool!(self, |pool| Ok(sqlx::query(
            "DELETE FROM hourly WHERE hour_ms < $1"
        )
        .bind(cutoff_ms)
        .execute(pool)
        .await?
        .rows_affected()))
    }

    /// The statement that opens a transaction which reads and then writes. On SQLite a deferred transaction
    /// that read first cannot take the write lock once another connection has written meanwhile (it fails at
    /// once with SQLITE_BUSY, busy timeout or not); `BEGIN IMMEDIATE` takes the lock up front and so waits its
    /// turn under the busy timeout instead.
    fn begin_write(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "BEGIN IMMEDIATE",
            Pool::Postgres(_) => "BEGIN",
        }
    }

    pub async fn hourly(&self, check: &str) -> Result<Vec<Hourly>, StoreError> {
        with_pool!(self, |pool| {
            Ok(sqlx::query_as(
                "SELECT check_id, hour_ms, samples, failures, p50_ms, p95_ms, max_ms FROM hourly WHERE check_id = $1 ORDER BY hour_ms",
            )
            .bind(check)
            .fetch_all(pool)
            .await?)
        })
    }

    pub async fn close(&self) {
        with_pool!(self, |pool| pool.close().await)
    }
}

const MARK_DELIVERED: &str =
    "UPDATE outbox SET delivered_ms = $1, attempts = attempts + 1, last_error = NULL WHERE id = $2";
const MARK_FAILED: &str =
    "UPDATE outbox SET attempts = attempts + 1, last_error = $1 WHERE id = $2";

/// The larger of two optional figures, or whichever is present.
pub(crate) fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{result, temp_store};

    #[tokio::test]
    async fn old_results_fold_into_hours_and_recent_ones_stay_raw() {
        let (_dir, store) = temp_store().await;
        // Hour 0: 10 results, one failed; hour 1: 2 results; hour 5: recent.
        for i in 0..10 {
            store
                .insert_result(&result(
                    "landing",
                    i * 60_000,
                    i != 3,
                    (i + 1) as f64 * 10.0,
                ))
                .await
                .unwrap();
        }
        store
            .insert_result(&result("landing", HOUR_MS + 1, true, 7.0))
            .await
            .unwrap();
        store
            .insert_result(&result("landing", HOUR_MS + 2, true, 9.0))
            .await
            .unwrap();
        store
            .insert_result(&result("landing", 5 * HOUR_MS, true, 1.0))
            .await
            .unwrap();
        // The cutoff falls inside hour 2: hours 0 and 1 fold, nothing of hour 5 does.
        let folded = store.downsample(2 * HOUR_MS + 5).await.unwrap();
        assert_eq!(folded, 12);
        assert_eq!(store.result_count().await.unwrap(), 1);
        let hours = store.hourly("landing").await.unwrap();
        assert_eq!(hours.len(), 2);
        assert_eq!((hours[0].samples, hours[0].failures), (10, 1));
        assert_eq!(hours[0].p95_ms, Some(100.0));
        assert_eq!(hours[0].max_ms, Some(100.0));
        assert_eq!((hours[1].samples, hours[1].p50_ms), (2, Some(7.0)));
        // A late result for an old hour merges into its aggregate.
        store
            .insert_result(&result("landing", 30, false, 1.0))
            .await
            .unwrap();
        store.downsample(2 * HOUR_MS).await.unwrap();
        let hours = store.hourly("landing").await.unwrap();
        assert_eq!((hours[0].samples, hours[0].failures), (11, 2));
        // Aggregates past their own retention go; later hours stay.
        assert_eq!(store.delete_hourly_before(HOUR_MS).await.unwrap(), 1);
        let hours = store.hourly("landing").await.unwrap();
        assert_eq!(hours.len(), 1);
        assert_eq!(hours[0].hour_ms, HOUR_MS);
    }

    #[tokio::test]
    async fn reopening_keeps_everything_and_migrations_run_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let store = Store::open(&path).await.unwrap();
        store
            .insert_result(&result("x", 1, true, 1.0))
            .await
            .unwrap();
        store.close().await;
        let again = Store::open(&path).await.unwrap();
        assert_eq!(again.result_count().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_batch_of_results_is_stored_in_order_with_its_slots() {
        let (_dir, store) = temp_store().await;
        let meta = |due| RunMeta {
            node: "n".into(),
            region: String::new(),
            due_ms: Some(due),
        };
        let batch: Vec<_> = (0..300)
            .map(|i| (result("landing", i, i % 7 != 0, 1.0), meta(i)))
            .collect();
        store.insert_runs(&batch).await.unwrap();
        let stored = store.results("landing", -1, 0).await.unwrap();
        assert_eq!(stored.len(), 300);
        assert!(stored.iter().zip(&batch).all(|(s, (b, _))| s == b));
        let runs = store.runs().await.unwrap();
        assert_eq!(runs[299].meta.due_ms, Some(299));
    }
}
