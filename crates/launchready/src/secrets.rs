//! `launchready secrets`: loads the rules (built-in or a gitleaks config), scans the path or stdin with a progress
//! bar, applies the baseline and `.gitleaksignore`, and hands the findings to the common report path.

use crate::cli::SecretsCmd;
use crate::commands::emit;
use crate::{Failure, exit};
use anyhow::anyhow;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use launchready_findings::{Report, ReportKind, Suppression};
use launchready_secrets::baseline::{Baseline, GitleaksIgnore};
use launchready_secrets::rules::RuleSet;
use launchready_secrets::sources::{self, Progress, ScanOptions, ScanOutput};
use launchready_secrets::{Skipped, gitleaks, report};
use std::path::Path;

pub async fn run(cmd: SecretsCmd) -> Result<u8, Failure> {
    let max_file_size = parse_size(&cmd.max_file_size).map_err(Failure::usage)?;
    let rules = load_rules(cmd.config.as_deref())?;
    let baseline = cmd
        .baseline
        .as_deref()
        .map(Baseline::load)
        .transpose()
        .map_err(Failure::usage)?;
    let stdin = cmd.path.as_os_str() == "-";
    let options = ScanOptions {
        history: !cmd.no_history,
        all_objects: cmd.all_objects,
        staged: cmd.staged,
        since: cmd.since.clone(),
        max_file_size,
        threads: cmd.threads,
    };
    let root = cmd.path.clone();
    // The scan is CPU-bound and runs on its own thread pool; the async runtime only waits for it.
    let scanned = tokio::task::spawn_blocking(move || -> Result<ScanOutput, Failure> {
        if stdin {
            sources::scan_reader(std::io::stdin().lock(), &rules, &options)
                .map_err(Failure::could_not_run)
        } else {
            let bar = progress_bar();
            let on_progress = |p: Progress| {
                if let Some(total) = p.bytes_total {
                    bar.set_length(total);
                }
                bar.set_position(p.bytes_done);
            };
            let result = sources::scan_path(&root, &rules, &options, &on_progress);
            bar.finish_and_clear();
            result.map_err(Failure::usage)
        }
    })
    .await
    .map_err(|e| Failure::could_not_run(anyhow!("the scan stopped: {e}")))??;

    let ignore = if stdin {
        GitleaksIgnore::default()
    } else {
        GitleaksIgnore::load(&cmd.path).map_err(|e| {
            Failure::usage(anyhow!(
                "cannot read {}/.gitleaksignore: {e}",
                cmd.path.display()
            ))
        })?
    };
    let ScanOutput {
        findings: found,
        skipped,
        stats,
    } = scanned;
    let mut findings: Vec<_> = report::first_occurrences(found)
        .iter()
        .map(|found| {
            let mut finding = report::to_finding(found, cmd.show_secrets);
            if ignore.ignores(found) {
                finding.suppressed = Some(Suppression {
                    reason: "listed in .gitleaksignore".to_string(),
                });
            }
            finding
        })
        .collect();
    if let Some(baseline) = &baseline {
        baseline.apply(&mut findings);
    }
    if let Some(path) = &cmd.write_baseline {
        Baseline::from_findings(&findings)
            .write(path)
            .map_err(Failure::could_not_run)?;
        eprintln!(
            "wrote {} finding(s) to the baseline {}",
            findings.len(),
            path.display()
        );
    }
    report_skipped(&skipped, cmd.list_skipped);
    eprintln!(
        "scanned {} file(s) and {} blob(s) from {} commit(s), {:.1} MiB",
        stats.files,
        stats.blobs,
        stats.commits,
        stats.bytes as f64 / 1_048_576.0
    );
    let target = if stdin {
        "standard input".to_string()
    } else {
        cmd.path.display().to_string()
    };
    let now = time::OffsetDateTime::now_utc();
    let generated_at = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string());
    let report =
        Report::new(target, generated_at, findings, Vec::new()).with_kind(ReportKind::Secrets);
    let code = emit(&report, &cmd.output)?;
    // A written baseline accepts what was found: writing one is not a failing run.
    if cmd.write_baseline.is_some() && code == exit::FINDINGS {
        return Ok(exit::READY);
    }
    Ok(code)
}

fn load_rules(config: Option<&Path>) -> Result<RuleSet, Failure> {
    let Some(path) = config else {
        return Ok(RuleSet::builtin());
    };
    let loaded = gitleaks::load(path).map_err(Failure::usage)?;
    if !loaded.skipped.is_empty() {
        eprintln!(
            "{}: {} rule(s) loaded, {} skipped:",
            path.display(),
            loaded.loaded,
            loaded.skipped.len()
        );
        for skipped in &loaded.skipped {
            eprintln!("  {}: {}", skipped.id, skipped.reason);
        }
    }
    Ok(loaded.rules)
}

fn report_skipped(skipped_items: &[Skipped], list: bool) {
    if skipped_items.is_empty() {
        return;
    }
    if list {
        for skipped in skipped_items {
            eprintln!("skipped {}: {}", skipped.path, skipped.reason);
        }
        return;
    }
    let mut reasons: Vec<(&str, usize)> = Vec::new();
    for skipped in skipped_items {
        // Reasons start with a short category ("binary", "larger than ..."); group on the part before a colon.
        let key = skipped.reason.split(':').next().unwrap_or_default();
        match reasons.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => reasons.push((key, 1)),
        }
    }
    let summary: Vec<String> = reasons.iter().map(|(k, n)| format!("{n} {k}")).collect();
    eprintln!(
        "skipped {} item(s) ({}); --list-skipped shows them",
        skipped_items.len(),
        summary.join(", ")
    );
}

/// A progress bar on stderr showing bytes and throughput; indicatif draws nothing when stderr is not a terminal.
fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} scanning {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}) {elapsed}",
    ) {
        bar.set_style(style);
    }
    bar
}

/// `10M`, `512K`, `1G` or a plain byte count.
fn parse_size(text: &str) -> Result<u64, anyhow::Error> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, ""),
    };
    let number: u64 = digits.parse().map_err(|_| {
        anyhow!("invalid --max-file-size `{text}`: expected e.g. 10M, 512K or 1048576")
    })?;
    let factor = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        other => {
            return Err(anyhow!(
                "invalid --max-file-size unit `{other}`: use K, M or G"
            ));
        }
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| anyhow!("--max-file-size `{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("10M").unwrap(), 10 << 20);
        assert_eq!(parse_size("512k").unwrap(), 512 << 10);
        assert_eq!(parse_size("123").unwrap(), 123);
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5X").is_err());
        assert!(parse_size("99999999999999G").is_err());
    }
}
