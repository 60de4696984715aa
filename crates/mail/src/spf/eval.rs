//! `check_host()` (RFC 7208 sections 4 to 6): evaluates a sender's SPF policy for a client IP over a
//! [`Lookup`], with the processing limits of section 4.6.4, include/redirect semantics and `exp=`
//! explanations. Deterministic, so [`crate::dns::resolve`] can run it again after each answer it fetches.

use std::net::IpAddr;

use serde::Serialize;

use super::macros::{MacroContext, MacroString, Scope, reverse_name};
use super::parse::{Mechanism, Qualifier, Record, Selection, is_toplabel, parse, select};
use crate::dns::{Answer, Lookup, Pending, QueryType, Rdata};

/// DNS-querying terms one evaluation may use, across includes and redirects (section 4.6.4).
pub const MAX_DNS_TERMS: usize = 10;
/// Void answers (NXDOMAIN or no records) one evaluation tolerates (section 4.6.4).
pub const MAX_VOID_LOOKUPS: usize = 2;
/// MX hosts and PTR names looked at per `mx` or `ptr` (section 4.6.4).
pub const MAX_NAMES_PER_TERM: usize = 10;

/// The result of an SPF check (section 2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpfResult {
    None,
    Neutral,
    Pass,
    Fail,
    SoftFail,
    TempError,
    PermError,
}

impl SpfResult {
    pub fn as_str(self) -> &'static str {
        match self {
            SpfResult::None => "none",
            SpfResult::Neutral => "neutral",
            SpfResult::Pass => "pass",
            SpfResult::Fail => "fail",
            SpfResult::SoftFail => "softfail",
            SpfResult::TempError => "temperror",
            SpfResult::PermError => "permerror",
        }
    }
}

impl std::fmt::Display for SpfResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Qualifier> for SpfResult {
    fn from(q: Qualifier) -> SpfResult {
        match q {
            Qualifier::Pass => SpfResult::Pass,
            Qualifier::Fail => SpfResult::Fail,
            Qualifier::SoftFail => SpfResult::SoftFail,
            Qualifier::Neutral => SpfResult::Neutral,
        }
    }
}

/// What `check_host()` concluded and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub result: SpfResult,
    /// The expanded `exp=` text, only for `fail`.
    pub explanation: Option<String>,
    /// The top-level term that matched, as written.
    pub mechanism: Option<String>,
    pub reason: String,
}

/// Every input of an evaluation, for callers that know the receiving host or need a fixed clock.
#[derive(Debug, Clone)]
pub struct Params<'a> {
    pub ip: IpAddr,
    pub domain: &'a str,
    pub sender: &'a str,
    pub helo: &'a str,
    /// The `r` macro (explanations only).
    pub receiver: &'a str,
    /// The `t` macro (explanations only), seconds since the Unix epoch.
    pub timestamp: u64,
}

/// `check_host(ip, domain, sender)` with `helo` for the `h` macro.
pub fn check_host(
    dns: &impl Lookup,
    ip: IpAddr,
    domain: &str,
    sender: &str,
    helo: &str,
) -> Result<Verdict, Pending> {
    // Only explanation text can show the clock, and explanations never drive a query.
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    check_host_with(
        dns,
        &Params {
            ip,
            domain,
            sender,
            helo,
            receiver: "unknown",
            timestamp,
        },
    )
}

/// [`check_host`] with every input explicit.
pub fn check_host_with(dns: &impl Lookup, params: &Params<'_>) -> Result<Verdict, Pending> {
    let domain = params.domain.strip_suffix('.').unwrap_or(params.domain);
    let (local, sender_domain) = match params.sender.rsplit_once('@') {
        Some((local, d)) => (
            if local.is_empty() {
                "postmaster"
            } else {
                local
            },
            d,
        ),
        None if params.sender.is_empty() => ("postmaster", domain),
        None => ("postmaster", params.sender),
    };
    let sender = format!("{local}@{sender_domain}");
    // Section 5: an IPv4-mapped IPv6 client is an IPv4 client.
    let ip = match params.ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    let mut eval = Eval {
        dns,
        ip,
        sender: &sender,
        local,
        sender_domain,
        helo: params.helo,
        receiver: params.receiver,
        timestamp: params.timestamp,
        lookups: 0,
        voids: 0,
    };
    match eval.run(domain, true) {
        Ok(outcome) => Ok(Verdict {
            result: outcome.result,
            explanation: outcome.explanation,
            mechanism: outcome.mechanism,
            reason: outcome.reason,
        }),
        Err(Stop::Pending(p)) => Err(p),
        Err(Stop::Result(result, reason)) => Ok(Verdict {
            result,
            explanation: None,
            mechanism: None,
            reason,
        }),
    }
}

/// Why evaluation stopped early: an answer is missing, or a temperror/permerror ends the whole check.
enum Stop {
    Pending(Pending),
    Result(SpfResult, String),
}

impl From<Pending> for Stop {
    fn from(p: Pending) -> Stop {
        Stop::Pending(p)
    }
}

fn perm(reason: impl Into<String>) -> Stop {
    Stop::Result(SpfResult::PermError, reason.into())
}

fn temp(reason: impl Into<String>) -> Stop {
    Stop::Result(SpfResult::TempError, reason.into())
}

struct Outcome {
    result: SpfResult,
    mechanism: Option<String>,
    reason: String,
    explanation: Option<String>,
}

struct Eval<'a, L> {
    dns: &'a L,
    ip: IpAddr,
    sender: &'a str,
    local: &'a str,
    sender_domain: &'a str,
    helo: &'a str,
    receiver: &'a str,
    timestamp: u64,
    lookups: usize,
    voids: usize,
}

/// Counts one more against a limit; going past `max` is a permerror worded by `message`.
fn count_up(count: &mut usize, max: usize, message: impl FnOnce() -> String) -> Result<(), Stop> {
    *count += 1;
    if *count > max {
        return Err(perm(message()));
    }
    Ok(())
}

/// Whether `domain` may start an evaluation (section 4.3): a multi-label name with sane labels and a
/// real top-level label, which rules out domain literals.
pub fn valid_domain(domain: &str) -> bool {
    let name = domain.strip_suffix('.').unwrap_or(domain);
    queryable(name) && name.contains('.') && name.rsplit('.').next().is_some_and(is_toplabel)
}

/// Whether a DNS query can be composed for `name` at all.
fn queryable(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.is_ascii()
        && name.split('.').all(|l| !l.is_empty() && l.len() <= 63)
}

fn in_network(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            prefix == 0 || (u32::from(a) ^ u32::from(b)) >> (32 - u32::from(prefix.min(32))) == 0
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            prefix == 0
                || (u128::from(a) ^ u128::from(b)) >> (128 - u32::from(prefix.min(128))) == 0
        }
        _ => false,
    }
}

fn address_type(ip: IpAddr) -> QueryType {
    match ip {
        IpAddr::V4(_) => QueryType::A,
        IpAddr::V6(_) => QueryType::Aaaa,
    }
}

fn addresses(answer: &Answer) -> impl Iterator<Item = IpAddr> + '_ {
    answer.rdata().iter().filter_map(|r| match r {
        Rdata::A(a) => Some(IpAddr::V4(*a)),
        Rdata::Aaaa(a) => Some(IpAddr::V6(*a)),
        _ => None,
    })
}

/// The first names a PTR answer lists, lower case without the trailing dot.
fn ptr_names(answer: &Answer) -> Vec<String> {
    answer
        .rdata()
        .iter()
        .filter_map(|r| match r {
            Rdata::Ptr(name) => Some(crate::dns::normalize(name)),
            _ => None,
        })
        .take(MAX_NAMES_PER_TERM)
        .collect()
}

fn is_at_or_under(name: &str, domain: &str) -> bool {
    name == domain
        || name
            .strip_suffix(domain)
            .is_some_and(|prefix| prefix.ends_with('.'))
}

/// Whether `name` has an address record equal to `ip` (failures count as "no").
fn validates(dns: &impl Lookup, name: &str, ip: IpAddr) -> Result<bool, Pending> {
    if !queryable(name) {
        return Ok(false);
    }
    let answer = dns.get(name, address_type(ip))?;
    Ok(addresses(answer).any(|a| a == ip))
}

/// The `p` macro's value: a validated PTR name of `ip`, preferring one at or under `domain`
/// (section 7.3). `None` means "unknown".
pub(crate) fn validated_name(
    dns: &impl Lookup,
    ip: IpAddr,
    domain: &str,
) -> Result<Option<String>, Pending> {
    let answer = dns.get(&reverse_name(ip), QueryType::Ptr)?;
    let names = ptr_names(answer);
    let domain = crate::dns::normalize(domain);
    let (preferred, others): (Vec<&String>, Vec<&String>) =
        names.iter().partition(|n| is_at_or_under(n, &domain));
    for name in preferred.into_iter().chain(others) {
        if validates(dns, name, ip)? {
            return Ok(Some(name.clone()));
        }
    }
    Ok(None)
}

impl<'a, L: Lookup> Eval<'a, L> {
    fn context<'c>(&'c self, domain: &'c str) -> MacroContext<'c> {
        MacroContext {
            sender: self.sender,
            local_part: self.local,
            sender_domain: self.sender_domain,
            domain,
            ip: self.ip,
            helo: self.helo,
            receiver: self.receiver,
            timestamp: self.timestamp,
        }
    }

    fn count_lookup(&mut self, term: &str) -> Result<(), Stop> {
        count_up(&mut self.lookups, MAX_DNS_TERMS, || {
            format!("more than {MAX_DNS_TERMS} DNS-querying terms (at \"{term}\")")
        })
    }

    fn void(&mut self, name: &str) -> Result<(), Stop> {
        count_up(&mut self.voids, MAX_VOID_LOOKUPS, || {
            format!("more than {MAX_VOID_LOOKUPS} void lookups (at {name})")
        })
    }

    /// Looks up the record for `domain`: `Ok(None)` is the `none` result.
    fn record(&self, domain: &str) -> Result<Result<Record, String>, Stop> {
        let answer = self.dns.get(domain, QueryType::Txt)?;
        match answer {
            Answer::TempError { reason } => {
                Err(temp(format!("TXT lookup for {domain} failed: {reason}")))
            }
            Answer::NxDomain => Ok(Err(format!("{domain} does not exist"))),
            Answer::NoData => Ok(Err(format!("{domain} has no TXT records"))),
            Answer::Records { .. } => match select(&answer.txt()) {
                Selection::None => Ok(Err(format!("{domain} has no SPF record"))),
                Selection::Multiple(found) => {
                    Err(perm(format!("{domain} has {} SPF records", found.len())))
                }
                Selection::One(text) => parse(&text)
                    .map(Ok)
                    .map_err(|e| perm(format!("syntax error in the record of {domain}: {e}"))),
            },
        }
    }

    fn run(&mut self, domain: &str, want_exp: bool) -> Result<Outcome, Stop> {
        let domain = crate::dns::normalize(domain);
        if !valid_domain(&domain) {
            return Ok(Outcome {
                result: SpfResult::None,
                mechanism: None,
                reason: format!("\"{domain}\" is not a valid domain name"),
                explanation: None,
            });
        }
        let record = match self.record(&domain)? {
            Ok(record) => record,
            Err(reason) => {
                return Ok(Outcome {
                    result: SpfResult::None,
                    mechanism: None,
                    reason,
                    explanation: None,
                });
            }
        };
        for (qualifier, mechanism, term) in record.directives() {
            let text = record.term_text(term);
            if self.matches(mechanism, text, &domain)? {
                let result = SpfResult::from(qualifier);
                let explanation = if result == SpfResult::Fail && want_exp {
                    self.explain(&record, &domain)?
                } else {
                    None
                };
                return Ok(Outcome {
                    result,
                    mechanism: Some(text.to_owned()),
                    reason: format!("\"{text}\" in the record of {domain} matched"),
                    explanation,
                });
            }
        }
        if let Some(target) = record.redirect() {
            let term = format!("redirect={target}");
            self.count_lookup(&term)?;
            let spec = MacroString::parse(target, Scope::Domain).map_err(perm)?;
            let name = spec.expand_domain(&self.context(&domain), self.dns)?;
            let inner = self.run(&name, want_exp)?;
            if inner.result == SpfResult::None {
                return Err(perm(format!(
                    "{term} in the record of {domain}: {}",
                    inner.reason
                )));
            }
            return Ok(inner);
        }
        Ok(Outcome {
            result: SpfResult::Neutral,
            mechanism: None,
            reason: format!("no term in the record of {domain} matched"),
            explanation: None,
        })
    }

    fn target(&self, spec: Option<&MacroString>, domain: &str) -> Result<String, Pending> {
        match spec {
            Some(spec) => spec.expand_domain(&self.context(domain), self.dns),
            None => Ok(domain.to_owned()),
        }
    }

    fn matches(&mut self, mechanism: &Mechanism, term: &str, domain: &str) -> Result<bool, Stop> {
        if mechanism.queries_dns() {
            self.count_lookup(term)?;
        }
        let target = self.target(mechanism.domain_spec(), domain)?;
        let target = crate::dns::normalize(&target);
        match mechanism {
            Mechanism::All => Ok(true),
            Mechanism::Ip4 { network, prefix } => {
                Ok(in_network(self.ip, IpAddr::V4(*network), *prefix))
            }
            Mechanism::Ip6 { network, prefix } => {
                Ok(in_network(self.ip, IpAddr::V6(*network), *prefix))
            }
            Mechanism::Include { .. } => {
                let inner = self.run(&target, false)?;
                match inner.result {
                    SpfResult::Pass => Ok(true),
                    SpfResult::None => Err(perm(format!("\"{term}\": {}", inner.reason))),
                    SpfResult::TempError | SpfResult::PermError => {
                        Err(Stop::Result(inner.result, inner.reason))
                    }
                    SpfResult::Fail | SpfResult::SoftFail | SpfResult::Neutral => Ok(false),
                }
            }
            Mechanism::A { cidr4, cidr6, .. } => {
                if !queryable(&target) {
                    return Ok(false);
                }
                self.address_match(&target, *cidr4, *cidr6, true)
            }
            Mechanism::Mx { cidr4, cidr6, .. } => {
                if !queryable(&target) {
                    return Ok(false);
                }
                let Some(answer) = self.term_answer(&target, QueryType::Mx, true)? else {
                    return Ok(false);
                };
                let mut hosts: Vec<(u16, &str)> = answer
                    .rdata()
                    .iter()
                    .filter_map(|r| match r {
                        Rdata::Mx {
                            preference,
                            exchange,
                        } => Some((*preference, exchange.as_str())),
                        _ => None,
                    })
                    .collect();
                hosts.sort();
                for (i, (_, host)) in hosts.iter().enumerate() {
                    // A null MX ("0 .") names no host at all.
                    if host.is_empty() {
                        continue;
                    }
                    if i >= MAX_NAMES_PER_TERM {
                        return Err(perm(format!(
                            "\"{term}\": {target} has more than {MAX_NAMES_PER_TERM} MX hosts"
                        )));
                    }
                    let host = crate::dns::normalize(host);
                    if queryable(&host) && self.address_match(&host, *cidr4, *cidr6, false)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Mechanism::Ptr { .. } => {
                let reverse = reverse_name(self.ip);
                let answer = self.dns.get(&reverse, QueryType::Ptr)?;
                if answer.is_void() {
                    self.void(&reverse)?;
                    return Ok(false);
                }
                // Only names that could match are validated: the outcome is the same and it saves
                // queries (section 5.5 allows either).
                for name in ptr_names(answer) {
                    if is_at_or_under(&name, &target) && validates(self.dns, &name, self.ip)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Mechanism::Exists { .. } => {
                if !queryable(&target) {
                    return Ok(false);
                }
                Ok(self.term_answer(&target, QueryType::A, true)?.is_some())
            }
        }
    }

    /// The answer a term's query gets: a temporary failure stops the evaluation, and a void answer is
    /// `None` (counted towards the void limit when `count_void`).
    fn term_answer(
        &mut self,
        name: &str,
        qtype: QueryType,
        count_void: bool,
    ) -> Result<Option<&'a Answer>, Stop> {
        let dns: &'a L = self.dns;
        let answer = dns.get(name, qtype)?;
        if let Answer::TempError { reason } = answer {
            return Err(temp(format!("{qtype} lookup for {name} failed: {reason}")));
        }
        if answer.is_void() {
            if count_void {
                self.void(name)?;
            }
            return Ok(None);
        }
        Ok(Some(answer))
    }

    fn address_match(
        &mut self,
        name: &str,
        cidr4: Option<u8>,
        cidr6: Option<u8>,
        count_void: bool,
    ) -> Result<bool, Stop> {
        let Some(answer) = self.term_answer(name, address_type(self.ip), count_void)? else {
            return Ok(false);
        };
        let prefix = match self.ip {
            IpAddr::V4(_) => cidr4.unwrap_or(32),
            IpAddr::V6(_) => cidr6.unwrap_or(128),
        };
        Ok(addresses(answer).any(|a| in_network(self.ip, a, prefix)))
    }

    /// The `exp=` text for a fail (section 6.2). Any problem fetching or expanding it means "no
    /// explanation", never an error.
    fn explain(&self, record: &Record, domain: &str) -> Result<Option<String>, Pending> {
        let Some(exp) = record.exp() else {
            return Ok(None);
        };
        let Ok(spec) = MacroString::parse(exp, Scope::Domain) else {
            return Ok(None);
        };
        let context = self.context(domain);
        let name = crate::dns::normalize(&spec.expand_domain(&context, self.dns)?);
        if !queryable(&name) {
            return Ok(None);
        }
        let texts = self.dns.get(&name, QueryType::Txt)?.txt();
        let [text] = texts.as_slice() else {
            return Ok(None);
        };
        if !text.is_ascii() {
            return Ok(None);
        }
        match MacroString::parse(text, Scope::Explanation) {
            Ok(message) => message.expand(&context, self.dns).map(Some),
            Err(_) => Ok(None),
        }
    }
}
