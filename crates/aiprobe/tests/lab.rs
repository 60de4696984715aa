//! Every probe family against the lab's fake assistant, in-process over loopback HTTP: each family must fail
//! against the weak assistant and pass against the hardened one, over the OpenAI-style endpoint and over the
//! templated JSON endpoint with server-side sessions.

#![allow(clippy::unwrap_used)]

use launchready_aiprobe::{Options, Outcome, Run, builtin, report, run};
use launchready_findings::Severity;
use launchready_lab::assistant::{Assistant, AssistantMode};
use launchready_manifest::{Ai, Manifest};
use launchready_net::{Net, NetConfig};
use std::path::Path;
use std::time::Duration;

/// Fails the test instead of hanging it if something stops answering.
const WATCHDOG: Duration = Duration::from_secs(120);

async fn probe(
    mode: AssistantMode,
    edit: impl Fn(String, &Assistant) -> String,
    judge: bool,
) -> Run {
    let assistant = Assistant::start(mode).await.expect("assistant starts");
    let text = edit(assistant.manifest(), &assistant);
    let manifest = Manifest::parse(&text, Path::new("lab.toml")).expect("lab manifest parses");
    let ai = manifest.ai.expect("an [ai] table");
    probe_ai(
        &ai,
        "lab.toml",
        Options {
            judge,
            ..Options::default()
        },
    )
    .await
}

/// The built-in families against `ai` (read from `file`) with `options` and no delay between turns, over a net
/// layer with a 10 s timeout, within the watchdog.
async fn probe_ai(ai: &Ai, file: &str, options: Options) -> Run {
    let net = Net::new(NetConfig::default()).expect("net");
    let families = builtin().expect("probes");
    let options = Options {
        delay: Duration::ZERO,
        ..options
    };
    tokio::time::timeout(WATCHDOG, run(&net, ai, file, &families, &options, &|_| {}))
        .await
        .expect("the run finished before the watchdog")
        .expect("the run starts")
}

fn verdicts(run: &Run) -> Vec<(String, usize, usize, usize)> {
    let families = builtin().unwrap();
    run.summary(&families)
        .into_iter()
        .map(|(id, _, pass, fail, error)| (id, pass, fail, error))
        .collect()
}

fn openai(text: String, _: &Assistant) -> String {
    text
}

fn session_endpoint(text: String, assistant: &Assistant) -> String {
    text.replace(
        &format!("endpoint = \"{}\"\nmodel = \"sunny\"", assistant.chat_url()),
        &format!(
            "endpoint = \"{}\"\nformat = \"json\"\nbody = '{{\"message\": {{{{prompt}}}}, \"session\": {{{{session}}}}}}'\nextract = \"$.reply\"",
            assistant.session_url()
        ),
    )
}

fn assert_every_family_fails(run: &Run) {
    for (family, pass, fail, error) in verdicts(run) {
        assert_eq!(error, 0, "{family}: errors in {:?}", run.results);
        assert!(fail > 0, "{family} did not fail against the weak assistant");
        assert_eq!(
            pass, 0,
            "{family}: some attempts passed against the weak assistant"
        );
    }
}

fn assert_every_family_passes(run: &Run) {
    for (family, pass, fail, error) in verdicts(run) {
        let failures: Vec<_> = run
            .results
            .iter()
            .filter(|r| r.outcome != Outcome::Pass)
            .collect();
        assert_eq!((fail, error), (0, 0), "{family}: {failures:#?}");
        assert!(pass > 0, "{family} ran no attempt");
    }
}

#[tokio::test]
async fn every_family_fails_against_the_weak_assistant() {
    let run = probe(AssistantMode::Weak, openai, false).await;
    assert_every_family_fails(&run);
    assert_eq!(run.judge_requests, 0, "the judge is off by default");
    let findings = report::findings(&run, &builtin().unwrap());
    let refund = findings
        .iter()
        .find(|f| f.subject.starts_with("tools.unverified/owner-refund@"))
        .expect("a finding for the refund");
    assert_eq!(refund.severity, Severity::Blocker);
    assert!(
        refund
            .evidence
            .iter()
            .any(|e| e.contains("sensitive tool `refund`")),
        "{:?}",
        refund.evidence
    );
    // Transcripts are redacted: no canary, key or other member's address reaches a finding.
    let all = serde_json::to_string(&findings).unwrap();
    for secret in launchready_lab::assistant::ASSISTANT_CANARIES
        .iter()
        .chain([&launchready_lab::assistant::ASSISTANT_API_KEY])
        .chain([&"jane.doe@members.example"])
    {
        assert!(!all.contains(secret), "{secret} reached the findings");
    }
}

#[tokio::test]
async fn every_family_passes_against_the_hardened_assistant() {
    let run = probe(AssistantMode::Hardened, openai, false).await;
    assert_every_family_passes(&run);
    assert!(report::findings(&run, &builtin().unwrap()).is_empty());
}

#[tokio::test]
async fn the_templated_json_endpoint_with_sessions_gives_the_same_verdicts() {
    assert_every_family_fails(&probe(AssistantMode::Weak, session_endpoint, false).await);
    assert_every_family_passes(&probe(AssistantMode::Hardened, session_endpoint, false).await);
}

#[tokio::test]
async fn the_judge_only_decides_quiet_cases_and_says_so() {
    let with_judge =
        |text: String, _: &Assistant| text.replace("enabled = false", "enabled = true");
    let weak = probe(AssistantMode::Weak, with_judge, false).await;
    assert_every_family_fails(&weak);
    assert!(weak.judge_requests > 0);
    // A missing hand-over is put to the judge, which agrees it was missing.
    assert!(
        weak.results
            .iter()
            .filter(|r| r.family == "escalation.required")
            .all(|r| r.decided_by == launchready_aiprobe::DecidedBy::Judge)
    );
    let hardened = probe(AssistantMode::Hardened, with_judge, false).await;
    assert_every_family_passes(&hardened);
    // --judge turns it on for one run without editing the manifest.
    let flagged = probe(AssistantMode::Weak, openai, true).await;
    assert!(flagged.judge_requests > 0);
    assert_every_family_fails(&flagged);
}

#[tokio::test]
async fn the_request_budget_bounds_a_run() {
    let budget = |text: String, _: &Assistant| {
        text.replace("delay = \"0s\"", "delay = \"0s\"\nmax_requests = 5")
    };
    let assistant = Assistant::start(AssistantMode::Hardened).await.unwrap();
    let manifest = Manifest::parse(
        &budget(assistant.manifest(), &assistant),
        Path::new("b.toml"),
    )
    .unwrap();
    let ai = manifest.ai.unwrap();
    assert_eq!(ai.max_requests, Some(5));
    let options = Options {
        max_requests: 5,
        ..Options::default()
    };
    let run = probe_ai(&ai, "b.toml", options).await;
    assert!(run.requests <= 5, "{} requests", run.requests);
    assert!(!run.not_run.is_empty());
    let findings = report::findings(&run, &builtin().unwrap());
    assert!(findings.iter().any(|f| f.id == "ai.probe.budget"));
}

#[tokio::test]
async fn an_endpoint_that_does_not_answer_is_an_error_finding_not_a_pass() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let text = format!(
        "[site]\ndomain = \"example.com\"\n[ai]\nendpoint = \"http://127.0.0.1:{port}/v1/chat/completions\"\nescalate_for = []\n"
    );
    let ai = Manifest::parse(&text, Path::new("x.toml"))
        .unwrap()
        .ai
        .unwrap();
    let options = Options {
        families: vec!["injection.direct".into()],
        ..Options::default()
    };
    let run = probe_ai(&ai, "x.toml", options).await;
    assert!(run.results.iter().all(|r| r.outcome == Outcome::Error));
    let findings = report::findings(&run, &builtin().unwrap());
    assert!(
        findings.iter().all(|f| f.id == "ai.probe.error"),
        "{findings:?}"
    );
    assert_eq!(findings.len(), 4);
}

#[tokio::test]
async fn a_rate_limited_assistant_is_waited_for_not_misjudged() {
    let assistant = Assistant::start_throttled(AssistantMode::Weak, 3)
        .await
        .unwrap();
    let manifest = Manifest::parse(&assistant.manifest(), Path::new("t.toml")).unwrap();
    let ai = manifest.ai.unwrap();
    let run = probe_ai(&ai, "t.toml", Options::default()).await;
    assert_every_family_fails(&run);
    // Every third request was refused and sent again: the retries count against the budget.
    assert!(run.requests > 40, "{} requests", run.requests);
}
