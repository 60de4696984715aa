//! End-to-end tests of `launchready monitor` and `incident-note`: the real binary against the lab's membership
//! app (reached with --connect-to and --ca-file), a local webhook receiver that records what arrived, and the
//! SQLite file read back with the monitor's own store. Checkout is broken on purpose: the right alert arrives
//! once, survives `kill -9` and a restart without being sent again, then resolves.

#![allow(clippy::unwrap_used)]

use launchready_lab::app::{AppConfig, Mode};
use launchready_monitor::Store;
use launchready_testkit::cli::{
    Cli, Project, Reply, Run, ServedApp, free_addr, serve_http, wait_for, wait_until,
};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

type Received = Arc<Mutex<Vec<String>>>;

/// A webhook receiver: records each POST body, answers 200.
fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let sink = received.clone();
    let addr = serve_http(move |request| {
        sink.lock()
            .unwrap()
            .push(String::from_utf8_lossy(&request.body).into_owned());
        Reply::ok("ok")
    });
    (format!("http://{addr}/hook"), received)
}

struct Lab {
    served: ServedApp,
    project: Project,
    received: Received,
}

impl Lab {
    /// The app sends its mail to the SMTP sink the monitor starts from `[mailbox] smtp_listen`.
    fn start(every: &str) -> Lab {
        let mut config = AppConfig::new(free_addr());
        config.host = "www.example.test".into();
        let served = ServedApp::start(config);
        let (hook, received) = receiver();
        let journey = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/flows/signup-to-payment.hurl");
        let manifest = format!(
            r#"[site]
domain = "example.test"
canonical = "https://www.example.test/"

[[flow]]
name = "checkout"
file = "{journey}"

{mailbox}
[monitor]
phases = [{{ every = "{every}" }}]
jitter = 0.0
owner = "payments@example.test"

[[monitor.channel]]
name = "team"
type = "webhook"
url = "{hook}"
secret_env = "MONITOR_HOOK_SECRET"
"#,
            journey = journey.display(),
            mailbox = served.mailbox_table(),
        );
        Lab {
            served,
            project: Project::with_manifest(&manifest),
            received,
        }
    }

    /// The binary with `args` in the project; `monitor` also gets the flags that reach the app.
    fn cli(&self, args: &[&str]) -> Cli {
        let cli = self
            .project
            .cli(Cli::new(env!("CARGO_BIN_EXE_launchready")))
            .args(args)
            .env("MONITOR_HOOK_SECRET", "hook-secret")
            .limit(LIMIT);
        if args[0] == "monitor" {
            cli.args(self.served.flags())
        } else {
            cli
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        self.cli(args).run()
    }

    fn db(&self) -> PathBuf {
        self.project.join("launchready-monitor.db")
    }

    fn notices(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|body| {
                let json: serde_json::Value = serde_json::from_str(body).unwrap();
                format!(
                    "{} {} {}",
                    json["kind"].as_str().unwrap(),
                    json["rule"].as_str().unwrap(),
                    json["check"].as_str().unwrap()
                )
            })
            .collect()
    }
}

#[test]
fn once_exits_0_when_up_and_1_when_checkout_fails_and_pages_once_then_resolves() {
    let lab = Lab::start("1m");
    let up = lab.run(&["monitor", "--once"]);
    up.code(0).stdout_has(&["6 checks, 0 down"]);
    for check in [
        "landing",
        "route:login",
        "route:checkout",
        "route:member",
        "flow:checkout",
        "tls:www.example.test",
    ] {
        assert!(
            up.stdout
                .lines()
                .any(|l| l.starts_with(check) && l.contains(" up ")),
            "{check} not up:\n{}",
            up.stdout
        );
    }

    lab.served.app.set_mode(Mode::CheckoutError);
    for _ in 0..4 {
        lab.run(&["monitor", "--once"])
            .code(1)
            .stdout_has(&["6 checks, 1 down"]);
    }
    assert_eq!(lab.notices(), ["firing checkout failing flow:checkout"]);
    let body = lab.received.lock().unwrap()[0].clone();
    assert!(body.contains("payments@example.test"), "{body}");
    assert!(
        !body.contains("launch+"),
        "a member's address leaked: {body}"
    );

    lab.served.app.set_mode(Mode::Healthy);
    for _ in 0..2 {
        lab.run(&["monitor", "--once"]).code(0);
    }
    assert_eq!(
        lab.notices(),
        [
            "firing checkout failing flow:checkout",
            "resolved checkout failing flow:checkout"
        ]
    );
    lab.run(&["incident-note"]).code(0).stdout_has(&[
        "# Incident note: example.test",
        "No incident is open.",
        "## What to check first",
        "`flow:checkout`",
        "payments@example.test",
        "## Rolling back",
    ]);
}

fn store_figures(db: &Path) -> (i64, bool, i64) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = Store::open(db).await.unwrap();
        let results = store.result_count().await.unwrap();
        let firing = store
            .states()
            .await
            .unwrap()
            .iter()
            .any(|((rule, check), s)| {
                rule == "checkout failing" && check == "flow:checkout" && s.firing
            });
        let delivered = store.delivered_count().await.unwrap();
        store.close().await;
        (results, firing, delivered)
    })
}

#[test]
fn kill_9_loses_no_result_and_a_restart_does_not_resend() {
    let lab = Lab::start("1s");
    lab.served.app.set_mode(Mode::CheckoutError);
    let running = lab.cli(&["monitor"]).spawn();
    wait_until(LIMIT, "the alert to fire and be delivered", || {
        lab.db().is_file() && !lab.received.lock().unwrap().is_empty()
    });
    let (before, _, _) = store_figures(&lab.db());
    running.kill(); // SIGKILL
    let (after, firing, delivered) = store_figures(&lab.db());
    assert!(after >= before, "results went from {before} to {after}");
    assert!(firing, "the alert state was lost");
    assert!(delivered >= 1);

    // Restarted while checkout still fails: nothing new is sent.
    lab.run(&["monitor", "--once"]).code(1);
    assert_eq!(lab.notices(), ["firing checkout failing flow:checkout"]);
}

#[test]
fn dashboard_serves_status_metrics_and_health_on_loopback() {
    let lab = Lab::start("1s");
    let addr = free_addr();
    let running = lab.cli(&["monitor", "--listen", &addr.to_string()]).spawn();
    let get = |path: &str| -> Option<String> {
        let mut stream = TcpStream::connect(addr).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut out = String::new();
        stream.read_to_string(&mut out).ok()?;
        Some(out)
    };
    let metrics = wait_for(LIMIT, "the landing check in /metrics", || {
        get("/metrics").filter(|t| t.contains("launchready_check_up{check=\"landing\"} 1"))
    });
    assert!(
        metrics.contains("launchready_open_incidents 0"),
        "{metrics}"
    );
    assert!(get("/healthz").unwrap().ends_with("ok\n"));
    let page = get("/").unwrap();
    assert!(
        page.contains("launchready monitor") && page.contains("flow:checkout"),
        "{page}"
    );
    // The binary hands the dashboard the manifest, so the note page is the note, not a pointer to the command.
    let note = get("/note").unwrap();
    assert!(
        note.contains("What to check first") && note.contains("Who owns what"),
        "{note}"
    );
    running.kill();
}

#[test]
fn refusals_are_usage_errors() {
    let lab = Lab::start("1m");
    lab.run(&["monitor", "--listen", "0.0.0.0:8080"])
        .code(2)
        .stderr_has(&["without a token"]);

    let mut text = lab.project.read("launchready.toml");
    text.push_str("\n[[alert]]\nname = \"slow\"\nchecks = [\"landing\"]\ncondition = \"p(95) > 500ms ovr 15m\"\n");
    lab.project.write("launchready.toml", text);
    lab.run(&["monitor", "--once"])
        .code(2)
        .stderr_has(&["launchready.toml:", "cannot read"]);
}

#[test]
fn an_alert_on_a_step_the_journey_lacks_is_refused_and_an_imap_inbox_is_accepted() {
    let lab = Lab::start("1m");
    let original = lab.project.read("launchready.toml");
    let mut text = original.clone();
    text.push_str("\n[[alert]]\nname = \"slow pay\"\nchecks = [\"flow:checkout#POST /nowhere\"]\ncondition = \"p(95) > 500ms over 15m\"\n");
    lab.project.write("launchready.toml", text);
    lab.run(&["monitor", "--once"])
        .code(2)
        .stderr_has(&["flow:checkout#POST /nowhere"]);

    // IMAP is read like the smoke command reads it: here the password variable is missing, which is the
    // inbox's own usage error, not a refusal of IMAP.
    let start = original.find("[mailbox]").unwrap();
    let end = original[start..].find("\n\n").unwrap() + start;
    let imap = format!(
        "{}[mailbox]\nimap = \"imaps://tester@127.0.0.1:9/INBOX\"\npassword_env = \"MONITOR_TEST_IMAP_PASSWORD\"{}",
        &original[..start],
        &original[end..]
    );
    lab.project.write("launchready.toml", imap);
    let inbox = lab.run(&["monitor", "--once"]);
    inbox.code(2).stderr_has(&["MONITOR_TEST_IMAP_PASSWORD"]);
    assert!(!inbox.stderr.contains("not supported"), "{}", inbox.stderr);
}

#[test]
fn a_postgres_database_records_node_and_region_and_never_shows_its_password() {
    let Some(pg) = launchready_testkit::server::postgres::Postgres::start().unwrap() else {
        return;
    };
    let lab = Lab::start("1m");
    let url = pg.url();
    let up = lab.run(&[
        "monitor",
        "--once",
        "--database",
        &url,
        "--node",
        "probe-1",
        "--region",
        "eu",
    ]);
    up.code(0);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let runs = runtime.block_on(async {
        let store = Store::open(Path::new(&url)).await.unwrap();
        assert!(store.is_shared());
        let runs = store.runs().await.unwrap();
        store.close().await;
        runs
    });
    assert!(runs.len() >= 6, "{runs:?}");
    for run in &runs {
        assert_eq!(
            (run.meta.node.as_str(), run.meta.region.as_str()),
            ("probe-1", "eu")
        );
    }
    lab.run(&["incident-note", "--database", &url]).code(0);

    // Nothing listens there: the run cannot start (3), and the message masks the password.
    let nowhere = format!("postgres://launch:s3cret-pw@{}/monitor", free_addr());
    lab.run(&["monitor", "--once", "--database", &nowhere])
        .code(3)
        .stderr_has(&["launch:***@127.0.0.1"])
        .never_shows("s3cret-pw");

    let bad = lab.run(&[
        "monitor",
        "--once",
        "--database",
        &url,
        "--region",
        "eu west",
    ]);
    bad.code(2).stderr_has(&["--region `eu west`"]);
}
