//! The environment-variable inventory: which variables a project's code reads and which each environment
//! defines, findings about the gaps and the dangerous values (stage 4: production deployment hardening), and the
//! inventory table with owners and who can rotate each one. `scan` reads the project; `findings` and `inventory`
//! are pure functions of what it read. Values never leave `scan`: only a fingerprint (a hash of a hash) does.

pub mod demo;
pub mod render;
pub mod scan;

use launchready_findings::{Finding, Severity, SourceLocation, Stage};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

pub use scan::scan;

/// One place the code reads a variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub name: String,
    pub path: String,
    pub line: usize,
    pub language: String,
}

/// One place an environment defines a variable. The value itself is gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Definition {
    pub name: String,
    /// `production`, `staging`, `development`, `test`, `example`, `compose`, `vercel`, `netlify`, `fly`, …
    pub environment: String,
    pub path: String,
    pub line: usize,
    /// Tells equal values apart from different ones; `None` for an empty value.
    pub fingerprint: Option<String>,
    pub secret: bool,
    /// A payment provider's test key or sandbox URL.
    pub test_key: bool,
    /// A payment provider's live secret key.
    pub live_key: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HardcodedKind {
    Webhook,
    LocalUrl,
    ApiKey,
}

/// Configuration written into code instead of read from the environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hardcoded {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub kind: HardcodedKind,
    /// What was found, redacted (a webhook's host, a key's prefix and length).
    pub detail: String,
    /// The same line also reads a variable: the hard-coded value is a fallback.
    pub fallback: bool,
}

/// A `.env*` file and what git knows of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvFile {
    pub path: String,
    pub environment: String,
    /// In the git index.
    pub committed: bool,
    /// Matched by the project's root `.gitignore`.
    pub ignored: bool,
    pub has_secret: bool,
}

/// Everything `scan` read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scan {
    pub usages: Vec<Usage>,
    pub definitions: Vec<Definition>,
    pub hardcoded: Vec<Hardcoded>,
    pub files: Vec<EnvFile>,
}

/// Owner and notes for a variable, from the manifest's `[[env]]` entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvNote {
    pub name: String,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    /// Who can rotate it, and where.
    #[serde(default)]
    pub rotate: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("{0} is not a directory")]
    NotADirectory(String),
    #[error("cannot walk the project: {0}")]
    Walk(String),
    #[error("{path}: {message}")]
    Notes { path: String, message: String },
}

/// Reads the `[[env]]` entries of a manifest (`name`, `owner`, `notes`, `rotate`); other tables are left to the
/// manifest crate.
pub fn load_notes(path: &std::path::Path) -> Result<Vec<EnvNote>, EnvError> {
    #[derive(Deserialize)]
    struct File {
        #[serde(default)]
        env: Vec<EnvNote>,
    }
    let err = |message: String| EnvError::Notes {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let file: File = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
    Ok(file.env)
}

/// A hash of a hash of the value, 12 hex digits: equal values match, and the value cannot be read back.
pub fn fingerprint(value: &str) -> String {
    let inner = Sha256::digest(value.as_bytes());
    let outer = Sha256::digest(inner);
    outer.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// Variables platforms and runtimes set by themselves: never "undefined", never "missing from the example".
const PROVIDED: &[&str] = &[
    "NODE_ENV",
    "PORT",
    "HOST",
    "HOME",
    "PATH",
    "PWD",
    "USER",
    "HOSTNAME",
    "TZ",
    "LANG",
    "CI",
    "DEBUG",
    "MODE",
    "DEV",
    "PROD",
    "SSR",
    "BASE_URL",
    "GITHUB_TOKEN",
    "RAILS_ENV",
    "RACK_ENV",
    "APP_ENV",
    "PYTHONPATH",
    "SHELL",
    "TERM",
    "TMPDIR",
];
const PROVIDED_PREFIXES: &[&str] = &[
    "VERCEL_", "NETLIFY", "GITHUB_", "RUNNER_", "FLY_", "RENDER", "RAILWAY_", "CARGO_", "npm_",
];

fn provided(name: &str) -> bool {
    PROVIDED.contains(&name) || PROVIDED_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Prefixes bundlers inline into the browser bundle.
pub const CLIENT_PREFIXES: &[&str] = &[
    "NEXT_PUBLIC_",
    "VITE_",
    "REACT_APP_",
    "EXPO_PUBLIC_",
    "NUXT_PUBLIC_",
    "GATSBY_",
    "PUBLIC_",
];

fn client_exposed(name: &str) -> bool {
    CLIENT_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Environments a deploy runs in (as opposed to the example file and tool configs).
fn deployed(environment: &str) -> bool {
    !matches!(environment, "example" | "compose" | "other")
}

fn development_like(environment: &str) -> bool {
    matches!(environment, "development" | "test" | "staging" | "preview")
}

fn loc(path: &str, line: usize) -> SourceLocation {
    SourceLocation {
        path: path.to_string(),
        line,
        column: 1,
        commit: None,
    }
}

fn finding(id: &str, severity: Severity, subject: &str, title: String) -> Finding {
    Finding::new(id, Stage::Deployment, severity, subject, title)
        .reference("https://12factor.net/config")
        .with_fingerprint(format!("{id}:{subject}"))
}

/// Every finding about the project's variables. Each is positive only on evidence, and names the file and line.
pub fn findings(scan: &Scan) -> Vec<Finding> {
    let mut out = Vec::new();
    let used: BTreeMap<&str, Vec<&Usage>> =
        scan.usages.iter().fold(BTreeMap::new(), |mut map, u| {
            map.entry(u.name.as_str()).or_insert_with(Vec::new).push(u);
            map
        });
    let code_used: BTreeSet<&str> = scan
        .usages
        .iter()
        .filter(|u| u.language != "compose" && u.language != "GitHub Actions")
        .map(|u| u.name.as_str())
        .collect();
    let environments: BTreeSet<&str> = scan
        .definitions
        .iter()
        .filter(|d| deployed(&d.environment))
        .map(|d| d.environment.as_str())
        .collect();
    let defined_in = |name: &str, env: &str| {
        scan.definitions
            .iter()
            .any(|d| d.name == name && d.environment == env)
    };
    let example_exists = scan.files.iter().any(|f| f.environment == "example");

    for name in &code_used {
        if provided(name) {
            continue;
        }
        let first = used[name][0];
        let missing: Vec<&str> = environments
            .iter()
            .copied()
            .filter(|env| !defined_in(name, env))
            .collect();
        let nowhere = !scan
            .definitions
            .iter()
            .any(|d| d.name == *name && d.environment != "example");
        if nowhere || !missing.is_empty() {
            let where_ = if nowhere {
                "any environment".to_string()
            } else {
                missing.join(", ")
            };
            let severity = if nowhere || missing.contains(&"production") {
                Severity::High
            } else {
                Severity::Medium
            };
            out.push(
                finding("env.used_undefined", severity, name, format!("{name} is read by the code but not defined in {where_}"))
                    .at(loc(&first.path, first.line))
                    .evidence(format!("read at {}:{} ({})", first.path, first.line, first.language))
                    .remediation(format!("Define {name} in every environment that runs this code (or stop reading it); a missing value fails at runtime, often only on the code path that needs it.")),
            );
        }
        if example_exists && !defined_in(name, "example") {
            out.push(
                finding("env.missing_from_example", Severity::Low, name, format!("{name} is read by the code but missing from .env.example"))
                    .at(loc(&first.path, first.line))
                    .remediation(format!("Add `{name}=` with a placeholder to .env.example so the next developer and the next deploy know it is needed.")),
            );
        }
    }
    if !example_exists && !code_used.is_empty() {
        out.push(
            finding(
                "env.no_example",
                Severity::Medium,
                "(project)",
                "The code reads environment variables but the project has no .env.example"
                    .to_string(),
            )
            .evidence(format!("{} variable(s) read", code_used.len()))
            .remediation("Commit a .env.example listing every variable with a placeholder value."),
        );
    }

    let all_used: BTreeSet<&str> = scan.usages.iter().map(|u| u.name.as_str()).collect();
    let mut unused_seen = BTreeSet::new();
    for def in &scan.definitions {
        if all_used.contains(def.name.as_str())
            || provided(&def.name)
            || !unused_seen.insert(def.name.as_str())
        {
            continue;
        }
        out.push(
            finding("env.defined_unused", Severity::Low, &def.name, format!("{} is defined but nothing reads it", def.name))
                .at(loc(&def.path, def.line))
                .evidence(format!("defined for {} in {}:{}", def.environment, def.path, def.line))
                .remediation("Remove it (if it is a key, revoke it too), or note in [[env]] which tool reads it."),
        );
    }

    // The same secret in two environments: compared by fingerprint.
    let mut by_print: BTreeMap<&str, Vec<&Definition>> = BTreeMap::new();
    for def in scan
        .definitions
        .iter()
        .filter(|d| d.secret && d.environment != "example")
    {
        if let Some(print) = &def.fingerprint {
            by_print.entry(print.as_str()).or_default().push(def);
        }
    }
    for (print, defs) in by_print {
        let envs: BTreeSet<&str> = defs.iter().map(|d| d.environment.as_str()).collect();
        if envs.len() < 2 {
            continue;
        }
        let names: BTreeSet<&str> = defs.iter().map(|d| d.name.as_str()).collect();
        let subject = names.iter().copied().collect::<Vec<_>>().join(", ");
        let severity = if envs.contains("production") {
            Severity::High
        } else {
            Severity::Medium
        };
        let list = envs.iter().copied().collect::<Vec<_>>().join(" and ");
        let mut f = finding("env.shared_secret", severity, &subject, format!("{subject}: the same secret value is used in {list}"))
            .at(loc(&defs[0].path, defs[0].line))
            .remediation("Give each environment its own credential, so a leak from staging or a laptop does not reach production.");
        for def in &defs {
            f = f.evidence(format!(
                "{}:{} ({}) fingerprint {print}",
                def.path, def.line, def.environment
            ));
        }
        out.push(f);
    }

    for def in &scan.definitions {
        if def.test_key && def.environment == "production" {
            out.push(
                finding(
                    "env.test_key_in_production",
                    Severity::Blocker,
                    &def.name,
                    format!("{} holds a test key in production", def.name),
                )
                .at(loc(&def.path, def.line))
                .evidence(format!(
                    "{}:{} fingerprint {}",
                    def.path,
                    def.line,
                    def.fingerprint.clone().unwrap_or_default()
                ))
                .remediation(
                    "Use the live key in production: with a test key, payments are never charged.",
                ),
            );
        }
        if def.live_key && development_like(&def.environment) {
            out.push(
                finding("env.live_key_in_development", Severity::High, &def.name, format!("{} holds a live key in {}", def.name, def.environment))
                    .at(loc(&def.path, def.line))
                    .evidence(format!("{}:{} fingerprint {}", def.path, def.line, def.fingerprint.clone().unwrap_or_default()))
                    .remediation("Use test keys outside production, and rotate this live key: a development machine is not where it belongs."),
            );
        }
    }

    let mut exposed_seen = BTreeSet::new();
    let exposed = scan
        .definitions
        .iter()
        .filter(|d| client_exposed(&d.name) && d.secret)
        .map(|d| (d.name.as_str(), d.path.as_str(), d.line))
        .chain(
            scan.usages
                .iter()
                .filter(|u| client_exposed(&u.name) && scan::secret_name(&u.name))
                .map(|u| (u.name.as_str(), u.path.as_str(), u.line)),
        );
    for (name, path, line) in exposed {
        if !exposed_seen.insert(name) {
            continue;
        }
        out.push(
            finding("env.secret_client_exposed", Severity::Blocker, name, format!("{name} is a secret in a variable the bundler ships to every browser"))
                .at(loc(path, line))
                .remediation("Drop the public prefix and read it only on the server; rotate the value, it has already been shipped."),
        );
    }

    for hard in &scan.hardcoded {
        let (id, severity, title, fix) = match hard.kind {
            HardcodedKind::Webhook => (
                "env.hardcoded_webhook",
                Severity::Medium,
                format!("A webhook URL is hard-coded ({})", hard.detail),
                "Read it from an environment variable: changing it must not need a code change, and the URL itself is a credential.",
            ),
            HardcodedKind::LocalUrl => (
                "env.hardcoded_url",
                if hard.fallback {
                    Severity::Low
                } else {
                    Severity::Medium
                },
                format!(
                    "{} is hard-coded{}",
                    hard.detail,
                    if hard.fallback { " as a fallback" } else { "" }
                ),
                "Read the base URL from the environment; a localhost or staging URL in production code breaks the live site.",
            ),
            HardcodedKind::ApiKey => (
                "env.hardcoded_key",
                Severity::High,
                format!("An API key is hard-coded: {}", hard.detail),
                "Move it to an environment variable and rotate it: it is in the repository's history.",
            ),
        };
        out.push(
            finding(id, severity, &format!("{}:{}", hard.path, hard.line), title)
                .at(SourceLocation {
                    path: hard.path.clone(),
                    line: hard.line,
                    column: hard.column,
                    commit: None,
                })
                .remediation(fix),
        );
    }

    for file in scan.files.iter().filter(|f| f.environment != "example") {
        if file.committed {
            let severity = if file.has_secret {
                Severity::Blocker
            } else {
                Severity::High
            };
            out.push(
                finding("env.file_committed", severity, &file.path, format!("{} is committed to git{}", file.path, if file.has_secret { " with secrets in it" } else { "" }))
                    .at(loc(&file.path, 1))
                    .remediation("git rm --cached it, add it to .gitignore, and rotate every secret it held: they stay in history."),
            );
        } else if !file.ignored {
            out.push(
                finding("env.file_not_ignored", Severity::Medium, &file.path, format!("{} is not in .gitignore", file.path))
                    .at(loc(&file.path, 1))
                    .remediation("Add `.env*` (and `!.env.example`) to .gitignore before the next `git add .` commits it."),
            );
        }
    }
    out
}

/// One row of the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub name: String,
    /// `path:line` of every read.
    pub used_in: Vec<String>,
    /// Environment → fingerprint (`(empty)` for an empty value, `(set)` when only the name is known).
    pub environments: BTreeMap<String, String>,
    pub secret: bool,
    pub client_exposed: bool,
    pub owner: Option<String>,
    pub notes: Option<String>,
    pub rotate: String,
}

/// Who can usually rotate a variable, from its provider prefix.
const ROTATE_HINTS: &[(&str, &str)] = &[
    (
        "STRIPE",
        "Stripe dashboard → Developers → API keys (account owner or admin)",
    ),
    ("AWS", "AWS IAM → the user's security credentials"),
    ("GITHUB", "GitHub → Settings → Developer settings"),
    ("SENDGRID", "SendGrid → Settings → API Keys"),
    ("MAILGUN", "Mailgun → API Security"),
    ("POSTMARK", "Postmark → Server → API Tokens"),
    ("OPENAI", "OpenAI platform → API keys (organisation owner)"),
    ("SUPABASE", "Supabase → Project settings → API"),
    ("SENTRY", "Sentry → Settings → Client Keys (DSN)"),
    ("SLACK", "Slack app management → the app's credentials"),
    (
        "DATABASE",
        "whoever administers the database (change the user's password)",
    ),
    ("REDIS", "whoever administers Redis"),
    (
        "JWT",
        "the application's maintainers (rotating logs every user out)",
    ),
    (
        "SESSION",
        "the application's maintainers (rotating logs every user out)",
    ),
];

fn rotate_hint(name: &str) -> String {
    let upper = name.to_ascii_uppercase();
    let bare = CLIENT_PREFIXES
        .iter()
        .fold(upper.as_str(), |n, p| n.strip_prefix(p).unwrap_or(n));
    ROTATE_HINTS
        .iter()
        .find(|(prefix, _)| bare.starts_with(prefix) || bare.contains(&format!("_{prefix}")))
        .map_or_else(
            || "unknown: add `rotate` to its [[env]] entry".to_string(),
            |(_, hint)| (*hint).to_string(),
        )
}

/// The inventory: every variable read or defined, one row each, sorted by name.
pub fn inventory(scan: &Scan, notes: &[EnvNote]) -> Vec<Row> {
    let names: BTreeSet<&str> = scan
        .usages
        .iter()
        .map(|u| u.name.as_str())
        .chain(scan.definitions.iter().map(|d| d.name.as_str()))
        .chain(notes.iter().map(|n| n.name.as_str()))
        .collect();
    names
        .into_iter()
        .map(|name| {
            let note = notes.iter().find(|n| n.name == name);
            let defs: Vec<&Definition> =
                scan.definitions.iter().filter(|d| d.name == name).collect();
            Row {
                name: name.to_string(),
                used_in: scan
                    .usages
                    .iter()
                    .filter(|u| u.name == name)
                    .map(|u| format!("{}:{}", u.path, u.line))
                    .collect(),
                environments: defs
                    .iter()
                    .map(|d| {
                        let print = match (&d.fingerprint, d.environment.as_str()) {
                            (_, "compose") => "(set)".to_string(),
                            (Some(p), _) => p.clone(),
                            (None, _) => "(empty)".to_string(),
                        };
                        (d.environment.clone(), print)
                    })
                    .collect(),
                secret: defs.iter().any(|d| d.secret) || scan::secret_name(name),
                client_exposed: client_exposed(name),
                owner: note.and_then(|n| n.owner.clone()),
                notes: note.and_then(|n| n.notes.clone()),
                rotate: note
                    .and_then(|n| n.rotate.clone())
                    .unwrap_or_else(|| rotate_hint(name)),
            }
        })
        .collect()
}
