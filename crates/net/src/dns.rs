//! DNS lookups as facts: a host's addresses and CNAME chain, any record type as text, and the preflight that
//! tells "the resolver is unreachable" (the audit cannot run) apart from "the name does not exist" (a finding).

use crate::{Net, NetError};
use hickory_resolver::net::{DnsError, NetError as HickoryError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use launchready_findings::facts::{DnsFacts, DnsOutcome};
use std::net::IpAddr;
use std::time::Instant;

/// The answer to one query: records as `TYPE value` text, or why there are none.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordSet {
    pub records: Vec<(RecordType, String)>,
    pub min_ttl: Option<u32>,
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
        DnsFacts {
            outcome,
            cname_chain,
            addresses,
            ttl,
            elapsed_ms,
        }
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
