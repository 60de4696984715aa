//! The scenario data model: zones, sites, certificates and scripted HTTP behaviour, plus builders.
//!
//! A [`Scenario`] is plain data so tests can construct, inspect and tweak it before handing it to
//! [`crate::Lab::start`]. The builder helpers only exist to keep scenario definitions short.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// TTL used by the typed record helpers on [`Zone`] when none is given.
pub const DEFAULT_TTL: u32 = 300;

/// Everything the lab serves: DNS zones, HTTP(S) sites and injected latency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scenario {
    pub zones: Vec<Zone>,
    pub sites: Vec<Site>,
    /// Delay added before every DNS answer.
    pub dns_latency: Duration,
    /// Delay added before every HTTP(S) response.
    pub http_latency: Duration,
    /// Every UDP answer is replaced by an empty one with the TC (truncated) bit set, so clients
    /// must retry over TCP, where answers stay normal.
    pub dns_truncate_udp: bool,
    /// Names (fully qualified, no trailing dot, case-insensitive) answered SERVFAIL for every
    /// type, over UDP and TCP.
    pub dns_servfail: Vec<String>,
    /// Names for which the server never answers: the query is dropped.
    pub dns_silent: Vec<String>,
    /// SMTP servers, each on its own loopback port (see [`crate::Lab::smtp_addr`]).
    pub mail_servers: Vec<MailServer>,
}

impl Scenario {
    /// An empty scenario with no latency.
    pub fn new() -> Self {
        Self::default()
    }

    pub fn zone(mut self, zone: Zone) -> Self {
        self.zones.push(zone);
        self
    }

    pub fn site(mut self, site: Site) -> Self {
        self.sites.push(site);
        self
    }

    pub fn dns_latency(mut self, latency: Duration) -> Self {
        self.dns_latency = latency;
        self
    }

    pub fn http_latency(mut self, latency: Duration) -> Self {
        self.http_latency = latency;
        self
    }

    pub fn dns_truncate_udp(mut self, truncate: bool) -> Self {
        self.dns_truncate_udp = truncate;
        self
    }

    /// Adds a name to [`Scenario::dns_servfail`].
    pub fn dns_servfail(mut self, name: &str) -> Self {
        self.dns_servfail.push(normalize_name(name));
        self
    }

    /// Adds a name to [`Scenario::dns_silent`].
    pub fn dns_silent(mut self, name: &str) -> Self {
        self.dns_silent.push(normalize_name(name));
        self
    }

    pub fn mail_server(mut self, server: MailServer) -> Self {
        self.mail_servers.push(server);
        self
    }

    /// The zone with this origin (case-insensitive, trailing dot ignored), for tweaking a prebuilt
    /// scenario.
    pub fn zone_mut(&mut self, origin: &str) -> Option<&mut Zone> {
        let origin = normalize_name(origin);
        self.zones
            .iter_mut()
            .find(|z| normalize_name(&z.origin) == origin)
    }

    /// The site for this host (case-insensitive, trailing dot ignored), for tweaking a prebuilt
    /// scenario.
    pub fn site_mut(&mut self, host: &str) -> Option<&mut Site> {
        let host = normalize_name(host);
        self.sites
            .iter_mut()
            .find(|s| normalize_name(&s.host) == host)
    }
}

/// An authoritative zone. SOA and NS records are generated when absent (NS = `ns1.<origin>` and
/// `ns2.<origin>`, each with an A record pointing at 127.0.0.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// The zone apex, e.g. `demo.test`, without a trailing dot.
    pub origin: String,
    pub records: Vec<Record>,
    /// The SOA serial this server hands out; two labs with different serials stand for nameservers that
    /// disagree.
    pub serial: u32,
}

impl Zone {
    pub fn new(origin: impl Into<String>) -> Self {
        Self {
            origin: normalize_name(&origin.into()),
            records: Vec::new(),
            serial: 1,
        }
    }

    /// Adds a record whose name is already fully qualified.
    pub fn record(mut self, record: Record) -> Self {
        self.records.push(record);
        self
    }

    /// Adds a record with [`DEFAULT_TTL`]. `name` may be relative to the origin (`"www"`), `"@"`
    /// for the apex, or fully qualified (`"www.demo.test"`).
    pub fn add(self, name: &str, data: RecordData) -> Self {
        self.add_ttl(name, DEFAULT_TTL, data)
    }

    /// Like [`Zone::add`] with an explicit TTL.
    pub fn add_ttl(mut self, name: &str, ttl: u32, data: RecordData) -> Self {
        let name = self.qualify(name);
        self.records.push(Record { name, ttl, data });
        self
    }

    pub fn a(self, name: &str, ip: Ipv4Addr) -> Self {
        self.add(name, RecordData::A(ip))
    }

    pub fn aaaa(self, name: &str, ip: Ipv6Addr) -> Self {
        self.add(name, RecordData::Aaaa(ip))
    }

    /// The target is taken verbatim (fully qualified, no trailing dot).
    pub fn cname(self, name: &str, target: &str) -> Self {
        self.add(name, RecordData::Cname(target.to_owned()))
    }

    pub fn mx(self, name: &str, preference: u16, exchange: &str) -> Self {
        self.add(
            name,
            RecordData::Mx {
                preference,
                exchange: exchange.to_owned(),
            },
        )
    }

    pub fn txt(self, name: &str, text: &str) -> Self {
        self.add(name, RecordData::Txt(text.to_owned()))
    }

    /// A TXT record made of several character-strings.
    pub fn txt_strings(self, name: &str, strings: &[&str]) -> Self {
        self.add(
            name,
            RecordData::TxtStrings(strings.iter().map(|s| (*s).to_owned()).collect()),
        )
    }

    /// The target is taken verbatim (fully qualified, no trailing dot).
    pub fn ptr(self, name: &str, target: &str) -> Self {
        self.add(name, RecordData::Ptr(target.to_owned()))
    }

    pub fn caa(self, name: &str, critical: bool, tag: &str, value: &str) -> Self {
        self.add(
            name,
            RecordData::Caa {
                critical,
                tag: tag.to_owned(),
                value: value.to_owned(),
            },
        )
    }

    pub fn ns(self, name: &str, target: &str) -> Self {
        self.add(name, RecordData::Ns(target.to_owned()))
    }

    /// Removes every record at `name` (same name rules as [`Zone::add`]), e.g. to make a
    /// subdomain disappear from a prebuilt scenario.
    pub fn remove_name(&mut self, name: &str) {
        let name = self.qualify(name);
        self.records.retain(|r| normalize_name(&r.name) != name);
    }

    /// Expands a possibly relative name into a fully qualified one inside this zone.
    pub fn qualify(&self, name: &str) -> String {
        let origin = normalize_name(&self.origin);
        let name = normalize_name(name);
        if name.is_empty() || name == "@" {
            origin
        } else if name == origin || name.ends_with(&format!(".{origin}")) {
            name
        } else {
            format!("{name}.{origin}")
        }
    }
}

/// One resource record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Fully qualified name without a trailing dot.
    pub name: String,
    pub ttl: u32,
    pub data: RecordData,
}

impl Record {
    pub fn new(name: impl Into<String>, ttl: u32, data: RecordData) -> Self {
        Self {
            name: name.into(),
            ttl,
            data,
        }
    }
}

/// Record data. Names inside (CNAME, MX, NS targets) are fully qualified without a trailing dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(String),
    Mx {
        preference: u16,
        exchange: String,
    },
    /// Strings longer than 255 bytes are split into 255-byte character-strings, as DNS requires.
    Txt(String),
    /// One TXT record given as its character-strings, each served as written (one over 255 bytes is
    /// split like [`RecordData::Txt`]); no strings at all is served as one empty string, the least DNS
    /// can carry.
    TxtStrings(Vec<String>),
    /// A PTR record's target (fully qualified, no trailing dot).
    Ptr(String),
    Caa {
        critical: bool,
        tag: String,
        value: String,
    },
    Ns(String),
}

/// A virtual host served on both the HTTP and the HTTPS listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub host: String,
    pub cert: CertSpec,
    /// Behaviour on plain HTTP (port 80 in the client's view).
    pub http: Handler,
    /// Behaviour on HTTPS (port 443 in the client's view).
    pub https: Handler,
    /// Whether the site answers on the lab's IPv6 listener; `false` stands for an AAAA record pointing at
    /// a server that does not serve the site (connections there are closed).
    pub ipv6: bool,
    /// A CDN in front of the site: every hyper-built response on either scheme (pages, redirects,
    /// 404s, huge bodies; not the hand-written `Dribble`/`HugeHeader` bytes) gets the edge's
    /// headers. `None` is a site served straight from its origin.
    pub edge: Option<EdgeKind>,
    /// Where visitors whose User-Agent says they are on a phone are sent instead (a 302 on both schemes,
    /// before the handlers run), as m-dot sites and app-store bounces do. `None`: every browser is served
    /// the same.
    pub mobile_redirect: Option<String>,
}

impl Site {
    /// A well-behaved site: valid certificate, HTTP redirects (301, path preserved) to HTTPS, and
    /// HTTPS serves a small page at `/`.
    pub fn new(host: impl Into<String>) -> Self {
        let host = normalize_name(&host.into());
        Self {
            http: Handler::redirect_to_https(&host),
            https: Handler::Pages(vec![(
                "/".to_owned(),
                Page::html(
                    200,
                    format!("<!doctype html>\n<title>{host}</title>\n<h1>{host}</h1>\n"),
                ),
            )]),
            cert: CertSpec::Valid,
            ipv6: true,
            edge: None,
            mobile_redirect: None,
            host,
        }
    }

    /// Sends phones elsewhere; see the `mobile_redirect` field.
    pub fn mobile_redirect(mut self, to: impl Into<String>) -> Self {
        self.mobile_redirect = Some(to.into());
        self
    }

    /// Puts the site behind a CDN; see the `edge` field.
    pub fn edge(mut self, kind: EdgeKind) -> Self {
        self.edge = Some(kind);
        self
    }

    pub fn cert(mut self, cert: CertSpec) -> Self {
        self.cert = cert;
        self
    }

    pub fn http(mut self, handler: Handler) -> Self {
        self.http = handler;
        self
    }

    pub fn https(mut self, handler: Handler) -> Self {
        self.https = handler;
        self
    }

    /// The same behaviour on both schemes, as a misbehaving server shows it to every client.
    pub fn on_both(self, handler: Handler) -> Self {
        self.http(handler.clone()).https(handler)
    }

    /// Adds or replaces an HTTPS page. If HTTPS was not serving pages, it starts serving only
    /// this one.
    pub fn page(mut self, path: &str, page: Page) -> Self {
        self.https = std::mem::replace(&mut self.https, Handler::Close).with_page(path, page);
        self
    }

    /// Adds or replaces a plain-HTTP page (same rules as [`Site::page`]).
    pub fn http_page(mut self, path: &str, page: Page) -> Self {
        self.http = std::mem::replace(&mut self.http, Handler::Close).with_page(path, page);
        self
    }
}

/// A CDN that can sit in front of a [`Site`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// Cloudflare as seen from outside: `server: cloudflare`, a fresh `cf-ray: <16 hex>-AMS` per
    /// response and `cf-cache-status`. The cache status is `BYPASS` when the response forbids
    /// shared caching (`cache-control` with `no-store`, `no-cache`, `private` or `max-age=0`, or
    /// a `set-cookie`), as Cloudflare does; otherwise `MISS` on the first request for a scheme,
    /// path and query on this site and `HIT` (with an `age` header) on every later one.
    Cloudflare,
}

/// Which certificate a site presents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertSpec {
    /// Issued by the lab intermediate, valid from yesterday for 90 days.
    Valid,
    /// Valid now, `not_after` = now + n days (negative n gives an already expired certificate).
    ExpiresInDays(i64),
    /// `not_after` 30 days in the past.
    Expired,
    /// `not_before` 30 days in the future.
    NotYetValid,
    /// Issued (by the lab CA) for this other name only, but served for the site's host.
    WrongHost(String),
    /// A self-signed leaf that does not chain to the lab CA.
    SelfSigned,
    /// A valid leaf, but the server sends it without its intermediate.
    NoIntermediate,
    /// A leaf with a 1024-bit RSA key, issued by the lab intermediate and sent with it. The chain
    /// verifies, but clients whose crypto refuses RSA keys under 2048 bits (rustls with ring or
    /// aws-lc-rs, through webpki) reject the handshake signature: only a client that skips or
    /// replaces signature verification completes the handshake.
    WeakRsa,
    /// A valid leaf followed by `n` certificates: the lab intermediate, then `n - 1` copies of
    /// it (`LongChain(0)` sends the leaf alone). Verifies like [`CertSpec::Valid`]; what grows is
    /// the certificate message (about 500 bytes per extra certificate).
    LongChain(usize),
    /// A valid leaf of about `bytes` bytes (never smaller than a normal leaf), padded with a
    /// private non-critical extension, sent with the intermediate. TLS allows certificate
    /// messages up to 16 MiB, but rustls clients refuse handshake messages over 64 KiB and
    /// webpki cannot parse certificates holding a DER value of 64 KiB or more, so only leaves
    /// well under 64 KiB verify with rustls.
    Huge { bytes: usize },
}

/// Scripted behaviour of a site on one scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handler {
    /// Answer every request with a redirect to `to` (an absolute base URL such as
    /// `https://www.demo.test`), optionally appending the request path and query.
    Redirect {
        status: u16,
        to: String,
        preserve_path: bool,
    },
    /// Serve pages by exact path (the query string is ignored); unknown paths get a 404.
    Pages(Vec<(String, Page)>),
    /// Read the request and never answer.
    Hang,
    /// Drop the connection without answering.
    Close,
    /// Write an HTTP/1.1 response (status line, headers, then `body`) one byte per second,
    /// straight onto the connection, until it is complete, the client disconnects or the lab is
    /// dropped. Over HTTPS such a site offers only `http/1.1` in ALPN. A request that still
    /// arrives over HTTP/2 (another host's connection, or h2c) gets the headers at once and the
    /// body one byte per second, the closest HTTP/2 allows.
    Dribble { status: u16, body: String },
    /// A response whose single `x-padding` header value is `header_bytes` long, written
    /// straight onto the connection in small chunks (nothing of that size is buffered), with an
    /// empty body. Stops when the client disconnects or the lab is dropped. Over HTTPS such a
    /// site offers only `http/1.1` in ALPN; an HTTP/2 request gets the header through hyper,
    /// which does buffer it.
    HugeHeader { status: u16, header_bytes: usize },
    /// TLS-level misbehaviour: once the ClientHello (whose SNI names this site) has been read,
    /// the server writes `HTTP/1.1 400 Bad Request` as plain text instead of a ServerHello (a
    /// plain-HTTP server listening on the TLS port) and closes. Only meaningful as a site's
    /// `https` handler; elsewhere (plain HTTP, or a request reaching the site over another
    /// host's TLS connection) it behaves like [`Handler::Close`].
    GarbageTls,
    /// TLS-level misbehaviour: the ClientHello is read and never answered; the connection is
    /// held until the client leaves or the lab is dropped. Only meaningful as a site's `https`
    /// handler; elsewhere it behaves like [`Handler::Hang`].
    StallTls,
    /// A `status` response with `content_type` and a body of exactly `bytes` bytes (a short
    /// HTML prefix, then `x` filler), streamed in 16 KiB chunks from a static buffer, so even a
    /// multi-gigabyte body costs no memory. Stops when the client disconnects or the lab is
    /// dropped; counted by [`crate::Lab::slow_writers`] while streaming.
    HugeBody {
        status: u16,
        content_type: String,
        bytes: usize,
    },
    /// A redirect chain of `limit` hops: `/` (hop 0) and `/hop/N` for `N < limit` answer
    /// `status` with the relative `Location: /hop/N+1`; `/hop/{limit}` answers 200. Other paths
    /// are 404.
    RedirectCounter { status: u16, limit: u32 },
}

impl Handler {
    pub fn redirect(status: u16, to: impl Into<String>, preserve_path: bool) -> Self {
        Self::Redirect {
            status,
            to: to.into(),
            preserve_path,
        }
    }

    /// `301` to `https://<host>` keeping the path, the usual HTTP-to-HTTPS upgrade.
    pub fn redirect_to_https(host: &str) -> Self {
        Self::redirect(301, format!("https://{host}"), true)
    }

    pub fn dribble(status: u16, body: impl Into<String>) -> Self {
        Self::Dribble {
            status,
            body: body.into(),
        }
    }

    pub fn huge_header(status: u16, header_bytes: usize) -> Self {
        Self::HugeHeader {
            status,
            header_bytes,
        }
    }

    pub fn redirect_counter(status: u16, limit: u32) -> Self {
        Self::RedirectCounter { status, limit }
    }

    pub fn huge_body(status: u16, content_type: impl Into<String>, bytes: usize) -> Self {
        Self::HugeBody {
            status,
            content_type: content_type.into(),
            bytes,
        }
    }

    /// Whether the handler writes its own HTTP/1.1 bytes, which an HTTP/2 connection cannot
    /// carry; such sites offer only `http/1.1` in TLS ALPN.
    pub fn needs_http1(&self) -> bool {
        matches!(self, Self::Dribble { .. } | Self::HugeHeader { .. })
    }

    pub fn pages(pages: impl IntoIterator<Item = (String, Page)>) -> Self {
        Self::Pages(pages.into_iter().collect())
    }

    /// Adds or replaces a page; any non-`Pages` handler is replaced by a `Pages` handler.
    pub fn with_page(self, path: &str, page: Page) -> Self {
        let mut pages = match self {
            Self::Pages(pages) => pages,
            _ => Vec::new(),
        };
        match pages.iter_mut().find(|(p, _)| p == path) {
            Some(entry) => entry.1 = page,
            None => pages.push((path.to_owned(), page)),
        }
        Self::Pages(pages)
    }
}

/// A canned HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub status: u16,
    /// Sent verbatim; `content-type: text/html; charset=utf-8` is added when none is given.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Extra time this page takes to answer, on top of the scenario's latency: a slow page or asset.
    pub delay: std::time::Duration,
}

impl Page {
    pub fn new(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: std::time::Duration::ZERO,
        }
    }

    /// The page answers `delay` later than the rest of the site.
    pub fn delayed(mut self, delay: std::time::Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn html(status: u16, body: impl Into<String>) -> Self {
        Self::new(status, body).header("content-type", "text/html; charset=utf-8")
    }

    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self::new(status, body).header("content-type", "application/json")
    }

    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self::new(status, body).header("content-type", "text/plain; charset=utf-8")
    }

    pub fn css(body: impl Into<String>) -> Self {
        Self::new(200, body).header("content-type", "text/css; charset=utf-8")
    }

    /// Appends a header (repeatable headers such as `set-cookie` may be added several times).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// Lowercases and strips a trailing dot so names compare the way DNS and HTTP hosts do.
pub(crate) fn normalize_name(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualify_handles_relative_apex_and_absolute_names() {
        let zone = Zone::new("Demo.Test.");
        assert_eq!(zone.origin, "demo.test");
        assert_eq!(zone.qualify("@"), "demo.test");
        assert_eq!(zone.qualify("www"), "www.demo.test");
        assert_eq!(zone.qualify("www.demo.test."), "www.demo.test");
        assert_eq!(zone.qualify("demo.test"), "demo.test");
        assert_eq!(zone.qualify("_dmarc"), "_dmarc.demo.test");
    }

    #[test]
    fn with_page_replaces_existing_path_and_converts_other_handlers() {
        let h = Handler::Hang.with_page("/", Page::html(200, "a"));
        let h = h
            .with_page("/", Page::html(201, "b"))
            .with_page("/x", Page::text(200, "x"));
        let Handler::Pages(pages) = h else {
            panic!("expected pages");
        };
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[0].1.status, 201);
    }

    #[test]
    fn only_hand_written_handlers_need_http1() {
        assert!(Handler::dribble(200, "x").needs_http1());
        assert!(Handler::huge_header(200, 10).needs_http1());
        assert!(!Handler::redirect_counter(301, 3).needs_http1());
        assert!(!Handler::Hang.needs_http1());
        assert!(!Handler::huge_body(200, "text/html", 10).needs_http1());
        assert!(!Handler::GarbageTls.needs_http1());
        assert!(!Site::new("a.test").https.needs_http1());
    }

    #[test]
    fn dns_misbehaviour_builders_normalise_names() {
        let s = Scenario::new()
            .dns_truncate_udp(true)
            .dns_servfail("App.Demo.Test.")
            .dns_silent("API.demo.test");
        assert!(s.dns_truncate_udp);
        assert_eq!(s.dns_servfail, vec!["app.demo.test"]);
        assert_eq!(s.dns_silent, vec!["api.demo.test"]);
        assert!(!Scenario::new().dns_truncate_udp);
    }

    #[test]
    fn site_new_redirects_http_to_https() {
        let site = Site::new("App.Demo.Test");
        assert_eq!(site.host, "app.demo.test");
        assert_eq!(
            site.http,
            Handler::redirect(301, "https://app.demo.test", true)
        );
        assert_eq!(site.cert, CertSpec::Valid);
        assert_eq!(site.edge, None);
        assert_eq!(
            site.edge(EdgeKind::Cloudflare).edge,
            Some(EdgeKind::Cloudflare)
        );
    }
}

/// An MX host's SMTP server. It greets, answers EHLO and, when `starttls` is set, upgrades to TLS with
/// `cert`; it never accepts a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailServer {
    pub host: String,
    pub starttls: bool,
    pub cert: CertSpec,
}

impl MailServer {
    /// A server offering STARTTLS with a valid lab certificate for `host`.
    pub fn new(host: impl Into<String>) -> Self {
        MailServer {
            host: normalize_name(&host.into()),
            starttls: true,
            cert: CertSpec::Valid,
        }
    }

    pub fn starttls(mut self, offer: bool) -> Self {
        self.starttls = offer;
        self
    }

    pub fn cert(mut self, cert: CertSpec) -> Self {
        self.cert = cert;
        self
    }
}
