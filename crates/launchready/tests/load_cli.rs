//! End-to-end tests of `launchready load`: the real binary loads a small HTTP server on 127.0.0.1. Hosts that
//! are not allowed are refused before anything is sent; thresholds (flags and the manifest's [load]) decide exit
//! 0 or 1; usage mistakes and ceilings exit 2; nothing answering exits 3; Ctrl-C exits 130 with the report
//! written; mailbox:// steps read the SMTP sink of the manifest's [mailbox]; `--http1.1` leaves plain HTTP as it was.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_launchready");
const LIMIT: Duration = Duration::from_secs(60);

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(BIN)
        .arg("load")
        .args(args)
        .args(["--resolver", "127.0.0.1:9", "--quiet"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

/// Waits for the child, killing it after [`LIMIT`] so a hang fails the test.
fn finish(mut child: Child, what: &str) -> Run {
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("launchready load {what} did not finish within {LIMIT:?}");
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

fn run(dir: &Path, args: &[&str]) -> Run {
    finish(spawn(dir, args), &format!("{args:?}"))
}

/// A threaded HTTP/1.1 server answering 200 to everything (one request per connection); counts requests.
fn server() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let counter = counter.clone();
            std::thread::spawn(move || answer(stream, &counter));
        }
    });
    (addr, hits)
}

fn answer(stream: TcpStream, hits: &AtomicUsize) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    hits.fetch_add(1, Ordering::SeqCst);
    let mut stream = stream;
    let _ =
        stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
}

fn flow(dir: &Path, addr: SocketAddr) {
    std::fs::write(
        dir.join("home.hurl"),
        format!("# step: home\nGET http://{addr}/\nHTTP 200\n"),
    )
    .expect("write flow");
}

#[test]
fn a_host_not_allowed_is_refused_before_anything_is_sent() {
    let (addr, hits) = server();
    let dir = tempfile::tempdir().expect("tempdir");
    flow(dir.path(), addr);
    let r = run(
        dir.path(),
        &["home.hurl", "--rate", "10/s", "--duration", "1s"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("home.hurl:2: refusing to load 127.0.0.1"),
        "{}",
        r.stderr
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[test]
fn thresholds_decide_the_exit_code_and_every_report_is_written() {
    let (addr, hits) = server();
    let dir = tempfile::tempdir().expect("tempdir");
    flow(dir.path(), addr);
    let ok = run(
        dir.path(),
        &[
            "home.hurl",
            "--rate",
            "20/s",
            "--duration",
            "1s",
            "--allow-host",
            "127.0.0.1",
            "--threshold",
            "step=home p(95)<5000",
            "--threshold",
            "rate_errors<0.01",
            "--json",
            "r.json",
            "--junit",
            "r.xml",
            "--html",
            "r.html",
        ],
    );
    assert_eq!(ok.code, 0, "{}\n{}", ok.stdout, ok.stderr);
    assert_eq!(hits.load(Ordering::SeqCst), 20);
    assert!(
        ok.stderr
            .contains("about 20 iterations (20 requests, peak 20/s) over 1s to 127.0.0.1"),
        "{}",
        ok.stderr
    );
    assert!(
        ok.stdout.contains("ok   step=home p(95)<5000"),
        "{}",
        ok.stdout
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).expect("json"))
            .expect("valid JSON");
    assert_eq!(json["requests"]["count"], 20);
    assert!(
        std::fs::read_to_string(dir.path().join("r.xml"))
            .expect("junit")
            .contains("<testsuite")
    );
    assert!(
        std::fs::read_to_string(dir.path().join("r.html"))
            .expect("html")
            .contains("<svg")
    );

    let failing = run(
        dir.path(),
        &[
            "home.hurl",
            "--rate",
            "5/s",
            "--duration",
            "1s",
            "--allow-host",
            "127.0.0.1",
            "--threshold",
            "max<0.001",
        ],
    );
    assert_eq!(failing.code, 1, "{}", failing.stdout);
    assert!(
        failing.stdout.contains("FAIL max<0.001"),
        "{}",
        failing.stdout
    );
}

#[test]
fn the_manifest_load_table_allows_hosts_and_adds_thresholds() {
    let (addr, _) = server();
    let dir = tempfile::tempdir().expect("tempdir");
    flow(dir.path(), addr);
    std::fs::write(
        dir.path().join("launchready.toml"),
        "[site]\ndomain = \"example.com\"\n\n[load]\nallow_hosts = [\"127.0.0.1\"]\nthresholds = [\"count>1000\"]\n",
    )
    .expect("manifest");
    let r = run(
        dir.path(),
        &["home.hurl", "--rate", "5/s", "--duration", "1s"],
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("FAIL count>1000"), "{}", r.stdout);
}

#[test]
fn usage_mistakes_and_ceilings_exit_2() {
    let (addr, _) = server();
    let dir = tempfile::tempdir().expect("tempdir");
    flow(dir.path(), addr);
    let allow = ["--allow-host", "127.0.0.1"];
    for (args, says) in [
        (vec!["home.hurl"], "say how much load"),
        (
            vec!["home.hurl", "--rate", "10/s"],
            "--rate needs --duration",
        ),
        (
            vec!["home.hurl", "--rate", "5000/s", "--duration", "1s"],
            "--rate-ceiling",
        ),
        (
            vec!["home.hurl", "--rate", "1/s", "--duration", "2h"],
            "--duration-ceiling",
        ),
        (
            vec![
                "home.hurl",
                "--rate",
                "1/s",
                "--duration",
                "1s",
                "--threshold",
                "p(95)",
            ],
            "no comparison",
        ),
        (
            vec![
                "home.hurl",
                "--rate",
                "1/s",
                "--duration",
                "1s",
                "--threshold",
                "step=pay p(95)<1",
            ],
            "no step is called `pay`",
        ),
        (vec!["home.hurl", "--stages", "1s:fast"], "rate `fast`"),
    ] {
        let mut all = args.clone();
        all.extend(allow);
        let r = run(dir.path(), &all);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
    }
}

#[test]
fn nothing_answering_exits_3() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address");
    let dir = tempfile::tempdir().expect("tempdir");
    flow(dir.path(), closed);
    let r = run(
        dir.path(),
        &[
            "home.hurl",
            "--rate",
            "5/s",
            "--duration",
            "1s",
            "--allow-host",
            "127.0.0.1",
        ],
    );
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("connect: 5"), "{}", r.stdout);
}

#[test]
fn ctrl_c_stops_the_run_and_still_writes_the_report() {
    let (addr, hits) = server();
    let dir = tempfile::tempdir().expect("tempdir");
    flow(dir.path(), addr);
    let child = spawn(
        dir.path(),
        &[
            "home.hurl",
            "--rate",
            "10/s",
            "--duration",
            "5m",
            "--allow-host",
            "127.0.0.1",
            "--json",
            "r.json",
        ],
    );
    // Wait until the run is under way, then interrupt it as a terminal would.
    let started = Instant::now();
    while hits.load(Ordering::SeqCst) < 3 {
        assert!(started.elapsed() < LIMIT, "the run never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let r = finish(child, "interrupted");
    assert_eq!(r.code, 130, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("stopped early: interrupted (Ctrl-C)"),
        "{}",
        r.stdout
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).expect("json"))
            .expect("valid JSON");
    assert!(json["iterations"]["not_started"].as_u64().unwrap_or(0) > 0);
}

/// Sends one message to `to` through the SMTP server at `addr`, waiting for it to listen first.
fn send_mail(addr: SocketAddr, to: &str) {
    let started = Instant::now();
    let stream = loop {
        match TcpStream::connect(addr) {
            Ok(stream) => break stream,
            Err(_) if started.elapsed() < LIMIT => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("the SMTP sink never listened on {addr}: {e}"),
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    let mut reply = |expect: &str| {
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("an SMTP reply");
            assert!(line.starts_with(expect), "expected {expect}, got {line}");
            if line.as_bytes().get(3) == Some(&b' ') {
                break;
            }
        }
    };
    reply("220");
    for (command, expect) in [
        ("EHLO test.example\r\n".to_string(), "250"),
        ("MAIL FROM:<shop@example.com>\r\n".to_string(), "250"),
        (format!("RCPT TO:<{to}>\r\n"), "250"),
        ("DATA\r\n".to_string(), "354"),
        (
            format!("From: shop@example.com\r\nTo: {to}\r\nSubject: Welcome\r\n\r\nhello\r\n.\r\n"),
            "250",
        ),
    ] {
        writer.write_all(command.as_bytes()).expect("write");
        reply(expect);
    }
    let _ = writer.write_all(b"QUIT\r\n");
}

#[test]
fn mailbox_steps_read_the_smtp_sink_of_the_manifest() {
    let (addr, hits) = server();
    let dir = tempfile::tempdir().expect("tempdir");
    let smtp = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    std::fs::write(
        dir.path().join("inbox.hurl"),
        format!(
            "GET http://{addr}/\nHTTP 200\n\n# step: inbox\nGET mailbox://member@example.com\n[Options]\nretry: 200\nretry-interval: 50\nHTTP 200\n"
        ),
    )
    .expect("flow");
    std::fs::write(
        dir.path().join("no-mailbox.toml"),
        "[site]\ndomain = \"example.com\"\n",
    )
    .expect("manifest");
    let refused = run(
        dir.path(),
        &[
            "inbox.hurl",
            "--vus",
            "1",
            "--duration",
            "1s",
            "--allow-host",
            "127.0.0.1",
            "--manifest",
            "no-mailbox.toml",
        ],
    );
    assert_eq!(refused.code, 2, "{}\n{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains("mailbox:// needs [mailbox]"),
        "{}",
        refused.stderr
    );

    std::fs::write(
        dir.path().join("launchready.toml"),
        format!("[site]\ndomain = \"example.com\"\n\n[mailbox]\nsmtp_listen = \"{smtp}\"\n"),
    )
    .expect("manifest");
    let child = spawn(
        dir.path(),
        &[
            "inbox.hurl",
            "--vus",
            "1",
            "--duration",
            "1s",
            "--allow-host",
            "127.0.0.1",
            "--format",
            "json",
        ],
    );
    // A user reads mail that arrives after it starts: once its first request is in, the first iteration polls
    // the inbox until this message arrives; later ones find it at once.
    let started = Instant::now();
    while hits.load(Ordering::SeqCst) < 1 {
        assert!(started.elapsed() < LIMIT, "the run never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    send_mail(smtp, "member@example.com");
    let r = finish(child, "with a mailbox");
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let json: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON report");
    let inbox = json["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["name"] == "inbox"))
        .expect("the inbox step");
    assert!(inbox["count"].as_u64().unwrap_or(0) >= 1, "{}", r.stdout);
    assert_eq!(inbox["failed"], 0, "{}", r.stdout);
    assert_eq!(inbox["statuses"]["200"], inbox["count"], "{}", r.stdout);
}

#[test]
fn http11_is_accepted_and_plain_http_runs_as_before() {
    let (addr, hits) = server();
    let dir = tempfile::tempdir().expect("tempdir");
    flow(dir.path(), addr);
    let r = run(
        dir.path(),
        &[
            "home.hurl",
            "--http1.1",
            "--rate",
            "10/s",
            "--duration",
            "1s",
            "--allow-host",
            "127.0.0.1",
            "--json",
            "r.json",
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(hits.load(Ordering::SeqCst), 10);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).expect("json"))
            .expect("valid json");
    assert_eq!(report["iterations"]["completed"], 10, "{report}");
    // Plain HTTP is HTTP/1.1 either way, so the fast path arms as it does without the flag.
    assert!(
        report["iterations"]["fast_path"].as_u64() > Some(0),
        "{report}"
    );
}
