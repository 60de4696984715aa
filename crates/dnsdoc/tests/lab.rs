//! Snapshots of the lab DNS and of a real NSD: the lab refuses zone transfers, NSD allows them; the zone file
//! loads in named-checkzone; an edit in the lab shows up in the diff with its meaning, and the restore plan,
//! applied and served again, brings the zone back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use launchready_dnsdoc::diff::diff;
use launchready_dnsdoc::gather::{self, GatherOptions};
use launchready_dnsdoc::plan::{apply, restore_plan};
use launchready_dnsdoc::{Snapshot, zone};
use launchready_lab::{Lab, Record, RecordData, Scenario, Zone, scenarios};
use launchready_manifest::Manifest;
use launchready_net::{ConnectTo, Net, NetConfig};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::Duration;

const DOMAIN: &str = "shop.test";

/// The original after a hurried edit: www moved off the CDN, Mailgun dropped from SPF, the DKIM key deleted,
/// a TTL raised and a stray record added.
fn edited() -> Zone {
    let mut zone = scenarios::shop_zone();
    zone.records.retain(|r| {
        let name = r.name.as_str();
        !(name == "www.shop.test"
            || name == "smtp._domainkey.shop.test"
            || (name == "shop.test" && matches!(r.data, RecordData::Txt(_) | RecordData::A(_))))
    });
    zone.a("www", Ipv4Addr::new(203, 0, 113, 7))
        .add_ttl(
            "@",
            3600,
            RecordData::Txt("v=spf1 include:_spf.google.com -all".into()),
        )
        .add_ttl("@", 86_400, RecordData::A(Ipv4Addr::new(192, 0, 2, 10)))
        .a("staging", Ipv4Addr::new(198, 51, 100, 1))
}

fn scenario(zone: Zone) -> Scenario {
    Scenario::new().zone(zone)
}

fn manifest() -> Manifest {
    let text = format!(
        "[site]\ndomain = \"{DOMAIN}\"\nsubdomains = [\"app\", \"staging\"]\n\n[email]\ndkim_selectors = [\"smtp\"]\n"
    );
    Manifest::parse(&text, std::path::Path::new("launchready.toml")).expect("test manifest")
}

fn net(resolver: SocketAddr, connect_to: &[String]) -> Net {
    Net::new(NetConfig {
        resolvers: vec![resolver],
        connect_to: connect_to
            .iter()
            .map(|c| c.parse::<ConnectTo>().unwrap())
            .collect(),
        timeout: Duration::from_secs(5),
        ..NetConfig::default()
    })
    .unwrap()
}

async fn snapshot_lab(lab: &Lab) -> Snapshot {
    let net = net(lab.dns_addr(), &lab.connect_to_args());
    gather::snapshot(&net, &manifest(), &GatherOptions::default())
        .await
        .unwrap()
}

/// The snapshot's records as a lab zone again (what applying a plan to the provider would leave).
fn zone_of(snapshot: &Snapshot) -> Zone {
    let file = zone::write(snapshot);
    let mut zone = Zone::new(DOMAIN);
    for rec in &snapshot.records {
        let parts: Vec<&str> = rec.data.split_whitespace().collect();
        let data = match rec.rtype.as_str() {
            "A" => RecordData::A(rec.data.parse().unwrap()),
            "CNAME" => RecordData::Cname(rec.data.trim_end_matches('.').to_string()),
            "NS" => RecordData::Ns(rec.data.trim_end_matches('.').to_string()),
            "MX" => RecordData::Mx {
                preference: parts[0].parse().unwrap(),
                exchange: parts[1].trim_end_matches('.').to_string(),
            },
            "TXT" => RecordData::Txt(rec.txt_value()),
            "CAA" => RecordData::Caa {
                critical: false,
                tag: parts[1].to_string(),
                value: zone::txt_strings(parts[2]).concat(),
            },
            "SOA" => continue,
            other => panic!("unexpected {other} in\n{file}"),
        };
        zone = zone.record(Record::new(rec.name.clone(), rec.ttl, data));
    }
    zone
}

/// Asserts that the zone text holds each of `lines`.
fn contains_lines(text: &str, lines: &[&str]) {
    for line in lines {
        assert!(text.contains(line), "missing `{line}` in\n{text}");
    }
}

/// named-checkzone from bind9-utils; a skip outside CI, a failure under CI=true.
fn check_zone(text: &str) {
    let Some(program) =
        launchready_testkit::server::locate("named-checkzone", "bind9-utils").unwrap()
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zone");
    std::fs::write(&file, text).unwrap();
    let out = Command::new(program)
        .arg(DOMAIN)
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "named-checkzone refused the snapshot:\n{stdout}{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("OK"), "{stdout}");
}

#[tokio::test]
async fn snapshot_edit_diff_restore_round_trip_through_the_lab() {
    launchready_testkit::watchdog::within(Duration::from_secs(120), "the DNS round trip", async {
        let lab = Lab::start(scenario(scenarios::shop_zone())).await.unwrap();
        let before = snapshot_lab(&lab).await;

        // The lab refuses transfers, as most providers do: the snapshot says so and asks name by name.
        let axfr: Vec<_> = before.sources.iter().filter(|s| s.kind == "axfr").collect();
        assert_eq!(axfr.len(), 2, "{:?}", before.sources);
        assert!(
            axfr.iter().all(|s| !s.ok && s.outcome.contains("refused")),
            "{axfr:?}"
        );
        assert!(
            before.unseen.iter().any(|u| u.contains("zone transfer")),
            "{:?}",
            before.unseen
        );
        assert!(!before.coverage.complete);
        let text = zone::write(&before);
        contains_lines(
            &text,
            &[
                "@ 300 IN A 192.0.2.10",
                "www 300 IN CNAME shop.b-cdn.net.",
                "@ 300 IN MX 10 mx.shop.test.",
                "mx 300 IN A 192.0.2.25",
                "@ 300 IN CAA 0 issue \"letsencrypt.org\"",
                "smtp._domainkey 300 IN TXT",
                "ns1 300 IN A 127.0.0.1",
            ],
        );
        assert!(text.starts_with("; DNS snapshot of shop.test"), "{text}");
        assert!(text.contains("refused (REFUSED)"), "{text}");
        check_zone(&text);
        // The zone file alone reads back to the same records.
        assert_eq!(zone::parse(&text).unwrap().records, before.records);

        let edited_lab = Lab::start(scenario(edited())).await.unwrap();
        let after = snapshot_lab(&edited_lab).await;
        let changes = diff(&before, &after);
        let meanings: Vec<&str> = changes
            .changes
            .iter()
            .flat_map(|c| c.meanings.iter().map(String::as_str))
            .collect();
        let expect = |needle: &str| {
            assert!(
                meanings.iter().any(|m| m.contains(needle)),
                "no meaning with `{needle}` in {meanings:#?}"
            );
        };
        expect("www no longer points at the CDN (Bunny CDN)");
        expect("SPF lost include:mailgun.org — mail from Mailgun will fail SPF");
        expect("DKIM key for selector smtp removed");
        expect("raised from 300s to 86400s");
        expect("staging.shop.test now resolves to 198.51.100.1");
        assert!(!changes.is_empty());

        let plan = restore_plan(&before, &after);
        let titles: Vec<&str> = plan.steps.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Lower the TTL of every record set about to change",
                "Put back the record sets that are missing",
                "Change the record sets back",
                "Restore the snapshot's TTLs",
                "Remove the record sets added since the snapshot",
            ]
        );
        assert_eq!(plan.steps[0].wait_seconds, Some(3600), "{plan:#?}");
        // www's A goes in the same step as its CNAME comes back, before it.
        let put_back: Vec<(&str, &str)> = plan.steps[1]
            .actions
            .iter()
            .map(|a| (a.name.as_str(), a.rtype.as_str()))
            .collect();
        assert!(
            put_back
                .windows(2)
                .any(|w| w == [("www.shop.test", "A"), ("www.shop.test", "CNAME")]),
            "{put_back:?}"
        );
        let restored = apply(&plan, &after);
        assert!(
            diff(&before, &restored).is_empty(),
            "{:#?}",
            diff(&before, &restored)
        );

        // Served again, the restored zone snapshots the same as the original.
        let restored_lab = Lab::start(scenario(zone_of(&restored))).await.unwrap();
        let again = snapshot_lab(&restored_lab).await;
        let left = diff(&before, &again);
        assert!(left.is_empty(), "{left:#?}");
    })
    .await;
}

#[tokio::test]
async fn nsd_allows_the_transfer_and_it_matches_the_name_by_name_snapshot() {
    launchready_testkit::watchdog::within(Duration::from_secs(120), "the DNS round trip", async {
        let scenario = scenario(scenarios::shop_zone());
        let Some(nsd) = launchready_testkit::server::nsd::Nsd::start(&scenario).unwrap() else {
            return;
        };
        let net = net(nsd.addr(), &[nsd.connect_to()]);
        let full = gather::snapshot(&net, &manifest(), &GatherOptions::default())
            .await
            .unwrap();
        assert!(full.coverage.complete, "{:?}", full.sources);
        assert!(
            full.sources.iter().any(|s| s.kind == "axfr" && s.ok),
            "{:?}",
            full.sources
        );
        let text = zone::write(&full);
        assert!(text.contains("; coverage: complete"), "{text}");
        check_zone(&text);

        let lab = Lab::start(scenario.clone()).await.unwrap();
        let by_name = snapshot_lab(&lab).await;
        let compared = diff(&full, &by_name);
        assert!(compared.is_empty(), "{compared:#?}");
        // Only the names the manifest does not know stay out of the comparison, and they are counted.
        assert!(
            compared.not_compared.is_empty()
                || compared
                    .not_compared
                    .iter()
                    .all(|n| !by_name.coverage.names.contains(n))
        );
        assert!(full.records.len() >= by_name.records.len());
    })
    .await;
}

#[tokio::test]
async fn cloudflare_export_adds_proxied_status_ssl_mode_and_page_rules() {
    launchready_testkit::watchdog::within(Duration::from_secs(120), "the Cloudflare export", async {
        use launchready_lab::cloudflare::{CloudflareFixture, recorded_shop_zone};
        let lab = Lab::start(scenario(scenarios::shop_zone())).await.unwrap();
        let api = CloudflareFixture::start("read-only-token", recorded_shop_zone()).await.unwrap();
        let mut rules = vec![api.connect_to()];
        rules.extend(lab.connect_to_args());
        let mut config = NetConfig {
            resolvers: vec![lab.dns_addr()],
            connect_to: rules.iter().map(|c| c.parse::<ConnectTo>().unwrap()).collect(),
            timeout: Duration::from_secs(5),
            ..NetConfig::default()
        };
        config.ca_files = vec![api.ca_file().to_path_buf()];
        let net = Net::new(config).unwrap();
        let options = GatherOptions { cloudflare_token: Some("read-only-token".into()), ..GatherOptions::default() };
        let snap = gather::snapshot(&net, &manifest(), &options).await.unwrap();
        assert!(snap.sources.iter().any(|s| s.kind == "cloudflare" && s.ok), "{:?}", snap.sources);
        assert!(snap.coverage.complete);
        let provider = snap.provider.as_ref().unwrap();
        assert_eq!(provider.ssl_mode.as_deref(), Some("flexible"));
        assert_eq!(provider.page_rules.len(), 1);
        let text = zone::write(&snap);
        contains_lines(
            &text,
            &[
                "@ 300 IN A 192.0.2.10 ; cf_tags=cf-proxied:true",
                "www 300 IN CNAME shop.test. ; cf_tags=cf-proxied:true",
                "@ 3600 IN MX 10 mx.shop.test.",
                "@ 300 IN TXT \"v=spf1 include:mailgun.org -all\"",
                "@ 300 IN CAA 0 issue \"letsencrypt.org\"",
                "; Cloudflare zone 023e105f4ecef8ad9ca31a8372d0c353: SSL mode flexible, 1 page rule(s)",
            ],
        );
        check_zone(&text);
        // Read back, the proxied marks survive; the dnscontrol config carries them.
        let again = zone::parse(&text).unwrap();
        assert_eq!(again.rrset("shop.test", "A").next().unwrap().proxied, Some(true));
        assert!(launchready_dnsdoc::plan::render_dnscontrol(&snap).contains("A(\"@\", \"192.0.2.10\", TTL(300), CF_PROXY_ON)"));

        // A wrong token: the export is said to be missing, the DNS snapshot still stands.
        let options = GatherOptions { cloudflare_token: Some("wrong".into()), ..GatherOptions::default() };
        let snap = gather::snapshot(&net, &manifest(), &options).await.unwrap();
        assert!(snap.unseen.iter().any(|u| u.contains("Cloudflare export") && u.contains("Authentication error")), "{:?}", snap.unseen);
        assert!(snap.provider.is_none() && !snap.coverage.complete);
    })
    .await;
}
