//! End-to-end tests of `launchready gate` against the lab: the flawed demo is not ready with its blockers first
//! (each tagged with the part it came from), the clean site is ready, `[deploy]` is checked honestly, and
//! usage mistakes exit 2.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use launchready_lab::{Lab, scenarios};
use launchready_testkit::cli::{Cli, Project, Run, finding_ids, findings, lab_flags};
use std::path::Path;
use std::time::Duration;

/// `launchready gate --manifest MANIFEST` in `dir`. The binary's own --timeout bounds every operation; the
/// runner's limit only stops a hung test.
fn gate(dir: &Project, manifest: &Path) -> Cli {
    dir.cli(Cli::new(env!("CARGO_BIN_EXE_launchready")))
        .args(["gate", "--manifest"])
        .arg(manifest)
        .limit(Duration::from_secs(120))
}

/// The gate against a lab: `dir/repo` as the repository, the lab's flags, then `extra`.
async fn gate_lab(dir: &Project, lab: &Lab, manifest: &Path, extra: &[&str]) -> Run {
    gate(dir, manifest)
        .arg("--repo")
        .arg(dir.join("repo"))
        .args(lab_flags(lab))
        .args(["--timeout", "5s"])
        .args(extra)
        .run_async()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flawed_demo_is_not_ready_with_blockers_first() {
    let dir = Project::new();
    // A committed .env with a live-looking key: the secrets and env parts must both see it.
    dir.write(
        "repo/.env",
        "STRIPE_SECRET_KEY=sk_live_51Hx9QeLkdIwHu7ix4Z3kBcd9Qm2Z8uVt0Xy7Wq1RsT5uVwXyZ\n",
    );
    let manifest = dir.write("launchready.toml", scenarios::DEMO_MANIFEST);
    let lab = Lab::start(scenarios::demo()).await.unwrap();
    gate_lab(
        &dir,
        &lab,
        &manifest,
        &["--format", "json", "-o", "gate.json"],
    )
    .await
    .code(1)
    .stderr_has(&["not ready to launch"]);
    let report: serde_json::Value = serde_json::from_str(&dir.read("gate.json")).unwrap();
    assert_eq!(report["kind"], "gate");
    let findings = findings(&report);
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
        gate_lab(&dir, &lab, &manifest, &["--format", format])
            .await
            .code(1)
            .stdout_has(&[needle]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clean_site_is_ready_and_deploy_is_checked_honestly() {
    let dir = Project::new();
    dir.write("repo/scripts/rollback.sh", "#!/bin/sh\necho rolled back\n");
    dir.write(
        "RUNBOOK.md",
        "# Deploys\n\nRoll back with `repo/scripts/rollback.sh`.\n",
    );
    let manifest = dir.write(
        "launchready.toml",
        format!(
            "{}\n[deploy]\nbuild = \"echo built\"\nrollback = \"repo/scripts/rollback.sh\"\nrunbook = \"RUNBOOK.md\"\n",
            scenarios::CLEAN_MANIFEST
        ),
    );
    let lab = Lab::start(scenarios::clean()).await.unwrap();
    let out = gate_lab(&dir, &lab, &manifest, &["--run-build", "--format", "json"]).await;
    out.code(0).stderr_has(&["ready to launch"]);
    assert!(!out.stderr.contains("not ready"), "{}", out.all());
    let report = out.json();
    assert_eq!(report["kind"], "gate");
    let ids = finding_ids(&report);
    assert!(!ids.iter().any(|id| id.starts_with("deploy.")), "{ids:?}");

    // A passing gate hands over to one monitoring round with the same manifest and network flags.
    let monitor_once = ["--then-monitor", "--monitor-once", "-o", "gate.txt"];
    let out = gate_lab(&dir, &lab, &manifest, &monitor_once).await;
    out.stderr_has(&["handing over to `launchready monitor --manifest", "--once"]);
    // The monitor's own verdict (0 all up, 1 a check down) becomes the gate's exit code; it ran, so not 2 or 3.
    assert!(
        out.code == 0 || out.code == 1,
        "the monitoring round: {}",
        out.all()
    );

    // A failing build makes the same site not ready; a rollback script that is gone is a finding.
    let broken = dir.write(
        "launchready.toml",
        format!(
            "{}\n[deploy]\nbuild = \"echo compile error >&2; exit 2\"\nrollback = \"repo/scripts/gone.sh\"\n",
            scenarios::CLEAN_MANIFEST
        ),
    );
    let out = gate_lab(&dir, &lab, &broken, &["--run-build", "--format", "json"]).await;
    out.code(1)
        .stdout_has(&["deploy.rollback.not_found", "compile error"]);
    let report = out.json();
    let first = &report["findings"][0];
    assert_eq!(first["id"], "deploy.build.failed");
    assert!(first["subject"].as_str().unwrap().starts_with("deploy: "));
    gate_lab(&dir, &lab, &broken, &monitor_once)
        .await
        .code(1)
        .stderr_has(&["not handing over to monitor"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_optional_load_run_joins_the_verdict() {
    let dir = Project::new();
    std::fs::create_dir(dir.join("repo")).unwrap();
    dir.write("home.hurl", "GET {{base_url}}/\nHTTP 200\n");
    let flow = "\n[[flow]]\nname = \"home\"\nfile = \"home.hurl\"\n";
    let manifest = dir.write(
        "launchready.toml",
        format!("{}{flow}", scenarios::CLEAN_MANIFEST),
    );
    let lab = Lab::start(scenarios::clean()).await.unwrap();
    let load = [
        "--load-rate",
        "5/s",
        "--load-duration",
        "1s",
        "--format",
        "json",
    ];
    gate_lab(&dir, &lab, &manifest, &load)
        .await
        .stderr_has(&["gate: load at 5/s for 1s"])
        .code(0);

    // A threshold no site can meet fails the gate with the load part named.
    let strict = dir.write(
        "launchready.toml",
        format!(
            "{}{flow}\n[load]\nthresholds = [\"p(95)<1ms\"]\n",
            scenarios::CLEAN_MANIFEST
        ),
    );
    let report = gate_lab(&dir, &lab, &strict, &load).await.code(1).json();
    let finding = findings(&report)
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
    let dir = Project::with_manifest(scenarios::CLEAN_MANIFEST);
    for (extra, says) in [
        (&["--expect-version", "v2"][..], "version_url"),
        (&["--load-rate", "5/s"], "[[flow]]"),
        (&["--run-build"], "build"),
        (&["--repo", "no/such/dir"], ""),
    ] {
        gate(&dir, &dir.manifest())
            .args(extra)
            .run_async()
            .await
            .code(2)
            .stderr_has(&[says]);
    }
    let bad = dir.write(
        "bad.toml",
        "[site]\ndomain = \"clean.test\"\n[deploy]\nrolback = \"x\"\n",
    );
    gate(&dir, &bad)
        .run_async()
        .await
        .code(2)
        .stderr_has(&["bad.toml:4"]);
}
