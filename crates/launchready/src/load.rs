//! The `load` subcommand: runs flow files under load with the load crate, and owns what only a command line
//! has — the safety checks before anything is sent (allowed hosts, ceilings, the announced plan), the live view on
//! stderr, Ctrl-C (stop, then still write the report), and where each report format goes.
//! Exit codes: 0 every threshold holds, 1 one fails, 2 usage, 3 could not run, 130 interrupted (report written).

use crate::Failure;
use crate::cli::NetArgs;
use crate::commands::{journey_net, manifest_path};
use crate::journey_args::{self, ConnectionArgs, RequestArgs, VariableArgs};
use anyhow::anyhow;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use launchready_flow::Backend;
use launchready_flow::Variables;
use launchready_load::{BackendFactory, LoadPlan, Model, Rate, Schedule, Stop, Threshold, exit};
use launchready_mailbox::{MailboxBackend, MailboxRun};
use launchready_manifest::Manifest;
use launchready_net::{Net, NetConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
// The shared flag groups' help where load reads a flag its own way (verbatim: without the final period clap
// drops from a doc comment).
#[command(
    mut_arg("variables", |arg| arg.help("Define a variable, NAME=VALUE. Repeatable")),
    mut_arg("variables_files", |arg| arg.help("A .csv file with a header line: iteration n takes row n (cycling), e.g. one test account per row. Any other file is read as NAME=VALUE lines for every iteration")),
    mut_arg("no_keep_alive", |arg| arg.help("Open a new connection for every request instead of keeping one per virtual user")),
    mut_arg("http1_1", |arg| arg.help("Offer only HTTP/1.1, never HTTP/2 (as curl's and Hurl's `--http1.1`): against a server that offers HTTP/2, this is what lets the HTTP/1.1 fast path arm, and what wrk and oha speak")),
)]
pub struct LoadCmd {
    /// Flow files (Hurl format); iterations take them in turn.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Open model: start this many iterations per second whether or not earlier ones finished (50/s, 600/m).
    #[arg(long, value_name = "RATE", conflicts_with = "vus")]
    pub rate: Option<String>,
    /// How long the run lasts with --rate or --vus, e.g. 30s, 2m.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Open model with ramps: DURATION:RATE stages, linear within each, e.g. 30s:10/s,2m:200/s,30s:0/s (starting
    /// from --rate, else 0).
    #[arg(long, value_name = "STAGES", conflicts_with = "vus")]
    pub stages: Option<String>,
    /// Closed model, for comparison: N users each starting their next iteration when the last one ends. Latency
    /// is then not corrected for coordinated omission.
    #[arg(long, value_name = "N")]
    pub vus: Option<usize>,
    /// Iterations running at once at most (open model); an iteration that finds none free waits, and is reported.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub max_in_flight: usize,
    /// A k6-style threshold: 'p(95)<500', 'step=checkout p(99)<1s', 'rate_errors<0.01', add ' abortOnFail' to stop
    /// at the first failure. Repeatable; added to the manifest's [load] thresholds.
    #[arg(long = "threshold", value_name = "EXPR")]
    pub thresholds: Vec<String>,
    #[command(flatten)]
    pub vars: VariableArgs,
    #[command(flatten)]
    pub request: RequestArgs,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Send every request through the flow engine, even for flows whose requests never change (which otherwise
    /// run on the HTTP/1.1 fast path once the engine has reached their server).
    #[arg(long = "no-fast-path")]
    pub no_fast_path: bool,
    /// Allow loading this host (besides those the manifest names); *.example.com allows its subdomains.
    /// Repeatable.
    #[arg(long = "allow-host", value_name = "HOST")]
    pub allow_hosts: Vec<String>,
    /// The manifest naming the site's hosts (default: ./launchready.toml when present).
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Refuse a peak rate above this unless raised here.
    #[arg(long, value_name = "RATE", default_value = "1000/s")]
    pub rate_ceiling: String,
    /// Refuse a run longer than this unless raised here.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = humantime::parse_duration)]
    pub duration_ceiling: Duration,
    /// How long iterations still in flight at the end may take to finish before they are cut off.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub grace: Duration,
    /// Print what would be sent, and check hosts and thresholds, without sending anything.
    #[arg(long)]
    pub dry_run: bool,
    /// No live view on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Report format on standard output (or --output).
    #[arg(long, short = 'f', value_enum, default_value_t = LoadFormat::Text)]
    pub format: LoadFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write a JUnit report (one case per threshold) to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write the self-contained HTML page (charts, percentiles) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    #[command(flatten)]
    pub net: NetArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LoadFormat {
    Text,
    Json,
    Junit,
    Html,
}

fn usage(error: impl Into<anyhow::Error>) -> Failure {
    Failure::usage(error)
}

type Rows = Vec<Vec<(String, String)>>;

/// The base variables and the per-iteration rows.
fn variables(cmd: &LoadCmd) -> Result<(Variables, Rows), Failure> {
    let mut vars = Variables::new();
    let mut rows = Vec::new();
    for path in &cmd.vars.variables_files {
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            if !rows.is_empty() {
                return Err(usage(anyhow!(
                    "only one .csv --variables-file is used per run"
                )));
            }
            rows = launchready_load::read_rows(path).map_err(usage)?;
            continue;
        }
        journey_args::variables_file(&mut vars, path)?;
    }
    journey_args::flag_variables(&mut vars, &cmd.vars.variables)?;
    journey_args::flag_secrets(&mut vars, &cmd.vars.secrets)?;
    Ok((vars, rows))
}

/// The model from --rate/--stages/--duration or --vus, within the ceilings.
fn model(cmd: &LoadCmd) -> Result<Model, Failure> {
    let ceiling = Rate::parse(&cmd.rate_ceiling).map_err(usage)?;
    let model = match (&cmd.rate, &cmd.stages, cmd.vus) {
        (_, _, Some(vus)) => {
            let Some(duration) = cmd.duration else {
                return Err(usage(anyhow!(
                    "--vus needs --duration, e.g. --vus 20 --duration 1m"
                )));
            };
            if vus == 0 {
                return Err(usage(anyhow!("--vus must be at least 1")));
            }
            Model::Closed { vus, duration }
        }
        (rate, Some(stages), None) => {
            if cmd.duration.is_some() {
                return Err(usage(anyhow!(
                    "--stages sets the duration itself; drop --duration"
                )));
            }
            let start = match rate {
                Some(rate) => Rate::parse(rate).map_err(usage)?,
                None => Rate(0.0),
            };
            Model::Open {
                schedule: Schedule::parse_stages(stages, start).map_err(usage)?,
                max_in_flight: cmd.max_in_flight.max(1),
            }
        }
        (Some(rate), None, None) => {
            let Some(duration) = cmd.duration else {
                return Err(usage(anyhow!(
                    "--rate needs --duration, e.g. --rate 50/s --duration 1m"
                )));
            };
            Model::Open {
                schedule: Schedule::constant(Rate::parse(rate).map_err(usage)?, duration),
                max_in_flight: cmd.max_in_flight.max(1),
            }
        }
        (None, None, None) => {
            return Err(usage(anyhow!(
                "say how much load: --rate 50/s --duration 1m (open model), --stages 30s:10/s,2m:200/s,30s:0/s, or --vus 20 --duration 1m (closed model)"
            )));
        }
    };
    if let Model::Open { schedule, .. } = &model
        && schedule.peak().0 > ceiling.0
    {
        return Err(usage(anyhow!(
            "a peak of {} is above the ceiling of {}; raise it deliberately with --rate-ceiling",
            schedule.peak(),
            ceiling
        )));
    }
    if model.duration() > cmd.duration_ceiling {
        return Err(usage(anyhow!(
            "a run of {} is longer than the ceiling of {}; raise it deliberately with --duration-ceiling",
            humantime::format_duration(model.duration()),
            humantime::format_duration(cmd.duration_ceiling)
        )));
    }
    if model.duration().is_zero() {
        return Err(usage(anyhow!("the run would last no time at all")));
    }
    Ok(model)
}

/// What the manifest gives a load run: the hosts it names (the apex, www, the canonical host, every subdomain and
/// `[load] allow_hosts`), `[load]` thresholds, and `[mailbox]` for `mailbox://` steps.
struct FromManifest {
    hosts: Vec<String>,
    thresholds: Vec<String>,
    mailbox: Option<launchready_manifest::Mailbox>,
}

fn from_manifest(path: Option<&Path>) -> Result<FromManifest, Failure> {
    let Some(path) = manifest_path(path) else {
        return Ok(FromManifest {
            hosts: Vec::new(),
            thresholds: Vec::new(),
            mailbox: None,
        });
    };
    let manifest = Manifest::load(&path).map_err(usage)?;
    let mut hosts = vec![
        manifest.apex().to_string(),
        manifest.www(),
        manifest.canonical_host().to_string(),
    ];
    hosts.extend(manifest.site.subdomains.iter().map(|s| s.host.clone()));
    hosts.extend(manifest.load.allow_hosts.iter().cloned());
    hosts.sort();
    hosts.dedup();
    Ok(FromManifest {
        hosts,
        thresholds: manifest.load.thresholds.clone(),
        mailbox: manifest.mailbox.clone(),
    })
}

/// The `[mailbox]` started for the run when a file has a `mailbox://` step, and a backend factory for it: every
/// virtual user reads the same SMTP sink. An IMAP inbox is refused: its reader only sees mail that arrives after
/// it connects, and a user's reader would connect after the mail it waits for was sent.
async fn mailbox(
    cmd: &LoadCmd,
    setup: Option<&launchready_manifest::Mailbox>,
    config: &NetConfig,
) -> Result<Option<(MailboxRun, BackendFactory)>, Failure> {
    if !journey_args::reads_mail(&cmd.files) {
        return Ok(None);
    }
    let Some(setup) = setup else {
        return Err(usage(anyhow!(
            "mailbox:// needs [mailbox] in launchready.toml (or --manifest FILE) with smtp_listen"
        )));
    };
    let run = journey_args::start_mailbox(setup, config).await?;
    let store = match &run {
        MailboxRun::Sink(sink) => sink.store(),
        MailboxRun::Imap(_) => {
            return Err(usage(anyhow!(
                "load reads mailbox:// from [mailbox] smtp_listen only; an IMAP inbox per virtual user would miss mail sent before it connects"
            )));
        }
    };
    let factory: BackendFactory =
        Arc::new(move || Box::new(MailboxBackend::sink(store.clone())) as Box<dyn Backend>);
    Ok(Some((run, factory)))
}

fn net_config(args: &NetArgs, in_flight: usize) -> Result<NetConfig, Failure> {
    let user_agent = args
        .user_agent
        .as_deref()
        .unwrap_or(concat!("launchready-load/", env!("CARGO_PKG_VERSION")));
    // Each iteration sends one request at a time: the network layer must not add a second, hidden cap.
    journey_net(args, user_agent, in_flight)
}

/// The live view: one line on stderr, redrawn four times a second while the run lasts (hidden when stderr is
/// not a terminal).
fn live_view(
    quiet: bool,
    mut rx: tokio::sync::watch::Receiver<launchready_load::Live>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let bar = ProgressBar::with_draw_target(
            None,
            if quiet {
                ProgressDrawTarget::hidden()
            } else {
                ProgressDrawTarget::stderr()
            },
        );
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed:>4} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        while rx.changed().await.is_ok() {
            let live = rx.borrow_and_update().clone();
            if let Some(planned) = live.planned {
                bar.set_length(planned);
            }
            bar.set_position(live.started);
            bar.set_message(format!(
                "{:.0} req/s · {} in flight · p95 {:.0} ms · {} errors · {}{} iterations{}",
                live.rate,
                live.in_flight,
                live.p95_ms,
                live.errors,
                live.completed,
                live.planned.map(|p| format!("/{p}")).unwrap_or_default(),
                if live.waited_for_slot > 0 {
                    format!(" · in-flight cap hit {}×", live.waited_for_slot)
                } else {
                    String::new()
                }
            ));
            bar.tick();
        }
        bar.finish_and_clear();
    })
}

/// Writes a report file; a failure means the run could not finish ("cannot write FILE: why").
fn write(path: &Path, text: &str) -> Result<(), Failure> {
    crate::commands::write_file(path, text, "")
}

pub async fn run(cmd: LoadCmd) -> Result<u8, Failure> {
    let model = model(&cmd)?;
    let (vars, rows) = variables(&cmd)?;
    let from = from_manifest(cmd.manifest.as_deref())?;
    let manifest_thresholds = from.thresholds.clone();
    let mut allowed = from.hosts.clone();
    allowed.extend(cmd.allow_hosts.iter().cloned());
    let mut thresholds = Vec::new();
    for text in manifest_thresholds.iter().chain(&cmd.thresholds) {
        thresholds.push(Threshold::parse(text).map_err(usage)?);
    }
    let options = journey_args::run_options(&cmd.request, &cmd.connection)?;
    let mut files = Vec::new();
    for path in &cmd.files {
        files.push(launchready_flow::load(path).map_err(usage)?);
    }
    let in_flight = match &model {
        Model::Open { max_in_flight, .. } => *max_in_flight,
        Model::Closed { vus, .. } => *vus,
    };
    let config = net_config(&cmd.net, in_flight)?;
    // Started before the plan is checked: its URLs are not load targets, and the sink must listen from the start.
    let mailbox = mailbox(&cmd, from.mailbox.as_ref(), &config).await?;
    let backends = match &mailbox {
        Some((_, factory)) => vec![("mailbox".to_string(), factory.clone())],
        None => Vec::new(),
    };
    let plan = LoadPlan {
        files,
        model,
        options,
        variables: vars.clone(),
        rows,
        thresholds,
        allowed_hosts: allowed,
        grace: cmd.grace,
        backends,
        fast_path: !cmd.no_fast_path,
    };
    let targets = plan.check().map_err(usage)?;
    eprintln!("{}", plan.announce(&targets));
    if cmd.dry_run {
        return Ok(exit::PASSED);
    }
    // The network layer lives as long as the process: iterations run on tasks of their own.
    let net: &'static Net = Box::leak(Box::new(Net::new(config).map_err(usage)?));
    let stop = Stop::default();
    let interrupted = Stop::default();
    {
        let stop = stop.clone();
        let interrupted = interrupted.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\nload: stopping (Ctrl-C again to quit without a report)");
                interrupted.stop("Ctrl-C");
                stop.stop("interrupted (Ctrl-C)");
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(i32::from(crate::exit::INTERRUPTED));
                }
            }
        });
    }
    let (live_tx, live_rx) = tokio::sync::watch::channel(launchready_load::Live::default());
    let view = live_view(cmd.quiet, live_rx);
    let started = Instant::now();
    let report = launchready_load::run(plan, net, stop, Some(live_tx)).await;
    let _ = view.await;
    if !cmd.quiet {
        eprintln!("load: finished in {:.1}s", started.elapsed().as_secs_f64());
    }
    let text = report.text();
    let json = report.json();
    let rendered = match cmd.format {
        LoadFormat::Text => text,
        LoadFormat::Json => json.clone(),
        LoadFormat::Junit => report.junit(),
        LoadFormat::Html => launchready_load::html::render(&report),
    };
    match &cmd.output {
        Some(path) => write(path, &vars.redact(&rendered))?,
        None => print!("{}", vars.redact(&rendered)),
    }
    if let Some(path) = &cmd.json {
        write(path, &vars.redact(&json))?;
    }
    if let Some(path) = &cmd.junit {
        write(path, &vars.redact(&report.junit()))?;
    }
    if let Some(path) = &cmd.html {
        write(path, &vars.redact(&launchready_load::html::render(&report)))?;
    }
    if interrupted.reason().is_some() {
        return Ok(crate::exit::INTERRUPTED);
    }
    Ok(report.exit_code())
}
