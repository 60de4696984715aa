//! End-to-end tests of `launchready smoke` (and the demo's journeys): the real binary against the lab's scripted
//! sites and its membership app, reached through `--resolver`, `--connect-to` and `--ca-file` as a user would.
//! Exit codes (0 passed, 1 a check failed, 2 a manifest or flag error), report formats, `--on-fail` and
//! `--wait-for-version`, and what a failure's evidence shows and hides.

use launchready_lab::app::{AppConfig, MemberApp, Mode};
use launchready_lab::scenarios::{self, CLEAN_MANIFEST, DEMO_MANIFEST};
use launchready_testkit::cli::{Cli, LabProject, Project, Run, app_flags, findings};
use launchready_testkit::lab::closed_port;
use std::path::{Path, PathBuf};
use std::time::Duration;

const MEMBER: &str = "member@example.test";
const PASSWORD: &str = "Correct-Horse-42";

fn launchready() -> Cli {
    Cli::new(env!("CARGO_BIN_EXE_launchready")).limit(Duration::from_secs(90))
}

/// `launchready smoke` with `args` against the lab, in the directory holding its manifest.
async fn smoke(site: &LabProject, args: &[&str]) -> Run {
    site.cli(launchready().arg("smoke"), args).run_async().await
}

fn demo_manifest() -> String {
    format!(
        "{DEMO_MANIFEST}\n[smoke]\nhomepage_budget = \"30s\"\nwebhook = \"/webhooks/payments\"\nversion_url = \"/version\"\n"
    )
}

fn ids(json: &str) -> Vec<(String, String)> {
    let report: serde_json::Value = serde_json::from_str(json).expect("a JSON report");
    assert_eq!(report["kind"], "smoke", "{json}");
    findings(&report)
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
    let site = LabProject::start(scenarios::clean(), CLEAN_MANIFEST).await;
    let out = smoke(&site, &[]).await;
    out.code(0);
    out.stdout_has(&[
        "clean.test: every smoke test passed",
        "smoke.homepage.passed",
        "https://www.clean.test/ — the homepage loads in",
        "smoke.route.passed",
    ]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flawed_demo_site_fails_with_evidence_in_every_format() {
    let site = LabProject::start(scenarios::demo(), &demo_manifest()).await;
    let json = smoke(&site, &["--format", "json"]).await;
    json.code(1);
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
    let text = smoke(&site, &[]).await;
    text.code(1);
    text.stdout_has(&[
        "demo.test: smoke tests failed",
        "the checkout route (checkout) answers 404, expected 200 or a redirect to the login page",
        "request: GET https://app.demo.test/checkout",
        "response: HTTP/2 404",
        "body: <!doctype html> <title>404 Not Found</title>",
        "the payment webhook is not deployed (404 to a POST)",
    ]);
    // The demo's login page sets a session cookie: its value is never shown.
    assert!(!text.stdout.contains("abc123"), "{}", text.all());
    for format in ["junit", "markdown", "html", "sarif"] {
        let out = smoke(&site, &["--format", format]).await;
        assert_eq!(out.code, 1, "{format}: {}", out.all());
        assert!(
            out.stdout.contains("smoke.webhook.missing"),
            "{format}: {}",
            out.all()
        );
    }
    // Only blockers fail the run when asked: the version endpoint's medium finding does not.
    let lenient = smoke(&site, &["--fail-on", "blocker", "--format", "json"]).await;
    assert_eq!(
        lenient.code,
        1,
        "the checkout and webhook are blockers: {}",
        lenient.all()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_fail_runs_the_rollback_with_the_report_path() {
    let site = LabProject::start(scenarios::demo(), &demo_manifest()).await;
    let out = smoke(&site, &["--on-fail", "cp \"$LAUNCHREADY_REPORT\" rolled-back.json && echo rolled back for $LAUNCHREADY_TARGET"])
        .await;
    out.code(1);
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
    let copied = std::fs::read_to_string(site.path().join("rolled-back.json"))
        .unwrap_or_else(|e| panic!("the rollback ran: {e}\n{}", out.all()));
    assert!(
        ids(&copied)
            .iter()
            .any(|(id, _)| id == "smoke.webhook.missing"),
        "{copied}"
    );

    // With --output, the command gets that file.
    let out = smoke(
        &site,
        &[
            "--format",
            "markdown",
            "--output",
            "report.md",
            "--on-fail",
            "cp \"$LAUNCHREADY_REPORT\" copy.md",
        ],
    )
    .await;
    out.code(1);
    let copy = std::fs::read_to_string(site.path().join("copy.md")).expect("copy.md");
    assert!(copy.contains("smoke.webhook.missing"), "{copy}");

    // A passing run does not roll back.
    let clean = LabProject::start(scenarios::clean(), CLEAN_MANIFEST).await;
    let out = smoke(&clean, &["--on-fail", "touch rolled-back"]).await;
    out.code(0);
    assert!(!clean.path().join("rolled-back").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_version_gives_up_at_its_deadline() {
    let site = LabProject::start(scenarios::demo(), &demo_manifest()).await;
    let out = smoke(
        &site,
        &[
            "--wait-for-version",
            "2.0.0",
            "--wait-timeout",
            "1s",
            "--poll-interval",
            "200ms",
            "--format",
            "json",
        ],
    )
    .await;
    out.code(1);
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
    let site = LabProject::start(scenarios::clean(), CLEAN_MANIFEST).await;
    let out = smoke(&site, &["--wait-for-version", "1.0.0"]).await;
    out.code(2);
    assert!(
        out.stderr
            .contains("add `version_url = \"/version\"` to [smoke]"),
        "{}",
        out.all()
    );

    let out = smoke(&site, &["--samples", "0"]).await;
    out.code(2);

    let missing = format!("{CLEAN_MANIFEST}\n[[flow]]\nfile = \"flows/nowhere.hurl\"\n");
    site.project.write("missing.toml", missing);
    let out = smoke(&site, &["--manifest", "missing.toml"]).await;
    out.code(2);
    assert!(
        out.stderr.contains("[[flow]] `nowhere`") && out.stderr.contains("nowhere.hurl"),
        "{}",
        out.all()
    );

    let typo = format!("{CLEAN_MANIFEST}\n[smoke]\nhomepage_budjet = \"1s\"\n");
    site.project.write("typo.toml", typo);
    let out = smoke(&site, &["--manifest", "typo.toml"]).await;
    out.code(2);
    assert!(
        out.stderr.contains("did you mean `homepage_budget`?"),
        "{}",
        out.all()
    );

    let empty = Project::new();
    let out = empty.cli(launchready()).arg("smoke").run_async().await;
    out.code(2);
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

/// The membership app as www.example.test, sending its mail to `smtp_port` on loopback, with the member signed up.
async fn member_app(mode: Mode, smtp_port: u16) -> MemberApp {
    let mut config = AppConfig::new(([127, 0, 0, 1], smtp_port).into()).mode(mode);
    config.host = "www.example.test".to_string();
    let app = MemberApp::start(config).await.expect("the app starts");
    assert!(app.add_member(MEMBER, PASSWORD));
    app
}

/// `launchready smoke` against the membership app with the login journey as a `[[flow]]`.
async fn smoke_app(mode: Mode) -> Run {
    // The login journey sends no mail; a closed port stands in for the SMTP server there.
    let app = member_app(mode, 9).await;
    let manifest = format!(
        "[site]\ndomain = \"example.test\"\ncanonical = \"https://www.example.test/\"\nsubdomains = []\n\n[smoke]\nhomepage_budget = \"30s\"\nversion_url = \"/version\"\nwebhook = \"/webhooks/payments\"\n\n[[route]]\nname = \"members\"\npath = \"/members\"\nkind = \"member\"\ncritical = true\n\n[[flow]]\nfile = \"{}\"\nname = \"login to members\"\n",
        example("login-to-members.hurl").display()
    );
    smoke_member_app(&app, &manifest).await
}

/// `launchready smoke` against the membership app with `manifest`, logging in as the member.
async fn smoke_member_app(app: &MemberApp, manifest: &str) -> Run {
    let dir = Project::with_manifest(manifest);
    dir.cli(launchready())
        .arg("smoke")
        .args(app_flags(app))
        .args([
            "--variable".to_string(),
            format!("email={MEMBER}"),
            "--secret".to_string(),
            format!("password={PASSWORD}"),
        ])
        .run_async()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_member_area_after_login_is_checked_by_the_journey() {
    let healthy = smoke_app(Mode::Healthy).await;
    healthy.code(0);
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
    expired.code(1);
    expired.stdout_has(&[
        "the login to members journey fails at step 4 (GET https://www.example.test/members)",
        "status == 200: actual: 302, expected: 200",
        "session=***",
    ]);
    assert!(!expired.stdout.contains(PASSWORD), "{}", expired.all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_the_three_journeys_and_one_fails_visibly() {
    let dir = Project::new();
    let demo = || dir.cli(launchready()).arg("demo");
    let out = demo().run_async().await;
    out.code(1);
    out.stdout_has(&[
        "The three journeys against the lab's membership app",
        "FAIL examples/flows/signup-to-payment.hurl",
        "POST https://app.demo.test/checkout -> 500",
        "PASS examples/flows/login-to-members.hurl",
        "PASS examples/flows/password-reset.hurl",
        "2/3 flow files passed",
    ]);
    // A JSON report stays whole on stdout; the journeys go to stderr.
    let json = demo().args(["--format", "json"]).run_async().await;
    json.code(1);
    serde_json::from_str::<serde_json::Value>(&json.stdout).expect("stdout is one JSON report");
    assert!(
        json.stderr
            .contains("FAIL examples/flows/signup-to-payment.hurl"),
        "{}",
        json.all()
    );
}

/// All three journeys through the binary: the confirmation and reset links come from the SMTP sink the manifest's
/// `[mailbox]` starts, and a broken checkout fails only the signup-to-payment journey.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_three_journeys_read_their_links_from_the_manifests_mailbox() {
    for (mode, code) in [(Mode::Healthy, 0), (Mode::CheckoutError, 1)] {
        // A port free a moment ago, for the SMTP sink the binary starts (`[mailbox] smtp_listen`) and the app
        // sends to.
        let port = closed_port();
        let app = member_app(mode, port).await;
        let mut manifest = format!(
            "[site]\ndomain = \"example.test\"\ncanonical = \"https://www.example.test/\"\nsubdomains = []\n\n[smoke]\nhomepage_budget = \"30s\"\n\n[mailbox]\nsmtp_listen = \"127.0.0.1:{port}\"\n"
        );
        for name in ["signup-to-payment", "login-to-members", "password-reset"] {
            manifest.push_str(&format!(
                "\n[[flow]]\nfile = \"{}\"\n",
                example(&format!("{name}.hurl")).display()
            ));
        }
        let out = smoke_member_app(&app, &manifest).await;
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
