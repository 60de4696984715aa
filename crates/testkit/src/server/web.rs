//! What the three web servers share: their ports (one plain-HTTP port, one HTTPS port speaking only HTTP/1.1
//! and one offering HTTP/2 too), the options a test can add beyond the scenario, and the reading of a lab
//! `Scenario` into virtual hosts every server module translates into its own configuration.

use std::marker::PhantomData;
use std::path::Path;

use launchready_lab::{Handler, Page, Scenario};

use super::{CertFiles, Launch, Listen, Pki, Probe, Running, ServerError};

/// The HTTP version a test wants the HTTPS port to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// ALPN offers only `http/1.1`.
    Http1,
    /// ALPN offers `h2` and `http/1.1`.
    Http2,
}

impl Protocol {
    pub const BOTH: [Protocol; 2] = [Protocol::Http1, Protocol::Http2];

    pub fn label(self) -> &'static str {
        match self {
            Protocol::Http1 => "HTTP/1.1",
            Protocol::Http2 => "HTTP/2",
        }
    }
}

/// The loopback ports a web server listens on, on 127.0.0.1 and, when the machine has IPv6 loopback, on
/// `[::1]` too (the same numbers); every virtual host is served on each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    pub http: u16,
    pub https_h1: u16,
    pub https_h2: u16,
    pub ipv6: bool,
}

impl Listen for Ports {
    fn pick() -> Result<Ports, ServerError> {
        let (http, https_h1, https_h2) = (
            super::free_port()?,
            super::free_port()?,
            super::free_port()?,
        );
        let ipv6 = [http, https_h1, https_h2].iter().all(|port| {
            std::net::TcpListener::bind((std::net::Ipv6Addr::LOCALHOST, *port)).is_ok()
        });
        Ok(Ports {
            http,
            https_h1,
            https_h2,
            ipv6,
        })
    }

    fn addrs(&self) -> Vec<std::net::SocketAddr> {
        let mut addrs = Vec::new();
        for port in [self.http, self.https_h1, self.https_h2] {
            addrs.push(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
            if self.ipv6 {
                addrs.push(std::net::SocketAddr::from((
                    std::net::Ipv6Addr::LOCALHOST,
                    port,
                )));
            }
        }
        addrs
    }
}

impl Ports {
    /// The addresses to listen on, as server configurations write them.
    pub(crate) fn hosts(&self) -> &'static [&'static str] {
        if self.ipv6 {
            &["127.0.0.1", "[::1]"]
        } else {
            &["127.0.0.1"]
        }
    }

    pub fn https(&self, protocol: Protocol) -> u16 {
        match protocol {
            Protocol::Http1 => self.https_h1,
            Protocol::Http2 => self.https_h2,
        }
    }

    /// `--connect-to` rules sending every host's ports 80 and 443 here, 443 to the port for `protocol`; the
    /// audit's IPv6 probes (aimed at `[::1]:443` by an AAAA record) to the IPv6 listener first.
    pub fn connect_to(&self, protocol: Protocol) -> Vec<String> {
        let mut rules = Vec::new();
        if self.ipv6 {
            rules.push(format!("[::1]:80:[::1]:{}", self.http));
            rules.push(format!("[::1]:443:[::1]:{}", self.https(protocol)));
        }
        rules.push(format!(":80:127.0.0.1:{}", self.http));
        rules.push(format!(":443:127.0.0.1:{}", self.https(protocol)));
        rules
    }
}

/// What a test asks of a web server beyond serving the scenario's sites.
#[derive(Debug, Clone, Default)]
pub struct WebOptions {
    /// OpenSSL at security level 0 in each HTTPS virtual host (nginx `ssl_ciphers DEFAULT@SECLEVEL=0`, Apache
    /// `SSLCipherSuite DEFAULT@SECLEVEL=0`), without which OpenSSL 3 refuses to load a SHA-1 signed or RSA-1024
    /// certificate ("ee key too small", "ca md too weak"). TLS 1.2 stays the minimum. Caddy (Go) needs nothing.
    pub seclevel0: bool,
    /// Security level 0 and TLS 1.0 and 1.1 enabled (nginx, Apache; Caddy's Go TLS cannot).
    pub legacy_protocols: bool,
    /// Compress text responses the way each server usually does: nginx `gzip`, Apache `mod_brotli` (br),
    /// Caddy `encode gzip`. The lab never compresses.
    pub compress: bool,
    /// Certificates to serve instead of what the site's `CertSpec` asks for, by host.
    pub certs: Vec<(String, CertFiles)>,
}

/// A started web server serving a scenario's sites.
pub trait WebServer: Send + Sync {
    /// The server's name as the report tables show it.
    fn name(&self) -> &'static str;
    fn ports(&self) -> Ports;
    /// The server's logs so far, for failure messages.
    fn log(&self) -> String;
}

/// One kind of web server: which program it is, its configuration and its command line. Everything else —
/// finding the binary, reading the scenario, ports, the scratch directory, waiting until it listens, stopping
/// it — is [`Server`]'s, the same for every kind.
pub trait Kind: std::fmt::Debug + Send + Sync + 'static {
    /// The binary, which is also the name of the Debian package that installs it.
    const PROGRAM: &'static str;
    /// The configuration file's name in the scratch directory.
    const CONFIG_FILE: &'static str;

    /// The configuration for `setup` (files it refers to are written into `setup.dir`).
    fn config(setup: Setup<'_>) -> Result<String, ServerError>;

    /// How to run `binary` on the configuration file `conf` in the scratch directory `dir`.
    fn command(binary: &Path, conf: &Path, dir: &Path) -> Launch;
}

/// What a server's configuration is written from.
#[derive(Debug, Clone, Copy)]
pub struct Setup<'a> {
    pub vhosts: &'a [Vhost<'a>],
    pub ports: Ports,
    pub options: &'a WebOptions,
    /// The scratch directory, for the configuration, logs and temp files.
    pub dir: &'a Path,
}

/// A running web server of kind `K`; stopped on drop.
#[derive(Debug)]
pub struct Server<K> {
    running: Running<Ports>,
    kind: PhantomData<K>,
}

impl<K: Kind> Server<K> {
    /// Starts the server serving `scenario`'s sites with certificates from `pki`. `Ok(None)` when it is not
    /// installed (and `CI` is not `true`), after a skip message on stderr. Ports are picked free and the start
    /// is retried while one turns out taken.
    pub fn start(
        scenario: &Scenario,
        pki: &Pki,
        options: &WebOptions,
    ) -> Result<Option<Self>, ServerError> {
        let program = K::PROGRAM;
        let Some(binary) = super::locate(program, program)? else {
            return Ok(None);
        };
        let vhosts = vhosts(program, scenario, pki, options)?;
        let launch = |dir: &Path, ports: Ports| {
            let setup = Setup {
                vhosts: &vhosts,
                ports,
                options,
                dir,
            };
            let conf = dir.join(K::CONFIG_FILE);
            write(&conf, &K::config(setup)?)?;
            Ok(K::command(&binary, &conf, dir))
        };
        let running = Running::start(program, launch, |_, _| Ok(Probe::Ready))?;
        Ok(Some(Server {
            running,
            kind: PhantomData,
        }))
    }

    /// The directory holding the configuration and logs.
    pub fn dir(&self) -> &Path {
        self.running.dir.path()
    }
}

impl<K: Kind> WebServer for Server<K> {
    fn name(&self) -> &'static str {
        K::PROGRAM
    }

    fn ports(&self) -> Ports {
        self.running.listen
    }

    fn log(&self) -> String {
        self.running.process.log()
    }
}

/// One virtual host as the servers configure it.
#[derive(Debug)]
pub struct Vhost<'a> {
    pub host: &'a str,
    pub http: Behaviour<'a>,
    pub https: Behaviour<'a>,
    pub cert: CertFiles,
    /// Where phones are sent (a 302 on both schemes before anything else), as the lab's `mobile_redirect`.
    pub mobile_redirect: Option<&'a str>,
}

/// The User-Agent tokens the lab takes for a phone (case-sensitive), as one regular expression for the
/// servers' own matchers.
pub const MOBILE_UA_REGEX: &str = "(Mobile|Android|iPhone)";

/// What a host does on one scheme.
#[derive(Debug)]
pub enum Behaviour<'a> {
    /// Every request: `status` with `Location: to` (plus the path and query when `preserve_path`).
    Redirect {
        status: u16,
        to: &'a str,
        preserve_path: bool,
    },
    /// Exact paths; anything else is a 404.
    Pages(Vec<(&'a str, Response<'a>)>),
}

/// A scenario path (as the request line carries it, percent-encoded) as nginx locations and Apache rewrite
/// rules match it: decoded. Caddy's path matcher takes the encoded form as written.
pub fn decoded_path(path: &str) -> String {
    percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned()
}

/// A page as a server sends it: the content type apart from the other headers, since every server sets it
/// its own way.
#[derive(Debug)]
pub struct Response<'a> {
    pub status: u16,
    pub content_type: &'a str,
    /// Every header but `content-type`, in the scenario's order (repeats kept).
    pub headers: Vec<(&'a str, &'a str)>,
    pub body: &'a str,
}

impl<'a> Response<'a> {
    fn new(page: &'a Page) -> Self {
        let content_type = page
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
            // What the lab adds when a page names none.
            .map_or("text/html; charset=utf-8", |(_, value)| value.as_str());
        Response {
            status: page.status,
            content_type,
            headers: page
                .headers
                .iter()
                .filter(|(name, _)| !name.eq_ignore_ascii_case("content-type"))
                .map(|(name, value)| (name.as_str(), value.as_str()))
                .collect(),
            body: &page.body,
        }
    }

    /// The `Location` header, when the page has one.
    pub fn location(&self) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("location"))
            .map(|(_, value)| *value)
    }

    /// Every header but `Location`.
    pub fn other_headers(&self) -> impl Iterator<Item = &(&'a str, &'a str)> {
        self.headers
            .iter()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("location"))
    }
}

/// Reads the scenario's sites into virtual hosts with their certificates, refusing what a real server
/// cannot be configured to do (scripted misbehaviour, a CDN's headers, injected latency).
pub(crate) fn vhosts<'a>(
    server: &str,
    scenario: &'a Scenario,
    pki: &Pki,
    options: &WebOptions,
) -> Result<Vec<Vhost<'a>>, ServerError> {
    let unsupported = |reason: String| ServerError::Unsupported {
        server: server.to_string(),
        reason,
    };
    if !scenario.http_latency.is_zero() {
        return Err(unsupported("injected HTTP latency".into()));
    }
    let mut vhosts = Vec::new();
    for site in &scenario.sites {
        if site.edge.is_some() {
            return Err(unsupported(format!("the CDN in front of {}", site.host)));
        }
        if !site.ipv6 {
            return Err(unsupported(format!(
                "{} served on IPv4 only (every site is served on both)",
                site.host
            )));
        }
        let behaviour = |handler: &'a Handler| match handler {
            Handler::Redirect {
                status,
                to,
                preserve_path,
            } => Ok(Behaviour::Redirect {
                status: *status,
                to,
                preserve_path: *preserve_path,
            }),
            Handler::Pages(pages) => Ok(Behaviour::Pages(
                pages
                    .iter()
                    .map(|(path, page)| (path.as_str(), Response::new(page)))
                    .collect(),
            )),
            other => Err(unsupported(format!("{}: {other:?}", site.host))),
        };
        let cert = match options.certs.iter().find(|(host, _)| *host == site.host) {
            Some((_, files)) => files.clone(),
            None => pki.for_spec(&site.host, &site.cert)?,
        };
        vhosts.push(Vhost {
            host: &site.host,
            http: behaviour(&site.http)?,
            https: behaviour(&site.https)?,
            cert,
            mobile_redirect: site.mobile_redirect.as_deref(),
        });
    }
    Ok(vhosts)
}

/// A scratch directory for one server (config, pid, logs, temp files), removed on drop. Readable by all,
/// since servers started as root hand requests to unprivileged workers.
pub(crate) fn workdir(prefix: &str) -> Result<tempfile::TempDir, ServerError> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|e| ServerError::io("creating a server directory", e))?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .map_err(|e| ServerError::io("opening a server directory", e))?;
    Ok(dir)
}

pub(crate) fn write(path: &Path, text: &str) -> Result<(), ServerError> {
    std::fs::write(path, text)
        .map_err(|e| ServerError::io(format!("writing {}", path.display()), e))
}

/// How one OpenSSL-based server spells the TLS settings the options choose between, each a whole directive line.
pub(crate) struct TlsDirectives {
    /// TLS 1.0 to 1.3.
    pub legacy_protocols: &'static str,
    /// TLS 1.2 and 1.3 only.
    pub modern_protocols: &'static str,
    /// OpenSSL's security level 0.
    pub seclevel0: &'static str,
}

impl WebOptions {
    pub(crate) fn weak_openssl(&self) -> bool {
        self.seclevel0 || self.legacy_protocols
    }

    /// The TLS directives of an HTTPS virtual host, in the server's spelling: its protocols named in full (the
    /// servers' defaults leave TLS 1.0 and 1.1 to OpenSSL's security level, which lets them back in at level 0),
    /// then security level 0 when an old certificate must load.
    pub(crate) fn tls_directives(&self, spelling: &TlsDirectives) -> String {
        let mut text = String::from(if self.legacy_protocols {
            spelling.legacy_protocols
        } else {
            spelling.modern_protocols
        });
        if self.weak_openssl() {
            text.push_str(spelling.seclevel0);
        }
        text
    }
}

/// Whether this process runs as root, where servers must be told which user their workers become.
pub(crate) fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}
