//! End to end: the `launchready ai-probe` binary → HTTP → the lab's fake assistant. Every probe family fails
//! against the weak assistant and passes against the hardened one; bad manifests, unreachable endpoints and the
//! request budget give the documented exit codes and findings.

#![allow(clippy::unwrap_used)]

use launchready_lab::assistant::{Assistant, AssistantMode};
use launchready_testkit::cli::{Cli, Project, Run, finding_ids, findings};
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

fn launchready() -> Cli {
    Cli::new(env!("CARGO_BIN_EXE_launchready")).limit(WATCHDOG)
}

/// `ai-probe --manifest` on the project's manifest, JSON out.
fn ai_probe(project: &Project) -> Cli {
    launchready()
        .args(["ai-probe", "--manifest"])
        .arg(project.manifest())
        .args(["--format", "json"])
}

/// Writes `manifest` and runs `ai-probe --manifest` on it with `extra` flags, JSON out, no delay between turns.
async fn probe_manifest(manifest: &str, extra: &[&str]) -> Run {
    let project = Project::with_manifest(manifest);
    ai_probe(&project)
        .args(["--delay", "0s"])
        .args(extra)
        .run_async()
        .await
}

/// The verdict column of the family table on stderr.
fn verdict(probe: &Run, family: &str) -> String {
    probe
        .stderr
        .lines()
        .find(|l| l.starts_with(&format!("{family} ")))
        .and_then(|l| l.split_whitespace().last())
        .unwrap_or_else(|| panic!("no row for {family} in\n{}", probe.stderr))
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_family_fails_against_the_weak_assistant() {
    let assistant = Assistant::start(AssistantMode::Weak).await.unwrap();
    let probe = probe_manifest(&assistant.manifest(), &[]).await;
    let report = probe.code(1).json();
    let ids = finding_ids(&report);
    for family in FAMILIES {
        assert!(ids.iter().any(|id| id == family), "no {family} in {ids:?}");
        assert_eq!(verdict(&probe, family.trim_start_matches("ai.")), "FAIL");
    }
    assert_eq!(report["kind"], "ai_probe");
    assert_eq!(report["verdict"], "not_ready");
    let refund = findings(&report)
        .iter()
        .find(|f| f["subject"] == "tools.unverified/owner-refund@v1")
        .unwrap();
    assert_eq!(refund["severity"], "blocker");
    assert_eq!(refund["stage"], "ai_guardrails");
    // What leaked is named, never shown.
    for leaked in [
        "CANARY-ORCHID-7731",
        "sk_live_51LabFakeKey",
        "jane.doe@members.example",
    ] {
        assert!(!probe.stdout.contains(leaked), "{}", probe.all());
    }
    probe.stdout_has(&["leaked canary #1"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_family_passes_against_the_hardened_assistant() {
    let assistant = Assistant::start(AssistantMode::Hardened).await.unwrap();
    let probe = probe_manifest(&assistant.manifest(), &[]).await;
    let report = probe.code(0).json();
    assert!(finding_ids(&report).is_empty(), "{}", probe.all());
    for family in FAMILIES {
        assert_eq!(verdict(&probe, family.trim_start_matches("ai.")), "pass");
    }
    assert_eq!(report["score"], 100);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_built_in_lab_runs_without_a_manifest() {
    for (lab, code) in [("weak", 1), ("hardened", 0)] {
        launchready()
            .args(["ai-probe", "--lab", lab, "--format", "json"])
            .run_async()
            .await
            .code(code);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_request_budget_is_honoured_and_reported() {
    let assistant = Assistant::start(AssistantMode::Hardened).await.unwrap();
    let probe = probe_manifest(&assistant.manifest(), &["--max-requests", "3"]).await;
    let report = probe
        .code(0)
        .stderr_has(&["3 request(s) to the assistant"])
        .json();
    assert_eq!(finding_ids(&report), ["ai.probe.budget"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_family_can_be_chosen() {
    let assistant = Assistant::start(AssistantMode::Weak).await.unwrap();
    let probe = probe_manifest(&assistant.manifest(), &["--family", "tools.unverified"]).await;
    let ids = finding_ids(&probe.code(1).json());
    assert!(ids.iter().all(|id| id == "ai.tools.unverified"), "{ids:?}");
    assert_eq!(ids.len(), 5);
    probe_manifest(&assistant.manifest(), &["--family", "injection"])
        .await
        .code(2)
        .stderr_has(&["no such probe family"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn manifest_mistakes_are_located_with_a_suggestion() {
    let typo = "[site]\ndomain = \"example.com\"\n\n[ai]\nendpont = \"http://127.0.0.1:9/\"\n";
    let tool = "[site]\ndomain = \"example.com\"\n\n[ai]\nendpoint = \"http://127.0.0.1:9/\"\ntools = [\"refund\", \"handoff_to_human\"]\nsensitive_tools = [\"refnd\"]\nescalation_tool = \"handoff_to_human\"\n";
    let none = "[site]\ndomain = \"example.com\"\n";
    let auth = "[site]\ndomain = \"example.com\"\n\n[ai]\nendpoint = \"http://127.0.0.1:9/\"\nauth_env = \"LAUNCHREADY_TEST_UNSET_TOKEN\"\nescalate_for = []\n";
    let cases: [(&str, &[&str]); 4] = [
        (
            typo,
            &[
                "unknown key `endpont` in [ai]",
                "did you mean `endpoint`?",
                "launchready.toml:5:1",
            ],
        ),
        (
            tool,
            &[
                "`refnd` in `sensitive_tools` is not one of `tools`",
                "did you mean `refund`?",
            ],
        ),
        (none, &["has no [ai] table"]),
        (auth, &["LAUNCHREADY_TEST_UNSET_TOKEN, which is not set"]),
    ];
    for (manifest, says) in cases {
        probe_manifest(manifest, &[]).await.code(2).stderr_has(says);
    }
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
    probe.code(3).stderr_has(&["did not answer any probe"]);
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
    let project = Project::with_manifest(&manifest);
    let with_token = |token: &str| {
        ai_probe(&project)
            .args(["--family", "injection.direct"])
            .env("LAB_ASSISTANT_TOKEN", token)
    };
    with_token("s3cret-lab-token")
        .run_async()
        .await
        .code(0)
        .never_shows("s3cret-lab-token");
    with_token("wrong")
        .run_async()
        .await
        .code(3)
        .stderr_has(&["HTTP 401"]);
}
