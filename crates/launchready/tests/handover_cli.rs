//! End-to-end tests of `launchready handover` against the demo lab: every section filled from the live audit's
//! facts (and again offline from a saved facts file), the access inventory's gaps as findings with `--check`
//! exiting 1 until they are closed, and the HTML page screenshotted in headless Chromium when it is installed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use launchready_lab::{Lab, scenarios};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_launchready");

struct Out {
    code: i32,
    stderr: String,
}

async fn run(dir: &Path, program: &str, args: Vec<String>) -> Out {
    let dir = dir.to_path_buf();
    let program = program.to_string();
    let task = tokio::task::spawn_blocking(move || {
        Command::new(program)
            .args(&args)
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    });
    let out = tokio::time::timeout(Duration::from_secs(120), task)
        .await
        .expect("the command did not finish within 120 s")
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn lab_flags(lab: &Lab) -> Vec<String> {
    let mut list = vec![
        "--resolver".to_string(),
        lab.resolver_arg(),
        "--ca-file".into(),
        lab.ca_file().display().to_string(),
        "--timeout".into(),
        "5s".into(),
    ];
    for rule in lab.connect_to_args() {
        list.push("--connect-to".into());
        list.push(rule);
    }
    list
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_string()).collect()
}

const GAPPY_ACCESS: &str = r#"
[deploy]
rollback = "./scripts/rollback.sh"
runbook = "docs/deploy.md"

[[access]]
service = "Lab DNS"
kind = "dns"
owner = "ana@demo.test"
two_factor = false
"#;

const FULL_ACCESS: &str = r#"
[[access]]
service = "Lab DNS"
kind = "dns"
owner = "ana@demo.test"
backup_owner = "ben@demo.test"
credential = "1Password: Launch/DNS"
two_factor = true

[[access]]
service = "Lab hosting"
kind = "hosting"
owner = "ana@demo.test"
backup_owner = "ben@demo.test"
credential = "1Password: Launch/Hosting"
two_factor = true

[[access]]
service = "Lab mail"
kind = "email"
owner = "ben@demo.test"
backup_owner = "ana@demo.test"
credential = "vault: secret/mail"
two_factor = true
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_handover_is_filled_from_real_facts_and_gaps_are_findings() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(
        project.join(".env"),
        "STRIPE_SECRET_KEY=sk_test_placeholder\n",
    )
    .unwrap();
    std::fs::write(
        project.join("app.js"),
        "const key = process.env.STRIPE_SECRET_KEY;\n",
    )
    .unwrap();
    let manifest = dir.path().join("launchready.toml");
    std::fs::write(
        &manifest,
        format!("{}{GAPPY_ACCESS}", scenarios::DEMO_MANIFEST),
    )
    .unwrap();
    let lab = Lab::start(scenarios::demo()).await.unwrap();

    let mut args = strings(&["handover", "--project", "project", "--check"]);
    args.extend(lab_flags(&lab));
    let out = run(dir.path(), BIN, args).await;
    assert_eq!(out.code, 1, "gaps fail --check: {}", out.stderr);
    for id in [
        "handover.access.single_owner",
        "handover.access.no_2fa",
        "handover.access.undocumented",
    ] {
        assert!(out.stderr.contains(id), "no {id} in {}", out.stderr);
    }
    let md = std::fs::read_to_string(dir.path().join("handover.md")).unwrap();
    for needle in [
        "## Access inventory",
        "| Lab DNS | DNS provider | ana@demo.test | — |",
        "NS ns1.demo.test",
        "MX 10 mail.demo.test",
        "mail for demo.test is delivered to mail.demo.test",
        "SPF: the servers allowed to send mail as demo.test, including those of _spf.mailer.test",
        "`STRIPE_SECRET_KEY`",
        "### Add a subdomain",
        "`include:_spf.mailer.test`",
        "`_dmarc.demo.test`",
        "### Rotate a leaked key",
        "Stripe dashboard",
        "### Move hosting or CDN",
        "### Renew a certificate",
        "Run `./scripts/rollback.sh`",
        "## Monitoring",
        "No notification channels",
        "## Incident note",
        "the same note `launchready incident-note` prints",
        "To roll back: `./scripts/rollback.sh`.",
        "### Fix now",
        "### Can wait",
        "- [ ] Log in to Lab DNS",
        "launchready 0.1.0",
    ] {
        assert!(md.contains(needle), "no `{needle}` in:\n{md}");
    }
    assert!(!md.contains("sk_test_placeholder"), "a value leaked");
    let html = std::fs::read_to_string(dir.path().join("handover.html")).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("<h2>DNS map</h2>"));
    assert!(
        !html.contains("<script") && !html.contains("<link") && !html.contains(" src="),
        "the page must be self-contained"
    );
    screenshot(dir.path(), &dir.path().join("handover.html")).await;

    // Offline: the same document from a saved facts file, and a complete inventory passes --check.
    let mut args = strings(&[
        "audit",
        "--save-facts",
        "facts.json",
        "-f",
        "json",
        "-o",
        "audit.json",
    ]);
    args.extend(lab_flags(&lab));
    let out = run(dir.path(), BIN, args).await;
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    drop(lab);
    std::fs::write(
        &manifest,
        format!("{}{FULL_ACCESS}", scenarios::DEMO_MANIFEST),
    )
    .unwrap();
    let out = run(
        dir.path(),
        BIN,
        strings(&[
            "handover",
            "--facts",
            "facts.json",
            "--check",
            "-o",
            "offline.md",
        ]),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("0 gap(s)"), "{}", out.stderr);
    let md = std::fs::read_to_string(dir.path().join("offline.md")).unwrap();
    assert!(
        md.contains("| DNS provider | nameservers ns1.demo.test, ns2.demo.test |"),
        "{md}"
    );
    assert!(md.contains("None: every service has an owner"), "{md}");
    assert!(dir.path().join("offline.html").is_file());
}

/// Renders the page in headless Chromium. A missing browser skips this locally but fails in CI.
async fn screenshot(dir: &Path, page: &Path) {
    let chromium = ["chromium", "chromium-browser"].into_iter().find(|name| {
        Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(chromium) = chromium else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "chromium is not installed, and CI=true needs the handover screenshot"
        );
        eprintln!("chromium is not installed: skipping the screenshot");
        return;
    };
    let profile = tempfile::tempdir().unwrap();
    let shot = dir.join("handover.png");
    let out = run(
        dir,
        chromium,
        vec![
            "--headless".into(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            format!("--user-data-dir={}", profile.path().display()),
            "--window-size=1200,2400".into(),
            format!("--screenshot={}", shot.display()),
            format!("file://{}", page.display()),
        ],
    )
    .await;
    assert_eq!(out.code, 0, "chromium: {}", out.stderr);
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    assert!(png.len() > 10_000, "a blank page? {} bytes", png.len());
    // Keep a copy where a person can look at it.
    let keep = Path::new(env!("CARGO_TARGET_TMPDIR")).join("handover-demo.png");
    std::fs::copy(&shot, &keep).unwrap();
    eprintln!("screenshot: {}", keep.display());
}
