//! The `env` subcommand: scans a project for the variables its code reads and each environment defines, reports
//! the findings through the common report path (formats, --fail-on, exit codes), and writes the inventory table
//! (Markdown, HTML or JSON by the file's extension) with owners and notes from the manifest's `[[env]]` entries.

use crate::Failure;
use crate::cli::OutputArgs;
use crate::commands::{emit, write_or_print};
use clap::Args;
use launchready_envinv::{EnvNote, inventory, render};
use launchready_findings::{Report, ReportKind};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct EnvCmd {
    /// The project to scan.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Write the inventory table to FILE: .html and .json by extension, Markdown otherwise; `-` prints Markdown.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// The manifest whose `[[env]]` entries give owners, notes and who can rotate (default: PATH/launchready.toml
    /// when present).
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub async fn run(cmd: EnvCmd) -> Result<u8, Failure> {
    let scanned = launchready_envinv::scan(&cmd.path).map_err(Failure::usage)?;
    let manifest = cmd.manifest.clone().or_else(|| {
        let local = cmd.path.join("launchready.toml");
        local.is_file().then_some(local)
    });
    // The manifest crate validates `[[env]]` like every other table (spans, did-you-mean).
    let notes: Vec<EnvNote> = match &manifest {
        Some(path) => crate::commands::load_manifest(None, Some(path))?
            .env
            .into_iter()
            .map(|e| EnvNote {
                name: e.name,
                owner: e.owner,
                notes: e.notes,
                rotate: e.rotate,
            })
            .collect(),
        None => Vec::new(),
    };
    let rows = inventory(&scanned, &notes);
    if let Some(path) = &cmd.inventory {
        let text = match path.extension().and_then(|e| e.to_str()) {
            Some("html" | "htm") => render::html(&rows),
            Some("json") => render::json(&rows),
            _ => render::markdown(&rows),
        };
        let file = (path.as_os_str() != "-").then_some(path.as_path());
        write_or_print(file, &text, "the inventory to ")?;
    }
    eprintln!(
        "{} variable(s): {} read(s) in code, {} definition(s) in {} env file(s)",
        rows.len(),
        scanned.usages.len(),
        scanned.definitions.len(),
        scanned.files.len()
    );
    let findings = launchready_envinv::findings(&scanned);
    let now = time::OffsetDateTime::now_utc();
    let generated_at = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string());
    let report = Report::new(
        cmd.path.display().to_string(),
        generated_at,
        findings,
        Vec::new(),
    )
    .with_kind(ReportKind::Env);
    emit(&report, &cmd.output)
}
