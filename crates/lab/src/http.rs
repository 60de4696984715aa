//! The lab's HTTP and HTTPS servers: hyper (HTTP/1.1 and HTTP/2) behind plain TCP or rustls,
//! routing each request to a scenario site by Host (or SNI) and replaying its scripted behaviour.
//!
//! Most behaviour is an ordinary hyper response. `Dribble` and `HugeHeader` need to control the
//! bytes on the wire, which hyper does not allow, so for HTTP/1 requests the connection is taken
//! back from hyper (see `conn::SharedIo`) and the response is written by hand. `GarbageTls` and
//! `StallTls` act before there is any HTTP: right after the ClientHello, in the accept loop.
//!
//! This module holds the state every connection shares; the work is split by concern:
//! `conn` (accepting connections, handing them to hyper, taking them back), `tls` (the TLS
//! configurations and the handshake, with its choice of ALPN by SNI), `routing` (virtual hosts,
//! pages, redirects), `misbehave` (the scripted failures) and `edge` (the simulated CDN).

mod conn;
mod edge;
mod misbehave;
mod routing;
mod tls;

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::time::Duration;

use bytes::Bytes;
use http::HeaderValue;
use http_body_util::combinators::UnsyncBoxBody;
use tokio::sync::watch;

use crate::LabError;
use crate::scenario::{Site, normalize_name};
use edge::EdgeCache;
use routing::{CompiledSite, compile_handler};

pub(crate) use conn::{serve_http, serve_https};
pub(crate) use tls::TlsConfigs;

const HTML: &str = "text/html; charset=utf-8";

type LabBody = UnsyncBoxBody<Bytes, std::io::Error>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Scheme {
    Http,
    Https,
}

/// State shared by every connection of both listeners.
pub(crate) struct Shared {
    sites: HashMap<String, CompiledSite>,
    latency: Duration,
    pub(crate) served: AtomicU64,
    /// Hand-written (`Dribble`/`HugeHeader`) responses still being written and `HugeBody`
    /// bodies still streaming.
    pub(crate) slow_writers: AtomicUsize,
    /// `cf-ray` values are a per-lab random seed mixed with this counter, so they differ per
    /// response and per lab like real ones without pulling in a random number generator.
    ray_seed: u64,
    rays: AtomicU64,
    /// Never sent on; its sender lives in the `Lab`, so `changed()` resolves exactly when the
    /// lab is dropped. `Hang` and the slow writers wait on it, which stops HTTP/2 stream tasks
    /// (spawned outside our JoinSets by hyper's executor) from outliving the lab.
    shutdown: watch::Receiver<()>,
}

impl Shared {
    pub(crate) fn new(
        sites: &[Site],
        latency: Duration,
        shutdown: watch::Receiver<()>,
    ) -> Result<Self, LabError> {
        let mut compiled = HashMap::new();
        for site in sites {
            let host = normalize_name(&site.host);
            let entry = CompiledSite {
                http: compile_handler(&host, &site.http)?,
                https: compile_handler(&host, &site.https)?,
                https_http1_only: site.https.needs_http1(),
                edge: site.edge.map(|kind| EdgeCache {
                    kind,
                    cached: Mutex::new(HashMap::new()),
                }),
                mobile_redirect: match &site.mobile_redirect {
                    Some(to) => Some(HeaderValue::from_str(to).map_err(|e| {
                        LabError::InvalidScenario(format!("{host}: mobile redirect {to:?}: {e}"))
                    })?),
                    None => None,
                },
            };
            if compiled.insert(host.clone(), entry).is_some() {
                return Err(LabError::InvalidScenario(format!(
                    "site {host} defined twice"
                )));
            }
        }
        Ok(Self {
            sites: compiled,
            latency,
            served: AtomicU64::new(0),
            slow_writers: AtomicUsize::new(0),
            ray_seed: RandomState::new().hash_one("cf-ray"),
            rays: AtomicU64::new(0),
            shutdown,
        })
    }

    /// Resolves when the lab is dropped.
    fn lab_dropped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut shutdown = self.shutdown.clone();
        async move {
            // The sender is never used, so this only returns once it is dropped.
            let _ = shutdown.changed().await;
        }
    }
}
