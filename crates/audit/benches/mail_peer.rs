//! Cross-check of the SPF and DMARC verdicts against checkdmarc (PyPI), the reference tool most people use: starts
//! the mail lab, gathers the mail facts with launchready, writes our verdict per domain to a JSON file, then runs
//! `bench/checkdmarc_compare.py` against the same lab DNS server and lets it print where the two disagree.
//!
//! Run: `pip install checkdmarc && cargo bench -p launchready-audit --bench mail_peer`.

use launchready_audit::gather_checked;
use launchready_lab::scenarios;
use launchready_mail::dns::{Lookup, QueryType};
use launchready_mail::{dmarc, org, spf};
use launchready_testkit::lab::{Options, try_start};
use serde_json::{Value, json};
use std::process::Command;

fn main() {
    if let Err(e) = run() {
        eprintln!("mail_peer: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let options = Options {
            landing_samples: Some(0),
            ..Options::default()
        };
        let (lab, net, manifest) = try_start(scenarios::mail(), scenarios::MAIL_MANIFEST, &options)
            .await
            .map_err(|e| e.to_string())?;
        let gather = options.gather().map_err(|e| e.to_string())?;
        let facts = gather_checked(&manifest, &net, &gather)
            .await
            .map_err(|e| e.to_string())?;
        let email = facts.email.ok_or("no email facts")?;
        let ours: Vec<Value> = email
            .domains
            .iter()
            .map(|d| verdicts(&email.dns, &d.domain, d.sending))
            .collect();
        let file = lab.dir().join("ours.json");
        std::fs::write(
            &file,
            serde_json::to_string_pretty(&ours).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../bench/checkdmarc_compare.py"
        );
        // The script runs while the lab is alive: this process waits for it on the runtime's blocking pool.
        let dns = lab.dns_addr();
        let status = tokio::task::spawn_blocking(move || {
            Command::new("python3")
                .arg(script)
                .arg("--nameserver")
                .arg(dns.ip().to_string())
                .arg("--port")
                .arg(dns.port().to_string())
                .arg("--ours")
                .arg(&file)
                .status()
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("running {script}: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("{script} failed ({status})"))
        }
    })
}

/// Our SPF and DMARC verdicts for one domain, in the shape the comparison script reads.
fn verdicts(dns: &impl Lookup, domain: &str, sending: bool) -> Value {
    let spf = match spf::analyze(dns, domain) {
        Err(pending) => json!({ "valid": false, "error": format!("incomplete: {}", pending.0) }),
        Ok(analysis) => {
            let mut errors = Vec::new();
            for node in analysis.root.walk() {
                match &node.state {
                    spf::NodeState::NoRecord => {
                        errors.push(format!("{}: no SPF record", node.domain))
                    }
                    spf::NodeState::Multiple => {
                        errors.push(format!("{}: several SPF records", node.domain))
                    }
                    spf::NodeState::Syntax(e) => errors.push(format!("{}: {e}", node.domain)),
                    spf::NodeState::TempError(e) => errors.push(format!("{}: {e}", node.domain)),
                    spf::NodeState::Loop => errors.push(format!("{}: include loop", node.domain)),
                    _ => {}
                }
            }
            if analysis.total_lookups > spf::MAX_DNS_TERMS {
                errors.push(format!("{} DNS lookups", analysis.total_lookups));
            }
            if analysis.total_void_lookups > spf::MAX_VOID_LOOKUPS {
                errors.push(format!("{} void lookups", analysis.total_void_lookups));
            }
            json!({
                "valid": errors.is_empty(),
                "error": errors.join("; "),
                "record": analysis.root.records.first(),
                "dns_lookups": analysis.total_lookups,
                "void_lookups": analysis.total_void_lookups,
                "all": analysis.root.all.map(|q| q.symbol().to_string()),
            })
        }
    };
    let own = format!("_dmarc.{domain}");
    let orgd = org::organizational_domain(domain);
    let txt = |name: &str| {
        dns.get(name, QueryType::Txt)
            .map(|a| a.txt())
            .unwrap_or_default()
    };
    let mut location = own.clone();
    let mut selection = dmarc::select(&txt(&own));
    if selection == dmarc::Selection::None && orgd != domain {
        location = format!("_dmarc.{orgd}");
        selection = dmarc::select(&txt(&location));
    }
    let dmarc = match selection {
        dmarc::Selection::None => json!({ "valid": false, "error": "no DMARC record" }),
        dmarc::Selection::Multiple(_) => {
            json!({ "valid": false, "error": "several DMARC records" })
        }
        dmarc::Selection::One(record) => match dmarc::parse(&record) {
            Ok(r) => json!({
                "valid": true,
                "location": location,
                "p": format!("{:?}", r.policy).to_lowercase(),
                "record": record,
            }),
            Err(e) => json!({ "valid": false, "error": e.to_string(), "record": record }),
        },
    };
    json!({ "domain": domain, "sending": sending, "spf": spf, "dmarc": dmarc })
}
