//! Gathering: runs the plan's lookups and redirect chains concurrently through the net layer and assembles the
//! facts snapshot. The only part of the audit that touches the network.

use crate::gather_mail::gather_email;
use crate::plan::{Plan, PlannedChain, plan};
use futures::future::join_all;
use launchready_findings::facts::{
    AssetFacts, CanonicalSource, ChainEnd, ChainFacts, ChainPurpose, DnsOutcome,
    FACTS_SCHEMA_VERSION, Facts, HopFacts, HostFacts, LandingFacts, LandingSample, OriginFacts,
    RateLimitFacts, UserAgents, ZoneFacts,
};
use launchready_manifest::{Manifest, RouteKind};
use launchready_net::{Net, RecordType};
use url::Url;

/// Checks that the nameservers answer and gathers, at the same time: the preflight costs no extra round trip on
/// the critical path, and an unreachable resolver still ends the audit as soon as it is known.
pub async fn gather_checked(
    manifest: &Manifest,
    net: &Net,
    options: &GatherOptions<'_>,
) -> Result<Facts, launchready_net::NetError> {
    let check = net.check_resolvers(manifest.apex());
    let facts = gather(manifest, net, options);
    tokio::pin!(check, facts);
    tokio::select! {
        checked = &mut check => {
            checked?;
            Ok(facts.await)
        }
        gathered = &mut facts => {
            check.await?;
            Ok(gathered)
        }
    }
}

/// What a run adds to the manifest: extra old URLs to check (`--links`) and a progress callback.
pub struct GatherOptions<'a> {
    /// Old campaign URLs that must still land on a page in at most one redirect.
    pub links: Vec<Url>,
    /// Called once per redirect chain finished, from any task: drive a progress bar with it.
    pub on_chain_done: Option<&'a (dyn Fn() + Sync)>,
    /// How many times to load the landing page (with its render-blocking assets) for the speed figures.
    pub landing_samples: usize,
    /// Opt-in: a bounded burst to each login, signup and checkout route, to see whether anything limits it.
    pub rate_limit: Option<RateLimitProbe>,
    /// Opt-in: connect to each MX on port 25 and check STARTTLS.
    pub smtp: bool,
}

/// How many requests a rate-limit probe sends to each route, spread evenly over how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitProbe {
    pub requests: u32,
    pub window: std::time::Duration,
}

impl Default for RateLimitProbe {
    fn default() -> Self {
        RateLimitProbe {
            requests: 30,
            window: std::time::Duration::from_secs(3),
        }
    }
}

/// The URLs a rate-limit probe would send to: every login, signup and checkout route.
pub fn rate_limit_targets(manifest: &Manifest) -> Vec<Url> {
    let scheme = manifest.site.canonical_url.scheme();
    manifest
        .routes
        .iter()
        .filter(|r| {
            matches!(
                r.kind,
                RouteKind::Login | RouteKind::Signup | RouteKind::Checkout
            )
        })
        .filter_map(|r| Url::parse(&format!("{scheme}://{}{}", r.host, r.path)).ok())
        .collect()
}

impl Default for GatherOptions<'_> {
    fn default() -> Self {
        GatherOptions {
            links: Vec::new(),
            on_chain_done: None,
            landing_samples: 5,
            rate_limit: None,
            smtp: false,
        }
    }
}

impl std::fmt::Debug for GatherOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatherOptions")
            .field("links", &self.links)
            .finish()
    }
}

/// How many redirect chains `gather` will follow: the length of a progress bar.
pub fn chain_count(manifest: &Manifest, options: &GatherOptions<'_>) -> usize {
    plan(manifest, &options.links).chains.len()
}

/// Probes everything the manifest names. Independent work runs at once; the net layer bounds concurrency.
pub async fn gather(manifest: &Manifest, net: &Net, options: &GatherOptions<'_>) -> Facts {
    let now = time::OffsetDateTime::now_utc();
    let plan = plan(manifest, &options.links);
    let nothing = || {};
    let on_chain_done = options.on_chain_done.unwrap_or(&nothing);
    let (hosts, (chains, mobile_chains), zone, origin, landing, rate_limit, email) = tokio::join!(
        lookup_hosts(&plan, net),
        async {
            tokio::join!(
                follow_chains(&plan, net, on_chain_done),
                follow_mobile(&plan, net)
            )
        },
        net.zone_facts(manifest.apex()),
        probe_origin(manifest, net),
        landing(manifest, net, options.landing_samples, plan.max_hops),
        probe_rate_limits(manifest, net, options.rate_limit),
        gather_email(manifest, net, options.smtp)
    );
    let critical_path_round_trips = critical_path(
        &hosts,
        &chains,
        &zone,
        landing.as_ref(),
        &manifest.site.canonical_url,
    );
    let (canonical_url, canonical_source) = if manifest.site.canonical_declared {
        (
            manifest.site.canonical_url.to_string(),
            CanonicalSource::Declared,
        )
    } else {
        match infer_canonical(manifest.apex(), &chains) {
            Some((url, from)) => (url, CanonicalSource::Inferred { from }),
            None => (
                manifest.site.canonical_url.to_string(),
                CanonicalSource::Default,
            ),
        }
    };
    Facts {
        schema_version: FACTS_SCHEMA_VERSION,
        domain: manifest.apex().to_string(),
        canonical_url,
        canonical_source,
        user_agents: Some(UserAgents {
            desktop: net.config().user_agent.clone(),
            mobile: net.config().mobile_user_agent.clone(),
        }),
        gathered_at: now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| now.unix_timestamp().to_string()),
        gathered_at_unix: now.unix_timestamp(),
        resolvers: net.resolver_names(),
        hosts,
        chains,
        mobile_chains,
        zone,
        origin,
        landing,
        rate_limit,
        email: Some(email),
        critical_path_round_trips,
    }
}

/// Assets the landing page loads, looked at for caching and compression.
const MAX_ASSETS: usize = 20;

/// Loads the canonical page, then at once: each asset twice in a row (the second answer shows whether the edge
/// cached it), and `samples` timed loads of the page with its render-blocking CSS and JS. Samples run side by
/// side, as a browser's parallel connections do, so they add two round trips rather than 2 × samples.
async fn landing(
    manifest: &Manifest,
    net: &Net,
    samples: usize,
    max_hops: u32,
) -> Option<LandingFacts> {
    let (hops, _) = net.follow(&manifest.site.canonical_url, max_hops).await;
    let page = hops.last()?;
    let base = Url::parse(&page.url).ok()?;
    let body = page
        .body
        .as_deref()
        .filter(|_| page.status.is_some_and(|s| (200..300).contains(&s)))?;
    let found = crate::html::assets(body, &base, MAX_ASSETS);
    let assets = join_all(found.iter().map(|asset| async move {
        let first = net.fetch(&asset.url).await;
        let second = match first.status {
            Some(_) => Some(net.fetch(&asset.url).await),
            None => None,
        };
        AssetFacts {
            url: asset.url.to_string(),
            kind: asset.kind.to_string(),
            critical: asset.critical,
            first,
            second,
        }
    }));
    let critical: Vec<&Url> = found
        .iter()
        .filter(|a| a.critical)
        .map(|a| &a.url)
        .collect();
    let timed = join_all((0..samples).map(|_| async {
        let page = net.fetch(&base).await;
        let first_byte_ms = page.timings.first_byte_ms?;
        let blocking = join_all(critical.iter().map(|url| net.fetch(url))).await;
        let slowest = blocking
            .iter()
            .map(|hop| hop.timings.total_ms)
            .fold(0.0, f64::max);
        Some(LandingSample {
            first_byte_ms,
            total_ms: page.timings.total_ms + slowest,
        })
    }));
    let (assets, timed) = tokio::join!(assets, timed);
    Some(LandingFacts {
        url: page.url.clone(),
        assets,
        samples: timed.into_iter().flatten().collect(),
    })
}

/// Sends each target its burst, all targets at once; within a target, requests go out on a fixed schedule so
/// the rate is what was announced, whatever the responses.
async fn probe_rate_limits(
    manifest: &Manifest,
    net: &Net,
    probe: Option<RateLimitProbe>,
) -> Vec<RateLimitFacts> {
    let Some(probe) = probe.filter(|p| p.requests > 0) else {
        return Vec::new();
    };
    let targets = rate_limit_targets(manifest);
    let interval = probe.window / probe.requests;
    join_all(targets.iter().map(|url| async move {
        let start = tokio::time::Instant::now();
        let sends = (0..probe.requests).map(|i| async move {
            tokio::time::sleep_until(start + interval * i).await;
            net.fetch(url).await
        });
        let hops = join_all(sends).await;
        let limited = hops.iter().any(|hop| {
            hop.status == Some(429)
                || hop
                    .header("cf-mitigated")
                    .is_some_and(|v| v.eq_ignore_ascii_case("challenge"))
                || (hop.status == Some(503) && hop.header("retry-after").is_some())
        });
        RateLimitFacts {
            url: url.to_string(),
            window_ms: u64::try_from(probe.window.as_millis()).unwrap_or(u64::MAX),
            statuses: hops.iter().map(|h| h.status.unwrap_or(0)).collect(),
            limited,
        }
    }))
    .await
}

/// Asks the origin named in `[edge] origin` for the canonical host directly, over https and http.
async fn probe_origin(manifest: &Manifest, net: &Net) -> Option<OriginFacts> {
    let address = manifest.edge.origin?;
    let host = manifest.canonical_host();
    let https = Url::parse(&format!("https://{host}/")).ok()?;
    let http = Url::parse(&format!("http://{host}/")).ok()?;
    let (https, http) = tokio::join!(net.fetch_at(&https, address), net.fetch_at(&http, address));
    Some(OriginFacts {
        address: address.to_string(),
        https,
        http,
    })
}

async fn lookup_hosts(plan: &Plan, net: &Net) -> Vec<HostFacts> {
    join_all(plan.hosts.iter().map(|host| async move {
        let (dns, caa) = tokio::join!(
            net.lookup_host(&host.name),
            net.records_text(&host.name, RecordType::CAA)
        );
        // Browsers prefer IPv6: an AAAA record whose server does not serve the site fails for those visitors.
        let ipv6_probe = match (
            dns.addresses.iter().find(|ip| ip.is_ipv6()),
            Url::parse(&format!("https://{}/", host.name)),
        ) {
            (Some(v6), Ok(url)) => Some(net.fetch_at(&url, *v6).await),
            _ => None,
        };
        // Only where https is served at all; the probe is two small handshakes that stop at the ServerHello.
        let legacy_tls = if dns.outcome == DnsOutcome::Resolved {
            net.probe_legacy_tls(&host.name).await
        } else {
            Vec::new()
        };
        HostFacts {
            name: host.name.clone(),
            role: host.role,
            expected_destination: host.expected_destination.clone(),
            dns,
            caa: caa.unwrap_or_default(),
            legacy_tls,
            ipv6_probe,
        }
    }))
    .await
}

async fn follow_chains(
    plan: &Plan,
    net: &Net,
    on_chain_done: &(dyn Fn() + Sync),
) -> Vec<ChainFacts> {
    follow_each(plan, net, plan.chains.iter(), None, on_chain_done).await
}

/// The entry points and legacy links once more, as a phone's browser: where mobile visitors land.
async fn follow_mobile(plan: &Plan, net: &Net) -> Vec<ChainFacts> {
    let compared = plan.chains.iter().filter(|c| {
        matches!(
            c.purpose,
            ChainPurpose::EntryPoint | ChainPurpose::LegacyLink
        )
    });
    let mobile = net.config().mobile_user_agent.as_str();
    follow_each(plan, net, compared, Some(mobile), &|| {}).await
}

/// Follows each planned chain at once, with the given `User-Agent` (the configured one when `None`).
async fn follow_each<'a>(
    plan: &Plan,
    net: &Net,
    chains: impl Iterator<Item = &'a PlannedChain>,
    user_agent: Option<&str>,
    on_chain_done: &(dyn Fn() + Sync),
) -> Vec<ChainFacts> {
    join_all(chains.map(|chain| async move {
        let (hops, end) = net.follow_as(&chain.start, plan.max_hops, user_agent).await;
        on_chain_done();
        ChainFacts {
            start: chain.start.to_string(),
            purpose: chain.purpose,
            label: chain.label.clone(),
            hops,
            end,
        }
    }))
    .await
}

/// The canonical URL a site shows when the manifest does not name one: where every apex and www entry point
/// that loaded ended, if they all ended on one https URL of the apex or www host. `None` when they disagree
/// (that is the canonical-consistency rule's finding) or nothing loaded. Pure, so it is unit-tested.
pub fn infer_canonical(apex: &str, chains: &[ChainFacts]) -> Option<(String, Vec<String>)> {
    let www = format!("www.{apex}");
    let mut end: Option<Url> = None;
    let mut from = Vec::new();
    for chain in chains
        .iter()
        .filter(|c| c.purpose == ChainPurpose::EntryPoint)
    {
        let Some(start_host) = Url::parse(&chain.start)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        else {
            continue;
        };
        if start_host != apex && start_host != www {
            continue;
        }
        let Some(last) = chain.hops.last().filter(|_| chain.end == ChainEnd::Final) else {
            continue;
        };
        if !last.status.is_some_and(|s| (200..300).contains(&s)) {
            continue;
        }
        let landed = Url::parse(&last.url).ok()?;
        let host = landed.host_str().map(str::to_ascii_lowercase);
        if landed.scheme() != "https"
            || !(host.as_deref() == Some(apex) || host == Some(www.clone()))
        {
            return None;
        }
        let origin = Url::parse(&format!("https://{}/", host.unwrap_or_default())).ok()?;
        match &end {
            Some(seen) if *seen != origin => return None,
            _ => end = Some(origin),
        }
        from.push(format!("{} → {}", chain.start, last.url));
    }
    end.map(|url| (url.to_string(), from))
}

/// Round trips that carry network latency (a DNS answer or an HTTP response) along the longest dependent
/// sequence. Host lookups are one round trip each (A and AAAA go out together) and run beside the chains; a
/// chain pays one per hop plus one per lookup its client had to make.
fn critical_path(
    hosts: &[HostFacts],
    chains: &[ChainFacts],
    zone: &ZoneFacts,
    landing: Option<&LandingFacts>,
    canonical: &Url,
) -> u32 {
    // The canonical page again, then assets twice in a row, or a sample's page then its blocking assets.
    let landing = landing.map_or(0, |landing| {
        let page = chains
            .iter()
            .find(|c| c.start == canonical.as_str())
            .map_or(1, |c| u32::try_from(c.hops.len()).unwrap_or(u32::MAX));
        let after = if !landing.assets.is_empty() {
            2
        } else {
            u32::from(!landing.samples.is_empty())
        };
        page + after
    });
    // The NS query, then each nameserver's SOA (after looking up its address, where needed).
    let delegation = 1 + zone
        .nameservers
        .iter()
        .map(|ns| 1 + u32::from(ns.looked_up))
        .max()
        .unwrap_or(0);
    let hop_cost =
        |hop: &HopFacts| u32::from(hop.status.is_some()) + u32::from(hop.timings.dns_ms.is_some());
    // A host whose address lookup failed also walked its CNAMEs, one query per link plus the last.
    let dns = hosts
        .iter()
        .map(|h| match h.dns.outcome {
            DnsOutcome::Resolved => 1 + h.ipv6_probe.as_ref().map_or(0, hop_cost),
            _ => 2 + u32::try_from(h.dns.cname_chain.len()).unwrap_or(u32::MAX),
        })
        .max()
        .unwrap_or(0);
    chains
        .iter()
        .map(|chain| chain.hops.iter().map(hop_cost).sum())
        .max()
        .unwrap_or(0)
        .max(dns)
        .max(delegation)
        .max(landing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(start: &str, end_url: &str, status: u16) -> ChainFacts {
        let mut hop: HopFacts = serde_json::from_value(serde_json::json!({
            "url": end_url, "connected_to": null, "status": status, "location": null,
            "headers": [], "timings": {"total_ms": 1.0}, "tls": null, "error": null
        }))
        .unwrap();
        hop.url = end_url.to_string();
        ChainFacts {
            start: start.to_string(),
            purpose: ChainPurpose::EntryPoint,
            label: None,
            hops: vec![hop],
            end: ChainEnd::Final,
        }
    }

    #[test]
    fn the_canonical_is_where_every_entry_point_lands() {
        let apex = "https://demo.test/";
        let chains = [
            chain("http://demo.test/", apex, 200),
            chain("https://demo.test/", apex, 200),
            chain("http://www.demo.test/", "https://demo.test/?from=www", 200),
            chain("https://www.demo.test/", apex, 200),
        ];
        let (url, from) = infer_canonical("demo.test", &chains).unwrap();
        assert_eq!(url, apex);
        assert_eq!(from.len(), 4);
        assert!(from[0].starts_with("http://demo.test/ → "));
    }

    #[test]
    fn no_canonical_is_inferred_from_disagreement_plain_http_or_another_host() {
        let disagree = [
            chain("http://demo.test/", "https://demo.test/", 200),
            chain("https://www.demo.test/", "https://www.demo.test/", 200),
        ];
        assert_eq!(infer_canonical("demo.test", &disagree), None);
        let plain = [chain("http://demo.test/", "http://demo.test/", 200)];
        assert_eq!(infer_canonical("demo.test", &plain), None);
        let elsewhere = [chain("http://demo.test/", "https://shop.example/", 200)];
        assert_eq!(infer_canonical("demo.test", &elsewhere), None);
        let broken = [chain("http://demo.test/", "https://demo.test/", 500)];
        assert_eq!(infer_canonical("demo.test", &broken), None);
    }
}
