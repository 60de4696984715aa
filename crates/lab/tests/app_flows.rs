//! The roadmap's three journeys (examples/flows/*.hurl) against the lab's membership app, through the flow
//! engine with the SMTP-sink mailbox: each passes against the healthy app, and each broken mode fails the
//! journey it breaks at the step it breaks. Plus the app's own contract: webhook signatures, CSRF, password
//! rules, single-use and expiring links, health and version.

use launchready_flow::{Engine, FlowFile, FlowResult, RunOptions, Status, Variables, render};
use launchready_lab::app::{AppConfig, MemberApp, Mode, SIGNATURE_HEADER, sign_webhook};
use launchready_mailbox::{MailboxBackend, SmtpSink};
use launchready_net::{HttpRequest, Net, NetConfig};
use launchready_testkit::lab::app_config;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A run that takes longer than this has hung: fail instead of waiting forever.
const WATCHDOG: Duration = Duration::from_secs(120);
const MEMBER: &str = "member@example.test";
const PASSWORD: &str = "Correct-Horse-42";
/// Longer than the login flow's `duration < 2000`.
const SLOW: Duration = Duration::from_millis(2500);

struct World {
    sink: SmtpSink,
    app: MemberApp,
    net: Net,
}

async fn world(mode: Mode) -> World {
    let (sink, app) = app_with(|config| config.mode(mode)).await;
    let net = net_for(&app);
    World { sink, app, net }
}

/// The app and its mail sink, the app configured by `configure`, with the member already signed up.
async fn app_with(configure: impl FnOnce(AppConfig) -> AppConfig) -> (SmtpSink, MemberApp) {
    let sink = SmtpSink::start("127.0.0.1:0".parse().expect("address"))
        .await
        .expect("sink starts");
    let app = MemberApp::start(configure(AppConfig::new(sink.addr())))
        .await
        .expect("app starts");
    assert!(app.add_member(MEMBER, PASSWORD));
    (sink, app)
}

/// A client that reaches the app by its connect-to rules and trusts its CA.
fn net_for(app: &MemberApp) -> Net {
    Net::new(app_config(app, Duration::from_secs(10))).expect("net")
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/flows")
        .join(name)
}

/// `name` from examples/flows against the world's app, as the member.
async fn run(world: &World, name: &str) -> FlowResult {
    let file = launchready_flow::load(&example(name)).expect("the example parses");
    run_file(world, &file, true).await
}

/// The one place the engine runs: `file` against the world's app with the mailbox plugged in; `as_member`
/// passes the member's email and password as variables.
async fn run_file(world: &World, file: &FlowFile, as_member: bool) -> FlowResult {
    let engine = Engine::new(&world.net, RunOptions::default()).with_backend(
        "mailbox",
        Box::new(MailboxBackend::sink(world.sink.store())),
    );
    engine.check(file).expect("every scheme has a backend");
    let mut vars = Variables::new();
    vars.set(
        "base_url",
        launchready_flow::Value::String(world.app.base_url()),
    );
    if as_member {
        vars.set("email", launchready_flow::Value::String(MEMBER.to_string()));
        vars.set_secret("password", PASSWORD.to_string());
    }
    tokio::time::timeout(WATCHDOG, engine.run(file, &mut vars))
        .await
        .expect("the flow finishes")
}

/// The 1-based line of the first line of `name` containing `needle` (the step a failure should name).
fn line_of(name: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(example(name)).expect("read example");
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("{needle:?} not in {name}"))
}

fn check_passes(result: &FlowResult) {
    assert!(
        result.passed(),
        "expected a pass:\n{}",
        render::text(std::slice::from_ref(result))
    );
    assert!(result.entries.iter().all(|e| e.status == Status::Passed));
}

/// The run failed, first at the step on `line`, with nothing after it run.
fn check_fails_at(result: &FlowResult, line: usize) {
    let report = render::text(std::slice::from_ref(result));
    let failed: Vec<usize> = result
        .entries
        .iter()
        .filter(|e| e.status == Status::Failed)
        .map(|e| e.line)
        .collect();
    assert_eq!(failed, [line], "wrong failing step:\n{report}");
    assert!(
        !result.transport_failed(),
        "an assert should fail, not the network:\n{report}"
    );
    let last = result.entries.last().map(|e| e.line);
    assert_eq!(last, Some(line), "the run should stop there:\n{report}");
}

/// Against the app broken by `mode`, `journey` fails at its step containing `needle`, and the login journey,
/// which that mode leaves alone, still passes.
async fn check_breaks_only(mode: Mode, journey: &str, needle: &str) {
    let world = world(mode).await;
    check_fails_at(&run(&world, journey).await, line_of(journey, needle));
    check_passes(&run(&world, LOGIN).await);
}

const SIGNUP: &str = "signup-to-payment.hurl";
const LOGIN: &str = "login-to-members.hurl";
const RESET: &str = "password-reset.hurl";

#[tokio::test]
async fn all_three_journeys_pass_against_the_healthy_app() {
    let world = world(Mode::Healthy).await;
    for name in [SIGNUP, LOGIN, RESET] {
        check_passes(&run(&world, name).await);
    }
    // Signup sent one confirmation, the reset one link; both were read from the sink.
    let subjects: Vec<String> = world
        .sink
        .store()
        .all()
        .into_iter()
        .filter_map(|m| m.subject)
        .collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(subjects.iter().any(|s| s.contains("Confirm")));
    assert!(subjects.iter().any(|s| s.contains("Reset")));
}

#[tokio::test]
async fn checkout_error_fails_the_signup_journey_at_checkout_only() {
    check_breaks_only(Mode::CheckoutError, SIGNUP, "POST {{base_url}}/checkout").await;
}

#[tokio::test]
async fn slow_login_fails_the_login_journey_at_the_login_post() {
    let world = world(Mode::SlowLogin(SLOW)).await;
    let result = run(&world, LOGIN).await;
    check_fails_at(&result, line_of(LOGIN, "POST {{base_url}}/login"));
    let failed = result.entries.last().expect("an entry");
    assert!(
        failed
            .asserts
            .iter()
            .any(|a| !a.passed && a.label.contains("duration")),
        "the duration assert is the one that failed: {:?}",
        failed.asserts
    );
}

#[tokio::test]
async fn a_broken_reset_link_fails_the_reset_journey_when_followed() {
    check_breaks_only(Mode::BrokenResetLink, RESET, "GET {{reset_link}}").await;
}

#[tokio::test]
async fn expired_sessions_fail_each_journey_at_its_first_member_page() {
    let world = world(Mode::ExpiredSession).await;
    // The login journey's second `GET /members` (the first is the anonymous one).
    let login = run(&world, LOGIN).await;
    let text = std::fs::read_to_string(example(LOGIN)).expect("read");
    let second_members = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("GET {{base_url}}/members"))
        .nth(1)
        .map(|(i, _)| i + 1)
        .expect("two member-area steps");
    check_fails_at(&login, second_members);
    check_fails_at(
        &run(&world, SIGNUP).await,
        line_of(SIGNUP, "GET {{base_url}}/members"),
    );
    // Re-entry after a reset lands on the login page instead of the member area.
    let reset = run(&world, RESET).await;
    let last_post = text_last_line(RESET, "POST {{base_url}}/login");
    check_fails_at(&reset, last_post);
}

fn text_last_line(name: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(example(name)).expect("read example");
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .last()
        .expect("present")
}

#[tokio::test]
async fn a_mode_can_be_switched_while_the_app_runs() {
    let world = world(Mode::Healthy).await;
    check_passes(&run(&world, LOGIN).await);
    world.app.set_mode(Mode::ExpiredSession);
    assert!(!run(&world, LOGIN).await.passed());
    world.app.set_mode(Mode::Healthy);
    check_passes(&run(&world, LOGIN).await);
}

// ---- the app's contract, request by request ----

async fn send(
    world: &World,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let request = HttpRequest {
        method: method.to_string(),
        url: format!("{}{path}", world.app.base_url())
            .parse()
            .expect("url"),
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        body: body.to_vec(),
        insecure: false,
    };
    let response = world
        .net
        .session(false)
        .send(&request)
        .await
        .expect("the app answers");
    (
        response.status,
        String::from_utf8_lossy(&response.body).into_owned(),
    )
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

#[tokio::test]
async fn the_webhook_refuses_unsigned_and_badly_signed_payloads() {
    let world = world(Mode::Healthy).await;
    let body = br#"{"id":"evt_x","type":"payment.succeeded","order":"ord_nope"}"#;
    let json = ("Content-Type", "application/json");
    let (status, text) = send(&world, "POST", "/webhooks/payments", &[json], body).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("missing"), "{text}");
    let secret = world.app.webhook_secret().as_bytes();
    for (signature, expected) in [
        (sign_webhook(b"not-the-secret", unix_now(), body), 401),
        (sign_webhook(secret, unix_now() - 3600, body), 401),
        // Correctly signed, it is read: this order does not exist.
        (sign_webhook(secret, unix_now(), body), 404),
    ] {
        let (status, text) = send(
            &world,
            "POST",
            "/webhooks/payments",
            &[json, (SIGNATURE_HEADER, &signature)],
            body,
        )
        .await;
        assert_eq!(status, expected, "{signature}: {text}");
    }
    let (status, _) = send(&world, "GET", "/webhooks/payments", &[], b"").await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn health_and_version_answer_json() {
    let world = world(Mode::Healthy).await;
    assert_eq!(
        send(&world, "GET", "/healthz", &[], b"").await,
        (200, r#"{"status":"ok"}"#.to_string())
    );
    assert_eq!(
        send(&world, "GET", "/version", &[], b"").await,
        (200, r#"{"version":"1.0.0"}"#.to_string())
    );
}

/// Runs an inline flow (for the app's refusals) with the mailbox plugged in.
async fn run_text(world: &World, text: &str) -> FlowResult {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("case.hurl");
    std::fs::write(&path, text).expect("write");
    let file = launchready_flow::load(&path).expect("parses");
    run_file(world, &file, false).await
}

#[tokio::test]
async fn forms_refuse_a_missing_csrf_token_and_weak_passwords() {
    let world = world(Mode::Healthy).await;
    let result = run_text(
        &world,
        r#"
POST {{base_url}}/signup
[Form]
email: new@example.test
password: Correct-Horse-42
HTTP 403

GET {{base_url}}/signup
HTTP 200
[Captures]
csrf: xpath "string(//input[@name='csrf_token']/@value)"

POST {{base_url}}/signup
[Form]
csrf_token: forged.0000
email: new@example.test
password: Correct-Horse-42
HTTP 403

POST {{base_url}}/signup
[Form]
csrf_token: {{csrf}}
email: new@example.test
password: short
HTTP 422
[Asserts]
body contains "at least 12 characters"
body contains "upper-case"

POST {{base_url}}/signup
[Form]
csrf_token: {{csrf}}
email: member@example.test
password: Another-Horse-42
HTTP 422
[Asserts]
body contains "already has an account"

POST {{base_url}}/login
[Form]
csrf_token: {{csrf}}
email: member@example.test
password: Wrong-Horse-42
HTTP 401
"#,
    )
    .await;
    check_passes(&result);
    assert!(
        world.sink.store().all().is_empty(),
        "no mail for refused forms"
    );
}

#[tokio::test]
async fn links_are_single_use_and_an_unconfirmed_member_cannot_log_in() {
    let world = world(Mode::Healthy).await;
    let result = run_text(
        &world,
        r#"
GET {{base_url}}/signup
[Options]
variable: email=fresh+{{newUuid}}@example.test
HTTP 200
[Captures]
csrf: xpath "string(//input[@name='csrf_token']/@value)"

POST {{base_url}}/signup
[Form]
csrf_token: {{csrf}}
email: {{email}}
password: Correct-Horse-42
HTTP 303

POST {{base_url}}/login
[Form]
csrf_token: {{csrf}}
email: {{email}}
password: Correct-Horse-42
HTTP 403
[Asserts]
body contains "Confirm your email address first"

GET mailbox://{{email}}?subject=Confirm&from=noreply
[Options]
retry: 30
retry-interval: 200ms
HTTP 200
[Captures]
link: body regex /(https:\/\/\S+\/confirm\/\S+)/
[Asserts]
header "From" contains "noreply@app.example.test"
body contains "bienvenue"

GET {{link}}
HTTP 303

GET {{link}}
HTTP 410

GET {{base_url}}/confirm/not-a-token
HTTP 404

GET mailbox://{{email}}?subject=Reset
HTTP 404
"#,
    )
    .await;
    check_passes(&result);
}

#[tokio::test]
async fn an_expired_reset_link_is_gone() {
    let (sink, app) = app_with(|mut config| {
        config.reset_ttl = Duration::ZERO;
        config
    })
    .await;
    let net = net_for(&app);
    let world = World { sink, app, net };
    let result = run_text(
        &world,
        r#"
GET {{base_url}}/password/reset
HTTP 200
[Captures]
csrf: xpath "string(//input[@name='csrf_token']/@value)"

POST {{base_url}}/password/reset
[Form]
csrf_token: {{csrf}}
email: member@example.test
HTTP 303

GET mailbox://member@example.test?subject=Reset
[Options]
retry: 30
retry-interval: 200ms
HTTP 200
[Captures]
link: body regex /(https:\/\/\S+\/password\/reset\/\S+)/

GET {{link}}
HTTP 410
[Asserts]
body contains "expired"
"#,
    )
    .await;
    check_passes(&result);
}

#[tokio::test]
async fn the_app_is_reached_through_the_lab_dns_beside_the_lab_sites() {
    let (sink, app) = app_with(|config| config).await;
    let lab = launchready_lab::Lab::start(
        launchready_lab::Scenario::new()
            .zone(launchready_lab::Zone::new("example.test").record(app.dns_record())),
    )
    .await
    .expect("lab");
    // Only the port is redirected (an empty HOST2 keeps the name), so the address comes from the lab's DNS. The
    // app's rule goes first: the lab's catch-all :443 rule would otherwise take the app's traffic too.
    let rules = std::iter::once(format!("{}:443::{}", app.host(), app.addr().port()))
        .chain(lab.connect_to_args())
        .map(|r| r.parse().expect("rule"))
        .collect();
    let net = Net::new(NetConfig {
        resolvers: vec![lab.dns_addr()],
        connect_to: rules,
        ca_files: vec![app.ca_file().to_path_buf(), lab.ca_file().to_path_buf()],
        timeout: Duration::from_secs(10),
        ..NetConfig::default()
    })
    .expect("net");
    let world = World { sink, app, net };
    check_passes(&run(&world, LOGIN).await);
}
