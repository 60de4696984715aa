//! The audit: `plan` decides what to probe from the manifest, `gather` probes it through the net layer into a
//! serialisable `Facts` snapshot, and `judge` turns facts into findings with pure functions. `report` puts the
//! three together with the manifest's suppressions and the DNS map.

mod gather;
mod gather_mail;
pub mod html;
mod links;
mod plan;
pub mod rules;

pub use gather::{
    GatherOptions, RateLimitProbe, chain_count, gather, gather_checked, infer_canonical,
    rate_limit_targets,
};
pub use links::{LinksError, load_links, parse_links};
pub use plan::{Plan, PlannedChain, PlannedHost, plan};

use launchready_findings::facts::Verification;
use launchready_findings::facts::{
    ChainEnd, ChainFacts, ChainPurpose, DnsOutcome, FACTS_SCHEMA_VERSION, Facts,
};
use launchready_findings::{DnsMapEntry, MapHop, MapPath, Report, TlsSummary};
use launchready_manifest::Manifest;

/// Why a facts file cannot be judged.
#[derive(Debug, thiserror::Error)]
pub enum FactsError {
    #[error("cannot read facts file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path} is not a launchready facts file: {reason}")]
    Parse { path: String, reason: String },
    #[error(
        "{path} has facts schema version {found}, this launchready reads version {FACTS_SCHEMA_VERSION}"
    )]
    Version { path: String, found: u32 },
}

/// Loads a snapshot written by `--save-facts`.
pub fn load_facts(path: &std::path::Path) -> Result<Facts, FactsError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| FactsError::Read {
        path: display.clone(),
        reason: e.to_string(),
    })?;
    let version = serde_json::from_str::<serde_json::Value>(&text)
        .map_err(|e| FactsError::Parse {
            path: display.clone(),
            reason: e.to_string(),
        })?
        .get("schema_version")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| FactsError::Parse {
            path: display.clone(),
            reason: "no schema_version".to_string(),
        })?;
    if version != u64::from(FACTS_SCHEMA_VERSION) {
        return Err(FactsError::Version {
            path: display,
            found: u32::try_from(version).unwrap_or(u32::MAX),
        });
    }
    serde_json::from_str(&text).map_err(|e| FactsError::Parse {
        path: display,
        reason: e.to_string(),
    })
}

/// Judges facts against the manifest: every rule, then the manifest's `[[ignore]]` entries, then the DNS map.
pub fn report(facts: &Facts, manifest: &Manifest) -> Report {
    let mut findings = rules::judge(facts, manifest);
    manifest.apply_ignores(&mut findings);
    Report::new(
        facts.domain.clone(),
        facts.gathered_at.clone(),
        findings,
        dns_map(facts),
    )
}

/// The first TLS session seen for `host` in any chain.
fn tls_summary(facts: &Facts, host: &str) -> Option<TlsSummary> {
    let tls = facts
        .chains
        .iter()
        .flat_map(|c| c.hops.iter())
        .filter(|hop| {
            url::Url::parse(&hop.url)
                .ok()
                .is_some_and(|u| u.host_str() == Some(host))
        })
        .find_map(|hop| hop.tls.as_ref())?;
    let leaf = tls.chain.first()?;
    Some(TlsSummary {
        version: tls.version.clone(),
        alpn: tls.alpn.clone(),
        issuer: leaf.issuer.clone(),
        sans: leaf.sans.clone(),
        not_after: leaf.not_after.clone(),
        key: leaf.key.clone(),
        verification: match &tls.verification {
            Verification::Valid => "valid".to_string(),
            Verification::Expired => "expired".to_string(),
            Verification::NotYetValid => "not_yet_valid".to_string(),
            Verification::HostnameMismatch => "hostname_mismatch".to_string(),
            Verification::UnknownIssuer => "unknown_issuer".to_string(),
            Verification::Other(reason) => reason.clone(),
        },
    })
}

/// The entry-point chains that start on `host`, https first, as the map shows them.
fn paths(facts: &Facts, host: &str) -> Vec<MapPath> {
    let mut chains: Vec<&ChainFacts> = facts
        .chains
        .iter()
        .filter(|c| {
            matches!(
                c.purpose,
                ChainPurpose::EntryPoint | ChainPurpose::Subdomain
            )
        })
        .filter(|c| {
            url::Url::parse(&c.start)
                .ok()
                .is_some_and(|u| u.host_str() == Some(host) && u.path() == "/")
        })
        .collect();
    chains.sort_by_key(|c| (!c.start.starts_with("https://"), c.start.clone()));
    chains
        .into_iter()
        .map(|chain| MapPath {
            start: chain.start.clone(),
            hops: chain
                .hops
                .iter()
                .map(|hop| MapHop {
                    url: hop.url.clone(),
                    status: hop.status,
                    error: hop
                        .error
                        .as_ref()
                        .filter(|_| hop.status.is_none())
                        .map(|e| e.kind.as_str().to_string()),
                })
                .collect(),
            end: match chain.end {
                ChainEnd::Final => "final",
                ChainEnd::Loop => "loop",
                ChainEnd::TooManyHops => "too_many_hops",
                ChainEnd::BadRedirect => "bad_redirect",
                ChainEnd::Failed => "failed",
            }
            .to_string(),
        })
        .collect()
}

/// Host → records → where an https request to it finally landed.
pub fn dns_map(facts: &Facts) -> Vec<DnsMapEntry> {
    facts
        .hosts
        .iter()
        .map(|host| {
            let mut records: Vec<String> = host
                .dns
                .cname_chain
                .iter()
                .map(|target| format!("CNAME {target}"))
                .collect();
            records.extend(host.dns.addresses.iter().map(|ip| match ip {
                std::net::IpAddr::V4(_) => format!("A {ip}"),
                std::net::IpAddr::V6(_) => format!("AAAA {ip}"),
            }));
            match &host.dns.outcome {
                DnsOutcome::Resolved => {}
                DnsOutcome::NxDomain => records.push("NXDOMAIN".to_string()),
                DnsOutcome::NoData => records.push("no address records".to_string()),
                DnsOutcome::ServFail => records.push("SERVFAIL".to_string()),
                DnsOutcome::Timeout => records.push("timeout".to_string()),
                DnsOutcome::Error(message) => records.push(format!("error: {message}")),
            }
            let https_start = format!("https://{}/", host.name);
            let chain = facts.chains.iter().find(|c| {
                c.start == https_start
                    && matches!(
                        c.purpose,
                        ChainPurpose::EntryPoint | ChainPurpose::Subdomain
                    )
            });
            let resolved = host.dns.outcome == DnsOutcome::Resolved;
            DnsMapEntry {
                host: host.name.clone(),
                role: host.role.as_str().to_string(),
                records,
                final_url: chain
                    .filter(|_| resolved)
                    .and_then(|c| c.last())
                    .map(|hop| hop.url.clone()),
                final_status: chain.filter(|_| resolved).and_then(|c| c.final_status()),
                paths: if resolved {
                    paths(facts, &host.name)
                } else {
                    Vec::new()
                },
                tls: if resolved {
                    tls_summary(facts, &host.name)
                } else {
                    None
                },
            }
        })
        .collect()
}
