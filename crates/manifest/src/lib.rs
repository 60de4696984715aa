//! `launchready.toml`: the manifest that tells an audit which domain, hosts, routes, legacy links and mail setup
//! to check, and which findings the team has consciously accepted. Parsing reports every problem rustc-style, with
//! the file, line, column and offending text. The format is documented in `docs/manifest.md`.

mod ai;
mod deploy;
mod domain;
mod duration;
mod error;
mod mailbox;
mod monitor;
mod raw;
mod smoke;
mod starter;
mod translate;
mod validate;

pub use ai::{Ai, AiAuth, AiFormat, EscalationTrigger, Extract, Judge, NeverReveal};
pub use deploy::{Access, AccessKind, Deploy};
pub use domain::validate_domain;
pub use duration::{DurationError, format_duration, parse_duration};
pub use error::{Diagnostic, Diagnostics, Location, ManifestError};
pub use mailbox::Mailbox;
pub use monitor::{
    AlertCondition, AlertRule, CHANNEL_TYPES, CheckSchedule, DEFAULT_RETENTION, MaintenanceWindow,
    MonitorChannel, MonitorPhase, MonitorSettings, is_node_label, parse_condition, parse_instant,
};
pub use smoke::{Flow, Smoke};
pub use starter::starter;

use launchready_findings::{Finding, Suppression};
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Subdomains audited when the manifest does not list any: the hosts a small business most often launches with.
pub const DEFAULT_SUBDOMAINS: [&str; 4] = ["app", "members", "api", "admin"];

/// A validated manifest. Every host in it is lower-case ASCII (IDNA names in `xn--` form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    pub site: Site,
    pub audit: AuditOptions,
    pub routes: Vec<Route>,
    pub legacy_links: Vec<LegacyLink>,
    /// Owners and notes for environment variables (`[[env]]`), for `launchready env`'s inventory.
    pub env: Vec<EnvEntry>,
    /// What `launchready smoke` checks beyond the routes.
    pub smoke: Smoke,
    /// Journeys `launchready smoke` runs, in order.
    pub flows: Vec<Flow>,
    pub email: Email,
    pub edge: Edge,
    pub ignores: Vec<Ignore>,
    /// The AI assistant `launchready ai-probe` tests, when the site has one.
    pub ai: Option<Ai>,
    pub load: Load,
    /// Where `mailbox://` flow steps read mail from, when the manifest says.
    pub mailbox: Option<Mailbox>,
    /// How `launchready monitor` runs (`[monitor]`); the defaults when absent.
    pub monitor: MonitorSettings,
    /// `[[alert]]` rules; empty: the monitor's defaults.
    pub alerts: Vec<AlertRule>,
    /// How a release is built and rolled back (`[deploy]`), for `launchready gate`.
    pub deploy: Option<Deploy>,
    /// Who holds each service's access (`[[access]]`), for `launchready handover`.
    pub access: Vec<Access>,
    /// The file this was read from; `None` for [`Manifest::for_domain`].
    pub source: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Site {
    /// The apex, e.g. `example.com`.
    pub domain: String,
    /// Where every entry point (http/https, apex/www) must end up. Always on the apex or the www host.
    pub canonical_url: url::Url,
    /// Whether `canonical` was written in the manifest. When it was not, `canonical_url` is only the default
    /// (`https://www.{domain}/`) and the audit infers the canonical URL from where the entry points land.
    pub canonical_declared: bool,
    pub subdomains: Vec<Subdomain>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subdomain {
    /// Fully qualified, e.g. `app.example.com`.
    pub host: String,
    /// Where requests to the host must finally land, if the manifest says.
    pub destination: Option<url::Url>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AuditOptions {
    /// Redirects followed before a chain is reported as too long.
    pub max_hops: u32,
    /// Per network operation (DNS query, connect, TLS handshake, HTTP exchange).
    pub timeout: std::time::Duration,
    /// Network operations in flight at once.
    pub concurrency: usize,
    /// An intranet or staging audit: private and loopback addresses in DNS are expected, not a finding.
    pub intranet: bool,
    /// The p95 load time of the landing page (with its render-blocking CSS and JS) over which it is reported slow.
    pub landing_budget: std::time::Duration,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            max_hops: 10,
            timeout: std::time::Duration::from_secs(10),
            concurrency: 64,
            intranet: false,
            landing_budget: std::time::Duration::from_millis(500),
        }
    }
}

/// A page or endpoint that must answer with `expect_status` at `https://{host}{path}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    pub name: String,
    pub host: String,
    /// Starts with `/`; may carry a query.
    pub path: String,
    pub kind: RouteKind,
    /// A critical route failing is a launch blocker rather than a warning.
    pub critical: bool,
    pub expect_status: u16,
}

/// What a route is for; rules use it to decide what "working" means (a login page must not be cached, a webhook
/// must not redirect, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteKind {
    Landing,
    Login,
    Signup,
    Checkout,
    Member,
    Webhook,
    Static,
    Other,
}

impl RouteKind {
    pub const ALL: [RouteKind; 8] = [
        RouteKind::Landing,
        RouteKind::Login,
        RouteKind::Signup,
        RouteKind::Checkout,
        RouteKind::Member,
        RouteKind::Webhook,
        RouteKind::Static,
        RouteKind::Other,
    ];

    /// The spelling used in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::Landing => "landing",
            RouteKind::Login => "login",
            RouteKind::Signup => "signup",
            RouteKind::Checkout => "checkout",
            RouteKind::Member => "member",
            RouteKind::Webhook => "webhook",
            RouteKind::Static => "static",
            RouteKind::Other => "other",
        }
    }
}

impl fmt::Display for RouteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RouteKind {
    type Err = ();

    /// Exact, lower-case names only, as in the manifest.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RouteKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or(())
    }
}

/// An old URL (printed, bookmarked, linked from elsewhere) that must still end up at `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegacyLink {
    pub from: url::Url,
    pub to: url::Url,
}

/// An `[[env]]` entry: who owns a variable, notes, and who can rotate it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvEntry {
    pub name: String,
    pub owner: Option<String>,
    pub notes: Option<String>,
    pub rotate: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Email {
    /// Domains that send mail and so need SPF, DKIM and DMARC.
    pub senders: Vec<String>,
    /// Selectors looked up as `<selector>._domainkey.<sender>`.
    pub dkim_selectors: Vec<String>,
    pub provider: Option<String>,
    /// Domains that never send mail and so should publish a null SPF and a reject DMARC policy.
    pub non_sending: Vec<String>,
    /// The domain in the From header of the site's mail (`from = "hello@example.com"` keeps only the domain).
    pub from: Option<String>,
    /// The envelope sender (bounce) domain the provider uses; SPF is checked against it.
    pub return_path: Option<String>,
    /// The `d=` domain the provider signs with.
    pub dkim_domain: Option<String>,
}

impl Email {
    /// Whether the manifest says how transactional mail is sent (a provider or a From address): a missing SPF
    /// record then breaks mail the site depends on.
    pub fn transactional(&self) -> bool {
        self.provider.is_some() || self.from.is_some()
    }
}

/// `launchready load`'s settings: thresholds judged on every run, and hosts besides the site's that may be loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Load {
    /// k6-style expressions (`p(95)<500`, `step=checkout p(99)<1s`, `rate_errors<0.01`), checked by `load`.
    pub thresholds: Vec<String>,
    /// Host names (or `*.example.com` patterns) besides the site's own.
    pub allow_hosts: Vec<String>,
}

/// The CDN or proxy in front of the site, and the origin server behind it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Edge {
    /// The apex and www must be served through a CDN or proxy (`edge.not_proxied` becomes high).
    pub required: bool,
    /// The origin server's address, probed directly to see whether it bypasses the edge.
    pub origin: Option<std::net::IpAddr>,
}

/// A finding the team has accepted. Matching findings are marked suppressed, never dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ignore {
    /// A finding id, or a family ending in `.*` (e.g. `email.*`).
    pub id: String,
    /// Only findings about exactly this subject, when given.
    pub subject: Option<String>,
    pub reason: String,
}

impl Ignore {
    pub fn matches(&self, finding: &Finding) -> bool {
        let id_matches = match self.id.strip_suffix(".*") {
            // The family prefix must end at a dot so `email.*` does not catch `emailer.x`.
            Some(family) => finding
                .id
                .strip_prefix(family)
                .is_some_and(|rest| rest.starts_with('.')),
            None => finding.id == self.id,
        };
        id_matches
            && self
                .subject
                .as_ref()
                .is_none_or(|subject| *subject == finding.subject)
    }
}

impl Manifest {
    /// The defaults for a bare domain (`launchready audit example.com` with no manifest).
    pub fn for_domain(domain: &str) -> Result<Manifest, ManifestError> {
        let apex = domain::check_domain(domain).map_err(|rejection| ManifestError::Domain {
            input: domain.to_string(),
            reason: rejection.into_sentence(),
        })?;
        let canonical_url =
            validate::default_canonical(&apex).ok_or_else(|| ManifestError::Domain {
                input: domain.to_string(),
                reason: format!("`https://www.{apex}/` is not a valid URL"),
            })?;
        Ok(Manifest {
            site: Site {
                subdomains: DEFAULT_SUBDOMAINS
                    .iter()
                    .map(|label| Subdomain {
                        host: format!("{label}.{apex}"),
                        destination: None,
                    })
                    .collect(),
                canonical_url,
                canonical_declared: false,
                domain: apex.clone(),
            },
            audit: AuditOptions::default(),
            routes: Vec::new(),
            legacy_links: Vec::new(),
            env: Vec::new(),
            smoke: Smoke::default(),
            flows: Vec::new(),
            email: Email {
                senders: vec![apex],
                ..Email::default()
            },
            edge: Edge::default(),
            ignores: Vec::new(),
            ai: None,
            load: Load::default(),
            mailbox: None,
            monitor: MonitorSettings::default(),
            alerts: Vec::new(),
            deploy: None,
            access: Vec::new(),
            source: None,
        })
    }

    /// Parses manifest text; `path` only names the file in error messages and in [`Manifest::source`].
    pub fn parse(source: &str, path: &Path) -> Result<Manifest, ManifestError> {
        let file = path.display().to_string();
        // Editors on Windows may save a byte-order mark, which TOML does not allow but which is invisible.
        let source = source.strip_prefix('\u{feff}').unwrap_or(source);
        let invalid = |diagnostics| ManifestError::Invalid(Diagnostics(diagnostics));
        // Parse as plain TOML first so syntax errors are reported as such, not as a mismatch with the schema.
        if let Err(error) = toml::from_str::<toml::Table>(source) {
            return Err(invalid(vec![translate::syntax_error(
                &error, source, &file,
            )]));
        }
        let raw: raw::RawManifest = toml::from_str(source)
            .map_err(|error| invalid(vec![translate::shape_error(&error, source, &file)]))?;
        let mut manifest = validate::validate(raw, source, &file).map_err(invalid)?;
        manifest.source = Some(path.to_path_buf());
        Ok(manifest)
    }

    /// Reads and parses a manifest file.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let source = std::fs::read_to_string(path).map_err(|error| ManifestError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        Manifest::parse(&source, path)
    }

    /// Where a `[[flow]]`'s file is: relative paths are relative to the manifest's directory.
    pub fn flow_path(&self, flow: &Flow) -> PathBuf {
        match self.source.as_deref().and_then(Path::parent) {
            Some(dir) if flow.file.is_relative() => dir.join(&flow.file),
            _ => flow.file.clone(),
        }
    }

    pub fn apex(&self) -> &str {
        &self.site.domain
    }

    pub fn www(&self) -> String {
        format!("www.{}", self.site.domain)
    }

    /// The host of the canonical URL: the apex or the www host.
    pub fn canonical_host(&self) -> &str {
        self.site
            .canonical_url
            .host_str()
            .unwrap_or(&self.site.domain)
    }

    /// Marks every finding matched by an `[[ignore]]` as suppressed, with that entry's reason. The first matching
    /// entry wins, and a finding that is already suppressed keeps its reason. Nothing is removed.
    pub fn apply_ignores(&self, findings: &mut [Finding]) {
        for finding in findings.iter_mut().filter(|f| f.suppressed.is_none()) {
            if let Some(ignore) = self.ignores.iter().find(|ignore| ignore.matches(finding)) {
                finding.suppressed = Some(Suppression {
                    reason: ignore.reason.clone(),
                });
            }
        }
    }
}
