//! The manifest exactly as written: serde targets that keep every value's span so validation can point at it.
//!
//! Values that need checking beyond their TOML type (numbers with ranges, kinds, URLs) are read loosely (`i64`,
//! `String`) and judged in `validate`, so the error messages are ours and located at the value.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_spanned::Spanned;
use std::fmt;

pub(crate) type S<T> = Spanned<T>;

/// Each table's keys, in declaration order, with the words used to name the table in messages. Unknown-key errors
/// are attributed to a table by matching serde's "expected one of" list against these, so they must mirror the
/// structs below (the integration tests trigger an unknown key in every table).
pub(crate) const TABLES: &[(&str, &[&str])] = &[
    ("at the top level", TOP_KEYS),
    ("in [site]", SITE_KEYS),
    ("in a subdomain table", SUBDOMAIN_KEYS),
    ("in [audit]", AUDIT_KEYS),
    ("in [[route]]", ROUTE_KEYS),
    ("in [[legacy_link]]", LEGACY_LINK_KEYS),
    ("in [[env]]", ENV_KEYS),
    ("in [smoke]", SMOKE_KEYS),
    ("in [[flow]]", FLOW_KEYS),
    ("in [email]", EMAIL_KEYS),
    ("in [edge]", EDGE_KEYS),
    ("in [[ignore]]", IGNORE_KEYS),
    ("in [ai]", AI_KEYS),
    ("in [ai.judge]", AI_JUDGE_KEYS),
    ("in [load]", LOAD_KEYS),
    ("in [mailbox]", MAILBOX_KEYS),
    ("in [monitor]", crate::monitor::MONITOR_KEYS),
    ("in a [monitor] phase", crate::monitor::PHASE_KEYS),
    (
        "in a [monitor] maintenance window",
        crate::monitor::MAINTENANCE_KEYS,
    ),
    ("in [[monitor.channel]]", crate::monitor::CHANNEL_KEYS),
    ("in [[monitor.check]]", crate::monitor::CHECK_SCHEDULE_KEYS),
    ("in [[alert]]", crate::monitor::ALERT_KEYS),
    ("in [deploy]", DEPLOY_KEYS),
    ("in [[access]]", ACCESS_KEYS),
];

pub(crate) const TOP_KEYS: &[&str] = &[
    "site",
    "audit",
    "route",
    "legacy_link",
    "env",
    "smoke",
    "flow",
    "email",
    "edge",
    "ignore",
    "ai",
    "load",
    "mailbox",
    "monitor",
    "alert",
    "deploy",
    "access",
];
pub(crate) const DEPLOY_KEYS: &[&str] = &["build", "rollback", "version_url", "runbook"];
pub(crate) const ACCESS_KEYS: &[&str] = &[
    "service",
    "kind",
    "owner",
    "backup_owner",
    "credential",
    "two_factor",
    "notes",
];
pub(crate) const MAILBOX_KEYS: &[&str] = &["smtp_listen", "imap", "password_env"];
pub(crate) const LOAD_KEYS: &[&str] = &["thresholds", "allow_hosts"];
pub(crate) const EDGE_KEYS: &[&str] = &["required", "origin"];
pub(crate) const SITE_KEYS: &[&str] = &["domain", "canonical", "subdomains"];
pub(crate) const SUBDOMAIN_KEYS: &[&str] = &["name", "destination"];
pub(crate) const AUDIT_KEYS: &[&str] = &[
    "max_hops",
    "timeout",
    "timeout_secs",
    "concurrency",
    "intranet",
    "landing_budget",
];
pub(crate) const ROUTE_KEYS: &[&str] =
    &["name", "host", "path", "kind", "critical", "expect_status"];
pub(crate) const LEGACY_LINK_KEYS: &[&str] = &["from", "to"];
pub(crate) const ENV_KEYS: &[&str] = &["name", "owner", "notes", "rotate"];
pub(crate) const SMOKE_KEYS: &[&str] = &["homepage_budget", "version_url", "webhook"];
pub(crate) const FLOW_KEYS: &[&str] = &["file", "name"];
pub(crate) const EMAIL_KEYS: &[&str] = &[
    "senders",
    "dkim_selectors",
    "provider",
    "non_sending",
    "from",
    "return_path",
    "dkim_domain",
];
pub(crate) const IGNORE_KEYS: &[&str] = &["id", "subject", "reason"];
pub(crate) const AI_KEYS: &[&str] = &[
    "endpoint",
    "format",
    "model",
    "body",
    "extract",
    "extract_regex",
    "auth_env",
    "auth_header",
    "auth_prefix",
    "tools",
    "sensitive_tools",
    "canaries",
    "never_reveal",
    "never_reveal_patterns",
    "allowed_emails",
    "internal_hosts",
    "escalation_tool",
    "escalation_phrases",
    "escalate_for",
    "other_member",
    "max_requests",
    "delay",
    "timeout",
    "judge",
];
pub(crate) const AI_JUDGE_KEYS: &[&str] = &["endpoint", "model", "auth_env", "enabled"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a launchready manifest")]
pub(crate) struct RawManifest {
    pub site: RawSite,
    pub audit: Option<RawAudit>,
    #[serde(default)]
    pub route: Vec<RawRoute>,
    #[serde(default)]
    pub legacy_link: Vec<RawLegacyLink>,
    #[serde(default)]
    pub env: Vec<RawEnv>,
    pub smoke: Option<RawSmoke>,
    #[serde(default)]
    pub flow: Vec<RawFlow>,
    pub email: Option<RawEmail>,
    pub edge: Option<RawEdge>,
    #[serde(default)]
    pub ignore: Vec<RawIgnore>,
    pub ai: Option<RawAi>,
    pub load: Option<RawLoad>,
    pub mailbox: Option<S<RawMailbox>>,
    pub monitor: Option<crate::monitor::RawMonitor>,
    #[serde(default)]
    pub alert: Vec<S<crate::monitor::RawAlert>>,
    pub deploy: Option<S<RawDeploy>>,
    #[serde(default)]
    pub access: Vec<S<RawAccess>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [deploy] table")]
pub(crate) struct RawDeploy {
    pub build: Option<S<String>>,
    pub rollback: Option<S<String>>,
    pub version_url: Option<S<String>>,
    pub runbook: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [[access]] table")]
pub(crate) struct RawAccess {
    pub service: S<String>,
    pub kind: Option<S<String>>,
    pub owner: Option<S<String>>,
    pub backup_owner: Option<S<String>>,
    pub credential: Option<S<String>>,
    pub two_factor: Option<S<bool>>,
    pub notes: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [mailbox] table")]
pub(crate) struct RawMailbox {
    pub smtp_listen: Option<S<String>>,
    pub imap: Option<S<String>>,
    pub password_env: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [load] table")]
pub(crate) struct RawLoad {
    pub thresholds: Option<Vec<S<String>>>,
    pub allow_hosts: Option<Vec<S<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [edge] table")]
pub(crate) struct RawEdge {
    pub required: Option<bool>,
    pub origin: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [site] table")]
pub(crate) struct RawSite {
    pub domain: S<String>,
    pub canonical: Option<S<String>>,
    pub subdomains: Option<Vec<S<RawSubdomain>>>,
}

#[derive(Debug)]
pub(crate) enum RawSubdomain {
    Label(String),
    Table(RawSubdomainTable),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a subdomain table")]
pub(crate) struct RawSubdomainTable {
    pub name: S<String>,
    pub destination: Option<S<String>>,
}

/// Hand-written rather than `#[serde(untagged)]`: untagged enums swallow the inner error and its span, and a typo
/// inside `{ name = "api", destnation = "…" }` deserves the same pointed message as anywhere else.
impl<'de> Deserialize<'de> for RawSubdomain {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;

        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = RawSubdomain;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a label such as \"app\" or a table { name = \"app\", destination = \"https://…\" }")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<RawSubdomain, E> {
                Ok(RawSubdomain::Label(value.to_string()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawSubdomain, A::Error> {
                RawSubdomainTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawSubdomain::Table)
            }
        }

        deserializer.deserialize_any(EntryVisitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [audit] table")]
pub(crate) struct RawAudit {
    pub max_hops: Option<S<i64>>,
    pub timeout: Option<S<RawDuration>>,
    /// The older spelling of `timeout`, in whole seconds; still read.
    pub timeout_secs: Option<S<i64>>,
    pub concurrency: Option<S<i64>>,
    pub intranet: Option<bool>,
    pub landing_budget: Option<S<RawDuration>>,
}

/// A duration as written: `"1m30s"`, `"500ms"`, or a number of seconds.
#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "a duration such as \"10s\", \"1m30s\" or \"500ms\", or a number of seconds"
)]
pub(crate) enum RawDuration {
    Seconds(f64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [[route]] table")]
pub(crate) struct RawRoute {
    pub name: S<String>,
    pub host: Option<S<String>>,
    pub path: S<String>,
    pub kind: S<String>,
    pub critical: Option<bool>,
    pub expect_status: Option<S<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [[legacy_link]] table")]
pub(crate) struct RawLegacyLink {
    pub from: S<String>,
    pub to: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [[env]] table")]
pub(crate) struct RawEnv {
    pub name: S<String>,
    pub owner: Option<String>,
    pub notes: Option<String>,
    pub rotate: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [smoke] table")]
pub(crate) struct RawSmoke {
    pub homepage_budget: Option<S<RawDuration>>,
    pub version_url: Option<S<String>>,
    pub webhook: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [[flow]] table")]
pub(crate) struct RawFlow {
    pub file: S<String>,
    pub name: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [email] table")]
pub(crate) struct RawEmail {
    pub senders: Option<Vec<S<String>>>,
    pub dkim_selectors: Option<Vec<S<String>>>,
    pub provider: Option<S<String>>,
    pub non_sending: Option<Vec<S<String>>>,
    pub from: Option<S<String>>,
    pub return_path: Option<S<String>>,
    pub dkim_domain: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [[ignore]] table")]
pub(crate) struct RawIgnore {
    pub id: S<String>,
    pub subject: Option<S<String>>,
    pub reason: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [ai] table")]
pub(crate) struct RawAi {
    pub endpoint: S<String>,
    pub format: Option<S<String>>,
    pub model: Option<S<String>>,
    pub body: Option<S<String>>,
    pub extract: Option<S<String>>,
    pub extract_regex: Option<S<String>>,
    pub auth_env: Option<S<String>>,
    pub auth_header: Option<S<String>>,
    pub auth_prefix: Option<S<String>>,
    pub tools: Option<Vec<S<String>>>,
    pub sensitive_tools: Option<Vec<S<String>>>,
    pub canaries: Option<Vec<S<String>>>,
    pub never_reveal: Option<Vec<S<String>>>,
    pub never_reveal_patterns: Option<Vec<S<String>>>,
    pub allowed_emails: Option<Vec<S<String>>>,
    pub internal_hosts: Option<Vec<S<String>>>,
    pub escalation_tool: Option<S<String>>,
    pub escalation_phrases: Option<Vec<S<String>>>,
    pub escalate_for: Option<Vec<S<String>>>,
    pub other_member: Option<S<String>>,
    pub max_requests: Option<S<i64>>,
    pub delay: Option<S<RawDuration>>,
    pub timeout: Option<S<RawDuration>>,
    pub judge: Option<RawAiJudge>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [ai.judge] table")]
pub(crate) struct RawAiJudge {
    pub endpoint: S<String>,
    pub model: Option<S<String>>,
    pub auth_env: Option<S<String>>,
    pub enabled: Option<bool>,
}
