//! The facts snapshot: everything the gatherers observed about a site, serialisable so an audit can be saved
//! (`--save-facts`), shared, and judged again offline (`--from-facts`). Rules read only this.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Version of the facts file format. Bump on any breaking change; `--from-facts` refuses other versions.
pub const FACTS_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub schema_version: u32,
    /// The audited domain (the apex), without a trailing dot.
    pub domain: String,
    /// The URL every entry point should end on, e.g. `https://www.example.com/`.
    pub canonical_url: String,
    /// Where `canonical_url` came from: the manifest, the entry points (when they agree and the manifest says
    /// nothing), or the default.
    #[serde(default)]
    pub canonical_source: CanonicalSource,
    /// The `User-Agent` strings the audit sent: `desktop` on every request, `mobile` on the second pass over
    /// the entry points and legacy links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agents: Option<UserAgents>,
    /// When gathering started (RFC 3339, UTC). Certificate validity is judged against this instant, so a saved
    /// snapshot judges the same way tomorrow.
    pub gathered_at: String,
    /// The same instant as Unix seconds.
    pub gathered_at_unix: i64,
    /// The nameservers asked, or empty for the system's.
    pub resolvers: Vec<String>,
    pub hosts: Vec<HostFacts>,
    pub chains: Vec<ChainFacts>,
    /// The entry points and legacy links followed again with a phone browser's `User-Agent`, to compare where
    /// mobile visitors land. Kept apart from `chains` so every other rule judges one pass only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mobile_chains: Vec<ChainFacts>,
    /// Zone-level DNS facts about the apex: nameservers, wildcard, apex CNAME.
    #[serde(default)]
    pub zone: ZoneFacts,
    /// The landing page's assets and load-time samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landing: Option<LandingFacts>,
    /// Bursts sent to sign-in and payment routes with `--probe-rate-limit`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rate_limit: Vec<RateLimitFacts>,
    /// The origin server asked directly, when the manifest names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<OriginFacts>,
    /// Mail authentication for the sending and non-sending domains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailFacts>,
    /// How many sequential network round trips the longest dependent sequence took: the lower bound on wall time.
    pub critical_path_round_trips: u32,
}

/// How the canonical URL was chosen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CanonicalSource {
    /// `[site] canonical` in the manifest.
    Declared,
    /// Not declared; every entry point that loaded ended on it. `from` lists `start → end` for each.
    Inferred { from: Vec<String> },
    /// Not declared, and the entry points did not agree (or none loaded): the default, `https://www.{domain}/`.
    #[default]
    Default,
}

/// The browser identities the audit used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserAgents {
    pub desktop: String,
    pub mobile: String,
}

/// What the mail checks saw: every DNS question and answer (so SPF, DKIM and DMARC verdicts are re-derived from
/// the snapshot by pure rules), the MTA-STS policies fetched over HTTPS, and the SMTP servers asked with `--smtp`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmailFacts {
    pub domains: Vec<MailDomainFacts>,
    pub dns: launchready_mail::dns::Snapshot,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mta_sts: Vec<MtaStsFacts>,
    /// Empty unless the audit ran with `--smtp`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub smtp: Vec<SmtpFacts>,
    /// Why some answers are missing (an evaluation that kept asking was cut off), if any are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<String>,
}

/// A domain the mail checks looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailDomainFacts {
    pub domain: String,
    /// `false` for a parked domain that must say "no mail from here".
    pub sending: bool,
    /// The DKIM selectors asked for, the manifest's first.
    pub dkim_selectors: Vec<String>,
}

/// The MTA-STS policy fetch for a domain (`https://mta-sts.<domain>/.well-known/mta-sts.txt`, no redirects).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MtaStsFacts {
    pub domain: String,
    pub fetch: HopFacts,
}

/// One MX host asked on port 25 for STARTTLS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpFacts {
    /// The sender domain whose MX this is.
    pub domain: String,
    pub host: String,
    pub connected_to: Option<String>,
    /// The 220 greeting line.
    pub banner: Option<String>,
    /// Whether the EHLO reply listed STARTTLS; `None` if the dialogue never got that far.
    pub starttls_offered: Option<bool>,
    pub tls: Option<TlsFacts>,
    pub error: Option<String>,
}

/// One burst of requests to a route, and whether anything pushed back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimitFacts {
    pub url: String,
    pub window_ms: u64,
    /// Each response's status, in order; 0 for a request that failed.
    pub statuses: Vec<u16>,
    /// A 429, a challenge (`cf-mitigated: challenge`) or a 503 with Retry-After was seen.
    pub limited: bool,
}

/// What the landing page loads and how long it takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LandingFacts {
    pub url: String,
    /// Up to 20 stylesheets, scripts, images and fonts, each fetched twice (the second shows edge caching).
    pub assets: Vec<AssetFacts>,
    /// Each sample: the page and its render-blocking CSS/JS loaded together, from a fresh connection.
    pub samples: Vec<LandingSample>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetFacts {
    pub url: String,
    /// `css`, `js`, `image` or `font`.
    pub kind: String,
    /// Whether the first paint waits for it.
    pub critical: bool,
    pub first: HopFacts,
    pub second: Option<HopFacts>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LandingSample {
    /// Time to the first byte of the HTML.
    pub first_byte_ms: f64,
    /// Until the HTML and every render-blocking asset had fully arrived.
    pub total_ms: f64,
}

/// The origin server behind the edge, asked directly for the canonical host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OriginFacts {
    pub address: String,
    /// `https://<canonical host>/` sent to the origin's address.
    pub https: HopFacts,
    /// `http://<canonical host>/` sent to the origin's address.
    pub http: HopFacts,
}

/// Whether a host accepted an obsolete TLS version offered alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyTlsFacts {
    /// `TLSv1.0` or `TLSv1.1`.
    pub version: String,
    /// `Some(true)`: the server agreed to it; `Some(false)`: refused; `None`: could not tell.
    pub accepted: Option<bool>,
    pub detail: String,
}

/// DNS facts about the zone as a whole, asked at the apex.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ZoneFacts {
    /// NS names at the apex, without trailing dots; empty when none or not asked.
    pub ns: Vec<String>,
    /// How the NS query ended; `None` when it was not asked.
    pub ns_outcome: Option<DnsOutcome>,
    /// A CNAME at the apex itself (invalid next to the SOA and NS every apex has).
    pub apex_cname: Option<String>,
    /// The random name asked to detect a wildcard, and the addresses it resolved to (empty: no wildcard).
    pub wildcard_probe: Option<String>,
    pub wildcard_addresses: Vec<IpAddr>,
    /// The apex's SOA as each nameserver answers it when asked directly.
    #[serde(default)]
    pub nameservers: Vec<NameServerFacts>,
}

/// One nameserver address asked directly for the zone's SOA, without recursion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameServerFacts {
    /// The NS name, without a trailing dot.
    pub name: String,
    /// The address asked (after `--connect-to`), or `None` when the name did not resolve.
    pub address: Option<String>,
    pub serial: Option<u32>,
    /// Whether the answer had the AA (authoritative answer) bit.
    pub authoritative: bool,
    /// Why there is no usable answer, if there is none.
    pub error: Option<String>,
    /// Whether the nameserver's address had to be looked up first (one more round trip).
    #[serde(default)]
    pub looked_up: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostRole {
    Apex,
    Www,
    Subdomain,
}

impl HostRole {
    pub fn as_str(self) -> &'static str {
        match self {
            HostRole::Apex => "apex",
            HostRole::Www => "www",
            HostRole::Subdomain => "subdomain",
        }
    }
}

/// What DNS said about one host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostFacts {
    /// Fully qualified, without a trailing dot.
    pub name: String,
    pub role: HostRole,
    /// The destination the manifest says this host must reach, if any.
    pub expected_destination: Option<String>,
    pub dns: DnsFacts,
    /// CAA records at exactly this name, as `0 issue "letsencrypt.org"`.
    #[serde(default)]
    pub caa: Vec<String>,
    /// TLS 1.0 and 1.1 offered on their own, for the hosts whose https is judged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub legacy_tls: Vec<LegacyTlsFacts>,
    /// An https request sent to the host's IPv6 address, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_probe: Option<HopFacts>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsFacts {
    pub outcome: DnsOutcome,
    /// CNAME targets in the order followed, without trailing dots. When the outcome is not `Resolved`, the last
    /// target is the name that failed to resolve (a dangling CNAME).
    pub cname_chain: Vec<String>,
    pub addresses: Vec<IpAddr>,
    /// The smallest TTL seen in the answer, seconds.
    pub ttl: Option<u32>,
    pub elapsed_ms: u64,
}

/// How a lookup ended. Only `Resolved` carries addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum DnsOutcome {
    Resolved,
    /// The name does not exist.
    NxDomain,
    /// The name exists but has no address records.
    NoData,
    ServFail,
    Timeout,
    Error(String),
}

/// Why a redirect chain was followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainPurpose {
    /// `http://` or `https://` on the apex or www.
    EntryPoint,
    /// A configured subdomain.
    Subdomain,
    /// A `[[route]]` from the manifest.
    Route,
    /// A `[[legacy_link]]` or `--links` entry.
    LegacyLink,
}

/// A redirect chain followed hop by hop from one starting URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainFacts {
    pub start: String,
    pub purpose: ChainPurpose,
    /// The route or legacy-link name this chain checks, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub hops: Vec<HopFacts>,
    pub end: ChainEnd,
}

impl ChainFacts {
    /// The last hop, whose response (or failure) ended the chain.
    pub fn last(&self) -> Option<&HopFacts> {
        self.hops.last()
    }

    /// The final status, if the last hop got a response.
    pub fn final_status(&self) -> Option<u16> {
        self.last().and_then(|hop| hop.status)
    }

    /// `start → 301 → next → 200`, for evidence.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for (i, hop) in self.hops.iter().enumerate() {
            if i > 0 {
                out.push_str(" → ");
            }
            out.push_str(&hop.url);
            match (&hop.status, &hop.error) {
                (Some(status), _) => out.push_str(&format!(" [{status}]")),
                (None, Some(error)) => out.push_str(&format!(" [{}]", error.kind.as_str())),
                (None, None) => {}
            }
        }
        out
    }
}

/// Why following stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainEnd {
    /// A response that is not a redirect.
    Final,
    /// A redirect back to a URL already visited.
    Loop,
    /// The hop budget ran out.
    TooManyHops,
    /// A redirect without a usable Location.
    BadRedirect,
    /// The request failed (DNS, connect, TLS handshake, timeout).
    Failed,
}

/// One request and what came back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HopFacts {
    pub url: String,
    /// The address actually connected to (after `--connect-to`).
    pub connected_to: Option<String>,
    pub status: Option<u16>,
    /// The Location header resolved against the request URL.
    pub location: Option<String>,
    /// Response headers, names lower-cased, in order received.
    pub headers: Vec<(String, String)>,
    pub timings: Timings,
    pub tls: Option<TlsFacts>,
    pub error: Option<NetError>,
    /// The start of a text body (at most 64 KiB), for content checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The protocol that carried the response: `HTTP/1.1` or `HTTP/2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Why an earlier attempt on another protocol was given up (HTTP/2 setup failed, so HTTP/1.1 was used, as a
    /// browser would).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

impl HopFacts {
    /// The first value of a header, its name matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_values(name).next()
    }

    /// Every value of a header that may repeat (`Set-Cookie`), in the order the server sent them.
    pub fn header_values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> {
        self.headers
            .iter()
            .filter(move |(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Milliseconds from the start of the request to each milestone's end, measured per phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Name resolution; `None` when no lookup was needed (an address or `--connect-to` to an address).
    pub dns_ms: Option<f64>,
    pub connect_ms: Option<f64>,
    pub tls_ms: Option<f64>,
    /// From sending the request to the response head.
    pub first_byte_ms: Option<f64>,
    pub total_ms: f64,
}

/// A network failure recorded as a fact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetError {
    pub kind: NetErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetErrorKind {
    Dns,
    Refused,
    Timeout,
    Tls,
    Protocol,
    Io,
}

impl NetErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NetErrorKind::Dns => "dns error",
            NetErrorKind::Refused => "connection refused",
            NetErrorKind::Timeout => "timeout",
            NetErrorKind::Tls => "tls handshake failed",
            NetErrorKind::Protocol => "http protocol error",
            NetErrorKind::Io => "i/o error",
        }
    }
}

/// What the TLS handshake showed. Verification failures are recorded here; the connection still went ahead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsFacts {
    /// e.g. `TLSv1.3`.
    pub version: String,
    pub alpn: Option<String>,
    /// The certificates the server sent, leaf first.
    pub chain: Vec<CertFacts>,
    pub verification: Verification,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", content = "detail", rename_all = "snake_case")]
pub enum Verification {
    Valid,
    Expired,
    NotYetValid,
    HostnameMismatch,
    /// Self-signed, unknown CA, or an intermediate the server did not send.
    UnknownIssuer,
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertFacts {
    pub subject: String,
    pub issuer: String,
    pub sans: Vec<String>,
    pub not_before: String,
    pub not_after: String,
    pub not_before_unix: i64,
    pub not_after_unix: i64,
    /// e.g. `RSA 2048`, `EC P-256`, `Ed25519`.
    pub key: String,
    pub signature_algorithm: String,
    pub self_signed: bool,
}
