//! End-to-end tests of `launchready monitor` and `incident-note`: the real binary against the lab's membership
//! app (reached with --connect-to and --ca-file), a local webhook receiver that records what arrived, and the
//! SQLite file read back with the monitor's own store. Checkout is broken on purpose: the right alert arrives
//! once, survives `kill -9` and a restart without being sent again, then resolves.

#![allow(clippy::unwrap_used)]

use launchready_lab::app::{AppConfig, MemberApp, Mode};
use launchready_monitor::Store;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_launchready");
const LIMIT: Duration = Duration::from_secs(120);

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

type Received = Arc<Mutex<Vec<String>>>;

/// A webhook receiver on a thread: records each POST body, answers 200.
fn receiver() -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let received: Received = Arc::default();
    let sink = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            if let Ok(body) = read_post(stream) {
                sink.lock().unwrap().push(body);
            }
        }
    });
    (format!("http://{addr}/hook"), received)
}

fn read_post(mut stream: TcpStream) -> std::io::Result<String> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Lab {
    _runtime: tokio::runtime::Runtime,
    app: MemberApp,
    dir: tempfile::TempDir,
    hook: String,
    received: Received,
}

impl Lab {
    /// The app sends its mail to the SMTP sink the monitor starts from `[mailbox] smtp_listen`.
    fn start(every: &str) -> Lab {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let smtp_port = free_port();
        let app = runtime.block_on(async {
            let mut config = AppConfig::new(([127, 0, 0, 1], smtp_port).into());
            config.host = "www.example.test".into();
            MemberApp::start(config).await.unwrap()
        });
        let (hook, received) = receiver();
        let dir = tempfile::tempdir().unwrap();
        let journey = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/flows/signup-to-payment.hurl");
        let manifest = format!(
            r#"[site]
domain = "example.test"
canonical = "https://www.example.test/"

[[flow]]
name = "checkout"
file = "{journey}"

[mailbox]
smtp_listen = "127.0.0.1:{smtp_port}"

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
            journey = journey.display()
        );
        std::fs::write(dir.path().join("launchready.toml"), manifest).unwrap();
        Lab {
            _runtime: runtime,
            app,
            dir,
            hook,
            received,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command.args(args);
        if args[0] == "monitor" {
            command
                .args(["--resolver", "127.0.0.1:9"])
                .args(["--connect-to", &self.app.connect_to_args()[0]])
                .arg("--ca-file")
                .arg(self.app.ca_file());
        }
        command
            .current_dir(self.dir.path())
            .env("MONITOR_HOOK_SECRET", "hook-secret")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    fn run(&self, args: &[&str]) -> Run {
        let child = self.command(args).spawn().expect("the binary starts");
        finish(child, args)
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("launchready-monitor.db")
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

fn finish(mut child: Child, args: &[&str]) -> Run {
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("launchready {args:?} did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn once_exits_0_when_up_and_1_when_checkout_fails_and_pages_once_then_resolves() {
    let lab = Lab::start("1m");
    let up = lab.run(&["monitor", "--once"]);
    assert_eq!(up.code, 0, "{}\n{}", up.stdout, up.stderr);
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
    assert!(up.stdout.contains("6 checks, 0 down"), "{}", up.stdout);

    lab.app.set_mode(Mode::CheckoutError);
    for _ in 0..4 {
        let down = lab.run(&["monitor", "--once"]);
        assert_eq!(down.code, 1, "{}\n{}", down.stdout, down.stderr);
        assert!(down.stdout.contains("6 checks, 1 down"), "{}", down.stdout);
    }
    assert_eq!(lab.notices(), ["firing checkout failing flow:checkout"]);
    let body = lab.received.lock().unwrap()[0].clone();
    assert!(body.contains("payments@example.test"), "{body}");
    assert!(
        !body.contains("launch+"),
        "a member's address leaked: {body}"
    );

    lab.app.set_mode(Mode::Healthy);
    for _ in 0..2 {
        assert_eq!(lab.run(&["monitor", "--once"]).code, 0);
    }
    assert_eq!(
        lab.notices(),
        [
            "firing checkout failing flow:checkout",
            "resolved checkout failing flow:checkout"
        ]
    );
    let note = lab.run(&["incident-note"]);
    assert_eq!(note.code, 0, "{}", note.stderr);
    for section in [
        "# Incident note: example.test",
        "No incident is open.",
        "## What to check first",
        "`flow:checkout`",
        "payments@example.test",
        "## Rolling back",
    ] {
        assert!(
            note.stdout.contains(section),
            "{section} missing:\n{}",
            note.stdout
        );
    }
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
    lab.app.set_mode(Mode::CheckoutError);
    let mut child = lab
        .command(&["monitor"])
        .spawn()
        .expect("the binary starts");
    let started = Instant::now();
    // Wait (bounded) until the alert has fired and been delivered.
    loop {
        assert!(started.elapsed() < LIMIT, "the alert never fired");
        if lab.db().is_file() && !lab.received.lock().unwrap().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (before, _, _) = store_figures(&lab.db());
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let (after, firing, delivered) = store_figures(&lab.db());
    assert!(after >= before, "results went from {before} to {after}");
    assert!(firing, "the alert state was lost");
    assert!(delivered >= 1);

    // Restarted while checkout still fails: nothing new is sent.
    let again = lab.run(&["monitor", "--once"]);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert_eq!(lab.notices(), ["firing checkout failing flow:checkout"]);
}

#[test]
fn dashboard_serves_status_metrics_and_health_on_loopback() {
    let lab = Lab::start("1s");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = lab
        .command(&["monitor", "--listen", &listen])
        .spawn()
        .expect("starts");
    let started = Instant::now();
    let get = |path: &str| -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
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
    let metrics = loop {
        assert!(started.elapsed() < LIMIT, "no metrics appeared");
        if let Some(text) =
            get("/metrics").filter(|t| t.contains("launchready_check_up{check=\"landing\"} 1"))
        {
            break text;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
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
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn refusals_are_usage_errors() {
    let lab = Lab::start("1m");
    let open = lab.run(&["monitor", "--listen", "0.0.0.0:8080"]);
    assert_eq!(open.code, 2, "{}", open.stderr);
    assert!(open.stderr.contains("without a token"), "{}", open.stderr);

    let manifest = lab.dir.path().join("launchready.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str("\n[[alert]]\nname = \"slow\"\nchecks = [\"landing\"]\ncondition = \"p(95) > 500ms ovr 15m\"\n");
    std::fs::write(&manifest, text).unwrap();
    let bad = lab.run(&["monitor", "--once"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("launchready.toml:"), "{}", bad.stderr);
    assert!(bad.stderr.contains("cannot read"), "{}", bad.stderr);
    let _ = &lab.hook;
}

#[test]
fn an_alert_on_a_step_the_journey_lacks_is_refused_and_an_imap_inbox_is_accepted() {
    let lab = Lab::start("1m");
    let manifest = lab.dir.path().join("launchready.toml");
    let original = std::fs::read_to_string(&manifest).unwrap();
    let mut text = original.clone();
    text.push_str("\n[[alert]]\nname = \"slow pay\"\nchecks = [\"flow:checkout#POST /nowhere\"]\ncondition = \"p(95) > 500ms over 15m\"\n");
    std::fs::write(&manifest, text).unwrap();
    let unplanned = lab.run(&["monitor", "--once"]);
    assert_eq!(unplanned.code, 2, "{}", unplanned.stderr);
    assert!(
        unplanned.stderr.contains("flow:checkout#POST /nowhere"),
        "{}",
        unplanned.stderr
    );

    // IMAP is read like the smoke command reads it: here the password variable is missing, which is the
    // inbox's own usage error, not a refusal of IMAP.
    let start = original.find("[mailbox]").unwrap();
    let end = original[start..].find("\n\n").unwrap() + start;
    let imap = format!(
        "{}[mailbox]\nimap = \"imaps://tester@127.0.0.1:9/INBOX\"\npassword_env = \"MONITOR_TEST_IMAP_PASSWORD\"{}",
        &original[..start],
        &original[end..]
    );
    std::fs::write(&manifest, imap).unwrap();
    let inbox = lab.run(&["monitor", "--once"]);
    assert_eq!(inbox.code, 2, "{}", inbox.stderr);
    assert!(
        inbox.stderr.contains("MONITOR_TEST_IMAP_PASSWORD"),
        "{}",
        inbox.stderr
    );
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
    assert_eq!(up.code, 0, "{}\n{}", up.stdout, up.stderr);
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
    let note = lab.run(&["incident-note", "--database", &url]);
    assert_eq!(note.code, 0, "{}", note.stderr);

    // Nothing listens there: the run cannot start (3), and the message masks the password.
    let nowhere = format!(
        "postgres://launch:s3cret-pw@127.0.0.1:{}/monitor",
        free_port()
    );
    let down = lab.run(&["monitor", "--once", "--database", &nowhere]);
    assert_eq!(down.code, 3, "{}", down.stderr);
    assert!(
        down.stderr.contains("launch:***@127.0.0.1"),
        "{}",
        down.stderr
    );
    assert!(!down.stderr.contains("s3cret-pw"), "{}", down.stderr);

    let bad = lab.run(&[
        "monitor",
        "--once",
        "--database",
        &url,
        "--region",
        "eu west",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("--region `eu west`"), "{}", bad.stderr);
}
