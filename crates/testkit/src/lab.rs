//! The in-process lab harness: a started `Lab`, a `Net` pointed at it, a manifest, and audits run against them.
//!
//! Every lab test runs the real audit (gather + judge) through the flags users have: the lab's nameserver as
//! `--resolver`, its listeners as `--connect-to` rules and its CA as `--ca-file`. A case is data:
//!
//! ```ignore
//! Case::clean()
//!     .tweak(|s| s.site_named("members.clean.test").cert = CertSpec::Expired)
//!     .check(&[("tls.cert.expired", "members.clean.test", Blocker)], &["tls.cert.untrusted"])
//!     .await;
//! ```
//!
//! Failures print every active finding of the report, so a changed rule shows what it now says.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use launchready_audit::{GatherOptions, RateLimitProbe, gather_checked};
use launchready_findings::facts::{ChainFacts, Facts, HostFacts};
use launchready_findings::{Finding, Report, Severity};
use launchready_lab::app::MemberApp;
use launchready_lab::{Handler, Lab, LabError, Page, RecordData, Scenario, Site, Zone, scenarios};
use launchready_manifest::Manifest;
use launchready_net::{ConnectTo, Net, NetConfig, NetError};
use url::Url;

use crate::watchdog;

/// How long an audit (lab start included) may take before the test fails as hung.
pub const DEADLINE: Duration = Duration::from_secs(30);
/// The per-operation network timeout unless a case asks for another.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// A finding as tests name it: id, subject, severity.
pub type Expected<'a> = (&'a str, &'a str, Severity);

/// Why the lab, the net layer or the audit could not be set up. Failed checks are findings, never this.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("starting the lab: {0}")]
    Lab(#[from] LabError),
    #[error("the test manifest is invalid: {0}")]
    Manifest(String),
    #[error("connect-to rule {rule:?}: {reason}")]
    ConnectTo { rule: String, reason: String },
    #[error("--links URL {url:?}: {reason}")]
    Link { url: String, reason: String },
    #[error("setting up the net layer: {0}")]
    Net(NetError),
    #[error("the lab's nameserver did not answer: {0}")]
    Resolver(NetError),
}

/// What a run adds to the scenario and the manifest: the flags of one `launchready audit` invocation.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--connect-to` rules placed before the lab's own (the first matching rule wins).
    pub rules_first: Vec<String>,
    /// The per-operation network timeout.
    pub timeout: Duration,
    /// `--links` URLs.
    pub links: Vec<String>,
    /// How often the landing page is loaded for speed figures; `None` keeps the audit's default.
    pub landing_samples: Option<usize>,
    /// `--probe-rate-limit`.
    pub rate_limit: Option<RateLimitProbe>,
    /// `--smtp`.
    pub smtp: bool,
    /// How long the whole run may take before the test fails as hung.
    pub deadline: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rules_first: Vec::new(),
            timeout: TIMEOUT,
            links: Vec::new(),
            landing_samples: None,
            rate_limit: None,
            smtp: false,
            deadline: DEADLINE,
        }
    }
}

impl Options {
    /// The audit's own options for these flags.
    pub fn gather(&self) -> Result<GatherOptions<'static>, StartError> {
        let links = self
            .links
            .iter()
            .map(|link| {
                Url::parse(link).map_err(|e| StartError::Link {
                    url: link.clone(),
                    reason: e.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        let defaults = GatherOptions::default();
        Ok(GatherOptions {
            links,
            landing_samples: self.landing_samples.unwrap_or(defaults.landing_samples),
            rate_limit: self.rate_limit,
            smtp: self.smtp,
            ..defaults
        })
    }
}

/// The net layer's configuration for a started lab, as the flags would give it: the lab's nameserver as
/// `--resolver`, `options.rules_first` then the lab's listeners as `--connect-to`, its CA as `--ca-file`.
pub fn net_config(lab: &Lab, options: &Options) -> Result<NetConfig, StartError> {
    let connect_to = options
        .rules_first
        .iter()
        .cloned()
        .chain(lab.connect_to_args())
        .map(|rule| {
            rule.parse::<ConnectTo>()
                .map_err(|e| StartError::ConnectTo {
                    reason: e.to_string(),
                    rule,
                })
        })
        .collect::<Result<_, _>>()?;
    Ok(NetConfig {
        resolvers: vec![lab.dns_addr()],
        connect_to,
        ca_files: vec![lab.ca_file().to_path_buf()],
        timeout: options.timeout,
        ..NetConfig::default()
    })
}

/// A client for servers reached only through `connect_to` rules (the membership app, a real server on loopback),
/// trusting `ca_file`. The rules name addresses, so nothing is looked up; naming a resolver that answers nothing
/// (`127.0.0.1:9`) keeps the machine's resolv.conf out. A rule that does not parse fails the test.
pub fn loopback_config(connect_to: &[String], ca_file: &Path, timeout: Duration) -> NetConfig {
    NetConfig {
        resolvers: vec![([127, 0, 0, 1], 9).into()],
        connect_to: connect_to
            .iter()
            .map(|rule| {
                rule.parse()
                    .unwrap_or_else(|e| panic!("connect-to rule {rule}: {e}"))
            })
            .collect(),
        ca_files: vec![ca_file.to_path_buf()],
        timeout,
        ..NetConfig::default()
    }
}

/// [`loopback_config`] for the lab's membership app: its connect-to rule and its CA.
pub fn app_config(app: &MemberApp, timeout: Duration) -> NetConfig {
    loopback_config(&app.connect_to_args(), app.ca_file(), timeout)
}

/// A `Net` pointed at a started lab ([`net_config`]).
pub fn net_for(lab: &Lab, options: &Options) -> Result<Net, StartError> {
    Net::new(net_config(lab, options)?).map_err(StartError::Net)
}

/// Starts the lab and a `Net` pointed at it, for tests of the net layer itself; a setup failure fails the test.
pub async fn start_net(scenario: Scenario, options: &Options) -> (Lab, Net) {
    let started = async {
        let lab = Lab::start(scenario).await?;
        let net = net_for(&lab, options)?;
        Ok::<_, StartError>((lab, net))
    };
    started.await.unwrap_or_else(|e| panic!("{e}"))
}

/// Starts the lab and points a `Net` at it ([`net_config`]); `manifest` is the text of a `launchready.toml`.
pub async fn try_start(
    scenario: Scenario,
    manifest: &str,
    options: &Options,
) -> Result<(Lab, Net, Manifest), StartError> {
    let manifest = Manifest::parse(manifest, Path::new("launchready.toml"))
        .map_err(|e| StartError::Manifest(e.to_string()))?;
    let lab = Lab::start(scenario).await?;
    let net = net_for(&lab, options)?;
    Ok((lab, net, manifest))
}

/// [`try_start`] for tests: a setup failure fails the test.
pub async fn start(scenario: Scenario, manifest: &str, options: &Options) -> (Lab, Net, Manifest) {
    try_start(scenario, manifest, options)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Starts the lab and runs the whole audit against it: gather (with the nameserver preflight) and judge.
pub async fn try_audit(
    scenario: Scenario,
    manifest: &str,
    options: &Options,
) -> Result<Audit, StartError> {
    let gather = options.gather()?;
    let (lab, net, manifest) = try_start(scenario, manifest, options).await?;
    let facts = Box::pin(gather_checked(&manifest, &net, &gather))
        .await
        .map_err(StartError::Resolver)?;
    let report = launchready_audit::report(&facts, &manifest);
    Ok(Audit {
        facts,
        report,
        ipv6: lab.https6_addr().is_some(),
    })
}

/// [`try_audit`] for tests, within `options.deadline`: a setup failure or a hang fails the test.
pub async fn audit(scenario: Scenario, manifest: &str, options: &Options) -> Audit {
    // Boxed: gathering is a large future, and a test's future lives on its thread's stack.
    watchdog::within(
        options.deadline,
        "the audit (lab start included)",
        Box::pin(try_audit(scenario, manifest, options)),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// One finished audit: the facts it gathered and the report judged from them.
#[derive(Debug)]
pub struct Audit {
    pub facts: Facts,
    pub report: Report,
    /// Whether the lab had an IPv6 listener (the machine has IPv6 loopback).
    pub ipv6: bool,
}

/// Every active finding of `report`, one per `indent`ed line with its severity, title and evidence.
pub fn listing(report: &Report, indent: &str) -> String {
    let mut out = String::new();
    for f in report.active() {
        let _ = writeln!(
            out,
            "{indent}{} {} {:?}: {} {:?}",
            f.id, f.subject, f.severity, f.title, f.evidence
        );
    }
    if out.is_empty() {
        let _ = writeln!(out, "{indent}(no active findings)");
    }
    out
}

impl Audit {
    /// The findings not suppressed by the manifest.
    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.report.active()
    }

    /// Every active finding, one per line with its severity, title and evidence: what failure messages print.
    pub fn listing(&self) -> String {
        listing(&self.report, "  ")
    }

    /// The active finding `id` about `subject`, if any.
    pub fn find(&self, id: &str, subject: &str) -> Option<&Finding> {
        self.active().find(|f| f.id == id && f.subject == subject)
    }

    /// The active finding `id` about `subject`; fails the test (printing the report) without one.
    #[track_caller]
    pub fn get(&self, id: &str, subject: &str) -> &Finding {
        match self.find(id, subject) {
            Some(finding) => finding,
            None => panic!(
                "expected {id} about {subject}; active findings:\n{}",
                self.listing()
            ),
        }
    }

    /// The active finding `id` about `subject`, which must have `severity`.
    #[track_caller]
    pub fn expect(&self, id: &str, subject: &str, severity: Severity) -> &Finding {
        let finding = self.get(id, subject);
        assert_eq!(
            finding.severity,
            severity,
            "{id} about {subject} has the wrong severity; active findings:\n{}",
            self.listing()
        );
        finding
    }

    /// Active findings a [`Pattern`] matches.
    pub fn matching<'a>(&'a self, pattern: &'a str) -> impl Iterator<Item = &'a Finding> {
        let pattern = Pattern::parse(pattern);
        self.active().filter(move |f| pattern.matches(f))
    }

    /// Fails the test (printing the report) if any active finding matches `pattern` (see [`Pattern`]).
    #[track_caller]
    pub fn forbid(&self, pattern: &str) {
        let hits: Vec<String> = self
            .matching(pattern)
            .map(|f| format!("{} {}", f.id, f.subject))
            .collect();
        assert!(
            hits.is_empty(),
            "no finding may match {pattern:?}, found {hits:?}; active findings:\n{}",
            self.listing()
        );
    }

    /// Every `expect` entry is active with its severity, and nothing matches a `forbid` pattern.
    #[track_caller]
    pub fn check(&self, expect: &[Expected<'_>], forbid: &[&str]) {
        let missing: Vec<String> = expect
            .iter()
            .filter(|(id, subject, severity)| {
                self.find(id, subject)
                    .is_none_or(|f| f.severity != *severity)
            })
            .map(|(id, subject, severity)| match self.find(id, subject) {
                Some(f) => format!("{id} on {subject} ({severity:?}, is {:?})", f.severity),
                None => format!("{id} on {subject} ({severity:?})"),
            })
            .collect();
        assert!(
            missing.is_empty(),
            "missing: {missing:?}; active findings:\n{}",
            self.listing()
        );
        for pattern in forbid {
            self.forbid(pattern);
        }
    }

    /// Active findings whose id starts with one of `prefixes`, as `(id, subject, severity)`.
    pub fn in_families(&self, prefixes: &[&str]) -> Vec<Expected<'_>> {
        self.active()
            .filter(|f| prefixes.iter().any(|p| f.id.starts_with(p)))
            .map(|f| (f.id.as_str(), f.subject.as_str(), f.severity))
            .collect()
    }

    /// Among the findings of `prefixes`, exactly `expected` fire, beyond the `baseline` the unchanged scenario
    /// already has (a baseline entry that is also expected must fire).
    #[track_caller]
    pub fn check_exactly(
        &self,
        prefixes: &[&str],
        baseline: &[Expected<'_>],
        expected: &[Expected<'_>],
    ) {
        for (id, subject, severity) in expected {
            self.expect(id, subject, *severity);
        }
        let by_name = |a: &Expected<'_>, b: &Expected<'_>| (a.0, a.1).cmp(&(b.0, b.1));
        let mut found: Vec<Expected<'_>> = self
            .in_families(prefixes)
            .into_iter()
            .filter(|f| expected.contains(f) || !baseline.contains(f))
            .collect();
        found.sort_by(by_name);
        let mut wanted = expected.to_vec();
        wanted.sort_by(by_name);
        assert_eq!(
            found,
            wanted,
            "the change must produce exactly the expected findings; active findings:\n{}",
            self.listing()
        );
    }

    /// The redirect chain that starts at `start`.
    #[track_caller]
    pub fn chain(&self, start: &str) -> &ChainFacts {
        match self.facts.chains.iter().find(|c| c.start == start) {
            Some(chain) => chain,
            None => panic!("no chain starts at {start}"),
        }
    }

    /// The URLs of the chain that starts at `start`, hop by hop.
    #[track_caller]
    pub fn hop_urls(&self, start: &str) -> Vec<&str> {
        self.chain(start)
            .hops
            .iter()
            .map(|h| h.url.as_str())
            .collect()
    }

    /// The facts gathered about host `name`.
    #[track_caller]
    pub fn host(&self, name: &str) -> &HostFacts {
        match self.facts.hosts.iter().find(|h| h.name == name) {
            Some(host) => host,
            None => panic!("no facts about host {name}"),
        }
    }
}

/// Which findings a `forbid` entry names: `"ID"` or `"ID SUBJECT"`, where an ID ending in `*` is a prefix
/// (`"cookie.*"` is every cookie finding) and a missing subject matches any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pattern<'a> {
    id: &'a str,
    prefix: bool,
    subject: Option<&'a str>,
}

impl<'a> Pattern<'a> {
    pub fn parse(pattern: &'a str) -> Self {
        let (id, subject) = match pattern.trim().split_once(' ') {
            Some((id, subject)) => (id, Some(subject.trim())),
            None => (pattern.trim(), None),
        };
        match id.strip_suffix('*') {
            Some(prefix) => Pattern {
                id: prefix,
                prefix: true,
                subject,
            },
            None => Pattern {
                id,
                prefix: false,
                subject,
            },
        }
    }

    pub fn matches(&self, finding: &Finding) -> bool {
        let id = if self.prefix {
            finding.id.starts_with(self.id)
        } else {
            finding.id == self.id
        };
        id && self.subject.is_none_or(|s| finding.subject == s)
    }
}

/// One lab case: a scenario, a manifest and the run's options, built up from a known-good site and changed in
/// one place.
#[derive(Debug)]
pub struct Case {
    pub scenario: Scenario,
    pub manifest: String,
    pub options: Options,
}

impl Case {
    pub fn new(scenario: Scenario, manifest: impl Into<String>) -> Self {
        Case {
            scenario,
            manifest: manifest.into(),
            options: Options::default(),
        }
    }

    /// `scenarios::clean()` with its manifest.
    pub fn clean() -> Self {
        Case::new(scenarios::clean(), scenarios::CLEAN_MANIFEST)
    }

    /// `scenarios::demo()` (the flawed demo site) with its manifest.
    pub fn demo() -> Self {
        Case::new(scenarios::demo(), scenarios::DEMO_MANIFEST)
    }

    /// `scenarios::edge()` (the clean site behind a Cloudflare-like edge) with its manifest.
    pub fn edge() -> Self {
        Case::new(scenarios::edge(), scenarios::EDGE_MANIFEST)
    }

    /// `scenarios::mail()` (one domain per email flaw) with its manifest; the landing page is loaded once.
    pub fn mail() -> Self {
        Case::new(scenarios::mail(), scenarios::MAIL_MANIFEST).samples(0)
    }

    /// Changes the scenario.
    pub fn tweak(mut self, tweak: impl FnOnce(&mut Scenario)) -> Self {
        tweak(&mut self.scenario);
        self
    }

    /// Replaces the first `from` in the manifest, which must occur in it.
    #[track_caller]
    pub fn manifest_edit(mut self, from: &str, to: &str) -> Self {
        assert!(
            self.manifest.contains(from),
            "the manifest has no {from:?}:\n{}",
            self.manifest
        );
        self.manifest = self.manifest.replacen(from, to, 1);
        self
    }

    /// Appends TOML (tables, or keys of the last table) to the manifest.
    pub fn manifest_plus(mut self, extra: &str) -> Self {
        if !self.manifest.ends_with('\n') {
            self.manifest.push('\n');
        }
        self.manifest.push_str(extra);
        self
    }

    /// A `--connect-to` rule placed before the lab's own.
    pub fn rule_first(mut self, rule: impl Into<String>) -> Self {
        self.options.rules_first.push(rule.into());
        self
    }

    /// The per-operation network timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = timeout;
        self
    }

    /// `--links` URLs.
    pub fn links(mut self, links: &[&str]) -> Self {
        self.options.links = links.iter().map(|l| l.to_string()).collect();
        self
    }

    /// How often the landing page is loaded for speed figures.
    pub fn samples(mut self, samples: usize) -> Self {
        self.options.landing_samples = Some(samples);
        self
    }

    /// Any other option.
    pub fn with(mut self, edit: impl FnOnce(&mut Options)) -> Self {
        edit(&mut self.options);
        self
    }

    /// Runs the audit (within the deadline).
    pub async fn run(self) -> Audit {
        audit(self.scenario, &self.manifest, &self.options).await
    }

    /// Runs the audit and checks it: every `expect` entry fires with its severity and no active finding
    /// matches a `forbid` pattern (see [`Pattern`]). Returns the audit for further checks.
    pub async fn check(self, expect: &[Expected<'_>], forbid: &[&str]) -> Audit {
        let audit = self.run().await;
        audit.check(expect, forbid);
        audit
    }
}

/// The data-driven lab test: `scenarios::clean()` changed by `tweak` must report every `expect` entry and nothing
/// matching a `forbid` pattern; failures print the whole report.
pub async fn check(
    tweak: impl FnOnce(&mut Scenario),
    expect: &[Expected<'_>],
    forbid: &[&str],
) -> Audit {
    Case::clean().tweak(tweak).check(expect, forbid).await
}

/// A loopback port nothing listens on (bound, read, released).
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("binding a loopback port: {e}"))
}

/// Whether this machine has IPv6 loopback (the lab then has an IPv6 listener).
pub fn has_ipv6_loopback() -> bool {
    std::net::TcpListener::bind((std::net::Ipv6Addr::LOCALHOST, 0)).is_ok()
}

/// A redirect page (any status) to `location`, taken verbatim.
pub fn moved(status: u16, location: &str) -> Page {
    Page::html(status, "").header("location", location)
}

/// Asserts that some evidence line of `finding` contains `text`, ignoring case.
#[track_caller]
pub fn evidence_mentions(finding: &Finding, text: &str) {
    assert!(
        finding
            .evidence
            .iter()
            .any(|e| e.to_ascii_lowercase().contains(&text.to_ascii_lowercase())),
        "{} evidence does not mention {text:?}: {:?}",
        finding.id,
        finding.evidence
    );
}

/// Changing a scenario in one place, for case tweaks. Every lookup fails the test when the name is unknown.
pub trait Edit {
    /// The site serving `host`.
    fn site_named(&mut self, host: &str) -> &mut Site;
    /// The zone with this origin.
    fn zone_named(&mut self, origin: &str) -> &mut Zone;
    /// Rebuilds the zone `origin` through its builder methods.
    fn edit_zone(&mut self, origin: &str, edit: impl FnOnce(Zone) -> Zone);
    /// Drops the records at `name` (relative to `origin`) whose data matches.
    fn remove_records(&mut self, origin: &str, name: &str, matches: impl Fn(&RecordData) -> bool);
    /// Adds or replaces an HTTPS page of `host`.
    fn set_page(&mut self, host: &str, path: &str, page: Page);
    /// Adds or replaces a plain-HTTP page of `host`.
    fn set_http_page(&mut self, host: &str, path: &str, page: Page);
    /// Removes an HTTPS page of `host`.
    fn remove_page(&mut self, host: &str, path: &str);
    /// Rewrites the body of an HTTPS page; `from` must occur in it.
    fn replace_in_page(&mut self, host: &str, path: &str, from: &str, to: &str);
}

fn https_pages<'a>(scenario: &'a mut Scenario, host: &str) -> &'a mut Vec<(String, Page)> {
    match &mut scenario.site_named(host).https {
        Handler::Pages(pages) => pages,
        other => panic!("{host} does not serve pages over https: {other:?}"),
    }
}

impl Edit for Scenario {
    #[track_caller]
    fn site_named(&mut self, host: &str) -> &mut Site {
        match self.site_mut(host) {
            Some(site) => site,
            None => panic!("no site {host}"),
        }
    }

    #[track_caller]
    fn zone_named(&mut self, origin: &str) -> &mut Zone {
        match self.zone_mut(origin) {
            Some(zone) => zone,
            None => panic!("no zone {origin}"),
        }
    }

    fn edit_zone(&mut self, origin: &str, edit: impl FnOnce(Zone) -> Zone) {
        let zone = self.zone_named(origin);
        let old = std::mem::replace(zone, Zone::new(origin));
        *zone = edit(old);
    }

    fn remove_records(&mut self, origin: &str, name: &str, matches: impl Fn(&RecordData) -> bool) {
        let zone = self.zone_named(origin);
        let name = zone.qualify(name);
        zone.records
            .retain(|r| !(r.name == name && matches(&r.data)));
    }

    fn set_page(&mut self, host: &str, path: &str, page: Page) {
        let site = self.site_named(host);
        site.https = std::mem::replace(&mut site.https, Handler::Close).with_page(path, page);
    }

    fn set_http_page(&mut self, host: &str, path: &str, page: Page) {
        let site = self.site_named(host);
        site.http = std::mem::replace(&mut site.http, Handler::Close).with_page(path, page);
    }

    fn remove_page(&mut self, host: &str, path: &str) {
        https_pages(self, host).retain(|(p, _)| p != path);
    }

    #[track_caller]
    fn replace_in_page(&mut self, host: &str, path: &str, from: &str, to: &str) {
        let page = match https_pages(self, host).iter_mut().find(|(p, _)| p == path) {
            Some((_, page)) => page,
            None => panic!("no page {path} on {host}"),
        };
        assert!(page.body.contains(from), "{host}{path} has no {from:?}");
        page.body = page.body.replace(from, to);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use launchready_findings::Stage;

    fn finding(id: &str, subject: &str) -> Finding {
        Finding::new(id, Stage::DnsRouting, Severity::High, subject, "title")
    }

    #[test]
    fn patterns_match_ids_prefixes_and_subjects() {
        let f = finding("cookie.secure.missing", "https://app.clean.test/account");
        assert!(Pattern::parse("cookie.secure.missing").matches(&f));
        assert!(Pattern::parse("cookie.*").matches(&f));
        assert!(Pattern::parse("cookie.* https://app.clean.test/account").matches(&f));
        assert!(!Pattern::parse("cookie.* https://www.clean.test/").matches(&f));
        assert!(!Pattern::parse("cookie.secure").matches(&f));
        assert!(!Pattern::parse("cache.*").matches(&f));
    }
}
