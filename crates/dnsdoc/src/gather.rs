//! Taking a snapshot over the network: the zone's nameservers through the configured resolver, a zone transfer
//! (AXFR) attempt against each of them, and — when every one refuses, as most do — every name the manifest knows
//! asked for every type that matters, directly of an authoritative server so the TTLs are the zone's own rather
//! than a cache's countdown. Nameservers are reached at port 53 of their addresses or where a `--connect-to`
//! rule sends them, so the lab and a real NSD are reached the way a user reaches a new provider.

use crate::{Coverage, Rec, SNAPSHOT_SCHEMA_VERSION, Snapshot, Source, normalize_name, zone};
use futures::StreamExt;
use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use launchready_manifest::Manifest;
use launchready_net::Net;
use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Questions in flight at once against one nameserver.
const PARALLEL_QUERIES: usize = 16;
/// A zone transfer may stream for a while; each message must still arrive within the operation timeout.
const MAX_AXFR_MESSAGES: usize = 100_000;

/// Types asked at an ordinary host name.
const HOST_TYPES: &[RecordType] = &[
    RecordType::A,
    RecordType::AAAA,
    RecordType::CNAME,
    RecordType::MX,
    RecordType::TXT,
    RecordType::CAA,
];
/// Types asked at the apex, besides the host types.
const APEX_TYPES: &[RecordType] = &[RecordType::NS, RecordType::SOA];
/// Types asked at `_dmarc`, DKIM selectors and the other underscore names.
const SERVICE_TYPES: &[RecordType] = &[RecordType::TXT, RecordType::CNAME];

/// What the snapshot should look at beyond the manifest.
#[derive(Debug, Clone, Default)]
pub struct GatherOptions {
    /// More owner names to ask about (absolute or relative to the apex).
    pub extra_names: Vec<String>,
    /// Skip the AXFR attempts.
    pub no_axfr: bool,
    /// A Cloudflare API token (read-only is enough): the provider's export joins the snapshot.
    pub cloudflare_token: Option<String>,
}

/// Why no snapshot could be taken at all.
#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    #[error("cannot find the nameservers of {domain}: {reason}")]
    NoNameservers { domain: String, reason: String },
}

/// The names a snapshot asks about: apex, www, the manifest's subdomains, DMARC, DKIM selectors (the manifest's
/// and the common providers'), MTA-STS, TLS-RPT and BIMI, for the apex and every sending domain.
pub fn names_to_ask(manifest: &Manifest, extra: &[String]) -> BTreeSet<String> {
    let apex = manifest.apex().to_string();
    let mut names = BTreeSet::new();
    names.insert(apex.clone());
    names.insert(manifest.www());
    for sub in &manifest.site.subdomains {
        names.insert(normalize_name(&sub.host));
    }
    let mut senders: Vec<String> = manifest
        .email
        .senders
        .iter()
        .map(|s| normalize_name(s))
        .collect();
    senders.extend(manifest.email.non_sending.iter().map(|s| normalize_name(s)));
    senders.push(apex.clone());
    let mut selectors: Vec<String> = manifest.email.dkim_selectors.clone();
    selectors.extend(
        launchready_mail::dkim::COMMON_SELECTORS
            .iter()
            .map(|(s, _)| (*s).to_string()),
    );
    for sender in &senders {
        names.insert(sender.clone());
        names.insert(format!("_dmarc.{sender}"));
        names.insert(format!("_mta-sts.{sender}"));
        names.insert(format!("mta-sts.{sender}"));
        names.insert(format!("_smtp._tls.{sender}"));
        names.insert(format!("default._bimi.{sender}"));
        for selector in &selectors {
            names.insert(format!("{selector}._domainkey.{sender}"));
        }
    }
    for name in extra {
        let name = normalize_name(name);
        if name == apex || name.ends_with(&format!(".{apex}")) {
            names.insert(name);
        } else {
            names.insert(format!("{name}.{apex}"));
        }
    }
    names.retain(|n| n == &apex || n.ends_with(&format!(".{apex}")));
    names
}

fn types_for(name: &str, apex: &str) -> Vec<RecordType> {
    if name == apex {
        HOST_TYPES.iter().chain(APEX_TYPES).copied().collect()
    } else if name.split('.').any(|label| label.starts_with('_')) {
        SERVICE_TYPES.to_vec()
    } else {
        HOST_TYPES.to_vec()
    }
}

/// A nameserver and where it is reached.
#[derive(Debug, Clone)]
struct Server {
    name: String,
    addr: Option<SocketAddr>,
    error: Option<String>,
}

/// Takes the snapshot.
pub async fn snapshot(
    net: &Net,
    manifest: &Manifest,
    options: &GatherOptions,
) -> Result<Snapshot, GatherError> {
    let apex = manifest.apex().to_string();
    let timeout = net.op_timeout();
    let ns_names: Vec<String> = match net.lookup(&apex, RecordType::NS).await {
        Ok(set) => set
            .records
            .iter()
            .zip(&set.owners)
            .filter(|((t, _), owner)| *t == RecordType::NS && **owner == apex)
            .map(|((_, v), _)| normalize_name(v))
            .collect(),
        Err(outcome) => {
            return Err(GatherError::NoNameservers {
                domain: apex,
                reason: format!("{outcome:?}"),
            });
        }
    };
    if ns_names.is_empty() {
        return Err(GatherError::NoNameservers {
            domain: apex,
            reason: "no NS records".to_string(),
        });
    }
    let mut servers = Vec::new();
    for name in &ns_names {
        servers.push(locate(net, name).await);
    }

    let mut sources = Vec::new();
    let mut unseen = Vec::new();
    let mut records: Option<Vec<Rec>> = None;
    for server in &servers {
        let detail = describe(server);
        let Some(addr) = server.addr else {
            let reason = server.error.clone().unwrap_or_default();
            unseen.push(format!("nameserver {}: {reason}", server.name));
            sources.push(Source {
                kind: "axfr".into(),
                detail,
                ok: false,
                outcome: reason,
            });
            continue;
        };
        if options.no_axfr {
            continue;
        }
        match axfr(addr, &apex, timeout).await {
            Ok(found) if records.is_none() => {
                sources.push(Source {
                    kind: "axfr".into(),
                    detail,
                    ok: true,
                    outcome: format!("{} records transferred", found.len()),
                });
                records = Some(found);
            }
            Ok(found) => sources.push(Source {
                kind: "axfr".into(),
                detail,
                ok: true,
                outcome: format!("{} records (the first transfer was used)", found.len()),
            }),
            Err(reason) => {
                unseen.push(format!(
                    "a zone transfer from {} ({reason}): names nobody listed cannot be seen",
                    server.name
                ));
                sources.push(Source {
                    kind: "axfr".into(),
                    detail,
                    ok: false,
                    outcome: reason,
                });
            }
        }
    }

    let complete = records.is_some();
    let mut asked = BTreeSet::new();
    let records = match records {
        Some(records) => records,
        None => {
            let mut found = Vec::new();
            let server = servers.iter().find(|s| s.addr.is_some());
            let mut pending = names_to_ask(manifest, &options.extra_names);
            // Targets inside the zone (MX hosts, in-zone nameservers, CNAME targets) are asked in a second round.
            for _round in 0..3 {
                let round: Vec<String> = pending
                    .iter()
                    .filter(|n| !asked.contains(*n))
                    .cloned()
                    .collect();
                if round.is_empty() {
                    break;
                }
                asked.extend(round.iter().cloned());
                let (got, failed) = ask_all(net, server, &apex, &round, timeout).await;
                unseen.extend(failed);
                pending = targets_in_zone(&got, &apex);
                found.extend(got);
            }
            let (kind, detail) = match server {
                Some(server) => ("queries", describe(server)),
                None => {
                    unseen.push("no nameserver answered directly: TTLs are what the resolver had left in its cache".to_string());
                    ("resolver", net.resolver_names().join(", "))
                }
            };
            sources.push(Source {
                kind: kind.into(),
                detail: if detail.is_empty() {
                    "the system resolver".to_string()
                } else {
                    detail
                },
                ok: true,
                outcome: format!(
                    "{} records at {} names asked about",
                    found.len(),
                    asked.len()
                ),
            });
            unseen.push("record types not asked one by one (SRV, HTTPS/SVCB, TLSA, …) unless a transfer succeeded".to_string());
            found
        }
    };
    let mut records: Vec<Rec> = records
        .into_iter()
        .filter(|r| r.name == apex || r.name.ends_with(&format!(".{apex}")))
        .collect();
    let mut complete = complete;
    let mut provider = None;
    if let Some(token) = &options.cloudflare_token {
        match crate::cloudflare::export(net, token, &apex).await {
            Ok(export) => {
                sources.push(Source {
                    kind: "cloudflare".into(),
                    detail: format!("zone {}", export.provider.zone_id),
                    ok: true,
                    outcome: format!("{} records, proxied status included", export.records.len()),
                });
                for missing in &export.missing {
                    unseen.push(format!("from Cloudflare: {missing}"));
                }
                // The provider's records are what a restore puts back (a proxied name's public answer is the
                // CDN's addresses); the SOA and apex NS, which the API does not list, stay from DNS.
                let ns_hosts: Vec<String> = records
                    .iter()
                    .filter(|r| r.rtype == "NS" && r.name == apex)
                    .map(|r| normalize_name(&r.data))
                    .collect();
                let listed: Vec<String> = export.records.iter().map(|r| r.name.clone()).collect();
                // In-zone nameservers keep their DNS addresses when the export does not list them: a zone file
                // whose NS hosts have no address does not load.
                records.retain(|r| {
                    r.rtype == "SOA"
                        || (r.rtype == "NS" && r.name == apex)
                        || (matches!(r.rtype.as_str(), "A" | "AAAA")
                            && ns_hosts.contains(&r.name)
                            && !listed.contains(&r.name))
                });
                records.extend(export.records);
                complete = true;
                provider = Some(export.provider);
            }
            Err(reason) => {
                unseen.push(format!("the Cloudflare export ({reason})"));
                sources.push(Source {
                    kind: "cloudflare".into(),
                    detail: crate::cloudflare::API.into(),
                    ok: false,
                    outcome: reason,
                });
            }
        }
    }
    let now = time::OffsetDateTime::now_utc();
    let mut snapshot = Snapshot {
        schema_version: SNAPSHOT_SCHEMA_VERSION,
        domain: apex,
        taken_at: now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| now.unix_timestamp().to_string()),
        taken_from: taken_from(net),
        sources,
        unseen,
        coverage: Coverage {
            complete,
            names: if complete {
                Vec::new()
            } else {
                asked.into_iter().collect()
            },
        },
        records,
        provider,
    };
    snapshot.normalize();
    Ok(snapshot)
}

fn taken_from(net: &Net) -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this machine".to_string());
    let resolvers = net.resolver_names();
    if resolvers.is_empty() {
        format!("{host}, via the system resolver")
    } else {
        format!("{host}, via resolver {}", resolvers.join(", "))
    }
}

fn describe(server: &Server) -> String {
    match server.addr {
        Some(addr) => format!("{} ({addr})", server.name),
        None => server.name.clone(),
    }
}

async fn locate(net: &Net, name: &str) -> Server {
    let (host, port) = launchready_net::resolve_target(&net.config().connect_to, name, 53);
    if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Server {
            name: name.to_string(),
            addr: Some(SocketAddr::new(ip, port)),
            error: None,
        };
    }
    match net.lookup(&host, RecordType::A).await {
        Ok(set) => {
            let ip = set
                .records
                .iter()
                .find(|(t, _)| *t == RecordType::A)
                .and_then(|(_, v)| v.parse::<IpAddr>().ok());
            Server {
                name: name.to_string(),
                addr: ip.map(|ip| SocketAddr::new(ip, port)),
                error: ip.is_none().then(|| format!("{host} has no address")),
            }
        }
        Err(outcome) => Server {
            name: name.to_string(),
            addr: None,
            error: Some(format!("{host} does not resolve ({outcome:?})")),
        },
    }
}

/// Every (name, type) question, against `server` directly or the resolver; the records each name owns, and
/// what could not be asked.
async fn ask_all(
    net: &Net,
    server: Option<&Server>,
    apex: &str,
    names: &[String],
    timeout: Duration,
) -> (Vec<Rec>, Vec<String>) {
    let questions: Vec<(String, RecordType)> = names
        .iter()
        .flat_map(|n| types_for(n, apex).into_iter().map(move |t| (n.clone(), t)))
        .collect();
    let addr = server.and_then(|s| s.addr);
    let answers: Vec<Result<Vec<Rec>, String>> = futures::stream::iter(questions)
        .map(|(name, rtype)| async move {
            let result = match addr {
                Some(addr) => query(addr, &name, rtype, timeout).await,
                None => resolver_query(net, &name, rtype).await,
            };
            result.map_err(|e| format!("{name} {rtype}: {e}"))
        })
        .buffer_unordered(PARALLEL_QUERIES)
        .collect()
        .await;
    let mut records = Vec::new();
    let mut failed = Vec::new();
    for answer in answers {
        match answer {
            Ok(found) => records.extend(found),
            Err(e) => failed.push(e),
        }
    }
    (records, failed)
}

/// Names inside the zone that records point at (MX hosts, nameservers, CNAME and SRV targets).
fn targets_in_zone(records: &[Rec], apex: &str) -> BTreeSet<String> {
    records
        .iter()
        .filter_map(|r| match r.rtype.as_str() {
            "MX" => r.data.split_whitespace().nth(1),
            "CNAME" | "NS" => Some(r.data.as_str()),
            "SRV" => r.data.split_whitespace().nth(3),
            _ => None,
        })
        .map(normalize_name)
        .filter(|n| n == apex || n.ends_with(&format!(".{apex}")))
        .collect()
}

async fn resolver_query(net: &Net, name: &str, rtype: RecordType) -> Result<Vec<Rec>, String> {
    match net.lookup(name, rtype).await {
        Ok(set) => {
            let ttl = set.min_ttl.unwrap_or(0);
            Ok(set
                .records
                .iter()
                .zip(&set.owners)
                .filter(|(_, owner)| owner.as_str() == name)
                .filter_map(|((t, text), _)| {
                    // The resolver's text drops the trailing dot of names; the zone writer needs it back.
                    let data = match *t {
                        RecordType::CNAME | RecordType::NS | RecordType::PTR => {
                            format!("{}.", text.to_ascii_lowercase())
                        }
                        RecordType::MX => {
                            let (pref, host) = text.split_once(' ')?;
                            format!(
                                "{pref} {}.",
                                host.to_ascii_lowercase().trim_end_matches('.')
                            )
                        }
                        RecordType::TXT => zone::quote(text.as_bytes()),
                        _ => text.clone(),
                    };
                    Some(Rec::new(name, ttl, &t.to_string(), data))
                })
                .collect())
        }
        Err(launchready_net_outcome) => {
            let text = format!("{launchready_net_outcome:?}");
            if text.contains("NxDomain") || text.contains("NoData") {
                Ok(Vec::new())
            } else {
                Err(text)
            }
        }
    }
}

fn question(name: &str, rtype: RecordType) -> Result<Vec<u8>, String> {
    let fqdn = format!("{}.", normalize_name(name));
    let name = Name::from_ascii(&fqdn).map_err(|e| format!("bad name {fqdn}: {e}"))?;
    let mut message = Message::query();
    message.metadata.recursion_desired = false;
    message.add_query(Query::query(name, rtype));
    let bytes = message.to_vec().map_err(|e| e.to_string())?;
    let len = u16::try_from(bytes.len()).map_err(|_| "query too long".to_string())?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend(bytes);
    Ok(framed)
}

async fn read_message(
    stream: &mut TcpStream,
    timeout: Duration,
) -> Result<Option<Message>, String> {
    let mut len = [0u8; 2];
    match tokio::time::timeout(timeout, stream.read_exact(&mut len)).await {
        Err(_) => return Err("no answer before the timeout".to_string()),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Ok(Err(e)) => return Err(e.to_string()),
        Ok(Ok(_)) => {}
    }
    let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
    tokio::time::timeout(timeout, stream.read_exact(&mut body))
        .await
        .map_err(|_| "the answer stalled before the timeout".to_string())?
        .map_err(|e| e.to_string())?;
    Message::from_vec(&body)
        .map(Some)
        .map_err(|e| format!("undecodable answer: {e}"))
}

async fn connect(addr: SocketAddr, timeout: Duration) -> Result<TcpStream, String> {
    tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| format!("no TCP connection to {addr} before the timeout"))?
        .map_err(|e| format!("cannot connect to {addr}: {e}"))
}

/// One question over TCP to one server, without recursion: the records the queried name owns.
pub async fn query(
    addr: SocketAddr,
    name: &str,
    rtype: RecordType,
    timeout: Duration,
) -> Result<Vec<Rec>, String> {
    let mut stream = connect(addr, timeout).await?;
    let framed = question(name, rtype)?;
    tokio::time::timeout(timeout, stream.write_all(&framed))
        .await
        .map_err(|_| "sending timed out".to_string())?
        .map_err(|e| e.to_string())?;
    let message = read_message(&mut stream, timeout)
        .await?
        .ok_or("the server closed the connection")?;
    match message.metadata.response_code {
        ResponseCode::NoError | ResponseCode::NXDomain => {}
        other => return Err(format!("answered {other}")),
    }
    let owner = normalize_name(name);
    Ok(message
        .answers
        .iter()
        .filter(|r| normalize_name(&r.name.to_ascii()) == owner)
        .map(to_rec)
        .collect())
}

/// A zone transfer: every record of the zone, or why the server would not give it.
pub async fn axfr(addr: SocketAddr, apex: &str, timeout: Duration) -> Result<Vec<Rec>, String> {
    let mut stream = connect(addr, timeout).await?;
    let framed = question(apex, RecordType::AXFR)?;
    tokio::time::timeout(timeout, stream.write_all(&framed))
        .await
        .map_err(|_| "sending timed out".to_string())?
        .map_err(|e| e.to_string())?;
    let mut records = Vec::new();
    let mut soas = 0;
    for _ in 0..MAX_AXFR_MESSAGES {
        let Some(message) = read_message(&mut stream, timeout).await? else {
            return Err(if records.is_empty() {
                "refused (the server closed the connection)".to_string()
            } else {
                "the transfer stopped before the closing SOA".to_string()
            });
        };
        match message.metadata.response_code {
            ResponseCode::NoError => {}
            ResponseCode::Refused => return Err("refused (REFUSED)".to_string()),
            ResponseCode::NotAuth => return Err("refused (NOTAUTH)".to_string()),
            other => return Err(format!("refused ({other})")),
        }
        if message.answers.is_empty() {
            return Err("refused (an empty answer)".to_string());
        }
        for record in &message.answers {
            if matches!(record.data, RData::SOA(_)) {
                soas += 1;
                // The transfer opens and closes with the SOA; the closing copy is not a second record.
                if soas == 2 {
                    return Ok(records);
                }
            }
            records.push(to_rec(record));
        }
    }
    Err("the transfer did not end".to_string())
}

fn absolute(name: &Name) -> String {
    format!("{}.", normalize_name(&name.to_ascii()))
}

/// A wire record in the snapshot's presentation form.
pub fn to_rec(record: &Record) -> Rec {
    let data = match &record.data {
        RData::A(a) => a.0.to_string(),
        RData::AAAA(a) => a.0.to_string(),
        RData::CNAME(n) => absolute(&n.0),
        RData::NS(n) => absolute(&n.0),
        RData::PTR(n) => absolute(&n.0),
        RData::MX(mx) => format!("{} {}", mx.preference, absolute(&mx.exchange)),
        RData::TXT(txt) => zone::txt_data(txt.txt_data.iter().map(|b| &**b)),
        RData::CAA(caa) => format!(
            "{} {} {}",
            (u8::from(caa.issuer_critical) * 128) | caa.reserved_flags,
            caa.tag.to_ascii_lowercase(),
            zone::quote(&caa.value)
        ),
        RData::SOA(soa) => format!(
            "{} {} {} {} {} {} {}",
            absolute(&soa.mname),
            absolute(&soa.rname),
            soa.serial,
            soa.refresh,
            soa.retry,
            soa.expire,
            soa.minimum
        ),
        RData::SRV(srv) => format!(
            "{} {} {} {}",
            srv.priority,
            srv.weight,
            srv.port,
            absolute(&srv.target)
        ),
        other => other.to_string(),
    };
    Rec::new(
        &record.name.to_ascii(),
        record.ttl,
        &record.record_type().to_string(),
        data,
    )
}
