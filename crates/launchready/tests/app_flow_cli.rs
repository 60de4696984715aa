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
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/flows/login-to-members.hurl")
}

/// The app on its own runtime thread (the binary runs meanwhile), plus what the binary needs to reach it.
struct Served {
    args: Vec<String>,
    _runtime: tokio::runtime::Runtime,
    _app: MemberApp,
}

fn serve(mode: Mode) -> Served {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // The login journey sends no mail; a closed port stands in for the SMTP server.
    let app = runtime
        .block_on(MemberApp::start(
            AppConfig::new("127.0.0.1:9".parse().expect("address")).mode(mode),
        ))
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
    let mut child = Command::new(BIN)
        .arg("flow")
        .arg(example())
        .args(&served.args)
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
