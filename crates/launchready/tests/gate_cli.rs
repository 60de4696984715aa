//! End-to-end tests of `launchready gate` against the lab: the flawed demo is not ready with its blockers first
//! (each tagged with the part it came from), the clean site is ready, `[deploy]` is checked honestly, and
//! usage mistakes exit 2.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use launchready_lab::{Lab, scenarios};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_launchready");

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn run(dir: &Path, args: Vec<String>) -> Out {
    let dir = dir.to_path_buf();
    let task = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    });
    // The binary's own --timeout bounds every operation; this only stops a hung test.
    let out = tokio::time::timeout(Duration::from_secs(120), task)
        .await
        .expect("launchready gate did not finish within 120 s")
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The gate's arguments for a lab: the manifest, an empty repository, the lab's flags, then `extra`.
fn args(lab: &Lab, manifest: &Path, repo: &Path, extra: &[&str]) -> Vec<String> {
    let mut list = vec![
        "gate".to_string(),
        "--manifest".into(),
        manifest.display().to_string(),
        "--repo".into(),
        repo.display().to_string(),
        "--resolver".into(),
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
    list.extend(extra.iter().map(|s| (*s).to_string()));
    list
}

fn write_manifest(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("launchready.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flawed_demo_is_not_ready_with_blockers_first() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    // A committed .env with a live-looking key: the secrets and env parts must both see it.
    std::fs::write(
        repo.join(".env"),
        "STRIPE_SECRET_KEY=sk_live_51Hx9QeLkdIwHu7ix4Z3kBcd9Qm2Z8uVt0Xy7Wq1RsT5uVwXyZ\n",
    )
    .unwrap();
    let manifest = write_manifest(dir.path(), scenarios::DEMO_MANIFEST);
    let lab = Lab::start(scenarios::demo()).await.unwrap();
    let out = run(
        dir.path(),
        args(
            &lab,
            &manifest,
            &repo,
            &["--format", "json", "-o", "gate.json"],
        ),
    )
    .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("not ready to launch"), "{}", out.stderr);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("gate.json")).unwrap())
            .unwrap();
    assert_eq!(report["kind"], "gate");
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings[0]["severity"], "blocker", "blockers first");
    let subjects: Vec<&str> = findings
        .iter()
        .map(|f| f["subject"].as_str().unwrap())
        .collect();
    for part in ["audit: ", "secrets: ", "env: ", "deploy: "] {
        assert!(
            subjects.iter().any(|s| s.starts_with(part)),
            "no finding from `{part}` in {subjects:?}"
        );
    }
    // The demo accepts one finding in [[ignore]]: it is kept, suppressed, with its reason.
    let accepted = findings
        .iter()
        .find(|f| f["id"] == "tls.cert.expiring" && !f["suppressed"].is_null())
        .expect("the accepted finding is kept");
    assert_eq!(accepted["subject"], "audit: api.demo.test");
    assert!(
        accepted["suppressed"]["reason"]
            .as_str()
            .unwrap()
            .contains("renewed")
    );
    let categories: Vec<&str> = report["score_breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["category"].as_str().unwrap())
        .collect();
    assert!(
        categories.contains(&"secrets") && categories.contains(&"deploy"),
        "{categories:?}"
    );

    // The same gate in JUnit and SARIF: one report, every format.
    for (format, needle) in [
        ("junit", "<testsuites"),
        ("sarif", "\"version\": \"2.1.0\""),
    ] {
        let out = run(
            dir.path(),
            args(&lab, &manifest, &repo, &["--format", format]),
        )
        .await;
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(out.stdout.contains(needle), "{format}: {}", out.stdout);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clean_site_is_ready_and_deploy_is_checked_honestly() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join("scripts")).unwrap();
    std::fs::write(
        repo.join("scripts/rollback.sh"),
        "#!/bin/sh\necho rolled back\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("RUNBOOK.md"),
        "# Deploys\n\nRoll back with `repo/scripts/rollback.sh`.\n",
    )
    .unwrap();
    let manifest = write_manifest(
        dir.path(),
        &format!(
            "{}\n[deploy]\nbuild = \"echo built\"\nrollback = \"repo/scripts/rollback.sh\"\nrunbook = \"RUNBOOK.md\"\n",
            scenarios::CLEAN_MANIFEST
        ),
    );
    let lab = Lab::start(scenarios::clean()).await.unwrap();
    let out = run(
        dir.path(),
        args(&lab, &manifest, &repo, &["--run-build", "--format", "json"]),
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stderr, out.stdout);
    assert!(out.stderr.contains("ready to launch"), "{}", out.stderr);
    assert!(!out.stderr.contains("not ready"), "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["kind"], "gate");
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(!ids.iter().any(|id| id.starts_with("deploy.")), "{ids:?}");

    // A passing gate hands over to one monitoring round with the same manifest and network flags.
    let out = run(
        dir.path(),
        args(
            &lab,
            &manifest,
            &repo,
            &["--then-monitor", "--monitor-once", "-o", "gate.txt"],
        ),
    )
    .await;
    assert!(
        out.stderr
            .contains("handing over to `launchready monitor --manifest"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--once"), "{}", out.stderr);
    // The monitor's own verdict (0 all up, 1 a check down) becomes the gate's exit code; it ran, so not 2 or 3.
    assert!(
        out.code == 0 || out.code == 1,
        "the monitoring round: {}\n{}",
        out.stderr,
        out.stdout
    );

    // A failing build makes the same site not ready; a rollback script that is gone is a finding.
    let broken = write_manifest(
        dir.path(),
        &format!(
            "{}\n[deploy]\nbuild = \"echo compile error >&2; exit 2\"\nrollback = \"repo/scripts/gone.sh\"\n",
            scenarios::CLEAN_MANIFEST
        ),
    );
    let out = run(
        dir.path(),
        args(&lab, &broken, &repo, &["--run-build", "--format", "json"]),
    )
    .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let first = &report["findings"][0];
    assert_eq!(first["id"], "deploy.build.failed");
    assert!(first["subject"].as_str().unwrap().starts_with("deploy: "));
    assert!(out.stdout.contains("deploy.rollback.not_found"));
    assert!(out.stdout.contains("compile error"));
    let out = run(
        dir.path(),
        args(
            &lab,
            &broken,
            &repo,
            &["--then-monitor", "--monitor-once", "-o", "gate.txt"],
        ),
    )
    .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("not handing over to monitor"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_optional_load_run_joins_the_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    std::fs::write(
        dir.path().join("home.hurl"),
        "GET {{base_url}}/\nHTTP 200\n",
    )
    .unwrap();
    let flow = "\n[[flow]]\nname = \"home\"\nfile = \"home.hurl\"\n";
    let manifest = write_manifest(dir.path(), &format!("{}{flow}", scenarios::CLEAN_MANIFEST));
    let lab = Lab::start(scenarios::clean()).await.unwrap();
    let load = [
        "--load-rate",
        "5/s",
        "--load-duration",
        "1s",
        "--format",
        "json",
    ];
    let out = run(dir.path(), args(&lab, &manifest, &repo, &load)).await;
    assert!(
        out.stderr.contains("gate: load at 5/s for 1s"),
        "{}",
        out.stderr
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stderr, out.stdout);

    // A threshold no site can meet fails the gate with the load part named.
    let strict = write_manifest(
        dir.path(),
        &format!(
            "{}{flow}\n[load]\nthresholds = [\"p(95)<1ms\"]\n",
            scenarios::CLEAN_MANIFEST
        ),
    );
    let out = run(dir.path(), args(&lab, &strict, &repo, &load)).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "load.thresholds")
        .expect("a load finding");
    assert!(finding["subject"].as_str().unwrap().starts_with("load: "));
    assert!(
        report["score_breakdown"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["category"] == "load")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_mistakes_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_manifest(dir.path(), scenarios::CLEAN_MANIFEST);
    let list = |extra: &[&str]| -> Vec<String> {
        ["gate", "--manifest", manifest.to_str().unwrap()]
            .iter()
            .chain(extra)
            .map(|s| (*s).to_string())
            .collect()
    };
    let out = run(dir.path(), list(&["--expect-version", "v2"])).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("version_url"), "{}", out.stderr);
    let out = run(dir.path(), list(&["--load-rate", "5/s"])).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("[[flow]]"), "{}", out.stderr);
    let out = run(dir.path(), list(&["--run-build"])).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("build"), "{}", out.stderr);
    let out = run(dir.path(), list(&["--repo", "no/such/dir"])).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[site]\ndomain = \"clean.test\"\n[deploy]\nrolback = \"x\"\n",
    )
    .unwrap();
    let out = run(
        dir.path(),
        vec![
            "gate".into(),
            "--manifest".into(),
            bad.display().to_string(),
        ],
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("bad.toml:4"), "{}", out.stderr);
}
