//! End-to-end tests of `launchready secrets` on real git repositories built with the git CLI: history
//! attribution, redaction, baselines, gitleaks configs and ignores, every output format, stdin, the pre-commit
//! (`--staged`) and CI (`--since`) cases, and bad input.

#![allow(clippy::unwrap_used)]

use launchready_testkit::cli::{Cli, Project};
use std::path::{Path, PathBuf};
use std::process::Command;

// Format-valid fakes, assembled at run time so this file itself holds no scannable token.
fn stripe_key() -> String {
    format!("sk_{}_{}", "live", "4eC39HqLyjWDarjtT1zdp7dcQ9Xk2bVm")
}
fn github_token() -> String {
    format!("ghp_{}", "R7x2Kq9LmN4pV8sT1wY6zA3bC5dE0fG2hJ4k")
}

fn launchready(dir: &Path, args: &[&str]) -> Cli {
    Cli::new(env!("CARGO_BIN_EXE_launchready"))
        .current_dir(dir)
        .args(args)
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Ada Lovelace",
            "-c",
            "user.email=ada@example.test",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_DATE", "2026-01-02T03:04:05Z")
        .env("GIT_COMMITTER_DATE", "2026-01-02T03:04:05Z")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A repository whose first commit adds a Stripe key in `config/pay.js`, whose second removes it, and whose
/// working tree then holds a GitHub token in `deploy.sh` (committed in the third).
fn repo() -> (Project, PathBuf, String) {
    let dir = Project::new();
    let root = dir.join("site");
    write(&root, "README.md", "# site\n");
    git(&root, &["init", "-q"]);
    commit(
        &root,
        "config/pay.js",
        &format!("const stripe = require('stripe')('{}');\n", stripe_key()),
        "pay",
    );
    let first = git(&root, &["rev-parse", "HEAD"]);
    commit(
        &root,
        "config/pay.js",
        "const stripe = require('stripe')(process.env.STRIPE_KEY);\n",
        "use env",
    );
    commit(
        &root,
        "deploy.sh",
        &format!("export GITHUB_TOKEN={}\n", github_token()),
        "deploy",
    );
    (dir, root, first)
}

/// Writes `path` in the repository at `root` and commits everything there with `message`.
fn commit(root: &Path, path: &str, text: &str, message: &str) {
    write(root, path, text);
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", message]);
}

fn write(dir: &Path, path: &str, text: &str) {
    launchready_testkit::cli::write_file(&dir.join(path), text.as_bytes());
}

fn ids(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("suppressed").is_none())
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn history_finds_a_deleted_key_attributed_to_its_commit_and_redacted() {
    let (_dir, root, first) = repo();
    let out = launchready(&root, &["secrets", "--format", "json"]).run();
    out.code(1);
    assert!(!out.stdout.contains(&stripe_key()), "secrets are redacted");
    assert!(!out.stdout.contains(&github_token()));
    let report = out.json();
    let findings = report["findings"].as_array().unwrap();
    let stripe = findings
        .iter()
        .find(|f| f["id"].as_str().unwrap().contains("stripe"))
        .unwrap_or_else(|| panic!("no stripe finding: {:#}", report));
    assert_eq!(stripe["location"]["path"], "config/pay.js");
    assert_eq!(stripe["location"]["commit"], first.as_str());
    assert!(stripe["evidence"].to_string().contains("Ada Lovelace"));
    assert!(stripe["evidence"].to_string().contains("sk_l…(40 chars)"));
    assert!(
        ids(&report).iter().any(|id| id.contains("github")),
        "{:?}",
        ids(&report)
    );
    assert!(
        out.stderr.contains("commit"),
        "a summary on stderr: {}",
        out.stderr
    );
}

#[test]
fn no_history_sees_only_the_working_tree() {
    let (_dir, root, _) = repo();
    let out = launchready(&root, &["secrets", "--no-history", "--format", "json"]).run();
    out.code(1);
    let ids = ids(&out.json());
    assert!(ids.iter().any(|id| id.contains("github")));
    assert!(!ids.iter().any(|id| id.contains("stripe")), "{ids:?}");
}

#[test]
fn show_secrets_prints_values() {
    let (_dir, root, _) = repo();
    let out = launchready(&root, &["secrets", "--show-secrets"]).run();
    assert!(out.stdout.contains(&stripe_key()), "{}", out.stdout);
}

#[test]
fn a_baseline_accepts_known_findings_and_still_fails_on_new_ones() {
    let (dir, root, _) = repo();
    let baseline = dir.path().join("baseline.json");
    let b = baseline.to_str().unwrap();
    let written = launchready(&root, &["secrets", "--write-baseline", b]).run();
    written.code(0);
    let text = std::fs::read_to_string(&baseline).unwrap();
    assert!(!text.contains(&stripe_key()) && !text.contains(&github_token()));
    let accepted = launchready(&root, &["secrets", "--baseline", b, "--format", "json"]).run();
    accepted.code(0);
    assert!(ids(&accepted.json()).is_empty());
    write(
        &root,
        "later.env",
        &format!("STRIPE_SECRET_KEY={}9\n", stripe_key()),
    );
    let new = launchready(&root, &["secrets", "--baseline", b, "--format", "json"]).run();
    new.code(1);
    assert!(new.json()["findings"].to_string().contains("later.env"));
}

#[test]
fn sarif_and_junit_carry_locations() {
    let (_dir, root, _) = repo();
    let out = launchready(&root, &["secrets", "--format", "sarif"]).run();
    let sarif: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(
        results.iter().any(
            |r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "deploy.sh"
        )
    );
    assert!(
        results
            .iter()
            .all(|r| r["partialFingerprints"]["launchready/v1"].is_string())
    );
    let junit = launchready(&root, &["secrets", "--format", "junit"]).run();
    assert!(junit.stdout.starts_with("<?xml"));
    assert!(junit.stdout.contains("<failure"), "{}", junit.stdout);
    assert!(junit.stdout.contains("deploy.sh:1"));
}

#[test]
fn inline_allow_comments_and_gitleaksignore_are_honoured() {
    let dir = Project::new();
    write(
        dir.path(),
        "a.js",
        &format!("const k = '{}'; // launchready:allow\n", stripe_key()),
    );
    write(
        dir.path(),
        "b.js",
        &format!("const k = '{}'; // gitleaks:allow\n", github_token()),
    );
    let out = launchready(dir.path(), &["secrets", "--format", "json"]).run();
    out.code(0);
    write(dir.path(), "c.sh", &format!("TOKEN={}\n", github_token()));
    let found = launchready(dir.path(), &["secrets", "--format", "json"]).run();
    let report = found.json();
    let finding = &report["findings"][0];
    let rule = finding["id"]
        .as_str()
        .unwrap()
        .trim_start_matches("secrets.");
    let line = finding["location"]["line"].as_u64().unwrap();
    write(
        dir.path(),
        ".gitleaksignore",
        &format!("# accepted\nc.sh:{rule}:{line}\n"),
    );
    let ignored = launchready(dir.path(), &["secrets", "--format", "json"]).run();
    ignored.code(0).stdout_has(&["listed in .gitleaksignore"]);
}

#[test]
fn stdin_is_scanned() {
    let dir = Project::new();
    let out = launchready(dir.path(), &["secrets", "-", "--format", "json"])
        .stdin(format!("key={}\n", stripe_key()))
        .run();
    out.code(1);
    assert_eq!(out.json()["findings"][0]["location"]["path"], "-");
    let clean = launchready(dir.path(), &["secrets", "-"])
        .stdin("nothing to see\n")
        .run();
    clean.code(0);
}

#[test]
fn staged_and_since_scan_only_the_new_part() {
    let (_dir, root, first) = repo();
    // Since the first commit: the Stripe key it introduced is not reported, the later GitHub token is.
    let since = launchready(&root, &["secrets", "--since", &first, "--format", "json"]).run();
    let ids = ids(&since.json());
    assert!(ids.iter().any(|id| id.contains("github")), "{ids:?}");
    assert!(!ids.iter().any(|id| id.contains("stripe")), "{ids:?}");
    // Nothing staged: the pre-commit hook passes even though history holds secrets.
    let staged = launchready(&root, &["secrets", "--staged"]).run();
    staged.code(0);
    write(&root, "new.py", &format!("API = '{}'\n", stripe_key()));
    git(&root, &["add", "new.py"]);
    let staged = launchready(&root, &["secrets", "--staged", "--format", "json"]).run();
    staged.code(1);
    assert!(staged.json()["findings"].to_string().contains("new.py"));
    let bad = launchready(&root, &["secrets", "--since", "no-such-rev"]).run();
    bad.code(2).stderr_has(&["no-such-rev"]);
}

#[test]
fn gitleaks_configs_load_and_bad_ones_are_refused_clearly() {
    let (dir, root, _) = repo();
    let config = dir.path().join("gitleaks.toml");
    std::fs::write(
        &config,
        "[[rules]]\nid = \"my-token\"\ndescription = \"In-house token\"\nregex = '''inhouse_[a-z0-9]{16}'''\nkeywords = [\"inhouse_\"]\n",
    )
    .unwrap();
    write(&root, "x.txt", "token inhouse_0123456789abcdef\n");
    let out = launchready(
        &root,
        &[
            "secrets",
            "--no-history",
            "--config",
            config.to_str().unwrap(),
            "--format",
            "json",
        ],
    )
    .run();
    out.code(1);
    assert_eq!(ids(&out.json()), ["secrets.my-token"]);
    std::fs::write(
        &config,
        "[[rules]]\nid = \"broken-rule\"\nregex = '''([a-z'''\n",
    )
    .unwrap();
    let bad = launchready(&root, &["secrets", "--config", config.to_str().unwrap()]).run();
    bad.code(2).stderr_has(&["broken-rule"]);
}

#[test]
fn the_shared_gitleaks_default_config_loads_unchanged() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/gitleaks/gitleaks.toml");
    if !shared.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "SKIPPED but CI is set: {} not found",
            shared.display()
        );
        eprintln!("SKIPPED: {} not found", shared.display());
        return;
    }
    let (_dir, root, _) = repo();
    let out = launchready(
        &root,
        &[
            "secrets",
            "--config",
            shared.to_str().unwrap(),
            "--format",
            "json",
        ],
    )
    .run();
    out.code(1);
    let ids = ids(&out.json());
    assert!(ids.iter().any(|id| id.contains("stripe")), "{ids:?}");
    assert!(ids.iter().any(|id| id.contains("github")), "{ids:?}");
}

#[test]
fn bad_paths_are_usage_errors() {
    let dir = Project::new();
    let out = launchready(dir.path(), &["secrets", "does-not-exist"]).run();
    out.code(2).stderr_has(&["does-not-exist"]);
    let size = launchready(dir.path(), &["secrets", "--max-file-size", "lots"]).run();
    size.code(2).stderr_has(&["--max-file-size"]);
}

#[test]
fn show_secrets_prints_a_private_key_whole() {
    let dir = Project::new();
    // Assembled at run time, like the other fakes.
    let body = "MIIEowIBAAKCAQEAq7BFUjsh9Kq2xZ3pLm8Wc1dNvR4tYe6uHo0iJg5fXkaPbQ2s";
    let key = format!(
        "-----BEGIN {k}-----\n{body}\n{body}\n-----END {k}-----",
        k = "RSA PRIVATE KEY"
    );
    let out = launchready(
        dir.path(),
        &["secrets", "-", "--format", "json", "--show-secrets"],
    )
    .stdin(format!("{key}\n"))
    .run();
    out.code(1);
    let evidence = out.json()["findings"][0]["evidence"][0].clone();
    assert_eq!(
        evidence,
        format!("secret: {key}").as_str(),
        "{}",
        out.stdout
    );
}
