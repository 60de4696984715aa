//! What `launchready gate` and `launchready handover` read about operating the site: the `[deploy]` table (how a
//! release is built, how it is rolled back, where the served version can be read) and the `[[access]]` inventory
//! (who holds each service's keys, who backs them up, where the credential lives — never the credential).

use serde::Serialize;
use std::path::PathBuf;

/// The `[deploy]` table. Commands are kept as written; `gate` runs the build only when asked (`--run-build`) and
/// never runs the rollback, it only checks the command exists and is documented.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deploy {
    /// The production build, e.g. `npm run build`.
    pub build: Option<String>,
    /// How a bad release is undone, e.g. `./scripts/rollback.sh` or `fly releases rollback`.
    pub rollback: Option<String>,
    /// Where the deployed version is served (a path is joined to the canonical URL).
    pub version_url: Option<url::Url>,
    /// The runbook that documents the rollback, relative to the manifest's directory.
    pub runbook: Option<PathBuf>,
}

/// What kind of service an `[[access]]` entry is, so detected services can be matched to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessKind {
    Registrar,
    Dns,
    Cdn,
    Hosting,
    Email,
    Payment,
    Analytics,
    Monitoring,
    Repository,
    Ci,
    Other,
}

impl AccessKind {
    pub const ALL: [AccessKind; 11] = [
        AccessKind::Registrar,
        AccessKind::Dns,
        AccessKind::Cdn,
        AccessKind::Hosting,
        AccessKind::Email,
        AccessKind::Payment,
        AccessKind::Analytics,
        AccessKind::Monitoring,
        AccessKind::Repository,
        AccessKind::Ci,
        AccessKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccessKind::Registrar => "registrar",
            AccessKind::Dns => "dns",
            AccessKind::Cdn => "cdn",
            AccessKind::Hosting => "hosting",
            AccessKind::Email => "email",
            AccessKind::Payment => "payment",
            AccessKind::Analytics => "analytics",
            AccessKind::Monitoring => "monitoring",
            AccessKind::Repository => "repository",
            AccessKind::Ci => "ci",
            AccessKind::Other => "other",
        }
    }

    /// In a sentence: "the DNS provider".
    pub fn title(self) -> &'static str {
        match self {
            AccessKind::Registrar => "domain registrar",
            AccessKind::Dns => "DNS provider",
            AccessKind::Cdn => "CDN",
            AccessKind::Hosting => "hosting",
            AccessKind::Email => "email provider",
            AccessKind::Payment => "payment provider",
            AccessKind::Analytics => "analytics",
            AccessKind::Monitoring => "uptime monitoring",
            AccessKind::Repository => "code repository",
            AccessKind::Ci => "CI",
            AccessKind::Other => "service",
        }
    }
}

/// One `[[access]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Access {
    /// The provider's name as people say it, e.g. `Cloudflare`.
    pub service: String,
    pub kind: AccessKind,
    pub owner: Option<String>,
    pub backup_owner: Option<String>,
    /// Where the credential lives, e.g. `1Password: Launch/Cloudflare`.
    pub credential: Option<String>,
    /// Whether the account has two-factor authentication; `None` when the manifest does not say.
    pub two_factor: Option<bool>,
    pub notes: Option<String>,
}
