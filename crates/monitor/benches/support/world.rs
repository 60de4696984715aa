//! A small monitor world shared by the dashboard's tests (included with `#[path]`): a manifest with a journey and
//! channels whose secrets must never show, three hours of results a minute for every planned check (and half an
//! hour of the journey's steps), checkout failing for the last ten minutes with an open incident whose alert
//! could not be delivered, a resolved incident on login whose notices arrived, and a maintenance window on the
//! member page.

use launchready_manifest::Manifest;
use launchready_monitor::dashboard::{Dashboard, NoteContext};
use launchready_monitor::{Check, CheckResult, Maintenance, NoticeKind, Notification, Store, plan};
use std::path::Path;

/// The channel secret's variable. Tests cannot set variables (no `unsafe`), so the world names one cargo sets
/// for every test run; its value plays the secret.
pub const SECRET_VAR: &str = "CARGO_MANIFEST_DIR";
/// Credentials and a query value in a webhook URL written in the manifest.
pub const URL_SECRETS: [&str; 2] = ["hookpass-9876", "qwerty-12345"];
pub const MINUTE: i64 = 60_000;

pub struct World {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub checks: Vec<Check>,
    pub note: NoteContext,
    pub now: i64,
}

impl World {
    pub fn dashboard(&self, token: Option<&str>) -> Dashboard {
        Dashboard::new(self.store.clone(), self.checks.clone())
            .maintenance(vec![Maintenance {
                start_ms: self.now - 30 * MINUTE,
                end_ms: self.now + 30 * MINUTE,
                checks: vec!["route:member".to_string()],
                reason: "database upgrade".to_string(),
            }])
            .token(token.map(str::to_string))
            .note(self.note.clone())
    }
}

pub fn secret_value() -> String {
    std::env::var(SECRET_VAR).expect("cargo sets CARGO_MANIFEST_DIR for tests and benches")
}

fn manifest(path: &Path) -> Manifest {
    let text = format!(
        r#"[site]
domain = "example.test"
canonical = "https://www.example.test/"

[[flow]]
name = "journey"
file = "{journey}"

[monitor]
owner = "founder@example.test"

[[monitor.channel]]
name = "slack"
type = "slack"
url_env = "{SECRET_VAR}"

[[monitor.channel]]
name = "hook"
type = "webhook"
url = "https://hookuser:{}@hooks.example.test/in?key={}"
"#,
        URL_SECRETS[0],
        URL_SECRETS[1],
        journey = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/flows/signup-to-payment.hurl")
            .display()
    );
    Manifest::parse(&text, path).expect("the world's manifest parses")
}

/// A deterministic spread of durations around `base`, with a slow tail.
fn latency(base: f64, n: i64) -> f64 {
    let wobble = ((n * 7919) % 97) as f64;
    if n % 50 == 0 {
        base * 4.0
    } else {
        base + wobble
    }
}

fn result(check: &str, at_ms: i64, ok: bool, duration_ms: f64) -> CheckResult {
    CheckResult {
        ok,
        status: Some(if ok { 200 } else { 502 }),
        duration_ms,
        ..CheckResult::new(check, at_ms)
    }
}

fn notice(kind: NoticeKind, rule: &str, check: &str, since_ms: i64, at_ms: i64) -> Notification {
    Notification {
        key: format!("{rule}/{check}/{since_ms}/{kind:?}"),
        kind,
        rule: rule.to_string(),
        check: check.to_string(),
        condition: "error_rate > 1% over 15m".to_string(),
        owner: "founder@example.test".to_string(),
        channels: vec!["slack".to_string()],
        since_ms,
        at_ms,
        value: Some(12.5),
        last_error: Some("502 from POST https://www.example.test/checkout".to_string()),
        context: None,
        folded: Vec::new(),
        first_step: "Try a test purchase.".to_string(),
        dashboard: None,
    }
}

/// The world in a SQLite file of its own.
pub async fn small() -> World {
    small_in(None).await
}

/// The world in `postgres` (a `postgres://` URL of an empty database) or, without one, in SQLite.
pub async fn small_in(postgres: Option<&str>) -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = manifest(&dir.path().join("launchready.toml"));
    let checks = plan(&manifest);
    let config =
        launchready_monitor::from_manifest(&manifest, &checks, Some(dir.path().join("m.db")));
    let store = match postgres {
        Some(url) => Store::open_postgres(url).await.expect("PostgreSQL store"),
        None => Store::open(&dir.path().join("m.db")).await.expect("store"),
    };
    let now = launchready_monitor::now_ms();
    let start = now - 180 * MINUTE;
    // Minute by minute, every check in turn: ids follow time, as when a monitor writes them.
    for n in 0..180 {
        for (c, check) in checks.iter().enumerate() {
            let at = start + n * MINUTE + (c as i64) * 1_000;
            let mut r = result(&check.id, at, true, latency(80.0 + 60.0 * c as f64, n));
            if check.id == "route:checkout" && n >= 170 {
                r.ok = false;
                r.status = Some(502);
                r.duration_ms = 30.0;
                r.error_kind = Some("status".into());
                r.error =
                    Some("502 from POST https://www.example.test/checkout?session=***".into());
                r.context = Some(
                    "POST /checkout HTTP/1.1\ncookie: ***\nauthorization: Bearer ***\n\nHTTP/1.1 502 Bad Gateway\ncontent-type: text/html\n\n<h1>upstream timed out</h1>"
                        .into(),
                );
            }
            if check.id == "route:login" && n == 100 {
                // A secret that reached a stored message by mistake: the dashboard must still not show it.
                r.ok = false;
                r.status = Some(500);
                r.error_kind = Some("status".into());
                r.error = Some(format!("500 with {} in the body", secret_value()));
            }
            store.insert_result(&r).await.expect("insert");
        }
    }
    // The journey's steps for the last half hour, as each run of a journey stores them.
    for n in 150..180 {
        for (k, step) in config.steps.iter().enumerate() {
            let at = start + n * MINUTE + k as i64 * 100;
            let r = result(&step.id, at, true, latency(40.0 + 10.0 * k as f64, n));
            store.insert_result(&r).await.expect("insert a step");
        }
    }
    let empty = Default::default();
    let open = notice(
        NoticeKind::Firing,
        "error rate over 1%",
        "route:checkout",
        now - 10 * MINUTE,
        now - 9 * MINUTE,
    );
    let past = notice(
        NoticeKind::Firing,
        "slow (p95 over 500ms)",
        "route:login",
        now - 150 * MINUTE,
        now - 150 * MINUTE,
    );
    store
        .commit_evaluation(&empty, std::slice::from_ref(&past), now - 150 * MINUTE)
        .await
        .expect("an incident");
    store
        .commit_evaluation(&empty, &[open], now - 9 * MINUTE)
        .await
        .expect("another incident");
    let resolved = Notification {
        kind: NoticeKind::Resolved,
        key: format!("{}-resolved", past.key),
        at_ms: now - 120 * MINUTE,
        ..past
    };
    store
        .commit_evaluation(&empty, &[resolved], now - 120 * MINUTE)
        .await
        .expect("resolution");
    // Login's notices arrived; checkout's alert did not, and its delivery error names the hook's URL.
    for row in store.pending().await.expect("outbox") {
        if row.notification.check == "route:login" {
            store
                .mark_delivered(row.id, row.notification.at_ms + 2_000)
                .await
                .expect("delivered");
        } else {
            let error = format!(
                "POST https://hookuser:{}@hooks.example.test/in?key={}: 503 Service Unavailable",
                URL_SECRETS[0], URL_SECRETS[1]
            );
            store.mark_failed(row.id, &error).await.expect("failed");
        }
    }
    World {
        note: NoteContext {
            site: manifest.apex().to_string(),
            config,
            rollback: Some("./deploy.sh rollback".to_string()),
        },
        dir,
        store,
        checks,
        now,
    }
}
