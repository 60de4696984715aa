//! What the monitor's integration tests share: the lab's membership app behind its mail sink, the nets that reach
//! it (or only loopback, for webhooks), and a loopback server for local receivers.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code, clippy::unwrap_used)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use launchready_lab::app::{AppConfig, MemberApp};
use launchready_mailbox::SmtpSink;
use launchready_net::{Net, NetConfig};
use launchready_testkit::lab::loopback_config;
use launchready_testkit::watchdog::within;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The membership app as www.example.test, sending its mail to a local sink (kept alive by the caller).
pub async fn member_app() -> (SmtpSink, MemberApp) {
    let sink = SmtpSink::start(([127, 0, 0, 1], 0).into()).await.unwrap();
    let mut config = AppConfig::new(sink.addr());
    config.host = "www.example.test".into();
    let app = MemberApp::start(config).await.unwrap();
    (sink, app)
}

/// A net that reaches the app's hosts through `connect_to` and trusts its CA; no name resolves otherwise
/// (nothing listens on port 9).
pub fn app_net(connect_to: &[String], ca_file: &Path, timeout: Duration) -> Net {
    Net::new(loopback_config(connect_to, ca_file, timeout)).unwrap()
}

/// A net for loopback URLs only: no name resolves (nothing listens on port 9).
pub fn loopback_net(timeout: Duration) -> Net {
    Net::new(NetConfig {
        resolvers: vec![([127, 0, 0, 1], 9).into()],
        timeout,
        ..NetConfig::default()
    })
    .unwrap()
}

/// Serves `app` on a free loopback port for the rest of the test.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// The JSON bodies a webhook receiver got, in order.
pub type Received = Arc<Mutex<Vec<serde_json::Value>>>;

/// A local webhook receiver at the returned URL that records every body POSTed to it (one that is not JSON as
/// `null`, so it still counts).
pub async fn json_receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let app = Router::new()
        .route(
            "/hook",
            post(|State(r): State<Received>, body: Bytes| async move {
                r.lock()
                    .unwrap()
                    .push(serde_json::from_slice(&body).unwrap_or_default());
                "ok"
            }),
        )
        .with_state(received.clone());
    let addr = serve(app).await;
    (format!("http://{addr}/hook"), received)
}

/// A response as the dashboard's tests read it.
pub struct Page {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: String,
}

impl Page {
    /// A response header's value, empty when it is absent or not text.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// One GET over a fresh HTTP/1.1 connection, with a watchdog.
pub async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Page {
    within(Duration::from_secs(30), &format!("GET {path}"), async {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        let mut request = hyper::Request::get(path).header("host", addr.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = sender
            .send_request(request.body(Empty::<Bytes>::new()).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Page {
            status,
            headers,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    })
    .await
}
