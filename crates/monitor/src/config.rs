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
    /// Email over SMTP: `smtp://[USER@]HOST[:PORT]` (STARTTLS required), `smtps://…` (TLS), or
    /// `smtp+plain://…` for a relay on a trusted network; the password from `password_env`.
    Email {
        url: String,
        from: String,
        to: Vec<String>,
        password_env: Option<String>,
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
    /// Raw results older than this are folded into hourly aggregates.
    pub retention: Duration,
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

/// Builds the monitor's configuration from the manifest's `[monitor]` and `[[alert]]` tables (with the roadmap's
/// defaults where they are silent). `database` overrides `[monitor] database`.
pub fn from_manifest(
    manifest: &launchready_manifest::Manifest,
    checks: &[Check],
    database: Option<PathBuf>,
) -> MonitorConfig {
    use launchready_manifest::AlertCondition;
    let settings = &manifest.monitor;
    let base_dir = manifest
        .source
        .as_deref()
        .and_then(std::path::Path::parent)
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let database = database.unwrap_or_else(|| match &settings.database {
        Some(path) if path.is_relative() => base_dir.join(path),
        Some(path) => path.clone(),
        None => base_dir.join("launchready-monitor.db"),
    });
    let schedule = Schedule {
        phases: settings
            .phases
            .iter()
            .map(|p| Phase {
                until_ms: p.until_unix.map(|s| s * 1000),
                every: p.every,
            })
            .collect(),
        jitter: f64::from(settings.jitter_percent) / 100.0,
    };
    let channels: Vec<Channel> = settings
        .channels
        .iter()
        .map(|c| {
            let url = c.url.clone().unwrap_or_default();
            let kind = match c.kind.as_str() {
                "webhook" => ChannelKind::Webhook {
                    url,
                    secret_env: c.secret_env.clone(),
                },
                "slack" => ChannelKind::Slack {
                    url_env: c.url_env.clone().unwrap_or_default(),
                },
                "discord" => ChannelKind::Discord {
                    url_env: c.url_env.clone().unwrap_or_default(),
                },
                "ntfy" => ChannelKind::Ntfy {
                    url,
                    token_env: c.token_env.clone(),
                },
                "pagerduty" => ChannelKind::PagerDuty {
                    routing_key_env: c.routing_key_env.clone().unwrap_or_default(),
                    url: c.url.clone(),
                },
                "alertmanager" => ChannelKind::Alertmanager { url },
                "email" => ChannelKind::Email {
                    url,
                    from: c.from.clone().unwrap_or_default(),
                    to: c.to.clone(),
                    password_env: c.secret_env.clone(),
                },
                _ => ChannelKind::Log,
            };
            Channel {
                name: c.name.clone(),
                kind,
            }
        })
        .collect();
    let owner = settings
        .owner
        .clone()
        .unwrap_or_else(|| "the site owner".to_string());
    let rules = if manifest.alerts.is_empty() {
        default_rules(checks, &channels, &owner)
    } else {
        manifest
            .alerts
            .iter()
            .map(|a| {
                let ids: Vec<String> = if a.checks.iter().any(|c| c == "*") {
                    checks.iter().map(|c| c.id.clone()).collect()
                } else {
                    a.checks.clone()
                };
                let min = a.min_samples.unwrap_or(DEFAULT_MIN_SAMPLES);
                let condition = match &a.condition {
                    AlertCondition::ConsecutiveFailures { n } => {
                        Condition::ConsecutiveFailures { n: *n }
                    }
                    AlertCondition::P95Above { threshold, window } => Condition::P95Above {
                        threshold_ms: threshold.as_secs_f64() * 1000.0,
                        window: *window,
                        min_samples: min,
                    },
                    AlertCondition::ErrorRateAbove {
                        basis_points,
                        window,
                    } => Condition::ErrorRateAbove {
                        ratio: f64::from(*basis_points) / 10_000.0,
                        window: *window,
                        min_samples: min,
                    },
                    AlertCondition::CertExpiresWithin { within } => {
                        Condition::CertExpiresWithin { within: *within }
                    }
                };
                let first = checks.iter().find(|c| ids.contains(&c.id));
                Rule {
                    name: a.name.clone(),
                    checks: ids.clone(),
                    condition,
                    owner: a.owner.clone().unwrap_or_else(|| owner.clone()),
                    channels: if a.channels.is_empty() {
                        if channels.is_empty() {
                            vec!["log".to_string()]
                        } else {
                            channels.iter().map(|c| c.name.clone()).collect()
                        }
                    } else {
                        a.channels.clone()
                    },
                    remind_every: a.remind_every,
                    first_step: a
                        .first_step
                        .clone()
                        .or_else(|| first.map(first_step))
                        .unwrap_or_else(|| {
                            "Open the dashboard and look at the failing check.".into()
                        }),
                }
            })
            .collect()
    };
    MonitorConfig {
        schedule,
        schedules: HashMap::new(),
        rules,
        channels,
        maintenance: settings
            .maintenance
            .iter()
            .map(|m| Maintenance {
                start_ms: m.start_unix * 1000,
                end_ms: m.end_unix * 1000,
                checks: m.checks.clone(),
                reason: m.reason.clone(),
            })
            .collect(),
        database,
        dashboard_url: settings.dashboard_url.as_ref().map(ToString::to_string),
        owner,
        retention: crate::store::DEFAULT_RETENTION,
    }
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
