//! The lab's authoritative DNS server: scenario zones loaded into hickory's in-memory zone
//! handlers behind a catalog, served on one loopback port over UDP and TCP.

use std::collections::HashSet;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use hickory_server::Server;
use hickory_server::net::runtime::Time;
use hickory_server::net::xfer::Protocol;
use hickory_server::proto::op::{Edns, Header, HeaderCounts, Metadata, ResponseCode};
use hickory_server::proto::rr::rdata::{A, AAAA, CAA, CNAME, MX, NS, PTR, SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record as DnsRecord};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{
    AxfrPolicy, Catalog, MessageResponseBuilder, ZoneHandler, ZoneType,
};
use tokio::net::{TcpListener, UdpSocket};

use crate::LabError;
use crate::scenario::{DEFAULT_TTL, Record, RecordData, Zone, normalize_name};

/// How long an idle DNS-over-TCP connection is kept; generous because tests may inject latency.
const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Outgoing responses buffered per TCP connection (the value hickory's own tests use).
const TCP_RESPONSE_BUFFER: usize = 32;
/// Attempts at finding a port that is free for both UDP and TCP.
const BIND_ATTEMPTS: usize = 20;

/// The running DNS server; dropping it aborts all of its tasks (hickory keeps them in a JoinSet).
pub(crate) struct DnsServer {
    pub(crate) addr: SocketAddr,
    _server: Server<DelayedCatalog>,
}

/// How the DNS server misbehaves, taken from the [`crate::Scenario`].
#[derive(Debug, Default)]
pub(crate) struct Misbehaviour {
    pub(crate) latency: Duration,
    pub(crate) truncate_udp: bool,
    /// Normalised names (lower case, no trailing dot).
    pub(crate) servfail: HashSet<String>,
    pub(crate) silent: HashSet<String>,
}

pub(crate) async fn start(
    zones: &[Zone],
    misbehaviour: Misbehaviour,
) -> Result<DnsServer, LabError> {
    let catalog = build_catalog(zones)?;
    let (udp, tcp) = bind_pair().await?;
    let addr = udp
        .local_addr()
        .map_err(|e| LabError::io("reading DNS socket address", e))?;
    let mut server = Server::new(DelayedCatalog {
        catalog,
        misbehaviour,
    });
    server.register_socket(udp);
    server.register_listener(tcp, TCP_IDLE_TIMEOUT, TCP_RESPONSE_BUFFER);
    Ok(DnsServer {
        addr,
        _server: server,
    })
}

/// UDP gets an ephemeral port first because TCP listeners can then claim the same number; if a
/// stranger already holds it on TCP we simply try another.
async fn bind_pair() -> Result<(UdpSocket, TcpListener), LabError> {
    let mut last_error = None;
    for _ in 0..BIND_ATTEMPTS {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|e| LabError::io("binding DNS UDP socket", e))?;
        let addr = udp
            .local_addr()
            .map_err(|e| LabError::io("reading DNS UDP address", e))?;
        match TcpListener::bind(addr).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) => last_error = Some(e),
        }
    }
    Err(LabError::io(
        "binding DNS TCP listener on the UDP port",
        last_error.unwrap_or_else(|| std::io::Error::other("no attempt made")),
    ))
}

fn build_catalog(zones: &[Zone]) -> Result<Catalog, LabError> {
    let mut catalog = Catalog::new();
    let mut seen = HashSet::new();
    for zone in zones {
        let origin = normalize_name(&zone.origin);
        if !seen.insert(origin.clone()) {
            return Err(LabError::InvalidScenario(format!(
                "zone {origin} defined twice"
            )));
        }
        let handler = build_zone(zone)?;
        let name = LowerName::from(parse_name(&origin)?);
        catalog.upsert(name, vec![Arc::new(handler) as Arc<dyn ZoneHandler>]);
    }
    Ok(catalog)
}

fn build_zone(zone: &Zone) -> Result<InMemoryZoneHandler, LabError> {
    let origin = normalize_name(&zone.origin);
    let mut handler =
        InMemoryZoneHandler::empty(parse_name(&origin)?, ZoneType::Primary, AxfrPolicy::Deny);

    if !handler.upsert_mut(soa_record(&origin, zone.serial)?, zone.serial) {
        return Err(LabError::InvalidScenario(format!(
            "cannot add SOA to zone {origin}"
        )));
    }
    let records = with_generated_records(zone, &origin);
    let mut cname_owners = HashSet::new();
    for (i, record) in records.iter().enumerate() {
        // hickory reports an exact duplicate as a failed insert; a repeated line in a scenario
        // is harmless, so it is skipped rather than treated as a conflict.
        if records[..i].contains(record) {
            continue;
        }
        let name = normalize_name(&record.name);
        // hickory silently keeps only the last CNAME at a name; a scenario with two is a bug.
        if matches!(record.data, RecordData::Cname(_)) && !cname_owners.insert(name.clone()) {
            return Err(LabError::InvalidScenario(format!(
                "more than one CNAME at {name}"
            )));
        }
        // The root zone (origin "") holds every name.
        if !origin.is_empty() && name != origin && !name.ends_with(&format!(".{origin}")) {
            return Err(LabError::InvalidScenario(format!(
                "record {name} is outside zone {origin}"
            )));
        }
        let dns_record =
            DnsRecord::from_rdata(parse_name(&name)?, record.ttl, to_rdata(&record.data)?);
        if !handler.upsert_mut(dns_record, zone.serial) {
            // hickory refuses a CNAME next to other data at the same name; surfacing it beats
            // silently serving a zone that differs from the scenario.
            return Err(LabError::InvalidScenario(format!(
                "record {name} {:?} conflicts with other records at that name (CNAME must stand alone)",
                record.data
            )));
        }
    }
    Ok(handler)
}

/// The scenario's records plus the NS set a real zone needs (NS records are only generated when
/// the scenario has none at the apex, so scenarios can model broken delegations).
fn with_generated_records(zone: &Zone, origin: &str) -> Vec<Record> {
    let has_ns = zone
        .records
        .iter()
        .any(|r| normalize_name(&r.name) == origin && matches!(r.data, RecordData::Ns(_)));

    let mut out = Vec::new();
    if !has_ns {
        for ns in ["ns1", "ns2"] {
            let host = format!("{ns}.{origin}");
            out.push(Record::new(
                origin,
                DEFAULT_TTL,
                RecordData::Ns(host.clone()),
            ));
            let host_has_data = zone.records.iter().any(|r| normalize_name(&r.name) == host);
            if !host_has_data {
                out.push(Record::new(
                    host,
                    DEFAULT_TTL,
                    RecordData::A(Ipv4Addr::LOCALHOST),
                ));
            }
        }
    }
    out.extend(zone.records.iter().cloned());
    out
}

/// `RecordData` has no SOA variant, so every zone gets this one; its minimum (the negative
/// caching TTL) is kept short so clients re-ask quickly between test steps.
fn soa_record(origin: &str, serial: u32) -> Result<DnsRecord, LabError> {
    let mname = parse_name(&format!("ns1.{origin}"))?;
    let rname = parse_name(&format!("hostmaster.{origin}"))?;
    let soa = SOA::new(mname, rname, serial, 3600, 600, 86400, 60);
    Ok(DnsRecord::from_rdata(
        parse_name(origin)?,
        DEFAULT_TTL,
        RData::SOA(soa),
    ))
}

fn to_rdata(data: &RecordData) -> Result<RData, LabError> {
    Ok(match data {
        RecordData::A(ip) => RData::A(A(*ip)),
        RecordData::Aaaa(ip) => RData::AAAA(AAAA(*ip)),
        RecordData::Cname(target) => RData::CNAME(CNAME(parse_name(target)?)),
        RecordData::Ns(target) => RData::NS(NS(parse_name(target)?)),
        RecordData::Mx {
            preference,
            exchange,
        } => RData::MX(MX::new(*preference, parse_name(exchange)?)),
        RecordData::Txt(text) => RData::TXT(TXT::from_bytes(chunks(text))),
        RecordData::TxtStrings(strings) => {
            let mut all: Vec<&[u8]> = strings.iter().flat_map(|s| chunks(s)).collect();
            if all.is_empty() {
                all.push(&[]);
            }
            RData::TXT(TXT::from_bytes(all))
        }
        RecordData::Ptr(target) => RData::PTR(PTR(parse_name(target)?)),
        RecordData::Caa {
            critical,
            tag,
            value,
        } => {
            // hickory only offers typed constructors for the well-known tags; starting from one
            // and overwriting the public fields lets scenarios carry any tag/value, including
            // malformed ones an auditor should flag.
            let mut caa = CAA::new_issue(*critical, None, Vec::new());
            caa.tag = tag.clone();
            caa.value = value.as_bytes().to_vec();
            RData::CAA(caa)
        }
    })
}

/// A character-string's worth of bytes at a time (a DNS character-string holds at most 255).
fn chunks(text: &str) -> Vec<&[u8]> {
    if text.is_empty() {
        vec![&[][..]]
    } else {
        text.as_bytes().chunks(255).collect()
    }
}

/// ASCII names are taken label by label as raw bytes, so scenarios can serve the odd names real zones
/// hold (`foo:bar/baz`, spaces, `%`), which hickory's text parser refuses; anything else goes through
/// that parser (IDNA). The empty name is the root.
fn parse_name(name: &str) -> Result<Name, LabError> {
    let normalized = normalize_name(name);
    let invalid = |reason: String| LabError::InvalidName {
        name: name.to_owned(),
        reason,
    };
    if normalized.is_empty() {
        return Ok(Name::root());
    }
    if normalized.is_ascii() {
        return Name::from_labels(normalized.split('.').map(str::as_bytes))
            .map_err(|e| invalid(e.to_string()));
    }
    Name::from_str(&format!("{normalized}.")).map_err(|e| invalid(e.to_string()))
}

/// Wraps the catalog with the scenario's misbehaviour: latency before every answer, then
/// silence, a truncated UDP answer or SERVFAIL instead of the real one where the scenario asks.
pub(crate) struct DelayedCatalog {
    catalog: Catalog,
    misbehaviour: Misbehaviour,
}

/// What the wrapper does with one request.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Answer,
    Silent,
    Truncate,
    ServFail,
}

impl DelayedCatalog {
    fn verdict(&self, request: &Request) -> Verdict {
        let m = &self.misbehaviour;
        // Only the first question counts; real clients send exactly one per message.
        let name = request
            .queries
            .queries()
            .first()
            .map(|q| normalize_name(&q.name().to_string()));
        let listed = |set: &HashSet<String>| name.as_ref().is_some_and(|n| set.contains(n));
        if listed(&m.silent) {
            Verdict::Silent
        } else if m.truncate_udp && request.protocol() == Protocol::Udp {
            // Checked before SERVFAIL because the point is that *every* UDP answer is
            // truncated: the client only learns the real outcome over TCP.
            Verdict::Truncate
        } else if listed(&m.servfail) {
            Verdict::ServFail
        } else {
            Verdict::Answer
        }
    }
}

/// An empty response to `request` with the given code and truncation flag. The request's EDNS
/// is mirrored (as the catalog does) so EDNS-aware clients do not mistake the answer for a
/// pre-EDNS server's and retry without it.
async fn send_empty<R: ResponseHandler>(
    request: &Request,
    mut response_handle: R,
    response_code: ResponseCode,
    truncation: bool,
) -> ResponseInfo {
    let mut metadata = Metadata::response_from_request(&request.metadata);
    metadata.response_code = response_code;
    metadata.truncation = truncation;
    // A truncated answer comes from the authority like the catalog's own answers; a SERVFAIL
    // means the server could not act as one.
    metadata.authoritative = truncation;
    let edns = request.edns.as_ref().map(|req| {
        let mut edns = Edns::new();
        edns.set_max_payload(req.max_payload().max(512));
        edns
    });
    let mut builder = MessageResponseBuilder::from_message_request(request);
    if let Some(edns) = &edns {
        builder.edns(edns);
    }
    let response = builder.build_no_records(metadata);
    match response_handle.send_response(response).await {
        Ok(info) => info,
        Err(_) => no_response(request),
    }
}

/// What hickory expects back when nothing reached the client: a header describing a SERVFAIL,
/// which it only logs and counts.
fn no_response(request: &Request) -> ResponseInfo {
    let mut metadata = Metadata::response_from_request(&request.metadata);
    metadata.response_code = ResponseCode::ServFail;
    ResponseInfo::from(Header {
        metadata,
        counts: HeaderCounts::default(),
    })
}

// `RequestHandler` is declared with `#[async_trait]`; this is the signature that macro expands
// to, written by hand to avoid a dependency on the macro crate.
impl RequestHandler for DelayedCatalog {
    fn handle_request<'life0, 'life1, 'async_trait, R, T>(
        &'life0 self,
        request: &'life1 Request,
        response_handle: R,
    ) -> Pin<Box<dyn Future<Output = ResponseInfo> + Send + 'async_trait>>
    where
        R: 'async_trait + ResponseHandler,
        T: 'async_trait + Time,
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let latency = self.misbehaviour.latency;
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            match self.verdict(request) {
                // Returning without touching the handle sends nothing; over TCP the connection
                // simply stays open until the client gives up.
                Verdict::Silent => no_response(request),
                Verdict::Truncate => {
                    send_empty(request, response_handle, ResponseCode::NoError, true).await
                }
                Verdict::ServFail => {
                    send_empty(request, response_handle, ResponseCode::ServFail, false).await
                }
                Verdict::Answer => {
                    self.catalog
                        .handle_request::<R, T>(request, response_handle)
                        .await
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_keep_odd_ascii_labels_and_the_root() {
        assert!(parse_name(".").unwrap().is_root());
        let odd = parse_name("Foo:Bar/baz.example.com.").unwrap();
        assert_eq!(odd.num_labels(), 3);
        assert_eq!(odd.iter().next(), Some(&b"foo:bar/baz"[..]));
        assert!(parse_name("a..example.com").is_err());
        assert!(parse_name(&format!("{}.com", "x".repeat(64))).is_err());
    }

    #[test]
    fn txt_strings_stay_split_and_ptr_is_served() {
        let strings = RecordData::TxtStrings(vec!["v=spf1 ip4:".into(), "192.0.2.5 -all".into()]);
        let RData::TXT(txt) = to_rdata(&strings).unwrap() else {
            panic!("not TXT");
        };
        assert_eq!(txt.txt_data.len(), 2);
        let RData::TXT(empty) = to_rdata(&RecordData::TxtStrings(Vec::new())).unwrap() else {
            panic!("not TXT");
        };
        assert_eq!(empty.txt_data.len(), 1);
        assert!(matches!(
            to_rdata(&RecordData::Ptr("mail.example.com".into())).unwrap(),
            RData::PTR(_)
        ));
        let root = Zone::new(".").record(Record::new(
            "x.example.com",
            60,
            RecordData::A(Ipv4Addr::LOCALHOST),
        ));
        assert!(build_zone(&root).is_ok());
    }
}
