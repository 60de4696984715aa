//! The command line: every flag defined once, with its help. Nothing here does work; `main` dispatches.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "launchready",
    version,
    about = "Launch-readiness checks for membership sites: DNS, redirects, TLS and more, with a risk list CI can act on.",
    after_help = "Exit codes: 0 ready; 1 findings at or above --fail-on; 2 usage or config error; 3 the audit could not run; 130 interrupted."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit a live domain (or a saved facts file) and print the risk list.
    Audit(Box<AuditCmd>),
    /// Start the built-in lab (a deliberately flawed membership site) and audit it. No internet needed.
    Demo(DemoCmd),
    /// Write a commented starter launchready.toml for DOMAIN.
    Init(InitCmd),
    /// Scan a working tree and its full git history (or stdin) for leaked keys and tokens.
    Secrets(Box<SecretsCmd>),
    /// Smoke-test a fresh deploy from the manifest: homepage and its load budget, routes, webhook, journeys.
    Smoke(Box<crate::smoke::SmokeCmd>),
    /// Run Hurl flow files (journeys: requests, captures, asserts) against a site and report each step.
    Flow(Box<crate::flow::FlowCmd>),
    /// Snapshot a zone before editing it, diff snapshots with what each change means, and plan a restore.
    Dns(Box<crate::dns::DnsCmd>),
    /// Inventory the environment variables a project reads and defines, with findings (values never shown).
    Env(Box<crate::env::EnvCmd>),
    /// Probe an AI assistant (onboarding, support) for prompt injection, leaks, unsafe tool use and missing
    /// escalation, from the manifest's [ai] table.
    AiProbe(Box<crate::aiprobe::AiProbeCmd>),
    /// Run flow files under load (open arrival-rate model, or --vus), judged by k6-style thresholds.
    Load(Box<crate::load::LoadCmd>),
    /// Uptime checks from the manifest (pages, routes, journeys, certificates) on a schedule, with alerts to
    /// channels, a dashboard, and --once for cron and CI.
    Monitor(Box<crate::monitor::MonitorCmd>),
    /// Print the short incident note: what is monitored, who owns what, what to check first, how to roll back.
    IncidentNote(Box<crate::monitor::IncidentNoteCmd>),
    /// One launch verdict: audit, smoke with the journeys, secrets, env and [deploy] checks, in one report.
    Gate(Box<crate::gate::GateCmd>),
    /// Write the handover document: access inventory, DNS map in plain words, change-this-if guide, checklist.
    Handover(Box<crate::handover::HandoverCmd>),
}

#[derive(Debug, Args)]
pub struct SecretsCmd {
    /// The directory or git repository to scan (work tree or bare), or `-` for standard input.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Scan only the working tree, not the git history.
    #[arg(long, conflicts_with_all = ["all_objects", "since", "staged"])]
    pub no_history: bool,
    /// Also scan objects no ref reaches (dangling blobs, dropped stashes).
    #[arg(long)]
    pub all_objects: bool,
    /// Scan only what is staged for the next commit (for a pre-commit hook).
    #[arg(long, conflicts_with_all = ["all_objects", "since"])]
    pub staged: bool,
    /// Scan only commits not reachable from REV (e.g. origin/main in a pull request's CI).
    #[arg(long, value_name = "REV")]
    pub since: Option<String>,
    /// A gitleaks v8 config (TOML) to use instead of the built-in rules; `[extend] useDefault = true` adds them.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Findings recorded in this baseline (by fingerprint) are reported as suppressed and do not fail the run.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Write every finding of this run to FILE as the new baseline (fingerprints only, never secrets).
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Print secret values instead of a short prefix and their length.
    #[arg(long)]
    pub show_secrets: bool,
    /// Skip files and blobs larger than this (bytes, or with a K, M or G suffix).
    #[arg(long, value_name = "SIZE", default_value = "10M")]
    pub max_file_size: String,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
    /// List every skipped file with its reason (otherwise only the counts).
    #[arg(long)]
    pub list_skipped: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct AuditCmd {
    /// The domain to audit (the apex, e.g. example.com). Optional when launchready.toml names it.
    pub domain: Option<String>,
    /// The manifest to use instead of ./launchready.toml.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    #[command(flatten)]
    pub net: NetArgs,
    /// Also check these old URLs (one per line, `#` comments; CSV exports work): each must land on a working
    /// page in at most one redirect.
    #[arg(long, value_name = "FILE")]
    pub links: Option<PathBuf>,
    /// Times to load the landing page (with its render-blocking CSS/JS) for the speed figures; 0 skips it.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub samples: usize,
    /// Opt in to a bounded burst against each login, signup and checkout route, to see whether anything rate
    /// limits it. Says what it will send before sending.
    #[arg(long)]
    pub probe_rate_limit: bool,
    /// Requests in the rate-limit burst, per route (1-200).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 30,
        requires = "probe_rate_limit"
    )]
    pub rate_limit_requests: u32,
    /// How long the rate-limit burst is spread over, e.g. 3s (up to 60s).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "3s",
        value_parser = duration,
        requires = "probe_rate_limit"
    )]
    pub rate_limit_window: Duration,
    /// Opt in to connecting to each MX host on port 25 (or where --connect-to sends it) to check STARTTLS and
    /// its certificate. Sends no mail.
    #[arg(long)]
    pub smtp: bool,
    /// A staging or intranet audit: private and loopback addresses in DNS are expected.
    #[arg(long)]
    pub intranet: bool,
    /// Write the gathered facts snapshot (JSON) to FILE, to share or re-judge later.
    #[arg(long, value_name = "FILE")]
    pub save_facts: Option<PathBuf>,
    /// Judge a saved facts snapshot instead of touching the network.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["save_facts"])]
    pub from_facts: Option<PathBuf>,
    /// Compare with an earlier JSON report of the same site (`--format json` output): the report says which
    /// findings were fixed, which are new and which remain, and how the score moved.
    #[arg(long, value_name = "PREVIOUS.json")]
    pub compare: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct NetArgs {
    /// Send every DNS lookup (the HTTP client's too) to this nameserver, IP[:PORT]. Repeatable.
    #[arg(long, value_name = "IP[:PORT]")]
    pub resolver: Vec<String>,
    /// Connect to HOST2:PORT2 whenever a request is for HOST1:PORT1 (curl's semantics; empty fields match
    /// anything). Test a new origin before cutover. Repeatable.
    #[arg(long, value_name = "HOST1:PORT1:HOST2:PORT2")]
    pub connect_to: Vec<String>,
    /// Trust the CA certificates in this PEM file as well as the public roots. Repeatable.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Vec<PathBuf>,
    /// How long each network operation may take, e.g. 10s, 500ms (default: the manifest's, else 10s).
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub timeout: Option<Duration>,
    /// How long the whole audit may take, e.g. 2m; work still running then is recorded as timed out.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub deadline: Option<Duration>,
    /// Network operations in flight at once (default: the manifest's, else 64).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Redirects to follow from each starting URL (default: the manifest's, else 10).
    #[arg(long, value_name = "N")]
    pub max_hops: Option<u32>,
    /// The User-Agent of every request (default: a current desktop Chrome's, so the audit sees what visitors see).
    #[arg(long, value_name = "STRING")]
    pub user_agent: Option<String>,
    /// The User-Agent of the second pass over entry points and legacy links, to see where phones land (default: a
    /// current Chrome on Android's).
    #[arg(long, value_name = "STRING")]
    pub mobile_user_agent: Option<String>,
}

impl NetArgs {
    /// The flags another launchready command needs to reach the same servers the same way: resolvers,
    /// connect-to rules, CA files and the per-operation timeout.
    pub(crate) fn forwarded(&self) -> Vec<String> {
        let mut args = Vec::new();
        for resolver in &self.resolver {
            args.extend(["--resolver".to_string(), resolver.clone()]);
        }
        for rule in &self.connect_to {
            args.extend(["--connect-to".to_string(), rule.clone()]);
        }
        for ca in &self.ca_file {
            args.extend(["--ca-file".to_string(), ca.display().to_string()]);
        }
        if let Some(timeout) = self.timeout {
            args.extend([
                "--timeout".to_string(),
                launchready_manifest::format_duration(timeout),
            ]);
        }
        args
    }
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Report format.
    #[arg(long, short = 'f', value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when an active finding is at least this severe.
    #[arg(long, value_enum, default_value_t = SeverityArg::High)]
    pub fail_on: SeverityArg,
    /// Colour in the text report: auto uses it on a terminal unless NO_COLOR is set.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
}

#[derive(Debug, Args)]
pub struct DemoCmd {
    /// Leave the lab running after the audit and print the flags to audit it by hand.
    #[arg(long)]
    pub keep_running: bool,
    /// Milliseconds of latency to add to every DNS answer and HTTP response of the lab.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct InitCmd {
    /// The site's domain (the apex, e.g. example.com).
    pub domain: String,
    /// Where to write the manifest.
    #[arg(
        long,
        short = 'o',
        value_name = "FILE",
        default_value = "launchready.toml"
    )]
    pub output: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Text,
    Json,
    Markdown,
    Html,
    Sarif,
    Junit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    Blocker,
    High,
    Medium,
    Low,
    Info,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

/// A human duration (`10s`, `1m30s`, `500ms`) or a number of seconds, as every time-taking flag accepts.
pub(crate) fn duration(input: &str) -> Result<Duration, String> {
    launchready_manifest::parse_duration(input).map_err(|e| e.to_string())
}
