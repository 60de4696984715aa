//! Domain and DNS drift: live DNS compared with a snapshot saved by `launchready dns snapshot`. The live side is
//! gathered the way `dns diff --live` gathers it (the same names, through the run's resolver and `--connect-to`),
//! and compared with `launchready_dnsdoc::diff`, so a drift alert names the same changes, with the same meanings,
//! as the command a founder runs next. A changed, removed or added record set is a failed check, not an `Err`.

use crate::checks::CheckResult;
use crate::redact;
use launchready_dnsdoc::Snapshot;
use launchready_dnsdoc::diff::{self, ChangeKind, Diff};
use launchready_dnsdoc::gather::{self, GatherOptions};
use launchready_manifest::Manifest;
use launchready_net::Net;
use std::path::Path;

/// How much of the rendered diff a result keeps as its context.
pub const CONTEXT_BYTES: usize = 4096;
/// How many changes the one-line error names before it says "and N more".
const NAMED_CHANGES: usize = 5;

/// Why live DNS could not be compared (a down result, with this as its error).
#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    #[error(transparent)]
    Snapshot(#[from] launchready_dnsdoc::LoadError),
    #[error("{0}")]
    Domain(String),
    #[error(transparent)]
    Gather(#[from] gather::GatherError),
}

/// The zone as it is now, asked about the names the snapshot asked about (and the apex's usual names).
pub async fn live(net: &Net, reference: &Snapshot) -> Result<Snapshot, DriftError> {
    let manifest = Manifest::for_domain(&reference.domain)
        .map_err(|e| DriftError::Domain(format!("snapshot of `{}`: {e}", reference.domain)))?;
    let options = GatherOptions {
        extra_names: reference.coverage.names.clone(),
        no_axfr: false,
        cloudflare_token: None,
    };
    let mut snapshot = gather::snapshot(net, &manifest, &options).await?;
    snapshot.normalize();
    Ok(snapshot)
}

/// The file to read: `FILE.json` beside a zone file when it exists, since the sidecar remembers every name the
/// snapshot asked about (a zone file lists only names that had records, so a name added since would not be
/// compared).
pub fn reference_file(snapshot: &Path) -> std::path::PathBuf {
    let mut sidecar = snapshot.as_os_str().to_owned();
    sidecar.push(".json");
    let sidecar = std::path::PathBuf::from(sidecar);
    if snapshot.extension().is_none_or(|e| e != "json") && sidecar.is_file() {
        sidecar
    } else {
        snapshot.to_path_buf()
    }
}

/// Reads the saved snapshot and compares live DNS with it.
pub async fn compare(net: &Net, snapshot: &Path) -> Result<Diff, DriftError> {
    let mut reference = Snapshot::load(&reference_file(snapshot))?;
    reference.normalize();
    let now = live(net, &reference).await?;
    Ok(diff::diff(&reference, &now))
}

/// One line naming what drifted: `changed www.example.com A (-192.0.2.10 +203.0.113.7); removed …`.
pub fn summary(diff: &Diff) -> String {
    let mut parts: Vec<String> = diff
        .changes
        .iter()
        .take(NAMED_CHANGES)
        .map(|c| {
            let word = match c.kind {
                ChangeKind::Added => "added",
                ChangeKind::Removed => "removed",
                ChangeKind::Changed => "changed",
                ChangeKind::Ttl => "TTL changed",
            };
            let mut values: Vec<String> = c.removed.iter().map(|v| format!("-{v}")).collect();
            values.extend(c.added.iter().map(|v| format!("+{v}")));
            if c.kind == ChangeKind::Ttl {
                values.push(format!(
                    "{} → {}",
                    c.ttl_before.unwrap_or_default(),
                    c.ttl_after.unwrap_or_default()
                ));
            }
            format!("{word} {} {} ({})", c.name, c.rtype, values.join(" "))
        })
        .collect();
    if diff.changes.len() > NAMED_CHANGES {
        parts.push(format!("and {} more", diff.changes.len() - NAMED_CHANGES));
    }
    format!(
        "DNS of {} drifted from the snapshot: {}",
        diff.domain,
        parts.join("; ")
    )
}

/// Runs the drift check: up while live DNS matches the snapshot.
pub async fn run(check: &str, net: &Net, snapshot: &Path, at_ms: i64) -> CheckResult {
    let mut result = CheckResult::new(check, at_ms);
    let started = std::time::Instant::now();
    let outcome = compare(net, snapshot).await;
    result.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Ok(diff) if diff.is_empty() => {}
        Ok(diff) => {
            result.ok = false;
            result.step = format!("compare with {}", snapshot.display());
            result.error_kind = Some("dns_drift".into());
            result.error = Some(redact::text(&summary(&diff)));
            let mut context = redact::text(&diff::render_text(&diff));
            if context.len() > CONTEXT_BYTES {
                let mut end = CONTEXT_BYTES;
                while !context.is_char_boundary(end) {
                    end -= 1;
                }
                context.truncate(end);
                context.push_str("\n… (cut; `launchready dns diff SNAPSHOT --live` shows all)");
            }
            result.context = Some(context);
            result.timings = serde_json::to_value(&diff.changes).unwrap_or_default();
        }
        Err(error) => {
            result.ok = false;
            result.step = format!("compare with {}", snapshot.display());
            result.error_kind = Some(match error {
                DriftError::Snapshot(_) | DriftError::Domain(_) => "file".into(),
                DriftError::Gather(_) => "dns".into(),
            });
            result.error = Some(redact::text(&error.to_string()));
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use launchready_dnsdoc::{Coverage, Rec};

    fn snapshot(records: Vec<Rec>) -> Snapshot {
        Snapshot {
            schema_version: launchready_dnsdoc::SNAPSHOT_SCHEMA_VERSION,
            domain: "shop.test".into(),
            taken_at: "2027-01-01T00:00:00Z".into(),
            taken_from: "test".into(),
            sources: Vec::new(),
            unseen: Vec::new(),
            coverage: Coverage {
                complete: true,
                names: Vec::new(),
            },
            records,
            provider: None,
        }
    }

    #[test]
    fn the_summary_names_each_change_and_counts_the_rest() {
        let before = snapshot(vec![
            Rec::new("www.shop.test", 300, "A", "192.0.2.10"),
            Rec::new("smtp._domainkey.shop.test", 300, "TXT", "\"k=rsa; p=AAAA\""),
        ]);
        let after = snapshot(vec![
            Rec::new("www.shop.test", 300, "A", "203.0.113.7"),
            Rec::new("staging.shop.test", 300, "A", "198.51.100.1"),
        ]);
        let text = summary(&diff::diff(&before, &after));
        assert_eq!(
            text,
            "DNS of shop.test drifted from the snapshot: removed smtp._domainkey.shop.test TXT (-\"k=rsa; p=AAAA\"); \
added staging.shop.test A (+198.51.100.1); changed www.shop.test A (-192.0.2.10 +203.0.113.7)"
        );
        let many: Vec<Rec> = (0..8)
            .map(|i| Rec::new(&format!("h{i}.shop.test"), 60, "A", format!("192.0.2.{i}")))
            .collect();
        let text = summary(&diff::diff(&snapshot(Vec::new()), &snapshot(many)));
        assert!(text.ends_with("; and 3 more"), "{text}");
    }

    #[tokio::test]
    async fn a_missing_snapshot_is_a_down_result_naming_the_file() {
        let net = Net::new(launchready_net::NetConfig {
            resolvers: vec![([127, 0, 0, 1], 9).into()],
            ..launchready_net::NetConfig::default()
        })
        .expect("net");
        let result = run(
            "dns:shop.test",
            &net,
            Path::new("/nonexistent/before.zone"),
            1,
        )
        .await;
        assert!(!result.ok);
        assert_eq!(result.error_kind.as_deref(), Some("file"));
        let error = result.error.unwrap_or_default();
        assert!(error.contains("/nonexistent/before.zone"), "{error}");
    }
}
