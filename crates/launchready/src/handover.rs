//! The `handover` subcommand: builds the handover document (Markdown and one self-contained HTML page) from the
//! manifest, a saved audit facts file or a live audit, and the project's env inventory, and reports the access
//! inventory's gaps; `--check` turns the gaps into the exit code so it can gate a release. The document is built
//! by `launchready-handover`; this file reads inputs and writes outputs.

use crate::Failure;
use crate::cli::NetArgs;
use anyhow::anyhow;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct HandoverCmd {
    /// The manifest to use instead of ./launchready.toml (its [[access]] entries are the access inventory).
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// A facts snapshot from `launchready audit --save-facts` (or `gate --save-facts`); without it the site is
    /// audited live.
    #[arg(long, value_name = "FILE")]
    pub facts: Option<PathBuf>,
    /// The project whose environment variables go in the document (as `launchready env` scans it).
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Where to write the Markdown document.
    #[arg(long, short = 'o', value_name = "FILE", default_value = "handover.md")]
    pub output: PathBuf,
    /// Where to write the HTML page (default: the Markdown file's name with .html).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Exit 1 while the access inventory has gaps (no owner, no backup, 2FA, undocumented services).
    #[arg(long)]
    pub check: bool,
    #[command(flatten)]
    pub net: NetArgs,
}

pub async fn run(cmd: HandoverCmd) -> Result<u8, Failure> {
    let manifest = crate::commands::required_manifest(
        cmd.manifest.as_deref(),
        "handover needs a manifest: run it where launchready.toml is, or pass --manifest FILE",
    )?;
    let facts = match &cmd.facts {
        Some(path) => {
            let facts = launchready_audit::load_facts(path).map_err(Failure::usage)?;
            if facts.domain != manifest.apex() {
                return Err(Failure::usage(anyhow!(
                    "{} holds facts about {}, but the manifest is for {}",
                    path.display(),
                    facts.domain,
                    manifest.apex()
                )));
            }
            facts
        }
        None => {
            let config = crate::commands::net_config(&cmd.net, &manifest)?;
            let net = crate::commands::open_net(config)?;
            eprintln!("handover: auditing {} for the facts", manifest.apex());
            let options = launchready_audit::GatherOptions::default();
            Box::pin(launchready_audit::gather_checked(&manifest, &net, &options))
                .await
                .map_err(Failure::could_not_run)?
        }
    };
    let audit = launchready_audit::report(&facts, &manifest);
    let rows = match &cmd.project {
        Some(dir) => {
            let scan = launchready_envinv::scan(dir).map_err(Failure::usage)?;
            // Owners and notes come from the manifest's [[env]] entries when it has them.
            let notes = manifest
                .source
                .as_deref()
                .and_then(|p| launchready_envinv::load_notes(p).ok())
                .unwrap_or_default();
            Some(launchready_envinv::inventory(&scan, &notes))
        }
        None => None,
    };
    let now = time::OffsetDateTime::now_utc();
    let date = now
        .format(&time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap_or_else(|_| now.unix_timestamp().to_string());
    let inputs = launchready_handover::Inputs {
        manifest: &manifest,
        facts: &facts,
        audit: &audit,
        env: rows.as_deref(),
        incident_steps: launchready_monitor::plan(&manifest)
            .iter()
            .filter(|check| check.critical)
            .map(|check| {
                format!(
                    "{} ({}): {}",
                    check.id,
                    check.target(),
                    launchready_monitor::config::first_step(check)
                )
            })
            .collect(),
        date,
        version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let (document, gaps) = launchready_handover::build(&inputs);
    let html_path = cmd
        .html
        .clone()
        .unwrap_or_else(|| cmd.output.with_extension("html"));
    for (path, text) in [
        (&cmd.output, launchready_handover::doc::markdown(&document)),
        (&html_path, launchready_handover::doc::html(&document)),
    ] {
        crate::commands::write_file(path, &text, "")?;
    }
    let active: Vec<_> = gaps.iter().filter(|f| f.is_active()).collect();
    eprintln!(
        "wrote {} and {}; access inventory: {} entr{}, {} gap(s)",
        cmd.output.display(),
        html_path.display(),
        manifest.access.len(),
        if manifest.access.len() == 1 {
            "y"
        } else {
            "ies"
        },
        active.len()
    );
    for gap in &active {
        eprintln!("  [{}] {} — {}", gap.severity.as_str(), gap.id, gap.title);
    }
    Ok(crate::commands::findings_code(
        cmd.check && !active.is_empty(),
    ))
}
