//! The alert engine: a pure function from stored results and the previous alert state to the next state and the
//! notifications to send. It reads no clock (the caller passes `now`), touches no disk and no network, so every
//! rule, hysteresis band, reminder, fold and maintenance window is unit-tested with hand-built samples.
//!
//! Anti-flapping, per condition (a verdict inside the band keeps the previous state):
//! - `consecutive_failures >= N` fires on the N-th failure in a row and resolves after
//!   [`RECOVER_SUCCESSES`] successes in a row.
//! - `p(95) > T over W` needs at least `min_samples` successful samples in the window; it fires above T and
//!   resolves at or below 90 % of T.
//! - `error_rate > R over W` needs at least `min_samples` samples in the window; it fires above R and resolves at
//!   or below R / 2.
//! - `cert_expires_in < D` fires under D and resolves once the certificate has D plus one day left.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// Successes in a row that end a `consecutive_failures` alert.
pub const RECOVER_SUCCESSES: usize = 2;
/// Samples a windowed rule needs before it judges anything, unless the rule says otherwise.
pub const DEFAULT_MIN_SAMPLES: usize = 5;
const DAY_MS: i64 = 86_400_000;

/// One stored result, as the engine sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub at_ms: i64,
    pub ok: bool,
    pub duration_ms: f64,
    /// When the certificate seen by this check expires (TLS checks).
    pub cert_expires_at_ms: Option<i64>,
    /// The failure, one line, already redacted.
    pub error: Option<String>,
    /// The redacted request/response context of a failure.
    pub context: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    ConsecutiveFailures {
        n: u32,
    },
    P95Above {
        threshold_ms: f64,
        window: Duration,
        min_samples: usize,
    },
    ErrorRateAbove {
        ratio: f64,
        window: Duration,
        min_samples: usize,
    },
    CertExpiresWithin {
        within: Duration,
    },
}

impl Condition {
    /// As written in the manifest and in messages.
    pub fn describe(&self) -> String {
        let minutes = |d: &Duration| format!("{}m", d.as_secs() / 60);
        match self {
            Condition::ConsecutiveFailures { n } => format!("consecutive_failures >= {n}"),
            Condition::P95Above {
                threshold_ms,
                window,
                ..
            } => format!("p(95) > {threshold_ms}ms over {}", minutes(window)),
            Condition::ErrorRateAbove { ratio, window, .. } => {
                format!("error_rate > {}% over {}", ratio * 100.0, minutes(window))
            }
            Condition::CertExpiresWithin { within } => {
                format!("cert_expires_in < {}d", within.as_secs() / 86_400)
            }
        }
    }

    /// How far back results must go for this condition.
    pub fn lookback(&self) -> Duration {
        match self {
            Condition::P95Above { window, .. } | Condition::ErrorRateAbove { window, .. } => {
                *window
            }
            _ => Duration::ZERO,
        }
    }
}

/// An alert rule, applied to each of its checks separately.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub name: String,
    pub checks: Vec<String>,
    pub condition: Condition,
    pub owner: String,
    pub channels: Vec<String>,
    /// Repeat while firing, this often.
    pub remind_every: Option<Duration>,
    /// The first thing to do, from the incident note.
    pub first_step: String,
}

/// A time when alerts are silenced (and the dashboard says so).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Maintenance {
    pub start_ms: i64,
    pub end_ms: i64,
    /// Empty: every check.
    pub checks: Vec<String>,
    pub reason: String,
}

impl Maintenance {
    pub fn covers(&self, check: &str, now_ms: i64) -> bool {
        (self.start_ms..self.end_ms).contains(&now_ms)
            && (self.checks.is_empty() || self.checks.iter().any(|c| c == check))
    }
}

/// The state of one rule on one check. Kept in the database between evaluations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertState {
    pub firing: bool,
    pub since_ms: Option<i64>,
    /// When the firing notice went out; `None` while it is held back (maintenance, folded).
    pub notified_ms: Option<i64>,
    pub last_sent_ms: Option<i64>,
    pub reminders: u32,
    /// The parent check whose outage this alert is folded into.
    pub folded_into: Option<String>,
    pub silenced: bool,
    /// The measured value at the last evaluation (failures in a row, p95 ms, error ratio, days left).
    pub value: Option<f64>,
}

/// (rule name, check id).
pub type Key = (String, String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    Firing,
    Reminder,
    Resolved,
}

/// A message to send, to every channel of its rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Stable for one notice: the outbox refuses a second copy, so a re-run never sends it twice.
    pub key: String,
    pub kind: NoticeKind,
    pub rule: String,
    pub check: String,
    pub condition: String,
    pub owner: String,
    pub channels: Vec<String>,
    pub since_ms: i64,
    pub at_ms: i64,
    pub value: Option<f64>,
    pub last_error: Option<String>,
    pub context: Option<String>,
    /// Alerts of dependent checks folded into this one (`rule on check`).
    pub folded: Vec<String>,
    pub first_step: String,
    pub dashboard: Option<String>,
}

impl Notification {
    pub fn title(&self) -> String {
        let word = match self.kind {
            NoticeKind::Firing => "FIRING",
            NoticeKind::Reminder => "STILL FIRING",
            NoticeKind::Resolved => "RESOLVED",
        };
        format!("[{word}] {} on {}", self.rule, self.check)
    }

    /// The plain-text body every channel sends (channels with rich formats add fields beside it).
    pub fn text(&self) -> String {
        let since = crate::format_ms(self.since_ms);
        let mut out = format!(
            "{}\n{} ({}) since {since}; owner: {}",
            self.title(),
            self.check,
            self.condition,
            self.owner
        );
        if let Some(value) = self.value {
            out.push_str(&format!("; measured {value:.2}"));
        }
        if !self.folded.is_empty() {
            out.push_str(&format!(
                "\nAlso affected (folded into this incident): {}",
                self.folded.join(", ")
            ));
        }
        if self.kind != NoticeKind::Resolved {
            if let Some(error) = &self.last_error {
                out.push_str(&format!("\nLast error: {error}"));
            }
            if let Some(context) = &self.context {
                out.push_str(&format!("\nContext:\n{context}"));
            }
            out.push_str(&format!("\nFirst step: {}", self.first_step));
        }
        if let Some(url) = &self.dashboard {
            out.push_str(&format!("\nDashboard: {url}"));
        }
        out
    }
}

/// Everything one evaluation reads.
#[derive(Debug)]
pub struct Input<'a> {
    pub now_ms: i64,
    pub rules: &'a [Rule],
    /// Each check's recent samples, oldest first.
    pub results: &'a HashMap<String, Vec<Sample>>,
    pub previous: &'a BTreeMap<Key, AlertState>,
    /// A check's parents: while one of them is down, the check's alerts fold into the parent's incident.
    pub dependencies: &'a HashMap<String, Vec<String>>,
    pub maintenance: &'a [Maintenance],
    pub dashboard: Option<&'a str>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Output {
    pub states: BTreeMap<Key, AlertState>,
    pub notifications: Vec<Notification>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    Breach(f64),
    Clear(f64),
    /// Not enough data, or inside the hysteresis band: keep the previous state.
    Hold(Option<f64>),
}

/// Nearest-rank percentile of unsorted values.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

fn judge(condition: &Condition, samples: &[Sample], now_ms: i64) -> Verdict {
    let in_window = |window: &Duration| {
        let from = now_ms - window.as_millis() as i64;
        samples
            .iter()
            .filter(move |s| s.at_ms > from && s.at_ms <= now_ms)
    };
    match condition {
        Condition::ConsecutiveFailures { n } => {
            let failures = samples.iter().rev().take_while(|s| !s.ok).count();
            let successes = samples.iter().rev().take_while(|s| s.ok).count();
            if failures >= *n as usize && failures > 0 {
                Verdict::Breach(failures as f64)
            } else if successes >= RECOVER_SUCCESSES {
                Verdict::Clear(0.0)
            } else {
                Verdict::Hold(Some(failures as f64))
            }
        }
        Condition::P95Above {
            threshold_ms,
            window,
            min_samples,
        } => {
            let durations: Vec<f64> = in_window(window)
                .filter(|s| s.ok)
                .map(|s| s.duration_ms)
                .collect();
            if durations.len() < (*min_samples).max(1) {
                return Verdict::Hold(None);
            }
            let Some(p95) = percentile(&durations, 95.0) else {
                return Verdict::Hold(None);
            };
            if p95 > *threshold_ms {
                Verdict::Breach(p95)
            } else if p95 <= threshold_ms * 0.9 {
                Verdict::Clear(p95)
            } else {
                Verdict::Hold(Some(p95))
            }
        }
        Condition::ErrorRateAbove {
            ratio,
            window,
            min_samples,
        } => {
            let all: Vec<&Sample> = in_window(window).collect();
            if all.len() < (*min_samples).max(1) {
                return Verdict::Hold(None);
            }
            let rate = all.iter().filter(|s| !s.ok).count() as f64 / all.len() as f64;
            if rate > *ratio {
                Verdict::Breach(rate)
            } else if rate <= ratio / 2.0 {
                Verdict::Clear(rate)
            } else {
                Verdict::Hold(Some(rate))
            }
        }
        Condition::CertExpiresWithin { within } => {
            let Some(expires) = samples.iter().rev().find_map(|s| s.cert_expires_at_ms) else {
                return Verdict::Hold(None);
            };
            let left_ms = expires - now_ms;
            let days = left_ms as f64 / DAY_MS as f64;
            if left_ms < within.as_millis() as i64 {
                Verdict::Breach(days)
            } else if left_ms >= within.as_millis() as i64 + DAY_MS {
                Verdict::Clear(days)
            } else {
                Verdict::Hold(Some(days))
            }
        }
    }
}

/// The parent (if any) whose latest result is a failure.
fn down_parent(input: &Input<'_>, check: &str) -> Option<String> {
    input.dependencies.get(check)?.iter().find_map(|parent| {
        let last = input.results.get(parent)?.last()?;
        (!last.ok).then(|| parent.clone())
    })
}

/// Evaluates every rule on every one of its checks.
pub fn evaluate(input: &Input<'_>) -> Output {
    let now = input.now_ms;
    let mut out = Output::default();
    // Pending notices, completed with folded children once every state is known.
    let mut pending: Vec<Notification> = Vec::new();
    for rule in input.rules {
        for check in &rule.checks {
            let key = (rule.name.clone(), check.clone());
            let mut state = input.previous.get(&key).cloned().unwrap_or_default();
            let empty = Vec::new();
            let samples = input.results.get(check).unwrap_or(&empty);
            let verdict = judge(&rule.condition, samples, now);
            state.silenced = input.maintenance.iter().any(|m| m.covers(check, now));
            state.folded_into = if state.firing || matches!(verdict, Verdict::Breach(_)) {
                down_parent(input, check)
            } else {
                None
            };
            let last_failure = samples.iter().rev().find(|s| !s.ok);
            let notice = |kind: NoticeKind, state: &AlertState, tag: String| Notification {
                key: format!(
                    "{}|{}|{}|{tag}",
                    rule.name,
                    check,
                    state.since_ms.unwrap_or(now)
                ),
                kind,
                rule: rule.name.clone(),
                check: check.clone(),
                condition: rule.condition.describe(),
                owner: rule.owner.clone(),
                channels: rule.channels.clone(),
                since_ms: state.since_ms.unwrap_or(now),
                at_ms: now,
                value: state.value,
                last_error: last_failure.and_then(|s| s.error.clone()),
                context: last_failure.and_then(|s| s.context.clone()),
                folded: Vec::new(),
                first_step: rule.first_step.clone(),
                dashboard: input.dashboard.map(str::to_string),
            };
            match verdict {
                Verdict::Breach(value) | Verdict::Hold(Some(value)) => state.value = Some(value),
                Verdict::Clear(value) => state.value = Some(value),
                Verdict::Hold(None) => {}
            }
            let held_back = state.silenced || state.folded_into.is_some();
            match (state.firing, verdict) {
                (false, Verdict::Breach(_)) => {
                    state.firing = true;
                    state.since_ms = Some(now);
                    state.notified_ms = None;
                    state.last_sent_ms = None;
                    state.reminders = 0;
                    if !held_back {
                        state.notified_ms = Some(now);
                        state.last_sent_ms = Some(now);
                        pending.push(notice(NoticeKind::Firing, &state, "firing".into()));
                    }
                }
                (true, Verdict::Clear(_)) => {
                    if state.notified_ms.is_some() {
                        pending.push(notice(NoticeKind::Resolved, &state, "resolved".into()));
                    }
                    state = AlertState {
                        value: state.value,
                        silenced: state.silenced,
                        ..AlertState::default()
                    };
                }
                (true, _) if !held_back => {
                    if state.notified_ms.is_none() {
                        // Held back until now (maintenance ended, the parent came back): say it once, but only
                        // if it is still breaching — a child recovering along with its parent stays quiet.
                        if !matches!(verdict, Verdict::Breach(_)) {
                            out.states.insert(key, state);
                            continue;
                        }
                        state.notified_ms = Some(now);
                        state.last_sent_ms = Some(now);
                        pending.push(notice(NoticeKind::Firing, &state, "firing".into()));
                    } else if let (Some(every), Some(last)) =
                        (rule.remind_every, state.last_sent_ms)
                        && now - last >= every.as_millis() as i64
                    {
                        state.reminders += 1;
                        state.last_sent_ms = Some(now);
                        let tag = format!("reminder{}", state.reminders);
                        pending.push(notice(NoticeKind::Reminder, &state, tag));
                    }
                }
                _ => {}
            }
            out.states.insert(key, state);
        }
    }
    for notification in &mut pending {
        if notification.kind == NoticeKind::Resolved {
            continue;
        }
        notification.folded = out
            .states
            .iter()
            .filter(|(_, s)| s.firing && s.folded_into.as_deref() == Some(&notification.check))
            .map(|((rule, check), _)| format!("{rule} on {check}"))
            .collect();
    }
    out.notifications = pending;
    out
}

#[cfg(test)]
mod tests;
