//! What several monitor nodes sharing one PostgreSQL need: the schedule with per-slot leases, named leases for
//! work only one node may do at a time, and an outbox whose rows are claimed one at a time.
//!
//! Times are the callers' wall clocks in unix milliseconds (nodes are expected to keep NTP time, as with any
//! lease). Passing `now` in, instead of reading it here, is what lets the lease rules be tested exactly.
//!
//! - A due slot is claimed with `FOR UPDATE SKIP LOCKED`: two nodes asking at once get different rows, never the
//!   same one, and neither waits for the other.
//! - The claim is a lease of one interval, renewed while the check runs. A node that dies stops renewing, and its
//!   slot is claimed again by another node within one interval.
//! - A result is stored in the same transaction that moves the slot on, and only while the lease is still the
//!   claimer's: a node that stalled past its lease and was taken over stores nothing, so each slot has at most one
//!   result.

use super::{INSERT_RESULT, OutboxRow, Pool, RunMeta, Store, StoreError, bind_result, with_pool};
use crate::checks::CheckResult;
use sqlx::postgres::{PgPool, Postgres};
use sqlx::{Row, Transaction};

/// The lease under which alerts are evaluated and the outbox is delivered.
pub const EVALUATOR: &str = "evaluator";
/// The lease under which raw results are folded into hourly aggregates.
pub const RETENTION: &str = "retention";

/// A slot this node holds: run the check, then [`Store::complete`] it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub check: String,
    pub region: String,
    /// The slot's intended start.
    pub due_ms: i64,
    pub interval_ms: i64,
}

/// Where a slot moves after its run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextSlot {
    pub due_ms: i64,
    /// Slots passed over because the backlog was longer than the catch-up limit.
    pub skipped: i64,
    /// The interval in force for the next slot (its lease lasts this long).
    pub interval_ms: i64,
}

impl NextSlot {
    /// The slot after `due_ms` on the grid of `interval_ms`. Slots already due are run one after the other (each
    /// interval gets its result, also after a takeover), but when more than `catch_up` of them are waiting (the
    /// whole cluster was down) the oldest are skipped and counted instead of being run in a burst.
    pub fn after(due_ms: i64, interval_ms: i64, now_ms: i64, catch_up: i64) -> NextSlot {
        let interval_ms = interval_ms.max(1);
        let next = due_ms + interval_ms;
        let waiting = (now_ms - next).div_euclid(interval_ms) + 1;
        let skipped = (waiting - catch_up.max(1)).max(0);
        NextSlot {
            due_ms: next + skipped * interval_ms,
            skipped,
            interval_ms,
        }
    }
}

/// A named lease's holder, for operators and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    pub owner: String,
    pub until_ms: i64,
    /// Rounds of work recorded under the lease (by every holder so far).
    pub rounds: i64,
}

/// An outbox row this node is delivering. On PostgreSQL its row lock is held (in an open transaction) until
/// [`Store::finish_delivery`], so no other node sends it meanwhile; a node that dies mid-send releases it.
#[derive(Debug)]
pub struct OutboxClaim {
    pub row: OutboxRow,
    tx: Option<Transaction<'static, Postgres>>,
}

impl Store {
    fn pg(&self, what: &'static str) -> Result<&PgPool, StoreError> {
        match &self.pool {
            Pool::Postgres(pool) => Ok(pool),
            Pool::Sqlite(_) => Err(StoreError::NotShared(what)),
        }
    }

    /// Makes sure each `(check, interval_ms, first_due_ms)` has a schedule row in `region`. A row that exists
    /// keeps its next slot (another node may be running it) and takes the interval given.
    pub async fn ensure_schedule(
        &self,
        region: &str,
        rows: &[(String, i64, i64)],
    ) -> Result<(), StoreError> {
        let pool = self.pg("a shared schedule")?;
        let mut tx = pool.begin().await?;
        for (check, interval_ms, first_due_ms) in rows {
            sqlx::query(
                "INSERT INTO schedule (check_id, region, interval_ms, next_due_ms) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (check_id, region) DO UPDATE SET interval_ms = excluded.interval_ms",
            )
            .bind(check)
            .bind(region)
            .bind(interval_ms)
            .bind(first_due_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Claims up to `limit` slots of `checks` in `region` that are due at `now_ms` and not leased (or whose lease
    /// expired), oldest first, each leased to `node` for one interval.
    pub async fn claim_due(
        &self,
        node: &str,
        region: &str,
        checks: &[String],
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<Claim>, StoreError> {
        let pool = self.pg("claiming checks")?;
        let rows = sqlx::query(
            "WITH due AS (
                 SELECT check_id FROM schedule
                 WHERE region = $1 AND check_id = ANY($2) AND next_due_ms <= $3
                   AND (lease_owner IS NULL OR lease_until_ms < $3)
                 ORDER BY next_due_ms
                 LIMIT $4
                 FOR UPDATE SKIP LOCKED)
             UPDATE schedule s SET lease_owner = $5, lease_until_ms = $3 + s.interval_ms
             FROM due WHERE s.check_id = due.check_id AND s.region = $1
             RETURNING s.check_id, s.next_due_ms, s.interval_ms",
        )
        .bind(region)
        .bind(checks)
        .bind(now_ms)
        .bind(limit)
        .bind(node)
        .fetch_all(pool)
        .await?;
        let mut claims = rows
            .iter()
            .map(|row| {
                Ok(Claim {
                    check: row.try_get("check_id")?,
                    region: region.to_string(),
                    due_ms: row.try_get("next_due_ms")?,
                    interval_ms: row.try_get("interval_ms")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        claims.sort_by_key(|c| c.due_ms);
        Ok(claims)
    }

    /// Extends `claim`'s lease by one interval from `now_ms`, if `node` still holds it. False: it was taken over.
    pub async fn renew(&self, claim: &Claim, node: &str, now_ms: i64) -> Result<bool, StoreError> {
        let pool = self.pg("renewing a lease")?;
        let updated = sqlx::query(
            "UPDATE schedule SET lease_until_ms = $1 + interval_ms
             WHERE check_id = $2 AND region = $3 AND lease_owner = $4 AND next_due_ms = $5",
        )
        .bind(now_ms)
        .bind(&claim.check)
        .bind(&claim.region)
        .bind(node)
        .bind(claim.due_ms)
        .execute(pool)
        .await?
        .rows_affected();
        Ok(updated == 1)
    }

    /// Stores `result` for `claim` and moves the slot on to `next.due_ms` (with the interval then in force, having
    /// skipped `next.skipped` slots), in one transaction, only if `node` still holds the lease. False: the slot
    /// was taken over and nothing was stored.
    pub async fn complete(
        &self,
        claim: &Claim,
        node: &str,
        result: &CheckResult,
        next: NextSlot,
    ) -> Result<bool, StoreError> {
        let pool = self.pg("completing a claim")?;
        let timings = serde_json::to_string(&result.timings)?;
        let meta = RunMeta {
            node: node.to_string(),
            region: claim.region.clone(),
            due_ms: Some(claim.due_ms),
        };
        let mut tx = pool.begin().await?;
        let moved = sqlx::query(
            "UPDATE schedule SET next_due_ms = $1, lease_owner = NULL, lease_until_ms = NULL,
               skipped = skipped + $2, interval_ms = $7
             WHERE check_id = $3 AND region = $4 AND lease_owner = $5 AND next_due_ms = $6",
        )
        .bind(next.due_ms)
        .bind(next.skipped)
        .bind(&claim.check)
        .bind(&claim.region)
        .bind(node)
        .bind(claim.due_ms)
        .bind(next.interval_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        bind_result!(sqlx::query(INSERT_RESULT), result, meta, &timings)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Gives back every slot `node` holds, so another node runs them now instead of after their leases expire.
    pub async fn release_claims(&self, node: &str) -> Result<u64, StoreError> {
        let pool = self.pg("releasing claims")?;
        Ok(sqlx::query(
            "UPDATE schedule SET lease_owner = NULL, lease_until_ms = NULL WHERE lease_owner = $1",
        )
        .bind(node)
        .execute(pool)
        .await?
        .rows_affected())
    }

    /// Slots skipped so far per check in `region` (a backlog older than the catch-up limit), for operators.
    pub async fn skipped_slots(&self, region: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let pool = self.pg("reading the schedule")?;
        Ok(sqlx::query_as(
            "SELECT check_id, skipped FROM schedule WHERE region = $1 ORDER BY check_id",
        )
        .bind(region)
        .fetch_all(pool)
        .await?)
    }

    /// Takes or renews the named lease for `ttl_ms` from `now_ms`. True when `owner` holds it afterwards: it was
    /// free, expired, or already `owner`'s.
    pub async fn acquire_lease(
        &self,
        name: &str,
        owner: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        let pool = self.pg("a named lease")?;
        let held: Option<String> = sqlx::query_scalar(
            "INSERT INTO leases (name, owner, until_ms) VALUES ($1, $2, $3 + $4)
             ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until_ms = excluded.until_ms
             WHERE leases.owner = excluded.owner OR leases.until_ms < $3
             RETURNING owner",
        )
        .bind(name)
        .bind(owner)
        .bind(now_ms)
        .bind(ttl_ms)
        .fetch_optional(pool)
        .await?;
        Ok(held.as_deref() == Some(owner))
    }

    /// Records one round of work done under the named lease, if `owner` holds it.
    pub async fn lease_round(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        let pool = self.pg("a named lease")?;
        sqlx::query("UPDATE leases SET rounds = rounds + 1 WHERE name = $1 AND owner = $2")
            .bind(name)
            .bind(owner)
            .execute(pool)
            .await?;
        Ok(())
    }

    /// Lets the named lease go at once (on a clean stop), if `owner` holds it.
    pub async fn release_lease(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        let pool = self.pg("a named lease")?;
        sqlx::query("UPDATE leases SET until_ms = 0 WHERE name = $1 AND owner = $2")
            .bind(name)
            .bind(owner)
            .execute(pool)
            .await?;
        Ok(())
    }

    pub async fn lease_holder(&self, name: &str) -> Result<Option<LeaseHolder>, StoreError> {
        let pool = self.pg("a named lease")?;
        let row: Option<(String, i64, i64)> =
            sqlx::query_as("SELECT owner, until_ms, rounds FROM leases WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await?;
        Ok(row.map(|(owner, until_ms, rounds)| LeaseHolder {
            owner,
            until_ms,
            rounds,
        }))
    }

    /// The next undelivered outbox row after `after_id`. On PostgreSQL the row is locked (`FOR UPDATE SKIP
    /// LOCKED`) until [`Store::finish_delivery`]: rows another node is sending are passed over, never sent twice.
    pub async fn claim_pending(&self, after_id: i64) -> Result<Option<OutboxClaim>, StoreError> {
        const NEXT: &str = "SELECT id, channel, payload, attempts FROM outbox
             WHERE delivered_ms IS NULL AND id > $1 ORDER BY id LIMIT 1";
        let decode = |id, channel, payload: String, attempts| -> Result<OutboxRow, StoreError> {
            Ok(OutboxRow {
                id,
                channel,
                notification: serde_json::from_str(&payload)?,
                attempts,
            })
        };
        match &self.pool {
            Pool::Sqlite(pool) => {
                let row: Option<(i64, String, String, i64)> = sqlx::query_as(NEXT)
                    .bind(after_id)
                    .fetch_optional(pool)
                    .await?;
                row.map(|(id, channel, payload, attempts)| {
                    Ok(OutboxClaim {
                        row: decode(id, channel, payload, attempts)?,
                        tx: None,
                    })
                })
                .transpose()
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let row: Option<(i64, String, String, i64)> =
                    sqlx::query_as(&format!("{NEXT} FOR UPDATE SKIP LOCKED"))
                        .bind(after_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                match row {
                    Some((id, channel, payload, attempts)) => Ok(Some(OutboxClaim {
                        row: decode(id, channel, payload, attempts)?,
                        tx: Some(tx),
                    })),
                    None => {
                        tx.rollback().await?;
                        Ok(None)
                    }
                }
            }
        }
    }

    /// Records how the delivery of a claimed row went: `Ok(now_ms)` delivered, `Err(message)` failed (it stays in
    /// the outbox for the next round). Releases the row.
    pub async fn finish_delivery(
        &self,
        claim: OutboxClaim,
        outcome: Result<i64, &str>,
    ) -> Result<(), StoreError> {
        let id = claim.row.id;
        match claim.tx {
            Some(mut tx) => {
                match outcome {
                    Ok(now_ms) => {
                        sqlx::query(super::MARK_DELIVERED)
                            .bind(now_ms)
                            .bind(id)
                            .execute(&mut *tx)
                            .await?
                    }
                    Err(error) => {
                        sqlx::query(super::MARK_FAILED)
                            .bind(error)
                            .bind(id)
                            .execute(&mut *tx)
                            .await?
                    }
                };
                tx.commit().await?;
                Ok(())
            }
            None => match outcome {
                Ok(now_ms) => self.mark_delivered(id, now_ms).await,
                Err(error) => self.mark_failed(id, error).await,
            },
        }
    }

    /// Undelivered outbox rows, for operators and tests.
    pub async fn undelivered_count(&self) -> Result<i64, StoreError> {
        with_pool!(self, |pool| Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE delivered_ms IS NULL"
        )
        .fetch_one(pool)
        .await?))
    }
}

#[cfg(test)]
mod tests {
    use super::NextSlot;

    #[test]
    fn the_next_slot_is_on_the_grid_and_a_long_backlog_is_skipped_not_burst() {
        // On time: the next slot is one interval on.
        assert_eq!(NextSlot::after(10_000, 1_000, 10_050, 3).due_ms, 11_000);
        // Two slots late (a takeover): both are still run, starting with the oldest.
        let late = NextSlot::after(10_000, 1_000, 12_500, 3);
        assert_eq!((late.due_ms, late.skipped), (11_000, 0));
        // Ten slots waiting with a catch-up of three: the seven oldest are skipped, three remain to run.
        let down = NextSlot::after(10_000, 1_000, 20_500, 3);
        assert_eq!((down.due_ms, down.skipped), (18_000, 7));
        assert!(20_500 - down.due_ms < 3 * 1_000);
    }
}
