//! The DNS drift check against the lab's DNS server: a snapshot saved the way `launchready dns snapshot -o` saves
//! it, a manifest whose `[monitor] dns_snapshot` names it, and the planned `dns:` check run for real — up against
//! the zone as it was, down with the diff (which record set changed, was removed or added, and what it means)
//! once the zone is edited. The lab's zones are fixed at start, so "editing the zone" is a second lab serving the
//! edited zone, reached through the same resolver and `--connect-to` settings a user would change.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use launchready_dnsdoc::gather::{self, GatherOptions};
use launchready_dnsdoc::zone;
use launchready_lab::{Lab, RecordData, Scenario, Zone, scenarios};
use launchready_manifest::Manifest;
use launchready_monitor::checks::{self, CheckKind, JourneyContext};
use launchready_monitor::{default_rules, plan};
use launchready_net::{Net, NetConfig};
use launchready_testkit::lab as lab_harness;
use launchready_testkit::watchdog::within;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

const DOMAIN: &str = "shop.test";

/// A hurried edit: www moved off the CDN, the DKIM key deleted, a staging host added.
fn edited() -> Zone {
    let mut zone = scenarios::shop_zone();
    let removed = ["www.shop.test", "smtp._domainkey.shop.test"];
    zone.records.retain(|r| !removed.contains(&r.name.as_str()));
    zone.a("www", Ipv4Addr::new(203, 0, 113, 7)).add_ttl(
        "staging",
        300,
        RecordData::A(Ipv4Addr::new(198, 51, 100, 1)),
    )
}

fn manifest_text() -> String {
    format!(
        "[site]\ndomain = \"{DOMAIN}\"\nsubdomains = [\"staging\"]\n\n[email]\ndkim_selectors = [\"smtp\"]\n\n[monitor]\ndns_snapshot = \"before.zone\"\n"
    )
}

/// A net pointed at the lab as the flags would point it: its nameserver, its listeners and its CA.
fn net(lab: &Lab) -> Net {
    let options = lab_harness::Options {
        timeout: Duration::from_secs(5),
        ..lab_harness::Options::default()
    };
    lab_harness::net_for(lab, &options).unwrap()
}

/// What `launchready dns snapshot -o DIR/before.zone` writes: the zone file and its JSON sidecar.
async fn save_snapshot(lab: &Lab, manifest: &Manifest, dir: &Path) {
    let snapshot = gather::snapshot(&net(lab), manifest, &GatherOptions::default())
        .await
        .unwrap();
    std::fs::write(dir.join("before.zone"), zone::write(&snapshot)).unwrap();
    std::fs::write(dir.join("before.zone.json"), snapshot.to_json()).unwrap();
}

/// The lab serving the original zone, with the manifest and the snapshot saved next to it in a temp dir.
async fn snapshotted_lab() -> (tempfile::TempDir, Manifest, Lab) {
    let dir = tempfile::tempdir().unwrap();
    let manifest = Manifest::parse(&manifest_text(), &dir.path().join("launchready.toml")).unwrap();
    let lab = Lab::start(Scenario::new().zone(scenarios::shop_zone()))
        .await
        .unwrap();
    save_snapshot(&lab, &manifest, dir.path()).await;
    (dir, manifest, lab)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_zone_fails_the_drift_check_with_the_diff() {
    within(
        Duration::from_secs(120),
        "the drift check against the lab DNS",
        async {
            let (dir, manifest, lab) = snapshotted_lab().await;

            let planned = plan(&manifest);
            let check = planned.iter().find(|c| c.id == "dns:shop.test").unwrap();
            assert_eq!(
                check.kind,
                CheckKind::Dns {
                    domain: DOMAIN.into(),
                    snapshot: dir.path().join("before.zone"),
                }
            );
            let rules = default_rules(&planned, &[], "dns@shop.test");
            assert!(
                rules
                    .iter()
                    .any(|r| r.name == "DNS drifted" && r.checks == ["dns:shop.test"])
            );
            let flows = HashMap::new();
            let context = JourneyContext::default();

            let same = checks::run_with_steps(check, &net(&lab), &flows, &context, 1).await;
            assert_eq!(same.len(), 1);
            assert!(same[0].ok, "unchanged zone reported drift: {:#?}", same[0]);

            let edited_lab = Lab::start(Scenario::new().zone(edited())).await.unwrap();
            let drifted =
                checks::run_with_steps(check, &net(&edited_lab), &flows, &context, 2).await;
            let result = &drifted[0];
            assert!(!result.ok, "{result:#?}");
            assert_eq!(result.check, "dns:shop.test");
            assert_eq!(result.error_kind.as_deref(), Some("dns_drift"));
            let error = result.error.as_deref().unwrap();
            for says in [
                "DNS of shop.test drifted from the snapshot",
                "removed smtp._domainkey.shop.test TXT",
                "added staging.shop.test A (+198.51.100.1)",
                "removed www.shop.test CNAME (-shop.b-cdn.net.)",
                "added www.shop.test A (+203.0.113.7)",
            ] {
                assert!(error.contains(says), "expected `{says}` in: {error}");
            }
            // The context is the diff as `dns diff` prints it, with what each change means.
            let context_text = result.context.as_deref().unwrap();
            assert!(
                context_text.contains("no longer points at the CDN"),
                "{context_text}"
            );
            assert!(
                context_text.contains("DKIM key for selector smtp"),
                "{context_text}"
            );
            // The DMARC report address is personal data: masked wherever it would appear.
            assert!(!context_text.contains("dmarc@shop.test"), "{context_text}");

            // Back to the zone as it was: the check is up again.
            let back = checks::run_with_steps(check, &net(&lab), &flows, &context, 3).await;
            assert!(back[0].ok, "{:#?}", back[0]);
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_zone_is_a_down_result_not_a_drift() {
    within(
        Duration::from_secs(60),
        "the drift check with no DNS",
        async {
            let (_dir, manifest, _lab) = snapshotted_lab().await;
            let check = plan(&manifest)
                .into_iter()
                .find(|c| c.id == "dns:shop.test")
                .unwrap();
            // Nothing listens on port 9 (discard): no nameserver can be found.
            let nowhere = Net::new(NetConfig {
                resolvers: vec![([127, 0, 0, 1], 9).into()],
                timeout: Duration::from_secs(2),
                ..NetConfig::default()
            })
            .unwrap();
            let result = checks::run_with_steps(
                &check,
                &nowhere,
                &HashMap::new(),
                &JourneyContext::default(),
                1,
            )
            .await;
            assert!(!result[0].ok);
            assert_eq!(
                result[0].error_kind.as_deref(),
                Some("dns"),
                "{:#?}",
                result[0]
            );
            assert!(
                result[0]
                    .error
                    .as_deref()
                    .unwrap()
                    .contains("cannot find the nameservers of shop.test"),
                "{:#?}",
                result[0]
            );
        },
    )
    .await;
}
