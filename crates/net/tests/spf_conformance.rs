//! The OpenSPF RFC 7208 test suite (`shared/conformance/spf/rfc7208-tests.yml`) run through the whole stack:
//! each document's zone data served by the lab's DNS, `check_host()` driven by `Net::mail_resolve` over
//! hickory, exactly as an audit runs it.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::time::Duration;

use launchready_lab::{Lab, Record, RecordData, Scenario, Zone};
use launchready_mail::dns::Snapshot;
use launchready_mail::spf::{Verdict, check_host};
use launchready_net::{Net, NetConfig};
use yaml_rust2::{Yaml, YamlLoader};

const SUITE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/spf/rfc7208-tests.yml"
);

/// Short, because several zones answer TIMEOUT on purpose and each costs one of these.
const DNS_TIMEOUT: Duration = Duration::from_millis(400);

struct Case {
    name: String,
    helo: String,
    host: IpAddr,
    mailfrom: String,
    results: Vec<String>,
    explanation: Option<String>,
}

struct Failure {
    document: String,
    name: String,
    expected: String,
    got: String,
}

fn text(yaml: &Yaml) -> Option<String> {
    match yaml {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        _ => None,
    }
}

fn strings(yaml: &Yaml) -> Vec<String> {
    match yaml {
        Yaml::Array(items) => items.iter().filter_map(text).collect(),
        other => text(other).into_iter().collect(),
    }
}

/// Whether DNS can carry the name at all; the suite has some it cannot (64-character labels).
fn representable(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(|l| !l.is_empty() && l.len() <= 63)
}

/// The document's zone data as one root zone, plus the names that never answer. Follows the OpenSPF
/// driver conventions: type SPF records stand in for TXT at names with no TXT (a `TXT: NONE` entry counts
/// as having TXT), and TIMEOUT makes a name silent unless it also lists records.
fn scenario(zonedata: &Yaml) -> Scenario {
    let mut zone = Zone::new(".");
    let mut silent = Vec::new();
    let Yaml::Hash(names) = zonedata else {
        return Scenario::new().zone(zone);
    };
    for (name, entries) in names {
        let name = text(name)
            .unwrap_or_default()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let Yaml::Array(entries) = entries else {
            continue;
        };
        let mut timeout = false;
        let mut has_txt = false;
        let mut txt = Vec::new();
        let mut spf = Vec::new();
        let mut others = Vec::new();
        for entry in entries {
            let Yaml::Hash(map) = entry else {
                timeout |= text(entry).as_deref() == Some("TIMEOUT");
                continue;
            };
            for (kind, value) in map {
                let kind = text(kind).unwrap_or_default();
                let data = match kind.as_str() {
                    "TXT" => {
                        has_txt = true;
                        if text(value).as_deref() != Some("NONE") {
                            txt.push(strings(value));
                        }
                        continue;
                    }
                    "SPF" => {
                        spf.push(strings(value));
                        continue;
                    }
                    "A" => RecordData::A(text(value).unwrap().parse().unwrap()),
                    "AAAA" => RecordData::Aaaa(text(value).unwrap().parse().unwrap()),
                    "PTR" => RecordData::Ptr(text(value).unwrap()),
                    "CNAME" => RecordData::Cname(text(value).unwrap()),
                    "MX" => {
                        let parts = strings(value);
                        RecordData::Mx {
                            preference: parts[0].parse().unwrap(),
                            exchange: parts[1].clone(),
                        }
                    }
                    other => panic!("unexpected record type {other} at {name}"),
                };
                others.push(data);
            }
        }
        if !has_txt {
            txt = spf;
        }
        if !representable(&name) {
            continue;
        }
        if timeout && txt.is_empty() && others.is_empty() {
            silent.push(name.clone());
        }
        for strings in txt {
            zone = zone.record(Record::new(
                name.clone(),
                60,
                RecordData::TxtStrings(strings),
            ));
        }
        for data in others {
            zone = zone.record(Record::new(name.clone(), 60, data));
        }
    }
    silent
        .iter()
        .fold(Scenario::new().zone(zone), |s, n| s.dns_silent(n))
}

fn cases(tests: &Yaml) -> Vec<Case> {
    let Yaml::Hash(tests) = tests else {
        return Vec::new();
    };
    tests
        .iter()
        .map(|(name, test)| {
            let field = |f: &str| text(&test[f]).unwrap_or_default();
            Case {
                name: text(name).unwrap_or_default(),
                helo: field("helo"),
                host: field("host").parse().unwrap(),
                mailfrom: field("mailfrom"),
                results: strings(&test["result"]),
                explanation: text(&test["explanation"]),
            }
        })
        .collect()
}

/// Why a verdict does not meet the case, if it does not.
fn mismatch(case: &Case, verdict: &Verdict) -> Option<String> {
    let got = verdict.result.as_str();
    if !case.results.iter().any(|r| r == got) {
        return Some(format!("{got} ({})", verdict.reason));
    }
    match (case.explanation.as_deref(), verdict.explanation.as_deref()) {
        (None, _) => None,
        // DEFAULT: the receiver's own text, i.e. no exp= explanation applies.
        (Some("DEFAULT"), None) => None,
        // Names inside explanations (the `ir` of an IPv6 address) may come back in either case.
        (Some(want), Some(have)) if want.eq_ignore_ascii_case(have) => None,
        (_, have) => Some(format!("{got} with explanation {have:?}")),
    }
}

async fn run_document(index: usize, doc: &Yaml) -> (usize, Vec<Failure>) {
    let document = text(&doc["description"]).unwrap_or_else(|| format!("document {index}"));
    let cases = cases(&doc["tests"]);
    let lab = Lab::start(scenario(&doc["zonedata"])).await.unwrap();
    let net = Net::new(NetConfig {
        resolvers: vec![lab.dns_addr()],
        timeout: DNS_TIMEOUT,
        ..NetConfig::default()
    })
    .unwrap();
    let mut failures = Vec::new();
    for case in &cases {
        // RFC 7208 section 2.3: with an empty MAIL FROM the HELO identity is checked as postmaster@helo.
        let (sender, domain) = if case.mailfrom.is_empty() {
            (format!("postmaster@{}", case.helo), case.helo.clone())
        } else {
            let domain = case
                .mailfrom
                .rsplit_once('@')
                .map_or(case.mailfrom.as_str(), |(_, d)| d);
            (case.mailfrom.clone(), domain.to_owned())
        };
        let mut snapshot = Snapshot::new();
        let verdict = net
            .mail_resolve(&mut snapshot, |s| {
                check_host(s, case.host, &domain, &sender, &case.helo)
            })
            .await;
        let problem = match &verdict {
            Ok(verdict) => mismatch(case, verdict),
            Err(e) => Some(e.to_string()),
        };
        if let Some(got) = problem {
            failures.push(Failure {
                document: document.clone(),
                name: case.name.clone(),
                expected: format!(
                    "{}{}",
                    case.results.join(" or "),
                    case.explanation
                        .as_ref()
                        .map(|e| format!(" with explanation {e:?}"))
                        .unwrap_or_default()
                ),
                got,
            });
        }
    }
    (cases.len(), failures)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openspf_rfc7208_suite() {
    let source = match std::fs::read_to_string(SUITE) {
        Ok(source) => source,
        Err(e) => {
            let message = format!("SKIPPED: SPF conformance suite {SUITE} not found ({e})");
            assert!(std::env::var_os("CI").is_none(), "{message}");
            eprintln!("{message}");
            return;
        }
    };
    let docs = YamlLoader::load_from_str(&source).unwrap();
    // Documents run concurrently (each with its own lab) so the deliberate timeouts overlap.
    let runs =
        futures::future::join_all(docs.iter().enumerate().map(|(i, doc)| run_document(i, doc)))
            .await;
    let total: usize = runs.iter().map(|(n, _)| n).sum();
    let failures: Vec<&Failure> = runs.iter().flat_map(|(_, f)| f).collect();
    let passed = total - failures.len();
    // Written to the real stderr rather than through eprintln!, which the test harness captures: the pass count
    // belongs in every CI log, not only in failing runs.
    let _ = writeln!(
        std::io::stderr(),
        "SPF conformance: {passed}/{total} passed"
    );
    let mut by_document: BTreeMap<&str, Vec<&Failure>> = BTreeMap::new();
    for failure in &failures {
        by_document
            .entry(failure.document.as_str())
            .or_default()
            .push(failure);
    }
    for (document, failures) in by_document {
        for f in failures {
            eprintln!(
                "  FAIL {document} / {}: expected {}, got {}",
                f.name, f.expected, f.got
            );
        }
    }
    assert_eq!(total, 203, "the suite should hold 203 tests");
    assert!(
        failures.is_empty(),
        "{} SPF conformance failures",
        failures.len()
    );
}
