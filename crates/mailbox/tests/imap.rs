//! The IMAP source against a real Dovecot (started unprivileged on loopback by the testkit): only mail that
//! arrived after the flow started counts, plus-addressed mail is found by its To header, encodings are undone,
//! and a wrong password is a failure to run rather than "no mail yet". Also a flow whose mailbox step waits, by
//! `retry`, for mail delivered while it runs.

use launchready_flow::{Backend as _, Engine, RunOptions, Variables, render};
use launchready_mailbox::{ImapConfig, MailboxBackend};
use launchready_net::{HttpRequest, Net, NetConfig};
use launchready_testkit::server::dovecot::{Dovecot, ImapUser};
use std::time::Duration;

const USER: &str = "launch@example.test";
const PASSWORD: &str = "inbox-password-1";
const WATCHDOG: Duration = Duration::from_secs(60);

fn dovecot() -> Option<Dovecot> {
    Dovecot::start(
        "imap.lab.test",
        &[ImapUser {
            name: USER.to_string(),
            password: PASSWORD.to_string(),
        }],
    )
    .expect("dovecot starts")
}

fn config(server: &Dovecot, password: &str) -> ImapConfig {
    let mut config =
        ImapConfig::from_url(&server.url(USER), password.to_string()).expect("imap url");
    config.connect_addr = Some(server.addr());
    config.ca_file = Some(server.ca_file().to_path_buf());
    config.timeout = Duration::from_secs(15);
    config
}

fn get(url: &str) -> HttpRequest {
    HttpRequest {
        method: "GET".to_string(),
        url: url.parse().expect("url"),
        headers: Vec::new(),
        body: Vec::new(),
        insecure: false,
    }
}

fn mail(to: &str, subject: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    format!("From: Launch Lab <noreply@app.example.test>\r\nTo: {to}\r\nSubject: {subject}\r\n{extra_headers}\r\n{body}")
        .into_bytes()
}

#[tokio::test]
async fn reads_only_new_plus_addressed_mail_from_a_real_dovecot() {
    let Some(server) = dovecot() else { return };
    let body = tokio::time::timeout(WATCHDOG, async {
        // Mail from before the flow started must not count.
        server
            .deliver(
                USER,
                &mail("launch+old@example.test", "Reset your password", "", "old link\r\n"),
            )
            .expect("deliver");
        let backend = MailboxBackend::imap(config(&server, PASSWORD))
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
        let old = backend
            .send(&get("mailbox://launch+old@example.test?subject=Reset"))
            .await
            .expect("answer");
        assert_eq!(old.status, 404, "{}", String::from_utf8_lossy(&old.body));

        server
            .deliver(
                USER,
                &mail(
                    "launch+42@example.test",
                    "=?utf-8?b?UmVzZXQgeW91ciBwYXNzd29yZCDinJM=?=",
                    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n",
                    "TmV3IGxpbms6IGh0dHBzOi8vYXBwLmV4YW1wbGUudGVzdC9wYXNzd29yZC9yZXNldC9hYmMxMjMK\r\n",
                ),
            )
            .expect("deliver");
        server
            .deliver(
                USER,
                &mail("launch+42@example.test", "Newsletter", "", "not this one\r\n"),
            )
            .expect("deliver");
        let found = backend
            .send(&get("mailbox://launch+42@example.test?subject=reset&from=noreply"))
            .await
            .expect("answer");
        let headers = found.headers.clone();
        assert_eq!(found.status, 200, "{}", String::from_utf8_lossy(&found.body));
        assert!(
            headers
                .iter()
                .any(|(n, v)| n == "Subject" && v == "Reset your password ✓"),
            "{headers:?}"
        );
        // Without a filter, the newest message to the address wins.
        let newest = backend
            .send(&get("mailbox://launch+42@example.test"))
            .await
            .expect("answer");
        assert!(String::from_utf8_lossy(&newest.body).contains("not this one"));
        let other = backend
            .send(&get("mailbox://launch+7@example.test"))
            .await
            .expect("answer");
        assert_eq!(other.status, 404);
        String::from_utf8(found.body).expect("utf-8")
    })
    .await
    .expect("the IMAP checks finish");
    assert_eq!(
        body.trim(),
        "New link: https://app.example.test/password/reset/abc123"
    );
}

#[tokio::test]
async fn a_wrong_password_is_a_failure_to_run_not_an_empty_inbox() {
    let Some(server) = dovecot() else { return };
    let error = tokio::time::timeout(WATCHDOG, MailboxBackend::imap(config(&server, "wrong")))
        .await
        .expect("login finishes")
        .expect_err("login refused");
    assert!(error.to_string().contains("LOGIN"), "{error}");
}

#[tokio::test]
async fn a_flow_step_waits_by_retry_for_mail_delivered_while_it_runs() {
    let Some(server) = dovecot() else { return };
    let backend = tokio::time::timeout(WATCHDOG, MailboxBackend::imap(config(&server, PASSWORD)))
        .await
        .expect("login finishes")
        .expect("login");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("inbox.hurl");
    std::fs::write(
        &path,
        "GET mailbox://launch+flow@example.test?subject=Confirm\n[Options]\nretry: 60\nretry-interval: 250ms\n\
HTTP 200\n[Captures]\nlink: body regex /(https:\\/\\/\\S+\\/confirm\\/\\S+)/\n",
    )
    .expect("write");
    let file = launchready_flow::load(&path).expect("parses");
    let net = Net::new(NetConfig {
        resolvers: vec!["127.0.0.1:9".parse().expect("address")],
        ..NetConfig::default()
    })
    .expect("net");
    let engine =
        Engine::new(&net, RunOptions::default()).with_backend("mailbox", Box::new(backend));
    let mut vars = Variables::new();
    let deliver = async {
        // Give the step a first 404 to retry on; correctness does not depend on this pause.
        tokio::time::sleep(Duration::from_millis(600)).await;
        server
            .deliver(
                USER,
                &mail(
                    "launch+flow@example.test",
                    "Confirm your account",
                    "",
                    "https://app.example.test/confirm/t0k3n\r\n",
                ),
            )
            .expect("deliver");
    };
    let (result, ()) = tokio::time::timeout(WATCHDOG, async {
        tokio::join!(engine.run(&file, &mut vars), deliver)
    })
    .await
    .expect("the flow finishes");
    assert!(
        result.passed(),
        "{}",
        render::text(std::slice::from_ref(&result))
    );
    assert_eq!(
        vars.get("link"),
        Some(&launchready_flow::Value::String(
            "https://app.example.test/confirm/t0k3n".to_string()
        ))
    );
}
