//! Every channel adapter sends to a real receiver: a local HTTP server that records what arrived (Slack, Discord,
//! ntfy, PagerDuty, the generic webhook) and a real Prometheus Alertmanager started by the test.

#![allow(clippy::unwrap_used)]

mod common;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::routing::post;
use launchready_monitor::channels::send;
use launchready_monitor::{Channel, ChannelKind, NoticeKind, Notification};
use launchready_net::{HttpRequest, Net};
use launchready_testkit::server::alertmanager::Alertmanager;
use launchready_testkit::watchdog::within;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Received = Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>;

async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let app = Router::new()
        .fallback(post(
            |State(r): State<Received>, uri: Uri, headers: HeaderMap, body: Bytes| async move {
                r.lock()
                    .unwrap()
                    .push((uri.path().to_string(), headers, body));
                "ok"
            },
        ))
        .with_state(received.clone());
    let addr = common::serve(app).await;
    (format!("http://{addr}"), received)
}

fn net() -> Net {
    common::loopback_net(Duration::from_secs(10))
}

fn notice(kind: NoticeKind) -> Notification {
    Notification {
        key: format!("checkout|flow:checkout|0|{kind:?}"),
        kind,
        rule: "checkout failing".into(),
        check: "flow:checkout".into(),
        condition: "consecutive_failures >= 3".into(),
        owner: "payments@example.test".into(),
        channels: vec![],
        since_ms: launchready_monitor::now_ms() - 60_000,
        at_ms: launchready_monitor::now_ms(),
        value: Some(3.0),
        last_error: Some("entry 9: POST https://www.example.test/checkout: HTTP 500".into()),
        context: Some("POST https://www.example.test/checkout\nHTTP 500\n".into()),
        folded: vec!["down on route:login".into()],
        first_step: "Try a test purchase".into(),
        dashboard: Some("http://127.0.0.1:8080/".into()),
    }
}

#[tokio::test]
async fn each_http_channel_delivers_what_its_service_expects() {
    within(Duration::from_secs(60), "channels", async {
        let (base, received) = receiver().await;
        let env = move |name: &str| match name {
            "SLACK_URL" => Some(format!("{base}/slack")),
            "DISCORD_URL" => Some(format!("{base}/discord")),
            "NTFY_TOKEN" => Some("tk_ntfy".into()),
            "PD_KEY" => Some("routing-key".into()),
            "HOOK_SECRET" => Some("s3cret".into()),
            _ => None,
        };
        let base = env("SLACK_URL")
            .unwrap()
            .trim_end_matches("/slack")
            .to_string();
        let channels = [
            ChannelKind::Slack {
                url_env: "SLACK_URL".into(),
            },
            ChannelKind::Discord {
                url_env: "DISCORD_URL".into(),
            },
            ChannelKind::Ntfy {
                url: format!("{base}/ntfy/launch"),
                token_env: Some("NTFY_TOKEN".into()),
            },
            ChannelKind::PagerDuty {
                routing_key_env: "PD_KEY".into(),
                url: Some(format!("{base}/pd")),
            },
            ChannelKind::Webhook {
                url: format!("{base}/hook"),
                secret_env: Some("HOOK_SECRET".into()),
            },
        ];
        let net = net();
        for kind in channels {
            let channel = Channel {
                name: "c".into(),
                kind,
            };
            send(&channel, &notice(NoticeKind::Firing), &net, &env)
                .await
                .unwrap();
        }
        let got = received.lock().unwrap().clone();
        let paths: Vec<&str> = got.iter().map(|(p, _, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["/slack", "/discord", "/ntfy/launch", "/pd", "/hook"]
        );
        let json = |i: usize| serde_json::from_slice::<serde_json::Value>(&got[i].2).unwrap();
        assert!(
            json(0)["text"]
                .as_str()
                .unwrap()
                .contains("[FIRING] checkout failing on flow:checkout")
        );
        assert!(
            json(1)["content"]
                .as_str()
                .unwrap()
                .contains("payments@example.test")
        );
        let ntfy = &got[2];
        assert_eq!(
            ntfy.1["title"],
            "[FIRING] checkout failing on flow:checkout"
        );
        assert_eq!(ntfy.1["priority"], "urgent");
        assert_eq!(ntfy.1["authorization"], "Bearer tk_ntfy");
        assert!(String::from_utf8_lossy(&ntfy.2).contains("First step: Try a test purchase"));
        assert_eq!(json(3)["event_action"], "trigger");
        assert_eq!(json(3)["routing_key"], "routing-key");
        let signature = got[4].1["x-launchready-signature"]
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(
            signature,
            format!(
                "sha256={}",
                launchready_monitor::channels::hmac_hex(b"s3cret", &got[4].2)
            )
        );
    })
    .await;
}

#[tokio::test]
async fn a_receiver_that_refuses_is_an_error_naming_the_channel() {
    let net = net();
    let channel = Channel {
        name: "gone".into(),
        kind: ChannelKind::Webhook {
            url: "http://127.0.0.1:9/hook".into(),
            secret_env: None,
        },
    };
    let error = send(&channel, &notice(NoticeKind::Firing), &net, &|_: &str| None)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("channel `gone`"), "{error}");
}

/// What Alertmanager holds, as (alertname, state) pairs.
async fn alerts(net: &Net, base: &str) -> Vec<(String, String)> {
    let request = HttpRequest {
        method: "GET".into(),
        url: format!("{base}/api/v2/alerts").parse().unwrap(),
        headers: vec![],
        body: vec![],
        insecure: false,
    };
    let response = net.request(&request).await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["labels"]["alertname"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                a["status"]["state"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn alertmanager_receives_the_alert_and_its_resolution() {
    let Some(am) = Alertmanager::start().unwrap() else {
        return;
    };
    within(Duration::from_secs(60), "alertmanager", async {
        let net = net();
        let channel = Channel {
            name: "am".into(),
            kind: ChannelKind::Alertmanager { url: am.url() },
        };
        send(&channel, &notice(NoticeKind::Firing), &net, &|_: &str| None)
            .await
            .unwrap();
        let held = alerts(&net, &am.url()).await;
        assert_eq!(
            held,
            [("checkout failing".to_string(), "active".to_string())],
            "{}",
            am.log()
        );
        send(&channel, &notice(NoticeKind::Resolved), &net, &|_: &str| {
            None
        })
        .await
        .unwrap();
        // A resolved alert (endsAt in the past) is no longer listed as active.
        let after = alerts(&net, &am.url()).await;
        assert!(
            after.iter().all(|(_, state)| state != "active"),
            "{after:?}\n{}",
            am.log()
        );
    })
    .await;
}

/// The `mail` channel to the on-call address through the SMTP server at `url`.
fn mail_channel(url: &str) -> Channel {
    Channel {
        name: "mail".into(),
        kind: ChannelKind::Email {
            url: url.to_string(),
            from: "monitor@example.test".into(),
            to: vec!["oncall@example.test".into()],
            password_env: None,
        },
    }
}

#[tokio::test]
async fn email_reaches_an_smtp_server_with_the_notice_as_its_text() {
    within(Duration::from_secs(60), "email", async {
        let sink = launchready_mailbox::SmtpSink::start(([127, 0, 0, 1], 0).into())
            .await
            .unwrap();
        let channel = mail_channel(&format!("smtp+plain://{}", sink.addr()));
        send(&channel, &notice(NoticeKind::Firing), &net(), &|_: &str| {
            None
        })
        .await
        .unwrap();
        let mails = sink.store().all();
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].envelope_to, ["oncall@example.test"]);
        assert_eq!(
            mails[0].subject.as_deref(),
            Some("[FIRING] checkout failing on flow:checkout")
        );
        assert!(
            mails[0].text.contains("First step: Try a test purchase"),
            "{}",
            mails[0].text
        );
    })
    .await;
}

#[tokio::test]
async fn email_that_requires_starttls_refuses_a_server_without_it() {
    let sink = launchready_mailbox::SmtpSink::start(([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let channel = mail_channel(&format!("smtp://{}", sink.addr()));
    let error = within(
        Duration::from_secs(60),
        "starttls",
        send(&channel, &notice(NoticeKind::Firing), &net(), &|_: &str| {
            None
        }),
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("channel `mail`"), "{error}");
    assert!(sink.store().all().is_empty());
}
