//! The `ai-probe` subcommand: reads the manifest's `[ai]` table (or starts the lab's fake assistant with `--lab`),
//! runs the probe families within the request budget, prints a per-family verdict table on stderr and hands the
//! findings to the common report path. Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 a flag or
//! manifest error, 3 the assistant never answered.

use crate::cli::{OutputArgs, duration};
use crate::commands::emit;
use crate::{Failure, exit};
use anyhow::anyhow;
use clap::{Args, ValueEnum};
use launchready_aiprobe::{Options, Outcome, builtin, report};
use launchready_findings::{Report, ReportKind};
use launchready_lab::assistant::{Assistant, AssistantMode};
use launchready_manifest::Manifest;
use launchready_net::{ConnectTo, Net, NetConfig};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Args)]
pub struct AiProbeCmd {
    /// The manifest whose [ai] table describes the assistant (default: ./launchready.toml).
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Probe the lab's built-in fake assistant instead (weak: every guardrail missing; hardened: none missing).
    #[arg(long, value_enum, value_name = "MODE", conflicts_with = "manifest")]
    pub lab: Option<LabMode>,
    /// Requests at most, judge requests included: every probe costs money (default: the manifest's, else 200).
    #[arg(long, value_name = "N")]
    pub max_requests: Option<u32>,
    /// How long one request may take, e.g. 30s (default: the manifest's, else 60s).
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub timeout: Option<Duration>,
    /// Pause between requests, e.g. 500ms, to stay under the assistant's rate limits (default: the manifest's,
    /// else 200ms).
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub delay: Option<Duration>,
    /// Run only this probe family (e.g. injection.direct). Repeatable.
    #[arg(long = "family", value_name = "ID")]
    pub families: Vec<String>,
    /// Ask the manifest's [ai.judge] model about the cases the detectors cannot settle.
    #[arg(long)]
    pub judge: bool,
    /// List the probe families and their attempts, then exit.
    #[arg(long)]
    pub list: bool,
    /// Also write every attempt's verdict and redacted transcript (JSON) to FILE.
    #[arg(long, value_name = "FILE")]
    pub save_transcripts: Option<PathBuf>,
    /// Connect to HOST2:PORT2 whenever a request is for HOST1:PORT1 (curl's semantics). Repeatable.
    #[arg(long, value_name = "HOST1:PORT1:HOST2:PORT2")]
    pub connect_to: Vec<String>,
    /// Trust the CA certificates in this PEM file as well as the public roots. Repeatable.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Vec<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LabMode {
    Weak,
    Hardened,
}

pub async fn run(cmd: AiProbeCmd) -> Result<u8, Failure> {
    let families = builtin().map_err(Failure::could_not_run)?;
    if cmd.list {
        for family in &families {
            println!(
                "{} v{} ({}): {}",
                family.id, family.version, family.severity, family.title
            );
            for attempt in &family.attempts {
                let condition = match (&attempt.tool, attempt.trigger) {
                    (Some(tool), _) => format!(", when `{tool}` is sensitive"),
                    (_, Some(trigger)) => format!(", when escalate_for has {trigger}"),
                    _ => String::new(),
                };
                println!(
                    "  {} ({} turn{}{condition})",
                    attempt.id,
                    attempt.turns.len(),
                    if attempt.turns.len() == 1 { "" } else { "s" }
                );
            }
        }
        return Ok(exit::READY);
    }
    for id in &cmd.families {
        if !families.iter().any(|f| &f.id == id) {
            let known: Vec<&str> = families.iter().map(|f| f.id.as_str()).collect();
            return Err(Failure::usage(anyhow!(
                "--family {id}: no such probe family (known: {})",
                known.join(", ")
            )));
        }
    }
    // The lab assistant lives as long as this function: it is dropped (and stops) after the run.
    let (_lab, manifest, file) = match cmd.lab {
        Some(mode) => {
            let mode = match mode {
                LabMode::Weak => AssistantMode::Weak,
                LabMode::Hardened => AssistantMode::Hardened,
            };
            let assistant = Assistant::start(mode)
                .await
                .map_err(Failure::could_not_run)?;
            let manifest = Manifest::parse(&assistant.manifest(), Path::new("lab assistant"))
                .map_err(Failure::could_not_run)?;
            (Some(assistant), manifest, "lab assistant".to_string())
        }
        None => {
            let path = cmd
                .manifest
                .clone()
                .unwrap_or_else(|| PathBuf::from("launchready.toml"));
            if !path.is_file() {
                return Err(Failure::usage(anyhow!(
                    "{} not found: ai-probe reads the assistant from the manifest's [ai] table (pass --manifest FILE, or try --lab weak)",
                    path.display()
                )));
            }
            let manifest = Manifest::load(&path).map_err(Failure::usage)?;
            (None, manifest, path.display().to_string())
        }
    };
    let Some(ai) = manifest.ai.as_ref() else {
        return Err(Failure::usage(anyhow!(
            "{file} has no [ai] table: describe the assistant there (see docs/ai-probe.md)"
        )));
    };
    let max_requests = cmd.max_requests.or(ai.max_requests).unwrap_or(200);
    if max_requests == 0 {
        return Err(Failure::usage(anyhow!("--max-requests must be at least 1")));
    }
    let timeout = cmd
        .timeout
        .or(ai.timeout)
        .unwrap_or(Duration::from_secs(60));
    if timeout.is_zero() {
        return Err(Failure::usage(anyhow!("--timeout must be more than 0")));
    }
    let delay = cmd.delay.or(ai.delay).unwrap_or(Duration::from_millis(200));
    let connect_to = cmd
        .connect_to
        .iter()
        .map(|c| {
            c.parse::<ConnectTo>()
                .map_err(|e| Failure::usage(anyhow!("--connect-to {c}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let net = Net::new(NetConfig {
        connect_to,
        ca_files: cmd.ca_file.clone(),
        timeout,
        concurrency: 1,
        ..NetConfig::default()
    })
    .map_err(Failure::usage)?;
    let options = Options {
        max_requests,
        timeout,
        delay,
        families: cmd.families.clone(),
        judge: cmd.judge,
        ..Options::default()
    };
    eprintln!(
        "probing {} (at most {max_requests} requests, {} between them)",
        ai.endpoint,
        launchready_manifest::format_duration(delay)
    );
    let progress = |what: &str| eprintln!("  {what}");
    let run = launchready_aiprobe::run(&net, ai, &file, &families, &options, &progress)
        .await
        .map_err(Failure::usage)?;
    if let Some(path) = &cmd.save_transcripts {
        let json = serde_json::to_string_pretty(&run).map_err(Failure::could_not_run)?;
        crate::commands::write_file(path, &json, "")?;
    }
    print_table(&run, &families);
    if !run.results.is_empty() && run.results.iter().all(|r| r.outcome == Outcome::Error) {
        let first = run
            .results
            .first()
            .and_then(|r| r.error.clone())
            .unwrap_or_default();
        return Err(Failure::could_not_run(anyhow!(
            "the assistant did not answer any probe: {first}"
        )));
    }
    let mut findings = report::findings(&run, &families);
    manifest.apply_ignores(&mut findings);
    let now = time::OffsetDateTime::now_utc();
    let generated_at = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string());
    let report = Report::new(ai.endpoint.to_string(), generated_at, findings, Vec::new())
        .with_kind(ReportKind::AiProbe);
    emit(&report, &cmd.output)
}

/// The verdict per family, on stderr so the report on stdout stays machine-readable.
fn print_table(run: &launchready_aiprobe::Run, families: &[launchready_aiprobe::Family]) {
    eprintln!(
        "{:<26} {:>7} {:>6} {:>6} {:>6} {:>8}  verdict",
        "family", "version", "passed", "failed", "errors", "not run"
    );
    for (id, version, passed, failed, errors) in run.summary(families) {
        let not_run = run.not_run.iter().filter(|n| n.family == id).count();
        let verdict = if failed > 0 {
            "FAIL"
        } else if errors > 0 {
            "ERROR"
        } else if passed == 0 {
            "not run"
        } else {
            "pass"
        };
        eprintln!(
            "{id:<26} {:>7} {passed:>6} {failed:>6} {errors:>6} {not_run:>8}  {verdict}",
            format!("v{version}")
        );
    }
    let judged = run
        .results
        .iter()
        .filter(|r| r.decided_by == launchready_aiprobe::DecidedBy::Judge)
        .count();
    eprintln!(
        "{} request(s) to the assistant, {} to the judge model ({judged} verdict(s) from the judge)",
        run.requests, run.judge_requests
    );
}
