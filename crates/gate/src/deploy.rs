//! What `gate` can honestly check of the manifest's `[deploy]` table: the rollback command exists on this machine
//! and is written down in the runbook, and (only when asked) the production build runs cleanly. Whether the
//! rollback *works* it cannot know without running it, which a gate must never do; the served version is checked
//! by the smoke part against `--expect-version`.

use launchready_findings::{Finding, Severity, Stage};
use launchready_manifest::Manifest;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

const REFERENCE: &str = "https://sre.google/sre-book/release-engineering/";

/// Where the rollback command's program was looked for and found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RollbackFacts {
    pub command: String,
    /// The program (first word after any `NAME=value` assignments).
    pub program: String,
    /// Where it was found, if anywhere.
    pub found: Option<PathBuf>,
    /// Whether it was looked for as a path (a script in the repository) rather than on PATH.
    pub is_path: bool,
}

/// The runbook and whether it mentions the rollback command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunbookFacts {
    pub path: PathBuf,
    /// `None` when it could not be read, with the reason in `error`.
    pub mentions_rollback: Option<bool>,
    pub error: Option<String>,
}

/// The production build's outcome, when `--run-build` asked for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildFacts {
    pub command: String,
    /// The exit code; `None` when it was stopped or could not start.
    pub status: Option<i32>,
    pub timed_out: bool,
    /// Why it could not start, if it did not.
    pub error: Option<String>,
    /// The last lines of its output, for the evidence.
    pub tail: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeployFacts {
    pub rollback: Option<RollbackFacts>,
    pub runbook: Option<RunbookFacts>,
    pub build: Option<BuildFacts>,
}

/// The directory relative paths in the manifest are read from.
pub fn base_dir(manifest: &Manifest) -> PathBuf {
    manifest
        .source
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Looks for the rollback program and reads the runbook; touches only the file system.
pub fn gather(manifest: &Manifest) -> DeployFacts {
    let Some(deploy) = &manifest.deploy else {
        return DeployFacts::default();
    };
    let base = base_dir(manifest);
    let rollback = deploy
        .rollback
        .as_deref()
        .map(|command| locate(command, &base));
    let runbook = deploy.runbook.as_ref().map(|path| {
        let full = if path.is_relative() {
            base.join(path)
        } else {
            path.clone()
        };
        match std::fs::read_to_string(&full) {
            Ok(text) => RunbookFacts {
                path: path.clone(),
                mentions_rollback: Some(
                    deploy
                        .rollback
                        .as_deref()
                        .is_some_and(|command| text.contains(command.trim())),
                ),
                error: None,
            },
            Err(e) => RunbookFacts {
                path: path.clone(),
                mentions_rollback: None,
                error: Some(e.to_string()),
            },
        }
    });
    DeployFacts {
        rollback,
        runbook,
        build: None,
    }
}

fn locate(command: &str, base: &Path) -> RollbackFacts {
    let program = command
        .split_whitespace()
        .find(|word| !(word.contains('=') && !word.starts_with('=') && !word.contains('/')))
        .unwrap_or("")
        .to_string();
    let is_path = program.contains('/');
    let found = if program.is_empty() {
        None
    } else if is_path {
        let path = Path::new(&program);
        let full = if path.is_relative() {
            base.join(path)
        } else {
            path.to_path_buf()
        };
        full.is_file().then_some(full)
    } else {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(&program))
                .find(|candidate| is_executable(candidate))
        })
    };
    RollbackFacts {
        command: command.to_string(),
        program,
        found,
        is_path,
    }
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// Runs the production build with `sh -c` in `dir`, stopped after `timeout`. Its output is kept for the
/// evidence (last lines only), never streamed into the report's stdout.
pub async fn run_build(command: &str, dir: &Path, timeout: Duration) -> BuildFacts {
    let mut facts = BuildFacts {
        command: command.to_string(),
        status: None,
        timed_out: false,
        error: None,
        tail: Vec::new(),
    };
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let child = match child {
        Ok(child) => child,
        Err(e) => {
            facts.error = Some(format!("cannot start `sh -c {command}`: {e}"));
            return facts;
        }
    };
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => {
            facts.status = output.status.code();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            facts.tail = lines
                .iter()
                .skip(lines.len().saturating_sub(5))
                .map(|l| l.chars().take(200).collect())
                .collect();
        }
        Ok(Err(e)) => facts.error = Some(e.to_string()),
        // Dropping the future drops the child, which kill_on_drop stops.
        Err(_) => facts.timed_out = true,
    }
    facts
}

fn finding(id: &str, severity: Severity, subject: &str, title: String) -> Finding {
    let mut finding = Finding::new(id, Stage::Deployment, severity, subject, title);
    finding.reference = REFERENCE.to_string();
    finding
}

/// The `[deploy]` findings. Pure: a function of the manifest and the gathered facts.
pub fn findings(manifest: &Manifest, facts: &DeployFacts) -> Vec<Finding> {
    let subject = manifest.source.as_deref().map_or_else(
        || "launchready.toml".to_string(),
        |p| p.display().to_string(),
    );
    let Some(deploy) = &manifest.deploy else {
        let mut f = finding(
            "deploy.missing",
            Severity::Medium,
            &subject,
            "the manifest does not say how to build, roll back or read the served version"
                .to_string(),
        );
        f.remediation = "Add a [deploy] table with `rollback` (and `runbook`, `version_url`, `build`), so a bad release can be undone by anyone, not only by whoever shipped it.".to_string();
        return vec![f];
    };
    let mut out = Vec::new();
    match (&deploy.rollback, &facts.rollback) {
        (None, _) => {
            let mut f = finding(
                "deploy.rollback.missing",
                Severity::High,
                &subject,
                "[deploy] names no rollback command".to_string(),
            );
            f.remediation = "Write down how a bad release is undone, e.g. rollback = \"./scripts/rollback.sh\", and try it once on staging before launch.".to_string();
            out.push(f);
        }
        (Some(_), Some(rollback)) if rollback.found.is_none() => {
            let (severity, looked) = if rollback.is_path {
                (
                    Severity::High,
                    format!("no file {} next to the manifest", rollback.program),
                )
            } else {
                (
                    Severity::Medium,
                    format!("`{}` is not on this machine's PATH", rollback.program),
                )
            };
            let mut f = finding(
                "deploy.rollback.not_found",
                severity,
                &subject,
                format!(
                    "the rollback command `{}` cannot be found",
                    rollback.program
                ),
            );
            f.evidence = vec![format!("rollback = \"{}\"", rollback.command), looked];
            f.remediation = "Commit the rollback script (or install the deploy tool where the gate runs); a rollback that cannot be found on launch day is no rollback.".to_string();
            out.push(f);
        }
        _ => {}
    }
    if deploy.rollback.is_some() {
        let problem = match &facts.runbook {
            None => Some("[deploy] names no `runbook`".to_string()),
            Some(RunbookFacts {
                path,
                error: Some(e),
                ..
            }) => Some(format!("cannot read the runbook {}: {e}", path.display())),
            Some(RunbookFacts {
                path,
                mentions_rollback: Some(false),
                ..
            }) => Some(format!(
                "{} does not mention the rollback command",
                path.display()
            )),
            Some(_) => None,
        };
        if let Some(problem) = problem {
            let mut f = finding(
                "deploy.rollback.undocumented",
                Severity::Medium,
                &subject,
                "the rollback is not documented".to_string(),
            );
            f.evidence = vec![problem];
            f.remediation = "Name a runbook in [deploy] (`runbook = \"docs/deploy.md\"`) that shows the exact rollback command and when to use it.".to_string();
            out.push(f);
        }
    }
    match (&deploy.build, &facts.build) {
        (Some(command), None) => {
            let mut f = finding(
                "deploy.build.not_run",
                Severity::Info,
                &subject,
                "the production build was not run (pass --run-build to run it here)".to_string(),
            );
            f.evidence = vec![format!("build = \"{command}\"")];
            f.remediation =
                "Nothing to fix: the gate does not run commands unless asked.".to_string();
            out.push(f);
        }
        (_, Some(build)) if build.timed_out || build.error.is_some() || build.status != Some(0) => {
            let what = if build.timed_out {
                "did not finish in time".to_string()
            } else if let Some(e) = &build.error {
                e.clone()
            } else {
                match build.status {
                    Some(code) => format!("exited with status {code}"),
                    None => "was stopped by a signal".to_string(),
                }
            };
            let mut f = finding(
                "deploy.build.failed",
                Severity::Blocker,
                &subject,
                format!("the production build {what}"),
            );
            f.evidence = std::iter::once(format!("$ {}", build.command))
                .chain(build.tail.iter().cloned())
                .collect();
            f.remediation =
                "Make the production build pass locally before deploying it.".to_string();
            out.push(f);
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(dir: &Path, deploy: &str) -> Manifest {
        let path = dir.join("launchready.toml");
        std::fs::write(&path, format!("[site]\ndomain = \"example.com\"\n{deploy}")).unwrap();
        Manifest::load(&path).unwrap()
    }

    /// A manifest with the `deploy` tables, in a directory of its own (kept alive by the returned guard).
    fn temp_manifest(deploy: &str) -> (tempfile::TempDir, Manifest) {
        let dir = tempfile::tempdir().unwrap();
        let m = manifest(dir.path(), deploy);
        (dir, m)
    }

    fn ids(manifest: &Manifest, facts: &DeployFacts) -> Vec<String> {
        findings(manifest, facts)
            .into_iter()
            .map(|f| f.id)
            .collect()
    }

    #[test]
    fn no_deploy_table_is_one_medium_finding() {
        let (_dir, m) = temp_manifest("");
        assert_eq!(ids(&m, &gather(&m)), ["deploy.missing"]);
    }

    #[test]
    fn a_documented_rollback_script_passes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("scripts")).unwrap();
        std::fs::write(dir.path().join("scripts/rollback.sh"), "#!/bin/sh\n").unwrap();
        std::fs::write(
            dir.path().join("RUNBOOK.md"),
            "To roll back: `./scripts/rollback.sh`\n",
        )
        .unwrap();
        let m = manifest(
            dir.path(),
            "[deploy]\nrollback = \"./scripts/rollback.sh\"\nrunbook = \"RUNBOOK.md\"\n",
        );
        assert!(ids(&m, &gather(&m)).is_empty());
    }

    #[test]
    fn a_missing_script_and_an_undocumented_rollback_are_findings() {
        let (dir, m) =
            temp_manifest("[deploy]\nrollback = \"./scripts/rollback.sh\"\nbuild = \"true\"\n");
        let found = findings(&m, &gather(&m));
        let listed: Vec<(&str, Severity)> =
            found.iter().map(|f| (f.id.as_str(), f.severity)).collect();
        assert_eq!(
            listed,
            [
                ("deploy.rollback.not_found", Severity::High),
                ("deploy.rollback.undocumented", Severity::Medium),
                ("deploy.build.not_run", Severity::Info)
            ]
        );
        let m = manifest(dir.path(), "[deploy]\nbuild = \"true\"\n");
        assert_eq!(
            ids(&m, &gather(&m)),
            ["deploy.rollback.missing", "deploy.build.not_run"]
        );
    }

    #[test]
    fn a_program_on_path_is_found() {
        let (_dir, m) = temp_manifest("[deploy]\nrollback = \"ENV=prod sh -c 'echo rollback'\"\n");
        let facts = gather(&m);
        let rollback = facts.rollback.unwrap();
        assert_eq!(rollback.program, "sh");
        assert!(rollback.found.is_some());
    }

    #[tokio::test]
    async fn a_failing_build_is_a_blocker_with_its_output() {
        let (dir, m) =
            temp_manifest("[deploy]\nbuild = \"echo compiling; echo broken >&2; exit 3\"\n");
        let mut facts = gather(&m);
        facts.build = Some(
            run_build(
                m.deploy.as_ref().unwrap().build.as_deref().unwrap(),
                dir.path(),
                Duration::from_secs(30),
            )
            .await,
        );
        let found = findings(&m, &facts);
        let build = found
            .iter()
            .find(|f| f.id == "deploy.build.failed")
            .unwrap();
        assert_eq!(build.severity, Severity::Blocker);
        assert!(build.title.contains("status 3"), "{}", build.title);
        assert!(
            build.evidence.iter().any(|l| l.contains("broken")),
            "{:?}",
            build.evidence
        );
        facts.build = Some(run_build("true", dir.path(), Duration::from_secs(30)).await);
        assert!(
            !ids(&m, &facts)
                .iter()
                .any(|id| id.starts_with("deploy.build"))
        );
    }
}
