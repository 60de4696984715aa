//! End-to-end tests of `launchready flow`: the real binary runs flow files against a small HTTP server on
//! 127.0.0.1, and each exit code (0 passed, 1 assert failed, 2 file or option error, 3 could not run), the
//! report formats, variables from flags, files and the environment, and secret redaction are checked.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_launchready");
const LIMIT: Duration = Duration::from_secs(30);

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary in `dir` with `env`, killing it after [`LIMIT`] so a hang fails the test.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(BIN);
    command
        .arg("flow")
        .args(args)
        // Only addresses are used; naming a resolver keeps the system configuration out of the test.
        .args(["--resolver", "127.0.0.1:9"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("the binary starts");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("launchready flow {args:?} did not finish within {LIMIT:?}");
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

/// A one-thread HTTP/1.1 server: `/` is a landing page, `/echo` returns the request's headers as text (hyper
/// sends header names in lower case).
fn server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = answer(stream);
        }
    });
    addr
}

fn answer(mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut headers = String::new();
    let mut length = 0usize;
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
        headers.push_str(&line);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let (status, content_type, text) = match path {
        "/" => (
            "200 OK",
            "text/html",
            "<html><body><h1>Welcome</h1></body></html>".to_string(),
        ),
        "/echo" => ("200 OK", "text/plain", headers),
        _ => ("404 Not Found", "text/plain", "not found".to_string()),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )?;
    stream.flush()
}

fn flow(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write the flow");
}

#[test]
fn a_passing_flow_exits_0_and_reports_each_step() {
    let addr = server();
    let dir = tempfile::tempdir().expect("temp dir");
    flow(
        dir.path(),
        "landing.hurl",
        &format!(
            "GET http://{addr}/\nHTTP 200\n[Asserts]\nxpath \"string(//h1)\" == \"Welcome\"\n"
        ),
    );
    let run = run(dir.path(), &["landing.hurl"], &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("PASS landing.hurl"), "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!("GET http://{addr}/ -> 200")),
        "{}",
        run.stdout
    );
}

#[test]
fn a_failed_assert_exits_1_naming_the_line_and_both_values() {
    let addr = server();
    let dir = tempfile::tempdir().expect("temp dir");
    flow(
        dir.path(),
        "landing.hurl",
        &format!("GET http://{addr}/\nHTTP 200\n[Asserts]\nxpath \"string(//h1)\" == \"Hello\"\n"),
    );
    let run = run(dir.path(), &["landing.hurl"], &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("assert failed at line 4: xpath \"string(//h1)\" == \"Hello\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("actual: string <Welcome>"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("<h1>Welcome</h1>"),
        "the body excerpt is shown: {}",
        run.stdout
    );
}

#[test]
fn unsupported_and_malformed_files_exit_2_with_their_position() {
    let dir = tempfile::tempdir().expect("temp dir");
    flow(
        dir.path(),
        "proxy.hurl",
        "GET http://127.0.0.1:9/\n[Options]\nproxy: http://p:3128\nHTTP 200\n",
    );
    let run1 = run(dir.path(), &["proxy.hurl"], &[]);
    assert_eq!(run1.code, 2);
    assert!(
        run1.stderr
            .contains("proxy.hurl:3:1: [Options] proxy is not supported"),
        "{}",
        run1.stderr
    );

    flow(
        dir.path(),
        "broken.hurl",
        "GET http://127.0.0.1:9/\nHTTP 200\n[Asserts]\nstatus ==\n",
    );
    let run2 = run(dir.path(), &["broken.hurl"], &[]);
    assert_eq!(run2.code, 2);
    assert!(run2.stderr.contains("broken.hurl:4:"), "{}", run2.stderr);

    flow(
        dir.path(),
        "mail.hurl",
        "GET mailbox://bob@example.com\nHTTP 200\n",
    );
    let run3 = run(dir.path(), &["mail.hurl"], &[]);
    assert_eq!(run3.code, 2);
    assert!(
        run3.stderr
            .contains("mailbox:// needs [mailbox] in launchready.toml"),
        "{}",
        run3.stderr
    );

    let run4 = run(dir.path(), &["missing.hurl"], &[]);
    assert_eq!(run4.code, 2);
    assert!(
        run4.stderr.contains("cannot read missing.hurl"),
        "{}",
        run4.stderr
    );

    let run5 = run(dir.path(), &["proxy.hurl", "--variable", "novalue"], &[]);
    assert_eq!(run5.code, 2);
    assert!(
        run5.stderr
            .contains("--variable `novalue`: expected NAME=VALUE"),
        "{}",
        run5.stderr
    );
}

#[test]
fn nothing_listening_exits_3() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    let dir = tempfile::tempdir().expect("temp dir");
    flow(
        dir.path(),
        "down.hurl",
        &format!("GET http://{addr}/\nHTTP 200\n"),
    );
    let run = run(dir.path(), &["down.hurl"], &[]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("refused"), "{}", run.stdout);
}

#[test]
fn variables_come_from_flags_files_and_the_environment_and_secrets_never_show() {
    let addr = server();
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("vars.env"), "# staging\nplan=gold\n").expect("write");
    flow(
        dir.path(),
        "vars.hurl",
        &format!(
            "GET http://{addr}/echo\nX-Plan: {{{{plan}}}}\nX-Team: {{{{team}}}}\nX-Token: {{{{token}}}}\nHTTP 200\n[Asserts]\nbody contains \"x-plan: gold\"\nbody contains \"x-team: blue\"\nbody contains \"x-token: hunter22\"\nbody contains \"{{{{missing}}}}\"\n"
        ),
    );
    let args = [
        "vars.hurl",
        "--variables-file",
        "vars.env",
        "--secret",
        "token=hunter22",
        "--variable",
        "missing=absent",
        "--format",
        "json",
    ];
    let run = run(dir.path(), &args, &[("HURL_VARIABLE_team", "blue")]);
    // The last assert fails on purpose, so the report carries the request and response with the secret in them.
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON report");
    let asserts = &report[0]["entries"][0]["asserts"];
    let passed: Vec<bool> = asserts
        .as_array()
        .expect("asserts")
        .iter()
        .map(|a| a["passed"].as_bool().unwrap_or(false))
        .collect();
    // The implicit `HTTP 200` comes first.
    assert_eq!(passed, [true, true, true, true, false], "{}", run.stdout);
    assert!(
        !run.stdout.contains("hunter22") && !run.stderr.contains("hunter22"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("x-token: ***"), "{}", run.stdout);
}

#[test]
fn junit_output_has_a_case_per_entry() {
    let addr = server();
    let dir = tempfile::tempdir().expect("temp dir");
    flow(
        dir.path(),
        "two.hurl",
        &format!("GET http://{addr}/\nHTTP 200\n\nGET http://{addr}/nowhere\nHTTP 200\n"),
    );
    let report = dir.path().join("report.xml");
    let run = run(
        dir.path(),
        &["two.hurl", "--format", "junit", "--output", "report.xml"],
        &[],
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let xml = std::fs::read_to_string(report).expect("the report file");
    assert!(
        xml.contains("<testsuite name=\"two.hurl\" tests=\"2\" failures=\"1\""),
        "{xml}"
    );
    assert!(xml.contains("actual: 404, expected: 200"), "{xml}");
}

#[test]
fn markdown_and_html_reports_show_the_failure_without_the_secret() {
    let addr = server();
    let dir = tempfile::tempdir().expect("temp dir");
    flow(
        dir.path(),
        "echo.hurl",
        &format!(
            "GET http://{addr}/echo\nX-Key: {{{{key}}}}\nHTTP 200\n[Asserts]\nbody contains \"<nope>\"\n"
        ),
    );
    for format in ["markdown", "html"] {
        let run = run(
            dir.path(),
            &["echo.hurl", "--secret", "key=k-4417", "--format", format],
            &[],
        );
        assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
        assert!(!run.stdout.contains("k-4417"), "{}", run.stdout);
        assert!(run.stdout.contains("x-key: ***"), "{}", run.stdout);
        if format == "html" {
            assert!(
                run.stdout.contains("&lt;nope&gt;") && !run.stdout.contains("<nope>"),
                "{}",
                run.stdout
            );
        } else {
            assert!(
                run.stdout.contains("| 1 | 1 | `GET http://"),
                "{}",
                run.stdout
            );
        }
    }
}

#[test]
fn connect_to_sends_a_named_host_to_the_local_server() {
    let addr = server();
    let port = addr.port();
    let dir = tempfile::tempdir().expect("temp dir");
    flow(
        dir.path(),
        "cutover.hurl",
        &format!(
            "GET http://club.test:{port}/echo\nHTTP 200\n[Asserts]\nbody contains \"host: club.test:{port}\"\n"
        ),
    );
    let rule = format!("club.test:{port}:127.0.0.1:{port}");
    let run = run(dir.path(), &["cutover.hurl", "--connect-to", &rule], &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}
