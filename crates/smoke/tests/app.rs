//! Smoke runs against the lab: the membership app (healthy, and each way it can be broken on purpose) with the
//! roadmap's three journeys as `[[flow]]`s, the lab's scripted sites for what the app cannot get wrong (a slow
//! homepage, a webhook that accepts anything, a missing page), and a version endpoint that goes live mid-wait.

use launchready_findings::{Finding, Severity};
use launchready_flow::{Engine, RunOptions, Value, Variables};
use launchready_lab::app::{AppConfig, MemberApp, Mode};
use launchready_lab::{Handler, Lab, Page, Scenario, Site, Zone};
use launchready_mailbox::{MailboxBackend, SmtpSink};
use launchready_manifest::Manifest;
use launchready_net::Net;
use launchready_smoke::{GatherOptions, NamedFlow, Redactor, SmokeFacts};
use launchready_testkit::lab::app_config;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A smoke run that takes longer than this has hung.
const WATCHDOG: Duration = Duration::from_secs(120);
const HOST: &str = "www.example.test";
const MEMBER: &str = "member@example.test";
const PASSWORD: &str = "Correct-Horse-42";

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/flows")
        .join(name)
}

/// The app's manifest: its homepage, login, member and checkout routes, webhook and version, and the journeys.
fn app_manifest(extra: &str) -> Manifest {
    let text = format!(
        r#"[site]
domain = "example.test"
canonical = "https://{HOST}/"
subdomains = []

[smoke]
homepage_budget = "60s"
version_url = "/version"
webhook = "/webhooks/payments"

{}{}{extra}"#,
        routes(&[
            ("login", "login", true),
            ("members", "member", true),
            ("checkout", "checkout", true),
        ]),
        ["signup-to-payment", "login-to-members", "password-reset"]
            .map(|name| format!(
                "[[flow]]\nfile = \"{}\"\n\n",
                example(&format!("{name}.hurl")).display()
            ))
            .concat(),
    );
    Manifest::parse(&text, Path::new("launchready.toml")).expect("the test manifest is valid")
}

/// `[[route]]` tables, one per `(name, kind, critical)`, each at the path `/name`.
fn routes(routes: &[(&str, &str, bool)]) -> String {
    routes
        .iter()
        .map(|(name, kind, critical)| {
            let critical = if *critical { "critical = true\n" } else { "" };
            format!(
                "[[route]]\nname = \"{name}\"\npath = \"/{name}\"\nkind = \"{kind}\"\n{critical}\n"
            )
        })
        .collect()
}

struct App {
    sink: SmtpSink,
    /// Kept alive for the test: the app stops when dropped.
    _app: MemberApp,
    net: Net,
}

async fn app(mode: Mode) -> App {
    let sink = SmtpSink::start("127.0.0.1:0".parse().expect("address"))
        .await
        .expect("the SMTP sink starts");
    let mut config = AppConfig::new(sink.addr()).mode(mode);
    config.host = HOST.to_string();
    config.version = "2.4.0".to_string();
    let app = MemberApp::start(config).await.expect("the app starts");
    assert!(app.add_member(MEMBER, PASSWORD));
    let net = Net::new(app_config(&app, Duration::from_secs(10))).expect("net");
    App {
        sink,
        _app: app,
        net,
    }
}

/// The one place a smoke run happens: the manifest's journeys get their own engines with the sink's mailbox.
async fn smoke(
    net: &Net,
    sink: Option<&SmtpSink>,
    manifest: &Manifest,
    options: GatherOptions,
) -> SmokeFacts {
    let mut flows = Vec::new();
    for flow in &manifest.flows {
        let file = launchready_flow::load(&manifest.flow_path(flow)).expect("the flow parses");
        let mut engine = Engine::new(net, RunOptions::default());
        if let Some(sink) = sink {
            engine = engine.with_backend("mailbox", Box::new(MailboxBackend::sink(sink.store())));
        }
        engine.check(&file).expect("every scheme has a backend");
        flows.push(NamedFlow {
            name: flow.name.clone(),
            file,
            engine,
        });
    }
    let mut vars = Variables::new();
    vars.set("base_url", Value::String(format!("https://{HOST}")));
    vars.set("email", Value::String(MEMBER.to_string()));
    vars.set_secret("password", PASSWORD.to_string());
    let redactor = Redactor::new(vars.secret_values());
    tokio::time::timeout(
        WATCHDOG,
        launchready_smoke::gather(manifest, net, &flows, &vars, &redactor, &options),
    )
    .await
    .expect("the smoke run finishes")
}

fn one_sample() -> GatherOptions {
    GatherOptions {
        samples: 1,
        ..GatherOptions::default()
    }
}

/// Active findings at or above `severity`, as (id, subject).
fn failing(findings: &[Finding], severity: Severity) -> Vec<(String, String)> {
    findings
        .iter()
        .filter(|f| f.is_active() && f.severity >= severity)
        .map(|f| (f.id.clone(), f.subject.clone()))
        .collect()
}

fn describe(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {} — {}\n  {}",
                f.severity,
                f.id,
                f.subject,
                f.title,
                f.evidence.join("\n  ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_healthy_app_passes_every_check_and_journey() {
    let world = app(Mode::Healthy).await;
    let manifest = app_manifest("");
    let facts = smoke(&world.net, Some(&world.sink), &manifest, one_sample()).await;
    let report = launchready_smoke::report(&facts, &manifest);
    let all = describe(&report.findings);
    assert_eq!(
        failing(&report.findings, Severity::Low),
        Vec::<(String, String)>::new(),
        "{all}"
    );
    let passed: Vec<&str> = report.findings.iter().map(|f| f.id.as_str()).collect();
    for id in [
        "smoke.version.passed",
        "smoke.homepage.passed",
        "smoke.route.passed",
        "smoke.webhook.passed",
        "smoke.flow.passed",
    ] {
        assert!(passed.contains(&id), "no {id} in:\n{all}");
    }
    assert_eq!(facts.flows.iter().filter(|f| f.passed).count(), 3, "{all}");
    // The member and checkout pages send anonymous visitors to log in.
    assert_eq!(
        report
            .findings
            .iter()
            .filter(|f| f.id == "smoke.route.passed")
            .count(),
        3,
        "{all}"
    );
    assert!(all.contains("sends anonymous visitors to log in"), "{all}");
    assert!(all.contains("the version endpoint serves 2.4.0"), "{all}");
    // The password never reaches the facts.
    let json = serde_json::to_string(&facts).expect("facts serialise");
    assert!(
        !json.contains(PASSWORD),
        "the password leaked into the facts"
    );
}

/// Each broken mode fails the journeys it breaks, each at the step it breaks (an expired session breaks every
/// journey that reaches the member area; the other modes break one journey and leave the others alone).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_broken_mode_fails_its_journeys_at_the_right_step() {
    let cases: [(Mode, &[(&str, &str)]); 4] = [
        (
            Mode::CheckoutError,
            &[(
                "signup-to-payment",
                "step 8 (POST https://www.example.test/checkout)",
            )],
        ),
        (
            Mode::SlowLogin(Duration::from_millis(2500)),
            &[(
                "login-to-members",
                "step 3 (POST https://www.example.test/login)",
            )],
        ),
        (
            Mode::BrokenResetLink,
            &[(
                "password-reset",
                "step 4 (GET https://www.example.test/password/reset/",
            )],
        ),
        (
            Mode::ExpiredSession,
            &[
                (
                    "signup-to-payment",
                    "step 6 (GET https://www.example.test/members)",
                ),
                (
                    "login-to-members",
                    "step 4 (GET https://www.example.test/members)",
                ),
                (
                    "password-reset",
                    "step 8 (POST https://www.example.test/login)",
                ),
            ],
        ),
    ];
    for (mode, expected) in cases {
        let world = app(mode).await;
        let manifest = app_manifest("");
        let facts = smoke(&world.net, Some(&world.sink), &manifest, one_sample()).await;
        let report = launchready_smoke::report(&facts, &manifest);
        let all = describe(&report.findings);
        let failed: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.id == "smoke.flow.failed")
            .collect();
        assert_eq!(failed.len(), expected.len(), "{mode:?}:\n{all}");
        for (journey, step) in expected {
            let finding = failed
                .iter()
                .find(|f| {
                    f.title
                        .contains(&format!("the {journey} journey fails at "))
                })
                .unwrap_or_else(|| panic!("{mode:?}: {journey} does not fail:\n{all}"));
            assert!(
                finding.title.contains(step),
                "{mode:?}: {}\n{all}",
                finding.title
            );
            assert_eq!(finding.severity, Severity::Blocker);
            let evidence = finding.evidence.join("\n");
            for needle in ["request: ", "response: ", "response headers: ", "body: "] {
                assert!(
                    evidence.contains(needle),
                    "{mode:?}: no {needle:?} in:\n{evidence}"
                );
            }
            assert!(
                !evidence.contains(PASSWORD),
                "{mode:?}: the password leaked:\n{evidence}"
            );
            assert!(
                !evidence.contains("session=") || evidence.contains("session=***"),
                "{mode:?}: a session cookie leaked:\n{evidence}"
            );
        }
        // Nothing else broke: the homepage, routes and webhook pass in every mode.
        assert_eq!(
            failing(&report.findings, Severity::Low).len(),
            expected.len(),
            "{mode:?}:\n{all}"
        );
    }
}

/// A lab site with what the app cannot get wrong: a slow homepage, a webhook that accepts anything, a missing
/// checkout and a member page left open with a redirect to nowhere.
fn flawed_site() -> Scenario {
    Scenario::new()
        .zone(
            Zone::new("flawed.test")
                .a("@", "127.0.0.1".parse().expect("address"))
                .a("www", "127.0.0.1".parse().expect("address")),
        )
        .site(Site::new("www.flawed.test").https(Handler::pages([
            (
                "/".to_owned(),
                Page::html(200, "<h1>Welcome</h1>").delayed(Duration::from_millis(600)),
            ),
            ("/login".to_owned(), Page::html(200, "<form></form>")),
            (
                "/webhooks/payments".to_owned(),
                Page::json(200, r#"{"received":true}"#),
            ),
        ])))
}

fn flawed_manifest() -> String {
    format!(
        r#"[site]
domain = "flawed.test"
canonical = "https://www.flawed.test/"
subdomains = []

[smoke]
homepage_budget = "300ms"
webhook = "/webhooks/payments"

{}"#,
        routes(&[
            ("login", "login", true),
            ("checkout", "checkout", true),
            ("pricing", "landing", false),
        ])
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flawed_deploy_is_slow_forgeable_and_missing_pages() {
    let lab = Lab::start(flawed_site()).await.expect("the lab starts");
    let net =
        launchready_testkit::lab::net_for(&lab, &launchready_testkit::lab::Options::default())
            .expect("net");
    let manifest =
        Manifest::parse(&flawed_manifest(), Path::new("launchready.toml")).expect("manifest");
    let facts = smoke(&net, None, &manifest, one_sample()).await;
    let report = launchready_smoke::report(&facts, &manifest);
    let mut got = failing(&report.findings, Severity::High);
    got.sort();
    assert_eq!(
        got,
        vec![
            (
                "smoke.homepage.slow".to_string(),
                "https://www.flawed.test/".to_string()
            ),
            (
                "smoke.route.unexpected_status".to_string(),
                "https://www.flawed.test/checkout".to_string()
            ),
            (
                "smoke.route.unexpected_status".to_string(),
                "https://www.flawed.test/pricing".to_string()
            ),
            (
                "smoke.webhook.accepts_unsigned".to_string(),
                "https://www.flawed.test/webhooks/payments".to_string()
            ),
        ],
        "{}",
        describe(&report.findings)
    );
    let severity = |subject: &str| {
        report
            .findings
            .iter()
            .find(|f| f.subject == subject)
            .map(|f| f.severity)
    };
    assert_eq!(
        severity("https://www.flawed.test/checkout"),
        Some(Severity::Blocker),
        "critical"
    );
    assert_eq!(
        severity("https://www.flawed.test/pricing"),
        Some(Severity::High),
        "not critical"
    );
}

/// A plain-HTTP version endpoint on 127.0.0.1 that serves `before` to its first `switch_after` requests and
/// `after` from then on: a deploy going live while smoke waits.
fn version_server(before: &'static str, after: &'static str, switch_after: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let served = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(match stream.try_clone() {
                Ok(s) => s,
                Err(_) => continue,
            });
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                line.clear();
            }
            let n = served.fetch_add(1, Ordering::SeqCst);
            let body = format!(
                "{{\"version\":\"{}\"}}",
                if n < switch_after { before } else { after }
            );
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}/version")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_waits_for_the_new_version_and_gives_up_at_the_deadline() {
    let world = app(Mode::Healthy).await;
    let url = version_server("2.3.9", "2.4.1", 2);
    let manifest = Manifest::parse(
        &format!(
            "[site]\ndomain = \"example.test\"\ncanonical = \"https://{HOST}/\"\nsubdomains = []\n[smoke]\nversion_url = \"{url}\"\nhomepage_budget = \"60s\"\n"
        ),
        Path::new("launchready.toml"),
    )
    .expect("manifest");
    let waiting = |wanted: &str, timeout: Duration| GatherOptions {
        samples: 1,
        wait_for_version: Some(wanted.to_string()),
        wait_timeout: timeout,
        poll_interval: Duration::from_millis(50),
        ..GatherOptions::default()
    };
    // Goes live at the third poll; the checks then run.
    let live = smoke(
        &world.net,
        None,
        &manifest,
        waiting("2.4.1", Duration::from_secs(60)),
    )
    .await;
    let version = live.version.as_ref().expect("version facts");
    assert!(version.matched, "{version:?}");
    assert_eq!(version.polls, 3, "{version:?}");
    assert_eq!(version.served.as_deref(), Some("2.4.1"));
    assert!(
        live.homepage.is_some(),
        "the checks run once the version is live"
    );

    // Never goes live: one blocker, and nothing tested against the old deploy.
    let stuck = smoke(
        &world.net,
        None,
        &manifest,
        waiting("9.9.9", Duration::from_millis(400)),
    )
    .await;
    assert!(
        stuck.homepage.is_none() && stuck.routes.is_empty(),
        "{stuck:?}"
    );
    let report = launchready_smoke::report(&stuck, &manifest);
    let failing = failing(&report.findings, Severity::High);
    assert_eq!(failing.len(), 1, "{}", describe(&report.findings));
    assert_eq!(failing[0].0, "smoke.version.not_live");
    assert!(
        report.findings[0]
            .evidence
            .iter()
            .any(|l| l.contains("last served: 2.4.1")),
        "{}",
        describe(&report.findings)
    );
}
