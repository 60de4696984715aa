//! A stand-in for Cloudflare's v4 API (`api.cloudflare.com`) serving recorded responses over HTTPS with a lab
//! certificate, for testing a provider export without the internet. Clients reach it the way they would reach
//! the real API through a proxy: `--connect-to api.cloudflare.com:443:127.0.0.1:PORT` and `--ca-file`. It checks
//! the bearer token (a wrong one gets Cloudflare's authentication error) and answers each recorded
//! path-and-query with its body; anything else is Cloudflare's 404 shape.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::task::JoinHandle;

use crate::scenario::CertSpec;
use crate::{LabError, pki, serve};

/// The API's host name.
pub const CLOUDFLARE_API_HOST: &str = "api.cloudflare.com";

/// A recorded export of the zone `shop.test`: the zone lookup, two pages of DNS records (one proxied apex, a
/// proxied www, mail records, a CAA), the SSL mode and one page rule. Keyed by path and query.
pub fn recorded_shop_zone() -> Vec<(String, String)> {
    vec![
        (
            "/client/v4/zones?name=shop.test".into(),
            include_str!("../fixtures/cloudflare/zones.json").into(),
        ),
        (
            "/client/v4/zones/023e105f4ecef8ad9ca31a8372d0c353/dns_records?page=1&per_page=100"
                .into(),
            include_str!("../fixtures/cloudflare/dns_records_1.json").into(),
        ),
        (
            "/client/v4/zones/023e105f4ecef8ad9ca31a8372d0c353/dns_records?page=2&per_page=100"
                .into(),
            include_str!("../fixtures/cloudflare/dns_records_2.json").into(),
        ),
        (
            "/client/v4/zones/023e105f4ecef8ad9ca31a8372d0c353/settings/ssl".into(),
            include_str!("../fixtures/cloudflare/ssl.json").into(),
        ),
        (
            "/client/v4/zones/023e105f4ecef8ad9ca31a8372d0c353/pagerules".into(),
            include_str!("../fixtures/cloudflare/pagerules.json").into(),
        ),
    ]
}

/// The running fixture; stops on drop.
pub struct CloudflareFixture {
    addr: SocketAddr,
    ca_file: PathBuf,
    task: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for CloudflareFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudflareFixture")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for CloudflareFixture {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const AUTH_ERROR: &str = r#"{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null}"#;
const NOT_FOUND: &str = r#"{"success":false,"errors":[{"code":7003,"message":"Could not route to /client/v4/..., perhaps your object identifier is invalid?"}],"messages":[],"result":null}"#;

impl CloudflareFixture {
    /// Serves `responses` (path and query → JSON body) to requests carrying `Authorization: Bearer {token}`.
    pub async fn start(
        token: &str,
        responses: Vec<(String, String)>,
    ) -> Result<CloudflareFixture, LabError> {
        let ca = pki::LabCa::new()?;
        let key = ca.certified_key(CLOUDFLARE_API_HOST, &CertSpec::Valid)?;
        let mut config =
            ca.server_config(HashMap::from([(CLOUDFLARE_API_HOST.to_string(), key)]))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let (dir, ca_file) = serve::ca_dir("launchready-cloudflare-", &ca.root_pem)?;
        let (listener, addr) = serve::bind_loopback("binding the Cloudflare fixture").await?;
        let responses: Arc<HashMap<String, String>> = Arc::new(responses.into_iter().collect());
        let expected = Arc::new(format!("Bearer {token}"));
        let task = tokio::spawn(serve::accept_each(listener, move |stream| {
            let acceptor = acceptor.clone();
            let responses = responses.clone();
            let expected = expected.clone();
            async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                    let responses = responses.clone();
                    let expected = expected.clone();
                    async move {
                        Ok::<_, std::convert::Infallible>(answer(&request, &responses, &expected))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            }
        }));
        Ok(CloudflareFixture {
            addr,
            ca_file,
            task,
            _dir: dir,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA that signed the fixture's certificate, for `--ca-file`.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The `--connect-to` rule sending the API's traffic here.
    pub fn connect_to(&self) -> String {
        format!("{CLOUDFLARE_API_HOST}:443:127.0.0.1:{}", self.addr.port())
    }
}

fn answer(
    request: &Request<hyper::body::Incoming>,
    responses: &HashMap<String, String>,
    expected: &str,
) -> Response<Full<Bytes>> {
    let authorized = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected);
    let target = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let (status, body) = if !authorized {
        (403, AUTH_ERROR.to_string())
    } else if request.method() != hyper::Method::GET {
        // The recording is of a read-only token: Cloudflare refuses writes with this code.
        (
            403,
            AUTH_ERROR.replace(
                "Authentication error",
                "Unauthorized to access requested resource",
            ),
        )
    } else {
        match responses.get(&target) {
            Some(body) => (200, body.clone()),
            None => (404, NOT_FOUND.to_string()),
        }
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::NOT_FOUND);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}
