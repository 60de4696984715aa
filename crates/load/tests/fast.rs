//! The HTTP/1.1 fast path against servers that frame responses every way HTTP/1.1 allows (Content-Length,
//! chunked with extensions and trailers, no body for HEAD, 204 and 304, Connection: close, a body that ends with
//! the connection) and against a real Debian nginx: once the engine has reached the server, iterations go on the
//! fast path, and the report's statuses, errors and counts are those of a run through the engine.

mod common;

use common::{open, plan, run, temp_flow};
use launchready_load::{LoadReport, Model, Stop};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the raw server answers for a request line's path.
fn canned(method: &str, path: &str, cookie: bool) -> (Vec<u8>, bool) {
    let mut close = false;
    let reply: Vec<u8> = match path {
        "/length" => b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".to_vec(),
        "/chunked" => b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n".to_vec(),
        "/head" if method == "HEAD" => b"HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n".to_vec(),
        "/empty" => b"HTTP/1.1 204 No Content\r\n\r\n".to_vec(),
        "/unchanged" => b"HTTP/1.1 304 Not Modified\r\nContent-Length: 77\r\nETag: \"x\"\r\n\r\n".to_vec(),
        "/close" => {
            close = true;
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye".to_vec()
        }
        "/until-close" => {
            close = true;
            b"HTTP/1.1 200 OK\r\n\r\nthe body ends with the connection".to_vec()
        }
        "/set-cookie" => {
            b"HTTP/1.1 200 OK\r\nSet-Cookie: session=abc; Path=/\r\nContent-Length: 0\r\n\r\n".to_vec()
        }
        "/needs-cookie" if cookie => b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nin".to_vec(),
        "/needs-cookie" => b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n".to_vec(),
        _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
    };
    (reply, close)
}

/// A keep-alive HTTP/1.1 server written byte by byte, each answer sent in two writes so heads and bodies
/// arrive split.
async fn raw_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut pending = Vec::new();
                let mut scratch = [0u8; 4096];
                loop {
                    let end = loop {
                        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                            break end + 4;
                        }
                        match socket.read(&mut scratch).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => pending.extend_from_slice(&scratch[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&pending[..end]).to_string();
                    pending.drain(..end);
                    let mut words = head.split_whitespace();
                    let method = words.next().unwrap_or_default().to_string();
                    let path = words.next().unwrap_or_default().to_string();
                    let cookie = head
                        .to_ascii_lowercase()
                        .contains("\r\ncookie: session=abc");
                    let (reply, close) = canned(&method, &path, cookie);
                    let cut = reply.len() / 2;
                    if socket.write_all(&reply[..cut]).await.is_err() {
                        return;
                    }
                    let _ = socket.flush().await;
                    tokio::task::yield_now().await;
                    if socket.write_all(&reply[cut..]).await.is_err() {
                        return;
                    }
                    if close {
                        return;
                    }
                }
            });
        }
    });
    addr
}

fn closed(vus: usize, millis: u64) -> Model {
    Model::Closed {
        vus,
        duration: Duration::from_millis(millis),
    }
}

fn status_count(report: &LoadReport, step: &str, status: &str) -> u64 {
    report
        .step(step)
        .and_then(|s| s.statuses.get(status).copied())
        .unwrap_or(0)
}

fn write_flows(dir: &Path) -> Vec<launchready_flow::FlowFile> {
    [
        ("length", "GET {{base}}/length\nHTTP 200\n"),
        ("chunked", "GET {{base}}/chunked\nHTTP 200\n"),
        ("head", "HEAD {{base}}/head\nHTTP 200\n"),
        ("empty", "GET {{base}}/empty\nHTTP 204\n"),
        ("unchanged", "GET {{base}}/unchanged\nHTTP 304\n"),
        ("close", "GET {{base}}/close\nHTTP 200\n"),
        ("until-close", "GET {{base}}/until-close\nHTTP *\n"),
        (
            "cookie",
            "GET {{base}}/set-cookie\nHTTP 200\n\nGET {{base}}/needs-cookie\nHTTP 200\n",
        ),
    ]
    .iter()
    .map(|(name, source)| common::flow(dir, &format!("{name}.hurl"), source))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_framing_is_read_right_on_the_fast_path_and_matches_the_engine() {
    let addr = raw_server().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut reports = Vec::new();
    for fast in [true, false] {
        let mut plan = plan(write_flows(dir.path()), closed(4, 700), addr);
        plan.fast_path = fast;
        reports.push(run(plan, Stop::default()).await);
    }
    let (fast, engine) = (&reports[0], &reports[1]);
    for report in [fast, engine] {
        let text = report.text();
        assert!(report.requests.count > 50, "{text}");
        assert!(report.requests.errors.is_empty(), "{text}");
        assert_eq!(report.iterations.failed, 0, "{text}");
        for (step, status) in [
            ("GET /length", "200"),
            ("GET /chunked", "200"),
            ("HEAD /head", "200"),
            ("GET /empty", "204"),
            ("GET /unchanged", "304"),
            ("GET /close", "200"),
            ("GET /until-close", "200"),
            ("GET /set-cookie", "200"),
            ("GET /needs-cookie", "200"),
        ] {
            assert!(status_count(report, step, status) > 0, "{step}\n{text}");
        }
    }
    // Most iterations took the fast path; the engine's run took none.
    assert!(
        fast.iterations.fast_path * 2 > fast.iterations.completed,
        "{}",
        fast.text()
    );
    assert_eq!(engine.iterations.fast_path, 0, "{}", engine.text());
    // Bytes on the fast path are counted off the wire: 5 body bytes plus the head per /length response.
    let length = fast.step("GET /length").expect("the /length step");
    assert!(
        length.bytes_received >= length.count * 43,
        "{}",
        fast.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_status_keeps_the_flow_on_the_engine_and_counts_as_an_assert_failure() {
    let addr = raw_server().await;
    let (_dir, file) = temp_flow("wrong.hurl", "GET {{base}}/length\nHTTP 201\n");
    let report = run(plan(vec![file], closed(2, 300), addr), Stop::default()).await;
    // The engine never arms the fast path on a failing iteration, so every one is the engine's.
    assert_eq!(report.iterations.fast_path, 0, "{}", report.text());
    assert_eq!(
        report.requests.errors.get("assert failed"),
        Some(&report.requests.count),
        "{}",
        report.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_model_run_on_the_fast_path_keeps_its_schedule() {
    let addr = raw_server().await;
    let (_dir, file) = temp_flow("ok.hurl", "GET {{base}}/chunked\nHTTP 200\n");
    let report = run(plan(vec![file], open(200.0, 1, 20), addr), Stop::default()).await;
    assert_eq!(report.iterations.completed, 200, "{}", report.text());
    assert_eq!(report.requests.count, 200, "{}", report.text());
    assert!(report.iterations.fast_path > 100, "{}", report.text());
    assert!(report.requests.errors.is_empty(), "{}", report.text());
}

/// Debian's nginx on a free loopback port, configured to frame responses each way it can; stopped on drop.
struct Nginx {
    child: std::process::Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nginx() -> Option<Nginx> {
    let binary = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(binary) = binary else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "nginx is missing (apt-get install nginx)"
        );
        eprintln!("SKIPPED: nginx is not installed");
        return None;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    // nginx's workers drop to an unprivileged user when started as root: they must be able to read the files.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let root = dir.path().join("www");
    std::fs::create_dir_all(&root).expect("www");
    std::fs::write(root.join("index.html"), "x".repeat(612)).expect("index");
    std::fs::write(root.join("text.txt"), "compressible ".repeat(400)).expect("text");
    // One process (no master and workers): killing it on drop then leaves no orphaned worker behind, holding
    // the test's output open.
    let conf = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d};\n  uwsgi_temp_path {d}; scgi_temp_path {d};\n  types {{ text/plain txt; text/html html; }}\n\
         server {{\n    listen 127.0.0.1:{port};\n    root {root};\n    keepalive_requests 7;\n    if_modified_since before;\n\
             location = /empty {{ return 204; }}\n\
             location = /gzip.txt {{ gzip on; gzip_min_length 1; gzip_types text/plain; alias {root}/text.txt; }}\n\
             location = /close.html {{ keepalive_timeout 0; alias {root}/index.html; }}\n  }}\n}}\n",
        d = dir.path().display(),
        root = root.display(),
    );
    let conf_path = dir.path().join("nginx.conf");
    std::fs::write(&conf_path, conf).expect("conf");
    let child = std::process::Command::new(binary)
        .arg("-c")
        .arg(&conf_path)
        .arg("-p")
        .arg(dir.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("nginx starts");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
    let server = Nginx {
        child,
        addr,
        _dir: dir,
    };
    for _ in 0..100 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Some(server);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nginx did not start listening on {addr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debian_nginx_answers_the_fast_path_as_it_answers_the_engine() {
    let Some(nginx) = nginx() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let files: Vec<_> = [
        ("page", "GET {{base}}/index.html\nHTTP 200\n"),
        ("head", "HEAD {{base}}/index.html\nHTTP 200\n"),
        (
            "gzip",
            "GET {{base}}/gzip.txt\nAccept-Encoding: gzip\nHTTP 200\n",
        ),
        (
            "unchanged",
            "# step: unchanged\nGET {{base}}/index.html\nIf-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\nHTTP 304\n",
        ),
        ("empty", "GET {{base}}/empty\nHTTP 204\n"),
        ("close", "GET {{base}}/close.html\nHTTP 200\n"),
        ("missing", "GET {{base}}/missing\nHTTP 404\n"),
    ]
    .iter()
    .map(|(name, source)| common::flow(dir.path(), &format!("{name}.hurl"), source))
    .collect();
    let report = run(plan(files, closed(4, 1000), nginx.addr), Stop::default()).await;
    let text = report.text();
    assert!(report.requests.errors.is_empty(), "{text}");
    assert_eq!(report.iterations.failed, 0, "{text}");
    assert!(
        report.iterations.fast_path * 2 > report.iterations.completed,
        "{text}"
    );
    for (step, status) in [
        ("GET /index.html", "200"),
        ("HEAD /index.html", "200"),
        ("GET /gzip.txt", "200"),
        ("unchanged", "304"),
        ("GET /empty", "204"),
        ("GET /close.html", "200"),
        ("GET /missing", "404"),
    ] {
        assert!(
            status_count(&report, step, status) > 0,
            "{step} {status}\n{text}"
        );
    }
}
