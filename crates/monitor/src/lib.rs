//! launchready's uptime monitor. The pipeline, Gatus-style, with I/O only at the edges:
//!
//! manifest → `checks::plan` (pure) → scheduler (`runner`, phases and jitter, a check never overlaps itself) →
//! `checks::run` (network) → `store` (SQLite, WAL) → `alert::evaluate` (pure: results and previous state in,
//! next state and notifications out) → outbox (`store`) → `channels` (network) — and `dashboard` reads the store.

pub mod alert;
pub mod badge;
pub mod channels;
pub mod checks;
pub mod config;
pub mod dashboard;
pub mod drift;
pub mod note;
pub mod redact;
pub mod runner;
pub mod series;
pub mod store;
#[cfg(test)]
mod test_support;

pub use alert::{AlertState, Condition, Maintenance, NoticeKind, Notification, Rule, Sample};
pub use checks::{Check, CheckKind, CheckResult, FlowContext, plan};
pub use config::{
    Channel, ChannelKind, MonitorConfig, Phase, Schedule, default_rules, from_manifest,
};
pub use runner::{Monitor, MonitorError, OnceSummary};
pub use store::{Store, StoreError};

/// Unix milliseconds as RFC 3339 (UTC), for messages and payloads.
pub fn format_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{ms}ms"))
}

/// The wall clock in unix milliseconds. Only the runner reads it; the alert engine is handed `now`.
pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}
