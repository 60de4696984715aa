//! The `gate` subcommand: one verdict before (or after) a deploy. It runs the audit and the smoke test (with the
//! manifest's journeys) over the network while secrets and env scan the repository, checks what can be checked of
//! `[deploy]`, and writes one report through the common path (every format, `--fail-on`, exit codes). Combining
//! and judging live in `launchready-gate`; this file runs the parts.

use crate::cli::{NetArgs, OutputArgs, duration};
use crate::{Failure, exit, journey_args};
use anyhow::anyhow;
use clap::Args;
use launchready_findings::{DnsMapEntry, Finding, Severity};
use launchready_flow::{Engine, RunOptions};
use launchready_gate::{Outcome, Part, PartResult};
use launchready_manifest::Manifest;
use launchready_net::Net;
use launchready_smoke::{NamedFlow, Redactor};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Args)]
pub struct GateCmd {
    /// The manifest to use instead of ./launchready.toml.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// The repository secrets and env scan (default: the current directory).
    #[arg(long, value_name = "PATH", default_value = ".")]
    pub repo: PathBuf,
    /// Scan only the working tree for secrets, not the git history.
    #[arg(long, conflicts_with = "since")]
    pub no_history: bool,
    /// Scan only commits not reachable from REV for secrets (e.g. origin/main on a pull request).
    #[arg(long, value_name = "REV")]
    pub since: Option<String>,
    /// The version the site must serve (a release or git SHA), read from `[deploy]` or `[smoke]` `version_url`.
    #[arg(long, value_name = "VERSION")]
    pub expect_version: Option<String>,
    /// How long to wait for --expect-version to go live (default: one look, no waiting).
    #[arg(long, value_name = "DURATION", value_parser = duration, requires = "expect_version")]
    pub wait_timeout: Option<Duration>,
    /// Run `[deploy] build` here and fail the gate if it fails. Never run without this flag.
    #[arg(long)]
    pub run_build: bool,
    /// How long --run-build may take.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = duration)]
    pub build_timeout: Duration,
    /// Also run the manifest's `[[flow]]` journeys under load at this arrival rate (e.g. 5/s), after the other
    /// parts, judged by `[load] thresholds`.
    #[arg(long, value_name = "RATE")]
    pub load_rate: Option<String>,
    /// How long the --load-rate run lasts.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration, requires = "load_rate")]
    pub load_duration: Duration,
    /// After a passing gate, hand over to `launchready monitor` with the same manifest and network flags (its
    /// exit code becomes the gate's).
    #[arg(long)]
    pub then_monitor: bool,
    /// With --then-monitor: run one monitoring round (`monitor --once`) instead of monitoring until stopped.
    #[arg(long, requires = "then_monitor")]
    pub monitor_once: bool,
    /// Write the audit's facts snapshot (JSON) to FILE, e.g. for `launchready handover --facts`.
    #[arg(long, value_name = "FILE")]
    pub save_facts: Option<PathBuf>,
    #[command(flatten)]
    pub net: NetArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

fn now() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

pub async fn run(cmd: GateCmd) -> Result<u8, Failure> {
    let mut manifest = crate::commands::required_manifest(
        cmd.manifest.as_deref(),
        "gate needs a manifest: run it where launchready.toml is, or pass --manifest FILE (create one with launchready init example.com)",
    )?;
    if !cmd.repo.is_dir() {
        return Err(Failure::usage(anyhow!(
            "--repo {}: not a directory",
            cmd.repo.display()
        )));
    }
    if let Some(max_hops) = cmd.net.max_hops {
        if max_hops == 0 {
            return Err(Failure::usage(anyhow!("--max-hops must be at least 1")));
        }
        manifest.audit.max_hops = max_hops;
    }
    if cmd.expect_version.is_some() && manifest.smoke.version_url.is_none() {
        // The deploy table's endpoint serves the smoke part's version check.
        match manifest.deploy.as_ref().and_then(|d| d.version_url.clone()) {
            Some(url) => manifest.smoke.version_url = Some(url),
            None => {
                return Err(Failure::usage(anyhow!(
                    "--expect-version needs the version endpoint: add `version_url = \"/version\"` to [deploy] in the manifest"
                )));
            }
        }
    }
    if cmd.run_build
        && manifest
            .deploy
            .as_ref()
            .and_then(|d| d.build.as_ref())
            .is_none()
    {
        return Err(Failure::usage(anyhow!(
            "--run-build needs the build command: add `build = \"…\"` to [deploy] in the manifest"
        )));
    }
    if cmd.load_rate.is_some() && manifest.flows.is_empty() {
        return Err(Failure::usage(anyhow!(
            "--load-rate runs the manifest's journeys under load: add a [[flow]] to the manifest"
        )));
    }
    // Journeys are read and checked before anything is sent: a typo never half-runs a gate.
    let flows = journey_args::manifest_flows(&manifest)?;
    let config = crate::commands::net_config(&cmd.net, &manifest)?;
    let net = crate::commands::open_net(config)?;
    // Each journey gets its own engine, as `launchready smoke` gives each a fresh start.
    let mut named = Vec::new();
    for (name, file) in flows {
        let engine = Engine::new(&net, RunOptions::default());
        engine
            .check(&file)
            .map_err(|e| Failure::usage(anyhow!("[[flow]] `{name}`: {e}")))?;
        named.push(NamedFlow { name, file, engine });
    }
    eprintln!(
        "gate: {}: audit, smoke ({} journey(s)), secrets and env on {}, deploy checks{}",
        manifest.apex(),
        named.len(),
        cmd.repo.display(),
        if cmd.run_build { ", the build" } else { "" }
    );
    let (audit, smoke, secrets, env, deploy) = tokio::join!(
        audit_part(&manifest, &net, cmd.save_facts.as_deref()),
        smoke_part(&manifest, &net, &named, &cmd),
        secrets_part(&cmd, &manifest),
        env_part(&cmd.repo, &manifest),
        deploy_part(&manifest, &cmd),
    );
    let (audit, dns_map) = audit;
    let could_not_run = [&audit, &smoke, &secrets, &env, &deploy]
        .iter()
        .any(|r| matches!(r.outcome, Outcome::CouldNotRun(_)));
    let mut results = vec![audit, secrets, env, smoke, deploy];
    // Load runs last, alone: running it beside the audit and smoke would skew their timings and its own.
    let load = match &cmd.load_rate {
        Some(rate) => load_part(&cmd, &manifest, rate).await,
        None => PartResult {
            part: Part::Load,
            outcome: Outcome::Skipped("no --load-rate".into()),
        },
    };
    let could_not_run = could_not_run || matches!(load.outcome, Outcome::CouldNotRun(_));
    results.push(load);
    let report = launchready_gate::combine(manifest.apex(), &now(), results, dns_map);
    let fail_on = crate::commands::severity(cmd.output.fail_on);
    eprint!("{}", launchready_gate::summary(&report, fail_on));
    let code = crate::commands::emit(&report, &cmd.output)?;
    if could_not_run {
        return Ok(exit::COULD_NOT_RUN);
    }
    if cmd.then_monitor {
        if code != exit::READY {
            eprintln!("gate: not handing over to monitor: the gate did not pass");
            return Ok(code);
        }
        return then_monitor(&cmd, &manifest).await;
    }
    Ok(code)
}

/// Runs `launchready monitor` as a child with the gate's manifest and network flags, so the monitor starts
/// exactly as it would from the command line.
async fn then_monitor(cmd: &GateCmd, manifest: &Manifest) -> Result<u8, Failure> {
    let binary = std::env::current_exe()
        .map_err(|e| Failure::could_not_run(anyhow!("cannot find the launchready binary: {e}")))?;
    let mut args: Vec<String> = vec!["monitor".into()];
    if let Some(path) = &manifest.source {
        args.push("--manifest".into());
        args.push(path.display().to_string());
    }
    if cmd.monitor_once {
        args.push("--once".into());
    }
    args.extend(cmd.net.forwarded());
    eprintln!(
        "gate passed: handing over to `launchready {}`",
        args.join(" ")
    );
    let status = tokio::process::Command::new(binary)
        .args(&args)
        .kill_on_drop(true)
        .status()
        .await
        .map_err(|e| Failure::could_not_run(anyhow!("cannot start launchready monitor: {e}")))?;
    Ok(status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(exit::COULD_NOT_RUN))
}

/// Reads every `[[flow]]` file before anything is sent: a typo never half-runs a gate.
async fn audit_part(
    manifest: &Manifest,
    net: &Net,
    save_facts: Option<&Path>,
) -> (PartResult, Vec<DnsMapEntry>) {
    let options = launchready_audit::GatherOptions::default();
    let outcome = match Box::pin(launchready_audit::gather_checked(manifest, net, &options)).await {
        Err(e) => (Outcome::CouldNotRun(e.to_string()), Vec::new()),
        Ok(facts) => {
            if let Some(path) = save_facts {
                let written = serde_json::to_string_pretty(&facts)
                    .map_err(|e| e.to_string())
                    .and_then(|json| std::fs::write(path, json + "\n").map_err(|e| e.to_string()));
                if let Err(e) = written {
                    eprintln!("gate: cannot write the facts to {}: {e}", path.display());
                }
            }
            let report = launchready_audit::report(&facts, manifest);
            (Outcome::Ran(report.findings), report.dns_map)
        }
    };
    (
        PartResult {
            part: Part::Audit,
            outcome: outcome.0,
        },
        outcome.1,
    )
}

async fn smoke_part(
    manifest: &Manifest,
    net: &Net,
    flows: &[NamedFlow<'_>],
    cmd: &GateCmd,
) -> PartResult {
    let vars = journey_args::site_variables(manifest);
    let redactor = Redactor::new(vars.secret_values());
    let options = launchready_smoke::GatherOptions {
        max_hops: manifest.audit.max_hops,
        wait_for_version: cmd.expect_version.clone(),
        wait_timeout: cmd.wait_timeout.unwrap_or(Duration::ZERO),
        generated_at: now(),
        ..launchready_smoke::GatherOptions::default()
    };
    let facts = launchready_smoke::gather(manifest, net, flows, &vars, &redactor, &options).await;
    let report = launchready_smoke::report(&facts, manifest);
    PartResult {
        part: Part::Smoke,
        // Passing checks are info findings in a smoke report; a gate lists problems only.
        outcome: Outcome::Ran(
            report
                .findings
                .into_iter()
                .filter(|f| !f.id.ends_with(".passed"))
                .collect(),
        ),
    }
}

/// A part that scans the repository: `scan` runs off the async runtime; its findings go through the manifest's
/// `[[ignore]]`, and its error (or a scan that stopped) is a part that could not run.
async fn scan_part(
    part: Part,
    manifest: &Manifest,
    scan: impl FnOnce() -> Result<Vec<Finding>, String> + Send + 'static,
) -> PartResult {
    let outcome = match tokio::task::spawn_blocking(scan).await {
        Err(e) => Outcome::CouldNotRun(format!("the scan stopped: {e}")),
        Ok(Err(reason)) => Outcome::CouldNotRun(reason),
        Ok(Ok(mut findings)) => {
            manifest.apply_ignores(&mut findings);
            Outcome::Ran(findings)
        }
    };
    PartResult { part, outcome }
}

async fn secrets_part(cmd: &GateCmd, manifest: &Manifest) -> PartResult {
    use launchready_secrets::baseline::GitleaksIgnore;
    use launchready_secrets::rules::RuleSet;
    use launchready_secrets::sources::{self, ScanOptions};
    let root = cmd.repo.clone();
    let options = ScanOptions {
        history: !cmd.no_history,
        since: cmd.since.clone(),
        ..ScanOptions::default()
    };
    scan_part(Part::Secrets, manifest, move || {
        let rules = RuleSet::builtin();
        let out =
            sources::scan_path(&root, &rules, &options, &|_| {}).map_err(|e| e.to_string())?;
        let ignore =
            GitleaksIgnore::load(&root).map_err(|e| format!("cannot read .gitleaksignore: {e}"))?;
        Ok(launchready_secrets::report::first_occurrences(out.findings)
            .iter()
            .map(|found| {
                let mut finding = launchready_secrets::report::to_finding(found, false);
                if ignore.ignores(found) {
                    finding.suppressed = Some(launchready_findings::Suppression {
                        reason: "listed in .gitleaksignore".to_string(),
                    });
                }
                finding
            })
            .collect())
    })
    .await
}

async fn env_part(repo: &Path, manifest: &Manifest) -> PartResult {
    let root = repo.to_path_buf();
    scan_part(Part::Env, manifest, move || {
        launchready_envinv::scan(&root)
            .map(|scan| launchready_envinv::findings(&scan))
            .map_err(|e| e.to_string())
    })
    .await
}

async fn deploy_part(manifest: &Manifest, cmd: &GateCmd) -> PartResult {
    let mut facts = launchready_gate::deploy::gather(manifest);
    if cmd.run_build
        && let Some(build) = manifest.deploy.as_ref().and_then(|d| d.build.as_deref())
    {
        eprintln!("gate: running the build `{build}`");
        let dir = launchready_gate::deploy::base_dir(manifest);
        facts.build =
            Some(launchready_gate::deploy::run_build(build, &dir, cmd.build_timeout).await);
    }
    let mut findings = launchready_gate::deploy::findings(manifest, &facts);
    manifest.apply_ignores(&mut findings);
    PartResult {
        part: Part::Deploy,
        outcome: Outcome::Ran(findings),
    }
}

/// Runs `launchready load` on the manifest's journeys as a child, with the gate's network flags, and turns its
/// verdict into findings: failed thresholds are one `load.thresholds` finding with the JSON report's path.
async fn load_part(cmd: &GateCmd, manifest: &Manifest, rate: &str) -> PartResult {
    let part = Part::Load;
    let could_not = |reason: String| PartResult {
        part,
        outcome: Outcome::CouldNotRun(reason),
    };
    let binary = match std::env::current_exe() {
        Ok(binary) => binary,
        Err(e) => return could_not(format!("cannot find the launchready binary: {e}")),
    };
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let json = std::env::temp_dir().join(format!(
        "launchready-gate-load-{}-{stamp}-{}.json",
        manifest.apex(),
        std::process::id()
    ));
    let mut args: Vec<String> = vec!["load".into()];
    args.extend(
        manifest
            .flows
            .iter()
            .map(|f| manifest.flow_path(f).display().to_string()),
    );
    args.extend([
        "--rate".into(),
        rate.to_string(),
        "--duration".into(),
        launchready_manifest::format_duration(cmd.load_duration),
        "--quiet".into(),
        "--format".into(),
        "json".into(),
        "--output".into(),
        json.display().to_string(),
    ]);
    if let Some(path) = &manifest.source {
        args.extend(["--manifest".to_string(), path.display().to_string()]);
    }
    // The journeys' variables, as smoke gives them.
    args.extend([
        "--variable".to_string(),
        format!(
            "base_url={}",
            manifest.site.canonical_url.as_str().trim_end_matches('/')
        ),
        "--variable".to_string(),
        format!("domain={}", manifest.apex()),
    ]);
    args.extend(cmd.net.forwarded());
    eprintln!(
        "gate: load at {rate} for {}",
        launchready_manifest::format_duration(cmd.load_duration)
    );
    let output = tokio::process::Command::new(binary)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await;
    let output = match output {
        Ok(output) => output,
        Err(e) => return could_not(format!("cannot start launchready load: {e}")),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or("")
        .to_string();
    match output.status.code() {
        Some(0) => PartResult {
            part,
            outcome: Outcome::Ran(Vec::new()),
        },
        Some(1) => {
            let mut finding = Finding::new(
                "load.thresholds",
                launchready_findings::Stage::Deployment,
                Severity::High,
                format!(
                    "{rate} for {}",
                    launchready_manifest::format_duration(cmd.load_duration)
                ),
                "the journeys missed a load threshold",
            );
            finding.evidence = vec![last, format!("report: {}", json.display())];
            finding.remediation = "Read the load report for the step and threshold that failed; fix the slow step or scale before launch.".to_string();
            let mut findings = vec![finding];
            manifest.apply_ignores(&mut findings);
            PartResult {
                part,
                outcome: Outcome::Ran(findings),
            }
        }
        _ => could_not(format!("launchready load {} ({last})", output.status)),
    }
}
