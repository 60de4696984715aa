//! How the monitor runs: the schedule phases, jitter, alert rules, channels and maintenance windows. Built from
//! the manifest's checks with the roadmap's defaults; every part can be replaced by the caller.

use crate::alert::{Condition, DEFAULT_MIN_SAMPLES, Maintenance, Rule};
use crate::checks::{Check, CheckKind, LANDING, Step};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// The shortest pace of a DNS drift check without a `[[monitor.check]]` of its own.
pub const DNS_DRIFT_EVERY: Duration = Duration::from_secs(15 * 60);

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
    /// Hourly aggregates older than this are deleted; `None`: kept for ever.
    pub hourly_retention: Option<Duration>,
    /// Every journey's steps: each run of a journey also stores one result per step under the step's id.
    pub steps: Vec<Step>,
}

impl MonitorConfig {
    /// The check's own schedule (`[[monitor.check]]`), else the `[monitor]` phases.
    pub fn schedule_for(&self, check: &str) -> &Schedule {
        self.schedules.get(check).unwrap_or(&self.schedule)
    }

    /// The raw-results cutoff at `now_ms`: results before it are folded into hourly aggregates.
    pub fn retention_cutoff(&self, now_ms: i64) -> i64 {
        now_ms.saturating_sub(i64::try_from(self.retention.as_millis()).unwrap_or(i64::MAX))
    }

    /// The hourly-aggregates cutoff at `now_ms`, when they are not kept for ever.
    pub fn hourly_cutoff(&self, now_ms: i64) -> Option<i64> {
        self.hourly_retention
            .map(|d| now_ms.saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
    }

    /// [`MonitorConfig::dependencies`] plus each journey step's: the journey itself, then the journey's parents,
    /// so a failing journey's step alerts fold into the journey's incident.
    pub fn dependencies_with_steps(&self, checks: &[Check]) -> HashMap<String, Vec<String>> {
        let mut out = MonitorConfig::dependencies(checks);
        for step in &self.steps {
            let journey = step
                .id
                .split(crate::checks::STEP_SEPARATOR)
                .next()
                .unwrap_or_default()
                .to_string();
            let mut parents = vec![journey.clone()];
            if let Some(check) = checks.iter().find(|c| c.id == journey) {
                parents.extend(check.parents.iter().cloned());
            }
            out.insert(step.id.clone(), parents);
        }
        out
    }

    /// Every id whose stored results the alert rules read: each check's, and each journey step's.
    pub fn evaluated_ids(&self, checks: &[Check]) -> Vec<String> {
        checks
            .iter()
            .map(|c| c.id.clone())
            .chain(self.steps.iter().map(|s| s.id.clone()))
            .collect()
    }

    /// Ids named by `[[monitor.check]]` or `[[alert]]` that match no planned check or step, each as a message
    /// listing what is planned (a typo would otherwise silently never run on its own pace, or never alert).
    pub fn unplanned(&self, checks: &[Check]) -> Vec<String> {
        let known = self.evaluated_ids(checks);
        let listing = || {
            checks
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = Vec::new();
        let mut ids: Vec<&String> = self.schedules.keys().collect();
        ids.sort();
        for id in ids {
            if !known.contains(id) {
                out.push(format!(
                    "[[monitor.check]] names `{id}`, which is not a planned check (planned: {})",
                    listing()
                ));
            }
        }
        for rule in &self.rules {
            for id in &rule.checks {
                if !known.contains(id) {
                    out.push(format!(
                        "alert `{}` names `{id}`, which is not a planned check or step (planned: {})",
                        rule.name,
                        listing()
                    ));
                }
            }
        }
        out
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
        CheckKind::Dns { snapshot, .. } => format!(
            "Run `launchready dns diff {} --live` to see what changed and what it means; if the change was not intended, `launchready dns restore-plan {0}` gives the order to put it back, else take a new snapshot.",
            snapshot.display()
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
/// journey, checkout failing 3 times in a row, any other check down 3 times in a row, certificates that expire
/// within 14 days, and DNS drifted from its snapshot twice in a row. They go to every configured channel (or the
/// log). Journey steps get theirs from [`default_step_rules`].
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
            // Twice, so one lost answer is not a page; a real drift stays until it is fixed or re-snapshotted.
            CheckKind::Dns { .. } => add(
                "DNS drifted".into(),
                check,
                Condition::ConsecutiveFailures { n: 2 },
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

/// The roadmap's "p95 crosses 500 ms on a critical route" for the journeys' steps: every step that requests the
/// path of a critical page other than the landing page (the login, checkout and member pages, and each critical
/// `[[route]]`) — so the login POST, which no GET check sees, is timed on its own.
pub fn default_step_rules(
    checks: &[Check],
    steps: &[Step],
    channels: &[Channel],
    owner: &str,
) -> Vec<Rule> {
    let channel_names: Vec<String> = if channels.is_empty() {
        vec!["log".to_string()]
    } else {
        channels.iter().map(|c| c.name.clone()).collect()
    };
    let critical_paths: Vec<&str> = checks
        .iter()
        .filter(|c| c.critical && c.id != LANDING)
        .filter_map(|c| match &c.kind {
            CheckKind::Http { url, .. } => Some(url.path()),
            _ => None,
        })
        .filter(|path| *path != "/")
        .collect();
    steps
        .iter()
        .filter(|step| critical_paths.contains(&step.path.as_str()))
        .map(|step| {
            let journey = step
                .id
                .split(crate::checks::STEP_SEPARATOR)
                .next()
                .unwrap_or_default();
            let name = journey.strip_prefix("flow:").unwrap_or(journey);
            Rule {
                name: "slow (p95 over 500ms)".into(),
                checks: vec![step.id.clone()],
                condition: Condition::P95Above {
                    threshold_ms: 500.0,
                    window: Duration::from_secs(15 * 60),
                    min_samples: DEFAULT_MIN_SAMPLES,
                },
                owner: owner.to_string(),
                channels: channel_names.clone(),
                remind_every: Some(Duration::from_secs(3600)),
                first_step: format!(
                    "Run `launchready flow` on the {name} journey and look at the timing of `{}`; then check the app's logs and the database for that request, and the last deploy.",
                    step.name
                ),
            }
        })
        .collect()
}

/// Every journey's steps, read from the journey files (a file that cannot be read has none here; the monitor
/// refuses to start on it anyway).
pub fn journey_steps(checks: &[Check]) -> Vec<Step> {
    checks
        .iter()
        .filter_map(|check| match &check.kind {
            CheckKind::Flow { file, .. } => launchready_flow::load(file)
                .ok()
                .map(|flow| crate::checks::steps(&check.id, &flow)),
            _ => None,
        })
        .flatten()
        .collect()
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
        // A server URL is taken as written; only a file name is relative to the manifest.
        Some(path) if path.to_str().is_some_and(crate::store::is_postgres_url) => path.clone(),
        Some(path) if path.is_relative() => base_dir.join(path),
        Some(path) => path.clone(),
        None => base_dir.join("launchready-monitor.db"),
    });
    let schedule = Schedule {
        phases: phases(&settings.phases),
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
    let steps = journey_steps(checks);
    let rules = if manifest.alerts.is_empty() {
        let mut rules = default_rules(checks, &channels, &owner);
        rules.extend(default_step_rules(checks, &steps, &channels, &owner));
        rules
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
    let schedules = settings
        .check_schedules
        .iter()
        .flat_map(|own| {
            let schedule = Schedule {
                phases: phases(&own.phases),
                jitter: schedule.jitter,
            };
            own.checks
                .iter()
                .map(move |id| (id.clone(), schedule.clone()))
        })
        .collect::<HashMap<String, Schedule>>();
    // A drift check asks a few hundred questions of the nameservers, and DNS changes take a TTL to matter
    // anyway: unless it has a schedule of its own it runs at the [monitor] pace but never more often than every
    // DNS_DRIFT_EVERY.
    let mut schedules = schedules;
    for check in checks {
        if matches!(check.kind, CheckKind::Dns { .. }) && !schedules.contains_key(&check.id) {
            let calmer = Schedule {
                phases: schedule
                    .phases
                    .iter()
                    .map(|p| Phase {
                        until_ms: p.until_ms,
                        every: p.every.max(DNS_DRIFT_EVERY),
                    })
                    .collect(),
                jitter: schedule.jitter,
            };
            schedules.insert(check.id.clone(), calmer);
        }
    }
    MonitorConfig {
        schedule,
        schedules,
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
        retention: settings.retention,
        hourly_retention: settings.hourly_retention,
        steps,
    }
}

/// The manifest's phases (unix seconds) as the scheduler's (unix milliseconds).
fn phases(manifest: &[launchready_manifest::MonitorPhase]) -> Vec<Phase> {
    manifest
        .iter()
        .map(|p| Phase {
            until_ms: p.until_unix.map(|s| s * 1000),
            every: p.every,
        })
        .collect()
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

    fn examples() -> std::path::PathBuf {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/flows")
    }

    /// A manifest beside the example journeys, so `file = "login-to-members.hurl"` resolves.
    fn manifest(extra: &str) -> launchready_manifest::Manifest {
        let text = format!(
            "[site]\ndomain = \"example.com\"\n\n[[flow]]\nname = \"login\"\nfile = \"login-to-members.hurl\"\n\n[[flow]]\nname = \"checkout\"\nfile = \"signup-to-payment.hurl\"\n{extra}"
        );
        launchready_manifest::Manifest::parse(&text, &examples().join("launchready.toml"))
            .expect("test manifest")
    }

    #[test]
    fn a_check_of_its_own_pace_keeps_it_and_the_others_keep_the_phases() {
        let m = manifest(
            "\n[monitor]\nphases = [{ every = \"5m\" }]\nretention = \"30d\"\nhourly_retention = \"365d\"\n\n[[monitor.check]]\nchecks = [\"flow:checkout\", \"route:login\"]\nevery = \"30s\"\n",
        );
        let checks = crate::checks::plan(&m);
        let config = from_manifest(&m, &checks, Some(PathBuf::from("x.db")));
        assert_eq!(
            config.schedule_for("flow:checkout").interval_at(0),
            Duration::from_secs(30)
        );
        assert_eq!(
            config.schedule_for("route:login").interval_at(0),
            Duration::from_secs(30)
        );
        assert_eq!(
            config.schedule_for("landing").interval_at(0),
            Duration::from_secs(300)
        );
        assert_eq!(config.schedule_for("route:login").jitter, 0.1);
        assert_eq!(config.retention, Duration::from_secs(30 * 86_400));
        assert_eq!(config.retention_cutoff(40 * 86_400_000), 10 * 86_400_000);
        assert_eq!(
            config.hourly_cutoff(400 * 86_400_000),
            Some(35 * 86_400_000)
        );
        assert!(
            config.unplanned(&checks).is_empty(),
            "{:?}",
            config.unplanned(&checks)
        );
    }

    /// The names of the steps the config records for `flow`, in order.
    fn step_names<'a>(config: &'a MonitorConfig, flow: &str) -> Vec<&'a str> {
        let prefix = format!("{flow}#");
        config
            .steps
            .iter()
            .filter(|s| s.id.starts_with(&prefix))
            .map(|s| s.name.as_str())
            .collect()
    }

    #[test]
    fn journeys_record_steps_and_the_login_post_gets_the_p95_alert() {
        let m = manifest("");
        let checks = crate::checks::plan(&m);
        let config = from_manifest(&m, &checks, Some(PathBuf::from("x.db")));
        let login: Vec<&str> = step_names(&config, "flow:login");
        assert_eq!(
            login,
            [
                "GET /members",
                "GET /login",
                "POST /login",
                "GET /members (2)",
                "POST /logout",
                "GET /members (3)"
            ]
        );
        let slow: Vec<&str> = config
            .rules
            .iter()
            .filter(|r| matches!(r.condition, Condition::P95Above { .. }))
            .flat_map(|r| r.checks.iter().map(String::as_str))
            .collect();
        assert!(slow.contains(&"flow:login#POST /login"), "{slow:?}");
        assert!(slow.contains(&"route:login"), "{slow:?}");
        assert!(slow.contains(&"flow:checkout#POST /checkout"), "{slow:?}");
        // The landing page has its own check; the journeys' visits to it add no second alert.
        assert!(!slow.contains(&"flow:checkout#GET /"), "{slow:?}");
        assert!(!slow.iter().any(|id| id.contains("logout")), "{slow:?}");
        let checkout: Vec<&str> = step_names(&config, "flow:checkout");
        assert_eq!(
            checkout,
            [
                "GET /",
                "GET /signup",
                "POST /signup",
                "GET mailbox://{{email}}",
                "GET {{confirm_link}}",
                "GET /members",
                "GET /checkout",
                "POST /checkout"
            ]
        );
        let dependencies = config.dependencies_with_steps(&checks);
        assert_eq!(
            dependencies["flow:login#POST /login"],
            ["flow:login", "landing"]
        );
        assert_eq!(dependencies["flow:login"], ["landing"]);
        let ids = config.evaluated_ids(&checks);
        assert!(ids.iter().any(|id| id == "flow:login#POST /login"));
        assert!(ids.iter().any(|id| id == "landing"));
    }

    #[test]
    fn names_that_match_nothing_planned_are_reported() {
        let m = manifest(
            "\n[[monitor.check]]\nchecks = [\"route:logn\"]\nevery = \"30s\"\n\n[[alert]]\nname = \"slow login\"\nchecks = [\"flow:login#POST /logn\", \"flow:login#POST /login\"]\ncondition = \"p(95) > 500ms over 15m\"\n",
        );
        let checks = crate::checks::plan(&m);
        let config = from_manifest(&m, &checks, Some(PathBuf::from("x.db")));
        let problems = config.unplanned(&checks);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].starts_with("[[monitor.check]] names `route:logn`"),
            "{problems:?}"
        );
        assert!(
            problems[1].starts_with("alert `slow login` names `flow:login#POST /logn`"),
            "{problems:?}"
        );
        assert!(problems[1].contains("route:login"), "{problems:?}");
    }

    #[test]
    fn a_saved_dns_snapshot_adds_a_drift_check_with_its_alert() {
        let m = manifest("\n[monitor]\ndns_snapshot = \"dns/before.zone\"\n");
        let checks = crate::checks::plan(&m);
        let dns = checks
            .iter()
            .find(|c| c.id == "dns:example.com")
            .expect("dns check");
        assert_eq!(
            dns.kind,
            CheckKind::Dns {
                domain: "example.com".into(),
                snapshot: examples().join("dns/before.zone"),
            }
        );
        let config = from_manifest(&m, &checks, Some(PathBuf::from("x.db")));
        let rule = config
            .rules
            .iter()
            .find(|r| r.checks == ["dns:example.com"])
            .expect("drift rule");
        assert_eq!(rule.condition, Condition::ConsecutiveFailures { n: 2 });
        assert_eq!(
            config.schedule_for("dns:example.com").interval_at(0),
            DNS_DRIFT_EVERY
        );
        assert_eq!(
            config.schedule_for("landing").interval_at(0),
            Duration::from_secs(60)
        );
        let own = manifest(
            "\n[monitor]\ndns_snapshot = \"dns/before.zone\"\n\n[[monitor.check]]\nchecks = [\"dns:example.com\"]\nevery = \"2m\"\n",
        );
        let own_checks = crate::checks::plan(&own);
        let own_config = from_manifest(&own, &own_checks, Some(PathBuf::from("x.db")));
        assert_eq!(
            own_config.schedule_for("dns:example.com").interval_at(0),
            Duration::from_secs(120)
        );
        assert!(rule.first_step.contains("dns diff"), "{}", rule.first_step);
    }

    #[test]
    fn a_postgres_database_is_taken_as_written() {
        let m = manifest("\n[monitor]\ndatabase = \"postgres://monitor@db.internal/launch\"\n");
        let checks = crate::checks::plan(&m);
        let config = from_manifest(&m, &checks, None);
        assert_eq!(
            config.database,
            PathBuf::from("postgres://monitor@db.internal/launch")
        );
        let file = manifest("\n[monitor]\ndatabase = \"m.db\"\n");
        let config = from_manifest(&file, &crate::checks::plan(&file), None);
        assert_eq!(config.database, examples().join("m.db"));
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
