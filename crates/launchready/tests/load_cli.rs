//! End-to-end tests of `launchready load`: the real binary loads a small HTTP server on 127.0.0.1. Hosts that
//! are not allowed are refused before anything is sent; thresholds (flags and the manifest's [load]) decide exit
//! 0 or 1; usage mistakes and ceilings exit 2; nothing answering exits 3; Ctrl-C exits 130 with the report
//! written; mailbox:// steps read the SMTP sink of the manifest's [mailbox]; `--http1.1` leaves plain HTTP as it was.

use launchready_testkit::cli::{
    Cli, LIMIT, Project, Reply, Run, free_addr, serve_http, wait_for, wait_until,
};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// `launchready load` in `dir` with the whitespace-separated `words` (arguments that hold spaces follow with
/// `.args`), quiet, with a resolver that keeps the system configuration out of the test.
fn load(dir: &Project, words: &str) -> Cli {
    dir.cli(Cli::new(env!("CARGO_BIN_EXE_launchready")))
        .arg("load")
        .args(words.split_whitespace())
        .args(["--resolver", "127.0.0.1:9", "--quiet"])
}

fn run(dir: &Project, words: &str) -> Run {
    load(dir, words).run()
}

/// An HTTP/1.1 server answering 200 to everything (one request per connection); counts requests.
fn server() -> (SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let addr = serve_http(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        Reply::ok("ok")
    });
    (addr, hits)
}

/// A project with `home.hurl`, one step against `addr`.
fn flow(addr: SocketAddr) -> Project {
    let dir = Project::new();
    dir.write(
        "home.hurl",
        format!("# step: home\nGET http://{addr}/\nHTTP 200\n"),
    );
    dir
}

/// [`server`] and a project loading it with `home.hurl`; the server's request count.
fn home() -> (Project, Arc<AtomicUsize>) {
    let (addr, hits) = server();
    (flow(addr), hits)
}

/// Waits (bounded) until the server has seen `count` requests: the run is under way.
fn under_way(hits: &AtomicUsize, count: usize) {
    wait_until(LIMIT, "the run to start", || {
        hits.load(Ordering::SeqCst) >= count
    });
}

#[test]
fn a_host_not_allowed_is_refused_before_anything_is_sent() {
    let (dir, hits) = home();
    run(&dir, "home.hurl --rate 10/s --duration 1s")
        .code(2)
        .stderr_has(&["home.hurl:2: refusing to load 127.0.0.1"]);
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[test]
fn thresholds_decide_the_exit_code_and_every_report_is_written() {
    let (dir, hits) = home();
    load(
        &dir,
        "home.hurl --rate 20/s --duration 1s --allow-host 127.0.0.1 --json r.json --junit r.xml --html r.html",
    )
    .args(["--threshold", "step=home p(95)<5000"])
    .args(["--threshold", "rate_errors<0.01"])
    .run()
    .code(0)
    .stderr_has(&["about 20 iterations (20 requests, peak 20/s) over 1s to 127.0.0.1"])
    .stdout_has(&["ok   step=home p(95)<5000"]);
    assert_eq!(hits.load(Ordering::SeqCst), 20);
    assert_eq!(dir.read_json("r.json")["requests"]["count"], 20);
    assert!(dir.read("r.xml").contains("<testsuite"));
    assert!(dir.read("r.html").contains("<svg"));

    run(
        &dir,
        "home.hurl --rate 5/s --duration 1s --allow-host 127.0.0.1 --threshold max<0.001",
    )
    .code(1)
    .stdout_has(&["FAIL max<0.001"]);
}

#[test]
fn the_manifest_load_table_allows_hosts_and_adds_thresholds() {
    let (dir, _) = home();
    dir.write(
        "launchready.toml",
        "[site]\ndomain = \"example.com\"\n\n[load]\nallow_hosts = [\"127.0.0.1\"]\nthresholds = [\"count>1000\"]\n",
    );
    run(&dir, "home.hurl --rate 5/s --duration 1s")
        .code(1)
        .stdout_has(&["FAIL count>1000"]);
}

#[test]
fn usage_mistakes_and_ceilings_exit_2() {
    let (dir, _) = home();
    for (words, more, says) in [
        ("home.hurl", &[][..], "say how much load"),
        ("home.hurl --rate 10/s", &[], "--rate needs --duration"),
        (
            "home.hurl --rate 5000/s --duration 1s",
            &[],
            "--rate-ceiling",
        ),
        (
            "home.hurl --rate 1/s --duration 2h",
            &[],
            "--duration-ceiling",
        ),
        (
            "home.hurl --rate 1/s --duration 1s --threshold p(95)",
            &[],
            "no comparison",
        ),
        (
            "home.hurl --rate 1/s --duration 1s",
            &["--threshold", "step=pay p(95)<1"],
            "no step is called `pay`",
        ),
        ("home.hurl --stages 1s:fast", &[], "rate `fast`"),
    ] {
        load(&dir, words)
            .args(more)
            .args(["--allow-host", "127.0.0.1"])
            .run()
            .code(2)
            .stderr_has(&[says]);
    }
}

#[test]
fn nothing_answering_exits_3() {
    let dir = flow(free_addr());
    run(
        &dir,
        "home.hurl --rate 5/s --duration 1s --allow-host 127.0.0.1",
    )
    .code(3)
    .stdout_has(&["connect: 5"]);
}

#[test]
fn ctrl_c_stops_the_run_and_still_writes_the_report() {
    let (dir, hits) = home();
    let running = load(
        &dir,
        "home.hurl --rate 10/s --duration 5m --allow-host 127.0.0.1 --json r.json",
    )
    .spawn();
    // Wait until the run is under way, then interrupt it as a terminal would.
    under_way(&hits, 3);
    running.interrupt();
    running
        .finish()
        .code(130)
        .stdout_has(&["stopped early: interrupted (Ctrl-C)"]);
    let json = dir.read_json("r.json");
    assert!(json["iterations"]["not_started"].as_u64().unwrap_or(0) > 0);
}

/// Sends one message to `to` through the SMTP server at `addr`, waiting for it to listen first.
fn send_mail(addr: SocketAddr, to: &str) {
    let stream = wait_for(LIMIT, &format!("the SMTP sink on {addr}"), || {
        TcpStream::connect(addr).ok()
    });
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
    let dir = Project::new();
    let smtp = free_addr();
    dir.write(
        "inbox.hurl",
        format!(
            "GET http://{addr}/\nHTTP 200\n\n# step: inbox\nGET mailbox://member@example.com\n[Options]\nretry: 200\nretry-interval: 50\nHTTP 200\n"
        ),
    );
    dir.write("no-mailbox.toml", "[site]\ndomain = \"example.com\"\n");
    let one_user = "inbox.hurl --vus 1 --duration 1s --allow-host 127.0.0.1";
    load(&dir, one_user)
        .args(["--manifest", "no-mailbox.toml"])
        .run()
        .code(2)
        .stderr_has(&["mailbox:// needs [mailbox]"]);

    dir.write(
        "launchready.toml",
        format!("[site]\ndomain = \"example.com\"\n\n[mailbox]\nsmtp_listen = \"{smtp}\"\n"),
    );
    let running = load(&dir, one_user).args(["--format", "json"]).spawn();
    // A user reads mail that arrives after it starts: once its first request is in, the first iteration polls
    // the inbox until this message arrives; later ones find it at once.
    under_way(&hits, 1);
    send_mail(smtp, "member@example.com");
    let r = running.finish();
    let json = r.code(0).json();
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
    let (dir, hits) = home();
    run(
        &dir,
        "home.hurl --http1.1 --rate 10/s --duration 1s --allow-host 127.0.0.1 --json r.json",
    )
    .code(0);
    assert_eq!(hits.load(Ordering::SeqCst), 10);
    let report = dir.read_json("r.json");
    assert_eq!(report["iterations"]["completed"], 10, "{report}");
    // Plain HTTP is HTTP/1.1 either way, so the fast path arms as it does without the flag.
    assert!(
        report["iterations"]["fast_path"].as_u64() > Some(0),
        "{report}"
    );
}
