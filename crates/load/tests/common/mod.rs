//! A small HTTP/1.1 server on 127.0.0.1 for the load tests: a fast page, a page that stalls once for two
//! seconds, a checkout that fails every fourth time, and a login that sets a per-user session cookie.

#![allow(dead_code)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use launchready_flow::{FlowFile, RunOptions, Variables};
use launchready_load::{LoadPlan, LoadReport, Model, Rate, Schedule, Stop};
use launchready_net::{Net, NetConfig};
use std::collections::BTreeSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long `/stall-once` stalls, on the request number the server is built with.
pub const STALL: Duration = Duration::from_secs(2);

#[derive(Default)]
pub struct State {
    pub hits: AtomicU64,
    pub stall_at: u64,
    pub users: Mutex<BTreeSet<String>>,
}

async fn answer(
    state: Arc<State>,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let n = state.hits.fetch_add(1, Ordering::SeqCst) + 1;
    let path = request.uri().path().to_string();
    let cookie = request
        .headers()
        .get("cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let reply = |status: u16, body: String| {
        Response::builder()
            .status(status)
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
    };
    Ok(match path.as_str() {
        "/ok" => reply(200, "ok".to_string()),
        "/stall-once" => {
            if n == state.stall_at {
                tokio::time::sleep(STALL).await;
            }
            reply(200, "ok".to_string())
        }
        "/checkout" => {
            if n.is_multiple_of(4) {
                reply(500, "down".to_string())
            } else {
                reply(200, "paid".to_string())
            }
        }
        "/broken" => reply(503, "no".to_string()),
        "/login" => {
            let text = String::from_utf8_lossy(&body).to_string();
            let user = text.strip_prefix("user=").unwrap_or("").to_string();
            Response::builder()
                .status(200)
                .header("set-cookie", format!("session={user}; Path=/"))
                .body(Full::new(Bytes::from("welcome")))
                .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
        }
        "/me" => {
            let user = cookie
                .split(';')
                .filter_map(|c| c.trim().strip_prefix("session="))
                .next()
                .unwrap_or("anonymous")
                .to_string();
            if let Ok(mut users) = state.users.lock() {
                users.insert(user.clone());
            }
            reply(200, format!("hello {user}"))
        }
        _ => reply(404, "not found".to_string()),
    })
}

/// Starts the server on a free loopback port; it stops with the test's runtime.
pub async fn server(stall_at: u64) -> (SocketAddr, Arc<State>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let state = Arc::new(State {
        stall_at,
        ..State::default()
    });
    let shared = state.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let state = shared.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |r| answer(state.clone(), r));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, state)
}

/// A network layer for the process (iterations run on their own tasks, so it must outlive them).
pub fn net() -> &'static Net {
    let config = NetConfig {
        // Only addresses are used; naming a resolver keeps the system configuration out of the test.
        resolvers: vec!["127.0.0.1:9".parse().expect("address")],
        timeout: Duration::from_secs(10),
        concurrency: 1024,
        ..NetConfig::default()
    };
    Box::leak(Box::new(Net::new(config).expect("net")))
}

/// The open model at a constant rate for `seconds`.
pub fn open(rate: f64, seconds: u64, max_in_flight: usize) -> Model {
    Model::Open {
        schedule: Schedule::constant(Rate(rate), Duration::from_secs(seconds)),
        max_in_flight,
    }
}

/// A flow file written to a folder of its own, which lasts as long as the returned guard.
pub fn temp_flow(name: &str, source: &str) -> (tempfile::TempDir, FlowFile) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = flow(dir.path(), name, source);
    (dir, file)
}

pub fn flow(dir: &Path, name: &str, source: &str) -> FlowFile {
    let path = dir.join(name);
    std::fs::write(&path, source).expect("write flow");
    launchready_flow::parse(&path, source).expect("flow parses")
}

pub fn plan(files: Vec<FlowFile>, model: Model, base: SocketAddr) -> LoadPlan {
    let mut variables = Variables::new();
    variables.set(
        "base",
        launchready_flow::parse_value(&format!("http://{base}")),
    );
    LoadPlan {
        files,
        model,
        options: RunOptions::default(),
        variables,
        rows: Vec::new(),
        thresholds: Vec::new(),
        allowed_hosts: vec!["127.0.0.1".to_string()],
        grace: Duration::from_secs(10),
        backends: Vec::new(),
        fast_path: true,
    }
}

/// Runs a plan with a watchdog: a run that does not stop by itself fails the test.
pub async fn run(plan: LoadPlan, stop: Stop) -> LoadReport {
    plan.check().expect("the plan checks");
    tokio::time::timeout(
        Duration::from_secs(60),
        launchready_load::run(plan, net(), stop, None),
    )
    .await
    .expect("the run stops by itself")
}
