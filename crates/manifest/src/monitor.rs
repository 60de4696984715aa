//! The `[monitor]` table and `[[alert]]` rules for `launchready monitor`: how often checks run (phases), jitter,
//! the database, the dashboard link, maintenance windows and notification channels (secrets only as the names of
//! environment variables); and alert rules whose conditions are written the way the roadmap says them
//! (`consecutive_failures >= 3`, `p(95) > 500ms over 15m`, `error_rate > 1% over 15m`, `cert_expires_in < 14d`).
//! `[[monitor.check]]` tables give chosen checks their own pace, `retention`/`hourly_retention` bound what is
//! kept, and `dns_snapshot` names a saved `launchready dns snapshot` to watch for drift.
//! Both are optional: without them the monitor runs every minute with the roadmap's default alerts.

use crate::raw::S;
use crate::translate::{did_you_mean, suggest};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

pub(crate) const MONITOR_KEYS: &[&str] = &[
    "phases",
    "jitter",
    "database",
    "dashboard_url",
    "owner",
    "maintenance",
    "channel",
    "check",
    "retention",
    "hourly_retention",
    "dns_snapshot",
    "node",
    "region",
];
// Mirrors `RawCheckSchedule` for `raw::TABLES`, which names the table in unknown-key messages.
pub(crate) const CHECK_SCHEDULE_KEYS: &[&str] = &["checks", "every", "phases"];
pub(crate) const PHASE_KEYS: &[&str] = &["until", "every"];
pub(crate) const MAINTENANCE_KEYS: &[&str] = &["start", "end", "reason", "checks"];
pub(crate) const CHANNEL_KEYS: &[&str] = &[
    "name",
    "type",
    "url",
    "url_env",
    "secret_env",
    "token_env",
    "routing_key_env",
    "from",
    "to",
];
pub(crate) const ALERT_KEYS: &[&str] = &[
    "name",
    "checks",
    "condition",
    "owner",
    "channels",
    "remind_every",
    "min_samples",
    "first_step",
];
/// Channel types, as written in `type`.
pub const CHANNEL_TYPES: &[&str] = &[
    "log",
    "webhook",
    "slack",
    "discord",
    "ntfy",
    "pagerduty",
    "alertmanager",
    "email",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [monitor] table")]
pub(crate) struct RawMonitor {
    pub phases: Option<Vec<S<RawPhase>>>,
    pub jitter: Option<S<f64>>,
    pub database: Option<S<String>>,
    pub dashboard_url: Option<S<String>>,
    pub owner: Option<S<String>>,
    pub maintenance: Option<Vec<S<RawMaintenance>>>,
    #[serde(default)]
    pub channel: Vec<S<RawChannel>>,
    #[serde(default)]
    pub check: Vec<S<RawCheckSchedule>>,
    pub retention: Option<S<String>>,
    pub hourly_retention: Option<S<String>>,
    pub dns_snapshot: Option<S<String>>,
    pub node: Option<S<String>>,
    pub region: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a [[monitor.check]] table { checks = [\"route:login\"], every = \"30s\" }"
)]
pub(crate) struct RawCheckSchedule {
    pub checks: Vec<S<String>>,
    pub every: Option<S<String>>,
    pub phases: Option<Vec<S<RawPhase>>>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a phase { until = \"2027-01-15\", every = \"1m\" }"
)]
pub(crate) struct RawPhase {
    pub until: Option<S<String>>,
    pub every: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a maintenance window { start, end, reason }"
)]
pub(crate) struct RawMaintenance {
    pub start: S<String>,
    pub end: S<String>,
    pub reason: Option<S<String>>,
    pub checks: Option<Vec<S<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [[monitor.channel]] table")]
pub(crate) struct RawChannel {
    pub name: S<String>,
    #[serde(rename = "type")]
    pub kind: S<String>,
    pub url: Option<S<String>>,
    pub url_env: Option<S<String>>,
    pub secret_env: Option<S<String>>,
    pub token_env: Option<S<String>>,
    pub routing_key_env: Option<S<String>>,
    pub from: Option<S<String>>,
    pub to: Option<Vec<S<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [[alert]] table")]
pub(crate) struct RawAlert {
    pub name: S<String>,
    pub checks: Vec<S<String>>,
    pub condition: S<String>,
    pub owner: Option<S<String>>,
    pub channels: Option<Vec<S<String>>>,
    pub remind_every: Option<S<String>>,
    pub min_samples: Option<S<i64>>,
    pub first_step: Option<S<String>>,
}

/// A schedule phase: checks run `every` until `until` (unix seconds, UTC midnight for a date); `None`: for ever.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonitorPhase {
    pub until_unix: Option<i64>,
    pub every: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MaintenanceWindow {
    pub start_unix: i64,
    pub end_unix: i64,
    pub reason: String,
    /// Empty: every check.
    pub checks: Vec<String>,
}

/// A channel as configured: `kind` is one of [`CHANNEL_TYPES`]; the secret-bearing parts are variable names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonitorChannel {
    pub name: String,
    pub kind: String,
    pub url: Option<String>,
    pub url_env: Option<String>,
    pub secret_env: Option<String>,
    pub token_env: Option<String>,
    pub routing_key_env: Option<String>,
    /// Email: the sender address.
    pub from: Option<String>,
    /// Email: the recipients.
    pub to: Vec<String>,
}

/// A `[[monitor.check]]` table: these checks run on their own phases instead of `[monitor] phases`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckSchedule {
    /// Check ids as planned (`landing`, `route:NAME`, `flow:NAME`, `tls:HOST`, `dns:DOMAIN`).
    pub checks: Vec<String>,
    /// `every = "30s"` is one phase without an end.
    pub phases: Vec<MonitorPhase>,
}

/// Raw results are kept this long by default, then folded into hourly aggregates.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(14 * 86_400);

/// The `[monitor]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonitorSettings {
    pub phases: Vec<MonitorPhase>,
    /// How far each wait may move, in percent of the interval (0 to 50); written as a fraction (`jitter = 0.1`).
    pub jitter_percent: u8,
    /// Relative to the manifest's directory when relative.
    pub database: Option<PathBuf>,
    pub dashboard_url: Option<url::Url>,
    pub owner: Option<String>,
    pub maintenance: Vec<MaintenanceWindow>,
    pub channels: Vec<MonitorChannel>,
    /// Per-check schedules, in manifest order; a check appears in at most one.
    pub check_schedules: Vec<CheckSchedule>,
    /// How long raw results are kept before they are folded into hourly aggregates (`retention = "14d"`).
    pub retention: Duration,
    /// How long the hourly aggregates are kept; `None`: for ever.
    pub hourly_retention: Option<Duration>,
    /// A snapshot written by `launchready dns snapshot -o FILE` (the zone file or its `.json` sidecar), relative
    /// to the manifest's directory when relative: live DNS is compared with it.
    pub dns_snapshot: Option<PathBuf>,
    /// This node's name among the monitor nodes sharing a PostgreSQL database (`--node` overrides it).
    pub node: Option<String>,
    /// This node's region label (`--region` overrides it).
    pub region: Option<String>,
}

/// True for a node name or region label: 1 to 64 ASCII letters, digits, `-`, `_` or `.` (it is stored with
/// every result and keys the shared schedule).
pub fn is_node_label(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl Default for MonitorSettings {
    /// Every minute, 10 % jitter, no channels (notices go to the log).
    fn default() -> Self {
        MonitorSettings {
            phases: vec![MonitorPhase {
                until_unix: None,
                every: Duration::from_secs(60),
            }],
            jitter_percent: 10,
            database: None,
            dashboard_url: None,
            owner: None,
            maintenance: Vec::new(),
            channels: Vec::new(),
            check_schedules: Vec::new(),
            retention: DEFAULT_RETENTION,
            hourly_retention: None,
            dns_snapshot: None,
            node: None,
            region: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AlertCondition {
    ConsecutiveFailures {
        n: u32,
    },
    P95Above {
        threshold: Duration,
        window: Duration,
    },
    /// 1 % is 100 basis points.
    ErrorRateAbove {
        basis_points: u32,
        window: Duration,
    },
    CertExpiresWithin {
        within: Duration,
    },
}

/// An `[[alert]]` rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertRule {
    pub name: String,
    /// Check ids (`landing`, `route:NAME`, `flow:NAME`, `tls:HOST`) or `*` for every check.
    pub checks: Vec<String>,
    pub condition: AlertCondition,
    pub owner: Option<String>,
    /// Channel names; empty: every channel.
    pub channels: Vec<String>,
    pub remind_every: Option<Duration>,
    pub min_samples: Option<usize>,
    pub first_step: Option<String>,
}

/// Parses a condition as the roadmap writes it. The message says which forms are accepted.
pub fn parse_condition(text: &str) -> Result<AlertCondition, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let forms = "write one of `consecutive_failures >= 3`, `p(95) > 500ms over 15m`, `error_rate > 1% over 15m`, `cert_expires_in < 14d`";
    let duration = |t: &str| crate::parse_duration(t).map_err(|e| e.to_string());
    match words.as_slice() {
        ["consecutive_failures", ">=", n] => match n.parse::<u32>() {
            Ok(n) if (1..=1000).contains(&n) => Ok(AlertCondition::ConsecutiveFailures { n }),
            _ => Err(format!("`{n}` is not a count from 1 to 1000")),
        },
        ["p(95)" | "p95", ">", threshold, "over", window] => Ok(AlertCondition::P95Above {
            threshold: duration(threshold)?,
            window: duration(window)?,
        }),
        ["error_rate", ">", percent, "over", window] => {
            let Some(number) = percent.strip_suffix('%') else {
                return Err(format!("`{percent}` is not a percentage such as 1%"));
            };
            match number.parse::<f64>() {
                Ok(p) if (0.0..100.0).contains(&p) => Ok(AlertCondition::ErrorRateAbove {
                    basis_points: (p * 100.0).round() as u32,
                    window: duration(window)?,
                }),
                _ => Err(format!("`{percent}` is not a percentage from 0% to 100%")),
            }
        }
        ["cert_expires_in", "<", within] => Ok(AlertCondition::CertExpiresWithin {
            within: duration(within)?,
        }),
        [first, ..] => {
            let known = [
                "consecutive_failures",
                "p(95)",
                "error_rate",
                "cert_expires_in",
            ];
            match did_you_mean(first, &known) {
                Some(best) if best != *first => Err(format!(
                    "unknown measure `{first}` (did you mean `{best}`?); {forms}"
                )),
                _ => Err(format!("cannot read `{text}`; {forms}")),
            }
        }
        [] => Err(format!("the condition is empty; {forms}")),
    }
}

/// `2027-01-15` (midnight UTC) or an RFC 3339 time, as unix seconds.
pub fn parse_instant(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let date_only = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(date) = time::Date::parse(text, &date_only) {
        return Ok(date.midnight().assume_utc().unix_timestamp());
    }
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| {
            format!("`{text}` is not a date (2027-01-15) or a time (2027-01-15T02:00:00Z)")
        })
}

type Report<'a> = &'a mut dyn FnMut(std::ops::Range<usize>, String, Option<String>);

/// An interval between runs: from 1s to 24h.
fn every(text: &S<String>, error: Report<'_>) -> Option<Duration> {
    match crate::parse_duration(text.get_ref()) {
        Ok(d) if d >= Duration::from_secs(1) && d <= Duration::from_secs(86_400) => Some(d),
        Ok(_) => {
            error(
                text.span(),
                format!("`every` is {}, outside 1s..=24h", text.get_ref()),
                None,
            );
            None
        }
        Err(e) => {
            error(text.span(), format!("`every`: {e}"), None);
            None
        }
    }
}

/// Phases in order, each ending after the previous one, only the last without an end. Bad phases are reported
/// and left out.
fn phases(raw: Vec<S<RawPhase>>, error: Report<'_>) -> Vec<MonitorPhase> {
    let mut out: Vec<MonitorPhase> = Vec::new();
    let count = raw.len();
    for (i, phase) in raw.into_iter().enumerate() {
        let span = phase.span();
        let phase = phase.into_inner();
        let until = match &phase.until {
            Some(until) => match parse_instant(until.get_ref()) {
                Ok(t) => Some(t),
                Err(message) => {
                    error(until.span(), format!("`until`: {message}"), None);
                    continue;
                }
            },
            None if i + 1 < count => {
                error(
                    span,
                    "only the last phase may run for ever (without `until`)".into(),
                    Some("give this phase an `until` date, or move it last".into()),
                );
                continue;
            }
            None => None,
        };
        if let (
            Some(until),
            Some(MonitorPhase {
                until_unix: Some(before),
                ..
            }),
        ) = (until, out.last())
            && until <= *before
        {
            error(
                span,
                "phases must end in order: this one ends before the previous one".into(),
                None,
            );
            continue;
        }
        if let Some(d) = every(&phase.every, error) {
            out.push(MonitorPhase {
                until_unix: until,
                every: d,
            });
        }
    }
    out
}

/// A retention period: from 1h to 10 years.
fn retention(text: &S<String>, key: &str, error: Report<'_>) -> Option<Duration> {
    match crate::parse_duration(text.get_ref()) {
        Ok(d) if d >= Duration::from_secs(3600) && d <= Duration::from_secs(3650 * 86_400) => {
            Some(d)
        }
        Ok(_) => {
            error(
                text.span(),
                format!("`{key}` is {}, outside 1h..=3650d", text.get_ref()),
                Some("e.g. \"14d\"".into()),
            );
            None
        }
        Err(e) => {
            error(text.span(), format!("`{key}`: {e}"), None);
            None
        }
    }
}

/// Whether `id` reads as a check id; the message says what is wrong and what was probably meant.
pub fn check_id_problem(id: &str) -> Option<(String, Option<String>)> {
    if id == "landing" {
        return None;
    }
    let forms = "check ids are `landing`, `route:NAME`, `flow:NAME`, `tls:HOST` or `dns:DOMAIN` (`launchready monitor --list` shows them)";
    match id.split_once(':') {
        Some((prefix, rest)) => {
            let known = ["route", "flow", "tls", "dns"];
            if !known.contains(&prefix) {
                let help = did_you_mean(prefix, &known)
                    .map(|b| format!("did you mean `{b}:{rest}`?"))
                    .unwrap_or_else(|| forms.to_string());
                return Some((format!("unknown check `{id}`"), Some(help)));
            }
            if rest.trim().is_empty() {
                return Some((
                    format!("check `{id}` names nothing after `{prefix}:`"),
                    Some(forms.into()),
                ));
            }
            if prefix == "flow" && rest.contains('#') {
                let journey = rest.split('#').next().unwrap_or_default();
                return Some((
                    format!("`{id}` is a step: steps run with their journey"),
                    Some(format!(
                        "give the journey `flow:{journey}` its own schedule"
                    )),
                ));
            }
            None
        }
        None => {
            let help = suggest(did_you_mean(id, &["landing"]), || forms.to_string());
            Some((format!("unknown check `{id}`"), Some(help)))
        }
    }
}

/// Validation of both tables; `error` reports at a span.
pub(crate) fn validate_monitor(
    raw: Option<RawMonitor>,
    error: &mut dyn FnMut(std::ops::Range<usize>, String, Option<String>),
) -> MonitorSettings {
    let mut settings = MonitorSettings::default();
    let Some(raw) = raw else { return settings };
    if let Some(raw_phases) = raw.phases {
        let out = phases(raw_phases, error);
        if !out.is_empty() {
            settings.phases = out;
        }
    }
    let mut scheduled: Vec<String> = Vec::new();
    for table in raw.check {
        let span = table.span();
        let table = table.into_inner();
        let own = match (table.every, table.phases) {
            (Some(text), None) => every(&text, error)
                .map(|d| {
                    vec![MonitorPhase {
                        until_unix: None,
                        every: d,
                    }]
                })
                .unwrap_or_default(),
            (None, Some(raw_phases)) => phases(raw_phases, error),
            (Some(text), Some(_)) => {
                error(
                    text.span(),
                    "a [[monitor.check]] takes `every` or `phases`, not both".into(),
                    None,
                );
                continue;
            }
            (None, None) => {
                error(
                    span,
                    "this [[monitor.check]] says neither `every` nor `phases`".into(),
                    Some("e.g. every = \"30s\"".into()),
                );
                continue;
            }
        };
        if table.checks.is_empty() {
            error(
                span,
                "this [[monitor.check]] lists no checks".into(),
                Some("e.g. checks = [\"route:login\"]".into()),
            );
            continue;
        }
        let mut ids = Vec::new();
        for id in table.checks {
            let text = id.get_ref().trim().to_string();
            if let Some((message, help)) = check_id_problem(&text) {
                error(id.span(), message, help);
            } else if scheduled.contains(&text) {
                error(
                    id.span(),
                    format!("`{text}` already has a schedule in an earlier [[monitor.check]]"),
                    None,
                );
            } else {
                scheduled.push(text.clone());
                ids.push(text);
            }
        }
        if !own.is_empty() && !ids.is_empty() {
            settings.check_schedules.push(CheckSchedule {
                checks: ids,
                phases: own,
            });
        }
    }
    if let Some(text) = &raw.retention
        && let Some(d) = retention(text, "retention", error)
    {
        settings.retention = d;
    }
    if let Some(text) = &raw.hourly_retention
        && let Some(d) = retention(text, "hourly_retention", error)
    {
        if d < settings.retention {
            error(
                text.span(),
                format!(
                    "`hourly_retention` ({}) is shorter than `retention`: hourly aggregates would go before the raw results they summarise",
                    text.get_ref()
                ),
                None,
            );
        } else {
            settings.hourly_retention = Some(d);
        }
    }
    if let Some(path) = raw.dns_snapshot {
        let text = path.get_ref().trim();
        if text.is_empty() {
            error(
                path.span(),
                "`dns_snapshot` is empty".into(),
                Some(
                    "the file `launchready dns snapshot -o FILE` wrote (FILE or FILE.json)".into(),
                ),
            );
        } else {
            settings.dns_snapshot = Some(PathBuf::from(text));
        }
    }
    if let Some(jitter) = raw.jitter {
        let value = *jitter.get_ref();
        if (0.0..=0.5).contains(&value) {
            settings.jitter_percent = (value * 100.0).round() as u8;
        } else {
            error(
                jitter.span(),
                format!("`jitter` is {value}, outside 0..=0.5"),
                Some("a fraction of the interval, e.g. 0.1 for ±10 %".into()),
            );
        }
    }
    settings.database = raw.database.map(|d| PathBuf::from(d.get_ref().trim()));
    if let Some(url) = raw.dashboard_url {
        match url::Url::parse(url.get_ref().trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => settings.dashboard_url = Some(u),
            _ => error(
                url.span(),
                format!("`dashboard_url` `{}` is not an http(s) URL", url.get_ref()),
                None,
            ),
        }
    }
    settings.owner = raw.owner.map(|o| o.get_ref().trim().to_string());
    for (key, value, slot) in [
        ("node", raw.node, &mut settings.node),
        ("region", raw.region, &mut settings.region),
    ] {
        let Some(value) = value else { continue };
        let text = value.get_ref().trim();
        if is_node_label(text) {
            *slot = Some(text.to_string());
        } else {
            error(
                value.span(),
                format!("`{key}` `{text}` is not a plain label"),
                Some("1 to 64 letters, digits, `-`, `_` or `.`".into()),
            );
        }
    }
    for window in raw.maintenance.unwrap_or_default() {
        let span = window.span();
        let window = window.into_inner();
        let start = parse_instant(window.start.get_ref())
            .map_err(|m| error(window.start.span(), format!("`start`: {m}"), None));
        let end = parse_instant(window.end.get_ref())
            .map_err(|m| error(window.end.span(), format!("`end`: {m}"), None));
        if let (Ok(start), Ok(end)) = (start, end) {
            if end <= start {
                error(
                    span,
                    "the maintenance window ends before it starts".into(),
                    None,
                );
                continue;
            }
            settings.maintenance.push(MaintenanceWindow {
                start_unix: start,
                end_unix: end,
                reason: window
                    .reason
                    .map_or_else(|| "maintenance".to_string(), |r| r.get_ref().clone()),
                checks: window
                    .checks
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| c.into_inner())
                    .collect(),
            });
        }
    }
    let mut names: Vec<String> = Vec::new();
    for channel in raw.channel {
        let span = channel.span();
        let c = channel.into_inner();
        let name = c.name.get_ref().trim().to_string();
        if names.contains(&name) || name == "log" && c.kind.get_ref() != "log" {
            error(
                c.name.span(),
                format!("channel `{name}` is defined twice"),
                None,
            );
            continue;
        }
        let kind = c.kind.get_ref().trim().to_string();
        if !CHANNEL_TYPES.contains(&kind.as_str()) {
            let help = suggest(did_you_mean(&kind, CHANNEL_TYPES), || {
                format!("one of {}", CHANNEL_TYPES.join(", "))
            });
            error(
                c.kind.span(),
                format!("unknown channel type `{kind}`"),
                Some(help),
            );
            continue;
        }
        let get = |v: &Option<S<String>>| v.as_ref().map(|s| s.get_ref().trim().to_string());
        let needs: &[(&str, bool)] = match kind.as_str() {
            "webhook" | "ntfy" | "alertmanager" => &[("url", c.url.is_some())],
            "slack" | "discord" => &[("url_env", c.url_env.is_some())],
            "pagerduty" => &[("routing_key_env", c.routing_key_env.is_some())],
            "email" => &[
                ("url", c.url.is_some()),
                ("from", c.from.is_some()),
                ("to", c.to.as_ref().is_some_and(|t| !t.is_empty())),
            ],
            _ => &[],
        };
        if let Some((key, _)) = needs.iter().find(|(_, present)| !present) {
            let why = if key.ends_with("_env") {
                " (the name of the environment variable that holds it)"
            } else {
                ""
            };
            error(span, format!("a `{kind}` channel needs `{key}`{why}"), None);
            continue;
        }
        names.push(name.clone());
        settings.channels.push(MonitorChannel {
            name,
            kind,
            url: get(&c.url),
            url_env: get(&c.url_env),
            secret_env: get(&c.secret_env),
            token_env: get(&c.token_env),
            routing_key_env: get(&c.routing_key_env),
            from: get(&c.from),
            to: c
                .to
                .unwrap_or_default()
                .into_iter()
                .map(|t| t.get_ref().trim().to_string())
                .collect(),
        });
    }
    settings
}

pub(crate) fn validate_alerts(
    raw: Vec<S<RawAlert>>,
    channels: &[MonitorChannel],
    error: &mut dyn FnMut(std::ops::Range<usize>, String, Option<String>),
) -> Vec<AlertRule> {
    let mut out: Vec<AlertRule> = Vec::new();
    for alert in raw {
        let a = alert.into_inner();
        let name = a.name.get_ref().trim().to_string();
        if out.iter().any(|r| r.name == name) {
            error(
                a.name.span(),
                format!("alert `{name}` is defined twice"),
                None,
            );
            continue;
        }
        let condition = match parse_condition(a.condition.get_ref()) {
            Ok(c) => c,
            Err(message) => {
                error(a.condition.span(), message, None);
                continue;
            }
        };
        let mut ok = true;
        let wanted: Vec<String> = a
            .channels
            .unwrap_or_default()
            .into_iter()
            .map(|c| {
                let n = c.get_ref().trim().to_string();
                if n != "log" && !channels.iter().any(|ch| ch.name == n) {
                    let names: Vec<&str> = channels.iter().map(|c| c.name.as_str()).collect();
                    let help = suggest(did_you_mean(&n, &names), || {
                        "define it as a [[monitor.channel]], or use \"log\"".into()
                    });
                    error(
                        c.span(),
                        format!("alert `{name}` names channel `{n}`, which is not defined"),
                        Some(help),
                    );
                    ok = false;
                }
                n
            })
            .collect();
        let remind_every = a
            .remind_every
            .and_then(|r| match crate::parse_duration(r.get_ref()) {
                Ok(d) if d >= Duration::from_secs(60) => Some(d),
                Ok(_) => {
                    error(r.span(), "`remind_every` must be at least 1m".into(), None);
                    ok = false;
                    None
                }
                Err(e) => {
                    error(r.span(), format!("`remind_every`: {e}"), None);
                    ok = false;
                    None
                }
            });
        let min_samples = a
            .min_samples
            .and_then(|m| match usize::try_from(*m.get_ref()) {
                Ok(n) if (1..=10_000).contains(&n) => Some(n),
                _ => {
                    error(
                        m.span(),
                        "`min_samples` must be from 1 to 10000".into(),
                        None,
                    );
                    ok = false;
                    None
                }
            });
        if a.checks.is_empty() {
            error(
                a.name.span(),
                format!("alert `{name}` lists no checks"),
                Some("e.g. checks = [\"flow:checkout\"], or [\"*\"] for every check".into()),
            );
            ok = false;
        }
        if ok {
            out.push(AlertRule {
                name,
                checks: a
                    .checks
                    .into_iter()
                    .map(|c| c.get_ref().trim().to_string())
                    .collect(),
                condition,
                owner: a.owner.map(|o| o.get_ref().trim().to_string()),
                channels: wanted,
                remind_every,
                min_samples,
                first_step: a.first_step.map(|f| f.get_ref().trim().to_string()),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roadmap_conditions_parse() {
        assert_eq!(
            parse_condition("consecutive_failures >= 3"),
            Ok(AlertCondition::ConsecutiveFailures { n: 3 })
        );
        assert_eq!(
            parse_condition("p(95) > 500ms over 15m"),
            Ok(AlertCondition::P95Above {
                threshold: Duration::from_millis(500),
                window: Duration::from_secs(900)
            })
        );
        assert_eq!(
            parse_condition("error_rate > 1% over 15m"),
            Ok(AlertCondition::ErrorRateAbove {
                basis_points: 100,
                window: Duration::from_secs(900)
            })
        );
        assert_eq!(
            parse_condition("cert_expires_in < 14d"),
            Ok(AlertCondition::CertExpiresWithin {
                within: Duration::from_secs(14 * 86_400)
            })
        );
        let typo = parse_condition("eror_rate > 1% over 15m").unwrap_err();
        assert!(typo.contains("did you mean `error_rate`"), "{typo}");
        assert!(
            parse_condition("error_rate > 1 over 15m")
                .unwrap_err()
                .contains("percentage")
        );
    }

    #[test]
    fn instants() {
        assert_eq!(parse_instant("2027-01-15"), Ok(1_799_971_200));
        assert_eq!(parse_instant("1970-01-01T00:01:00Z"), Ok(60));
        assert!(parse_instant("15/01/2027").is_err());
    }
}
