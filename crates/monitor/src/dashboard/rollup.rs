//! The main page's figures for every check, kept in memory and brought up to date on each request by reading
//! only the results stored since the last request (`id > last seen`), so the page costs the same with 5,000
//! checks and weeks of results as with five. Aggregating every check's raw window per request cannot stay under
//! 200 ms: 5,000 checks at one result a minute are 7.2 million rows a day, and no index serves "every check
//! since T".
//!
//! It is built once (at startup, or by the first request) from an id range found by bisection: results per
//! check and hour for uptime in one grouped query, and the raw rows of the last hour for p50/p95 and each
//! check's latest result.
//!
//! What it keeps per check: the latest result, results per hour for the last 24 h (uptime), and successful
//! durations of the last hour (p50/p95). On PostgreSQL with several nodes a row committed after a later id was
//! already read is missed until the process restarts; the check page reads the database directly and is exact.

use crate::series::{HOUR_MS, Raw};
use crate::store::{Store, StoreError};
use std::collections::{HashMap, VecDeque};

/// Rows read per query while catching up.
const BATCH: i64 = 50_000;
/// Results stored this long after they ran still land in the windows the first build reads.
const LATE_MS: i64 = 10 * 60_000;

/// A check's latest result.
#[derive(Debug, Clone, PartialEq)]
pub struct Last {
    pub id: i64,
    pub at_ms: i64,
    pub ok: bool,
    pub status: Option<i64>,
    pub duration_ms: f64,
    pub error: Option<String>,
}

#[derive(Debug, Default)]
struct Roll {
    last: Option<Last>,
    /// (hour start, samples, failures), oldest first.
    hours: VecDeque<(i64, i64, i64)>,
    /// (at, duration) of successful results, oldest first.
    recent: VecDeque<(i64, f64)>,
}

/// The figures the main page shows for one check.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub last: Option<Last>,
    pub samples_24h: i64,
    pub uptime_24h: Option<f64>,
    pub p50_1h: Option<f64>,
    pub p95_1h: Option<f64>,
}

#[derive(Debug, Default)]
pub struct Rollup {
    built: bool,
    last_id: i64,
    checks: HashMap<String, Roll>,
}

impl Roll {
    fn add_hour(&mut self, hour_ms: i64, samples: i64, failures: i64) {
        match self.hours.iter_mut().rev().find(|(h, _, _)| *h == hour_ms) {
            Some(entry) => {
                entry.1 += samples;
                entry.2 += failures;
            }
            None => {
                let at = self.hours.partition_point(|(h, _, _)| *h < hour_ms);
                self.hours.insert(at, (hour_ms, samples, failures));
            }
        }
    }

    fn take(&mut self, raw: &Raw) {
        if self.last.as_ref().is_none_or(|l| raw.at_ms >= l.at_ms) {
            self.last = Some(Last {
                id: raw.id,
                at_ms: raw.at_ms,
                ok: raw.ok,
                status: raw.status,
                duration_ms: raw.duration_ms,
                error: raw.error.clone(),
            });
        }
    }

    fn take_recent(&mut self, raw: &Raw) {
        if raw.ok {
            let at = self.recent.partition_point(|(t, _)| *t <= raw.at_ms);
            self.recent.insert(at, (raw.at_ms, raw.duration_ms));
        }
    }

    fn prune(&mut self, now_ms: i64) {
        let first_hour = (now_ms - 24 * HOUR_MS).div_euclid(HOUR_MS) * HOUR_MS;
        while self.hours.front().is_some_and(|(h, _, _)| *h < first_hour) {
            self.hours.pop_front();
        }
        while self
            .recent
            .front()
            .is_some_and(|(t, _)| *t <= now_ms - HOUR_MS)
        {
            self.recent.pop_front();
        }
    }

    fn row(&self) -> Row {
        let (samples, failures) = self
            .hours
            .iter()
            .fold((0, 0), |(s, f), (_, hs, hf)| (s + hs, f + hf));
        let mut durations: Vec<f64> = self.recent.iter().map(|(_, d)| *d).collect();
        durations.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            (!durations.is_empty()).then(|| {
                let rank = ((p / 100.0) * durations.len() as f64).ceil() as usize;
                durations[rank.clamp(1, durations.len()) - 1]
            })
        };
        Row {
            last: self.last.clone(),
            samples_24h: samples,
            uptime_24h: (samples > 0).then(|| 100.0 * (samples - failures) as f64 / samples as f64),
            p50_1h: rank(50.0),
            p95_1h: rank(95.0),
        }
    }
}

impl Rollup {
    /// Reads what was stored since the last call (everything relevant on the first call).
    pub async fn refresh(&mut self, store: &Store, now_ms: i64) -> Result<(), StoreError> {
        let max = store.max_result_id().await?;
        if !self.built {
            self.build(store, now_ms, max).await?;
        } else {
            while self.last_id < max {
                let batch = store.results_after(self.last_id, max, BATCH).await?;
                let Some(end) = batch.last().map(|r| r.id) else {
                    break;
                };
                for raw in &batch {
                    let roll = self.checks.entry(raw.check.clone()).or_default();
                    roll.take(raw);
                    roll.add_hour(
                        raw.at_ms.div_euclid(HOUR_MS) * HOUR_MS,
                        1,
                        i64::from(!raw.ok),
                    );
                    roll.take_recent(raw);
                }
                self.last_id = end;
            }
        }
        for roll in self.checks.values_mut() {
            roll.prune(now_ms);
        }
        Ok(())
    }

    async fn build(&mut self, store: &Store, now_ms: i64, max: i64) -> Result<(), StoreError> {
        self.checks.clear();
        let since_24h = (now_ms - 24 * HOUR_MS).div_euclid(HOUR_MS) * HOUR_MS;
        let (from_day, from_hour) = tokio::try_join!(
            store.first_id_since(since_24h - LATE_MS),
            store.first_id_since(now_ms - HOUR_MS - LATE_MS)
        )?;
        // The day's counts and the hour's raw rows are independent reads over different id ranges: side by side
        // on two connections.
        let last_hour = async {
            let mut rows = Vec::new();
            let mut after = from_hour - 1;
            while after < max {
                let batch = store.results_after(after, max, BATCH).await?;
                let Some(end) = batch.last().map(|r| r.id) else {
                    break;
                };
                after = end;
                rows.extend(batch);
            }
            Ok::<_, StoreError>(rows)
        };
        let (hours, raws) =
            tokio::try_join!(store.hour_counts(from_day, max, since_24h), last_hour)?;
        for count in hours {
            self.checks.entry(count.check).or_default().add_hour(
                count.hour_ms,
                count.samples,
                count.failures,
            );
        }
        for raw in &raws {
            let roll = self.checks.entry(raw.check.clone()).or_default();
            roll.take(raw);
            if raw.at_ms > now_ms - HOUR_MS {
                roll.take_recent(raw);
            }
        }
        // A check seen today but not in the last hour (a slower schedule, or stopped): its latest result by the
        // index, one query each, for those few only.
        let stale: Vec<String> = self
            .checks
            .iter()
            .filter(|(_, roll)| roll.last.is_none())
            .map(|(check, _)| check.clone())
            .collect();
        for check in stale {
            if let Some(raw) = store.latest_of(&check).await? {
                self.checks.entry(check).or_default().take(&raw);
            }
        }
        self.last_id = max;
        self.built = true;
        Ok(())
    }

    pub fn row(&self, check: &str) -> Row {
        self.checks.get(check).map_or(
            Row {
                last: None,
                samples_24h: 0,
                uptime_24h: None,
                p50_1h: None,
                p95_1h: None,
            },
            Roll::row,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::CheckResult;
    use crate::test_support::{self, temp_store};

    /// A failure here is a 503 with its status as the error text.
    fn result(check: &str, at_ms: i64, ok: bool, duration_ms: f64) -> CheckResult {
        CheckResult {
            status: Some(if ok { 200 } else { 503 }),
            error: (!ok).then(|| "503".to_string()),
            ..test_support::result(check, at_ms, ok, duration_ms)
        }
    }

    /// The incremental path and a fresh build agree, and both agree with the figures computed from scratch.
    #[tokio::test]
    async fn catching_up_gives_what_a_fresh_build_gives() {
        let (_dir, store) = temp_store().await;
        let now = 30 * HOUR_MS;
        let minute = 60_000;
        // 30 hours of one result every 10 minutes; every 7th fails.
        let mut all = Vec::new();
        for i in 0..180 {
            let r = result("a", i * 10 * minute, i % 7 != 0, 10.0 + (i % 13) as f64);
            store.insert_result(&r).await.unwrap();
            all.push(r);
            if i == 100 {
                break;
            }
        }
        let mut incremental = Rollup::default();
        incremental
            .refresh(&store, 100 * 10 * minute)
            .await
            .unwrap();
        for i in 101..180 {
            let r = result("a", i * 10 * minute, i % 7 != 0, 10.0 + (i % 13) as f64);
            store.insert_result(&r).await.unwrap();
            all.push(r);
            if i == 150 {
                // A check that ran once, five hours before `now`: not in the last hour's rows.
                store
                    .insert_result(&result("b", 150 * 10 * minute, true, 5.0))
                    .await
                    .unwrap();
            }
        }
        incremental.refresh(&store, now).await.unwrap();
        let mut fresh = Rollup::default();
        fresh.refresh(&store, now).await.unwrap();
        let (a, b) = (incremental.row("a"), fresh.row("a"));
        assert_eq!(a, b);
        let first_hour = (now - 24 * HOUR_MS).div_euclid(HOUR_MS) * HOUR_MS;
        let day: Vec<_> = all.iter().filter(|r| r.at_ms >= first_hour).collect();
        let up = day.iter().filter(|r| r.ok).count();
        assert_eq!(a.samples_24h, day.len() as i64);
        assert_eq!(a.uptime_24h, Some(100.0 * up as f64 / day.len() as f64));
        let hour: Vec<f64> = all
            .iter()
            .filter(|r| r.ok && r.at_ms > now - HOUR_MS)
            .map(|r| r.duration_ms)
            .collect();
        assert_eq!(a.p95_1h, crate::alert::percentile(&hour, 95.0));
        assert_eq!(a.last.map(|l| l.at_ms), Some(179 * 10 * minute));
        assert_eq!(incremental.row("nothing").uptime_24h, None);
        for rollup in [&incremental, &fresh] {
            let b = rollup.row("b");
            assert_eq!(b.last.map(|l| l.at_ms), Some(150 * 10 * minute));
            assert_eq!((b.uptime_24h, b.p50_1h), (Some(100.0), None));
        }
    }
}
