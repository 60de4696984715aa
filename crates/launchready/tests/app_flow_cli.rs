//! The login journey (examples/flows/login-to-members.hurl) through the real `launchready flow` binary against
//! the lab's membership app, reached the way a user reaches a staging box: `--connect-to` and `--ca-file`.
//! Healthy, it exits 0; with sessions that expire at once, it exits 1 naming the member-area step; the password
//! given with `--secret` appears nowhere in the output.

use launchready_lab::app::{AppConfig, MemberApp, Mode};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_launchready");
const LIMIT: Duration = Duration::from_secs(60);
const EMAIL: &str = "member@example.test";
const PASSWORD: &str = "Correct-Horse-42";

struct Run {
    code: i32,
    output: String,
}

fn example() -> PathBuf {
    journey("login-to-members.hurl")
}

fn journey(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/flows")
        .join(name)
}

/// The app on its own runtime thread (the binary runs meanwhile), plus what the binary needs to reach it.
struct Served {
    args: Vec<String>,
    _runtime: tokio::runtime::Runtime,
    _app: MemberApp,
}

fn serve(mode: Mode) -> Served {
    serve_with_smtp(mode, "127.0.0.1:9".parse().expect("address"))
}

/// The app sending its mail to `smtp` (the sink `launchready flow` starts from `[mailbox]`).
fn serve_with_smtp(mode: Mode, smtp: std::net::SocketAddr) -> Served {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // The login journey sends no mail; a closed port stands in for the SMTP server there.
    let app = runtime
        .block_on(MemberApp::start(AppConfig::new(smtp).mode(mode)))
        .expect("the app starts");
    assert!(app.add_member(EMAIL, PASSWORD));
    let mut args = vec![
        "--variable".to_string(),
        format!("base_url={}", app.base_url()),
        "--variable".to_string(),
        format!("email={EMAIL}"),
        "--secret".to_string(),
        format!("password={PASSWORD}"),
        "--ca-file".to_string(),
        app.ca_file().display().to_string(),
        // The connect-to rule names an address; naming a resolver keeps the system configuration out.
        "--resolver".to_string(),
        "127.0.0.1:9".to_string(),
    ];
    for rule in app.connect_to_args() {
        args.push("--connect-to".to_string());
        args.push(rule);
    }
    Served {
        args,
        _runtime: runtime,
        _app: app,
    }
}

fn run(served: &Served) -> Run {
    run_journey(served, &example(), &[])
}

fn run_journey(served: &Served, file: &Path, extra: &[String]) -> Run {
    let mut child = Command::new(BIN)
        .arg("flow")
        .arg(file)
        .args(&served.args)
        .args(extra)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("launchready flow did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    Run {
        code: output.status.code().unwrap_or(-1),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

#[test]
fn the_login_journey_passes_against_the_healthy_app() {
    let result = run(&serve(Mode::Healthy));
    assert_eq!(result.code, 0, "{}", result.output);
    assert!(!result.output.contains(PASSWORD), "{}", result.output);
}

#[test]
fn expired_sessions_fail_the_login_journey_at_the_member_area() {
    let result = run(&serve(Mode::ExpiredSession));
    assert_eq!(result.code, 1, "{}", result.output);
    let text = std::fs::read_to_string(example()).expect("read");
    let members_line = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("GET {{base_url}}/members"))
        .nth(1)
        .map(|(i, _)| i + 1)
        .expect("a second member-area step");
    let failed: Vec<&str> = result
        .output
        .lines()
        .filter(|l| l.trim_start().starts_with("FAIL #"))
        .collect();
    assert_eq!(failed.len(), 1, "{}", result.output);
    assert!(
        failed[0].contains(&format!("line {members_line}:")) && failed[0].contains("/members"),
        "{}",
        result.output
    );
    assert!(!result.output.contains(PASSWORD), "{}", result.output);
}

/// The signup journey reads its confirmation link from the email the app sends: `launchready flow` starts the
/// SMTP sink the manifest's `[mailbox]` names, and the `mailbox://` step finds the message there.
#[test]
fn the_signup_journey_reads_its_confirmation_email_through_the_manifests_mailbox() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let smtp: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
    let dir = tempfile::tempdir().expect("a temp dir");
    let manifest = dir.path().join("launchready.toml");
    std::fs::write(
        &manifest,
        format!("[site]\ndomain = \"example.test\"\n\n[mailbox]\nsmtp_listen = \"{smtp}\"\n"),
    )
    .expect("write the manifest");
    let served = serve_with_smtp(Mode::Healthy, smtp);
    let extra = ["--manifest".to_string(), manifest.display().to_string()];
    let result = run_journey(&served, &journey("signup-to-payment.hurl"), &extra);
    assert_eq!(result.code, 0, "{}", result.output);
    assert!(result.output.contains("mailbox://"), "{}", result.output);
    // Without the manifest the same file is refused before anything is sent.
    let refused = run_journey(&served, &journey("signup-to-payment.hurl"), &[]);
    assert_eq!(refused.code, 2, "{}", refused.output);
    assert!(refused.output.contains("[mailbox]"), "{}", refused.output);
}
