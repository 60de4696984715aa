//! NSD, NLnet Labs' authoritative-only DNS server, serving a lab scenario's zones from generated zone files.
//! Chosen over BIND and Knot because it is authoritative-only like the lab, needs one config file, starts in
//! milliseconds and serves AXFR for later snapshot work. It runs unprivileged in the foreground (`nsd -d`),
//! with no chroot, no database and every file in a temp dir.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;

use launchready_dnsdoc::zone::quote;
use launchready_lab::{Record, RecordData, Scenario, Zone};

use super::daemon::{Daemon, Service};
use super::{Launch, Probe, ServerError, web};

/// A running NSD; stopped on drop.
pub type Nsd = Daemon<NsdService>;

/// NSD's configuration and zone files for a scenario's zones.
#[derive(Debug)]
pub struct NsdService {
    binary: PathBuf,
    zones: Vec<Zone>,
}

impl Service for NsdService {
    const PROGRAM: &'static str = "nsd";

    fn launch(&self, dir: &Path, addr: SocketAddr) -> Result<Launch, ServerError> {
        let mut conf = config(dir, addr.port());
        for zone in &self.zones {
            let file = format!("{}.zone", zone.origin);
            web::write(&dir.join(&file), &zone_file(zone))?;
            let _ = writeln!(
                conf,
                "zone:\n\tname: \"{}\"\n\tzonefile: \"{file}\"\n\tprovide-xfr: 127.0.0.1 NOKEY",
                zone.origin
            );
        }
        let conf_file = dir.join("nsd.conf");
        web::write(&conf_file, &conf)?;
        let mut command = Command::new(&self.binary);
        command.arg("-d").arg("-c").arg(&conf_file);
        Ok(Launch {
            command,
            logs: vec![dir.join(LOG)],
        })
    }

    /// NSD serves whatever zones it could read and only logs the others; a test must not run against a zone
    /// that silently went missing.
    fn ready(&self, dir: &Path, _addr: SocketAddr) -> Result<Probe, ServerError> {
        let text = std::fs::read_to_string(dir.join(LOG)).unwrap_or_default();
        if !text.contains("nsd started") {
            return Ok(Probe::Waiting("the log line \"nsd started\"".into()));
        }
        if text.contains(" error: ") {
            return Err(ServerError::Unsupported {
                server: "nsd".into(),
                reason: format!("a zone did not load cleanly:\n{text}"),
            });
        }
        Ok(Probe::Ready)
    }
}

/// NSD's log file in its scratch directory (`logfile:` in the configuration).
const LOG: &str = "nsd.log";

impl Nsd {
    /// Starts NSD serving every zone of `scenario`, with the SOA and NS records the lab generates. The lab's
    /// DNS misbehaviour (latency, SERVFAIL, silence, truncation) has no NSD setting and is refused. `Ok(None)`
    /// when nsd is not installed (and `CI` is not `true`), after a skip message on stderr.
    pub fn start(scenario: &Scenario) -> Result<Option<Nsd>, ServerError> {
        let Some(binary) = super::locate("nsd", "nsd")? else {
            return Ok(None);
        };
        if !scenario.dns_latency.is_zero()
            || scenario.dns_truncate_udp
            || !scenario.dns_servfail.is_empty()
            || !scenario.dns_silent.is_empty()
        {
            return Err(ServerError::Unsupported {
                server: "nsd".into(),
                reason: "the lab's DNS misbehaviour".into(),
            });
        }
        Daemon::launch(NsdService {
            binary,
            zones: scenario.zones.clone(),
        })
        .map(Some)
    }

    /// The `--connect-to` rule sending nameserver queries (port 53 of any host) here.
    pub fn connect_to(&self) -> String {
        format!(":53:127.0.0.1:{}", self.addr().port())
    }
}

fn config(dir: &Path, port: u16) -> String {
    let d = dir.display();
    format!(
        "server:\n\tip-address: 127.0.0.1\n\tport: {port}\n\tdo-ip6: no\n\tusername: \"\"\n\tchroot: \"\"\n\
         \tdatabase: \"\"\n\tzonesdir: \"{d}\"\n\tzonelistfile: \"{d}/zone.list\"\n\tpidfile: \"{d}/nsd.pid\"\n\
         \txfrdfile: \"{d}/xfrd.state\"\n\txfrdir: \"{d}\"\n\tlogfile: \"{d}/{LOG}\"\n\tserver-count: 1\n\
         \tverbosity: 1\n\thide-version: yes\n\
         remote-control:\n\tcontrol-enable: no\n"
    )
}

/// The zone in master-file format, with what the lab adds to every zone: its SOA (the same fields) and, when
/// the zone has no NS at the apex, `ns1`/`ns2` with A records at 127.0.0.1.
pub fn zone_file(zone: &Zone) -> String {
    let origin = &zone.origin;
    let mut text = format!(
        "$ORIGIN {origin}.\n$TTL {ttl}\n@ {ttl} IN SOA ns1.{origin}. hostmaster.{origin}. {} 3600 600 86400 60\n",
        zone.serial,
        ttl = launchready_lab::DEFAULT_TTL,
    );
    let mut records: Vec<Record> = zone.records.clone();
    let has_ns = records
        .iter()
        .any(|r| r.name == *origin && matches!(r.data, RecordData::Ns(_)));
    if !has_ns {
        for ns in ["ns1", "ns2"] {
            let name = format!("{ns}.{origin}");
            records.push(Record::new(
                origin.clone(),
                launchready_lab::DEFAULT_TTL,
                RecordData::Ns(name.clone()),
            ));
            records.push(Record::new(
                name,
                launchready_lab::DEFAULT_TTL,
                RecordData::A(Ipv4Addr::LOCALHOST),
            ));
        }
    }
    for (i, record) in records.iter().enumerate() {
        // A repeated line is harmless in the lab; NSD would warn about it.
        if records[..i].contains(record) {
            continue;
        }
        let _ = writeln!(
            text,
            "{}. {} IN {}",
            record.name,
            record.ttl,
            rdata(&record.data)
        );
    }
    text
}

fn rdata(data: &RecordData) -> String {
    match data {
        RecordData::A(ip) => format!("A {ip}"),
        RecordData::Aaaa(ip) => format!("AAAA {ip}"),
        RecordData::Cname(target) => format!("CNAME {}", absolute(target)),
        RecordData::Ns(target) => format!("NS {}", absolute(target)),
        RecordData::Ptr(target) => format!("PTR {}", absolute(target)),
        RecordData::Mx {
            preference,
            exchange,
        } => format!("MX {preference} {}", absolute(exchange)),
        RecordData::Txt(text) => format!("TXT {}", character_strings(&[text.as_str()])),
        RecordData::TxtStrings(strings) => {
            let strings: Vec<&str> = strings.iter().map(String::as_str).collect();
            format!("TXT {}", character_strings(&strings))
        }
        RecordData::Caa {
            critical,
            tag,
            value,
        } => format!(
            "CAA {} {tag} {}",
            if *critical { 128 } else { 0 },
            quote(value.as_bytes())
        ),
    }
}

/// A name as a master file writes it absolute; the root (a null MX's `.`) is `.`.
fn absolute(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

/// Each string split into 255-byte character-strings, as the lab splits them; nothing at all is one empty
/// string.
fn character_strings(strings: &[&str]) -> String {
    let mut parts: Vec<String> = strings
        .iter()
        .flat_map(|s| {
            if s.is_empty() {
                vec![quote(b"")]
            } else {
                s.as_bytes().chunks(255).map(quote).collect()
            }
        })
        .collect();
    if parts.is_empty() {
        parts.push(quote(b""));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_and_odd_txt_records_are_split_and_escaped() {
        let zone = Zone::new("t.test")
            .txt("@", &"a".repeat(300))
            .txt("q", "say \"hi\" \\ é");
        let text = zone_file(&zone);
        assert!(text.contains(&format!("\"{}\" \"{}\"", "a".repeat(255), "a".repeat(45))));
        assert!(text.contains(r#""say \"hi\" \\ \195\169""#), "{text}");
        assert!(text.contains("t.test. 300 IN NS ns1.t.test."));
        let null = zone_file(&Zone::new("n.test").mx("@", 0, "."));
        assert!(null.contains("n.test. 300 IN MX 0 .\n"), "{null}");
    }
}
