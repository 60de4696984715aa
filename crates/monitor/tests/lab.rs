//! The monitor against the lab's membership app: checks planned from a manifest run for real, checkout is broken
//! on purpose, and the right alert reaches a local webhook receiver once (signed), then resolves; a restart on
//! the same database sends nothing again. Time is the wall clock, but nothing asserts on it. Also a journey that
//! reads its mail from an IMAP inbox (a real Dovecot) as a check.

// Helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used)]

mod common;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use launchready_lab::app::{MemberApp, Mode};
use launchready_mailbox::SmtpSink;
use launchready_manifest::{Flow, Manifest};
use launchready_monitor::channels::{SIGNATURE_HEADER, hmac_hex};
use launchready_monitor::{
    Channel, ChannelKind, FlowContext, Monitor, MonitorConfig, Schedule, Store, default_rules, plan,
};
use launchready_net::Net;
use launchready_testkit::watchdog::within;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A local receiver that records every POST.
async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let app = Router::new()
        .route(
            "/hook",
            post(
                |State(r): State<Received>, headers: HeaderMap, body: Bytes| async move {
                    r.lock().unwrap().push((headers, body));
                    "ok"
                },
            ),
        )
        .with_state(received.clone());
    let addr = common::serve(app).await;
    (format!("http://{addr}/hook"), received)
}

fn journey() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/flows/signup-to-payment.hurl")
}

struct Lab {
    _sink: SmtpSink,
    app: MemberApp,
    net: Arc<Net>,
    channel_net: Arc<Net>,
    context: FlowContext,
    manifest: Manifest,
}

async fn lab() -> Lab {
    let (sink, app) = common::member_app().await;
    let net = common::app_net(
        &app.connect_to_args(),
        app.ca_file(),
        Duration::from_secs(10),
    );
    let channel_net = common::loopback_net(Duration::from_secs(10));
    let mut manifest = Manifest::for_domain("example.test").unwrap();
    manifest.site.canonical_url = "https://www.example.test/".parse().unwrap();
    manifest.flows.push(Flow {
        name: "checkout".into(),
        file: journey(),
    });
    let mut vars = launchready_flow::Variables::new();
    vars.set("base_url", launchready_flow::Value::String(app.base_url()));
    let context = FlowContext {
        vars,
        mailbox: Some(sink.store()),
    };
    Lab {
        _sink: sink,
        app,
        net: Arc::new(net),
        channel_net: Arc::new(channel_net),
        context,
        manifest,
    }
}

fn monitor(lab: &Lab, store: Store, hook: &str) -> Monitor {
    let checks = plan(&lab.manifest);
    let channels = vec![Channel {
        name: "team-webhook".into(),
        kind: ChannelKind::Webhook {
            url: hook.to_string(),
            secret_env: Some("HOOK_SECRET".into()),
        },
    }];
    let rules = default_rules(&checks, &channels, "payments@example.test");
    let config = MonitorConfig {
        schedule: Schedule::default(),
        schedules: Default::default(),
        rules,
        channels,
        maintenance: Vec::new(),
        database: PathBuf::new(),
        dashboard_url: Some("http://127.0.0.1:8080/".into()),
        owner: "payments@example.test".into(),
        retention: launchready_monitor::store::DEFAULT_RETENTION,
        hourly_retention: None,
        steps: Vec::new(),
    };
    Monitor::new(
        config,
        checks,
        store,
        lab.net.clone(),
        lab.channel_net.clone(),
        lab.context.clone(),
    )
    .unwrap()
    .with_env(|name| (name == "HOOK_SECRET").then(|| "hook-secret".to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_checkout_pages_once_then_resolves_and_a_restart_resends_nothing() {
    within(
        Duration::from_secs(240),
        "the monitor against the lab",
        async {
            let lab = lab().await;
            let dir = tempfile::tempdir().unwrap();
            let db = dir.path().join("monitor.db");
            let (hook, received) = receiver().await;
            let m = monitor(&lab, Store::open(&db).await.unwrap(), &hook);
            let ids: Vec<&str> = m.checks.iter().map(|c| c.id.as_str()).collect();
            assert_eq!(
                ids,
                [
                    "landing",
                    "route:login",
                    "route:checkout",
                    "route:member",
                    "flow:checkout",
                    "tls:www.example.test"
                ]
            );

            let healthy = m.once().await.unwrap();
            let down: Vec<_> = healthy.results.iter().filter(|r| !r.ok).collect();
            assert!(down.is_empty(), "healthy lab has failing checks: {down:#?}");
            assert!(
                healthy
                    .results
                    .iter()
                    .any(|r| r.cert_expires_at_ms.is_some())
            );

            lab.app.set_mode(Mode::CheckoutError);
            for _ in 0..3 {
                let summary = m.once().await.unwrap();
                let failed: Vec<&str> = summary
                    .results
                    .iter()
                    .filter(|r| !r.ok)
                    .map(|r| r.check.as_str())
                    .collect();
                assert_eq!(failed, ["flow:checkout"], "{:#?}", summary.results);
                assert!(
                    summary.delivery_errors.is_empty(),
                    "{:?}",
                    summary.delivery_errors
                );
            }
            {
                let got = received.lock().unwrap();
                assert_eq!(got.len(), 1, "expected one page, got {}", got.len());
                let (headers, body) = &got[0];
                let signature = headers.get(SIGNATURE_HEADER).unwrap().to_str().unwrap();
                assert_eq!(
                    signature,
                    format!("sha256={}", hmac_hex(b"hook-secret", body))
                );
                let json: serde_json::Value = serde_json::from_slice(body).unwrap();
                assert_eq!(json["kind"], "firing");
                assert_eq!(json["rule"], "checkout failing");
                assert_eq!(json["check"], "flow:checkout");
                assert_eq!(json["owner"], "payments@example.test");
                let error = json["last_error"].as_str().unwrap();
                assert!(error.contains("/checkout"), "{error}");
                let text = json["text"].as_str().unwrap();
                assert!(text.contains("First step: Try a test purchase"), "{text}");
                // The failure context is there, with the member's address masked.
                let context = json["context"].as_str().unwrap();
                assert!(context.contains("HTTP 500"), "{context}");
                assert!(!context.contains("@example.test"), "{context}");
            }

            lab.app.set_mode(Mode::Healthy);
            for _ in 0..2 {
                m.once().await.unwrap();
            }
            let kinds: Vec<String> = received
                .lock()
                .unwrap()
                .iter()
                .map(|(_, body)| {
                    let json: serde_json::Value = serde_json::from_slice(body).unwrap();
                    format!(
                        "{} {} {}",
                        json["kind"].as_str().unwrap(),
                        json["rule"].as_str().unwrap(),
                        json["check"].as_str().unwrap()
                    )
                })
                .collect();
            assert_eq!(
                kinds,
                [
                    "firing checkout failing flow:checkout",
                    "resolved checkout failing flow:checkout"
                ]
            );
            let incidents = m.store.incidents(10).await.unwrap();
            assert_eq!(incidents.len(), 1);
            assert!(incidents[0].resolved_ms.is_some());

            // A restart on the same file: state and outbox are where they were; nothing is sent again.
            let results_before = m.store.result_count().await.unwrap();
            m.store.close().await;
            drop(m);
            let again = monitor(&lab, Store::open(&db).await.unwrap(), &hook);
            assert_eq!(again.store.result_count().await.unwrap(), results_before);
            let (delivered, errors) = again.deliver().await.unwrap();
            assert_eq!((delivered, errors.len()), (0, 0));
            assert_eq!(
                again.evaluate(launchready_monitor::now_ms()).await.unwrap(),
                0
            );
            assert_eq!(received.lock().unwrap().len(), 2);
        },
    )
    .await;
}

/// A journey whose `[mailbox]` is an IMAP inbox, as a monitor check against a real Dovecot: the mailbox is set
/// up from the manifest the way `smoke` sets it up (`MailboxRun`), each run logs in afresh, the step that waits
/// for mail passes once it arrives and is recorded as its own step, and a wrong password is a down result that
/// says so rather than "no mail yet".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journeys_read_mail_from_an_imap_inbox() {
    use launchready_mailbox::{MailboxRun, Reach};
    use launchready_monitor::checks::{self, JourneyContext, JourneyMailbox};
    use launchready_testkit::server::dovecot::{Dovecot, ImapUser};

    const USER: &str = "launch@example.test";
    const PASSWORD: &str = "inbox-password-1";
    let Some(server) = Dovecot::start(
        "imap.lab.test",
        &[ImapUser {
            name: USER.to_string(),
            password: PASSWORD.to_string(),
        }],
    )
    .unwrap() else {
        return;
    };
    within(Duration::from_secs(120), "an IMAP journey as a check", async {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("inbox.hurl"),
            "GET mailbox://launch+monitor@example.test?subject=Confirm\n[Options]\nretry: 60\nretry-interval: 250ms\n\
HTTP 200\n[Captures]\nlink: body regex /(https:\\/\\/\\S+\\/confirm\\/\\S+)/\n",
        )
        .unwrap();
        let text = format!(
            "[site]\ndomain = \"example.test\"\n\n[[flow]]\nname = \"inbox\"\nfile = \"inbox.hurl\"\n\n[mailbox]\nimap = \"{}\"\npassword_env = \"INBOX_PASSWORD\"\n",
            server.url(USER)
        );
        let manifest = Manifest::parse(&text, &dir.path().join("launchready.toml")).unwrap();
        let check = plan(&manifest)
            .into_iter()
            .find(|c| c.id == "flow:inbox")
            .unwrap();
        let flow = launchready_flow::load(&dir.path().join("inbox.hurl")).unwrap();
        let flows = std::collections::HashMap::from([(check.id.clone(), flow)]);
        let reach = Reach {
            connect_to: vec![
                format!("{}:{}:{}", server.host(), server.addr().port(), server.addr())
                    .parse()
                    .unwrap(),
            ],
            ca_files: vec![server.ca_file().to_path_buf()],
        };
        let setup = manifest.mailbox.clone().unwrap();
        let run = MailboxRun::start(&setup, &reach, |name| {
            (name == "INBOX_PASSWORD").then(|| PASSWORD.to_string())
        })
        .await
        .unwrap();
        let context = JourneyContext {
            vars: launchready_flow::Variables::new(),
            mailbox: Some(JourneyMailbox::from_run(&run)),
        };
        let net = common::loopback_net(Duration::from_secs(10));
        let deliver = async {
            // Give the step a first "no mail yet" to retry on; the outcome does not depend on this pause.
            tokio::time::sleep(Duration::from_millis(600)).await;
            server
                .deliver(
                    USER,
                    b"From: Launch Lab <noreply@app.example.test>\r\nTo: launch+monitor@example.test\r\nSubject: Confirm your account\r\n\r\nhttps://app.example.test/confirm/t0k3n\r\n",
                )
                .unwrap();
        };
        let (results, ()) = tokio::join!(
            checks::run_with_steps(&check, &net, &flows, &context, 1),
            deliver
        );
        assert!(results[0].ok, "{:#?}\n{}", results, server.log());
        assert_eq!(results.len(), 2, "{results:#?}");
        assert_eq!(
            results[1].check,
            "flow:inbox#GET mailbox://launch+monitor@example.test"
        );
        assert!(results[1].ok);
        assert_eq!(results[1].status, Some(200));

        let wrong = JourneyContext {
            vars: launchready_flow::Variables::new(),
            mailbox: Some(JourneyMailbox::Imap(
                launchready_mailbox::ImapConfig {
                    password: "not-the-password".into(),
                    ..match JourneyMailbox::from_run(&run) {
                        JourneyMailbox::Imap(config) => config,
                        JourneyMailbox::Sink(_) => unreachable!("an IMAP setup"),
                    }
                },
            )),
        };
        let refused = checks::run_with_steps(&check, &net, &flows, &wrong, 2).await;
        assert_eq!(refused.len(), 1, "{refused:#?}");
        assert!(!refused[0].ok);
        assert_eq!(refused[0].error_kind.as_deref(), Some("mailbox"));
        let error = refused[0].error.as_deref().unwrap();
        assert!(error.contains("LOGIN"), "{error}");
        assert!(!error.contains("not-the-password"), "{error}");
    })
    .await;
}
