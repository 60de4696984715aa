//! The subcommands `audit`, `demo` and `init`, sharing one path from manifest to report to exit code (`secrets`
//! lives in its own file and reuses the output path).

use crate::cli::{
    AuditCmd, ColorArg, Command, DemoCmd, FormatArg, InitCmd, NetArgs, OutputArgs, SeverityArg,
};
use crate::{Failure, exit};
use anyhow::{Context, anyhow};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use is_terminal::IsTerminal;
use launchready_audit::GatherOptions;
use launchready_findings::{Report, Severity};
use launchready_manifest::Manifest;
use launchready_net::{ConnectTo, Net, NetConfig};
use launchready_report::{Format, RenderOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub async fn run(cli: crate::cli::Cli) -> Result<u8, Failure> {
    match cli.command {
        Command::Audit(cmd) => audit(*cmd).await,
        Command::Demo(cmd) => demo(cmd).await,
        Command::Init(cmd) => init(cmd),
        Command::Smoke(cmd) => crate::smoke::run(*cmd).await,
        Command::Secrets(cmd) => crate::secrets::run(*cmd).await,
        Command::Flow(cmd) => crate::flow::run(*cmd).await,
        Command::Load(cmd) => crate::load::run(*cmd).await,
        Command::Monitor(cmd) => crate::monitor::run(*cmd).await,
        Command::IncidentNote(cmd) => crate::monitor::incident_note(*cmd).await,
        Command::Gate(cmd) => crate::gate::run(*cmd).await,
        Command::Handover(cmd) => crate::handover::run(*cmd).await,
        Command::Dns(cmd) => crate::dns::run(*cmd).await,
        Command::Env(cmd) => crate::env::run(*cmd).await,
        Command::AiProbe(cmd) => crate::aiprobe::run(*cmd).await,
    }
}

pub(crate) fn severity(arg: SeverityArg) -> Severity {
    match arg {
        SeverityArg::Blocker => Severity::Blocker,
        SeverityArg::High => Severity::High,
        SeverityArg::Medium => Severity::Medium,
        SeverityArg::Low => Severity::Low,
        SeverityArg::Info => Severity::Info,
    }
}

/// The manifest file a command reads: `--manifest`, else ./launchready.toml when there is one.
pub(crate) fn manifest_path(path: Option<&Path>) -> Option<PathBuf> {
    let local = PathBuf::from("launchready.toml");
    path.map(Path::to_path_buf)
        .or_else(|| local.is_file().then_some(local))
}

/// The manifest to use: `--manifest`, else ./launchready.toml, else the defaults for DOMAIN.
pub(crate) fn load_manifest(
    domain: Option<&str>,
    path: Option<&Path>,
) -> Result<Manifest, Failure> {
    let path = manifest_path(path);
    let manifest = match (&path, domain) {
        (Some(path), _) => Manifest::load(path).map_err(Failure::usage)?,
        (None, Some(domain)) => Manifest::for_domain(domain).map_err(Failure::usage)?,
        (None, None) => {
            return Err(Failure::usage(anyhow!(
                "no domain to audit: pass one (launchready audit example.com) or run it where launchready.toml is (create one with launchready init example.com)"
            )));
        }
    };
    if let (Some(path), Some(domain)) = (&path, domain) {
        let asked = launchready_manifest::validate_domain(domain)
            .map_err(|e| Failure::usage(anyhow!(e)))?;
        if asked != manifest.apex() {
            return Err(Failure::usage(anyhow!(
                "{} is the manifest for {}, but the command asks to audit {asked}; drop the argument or name another --manifest",
                path.display(),
                manifest.apex()
            )));
        }
    }
    Ok(manifest)
}

/// The manifest of a command that cannot run without one: `--manifest`, else ./launchready.toml, else a usage
/// error saying `missing`.
pub(crate) fn required_manifest(path: Option<&Path>, missing: &str) -> Result<Manifest, Failure> {
    match manifest_path(path) {
        Some(path) => Manifest::load(&path).map_err(Failure::usage),
        None => Err(Failure::usage(anyhow!("{missing}"))),
    }
}

/// Writes a command's output file; a failure is "could not run", naming `what` and the file.
pub(crate) fn write_file(path: &Path, text: &str, what: &str) -> Result<(), Failure> {
    std::fs::write(path, text)
        .with_context(|| format!("cannot write {what}{}", path.display()))
        .map_err(Failure::could_not_run)
}

/// Writes `text` to `path` ([`write_file`]), or to standard output without one. A closed pipe (e.g. `| head`)
/// is not an error worth a message.
pub(crate) fn write_or_print(path: Option<&Path>, text: &str, what: &str) -> Result<(), Failure> {
    match path {
        Some(path) => write_file(path, text, what),
        None => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
            Ok(())
        }
    }
}

/// The exit code of a command whose checks ran: findings when something fails, ready otherwise.
pub(crate) fn findings_code(failing: bool) -> u8 {
    if failing { exit::FINDINGS } else { exit::READY }
}

/// The net layer for a command: a CA file that cannot be read is the user's to fix (a usage error), anything
/// else means the command could not run.
pub(crate) fn open_net(config: NetConfig) -> Result<Net, Failure> {
    Net::new(config).map_err(|e| match e {
        launchready_net::NetError::CaFile { .. } => Failure::usage(e),
        other => Failure::could_not_run(other),
    })
}

fn within_a_day(value: Duration, flag: &str) -> Result<Duration, Failure> {
    if value.is_zero() || value > Duration::from_secs(86_400) {
        return Err(Failure::usage(anyhow!(
            "{flag} must be more than 0 and at most 24h, not {}",
            launchready_manifest::format_duration(value)
        )));
    }
    Ok(value)
}

/// Where the flags send connections: `--resolver`, `--connect-to` and `--ca-file`, over the defaults.
fn routed(args: &NetArgs) -> Result<NetConfig, Failure> {
    let resolvers = args
        .resolver
        .iter()
        .map(|r| launchready_net::parse_resolver(r).map_err(|e| Failure::usage(anyhow!(e))))
        .collect::<Result<Vec<_>, _>>()?;
    let connect_to = args
        .connect_to
        .iter()
        .map(|c| c.parse::<ConnectTo>().map_err(Failure::usage))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(NetConfig {
        resolvers,
        connect_to,
        ca_files: args.ca_file.clone(),
        ..NetConfig::default()
    })
}

/// The network layer of a journey command (`flow`, `load`), which has no manifest to take defaults from: the
/// flags' routes, `user_agent`, `--timeout` when given, and `--concurrency` (at least 1), else `concurrency`.
pub(crate) fn journey_net(
    args: &NetArgs,
    user_agent: &str,
    concurrency: usize,
) -> Result<NetConfig, Failure> {
    let defaults = routed(args)?;
    Ok(NetConfig {
        user_agent: user_agent.to_string(),
        timeout: args.timeout.unwrap_or(defaults.timeout),
        concurrency: args.concurrency.unwrap_or(concurrency).max(1),
        ..defaults
    })
}

pub(crate) fn net_config(args: &NetArgs, manifest: &Manifest) -> Result<NetConfig, Failure> {
    let routed = routed(args)?;
    let timeout = match args.timeout {
        Some(value) => within_a_day(value, "--timeout")?,
        None => manifest.audit.timeout,
    };
    let deadline = args
        .deadline
        .map(|value| within_a_day(value, "--deadline"))
        .transpose()?
        .map(|d| Instant::now() + d);
    let concurrency = args.concurrency.unwrap_or(manifest.audit.concurrency);
    if concurrency == 0 {
        return Err(Failure::usage(anyhow!("--concurrency must be at least 1")));
    }
    let user_agent = |value: &Option<String>, flag: &str, default: String| match value {
        Some(ua) if ua.trim().is_empty() || ua.chars().any(char::is_control) => Err(
            Failure::usage(anyhow!("{flag} must be a non-empty, single-line string")),
        ),
        Some(ua) => Ok(ua.clone()),
        None => Ok(default),
    };
    Ok(NetConfig {
        timeout,
        deadline,
        concurrency,
        user_agent: user_agent(&args.user_agent, "--user-agent", routed.user_agent.clone())?,
        mobile_user_agent: user_agent(
            &args.mobile_user_agent,
            "--mobile-user-agent",
            routed.mobile_user_agent.clone(),
        )?,
        ..routed
    })
}

async fn audit(cmd: AuditCmd) -> Result<u8, Failure> {
    if let Some(path) = &cmd.from_facts {
        let facts = launchready_audit::load_facts(path).map_err(Failure::usage)?;
        let manifest = match (&cmd.manifest, Path::new("launchready.toml").is_file()) {
            (Some(_), _) | (None, true) => {
                load_manifest(Some(&facts.domain), cmd.manifest.as_deref())?
            }
            (None, false) => Manifest::for_domain(&facts.domain).map_err(Failure::usage)?,
        };
        let report = compare(launchready_audit::report(&facts, &manifest), &cmd)?;
        return emit(&report, &cmd.output);
    }
    let mut manifest = load_manifest(cmd.domain.as_deref(), cmd.manifest.as_deref())?;
    if cmd.intranet {
        manifest.audit.intranet = true;
    }
    let links = match &cmd.links {
        Some(path) => launchready_audit::load_links(path).map_err(Failure::usage)?,
        None => Vec::new(),
    };
    if let Some(max_hops) = cmd.net.max_hops {
        if max_hops == 0 {
            return Err(Failure::usage(anyhow!("--max-hops must be at least 1")));
        }
        manifest.audit.max_hops = max_hops;
    }
    let config = net_config(&cmd.net, &manifest)?;
    if cmd.samples > 100 {
        return Err(Failure::usage(anyhow!(
            "--samples must be at most 100, not {}",
            cmd.samples
        )));
    }
    let rate_limit = if cmd.probe_rate_limit {
        if !(1..=200).contains(&cmd.rate_limit_requests) {
            return Err(Failure::usage(anyhow!(
                "--rate-limit-requests must be between 1 and 200, not {}",
                cmd.rate_limit_requests
            )));
        }
        let window = within_a_day(cmd.rate_limit_window, "--rate-limit-window")?;
        if window > Duration::from_secs(60) {
            return Err(Failure::usage(anyhow!(
                "--rate-limit-window must be at most 60 seconds"
            )));
        }
        let probe = launchready_audit::RateLimitProbe {
            requests: cmd.rate_limit_requests,
            window,
        };
        let targets = launchready_audit::rate_limit_targets(&manifest);
        if targets.is_empty() {
            eprintln!(
                "rate-limit probe: the manifest has no login, signup or checkout [[route]]; nothing to probe"
            );
        } else {
            eprintln!(
                "rate-limit probe: sending {} GET requests over {:.1}s to each of: {}",
                probe.requests,
                window.as_secs_f64(),
                targets
                    .iter()
                    .map(|u| u.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        Some(probe)
    } else {
        None
    };
    let options = GatherOptions {
        links,
        landing_samples: cmd.samples,
        rate_limit,
        smtp: cmd.smtp,
        ..GatherOptions::default()
    };
    // Read before the network work, so a bad path fails at once rather than after the audit.
    let previous = cmd.compare.as_deref().map(load_previous).transpose()?;
    let report = run_audit(&manifest, config, options, cmd.save_facts.as_deref()).await?;
    let report = match &previous {
        Some(previous) => compared(report, previous),
        None => report,
    };
    emit(&report, &cmd.output)
}

/// Gathers facts over the network and judges them.
async fn run_audit(
    manifest: &Manifest,
    config: NetConfig,
    mut options: GatherOptions<'_>,
    save_facts: Option<&Path>,
) -> Result<Report, Failure> {
    let net = open_net(config)?;
    // indicatif draws nothing when stderr is not a terminal, so CI logs stay clean.
    let bar = ProgressBar::with_draw_target(
        Some(launchready_audit::chain_count(manifest, &options) as u64),
        ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} auditing {msg}: {pos}/{len} URLs followed [{elapsed}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(manifest.apex().to_string());
    let tick = || bar.inc(1);
    options.on_chain_done = Some(&tick);
    let gathered = launchready_audit::gather_checked(manifest, &net, &options).await;
    bar.finish_and_clear();
    let facts = gathered.map_err(Failure::could_not_run)?;
    if let Some(path) = save_facts {
        let json = serde_json::to_string_pretty(&facts)
            .map_err(|e| Failure::could_not_run(anyhow!("cannot serialise the facts: {e}")))?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write facts to {}", path.display()))
            .map_err(Failure::could_not_run)?;
    }
    Ok(launchready_audit::report(&facts, manifest))
}

/// Renders the report where it was asked for and turns it into the exit code.
/// Reads an earlier JSON report for `--compare`.
fn load_previous(path: &Path) -> Result<Report, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::usage(anyhow!(
            "cannot read the report to compare with, {}: {e}",
            path.display()
        ))
    })?;
    serde_json::from_str::<Report>(&text).map_err(|e| {
        Failure::usage(anyhow!(
            "{} is not a launchready JSON report (write one with --format json): {e}",
            path.display()
        ))
    })
}

fn compared(report: Report, previous: &Report) -> Report {
    if previous.target != report.target {
        eprintln!(
            "warning: comparing {} with a report about {}",
            report.target, previous.target
        );
    }
    report.compared_with(previous)
}

fn compare(report: Report, cmd: &AuditCmd) -> Result<Report, Failure> {
    match cmd.compare.as_deref() {
        Some(path) => Ok(compared(report, &load_previous(path)?)),
        None => Ok(report),
    }
}

pub(crate) fn emit(report: &Report, args: &OutputArgs) -> Result<u8, Failure> {
    let fail_on = severity(args.fail_on);
    let format = match args.format {
        FormatArg::Text => Format::Terminal,
        FormatArg::Json => Format::Json,
        FormatArg::Markdown => Format::Markdown,
        FormatArg::Html => Format::Html,
        FormatArg::Sarif => Format::Sarif,
        FormatArg::Junit => Format::Junit,
    };
    let color = match args.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            args.output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let rendered = launchready_report::render(report, format, &RenderOptions { color, fail_on });
    write_or_print(args.output.as_deref(), &rendered, "the report to ")?;
    Ok(findings_code(report.failing(fail_on).next().is_some()))
}

async fn demo(cmd: DemoCmd) -> Result<u8, Failure> {
    let mut scenario = launchready_lab::scenarios::demo();
    scenario.dns_latency = Duration::from_millis(cmd.latency_ms);
    scenario.http_latency = Duration::from_millis(cmd.latency_ms);
    let lab = launchready_lab::Lab::start(scenario)
        .await
        .map_err(|e| Failure::could_not_run(anyhow!("cannot start the lab: {e}")))?;
    let manifest_path = lab.dir().join("launchready.toml");
    std::fs::write(&manifest_path, launchready_lab::scenarios::DEMO_MANIFEST)
        .with_context(|| format!("cannot write {}", manifest_path.display()))
        .map_err(Failure::could_not_run)?;
    let manifest = Manifest::load(&manifest_path).map_err(Failure::could_not_run)?;
    let net = NetArgs {
        resolver: vec![lab.resolver_arg()],
        connect_to: lab.connect_to_args(),
        ca_file: vec![lab.ca_file().to_path_buf()],
        timeout: None,
        deadline: None,
        concurrency: None,
        max_hops: None,
        user_agent: None,
        mobile_user_agent: None,
    };
    let config = net_config(&net, &manifest)?;
    let report = run_audit(&manifest, config, GatherOptions::default(), None).await?;
    let code = emit(&report, &cmd.output)?;
    let code = code.max(crate::demo_flows::run(&cmd.output).await?);
    if cmd.keep_running {
        let mut flags = vec![format!("--manifest {}", manifest_path.display())];
        flags.extend(net.resolver.iter().map(|r| format!("--resolver {r}")));
        flags.extend(net.connect_to.iter().map(|c| format!("--connect-to {c}")));
        flags.extend(
            net.ca_file
                .iter()
                .map(|c| format!("--ca-file {}", c.display())),
        );
        eprintln!(
            "\nThe lab is running. Audit it by hand with:\n\n  launchready audit demo.test {}\n\nPress Ctrl-C to stop it.",
            flags.join(" ")
        );
        // Ctrl-C is handled by main, which ends the process and with it the lab.
        std::future::pending::<()>().await;
    }
    Ok(code)
}

fn init(cmd: InitCmd) -> Result<u8, Failure> {
    let text = launchready_manifest::starter(&cmd.domain).map_err(Failure::usage)?;
    if cmd.output.exists() && !cmd.force {
        return Err(Failure::usage(anyhow!(
            "{} already exists; pass --force to overwrite it",
            cmd.output.display()
        )));
    }
    std::fs::write(&cmd.output, text)
        .with_context(|| format!("cannot write {}", cmd.output.display()))
        .map_err(Failure::could_not_run)?;
    eprintln!(
        "wrote {} for {}; edit it, then run: launchready audit",
        cmd.output.display(),
        cmd.domain
    );
    Ok(exit::READY)
}
