//! The `smoke` subcommand: checks a fresh deploy from the manifest (homepage and its load budget, every route, the
//! payment webhook, the `[[flow]]` journeys), optionally after waiting for the new version to go live, and runs
//! a rollback command when it fails. The checks live in `launchready-smoke`; this file reads flags, builds the
//! network layer and the flow engine, and reuses the common report path and exit codes.

use crate::cli::{NetArgs, OutputArgs, duration};
use crate::journey_args::{self, SiteVariableArgs, mailbox_failure};
use crate::{Failure, exit};
use anyhow::anyhow;
use clap::Args;
use launchready_flow::{Engine, RunOptions, Variables};
use launchready_manifest::Manifest;
use launchready_smoke::{GatherOptions, NamedFlow, Redactor};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct SmokeCmd {
    /// The manifest to use instead of ./launchready.toml.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Poll the manifest's `[smoke] version_url` until it serves VERSION (a release or git SHA) before testing.
    #[arg(long, value_name = "VERSION")]
    pub wait_for_version: Option<String>,
    /// How long --wait-for-version waits before failing, e.g. 5m.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = duration)]
    pub wait_timeout: Duration,
    /// Time between two polls of the version endpoint.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = duration)]
    pub poll_interval: Duration,
    /// Loads of the homepage; their median is held against `[smoke] homepage_budget` (1-20).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub samples: usize,
    /// Run this shell command when the smoke test fails (e.g. a rollback); the report's path is in its
    /// environment as LAUNCHREADY_REPORT.
    #[arg(long, value_name = "CMD")]
    pub on_fail: Option<String>,
    /// How long the --on-fail command may run before it is stopped.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = duration)]
    pub on_fail_timeout: Duration,
    #[command(flatten)]
    pub vars: SiteVariableArgs,
    #[command(flatten)]
    pub net: NetArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The journeys' variables: `base_url` (the canonical origin, e.g. `https://www.example.com`) and `domain`,
/// then `HURL_VARIABLE_name` and `HURL_SECRET_name` from the environment, then the flags.
fn variables(cmd: &SmokeCmd, manifest: &Manifest) -> Result<Variables, Failure> {
    let mut vars = journey_args::site_variables(manifest);
    journey_args::env_variables(&mut vars);
    cmd.vars.add_to(&mut vars)?;
    Ok(vars)
}

pub async fn run(cmd: SmokeCmd) -> Result<u8, Failure> {
    let manifest = crate::commands::required_manifest(
        cmd.manifest.as_deref(),
        "smoke needs a manifest: run it where launchready.toml is, or pass --manifest FILE (create one with launchready init example.com)",
    )?;
    if cmd.wait_for_version.is_some() && manifest.smoke.version_url.is_none() {
        return Err(Failure::usage(anyhow!(
            "--wait-for-version needs the version endpoint: add `version_url = \"/version\"` to [smoke] in the manifest"
        )));
    }
    if !(1..=20).contains(&cmd.samples) {
        return Err(Failure::usage(anyhow!(
            "--samples must be between 1 and 20, not {}",
            cmd.samples
        )));
    }
    for (value, flag) in [
        (cmd.wait_timeout, "--wait-timeout"),
        (cmd.poll_interval, "--poll-interval"),
        (cmd.on_fail_timeout, "--on-fail-timeout"),
    ] {
        if value.is_zero() || value > Duration::from_secs(86_400) {
            return Err(Failure::usage(anyhow!(
                "{flag} must be more than 0 and at most 24h"
            )));
        }
    }
    let vars = variables(&cmd, &manifest)?;
    let flows = journey_args::manifest_flows(&manifest)?;
    let config = crate::commands::net_config(&cmd.net, &manifest)?;
    // `mailbox://` steps read mail from the manifest's [mailbox]: the SMTP sink is started now, so it catches
    // everything the deploy sends during the run.
    let mailbox = match &manifest.mailbox {
        Some(setup) => Some(journey_args::start_mailbox(setup, &config).await?),
        None => None,
    };
    let net = crate::commands::open_net(config)?;
    // Each journey gets its own engine, as `launchready flow` gives each file a fresh start.
    let mut named = Vec::new();
    for (name, file) in flows {
        let mut engine = Engine::new(&net, RunOptions::default());
        if let Some(mailbox) = &mailbox {
            let backend = mailbox.backend().await.map_err(mailbox_failure)?;
            engine = engine.with_backend("mailbox", Box::new(backend));
        }
        engine
            .check(&file)
            .map_err(|e| Failure::usage(anyhow!("[[flow]] `{name}`: {e}")))?;
        named.push(NamedFlow { name, file, engine });
    }
    let now = time::OffsetDateTime::now_utc();
    let options = GatherOptions {
        samples: cmd.samples,
        max_hops: cmd.net.max_hops.unwrap_or(manifest.audit.max_hops),
        wait_for_version: cmd.wait_for_version.clone(),
        wait_timeout: cmd.wait_timeout,
        poll_interval: cmd.poll_interval,
        generated_at: now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| now.unix_timestamp().to_string()),
    };
    if let Some(version) = &cmd.wait_for_version {
        eprintln!(
            "smoke: waiting up to {} for {} to serve {version}",
            launchready_manifest::format_duration(cmd.wait_timeout),
            manifest
                .smoke
                .version_url
                .as_ref()
                .map_or("", |u| u.as_str())
        );
    }
    let redactor = Redactor::new(vars.secret_values());
    let facts =
        launchready_smoke::gather(&manifest, &net, &named, &vars, &redactor, &options).await;
    let report = launchready_smoke::report(&facts, &manifest);
    let code = crate::commands::emit(&report, &cmd.output)?;
    if code == exit::FINDINGS
        && let Some(command) = &cmd.on_fail
    {
        on_fail(
            command,
            cmd.on_fail_timeout,
            &report,
            &cmd.output,
            &manifest,
        )
        .await;
    }
    Ok(code)
}

/// Runs the rollback command with the report's path in LAUNCHREADY_REPORT. Its output goes to stderr so
/// stdout stays the report; its failure is reported but does not change smoke's exit code (the deploy failed
/// either way).
async fn on_fail(
    command: &str,
    timeout: Duration,
    report: &launchready_findings::Report,
    output: &OutputArgs,
    manifest: &Manifest,
) {
    let path = match &output.output {
        Some(path) => path.clone(),
        None => {
            // No --output: keep a JSON copy for the command, where it can be found afterwards too.
            let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
            let path = std::env::temp_dir().join(format!(
                "launchready-smoke-{}-{stamp}-{}.json",
                manifest.apex(),
                std::process::id()
            ));
            let json = launchready_report::render(
                report,
                launchready_report::Format::Json,
                &launchready_report::RenderOptions {
                    color: false,
                    fail_on: launchready_findings::Severity::High,
                },
            );
            if let Err(e) = std::fs::write(&path, json) {
                eprintln!(
                    "smoke: cannot write the report for --on-fail to {}: {e}",
                    path.display()
                );
            }
            path
        }
    };
    eprintln!(
        "smoke failed: running --on-fail `{command}` (LAUNCHREADY_REPORT={})",
        path.display()
    );
    let stderr = match std::os::fd::AsFd::as_fd(&std::io::stderr()).try_clone_to_owned() {
        Ok(fd) => std::process::Stdio::from(fd),
        Err(_) => std::process::Stdio::inherit(),
    };
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("LAUNCHREADY_REPORT", &path)
        .env("LAUNCHREADY_TARGET", manifest.apex())
        .stdin(std::process::Stdio::null())
        .stdout(stderr)
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            eprintln!("smoke: cannot start --on-fail: {e}");
            return;
        }
    };
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) if status.success() => eprintln!("smoke: --on-fail finished"),
        Ok(Ok(status)) => eprintln!("smoke: --on-fail failed ({status})"),
        Ok(Err(e)) => eprintln!("smoke: --on-fail: {e}"),
        Err(_) => {
            let _ = child.kill().await;
            eprintln!(
                "smoke: --on-fail did not finish within {}; stopped",
                launchready_manifest::format_duration(timeout)
            );
        }
    }
}
