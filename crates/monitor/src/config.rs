//! How the monitor runs: the schedule phases, jitter, alert rules, channels and maintenance windows. Built from
//! the manifest's checks with the roadmap's defaults; every part can be replaced by the caller.

use crate::alert::{Condition, DEFAULT_MIN_SAMPLES, Maintenance, Rule};
use crate::checks::{Check, CheckKind, LANDING};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// One phase of the schedule: checks run `every` until `until` (unix ms; `None`: for ever).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    pub until_ms: Option<i64>,
    pub every: Duration,
}

/// Phases in order; the first whose `until` is still ahead applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub phases: Vec<Phase>,
    /// Each wait is stretched or shrunk by up to this fraction, so checks do not fire in lockstep.
    pub jitter: f64,
}

impl Default for Schedule {
    /// Every minute: the roadmap's launch-week pace.
    fn default() -> Self {
        Schedule {
            phases: vec![Phase {
                until_ms: None,
                every: Duration::from_secs(60),
            }],
            jitter: 0.1,
        }
    }
}

impl Schedule {
    /// The interval in force at `now_ms`.
    pub fn interval_at(&self, now_ms: i64) -> Duration {
        self.phases
            .iter()
            .find(|p| p.until_ms.is_none_or(|until| now_ms < until))
            .or(self.phases.last())
            .map_or(Duration::from_secs(60), |p| p.every)
    }

    /// The wait before the next run, given a uniform random draw in [0, 1).
    pub fn next_wait(&self, now_ms: i64, draw: f64) -> Duration {
        let base = self.interval_at(now_ms).as_secs_f64();
        let factor = 1.0 + self.jitter.clamp(0.0, 0.5) * (2.0 * draw.clamp(0.0, 1.0) - 1.0);
        Duration::from_secs_f64((base * factor).max(0.001))
    }
}

/// Where notifications go. Secrets (URLs with tokens in them, keys) are read from the named environment
/// variables when a notification is sent, never from the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChannelKind {
    /// Printed on standard error; the channel every rule uses when none is configured.
    Log,
    /// JSON POST, signed with HMAC-SHA256 (`X-Launchready-Signature: sha256=…`) when `secret_env` is set.
    Webhook {
        url: String,
        secret_env: Option<String>,
    },
    Slack {
        url_env: String,
    },
    Discord {
        url_env: String,
    },
    Ntfy {
        /// e.g. `https://ntfy.sh/launch-alerts`.
        url: String,
        token_env: Option<String>,
    },
    PagerDuty {
        routing_key_env: String,
        /// Events API v2 endpoint; the public one unless overridden.
        url: Option<String>,
    },
    /// The Prometheus Alertmanager API (`POST /api/v2/alerts`).
    Alertmanager {
        url: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    pub name: String,
    pub kind: ChannelKind,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MonitorConfig {
    pub schedule: Schedule,
    /// Per-check schedules, by check id.
    pub schedules: HashMap<String, Schedule>,
    pub rules: Vec<Rule>,
    pub channels: Vec<Channel>,
    pub maintenance: Vec<Maintenance>,
    pub database: PathBuf,
    /// Linked from every message.
    pub dashboard_url: Option<String>,
    pub owner: String,
}

impl MonitorConfig {
    pub fn schedule_for(&self, check: &str) -> &Schedule {
        self.schedules.get(check).unwrap_or(&self.schedule)
    }

    /// A check's parents, for folding.
    pub fn dependencies(checks: &[Check]) -> HashMap<String, Vec<String>> {
        checks
            .iter()
            .filter(|c| !c.parents.is_empty())
            .map(|c| (c.id.clone(), c.parents.clone()))
            .collect()
    }
}

/// The first step of the incident note for a check.
pub fn first_step(check: &Check) -> String {
    match &check.kind {
        _ if check.id == LANDING => {
            "Open the site in a private window; if it is down, check the host's status page and the last deploy, and roll back if the deploy is the cause.".into()
        }
        _ if check.is_checkout() => {
            "Try a test purchase; check the payment provider's dashboard and the webhook log, then roll back the last deploy if checkout broke with it.".into()
        }
        CheckKind::Tls { host } => format!(
            "Renew the certificate of {host} (check the ACME/auto-renewal job and DNS validation)."
        ),
        CheckKind::Flow { name, .. } => format!(
            "Run `launchready flow` on the {name} journey to see the failing step, then check the app's logs for that request."
        ),
        CheckKind::Http { url, .. } => format!(
            "Open {url}; check the app's logs and the last deploy for that route."
        ),
    }
}

/// The roadmap's alerts: p95 over 500 ms and an error rate over 1 % over 15 minutes on every critical route and
/// journey, checkout failing 3 times in a row, any other check down 3 times in a row, and certificates that
/// expire within 14 days. They go to every configured channel (or the log).
pub fn default_rules(checks: &[Check], channels: &[Channel], owner: &str) -> Vec<Rule> {
    let channel_names: Vec<String> = if channels.is_empty() {
        vec!["log".to_string()]
    } else {
        channels.iter().map(|c| c.name.clone()).collect()
    };
    let window = Duration::from_secs(15 * 60);
    let mut rules = Vec::new();
    let mut add = |name: String, check: &Check, condition: Condition| {
        rules.push(Rule {
            name,
            checks: vec![check.id.clone()],
            condition,
            owner: owner.to_string(),
            channels: channel_names.clone(),
            remind_every: Some(Duration::from_secs(3600)),
            first_step: first_step(check),
        });
    };
    for check in checks {
        match &check.kind {
            CheckKind::Tls { .. } => add(
                "certificate expiring".into(),
                check,
                Condition::CertExpiresWithin {
                    within: Duration::from_secs(14 * 86_400),
                },
            ),
            CheckKind::Http { .. } | CheckKind::Flow { .. } => {
                let (name, n) = if check.is_checkout() {
                    ("checkout failing", 3)
                } else {
                    ("down", 3)
                };
                add(name.into(), check, Condition::ConsecutiveFailures { n });
                if check.critical {
                    if matches!(check.kind, CheckKind::Http { .. }) {
                        add(
                            "slow (p95 over 500ms)".into(),
                            check,
                            Condition::P95Above {
                                threshold_ms: 500.0,
                                window,
                                min_samples: DEFAULT_MIN_SAMPLES,
                            },
                        );
                    }
                    add(
                        "error rate over 1%".into(),
                        check,
                        Condition::ErrorRateAbove {
                            ratio: 0.01,
                            window,
                            min_samples: 10,
                        },
                    );
                }
            }
        }
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_switch_at_their_end() {
        let schedule = Schedule {
            phases: vec![
                Phase {
                    until_ms: Some(1_000),
                    every: Duration::from_secs(60),
                },
                Phase {
                    until_ms: None,
                    every: Duration::from_secs(300),
                },
            ],
            jitter: 0.0,
        };
        assert_eq!(schedule.interval_at(0), Duration::from_secs(60));
        assert_eq!(schedule.interval_at(999), Duration::from_secs(60));
        assert_eq!(schedule.interval_at(1_000), Duration::from_secs(300));
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let schedule = Schedule::default();
        assert_eq!(schedule.next_wait(0, 0.5), Duration::from_secs(60));
        assert_eq!(schedule.next_wait(0, 0.0), Duration::from_secs(54));
        assert!(schedule.next_wait(0, 0.999_999) <= Duration::from_secs(66));
    }

    #[test]
    fn phases_that_all_ended_keep_the_last_pace() {
        let schedule = Schedule {
            phases: vec![Phase {
                until_ms: Some(10),
                every: Duration::from_secs(30),
            }],
            jitter: 0.0,
        };
        assert_eq!(schedule.interval_at(50), Duration::from_secs(30));
    }
}
