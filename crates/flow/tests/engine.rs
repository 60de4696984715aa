//! The flow engine against an in-process hyper server on 127.0.0.1: journeys that pass, asserts that fail with
//! the right line and values, retries, skips, redirects with the cookie jar, a plugged-in backend for another
//! URL scheme, refusals at parse time, and redaction of secrets in every rendering.

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use launchready_flow::{
    Backend, Engine, FlowError, FlowResult, RunOptions, Status, Variables, exit, exit_code, render,
};
use launchready_net::{HttpRequest, HttpResponse, Net, NetConfig, RequestError};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Every test finishes well within this, or fails instead of hanging.
const WATCHDOG: Duration = Duration::from_secs(30);

struct Server {
    addr: SocketAddr,
    flaky: Arc<AtomicUsize>,
    _task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self._task.abort();
    }
}

fn reply(status: u16, headers: &[(&str, &str)], body: &str) -> Response<Full<Bytes>> {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a valid response")
}

async fn handle(
    request: Request<hyper::body::Incoming>,
    flaky: Arc<AtomicUsize>,
) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_string();
    let method = request.method().as_str().to_string();
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let cookie = header("cookie");
    let authorization = header("authorization");
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    match (method.as_str(), path.as_str()) {
        ("GET", "/") => reply(
            200,
            &[("Content-Type", "text/html; charset=utf-8")],
            "<html><head><title>Club</title></head><body><h1>Join the club</h1><a href=\"/signup\">Sign up</a></body></html>",
        ),
        ("POST", "/login") if body == "user=bob&password=s3cret%21" => reply(
            302,
            &[
                ("Location", "/member"),
                (
                    "Set-Cookie",
                    "session=abc123; Path=/; HttpOnly; SameSite=Lax",
                ),
            ],
            "",
        ),
        ("POST", "/login") => reply(401, &[], "bad credentials"),
        ("GET", "/member") if cookie.contains("session=abc123") => reply(
            200,
            &[("Content-Type", "application/json")],
            r#"{"member": {"name": "Bob", "plan": "gold", "since": "2024-01-02T03:04:05Z"}, "tags": ["a", "b", "c"], "score": 1.5}"#,
        ),
        ("GET", "/member") => reply(302, &[("Location", "/login")], ""),
        ("GET", "/flaky") => {
            if flaky.fetch_add(1, Ordering::SeqCst) < 2 {
                reply(503, &[], "not yet")
            } else {
                reply(200, &[], "ready")
            }
        }
        ("GET", "/auth") => reply(200, &[], &authorization),
        _ => reply(404, &[], "not found"),
    }
}

async fn server() -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let flaky = Arc::new(AtomicUsize::new(0));
    let shared = flaky.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let flaky = shared.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let flaky = flaky.clone();
                    async move { Ok::<_, std::convert::Infallible>(handle(request, flaky).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Server {
        addr,
        flaky,
        _task: task,
    }
}

fn net() -> Net {
    Net::new(NetConfig {
        // Only addresses are used, so no lookup happens; naming a resolver keeps resolv.conf out of it.
        resolvers: vec!["127.0.0.1:9".parse().expect("address")],
        timeout: Duration::from_secs(5),
        ..NetConfig::default()
    })
    .expect("net")
}

/// The one place the engine is called: parse `text` (with `{{base}}` set to the server), run it, return the result.
async fn run_with(
    text: &str,
    base: &str,
    options: RunOptions,
    vars: &mut Variables,
    backend: Option<(&str, Box<dyn Backend>)>,
) -> Result<FlowResult, FlowError> {
    let file = launchready_flow::parse(Path::new("journey.hurl"), text)?;
    let net = net();
    let mut engine = Engine::new(&net, options);
    if let Some((scheme, backend)) = backend {
        engine = engine.with_backend(scheme, backend);
    }
    engine.check(&file)?;
    vars.set("base", launchready_flow::Value::String(base.to_string()));
    Ok(tokio::time::timeout(WATCHDOG, engine.run(&file, vars))
        .await
        .expect("the flow finished before the watchdog"))
}

async fn run(text: &str, base: &str) -> FlowResult {
    run_with(
        text,
        base,
        RunOptions::default(),
        &mut Variables::new(),
        None,
    )
    .await
    .expect("the flow parses")
}

/// `text` run against a server of its own, which is returned for the tests that look at what it saw.
async fn run_on_server(text: &str) -> (Server, FlowResult) {
    let server = server().await;
    let result = run(text, &format!("http://{}", server.addr)).await;
    (server, result)
}

#[tokio::test]
async fn a_login_journey_passes_with_captures_cookies_and_redirects() {
    let (_server, result) = run_on_server(
        r#"
GET {{base}}/
HTTP 200
[Asserts]
xpath "string(//h1)" == "Join the club"
xpath "//a" count == 1
header "Content-Type" contains "text/html"
body contains "club"

POST {{base}}/login
[Form]
user: bob
password: s3cret!
HTTP 302
[Asserts]
header "Location" == "/member"
cookie "session[HttpOnly]" exists
cookie "session[SameSite]" == "Lax"

GET {{base}}/member
[Options]
location: true
HTTP 200
[Captures]
plan: jsonpath "$.member.plan"
[Asserts]
jsonpath "$.member.name" == "Bob"
jsonpath "$.tags" count == 3
jsonpath "$.tags[*]" contains "b"
jsonpath "$.score" > 1
jsonpath "$.member.since" isIsoDate
jsonpath "$.member.since" toDate "%Y-%m-%dT%H:%M:%SZ" dateFormat "%Y" == "2024"
variable "plan" == "gold"
url endsWith "/member"
duration < 30000
"#,
    )
    .await;
    let text = render::text(std::slice::from_ref(&result));
    assert!(result.passed(), "{text}");
    assert_eq!(exit_code(std::slice::from_ref(&result)), exit::PASSED);
    assert_eq!(result.entries.len(), 3);
    assert_eq!(result.entries[2].captures[0].value, "gold");
    assert!(
        result
            .entries
            .iter()
            .all(|e| e.exchanges[0].timings.total_ms > 0.0)
    );
    // Keep-alive: one connection for the whole journey, its cost paid by the first request only.
    let reused: Vec<bool> = result
        .entries
        .iter()
        .map(|e| e.exchanges[0].reused_connection)
        .collect();
    assert_eq!(reused, [false, true, true]);
    assert!(result.entries[0].exchanges[0].timings.connect_ms.is_some());
    assert!(result.entries[1].exchanges[0].timings.connect_ms.is_none());
}

#[tokio::test]
async fn a_failed_assert_names_its_line_with_actual_and_expected() {
    let (_server, result) = run_on_server(
        "GET {{base}}/member\nHTTP 302\n[Asserts]\nheader \"Location\" == \"/signin\"\n",
    )
    .await;
    assert!(!result.passed());
    assert_eq!(
        exit_code(std::slice::from_ref(&result)),
        exit::ASSERT_FAILED
    );
    let failed = result.entries[0]
        .asserts
        .iter()
        .find(|a| !a.passed)
        .expect("a failed assert");
    assert_eq!(failed.line, 4);
    let reason = failed.reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains("/login") && reason.contains("/signin"),
        "{reason}"
    );
    let text = render::text(std::slice::from_ref(&result));
    assert!(text.contains("response: HTTP/1.1 302"), "{text}");
}

#[tokio::test]
async fn a_wrong_status_fails_the_entry_and_stops_the_file() {
    let (_server, result) =
        run_on_server("GET {{base}}/nowhere\nHTTP 200\n\nGET {{base}}/\nHTTP 200\n").await;
    assert_eq!(result.entries.len(), 1);
    assert_eq!(result.entries[0].status, Status::Failed);
    let body = &result.entries[0].exchanges[0].body_excerpt;
    assert_eq!(body, "not found");
}

#[tokio::test]
async fn retry_waits_until_the_entry_passes() {
    let (server, result) = run_on_server(
        "GET {{base}}/flaky\n[Options]\nretry: 5\nretry-interval: 10ms\nHTTP 200\n`ready`\n",
    )
    .await;
    assert!(
        result.passed(),
        "{}",
        render::text(std::slice::from_ref(&result))
    );
    assert_eq!(result.entries[0].attempts, 3);
    assert_eq!(server.flaky.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn skipped_entries_send_nothing() {
    let (server, result) =
        run_on_server("GET {{base}}/flaky\n[Options]\nskip: true\nHTTP 200\n").await;
    assert_eq!(result.entries[0].status, Status::Skipped);
    assert_eq!(server.flaky.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn nothing_listening_is_could_not_run() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    let result = run("GET {{base}}/\nHTTP 200\n", &format!("http://{addr}")).await;
    assert_eq!(
        exit_code(std::slice::from_ref(&result)),
        exit::COULD_NOT_RUN
    );
    let error = result.entries[0].error.as_deref().unwrap_or_default();
    assert!(error.contains("refused"), "{error}");
}

#[tokio::test]
async fn secrets_and_credentials_are_redacted_in_every_rendering() {
    let server = server().await;
    let base = format!("http://{}", server.addr);
    let mut vars = Variables::new();
    vars.set_secret("token", "tok-9f8e7d".to_string());
    let result = run_with(
        "GET {{base}}/auth\n[BasicAuth]\nbob: {{token}}\nHTTP 200\n[Captures]\nechoed: body\n[Asserts]\nbody == \"nope\"\n",
        &base,
        RunOptions::default(),
        &mut vars,
        None,
    )
    .await
    .expect("parses");
    assert!(!result.passed());
    let results = std::slice::from_ref(&result);
    for rendered in [
        render::text(results),
        render::json(results),
        render::junit(results),
    ] {
        assert!(!rendered.contains("tok-9f8e7d"), "{rendered}");
        // The Authorization header's value is hidden too, whatever it encodes.
        assert!(!rendered.contains("Basic Ym9i"), "{rendered}");
    }
}

/// Parses `text` as the file `path`, which must be refused, and returns the error's message.
fn refused(path: &str, text: &str) -> String {
    launchready_flow::parse(Path::new(path), text)
        .expect_err("refused")
        .to_string()
}

#[tokio::test]
async fn unsupported_features_are_refused_with_their_position() {
    assert_eq!(
        refused(
            "flows/x.hurl",
            "GET http://127.0.0.1/\n[Options]\nproxy: http://p:3128\nHTTP 200\n",
        ),
        "flows/x.hurl:3:1: [Options] proxy is not supported by launchready flow"
    );
    let error = refused(
        "y.hurl",
        "GET http://127.0.0.1/\nHTTP 200\n[Asserts]\ncertificate \"Subject\" exists\n",
    );
    assert!(
        error.starts_with("y.hurl:4:1: the certificate query"),
        "{error}"
    );
}

#[tokio::test]
async fn syntax_errors_come_from_hurl_core_with_their_position() {
    let error = refused(
        "z.hurl",
        "GET http://127.0.0.1/\nHTTP 200\n[Asserts]\nstatus ==\n",
    );
    assert!(error.starts_with("z.hurl:4:"), "{error}");
}

#[tokio::test]
async fn mailbox_urls_are_refused_until_a_backend_is_plugged_in() {
    let flow = "GET mailbox://bob@example.com?subject=Reset\n[Options]\nretry: 3\nretry-interval: 1ms\nHTTP 200\n[Captures]\nlink: body regex /(https?:\\/\\/\\S+\\/reset\\S*)/\n";
    let refused = run_with(flow, "", RunOptions::default(), &mut Variables::new(), None)
        .await
        .expect_err("refused");
    assert!(
        refused
            .to_string()
            .contains("mailbox:// needs [mailbox] in launchready.toml"),
        "{refused}"
    );

    /// A mailbox that receives the message on the second look.
    struct FakeMailbox(AtomicUsize);
    impl Backend for FakeMailbox {
        fn send<'a>(
            &'a self,
            request: &'a HttpRequest,
        ) -> BoxFuture<'a, Result<HttpResponse, RequestError>> {
            Box::pin(async move {
                let arrived = self.0.fetch_add(1, Ordering::SeqCst) >= 1;
                assert!(
                    request
                        .url
                        .query()
                        .unwrap_or_default()
                        .contains("subject=Reset")
                );
                Ok(HttpResponse {
                    version: "HTTP/1.1".to_string(),
                    status: if arrived { 200 } else { 404 },
                    headers: vec![("Subject".to_string(), "Reset your password".to_string())],
                    body: if arrived {
                        b"Reset here: https://club.example/reset?t=42 (valid 1h)".to_vec()
                    } else {
                        Vec::new()
                    },
                    truncated: false,
                    timings: Default::default(),
                    connected_to: None,
                    tls: None,
                    reused: false,
                })
            })
        }
    }
    let mut vars = Variables::new();
    let result = run_with(
        flow,
        "",
        RunOptions::default(),
        &mut vars,
        Some(("mailbox", Box::new(FakeMailbox(AtomicUsize::new(0))))),
    )
    .await
    .expect("accepted with a backend");
    assert!(
        result.passed(),
        "{}",
        render::text(std::slice::from_ref(&result))
    );
    assert_eq!(result.entries[0].attempts, 2);
    assert_eq!(
        vars.get("link"),
        Some(&launchready_flow::Value::String(
            "https://club.example/reset?t=42".to_string()
        ))
    );
}

#[tokio::test]
async fn the_example_journeys_parse_and_only_mailbox_steps_wait_for_a_backend() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/flows");
    let net = net();
    let engine = Engine::new(&net, RunOptions::default());
    for (name, needs_mailbox) in [
        ("signup-to-payment.hurl", true),
        ("login-to-members.hurl", false),
        ("password-reset.hurl", true),
    ] {
        let file = launchready_flow::load(&dir.join(name)).expect("the example parses");
        assert!(file.ast.entries.len() >= 5, "{name}");
        match engine.check(&file) {
            Ok(()) => assert!(!needs_mailbox, "{name} should need a mailbox"),
            Err(e) => {
                assert!(needs_mailbox, "{name}: {e}");
                assert!(e.to_string().contains("mailbox:// needs [mailbox]"), "{e}");
            }
        }
    }
}
