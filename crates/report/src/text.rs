//! Wording shared by the human-readable formats, so the terminal, Markdown and HTML say the same thing the same way.

use launchready_findings::{Counts, DnsMapEntry, Report, Severity};

/// `1 blocker, 2 high, 1 medium, 0 low, 3 info (1 suppressed)`. Every severity is listed even at zero so the line
/// reads the same from run to run; the suppressed count only appears when something was suppressed.
pub fn counts(counts: &Counts) -> String {
    let mut line = Severity::ALL
        .iter()
        .map(|&severity| format!("{} {}", counts.get(severity), severity))
        .collect::<Vec<_>>()
        .join(", ");
    if counts.suppressed > 0 {
        line.push_str(&format!(" ({} suppressed)", counts.suppressed));
    }
    line
}

/// `high and above`, or the natural phrase at either end of the scale.
pub fn threshold(fail_on: Severity) -> String {
    match fail_on {
        Severity::Info => "any active finding".to_string(),
        Severity::Blocker => "blocker only".to_string(),
        other => format!("{other} and above"),
    }
}

/// `CI fails on: high and above (2 findings qualify)`.
pub fn fail_on(report: &Report, fail_on: Severity) -> String {
    let qualifying = report.failing(fail_on).count();
    let tally = match qualifying {
        0 => "no finding qualifies".to_string(),
        1 => "1 finding qualifies".to_string(),
        n => format!("{n} findings qualify"),
    };
    format!("CI fails on: {} ({tally})", threshold(fail_on))
}

/// `demo.test: not ready to launch — score 40/100`.
pub fn headline(report: &Report) -> String {
    format!(
        "{}: {} — score {}/100",
        report.target,
        report.verdict.title(),
        report.score
    )
}

/// The one-line summary that ends the terminal output.
pub fn summary(report: &Report) -> String {
    format!("{} — {}", headline(report), counts(&report.counts))
}

/// One DNS map row as plain text; the table formats escape the cells their own way.
pub struct DnsRow<'a> {
    pub host: &'a str,
    pub role: &'a str,
    pub records: Vec<String>,
    pub url: &'a str,
    pub status: String,
}

pub fn dns_rows(report: &Report) -> Vec<DnsRow<'_>> {
    report
        .dns_map
        .iter()
        .map(|entry| DnsRow {
            host: &entry.host,
            role: &entry.role,
            records: records(entry),
            url: entry.final_url.as_deref().unwrap_or("not probed"),
            status: match (entry.final_status, &entry.final_url) {
                (Some(status), _) => status.to_string(),
                (None, Some(_)) => "no response".to_string(),
                (None, None) => "—".to_string(),
            },
        })
        .collect()
}

/// Where a DNS map host's https traffic ended up: `https://www.demo.test/ (200)`.
pub fn final_destination(entry: &DnsMapEntry) -> String {
    match (&entry.final_url, entry.final_status) {
        (Some(url), Some(status)) => format!("{url} ({status})"),
        (Some(url), None) => format!("{url} (no response)"),
        (None, Some(status)) => format!("({status})"),
        (None, None) => "not probed".to_string(),
    }
}

/// A DNS map host's records, or a marker that makes an empty answer visible instead of a blank cell.
pub fn records(entry: &DnsMapEntry) -> Vec<String> {
    if entry.records.is_empty() {
        vec!["(no records)".to_string()]
    } else {
        entry.records.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_hide_a_zero_suppressed_tally() {
        let mut c = Counts {
            blocker: 1,
            high: 2,
            ..Counts::default()
        };
        assert_eq!(counts(&c), "1 blocker, 2 high, 0 medium, 0 low, 0 info");
        c.suppressed = 1;
        assert_eq!(
            counts(&c),
            "1 blocker, 2 high, 0 medium, 0 low, 0 info (1 suppressed)"
        );
    }

    #[test]
    fn threshold_reads_naturally_at_both_ends() {
        assert_eq!(threshold(Severity::High), "high and above");
        assert_eq!(threshold(Severity::Blocker), "blocker only");
        assert_eq!(threshold(Severity::Info), "any active finding");
    }
}
