//! TLS setup: the two server configurations (ALPN with or without `h2`) and the handshake,
//! which picks one by SNI after reading the ClientHello.

use std::sync::Arc;

use rustls::ServerConfig;
use tokio::net::TcpStream;
use tokio_rustls::LazyConfigAcceptor;

use super::conn::serve_connection;
use super::misbehave::{answer_with_garbage, stall};
use super::routing::CompiledHandler;
use super::{Scheme, Shared};
use crate::scenario::normalize_name;

/// The two TLS configurations: the normal one offers `h2` and `http/1.1`; sites whose HTTPS
/// handler writes raw HTTP/1.1 get one offering only `http/1.1`, chosen by SNI.
#[derive(Clone)]
pub(crate) struct TlsConfigs {
    any_version: Arc<ServerConfig>,
    http1_only: Arc<ServerConfig>,
}

impl TlsConfigs {
    /// `config` is the full configuration (certificate resolver, ALPN `h2` and `http/1.1`); the
    /// HTTP/1.1-only one differs in ALPN alone.
    pub(crate) fn new(config: ServerConfig) -> Self {
        let mut http1_only = config.clone();
        http1_only.alpn_protocols = vec![b"http/1.1".to_vec()];
        Self {
            any_version: Arc::new(config),
            http1_only: Arc::new(http1_only),
        }
    }
}

/// Completes the TLS handshake of one accepted connection and serves it, unless the site's
/// TLS-level misbehaviour takes over right after the ClientHello.
pub(super) async fn serve_tls(stream: TcpStream, shared: Arc<Shared>, configs: &TlsConfigs) {
    // The ClientHello is read first so the ALPN offer can depend on the site.
    // Handshake failures are expected (clients rejecting broken certs).
    let acceptor = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream);
    let Ok(start) = acceptor.await else {
        return;
    };
    let sni = start.client_hello().server_name().map(normalize_name);
    let site = sni.as_deref().and_then(|host| shared.sites.get(host));
    match site.map(|site| &site.https) {
        Some(CompiledHandler::GarbageTls) => {
            return answer_with_garbage(start.io, &shared).await;
        }
        Some(CompiledHandler::StallTls) => {
            return stall(start.io, &shared).await;
        }
        _ => {}
    }
    let http1_only = site.is_some_and(|site| site.https_http1_only);
    let config = if http1_only {
        configs.http1_only.clone()
    } else {
        configs.any_version.clone()
    };
    let Ok(stream) = start.into_stream(config).await else {
        return;
    };
    serve_connection(stream, shared, Scheme::Https, sni).await
}
