//! End-to-end tests of `launchready flow`: the real binary runs flow files against a small HTTP server on
//! 127.0.0.1, and each exit code (0 passed, 1 assert failed, 2 file or option error, 3 could not run), the
//! report formats, variables from flags, files and the environment, and secret redaction are checked.

use launchready_testkit::cli::{Cli, Project, Reply, Run, free_addr, serve_http};
use std::net::SocketAddr;
use std::time::Duration;

/// `launchready flow` with `args` in `dir`, plus `env`.
fn run(dir: &Project, args: &[&str], env: &[(&str, &str)]) -> Run {
    env.iter()
        .fold(
            dir.cli(Cli::new(env!("CARGO_BIN_EXE_launchready"))),
            |cli, (key, value)| cli.env(key, value),
        )
        .arg("flow")
        .args(args)
        // Only addresses are used; naming a resolver keeps the system configuration out of the test.
        .args(["--resolver", "127.0.0.1:9"])
        .limit(Duration::from_secs(30))
        .run()
}

/// An HTTP/1.1 server: `/` is a landing page, `/echo` returns the request's headers as text (hyper sends header
/// names in lower case).
fn server() -> SocketAddr {
    serve_http(|request| match request.path.as_str() {
        "/" => Reply::new(
            "200 OK",
            "text/html",
            "<html><body><h1>Welcome</h1></body></html>",
        ),
        "/echo" => Reply::ok(request.headers.clone()),
        _ => Reply::new("404 Not Found", "text/plain", "not found"),
    })
}

/// A project holding `file`, a flow written against [`server`] (given its address); returns the address too.
fn project(file: &str, flow: impl FnOnce(SocketAddr) -> String) -> (Project, SocketAddr) {
    let addr = server();
    let dir = Project::new();
    dir.write(file, flow(addr));
    (dir, addr)
}

#[test]
fn a_passing_flow_exits_0_and_reports_each_step() {
    let (dir, addr) = project("landing.hurl", |addr| {
        format!("GET http://{addr}/\nHTTP 200\n[Asserts]\nxpath \"string(//h1)\" == \"Welcome\"\n")
    });
    run(&dir, &["landing.hurl"], &[])
        .code(0)
        .stdout_has(&["PASS landing.hurl", &format!("GET http://{addr}/ -> 200")]);
}

#[test]
fn a_failed_assert_exits_1_naming_the_line_and_both_values() {
    let (dir, _) = project("landing.hurl", |addr| {
        format!("GET http://{addr}/\nHTTP 200\n[Asserts]\nxpath \"string(//h1)\" == \"Hello\"\n")
    });
    run(&dir, &["landing.hurl"], &[]).code(1).stdout_has(&[
        "assert failed at line 4: xpath \"string(//h1)\" == \"Hello\"",
        "actual: string <Welcome>",
        // The body excerpt is shown.
        "<h1>Welcome</h1>",
    ]);
}

#[test]
fn unsupported_and_malformed_files_exit_2_with_their_position() {
    let dir = Project::new();
    dir.write(
        "proxy.hurl",
        "GET http://127.0.0.1:9/\n[Options]\nproxy: http://p:3128\nHTTP 200\n",
    );
    dir.write(
        "broken.hurl",
        "GET http://127.0.0.1:9/\nHTTP 200\n[Asserts]\nstatus ==\n",
    );
    dir.write("mail.hurl", "GET mailbox://bob@example.com\nHTTP 200\n");
    for (args, says) in [
        (
            &["proxy.hurl"][..],
            "proxy.hurl:3:1: [Options] proxy is not supported",
        ),
        (&["broken.hurl"], "broken.hurl:4:"),
        (
            &["mail.hurl"],
            "mailbox:// needs [mailbox] in launchready.toml",
        ),
        (&["missing.hurl"], "cannot read missing.hurl"),
        (
            &["proxy.hurl", "--variable", "novalue"],
            "--variable `novalue`: expected NAME=VALUE",
        ),
    ] {
        run(&dir, args, &[]).code(2).stderr_has(&[says]);
    }
}

#[test]
fn nothing_listening_exits_3() {
    let addr = free_addr();
    let dir = Project::new();
    dir.write("down.hurl", format!("GET http://{addr}/\nHTTP 200\n"));
    run(&dir, &["down.hurl"], &[])
        .code(3)
        .stdout_has(&["refused"]);
}

#[test]
fn variables_come_from_flags_files_and_the_environment_and_secrets_never_show() {
    let (dir, _) = project("vars.hurl", |addr| {
        format!(
            "GET http://{addr}/echo\nX-Plan: {{{{plan}}}}\nX-Team: {{{{team}}}}\nX-Token: {{{{token}}}}\nHTTP 200\n[Asserts]\nbody contains \"x-plan: gold\"\nbody contains \"x-team: blue\"\nbody contains \"x-token: hunter22\"\nbody contains \"{{{{missing}}}}\"\n"
        )
    });
    dir.write("vars.env", "# staging\nplan=gold\n");
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
    let run = run(&dir, &args, &[("HURL_VARIABLE_team", "blue")]);
    // The last assert fails on purpose, so the report carries the request and response with the secret in them.
    let report = run.code(1).json();
    let asserts = &report[0]["entries"][0]["asserts"];
    let passed: Vec<bool> = asserts
        .as_array()
        .expect("asserts")
        .iter()
        .map(|a| a["passed"].as_bool().unwrap_or(false))
        .collect();
    // The implicit `HTTP 200` comes first.
    assert_eq!(passed, [true, true, true, true, false], "{}", run.stdout);
    run.never_shows("hunter22").stdout_has(&["x-token: ***"]);
}

#[test]
fn junit_output_has_a_case_per_entry() {
    let (dir, _) = project("two.hurl", |addr| {
        format!("GET http://{addr}/\nHTTP 200\n\nGET http://{addr}/nowhere\nHTTP 200\n")
    });
    run(
        &dir,
        &["two.hurl", "--format", "junit", "--output", "report.xml"],
        &[],
    )
    .code(1);
    let xml = dir.read("report.xml");
    assert!(
        xml.contains("<testsuite name=\"two.hurl\" tests=\"2\" failures=\"1\""),
        "{xml}"
    );
    assert!(xml.contains("actual: 404, expected: 200"), "{xml}");
}

#[test]
fn markdown_and_html_reports_show_the_failure_without_the_secret() {
    let (dir, _) = project("echo.hurl", |addr| {
        format!(
            "GET http://{addr}/echo\nX-Key: {{{{key}}}}\nHTTP 200\n[Asserts]\nbody contains \"<nope>\"\n"
        )
    });
    for (format, shows) in [
        ("markdown", "| 1 | 1 | `GET http://"),
        ("html", "&lt;nope&gt;"),
    ] {
        let run = run(
            &dir,
            &["echo.hurl", "--secret", "key=k-4417", "--format", format],
            &[],
        );
        run.code(1).stdout_has(&["x-key: ***", shows]);
        assert!(!run.stdout.contains("k-4417"), "{}", run.all());
        if format == "html" {
            assert!(!run.stdout.contains("<nope>"), "{}", run.all());
        }
    }
}

#[test]
fn connect_to_sends_a_named_host_to_the_local_server() {
    let (dir, addr) = project("cutover.hurl", |addr| {
        let port = addr.port();
        format!(
            "GET http://club.test:{port}/echo\nHTTP 200\n[Asserts]\nbody contains \"host: club.test:{port}\"\n"
        )
    });
    let port = addr.port();
    let rule = format!("club.test:{port}:127.0.0.1:{port}");
    run(&dir, &["cutover.hurl", "--connect-to", &rule], &[]).code(0);
}
