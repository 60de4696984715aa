//! TLS facts benchmark: gathers the TLS facts launchready reports (chain, issuer, names, dates, key, version,
//! ALPN, verdict) for 20 lab hosts at once, with latency injected on every DNS answer and HTTP response, and runs
//! `testssl.sh` (Debian package `testssl.sh`) against one of the same hosts side by side for comparison.
//!
//! Run: `cargo bench -p launchready-audit --bench tls` (env: LATENCY_MS, default 50; HOSTS, default 20).

mod common;

use futures::future::join_all;
use launchready_lab::{Lab, Scenario, Site, Zone};
use launchready_net::{ConnectTo, Net, NetConfig};
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use url::Url;

fn scenario(hosts: usize, latency: Duration) -> Scenario {
    let mut zone = Zone::new("bench.test");
    let mut scenario = Scenario::new();
    for n in 0..hosts {
        zone = zone.a(&format!("site-{n}"), Ipv4Addr::LOCALHOST);
        scenario = scenario.site(Site::new(format!("site-{n}.bench.test")));
    }
    scenario
        .zone(zone)
        .dns_latency(latency)
        .http_latency(latency)
}

async fn gather(lab: &Lab, hosts: &[String]) -> Result<(Duration, usize), String> {
    let connect_to = lab
        .connect_to_args()
        .iter()
        .map(|r| r.parse::<ConnectTo>().map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let started = Instant::now();
    let net = Net::new(NetConfig {
        resolvers: vec![lab.dns_addr()],
        connect_to,
        ca_files: vec![lab.ca_file().to_path_buf()],
        ..NetConfig::default()
    })
    .map_err(|e| e.to_string())?;
    let urls: Vec<Url> = hosts
        .iter()
        .filter_map(|h| Url::parse(&format!("https://{h}/")).ok())
        .collect();
    let hops = join_all(urls.iter().map(|u| net.fetch(u))).await;
    let with_facts = hops
        .iter()
        .filter(|h| h.tls.as_ref().is_some_and(|t| !t.chain.is_empty()))
        .count();
    Ok((started.elapsed(), with_facts))
}

fn testssl(lab: &Lab, host: &str) -> Option<Duration> {
    let port = lab.https_addr().port();
    let started = Instant::now();
    let status = Command::new("testssl")
        .args([
            "--quiet",
            "--color",
            "0",
            "--warnings",
            "off",
            "--ip",
            "127.0.0.1",
        ])
        .arg("--add-ca")
        .arg(lab.ca_file())
        .arg(format!("https://{host}:{port}/"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match status {
        Ok(_) => Some(started.elapsed()),
        Err(e) => {
            println!("  testssl.sh: not run ({e}); install it with `apt-get install testssl.sh`");
            None
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let latency_ms = common::env_number("LATENCY_MS", 50);
    let count = usize::try_from(common::env_number("HOSTS", 20))
        .unwrap_or(20)
        .max(1);
    let latency = Duration::from_millis(latency_ms);
    let runtime = common::runtime();
    let hosts: Vec<String> = (0..count).map(|n| format!("site-{n}.bench.test")).collect();
    let lab = match runtime.block_on(Lab::start(scenario(count, latency))) {
        Ok(lab) => lab,
        Err(e) => {
            eprintln!("cannot start the lab: {e}");
            std::process::exit(2);
        }
    };
    println!(
        "launchready TLS facts benchmark: {count} lab hosts, {latency_ms} ms on every DNS answer and HTTP response"
    );
    let all = runtime.block_on(gather(&lab, &hosts));
    let one = runtime.block_on(gather(&lab, &hosts[..1]));
    let (Ok((all_wall, all_facts)), Ok((one_wall, _))) = (all, one) else {
        eprintln!("gathering failed");
        std::process::exit(1);
    };
    println!(
        "  launchready, {count} hosts at once:   {:>9.1} ms ({all_facts}/{count} with TLS facts)",
        ms(all_wall)
    );
    println!(
        "  launchready, 1 host ({}): {:>9.1} ms",
        hosts[0],
        ms(one_wall)
    );
    // testssl.sh runs on the same machine against the same listener while the lab's runtime serves it.
    let guard = runtime.enter();
    let peer = testssl(&lab, &hosts[0]);
    drop(guard);
    if let Some(peer) = peer {
        println!("  testssl.sh 3.x, 1 host:             {:>9.1} ms", ms(peer));
        println!(
            "  launchready is {:.0}× faster for the facts it reports",
            peer.as_secs_f64() / one_wall.as_secs_f64().max(f64::EPSILON)
        );
    }
}
