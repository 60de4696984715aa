//! End-to-end tests of `launchready smoke` (and the demo's journeys): the real binary against the lab's scripted
//! sites and its membership app, reached through `--resolver`, `--connect-to` and `--ca-file` as a user would.
//! Exit codes (0 passed, 1 a check failed, 2 a manifest or flag error), report formats, `--on-fail` and
//! `--wait-for-version`, and what a failure's evidence shows and hides.

use launchready_lab::app::{AppConfig, MemberApp, Mode};
use launchready_lab::scenarios::{self, CLEAN_MANIFEST, DEMO_MANIFEST};
use launchready_lab::{Lab, Scenario};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_launchready");
const LIMIT: Duration = Duration::from_secs(90);
const MEMBER: &str = "member@example.test";
const PASSWORD: &str = "Correct-Horse-42";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn all(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs the binary in `dir`, killing it after [`LIMIT`] so a hang fails the test instead of stalling it.
fn run_in(dir: &Path, args: &[String]) -> Run {
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("launchready {args:?} did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the binary off the async runtime, so the lab keeps serving while it runs.
async fn run(dir: &Path, args: Vec<String>) -> Run {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || run_in(&dir, &args))
        .await
        .expect("join")
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn lab_flags(lab: &Lab) -> Vec<String> {
    let mut flags = vec!["--resolver".to_string(), lab.resolver_arg()];
    for rule in lab.connect_to_args() {
        flags.push("--connect-to".to_string());
        flags.push(rule);
    }
    flags.push("--ca-file".to_string());
    flags.push(lab.ca_file().display().to_string());
    flags
}

/// A started lab and a directory with its manifest, where `launchready smoke` runs with the lab's flags.
struct Site {
    lab: Lab,
    dir: tempfile::TempDir,
}

impl Site {
    async fn start(scenario: Scenario, manifest: &str) -> Site {
        let lab = Lab::start(scenario).await.expect("the lab starts");
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("launchready.toml"), manifest).expect("write manifest");
        Site { lab, dir }
    }

    async fn smoke(&self, list: &[&str]) -> Run {
        let mut argv = args(&["smoke"]);
        argv.extend(args(list));
        argv.extend(lab_flags(&self.lab));
        run(self.dir.path(), argv).await
    }
}

fn demo_manifest() -> String {
    format!(
        "{DEMO_MANIFEST}\n[smoke]\nhomepage_budget = \"30s\"\nwebhook = \"/webhooks/payments\"\nversion_url = \"/version\"\n"
    )
}

fn ids(json: &str) -> Vec<(String, String)> {
    let report: serde_json::Value = serde_json::from_str(json).expect("a JSON report");
    assert_eq!(report["kind"], "smoke", "{json}");
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["severity"] != "info")
        .map(|f| {
            (
                f["id"].as_str().unwrap_or_default().to_string(),
                f["subject"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_deploy_passes_and_exits_0() {
    let site = Site::start(scenarios::clean(), CLEAN_MANIFEST).await;
    let out = site.smoke(&[]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    for needle in [
        "clean.test: every smoke test passed",
        "smoke.homepage.passed",
        "https://www.clean.test/ — the homepage loads in",
        "smoke.route.passed",
    ] {
        assert!(
            out.stdout.contains(needle),
            "no {needle:?} in:\n{}",
            out.all()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flawed_demo_site_fails_with_evidence_in_every_format() {
    let site = Site::start(scenarios::demo(), &demo_manifest()).await;
    let json = site.smoke(&["--format", "json"]).await;
    assert_eq!(json.code, 1, "{}", json.all());
    let mut found = ids(&json.stdout);
    found.sort();
    assert_eq!(
        found,
        vec![
            (
                "smoke.route.unexpected_status".to_string(),
                "https://app.demo.test/checkout".to_string()
            ),
            (
                "smoke.version.unreachable".to_string(),
                "https://www.demo.test/version".to_string()
            ),
            (
                "smoke.webhook.missing".to_string(),
                "https://www.demo.test/webhooks/payments".to_string()
            ),
        ],
        "{}",
        json.all()
    );
    let text = site.smoke(&[]).await;
    assert_eq!(text.code, 1, "{}", text.all());
    for needle in [
        "demo.test: smoke tests failed",
        "the checkout route (checkout) answers 404, expected 200 or a redirect to the login page",
        "request: GET https://app.demo.test/checkout",
        "response: HTTP/2 404",
        "body: <!doctype html> <title>404 Not Found</title>",
        "the payment webhook is not deployed (404 to a POST)",
    ] {
        assert!(
            text.stdout.contains(needle),
            "no {needle:?} in:\n{}",
            text.all()
        );
    }
    // The demo's login page sets a session cookie: its value is never shown.
    assert!(!text.stdout.contains("abc123"), "{}", text.all());
    for format in ["junit", "markdown", "html", "sarif"] {
        let out = site.smoke(&["--format", format]).await;
        assert_eq!(out.code, 1, "{format}: {}", out.all());
        assert!(
            out.stdout.contains("smoke.webhook.missing"),
            "{format}: {}",
            out.all()
        );
    }
    // Only blockers fail the run when asked: the version endpoint's medium finding does not.
    let lenient = site
        .smoke(&["--fail-on", "blocker", "--format", "json"])
        .await;
    assert_eq!(
        lenient.code,
        1,
        "the checkout and webhook are blockers: {}",
        lenient.all()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_fail_runs_the_rollback_with_the_report_path() {
    let site = Site::start(scenarios::demo(), &demo_manifest()).await;
    let out = site
        .smoke(&["--on-fail", "cp \"$LAUNCHREADY_REPORT\" rolled-back.json && echo rolled back for $LAUNCHREADY_TARGET"])
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains("rolled back for demo.test"),
        "the command's output goes to stderr: {}",
        out.all()
    );
    assert!(
        !out.stdout.contains("rolled back"),
        "stdout stays the report: {}",
        out.all()
    );
    let copied = std::fs::read_to_string(site.dir.path().join("rolled-back.json"))
        .unwrap_or_else(|e| panic!("the rollback ran: {e}\n{}", out.all()));
    assert!(
        ids(&copied)
            .iter()
            .any(|(id, _)| id == "smoke.webhook.missing"),
        "{copied}"
    );

    // With --output, the command gets that file.
    let out = site
        .smoke(&[
            "--format",
            "markdown",
            "--output",
            "report.md",
            "--on-fail",
            "cp \"$LAUNCHREADY_REPORT\" copy.md",
        ])
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    let copy = std::fs::read_to_string(site.dir.path().join("copy.md")).expect("copy.md");
    assert!(copy.contains("smoke.webhook.missing"), "{copy}");

    // A passing run does not roll back.
    let clean = Site::start(scenarios::clean(), CLEAN_MANIFEST).await;
    let out = clean.smoke(&["--on-fail", "touch rolled-back"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(!clean.dir.path().join("rolled-back").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_version_gives_up_at_its_deadline() {
    let site = Site::start(scenarios::demo(), &demo_manifest()).await;
    let out = site
        .smoke(&[
            "--wait-for-version",
            "2.0.0",
            "--wait-timeout",
            "1s",
            "--poll-interval",
            "200ms",
            "--format",
            "json",
        ])
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert_eq!(
        ids(&out.stdout),
        vec![(
            "smoke.version.not_live".to_string(),
            "https://www.demo.test/version".to_string()
        )],
        "nothing else is tested against the old deploy: {}",
        out.all()
    );
    assert!(
        out.stderr
            .contains("waiting up to 1s for https://www.demo.test/version to serve 2.0.0"),
        "{}",
        out.all()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifest_and_flag_mistakes_exit_2_before_anything_is_sent() {
    let site = Site::start(scenarios::clean(), CLEAN_MANIFEST).await;
    let out = site.smoke(&["--wait-for-version", "1.0.0"]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr
            .contains("add `version_url = \"/version\"` to [smoke]"),
        "{}",
        out.all()
    );

    let out = site.smoke(&["--samples", "0"]).await;
    assert_eq!(out.code, 2, "{}", out.all());

    let missing = format!("{CLEAN_MANIFEST}\n[[flow]]\nfile = \"flows/nowhere.hurl\"\n");
    std::fs::write(site.dir.path().join("missing.toml"), missing).expect("write");
    let out = site.smoke(&["--manifest", "missing.toml"]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("[[flow]] `nowhere`") && out.stderr.contains("nowhere.hurl"),
        "{}",
        out.all()
    );

    let typo = format!("{CLEAN_MANIFEST}\n[smoke]\nhomepage_budjet = \"1s\"\n");
    std::fs::write(site.dir.path().join("typo.toml"), typo).expect("write");
    let out = site.smoke(&["--manifest", "typo.toml"]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("did you mean `homepage_budget`?"),
        "{}",
        out.all()
    );

    let empty = tempfile::tempdir().expect("temp dir");
    let out = run(empty.path(), args(&["smoke"])).await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("smoke needs a manifest"),
        "{}",
        out.all()
    );
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/flows")
        .join(name)
}

/// `launchready smoke` against the membership app with the login journey as a `[[flow]]`.
async fn smoke_app(mode: Mode) -> Run {
    let mut config = AppConfig::new("127.0.0.1:9".parse().expect("address")).mode(mode);
    config.host = "www.example.test".to_string();
    let app = MemberApp::start(config).await.expect("the app starts");
    assert!(app.add_member(MEMBER, PASSWORD));
    let dir = tempfile::tempdir().expect("temp dir");
    let manifest = format!(
        "[site]\ndomain = \"example.test\"\ncanonical = \"https://www.example.test/\"\nsubdomains = []\n\n[smoke]\nhomepage_budget = \"30s\"\nversion_url = \"/version\"\nwebhook = \"/webhooks/payments\"\n\n[[route]]\nname = \"members\"\npath = \"/members\"\nkind = \"member\"\ncritical = true\n\n[[flow]]\nfile = \"{}\"\nname = \"login to members\"\n",
        example("login-to-members.hurl").display()
    );
    std::fs::write(dir.path().join("launchready.toml"), manifest).expect("write");
    let mut argv = args(&["smoke", "--resolver", "127.0.0.1:9", "--ca-file"]);
    argv.push(app.ca_file().display().to_string());
    for rule in app.connect_to_args() {
        argv.push("--connect-to".to_string());
        argv.push(rule);
    }
    argv.extend(args(&[
        "--variable",
        &format!("email={MEMBER}"),
        "--secret",
        &format!("password={PASSWORD}"),
    ]));
    run(dir.path(), argv).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_member_area_after_login_is_checked_by_the_journey() {
    let healthy = smoke_app(Mode::Healthy).await;
    assert_eq!(healthy.code, 0, "{}", healthy.all());
    assert!(
        healthy
            .stdout
            .contains("the login to members journey passes"),
        "{}",
        healthy.all()
    );
    assert!(
        healthy
            .stdout
            .contains("the members route (member) sends anonymous visitors to log in"),
        "{}",
        healthy.all()
    );

    let expired = smoke_app(Mode::ExpiredSession).await;
    assert_eq!(expired.code, 1, "{}", expired.all());
    for needle in [
        "the login to members journey fails at step 4 (GET https://www.example.test/members)",
        "status == 200: actual: 302, expected: 200",
        "session=***",
    ] {
        assert!(
            expired.stdout.contains(needle),
            "no {needle:?} in:\n{}",
            expired.all()
        );
    }
    assert!(!expired.stdout.contains(PASSWORD), "{}", expired.all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_the_three_journeys_and_one_fails_visibly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run(dir.path(), args(&["demo"])).await;
    assert_eq!(out.code, 1, "{}", out.all());
    for needle in [
        "The three journeys against the lab's membership app",
        "FAIL examples/flows/signup-to-payment.hurl",
        "POST https://app.demo.test/checkout -> 500",
        "PASS examples/flows/login-to-members.hurl",
        "PASS examples/flows/password-reset.hurl",
        "2/3 flow files passed",
    ] {
        assert!(
            out.stdout.contains(needle),
            "no {needle:?} in:\n{}",
            out.all()
        );
    }
    // A JSON report stays whole on stdout; the journeys go to stderr.
    let json = run(dir.path(), args(&["demo", "--format", "json"])).await;
    assert_eq!(json.code, 1, "{}", json.all());
    serde_json::from_str::<serde_json::Value>(&json.stdout).expect("stdout is one JSON report");
    assert!(
        json.stderr
            .contains("FAIL examples/flows/signup-to-payment.hurl"),
        "{}",
        json.all()
    );
}

/// A loopback port free a moment ago, for the SMTP sink the binary starts (`[mailbox] smtp_listen`) and the app
/// sends to.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// All three journeys through the binary: the confirmation and reset links come from the SMTP sink the manifest's
/// `[mailbox]` starts, and a broken checkout fails only the signup-to-payment journey.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_three_journeys_read_their_links_from_the_manifests_mailbox() {
    for (mode, code) in [(Mode::Healthy, 0), (Mode::CheckoutError, 1)] {
        let port = free_port();
        let mut config = AppConfig::new(([127, 0, 0, 1], port).into()).mode(mode);
        config.host = "www.example.test".to_string();
        let app = MemberApp::start(config).await.expect("the app starts");
        assert!(app.add_member(MEMBER, PASSWORD));
        let dir = tempfile::tempdir().expect("temp dir");
        let mut manifest = format!(
            "[site]\ndomain = \"example.test\"\ncanonical = \"https://www.example.test/\"\nsubdomains = []\n\n[smoke]\nhomepage_budget = \"30s\"\n\n[mailbox]\nsmtp_listen = \"127.0.0.1:{port}\"\n"
        );
        for name in ["signup-to-payment", "login-to-members", "password-reset"] {
            manifest.push_str(&format!(
                "\n[[flow]]\nfile = \"{}\"\n",
                example(&format!("{name}.hurl")).display()
            ));
        }
        std::fs::write(dir.path().join("launchready.toml"), manifest).expect("write");
        let mut argv = args(&["smoke", "--resolver", "127.0.0.1:9", "--ca-file"]);
        argv.push(app.ca_file().display().to_string());
        for rule in app.connect_to_args() {
            argv.push("--connect-to".to_string());
            argv.push(rule);
        }
        argv.extend(args(&[
            "--variable",
            &format!("email={MEMBER}"),
            "--secret",
            &format!("password={PASSWORD}"),
        ]));
        let out = run(dir.path(), argv).await;
        assert_eq!(out.code, code, "{mode:?}: {}", out.all());
        let passes = out.stdout.matches("smoke.flow.passed").count();
        match mode {
            Mode::Healthy => assert_eq!(passes, 3, "{}", out.all()),
            _ => {
                assert_eq!(passes, 2, "{}", out.all());
                assert!(
                    out.stdout.contains(
                        "the signup-to-payment journey fails at step 8 (POST https://www.example.test/checkout)"
                    ),
                    "{}",
                    out.all()
                );
            }
        }
    }
}
