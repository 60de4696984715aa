//! The login journey (examples/flows/login-to-members.hurl) through the real `launchready flow` binary against
//! the lab's membership app, reached the way a user reaches a staging box: `--connect-to` and `--ca-file`.
//! Healthy, it exits 0; with sessions that expire at once, it exits 1 naming the member-area step; the password
//! given with `--secret` appears nowhere in the output.

use launchready_lab::app::{AppConfig, Mode};
use launchready_testkit::cli::{Cli, Run, ServedApp};
use std::path::{Path, PathBuf};
use std::time::Duration;

const EMAIL: &str = "member@example.test";
const PASSWORD: &str = "Correct-Horse-42";

fn example() -> PathBuf {
    journey("login-to-members.hurl")
}

fn journey(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/flows")
        .join(name)
}

/// The app with the member signed up already.
fn with_member(served: ServedApp) -> ServedApp {
    assert!(served.app.add_member(EMAIL, PASSWORD));
    served
}

fn serve(mode: Mode) -> ServedApp {
    // The login journey sends no mail; a closed port stands in for the SMTP server there.
    let smtp = "127.0.0.1:9".parse().expect("address");
    with_member(ServedApp::start(AppConfig::new(smtp).mode(mode)))
}

fn run(served: &ServedApp) -> Run {
    run_journey(served, &example(), &[])
}

/// `launchready flow FILE` against the app, signed in as the member, then `extra`.
fn run_journey(served: &ServedApp, file: &Path, extra: &[String]) -> Run {
    Cli::new(env!("CARGO_BIN_EXE_launchready"))
        .arg("flow")
        .arg(file)
        .args([
            "--variable".to_string(),
            format!("base_url={}", served.app.base_url()),
            "--variable".to_string(),
            format!("email={EMAIL}"),
            "--secret".to_string(),
            format!("password={PASSWORD}"),
        ])
        .args(served.flags())
        .args(extra)
        .limit(Duration::from_secs(60))
        .run()
}

#[test]
fn the_login_journey_passes_against_the_healthy_app() {
    run(&serve(Mode::Healthy)).code(0).never_shows(PASSWORD);
}

#[test]
fn expired_sessions_fail_the_login_journey_at_the_member_area() {
    let result = run(&serve(Mode::ExpiredSession));
    result.code(1).never_shows(PASSWORD);
    let text = std::fs::read_to_string(example()).expect("read");
    let members_line = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("GET {{base_url}}/members"))
        .nth(1)
        .map(|(i, _)| i + 1)
        .expect("a second member-area step");
    let output = result.output();
    let failed: Vec<&str> = output
        .lines()
        .filter(|l| l.trim_start().starts_with("FAIL #"))
        .collect();
    assert_eq!(failed.len(), 1, "{}", result.output());
    assert!(
        failed[0].contains(&format!("line {members_line}:")) && failed[0].contains("/members"),
        "{}",
        result.output()
    );
}

/// The signup journey reads its confirmation link from the email the app sends: `launchready flow` starts the
/// SMTP sink the manifest's `[mailbox]` names, and the `mailbox://` step finds the message there.
#[test]
fn the_signup_journey_reads_its_confirmation_email_through_the_manifests_mailbox() {
    let served = with_member(ServedApp::with_mailbox(Mode::Healthy));
    let dir = served.mailbox_project("example.test");
    let manifest = dir.manifest();
    let extra = ["--manifest".to_string(), manifest.display().to_string()];
    let result = run_journey(&served, &journey("signup-to-payment.hurl"), &extra);
    result.code(0);
    assert!(result.output().contains("mailbox://"), "{}", result.all());
    // Without the manifest the same file is refused before anything is sent.
    let refused = run_journey(&served, &journey("signup-to-payment.hurl"), &[]);
    refused.code(2);
    assert!(refused.output().contains("[mailbox]"), "{}", refused.all());
}
