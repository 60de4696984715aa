//! Gathering: runs the plan's lookups and redirect chains concurrently through the net layer and assembles the
//! facts snapshot. The only part of the audit that touches the network.

use crate::plan::{Plan, plan};
use futures::future::join_all;
use launchready_findings::facts::{ChainFacts, FACTS_SCHEMA_VERSION, Facts, HopFacts, HostFacts};
use launchready_manifest::Manifest;
use launchready_net::Net;

/// Checks that the nameservers answer and gathers, at the same time: the preflight costs no extra round trip on
/// the critical path, and an unreachable resolver still ends the audit as soon as it is known.
pub async fn gather_checked(
    manifest: &Manifest,
    net: &Net,
) -> Result<Facts, launchready_net::NetError> {
    let check = net.check_resolvers(manifest.apex());
    let facts = gather(manifest, net);
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

/// Probes everything the manifest names. Independent work runs at once; the net layer bounds concurrency.
pub async fn gather(manifest: &Manifest, net: &Net) -> Facts {
    let now = time::OffsetDateTime::now_utc();
    let plan = plan(manifest);
    let (hosts, chains) = tokio::join!(lookup_hosts(&plan, net), follow_chains(&plan, net));
    let critical_path_round_trips = critical_path(&hosts, &chains);
    Facts {
        schema_version: FACTS_SCHEMA_VERSION,
        domain: manifest.apex().to_string(),
        canonical_url: manifest.site.canonical_url.to_string(),
        gathered_at: now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| now.unix_timestamp().to_string()),
        gathered_at_unix: now.unix_timestamp(),
        resolvers: net.resolver_names(),
        hosts,
        chains,
        critical_path_round_trips,
    }
}

async fn lookup_hosts(plan: &Plan, net: &Net) -> Vec<HostFacts> {
    join_all(plan.hosts.iter().map(|host| async move {
        HostFacts {
            name: host.name.clone(),
            role: host.role,
            expected_destination: host.expected_destination.clone(),
            dns: net.lookup_host(&host.name).await,
        }
    }))
    .await
}

async fn follow_chains(plan: &Plan, net: &Net) -> Vec<ChainFacts> {
    join_all(plan.chains.iter().map(|chain| async move {
        let (hops, end) = net.follow(&chain.start, plan.max_hops).await;
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

/// Round trips that carry network latency (a DNS answer or an HTTP response) along the longest dependent
/// sequence. Host lookups are one round trip each (A and AAAA go out together) and run beside the chains; a
/// chain pays one per hop plus one per lookup its client had to make.
fn critical_path(hosts: &[HostFacts], chains: &[ChainFacts]) -> u32 {
    let dns = u32::from(!hosts.is_empty());
    let hop_cost =
        |hop: &HopFacts| u32::from(hop.status.is_some()) + u32::from(hop.timings.dns_ms.is_some());
    chains
        .iter()
        .map(|chain| chain.hops.iter().map(hop_cost).sum())
        .max()
        .unwrap_or(0)
        .max(dns)
}
