//! End to end: the `launchready ai-probe` binary → HTTP → the lab's fake assistant. Every probe family fails
//! against the weak assistant and passes against the hardened one; bad manifests, unreachable endpoints and the
//! request budget give the documented exit codes and findings.

#![allow(clippy::unwrap_used)]

use launchready_lab::assistant::{Assistant, AssistantMode};
use serde_json::Value;
use std::process::{Command, Output};
use std::time::Duration;

const FAMILIES: [&str; 7] = [
    "ai.injection.direct",
    "ai.injection.indirect",
    "ai.extraction.system_prompt",
    "ai.leak.member_data",
    "ai.tools.unverified",
    "ai.jailbreak.role_play",
    "ai.escalation.required",
];

/// Fails the test instead of hanging it.
const WATCHDOG: Duration = Duration::from_secs(120);

struct Probe {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Probe {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}\n{}", self.stdout))
    }

    fn finding_ids(&self) -> Vec<String> {
        self.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect()
    }

    /// The verdict column of the family table on stderr.
    fn verdict(&self, family: &str) -> String {
        self.stderr
            .lines()
            .find(|l| l.starts_with(&format!("{family} ")))
            .and_then(|l| l.split_whitespace().last())
            .unwrap_or_else(|| panic!("no row for {family} in\n{}", self.stderr))
            .to_string()
    }
}

async fn launchready(args: Vec<String>) -> Probe {
    launchready_with_env(args, Vec::new()).await
}

async fn launchready_with_env(args: Vec<String>, env: Vec<(String, String)>) -> Probe {
    let run = tokio::task::spawn_blocking(move || -> Output {
        Command::new(env!("CARGO_BIN_EXE_launchready"))
            .args(&args)
            .envs(env)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    });
    let output = tokio::time::timeout(WATCHDOG, run)
        .await
        .expect("ai-probe finished before the watchdog")
        .unwrap();
    Probe {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Writes `manifest` and runs `ai-probe --manifest` on it with `extra` flags, JSON out.
async fn probe_manifest(manifest: &str, extra: &[&str]) -> Probe {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("launchready.toml");
    std::fs::write(&path, manifest).unwrap();
    let mut args: Vec<String> = [
        "ai-probe",
        "--manifest",
        path.to_str().unwrap(),
        "--format",
        "json",
        "--delay",
        "0s",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    let probe = launchready(args).await;
    drop(dir);
    probe
}

#[tokio::test(flavor = "multi_thread")]
async fn every_family_fails_against_the_weak_assistant() {
    let assistant = Assistant::start(AssistantMode::Weak).await.unwrap();
    let probe = probe_manifest(&assistant.manifest(), &[]).await;
    assert_eq!(probe.code, 1, "{}", probe.stderr);
    let ids = probe.finding_ids();
    for family in FAMILIES {
        assert!(ids.iter().any(|id| id == family), "no {family} in {ids:?}");
        assert_eq!(probe.verdict(family.trim_start_matches("ai.")), "FAIL");
    }
    let report = probe.json();
    assert_eq!(report["kind"], "ai_probe");
    assert_eq!(report["verdict"], "not_ready");
    let refund = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["subject"] == "tools.unverified/owner-refund@v1")
        .unwrap();
    assert_eq!(refund["severity"], "blocker");
    assert_eq!(refund["stage"], "ai_guardrails");
    // What leaked is named, never shown.
    assert!(!probe.stdout.contains("CANARY-ORCHID-7731"));
    assert!(!probe.stdout.contains("sk_live_51LabFakeKey"));
    assert!(!probe.stdout.contains("jane.doe@members.example"));
    assert!(probe.stdout.contains("leaked canary #1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_family_passes_against_the_hardened_assistant() {
    let assistant = Assistant::start(AssistantMode::Hardened).await.unwrap();
    let probe = probe_manifest(&assistant.manifest(), &[]).await;
    assert_eq!(probe.code, 0, "{}\n{}", probe.stderr, probe.stdout);
    assert!(probe.finding_ids().is_empty(), "{}", probe.stdout);
    for family in FAMILIES {
        assert_eq!(probe.verdict(family.trim_start_matches("ai.")), "pass");
    }
    assert_eq!(probe.json()["score"], 100);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_built_in_lab_runs_without_a_manifest() {
    let weak = launchready(vec![
        "ai-probe".into(),
        "--lab".into(),
        "weak".into(),
        "--format".into(),
        "json".into(),
    ])
    .await;
    assert_eq!(weak.code, 1, "{}", weak.stderr);
    let hardened = launchready(vec![
        "ai-probe".into(),
        "--lab".into(),
        "hardened".into(),
        "--format".into(),
        "json".into(),
    ])
    .await;
    assert_eq!(hardened.code, 0, "{}", hardened.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_request_budget_is_honoured_and_reported() {
    let assistant = Assistant::start(AssistantMode::Hardened).await.unwrap();
    let probe = probe_manifest(&assistant.manifest(), &["--max-requests", "3"]).await;
    assert_eq!(probe.code, 0, "{}", probe.stderr);
    assert!(
        probe.stderr.contains("3 request(s) to the assistant"),
        "{}",
        probe.stderr
    );
    assert_eq!(probe.finding_ids(), ["ai.probe.budget"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_family_can_be_chosen() {
    let assistant = Assistant::start(AssistantMode::Weak).await.unwrap();
    let probe = probe_manifest(&assistant.manifest(), &["--family", "tools.unverified"]).await;
    assert_eq!(probe.code, 1);
    let ids = probe.finding_ids();
    assert!(ids.iter().all(|id| id == "ai.tools.unverified"), "{ids:?}");
    assert_eq!(ids.len(), 5);
    let bad = probe_manifest(&assistant.manifest(), &["--family", "injection"]).await;
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("no such probe family"),
        "{}",
        bad.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn manifest_mistakes_are_located_with_a_suggestion() {
    let typo = "[site]\ndomain = \"example.com\"\n\n[ai]\nendpont = \"http://127.0.0.1:9/\"\n";
    let probe = probe_manifest(typo, &[]).await;
    assert_eq!(probe.code, 2);
    assert!(
        probe.stderr.contains("unknown key `endpont` in [ai]"),
        "{}",
        probe.stderr
    );
    assert!(
        probe.stderr.contains("did you mean `endpoint`?"),
        "{}",
        probe.stderr
    );
    assert!(
        probe.stderr.contains("launchready.toml:5:1"),
        "{}",
        probe.stderr
    );

    let tool = "[site]\ndomain = \"example.com\"\n\n[ai]\nendpoint = \"http://127.0.0.1:9/\"\ntools = [\"refund\", \"handoff_to_human\"]\nsensitive_tools = [\"refnd\"]\nescalation_tool = \"handoff_to_human\"\n";
    let probe = probe_manifest(tool, &[]).await;
    assert_eq!(probe.code, 2);
    assert!(
        probe
            .stderr
            .contains("`refnd` in `sensitive_tools` is not one of `tools`"),
        "{}",
        probe.stderr
    );
    assert!(
        probe.stderr.contains("did you mean `refund`?"),
        "{}",
        probe.stderr
    );

    let none = "[site]\ndomain = \"example.com\"\n";
    let probe = probe_manifest(none, &[]).await;
    assert_eq!(probe.code, 2);
    assert!(
        probe.stderr.contains("has no [ai] table"),
        "{}",
        probe.stderr
    );

    let auth = "[site]\ndomain = \"example.com\"\n\n[ai]\nendpoint = \"http://127.0.0.1:9/\"\nauth_env = \"LAUNCHREADY_TEST_UNSET_TOKEN\"\nescalate_for = []\n";
    let probe = probe_manifest(auth, &[]).await;
    assert_eq!(probe.code, 2);
    assert!(
        probe
            .stderr
            .contains("LAUNCHREADY_TEST_UNSET_TOKEN, which is not set"),
        "{}",
        probe.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_assistant_that_never_answers_could_not_be_probed() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let manifest = format!(
        "[site]\ndomain = \"example.com\"\n\n[ai]\nendpoint = \"http://127.0.0.1:{port}/v1/chat/completions\"\nescalate_for = []\n"
    );
    let probe = probe_manifest(&manifest, &["--family", "injection.direct"]).await;
    assert_eq!(probe.code, 3, "{}", probe.stderr);
    assert!(
        probe.stderr.contains("did not answer any probe"),
        "{}",
        probe.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_is_read_from_the_environment_variable_the_manifest_names() {
    let assistant =
        Assistant::start_with_token(AssistantMode::Hardened, Some("s3cret-lab-token".into()))
            .await
            .unwrap();
    let manifest = assistant.manifest().replace(
        "model = \"sunny\"",
        "model = \"sunny\"\nauth_env = \"LAB_ASSISTANT_TOKEN\"",
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("launchready.toml");
    std::fs::write(&path, manifest).unwrap();
    let args: Vec<String> = [
        "ai-probe",
        "--manifest",
        path.to_str().unwrap(),
        "--format",
        "json",
        "--family",
        "injection.direct",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let ok = launchready_with_env(
        args.clone(),
        vec![("LAB_ASSISTANT_TOKEN".into(), "s3cret-lab-token".into())],
    )
    .await;
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(!ok.stdout.contains("s3cret-lab-token"));
    let wrong =
        launchready_with_env(args, vec![("LAB_ASSISTANT_TOKEN".into(), "wrong".into())]).await;
    assert_eq!(wrong.code, 3, "{}", wrong.stderr);
    assert!(wrong.stderr.contains("HTTP 401"), "{}", wrong.stderr);
}
