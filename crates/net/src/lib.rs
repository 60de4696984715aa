//! The network layer: DNS through hickory-resolver, an HTTP(S) client that never follows redirects on its own (so
//! every hop is recorded with its timings), TLS facts, and the pre-cutover overrides users rely on
//! (`--resolver`, `--connect-to`, `--ca-file`). Failures are returned as facts, not errors: only a setup mistake
//! (a bad CA file, an unreachable resolver) is an `Err`.

mod connect_to;
mod dns;
mod http;
pub mod legacy;
pub mod mail;
pub mod request;
mod smtp;
pub mod tls;

pub use connect_to::{ConnectTo, ConnectToError, resolve_target};
pub use dns::RecordSet;
pub use hickory_resolver::proto::rr::RecordType;
pub use http::MAX_BODY_BYTES;
pub use request::{HttpRequest, HttpResponse, HttpSession, RequestError};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use rustls::client::WebPkiServerVerifier;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How to reach the network. Built by the binary from flags and the manifest.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Nameservers to ask for every lookup, the HTTP client's too. Empty: the system's resolv.conf.
    pub resolvers: Vec<SocketAddr>,
    pub connect_to: Vec<ConnectTo>,
    /// Extra trust anchors (PEM), added to the Mozilla roots.
    pub ca_files: Vec<PathBuf>,
    /// Limit for each network operation (a lookup, a connect, a handshake, a response).
    pub timeout: Duration,
    /// Everything must finish by this instant; operations still running then fail as timeouts.
    pub deadline: Option<Instant>,
    /// Operations in flight at once.
    pub concurrency: usize,
    /// Sent on every request: what a visitor on a computer sends, so the audit sees what visitors see.
    pub user_agent: String,
    /// Sent on the second pass over entry points and legacy links, to see where phones land.
    pub mobile_user_agent: String,
}

/// A current desktop browser (Chrome on Windows, in the reduced form Chrome sends since 2023).
pub const DESKTOP_USER_AGENT: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36";
/// A current phone browser (Chrome on Android, reduced form): carries the `Mobile` and `Android` tokens that
/// servers' mobile detection looks for.
pub const MOBILE_USER_AGENT: &str = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Mobile Safari/537.36";

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            resolvers: Vec::new(),
            connect_to: Vec::new(),
            ca_files: Vec::new(),
            timeout: Duration::from_secs(10),
            deadline: None,
            concurrency: 64,
            user_agent: DESKTOP_USER_AGENT.to_string(),
            mobile_user_agent: MOBILE_USER_AGENT.to_string(),
        }
    }
}

/// Setup failures: the audit cannot run at all.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("cannot use CA file {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("cannot set up the resolver: {0}")]
    Resolver(String),
    #[error("no nameserver answered ({servers}): {reason}")]
    ResolverUnreachable { servers: String, reason: String },
    #[error("cannot set up TLS: {0}")]
    Tls(String),
}

/// Parses `--resolver IP[:PORT]` (port 53 by default; IPv6 as `[::1]:5353` or a bare address).
pub fn parse_resolver(input: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = input.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = input.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    Err(format!(
        "invalid --resolver `{input}`: expected an IP address with an optional port, e.g. 1.1.1.1, 127.0.0.1:5353 or [::1]:53"
    ))
}

/// A configured client: one resolver (with its cache) and one TLS setup shared by every probe of an audit.
pub struct Net {
    config: NetConfig,
    resolver: TokioResolver,
    webpki: Arc<WebPkiServerVerifier>,
    limit: Arc<Semaphore>,
}

impl std::fmt::Debug for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Net").field("config", &self.config).finish()
    }
}

impl Net {
    /// Must be called inside a tokio runtime.
    pub fn new(config: NetConfig) -> Result<Net, NetError> {
        let roots = tls::root_store(&config.ca_files)?;
        let webpki = WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            Arc::new(rustls::crypto::ring::default_provider()),
        )
        .build()
        .map_err(|e| NetError::Tls(e.to_string()))?;
        let resolver = build_resolver(&config)?;
        let limit = Arc::new(Semaphore::new(config.concurrency.max(1)));
        Ok(Net {
            config,
            resolver,
            webpki,
            limit,
        })
    }

    pub fn config(&self) -> &NetConfig {
        &self.config
    }

    /// The time an operation starting now may take: the per-operation timeout, cut short by the deadline.
    pub fn op_timeout(&self) -> Duration {
        match self.config.deadline {
            Some(deadline) => self
                .config
                .timeout
                .min(deadline.saturating_duration_since(Instant::now())),
            None => self.config.timeout,
        }
    }

    /// Whether the global deadline has passed.
    pub fn past_deadline(&self) -> bool {
        self.config.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Describes the nameservers in use, for facts and messages.
    pub fn resolver_names(&self) -> Vec<String> {
        self.config
            .resolvers
            .iter()
            .map(|a| a.to_string())
            .collect()
    }
}

fn build_resolver(config: &NetConfig) -> Result<TokioResolver, NetError> {
    let provider = TokioRuntimeProvider::default();
    let mut builder = if config.resolvers.is_empty() {
        TokioResolver::builder(provider).map_err(|e| {
            NetError::Resolver(format!(
                "cannot read the system resolver configuration ({e}); name one with --resolver"
            ))
        })?
    } else {
        TokioResolver::builder_with_config(servers_config(&config.resolvers), provider)
    };
    builder = builder.with_options(resolver_options(config.timeout, true));
    builder
        .build()
        .map_err(|e| NetError::Resolver(e.to_string()))
}

/// UDP with TCP fallback (for truncated answers) to each address.
fn servers_config(addresses: &[SocketAddr]) -> ResolverConfig {
    let servers = addresses
        .iter()
        .map(|addr| {
            let mut udp = ConnectionConfig::udp();
            udp.port = addr.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = addr.port();
            let mut server = NameServerConfig::udp_and_tcp(addr.ip());
            server.connections = vec![udp, tcp];
            server
        })
        .collect();
    ResolverConfig::from_name_servers(servers)
}

fn resolver_options(timeout: Duration, recursion: bool) -> ResolverOpts {
    let mut options = ResolverOpts::default();
    options.timeout = timeout;
    options.attempts = 1;
    options.preserve_intermediates = true;
    options.ndots = 0;
    options.recursion_desired = recursion;
    options
}

/// A resolver that asks exactly one server, without recursion and without a cache: what that server itself
/// says, as a delegation check needs.
pub(crate) fn direct_resolver(
    server: SocketAddr,
    timeout: Duration,
) -> Result<TokioResolver, NetError> {
    let mut options = resolver_options(timeout, false);
    options.cache_size = 0;
    TokioResolver::builder_with_config(servers_config(&[server]), TokioRuntimeProvider::default())
        .with_options(options)
        .build()
        .map_err(|e| NetError::Resolver(e.to_string()))
}
