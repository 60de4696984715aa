//! DNS lookups as facts: a host's addresses and CNAME chain, any record type as text, and the preflight that
//! tells "the resolver is unreachable" (the audit cannot run) apart from "the name does not exist" (a finding).

use crate::{Net, NetError};
use hickory_resolver::net::{DnsError, NetError as HickoryError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use launchready_findings::facts::{DnsFacts, DnsOutcome, NameServerFacts, ZoneFacts};
use std::net::IpAddr;
use std::net::SocketAddr;
use std::time::Instant;

/// The answer to one query: records as `TYPE value` text, or why there are none.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordSet {
    pub records: Vec<(RecordType, String)>,
    /// The owner name of each record, lower-case without the trailing dot (a CNAME's target owns the
    /// records that follow it).
    pub owners: Vec<String>,
    pub min_ttl: Option<u32>,
}

/// A label no zone should have, so that only a wildcard can answer for it.
fn random_label() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.finish() as u32
}

fn fqdn(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

fn outcome_of(error: &HickoryError) -> DnsOutcome {
    match error {
        HickoryError::Dns(DnsError::NoRecordsFound(no)) => {
            if no.response_code == ResponseCode::NXDomain {
                DnsOutcome::NxDomain
            } else {
                DnsOutcome::NoData
            }
        }
        HickoryError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)) => DnsOutcome::ServFail,
        HickoryError::Timeout => DnsOutcome::Timeout,
        other => DnsOutcome::Error(other.to_string()),
    }
}

/// `A 192.0.2.1`-style text for the record types reports show.
pub fn rdata_text(data: &RData) -> String {
    let text = data.to_string();
    text.trim_end_matches('.').to_string()
}

impl Net {
    /// Asks one question. Timeouts respect the deadline.
    pub async fn lookup(
        &self,
        name: &str,
        record_type: RecordType,
    ) -> Result<RecordSet, DnsOutcome> {
        let _permit = self.limit.acquire().await;
        let query = self.resolver.lookup(fqdn(name), record_type);
        let lookup = match tokio::time::timeout(self.op_timeout(), query).await {
            Err(_) => return Err(DnsOutcome::Timeout),
            Ok(Err(error)) => return Err(outcome_of(&error)),
            Ok(Ok(lookup)) => lookup,
        };
        let answers = lookup.answers();
        Ok(RecordSet {
            records: answers
                .iter()
                .map(|r| (r.record_type(), rdata_text(&r.data)))
                .collect(),
            owners: answers
                .iter()
                .map(|r| r.name.to_ascii().trim_end_matches('.').to_ascii_lowercase())
                .collect(),
            min_ttl: answers.iter().map(|r| r.ttl).min(),
        })
    }

    /// A host's A and AAAA answers, asked concurrently, with the CNAME chain that led to them.
    pub async fn lookup_host(&self, name: &str) -> DnsFacts {
        let started = Instant::now();
        let (v4, v6) = tokio::join!(
            self.lookup(name, RecordType::A),
            self.lookup(name, RecordType::AAAA)
        );
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let mut cname_chain = Vec::new();
        let mut addresses = Vec::new();
        let mut ttl: Option<u32> = None;
        for set in [&v4, &v6].into_iter().flatten() {
            for (record_type, value) in &set.records {
                match record_type {
                    RecordType::CNAME if !cname_chain.contains(value) => {
                        cname_chain.push(value.clone())
                    }
                    RecordType::A | RecordType::AAAA => {
                        if let Ok(ip) = value.parse::<IpAddr>() {
                            addresses.push(ip);
                        }
                    }
                    _ => {}
                }
            }
            ttl = match (ttl, set.min_ttl) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        let outcome = if !addresses.is_empty() {
            DnsOutcome::Resolved
        } else {
            // Both failed or neither had addresses: report the more informative failure.
            match (v4, v6) {
                (Err(DnsOutcome::NxDomain), _) | (_, Err(DnsOutcome::NxDomain)) => {
                    DnsOutcome::NxDomain
                }
                (
                    Err(e @ (DnsOutcome::Timeout | DnsOutcome::ServFail | DnsOutcome::Error(_))),
                    _,
                )
                | (
                    _,
                    Err(e @ (DnsOutcome::Timeout | DnsOutcome::ServFail | DnsOutcome::Error(_))),
                ) => e,
                _ => DnsOutcome::NoData,
            }
        };
        if outcome != DnsOutcome::Resolved && cname_chain.is_empty() {
            // A failed address lookup does not carry the CNAMEs that led to the failure; ask for them, so a
            // dangling CNAME is told apart from a missing name.
            cname_chain = self.cname_chain(name).await;
        }
        DnsFacts {
            outcome,
            cname_chain,
            addresses,
            ttl,
            elapsed_ms,
        }
    }

    /// Follows CNAME records from `name` one query at a time (at most 8 links, and never around a loop).
    pub async fn cname_chain(&self, name: &str) -> Vec<String> {
        let mut chain: Vec<String> = Vec::new();
        let mut current = name.trim_end_matches('.').to_ascii_lowercase();
        for _ in 0..8 {
            let Ok(set) = self.lookup(&current, RecordType::CNAME).await else {
                break;
            };
            let Some(target) = set
                .records
                .iter()
                .find(|(t, _)| *t == RecordType::CNAME)
                .map(|(_, v)| v.to_ascii_lowercase())
            else {
                break;
            };
            if chain.contains(&target) || target == name {
                break;
            }
            chain.push(target.clone());
            current = target;
        }
        chain
    }

    /// Records of one type owned by exactly `name`, as text: what a CNAME at `name` leads to is left out.
    pub async fn records_text(
        &self,
        name: &str,
        record_type: RecordType,
    ) -> Result<Vec<String>, DnsOutcome> {
        let owner = name.trim_end_matches('.').to_ascii_lowercase();
        self.lookup(name, record_type).await.map(|set| {
            set.records
                .into_iter()
                .zip(set.owners)
                .filter(|((t, _), o)| *t == record_type && *o == owner)
                .map(|((_, v), _)| v)
                .collect()
        })
    }

    /// Zone-level facts about the apex: its NS set, a CNAME at the apex, and whether a wildcard answers for a
    /// random name. All questions go out at once.
    pub async fn zone_facts(&self, apex: &str) -> ZoneFacts {
        let probe = format!("lr-wildcard-{:08x}.{apex}", random_label());
        let (ns, cname, wildcard) = tokio::join!(
            self.records_text(apex, RecordType::NS),
            self.records_text(apex, RecordType::CNAME),
            self.lookup(&probe, RecordType::A),
        );
        let (ns, ns_outcome) = match ns {
            Ok(names) => (names, DnsOutcome::Resolved),
            Err(outcome) => (Vec::new(), outcome),
        };
        let wildcard_addresses = wildcard
            .map(|set| {
                set.records
                    .iter()
                    .filter(|(t, _)| *t == RecordType::A)
                    .filter_map(|(_, v)| v.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let nameservers = self.probe_nameservers(apex, &ns).await;
        ZoneFacts {
            nameservers,
            ns,
            ns_outcome: Some(ns_outcome),
            apex_cname: cname.ok().and_then(|c| c.into_iter().next()),
            wildcard_probe: Some(probe),
            wildcard_addresses,
        }
    }

    /// Asks each of the zone's nameservers directly for the apex SOA: do they all answer, authoritatively, with
    /// the same serial? Nameserver names resolve through the configured resolver; `--connect-to NAME:53:…`
    /// redirects a nameserver like any other host.
    pub async fn probe_nameservers(&self, apex: &str, names: &[String]) -> Vec<NameServerFacts> {
        let probes = names.iter().map(|name| async move {
            let (host, port) = crate::connect_to::resolve_target(&self.config.connect_to, name, 53);
            let looked_up = host.parse::<IpAddr>().is_err();
            let target = match host.parse::<IpAddr>() {
                Ok(ip) => Some(SocketAddr::new(ip, port)),
                Err(_) => self
                    .resolve_ips(&host)
                    .await
                    .ok()
                    .and_then(|ips| ips.first().copied())
                    .map(|ip| SocketAddr::new(ip, port)),
            };
            let mut facts = NameServerFacts {
                name: name.clone(),
                address: target.map(|t| t.to_string()),
                serial: None,
                authoritative: false,
                error: None,
                looked_up,
            };
            let Some(target) = target else {
                facts.error = Some(format!("{name} does not resolve"));
                return facts;
            };
            let resolver = match crate::direct_resolver(target, self.op_timeout()) {
                Ok(resolver) => resolver,
                Err(e) => {
                    facts.error = Some(e.to_string());
                    return facts;
                }
            };
            let _permit = self.limit.acquire().await;
            let query = resolver.lookup(fqdn(apex), RecordType::SOA);
            match tokio::time::timeout(self.op_timeout(), query).await {
                Err(_) => facts.error = Some("no answer before the timeout".to_string()),
                Ok(Err(error)) => {
                    facts.error = Some(match outcome_of(&error) {
                        DnsOutcome::Timeout => "no answer before the timeout".to_string(),
                        DnsOutcome::NxDomain => format!("answers NXDOMAIN for {apex}"),
                        DnsOutcome::NoData => format!("has no SOA for {apex}"),
                        DnsOutcome::ServFail => "answers SERVFAIL".to_string(),
                        DnsOutcome::Error(message) => message,
                        DnsOutcome::Resolved => "no usable answer".to_string(),
                    })
                }
                Ok(Ok(lookup)) => {
                    facts.authoritative = lookup.message().metadata.authoritative;
                    facts.serial = lookup.answers().iter().find_map(|r| match &r.data {
                        RData::SOA(soa) => Some(soa.serial),
                        _ => None,
                    });
                }
            }
            facts
        });
        futures::future::join_all(probes).await
    }

    /// Addresses for the HTTP client, via the same resolver (and cache) as every other lookup.
    pub(crate) async fn resolve_ips(&self, host: &str) -> Result<Vec<IpAddr>, String> {
        let query = self.resolver.lookup_ip(fqdn(host));
        match tokio::time::timeout(self.op_timeout(), query).await {
            Err(_) => Err(format!("resolving {host} timed out")),
            Ok(Err(error)) => Err(match outcome_of(&error) {
                DnsOutcome::NxDomain => format!("{host} does not exist (NXDOMAIN)"),
                DnsOutcome::NoData => format!("{host} has no address records"),
                DnsOutcome::ServFail => format!("resolving {host} failed (SERVFAIL)"),
                DnsOutcome::Timeout => format!("resolving {host} timed out"),
                DnsOutcome::Resolved => format!("{host} did not resolve"),
                DnsOutcome::Error(message) => format!("resolving {host}: {message}"),
            }),
            Ok(Ok(ips)) => Ok(ips.iter().collect()),
        }
    }

    /// Checks that at least one nameserver answers at all, whatever the answer. Returns the error the binary
    /// turns into exit code 3 when none does.
    pub async fn check_resolvers(&self, domain: &str) -> Result<(), NetError> {
        match self.lookup(domain, RecordType::SOA).await {
            Ok(_) => Ok(()),
            Err(DnsOutcome::NxDomain | DnsOutcome::NoData | DnsOutcome::ServFail) => Ok(()),
            Err(DnsOutcome::Error(message)) if message.contains("error response") => Ok(()),
            Err(other) => {
                let servers = if self.config.resolvers.is_empty() {
                    "the system resolver".to_string()
                } else {
                    self.resolver_names().join(", ")
                };
                let reason = match other {
                    DnsOutcome::Timeout => {
                        format!("no answer within {:.1}s", self.config.timeout.as_secs_f64())
                    }
                    DnsOutcome::Error(message) => message,
                    _ => "no answer".to_string(),
                };
                Err(NetError::ResolverUnreachable { servers, reason })
            }
        }
    }
}
