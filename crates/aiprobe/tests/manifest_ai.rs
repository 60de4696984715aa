//! The manifest's `[ai]` table: what it defaults to, and every mistake reported at its place with a suggestion.

#![allow(clippy::unwrap_used)]

use launchready_manifest::{AiFormat, EscalationTrigger, Extract, Manifest, NeverReveal};
use std::path::Path;

const HEAD: &str = "[site]\ndomain = \"example.com\"\n\n[ai]\n";

fn parse(ai: &str) -> Result<Manifest, String> {
    Manifest::parse(&format!("{HEAD}{ai}"), Path::new("launchready.toml"))
        .map_err(|e| e.to_string())
}

/// `ai` must be rejected with every fragment of `expected` in the message.
fn check_error(ai: &str, expected: &[&str]) {
    let error = parse(ai).expect_err("the manifest should be rejected");
    for fragment in expected {
        assert!(
            error.contains(fragment),
            "missing {fragment:?} in:\n{error}"
        );
    }
}

#[test]
fn a_bare_endpoint_gets_the_openai_defaults() {
    let ai = parse("endpoint = \"https://bot.example.com/v1/chat/completions\"\nescalation_tool = \"handoff\"\n")
        .unwrap()
        .ai
        .unwrap();
    assert_eq!(ai.format, AiFormat::OpenAi);
    assert_eq!(
        ai.extract,
        Extract::JsonPath("$.choices[0].message.content".into())
    );
    assert_eq!(ai.never_reveal, NeverReveal::ALL.to_vec());
    assert_eq!(ai.escalate_for, EscalationTrigger::ALL.to_vec());
    assert!(ai.judge.is_none() && ai.auth.is_none());
    assert!(parse("").is_err(), "endpoint is required");
    assert!(
        Manifest::parse(HEAD.trim_end_matches("\n[ai]\n"), Path::new("x.toml"))
            .unwrap()
            .ai
            .is_none()
    );
}

#[test]
fn a_full_table_is_read_as_written() {
    let ai = parse(concat!(
        "endpoint = \"http://127.0.0.1:8080/chat\"\nformat = \"json\"\nbody = '{\"q\": {{prompt}}}'\n",
        "extract = \"$.answer\"\nauth_env = \"BOT_TOKEN\"\nauth_header = \"X-Api-Key\"\nauth_prefix = \"\"\n",
        "tools = [\"refund\", \"handoff\"]\nsensitive_tools = [\"refund\"]\ncanaries = [\"ORCHID-LANTERN\"]\n",
        "never_reveal = [\"emails\"]\nnever_reveal_patterns = ['INT-\\d+']\nallowed_emails = [\"Help@Example.com\"]\n",
        "escalation_tool = \"handoff\"\nescalate_for = [\"self_harm\"]\nmax_requests = 50\ndelay = \"1s\"\ntimeout = 30\n",
        "[ai.judge]\nendpoint = \"http://127.0.0.1:9/v1/chat/completions\"\nenabled = true\n",
    ))
    .unwrap()
    .ai
    .unwrap();
    assert_eq!(ai.format, AiFormat::Json);
    let auth = ai.auth.unwrap();
    assert_eq!(
        (
            auth.env.as_str(),
            auth.header.as_str(),
            auth.prefix.as_str()
        ),
        ("BOT_TOKEN", "X-Api-Key", "")
    );
    assert_eq!(ai.allowed_emails, ["help@example.com"]);
    assert_eq!(ai.escalate_for, [EscalationTrigger::SelfHarm]);
    assert_eq!(ai.max_requests, Some(50));
    assert_eq!(ai.delay, Some(std::time::Duration::from_secs(1)));
    assert_eq!(ai.timeout, Some(std::time::Duration::from_secs(30)));
    assert!(ai.judge.unwrap().enabled);
}

#[test]
fn mistakes_are_located_and_explained() {
    check_error(
        "endpont = \"http://x.test/\"\n",
        &[
            "unknown key `endpont` in [ai]",
            "launchready.toml:5:1",
            "did you mean `endpoint`?",
        ],
    );
    check_error(
        "endpoint = \"http://x.test/\"\n[ai.judge]\nendpoint = \"http://x.test/\"\nenable = true\n",
        &[
            "unknown key `enable` in [ai.judge]",
            "did you mean `enabled`?",
        ],
    );
    check_error(
        "endpoint = \"x.test/chat\"\n",
        &["has no scheme", "launchready.toml:5:12"],
    );
    check_error(
        "endpoint = \"http://x.test/\"\nformat = \"opeanai\"\n",
        &[
            "unknown assistant format `opeanai`",
            "did you mean `openai`?",
        ],
    );
    check_error(
        "endpoint = \"http://x.test/\"\nformat = \"json\"\nextract = \"$.r\"\n",
        &["needs a `body` with a {{prompt}} slot"],
    );
    check_error(
        "endpoint = \"http://x.test/\"\nformat = \"json\"\nbody = '{\"q\": 1}'\nextract = \"$.r\"\n",
        &["no {{prompt}} slot", "launchready.toml:7:8"],
    );
    check_error(
        "endpoint = \"http://x.test/\"\nformat = \"form\"\nbody = \"q={{prompt}}\"\n",
        &["say where the reply is"],
    );
    check_error(
        "endpoint = \"http://x.test/\"\nextract = \"reply\"\n",
        &["`reply` is not a JSONPath", "starts with `$`"],
    );
    check_error(
        "endpoint = \"http://x.test/\"\nextract_regex = \"(unclosed\"\n",
        &["is not a valid regular expression", "launchready.toml:6:17"],
    );
    check_error(
        "endpoint = \"http://x.test/\"\nauth_env = \"sk-live-123 456\"\n",
        &[
            "is not an environment variable name",
            "never the token itself",
        ],
    );
    check_error(
        "endpoint = \"http://x.test/\"\ntools = [\"refund\"]\nsensitive_tools = [\"refnd\"]\nescalate_for = []\n",
        &[
            "`refnd` in `sensitive_tools` is not one of `tools`",
            "did you mean `refund`?",
        ],
    );
    check_error(
        "endpoint = \"http://x.test/\"\ncanaries = [\"abc\"]\nescalate_for = []\n",
        &["the canary `abc` is too short"],
    );
    check_error(
        "endpoint = \"http://x.test/\"\nnever_reveal = [\"email\"]\nescalate_for = []\n",
        &[
            "unknown kind `email` in `never_reveal`",
            "did you mean `emails`?",
        ],
    );
    check_error(
        "endpoint = \"http://x.test/\"\nnever_reveal_patterns = [\"[a-\"]\nescalate_for = []\n",
        &["is not a valid regular expression"],
    );
    check_error(
        "endpoint = \"http://x.test/\"\nescalate_for = [\"self-harm\"]\nescalation_tool = \"h\"\n",
        &[
            "unknown escalation trigger `self-harm`",
            "did you mean `self_harm`?",
        ],
    );
    check_error(
        "endpoint = \"http://x.test/\"\n",
        &["neither `escalation_tool` nor `escalation_phrases`"],
    );
    check_error(
        "endpoint = \"http://x.test/\"\nescalate_for = []\nmax_requests = 0\n",
        &["`max_requests` is 0, outside the allowed 1..=100000"],
    );
    check_error(
        "endpoint = \"http://x.test/\"\nescalate_for = []\ndelay = \"2m\"\n",
        &["`delay` is 2m, outside the allowed range"],
    );
}

#[test]
fn the_documented_example_parses() {
    let docs = include_str!("../../../docs/ai-probe.md");
    let example = docs
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/ai-probe.md has a toml example");
    let text = format!("[site]\ndomain = \"example.com\"\n\n{example}");
    let ai = Manifest::parse(&text, Path::new("docs/ai-probe.md"))
        .unwrap_or_else(|e| panic!("{e}"))
        .ai
        .unwrap();
    assert_eq!(ai.sensitive_tools.len(), 4);
    assert_eq!(ai.escalation_tool.as_deref(), Some("handoff_to_human"));
    assert!(!ai.judge.unwrap().enabled, "the judge is off by default");
}
