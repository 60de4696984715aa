//! A hermetic test lab: an authoritative DNS server, HTTP and HTTPS virtual-host servers and a
//! private CA, all started in-process on loopback and torn down when the [`Lab`] is dropped.
//!
//! Clients reach it like a curl user would reach a staging box: `--resolver` points at
//! [`Lab::resolver_arg`], `--connect-to` at [`Lab::connect_to_args`] and `--ca-file` at
//! [`Lab::ca_file`]. Nothing touches the internet and nothing needs root.
//!
//! ```no_run
//! # async fn example() -> Result<(), launchready_lab::LabError> {
//! let lab = launchready_lab::Lab::start(launchready_lab::scenarios::demo()).await?;
//! println!("dns {} http {} https {}", lab.dns_addr(), lab.http_addr(), lab.https_addr());
//! # Ok(()) }
//! ```

pub mod app;
pub mod assistant;
pub mod cloudflare;
mod dns;
mod http;
mod pki;
mod scenario;
pub mod scenarios;
mod serve;
mod smtp;

use std::collections::{HashMap, HashSet};
use std::net::{Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use rustls_pki_types::CertificateDer;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use pki::DEFAULT_HOST;
pub use scenario::{
    CertSpec, DEFAULT_TTL, EdgeKind, Handler, MailServer, Page, Record, RecordData, Scenario, Site,
    Zone,
};

/// File name of the root CA certificate inside [`Lab::dir`].
pub const CA_FILE_NAME: &str = "lab-root-ca.pem";

/// Why a lab could not start.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("{context}: {source}")]
    Io {
        context: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid DNS name {name:?}: {reason}")]
    InvalidName { name: String, reason: String },
    #[error("invalid scenario: {0}")]
    InvalidScenario(String),
    #[error("generating lab certificates: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("configuring TLS: {0}")]
    Tls(#[from] rustls::Error),
    #[error("generating a weak RSA key: {0}")]
    WeakKey(String),
}

impl LabError {
    pub(crate) fn io(context: &'static str, source: std::io::Error) -> Self {
        Self::Io { context, source }
    }
}

/// A running lab. All servers stop (and their ports are released) when it is dropped.
pub struct Lab {
    dns: dns::DnsServer,
    http_addr: SocketAddr,
    https_addr: SocketAddr,
    https6_addr: Option<SocketAddr>,
    /// Each mail server's host and listening address, in scenario order.
    smtp: Vec<(String, SocketAddr)>,
    tasks: Vec<JoinHandle<()>>,
    shared: Arc<http::Shared>,
    // Dropping the sender is the signal that releases hanging requests; see `http::Shared`.
    _shutdown: watch::Sender<()>,
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    ca_file: PathBuf,
    dir: tempfile::TempDir,
}

impl std::fmt::Debug for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lab")
            .field("dns_addr", &self.dns.addr)
            .field("http_addr", &self.http_addr)
            .field("https_addr", &self.https_addr)
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

impl Lab {
    /// Builds the PKI, zones and sites and starts the servers. Must be called inside a tokio
    /// runtime; the servers run as tasks on it.
    pub async fn start(scenario: Scenario) -> Result<Lab, LabError> {
        let (shutdown_tx, shutdown_rx) = watch::channel(());
        let shutdown_rx6 = shutdown_rx.clone();
        let shared = Arc::new(http::Shared::new(
            &scenario.sites,
            scenario.http_latency,
            shutdown_rx,
        )?);

        let ca = pki::LabCa::new()?;
        let mut certs = HashMap::new();
        for site in &scenario.sites {
            certs.insert(
                scenario::normalize_name(&site.host),
                ca.certified_key(&site.host, &site.cert)?,
            );
        }
        let tls = http::TlsConfigs::new(ca.server_config(certs)?);

        let (dir, ca_file) = serve::ca_dir("launchready-lab-", &ca.root_pem)?;

        let dns = dns::start(
            &scenario.zones,
            dns::Misbehaviour {
                latency: scenario.dns_latency,
                truncate_udp: scenario.dns_truncate_udp,
                servfail: normalized_set(&scenario.dns_servfail),
                silent: normalized_set(&scenario.dns_silent),
            },
        )
        .await?;

        let (http_listener, http_addr) = serve::bind_loopback("binding HTTP listener").await?;
        let (https_listener, https_addr) = serve::bind_loopback("binding HTTPS listener").await?;

        // The IPv6 listener serves the same sites, except those marked `ipv6: false`, whose connections it
        // closes: an AAAA record pointing at a server that does not serve the site. Hosts without IPv6
        // loopback simply get no IPv6 listener.
        let https6_listener = TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).await.ok();
        let https6_addr = https6_listener.as_ref().and_then(|l| l.local_addr().ok());
        let mut tasks = vec![
            tokio::spawn(http::serve_http(http_listener, shared.clone())),
            tokio::spawn(http::serve_https(
                https_listener,
                shared.clone(),
                tls.clone(),
            )),
        ];
        if let Some(listener) = https6_listener {
            let sites: Vec<Site> = scenario
                .sites
                .iter()
                .cloned()
                .map(|mut site| {
                    if !site.ipv6 {
                        site.https = Handler::Close;
                        site.http = Handler::Close;
                    }
                    site
                })
                .collect();
            let shared6 = Arc::new(http::Shared::new(
                &sites,
                scenario.http_latency,
                shutdown_rx6,
            )?);
            tasks.push(tokio::spawn(http::serve_https(listener, shared6, tls)));
        }

        let mut smtp = Vec::new();
        for server in &scenario.mail_servers {
            let (listener, addr) = serve::bind_loopback("binding SMTP listener").await?;
            smtp.push((server.host.clone(), addr));
            let acceptor = if server.starttls {
                let key = ca.certified_key(&server.host, &server.cert)?;
                let mut config = ca.server_config(HashMap::from([(server.host.clone(), key)]))?;
                // SMTP negotiates no application protocol.
                config.alpn_protocols.clear();
                Some(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
            } else {
                None
            };
            tasks.push(tokio::spawn(smtp::serve(
                listener,
                server.clone(),
                acceptor,
            )));
        }

        Ok(Lab {
            dns,
            http_addr,
            https_addr,
            https6_addr,
            smtp,
            tasks,
            shared,
            _shutdown: shutdown_tx,
            ca_pem: ca.root_pem.clone(),
            ca_der: ca.root_der.clone(),
            ca_file,
            dir,
        })
    }

    /// The DNS server; UDP and TCP share this port.
    pub fn dns_addr(&self) -> SocketAddr {
        self.dns.addr
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    pub fn https_addr(&self) -> SocketAddr {
        self.https_addr
    }

    /// The root CA certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The root CA certificate, DER, for clients that build a root store directly.
    pub fn ca_der(&self) -> &CertificateDer<'static> {
        &self.ca_der
    }

    /// The root CA PEM as a file inside [`Lab::dir`].
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// A temporary directory owned by the lab (removed on drop) for test artefacts.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `127.0.0.1:PORT` of the DNS server, the form `--resolver` takes.
    pub fn resolver_arg(&self) -> String {
        self.dns.addr.to_string()
    }

    /// The HTTPS listener on `[::1]`, when the machine has IPv6 loopback.
    pub fn https6_addr(&self) -> Option<SocketAddr> {
        self.https6_addr
    }

    /// curl-style overrides sending ports 80 and 443 of any host to the lab, requests aimed at the IPv6
    /// loopback address to the lab's IPv6 listener (first: the first matching rule wins), and nameserver
    /// queries (port 53) to the lab's DNS server.
    pub fn connect_to_args(&self) -> Vec<String> {
        let mut rules = Vec::new();
        if let Some(v6) = self.https6_addr {
            rules.push(format!("[::1]:443:[::1]:{}", v6.port()));
        }
        // Mail servers listen on their own ports, so each MX host gets its own port-25 rule.
        for (host, addr) in &self.smtp {
            rules.push(format!("{host}:25:{}:{}", addr.ip(), addr.port()));
        }
        rules.push(format!(
            ":80:{}:{}",
            self.http_addr.ip(),
            self.http_addr.port()
        ));
        rules.push(format!(
            ":443:{}:{}",
            self.https_addr.ip(),
            self.https_addr.port()
        ));
        rules.push(format!(
            ":53:{}:{}",
            self.dns.addr.ip(),
            self.dns.addr.port()
        ));
        rules
    }

    /// The loopback address of the mail server for `host`, if the scenario has one.
    pub fn smtp_addr(&self, host: &str) -> Option<SocketAddr> {
        let host = scenario::normalize_name(host);
        self.smtp.iter().find(|(h, _)| *h == host).map(|(_, a)| *a)
    }

    /// HTTP(S) responses sent so far (hung and closed requests are not counted; a `Dribble` or
    /// `HugeHeader` response counts when it starts).
    pub fn requests_served(&self) -> u64 {
        self.shared.served.load(Ordering::Relaxed)
    }

    /// `Dribble` and `HugeHeader` responses still being written by hand, and `HugeBody` bodies
    /// still streaming. Drops back as soon as their clients disconnect, which lets tests prove
    /// the writers stop.
    pub fn slow_writers(&self) -> usize {
        self.shared.slow_writers.load(Ordering::Relaxed)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // The DNS server aborts its own tasks when its field is dropped right after this.
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn normalized_set(names: &[String]) -> HashSet<String> {
    names.iter().map(|n| scenario::normalize_name(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_can_be_shared_across_tasks() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Lab>();
        assert_send_sync::<LabError>();
        assert_send_sync::<Scenario>();
    }
}
