//! Latency benchmark: audits lab sites with injected latency on every DNS answer and HTTP response, and
//! compares wall time with the round trips on the critical path (target: wall ≤ critical path × latency +
//! 100 ms). Two sites: the flawed demo, and a healthy site with 6 hosts and 20 legacy links. The peer run side
//! by side is the same audit with one operation in flight at a time, which is what a sequential checker pays.
//!
//! Run: `cargo bench -p launchready-audit --bench latency` (env: LATENCY_MS, default 50; RUNS, default 5).

mod common;

use launchready_audit::gather_checked;
use launchready_lab::{Handler, Lab, Page, Scenario, scenarios};
use launchready_manifest::Manifest;
use launchready_net::{ConnectTo, Net, NetConfig};
use std::path::Path;
use std::time::{Duration, Instant};

struct Sample {
    wall: Duration,
    round_trips: u32,
    findings: usize,
}

/// The demo, minus its deliberately slow stylesheet: this benchmark measures how round trips overlap, and a
/// page that sleeps 600 ms is not a round trip.
fn demo_without_slow_asset() -> Scenario {
    let mut scenario = scenarios::demo();
    if let Some(www) = scenario.site_mut("www.demo.test")
        && let Handler::Pages(pages) = &mut www.https
    {
        for (_, page) in pages.iter_mut() {
            page.delay = Duration::ZERO;
        }
    }
    scenario
}

/// The healthy site plus 20 old campaign links on the apex, each one 301 to the pricing page.
fn clean_with_links() -> (Scenario, String) {
    let mut scenario = scenarios::clean();
    let mut manifest = scenarios::CLEAN_MANIFEST.to_string();
    if let Some(apex) = scenario.site_mut("clean.test") {
        for n in 0..20 {
            let path = format!("/campaign-{n}");
            let redirect = Page::new(301, "").header("location", "https://www.clean.test/pricing");
            apex.https =
                std::mem::replace(&mut apex.https, Handler::Close).with_page(&path, redirect);
            manifest.push_str(&format!(
                "\n[[legacy_link]]\nfrom = \"https://clean.test{path}\"\nto = \"https://www.clean.test/pricing\"\n"
            ));
        }
    }
    (scenario, manifest)
}

async fn audit_once(site: &str, latency: Duration, concurrency: usize) -> Result<Sample, String> {
    let (scenario, manifest_text) = match site {
        "demo" => (
            demo_without_slow_asset(),
            scenarios::DEMO_MANIFEST.to_string(),
        ),
        _ => clean_with_links(),
    };
    let scenario = scenario.dns_latency(latency).http_latency(latency);
    let lab = Lab::start(scenario).await.map_err(|e| e.to_string())?;
    let manifest = Manifest::parse(&manifest_text, Path::new("launchready.toml"))
        .map_err(|e| e.to_string())?;
    let connect_to = lab
        .connect_to_args()
        .iter()
        .map(|rule| rule.parse::<ConnectTo>().map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let config = NetConfig {
        resolvers: vec![lab.dns_addr()],
        connect_to,
        ca_files: vec![lab.ca_file().to_path_buf()],
        concurrency,
        ..NetConfig::default()
    };
    // The clock starts where the binary's would: building the client is part of an audit.
    let started = Instant::now();
    let net = Net::new(config).map_err(|e| e.to_string())?;
    let facts = gather_checked(
        &manifest,
        &net,
        &launchready_audit::GatherOptions::default(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let wall = started.elapsed();
    let report = launchready_audit::report(&facts, &manifest);
    Ok(Sample {
        wall,
        round_trips: facts.critical_path_round_trips,
        findings: report.findings.len(),
    })
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn main() {
    let latency_ms = common::env_number("LATENCY_MS", 50);
    let runs = common::env_number("RUNS", 5).max(1);
    let latency = Duration::from_millis(latency_ms);
    let runtime = common::runtime();
    println!(
        "launchready latency benchmark: {latency_ms} ms on every DNS answer and HTTP response, {runs} runs each"
    );
    for (site, title) in [
        ("demo", "demo.test (flawed demo site)"),
        ("clean", "clean.test: 6 hosts + 20 legacy links"),
    ] {
        println!("\n{title}");
        let mut rows = Vec::new();
        for (label, concurrency) in [
            ("launchready (concurrent, 64)", 64),
            ("sequential peer (1 in flight)", 1),
        ] {
            let mut walls = Vec::new();
            let mut round_trips = 0;
            let mut findings = 0;
            for _ in 0..runs {
                match runtime.block_on(audit_once(site, latency, concurrency)) {
                    Ok(sample) => {
                        walls.push(sample.wall);
                        round_trips = sample.round_trips;
                        findings = sample.findings;
                    }
                    Err(e) => {
                        eprintln!("{label}: audit failed: {e}");
                        std::process::exit(1);
                    }
                }
            }
            let med = median(walls.clone());
            let max = walls.iter().max().copied().unwrap_or_default();
            rows.push((label, med, max, round_trips, findings));
        }
        let (_, concurrent, concurrent_max, critical, findings) = rows[0];
        let budget = latency * critical + Duration::from_millis(100);
        for (label, med, max, _, _) in &rows {
            println!(
                "  {label:<32} median {:>8.1} ms   max {:>8.1} ms",
                med.as_secs_f64() * 1000.0,
                max.as_secs_f64() * 1000.0
            );
        }
        println!("  findings per audit:              {findings}");
        println!(
            "  critical path:                   {critical} round trips → budget {critical} × {latency_ms} ms + 100 ms = {:.0} ms",
            budget.as_secs_f64() * 1000.0
        );
        println!(
            "  concurrent median vs budget:     {:.1} ms of {:.0} ms ({}), worst run {:.1} ms",
            concurrent.as_secs_f64() * 1000.0,
            budget.as_secs_f64() * 1000.0,
            if concurrent <= budget {
                "within"
            } else {
                "OVER"
            },
            concurrent_max.as_secs_f64() * 1000.0
        );
        let sequential = rows[1].1;
        println!(
            "  speed-up over the sequential peer: {:.1}×",
            sequential.as_secs_f64() / concurrent.as_secs_f64().max(f64::EPSILON)
        );
    }
}
