//! The tables of the human reports as data: the findings, the suppressed findings and the DNS map, each a list of
//! headings and rows of typed cells. Markdown and HTML draw the same tables from this one row model and differ only
//! in how they write a cell, so a new column is added once.

use launchready_findings::{DnsMapEntry, Finding, Report, Severity};

use crate::text::{self, PathView, TlsView};

/// One table: its column headings, one row of cells per item, and what to say instead when there is no row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table<'a> {
    pub headings: &'static [&'static str],
    pub rows: Vec<Vec<Cell<'a>>>,
    pub empty: &'static str,
}

/// What a cell holds; each format decides how to write it. Text is raw, still to be escaped by the format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell<'a> {
    Severity(Severity),
    /// A finding id: a stable dotted name.
    Id(&'a str),
    /// Free text from the audit (a subject, a title, a host), which may span lines.
    Text(&'a str),
    /// A one-word label of the report's own vocabulary (a host's role).
    Label(&'a str),
    /// A host's records as one chain ([`text::record_chain`]).
    Records(String),
    /// A finding's evidence, one entry per line of proof.
    Evidence(&'a [String]),
    /// What to do, and where to read more (either may be empty).
    Fix {
        remediation: &'a str,
        reference: &'a str,
    },
    /// A host's TLS summary; `None` when the host was not reached over TLS.
    Tls(Option<TlsView<'a>>),
    /// Where a host's entry points lead.
    Paths(Paths<'a>),
}

/// A DNS map host's paths: each entry point's redirect chain, or, when none was recorded, where its https traffic
/// ended up ([`text::final_destination`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paths<'a> {
    Chains(Vec<PathView<'a>>),
    Destination(String),
}

/// The active findings of one fix window.
pub fn findings<'a>(findings: &[&'a Finding]) -> Table<'a> {
    Table {
        headings: &["Severity", "ID", "Subject", "Title", "Evidence", "Fix"],
        rows: findings
            .iter()
            .map(|f| {
                vec![
                    Cell::Severity(f.severity),
                    Cell::Id(&f.id),
                    Cell::Text(&f.subject),
                    Cell::Text(&f.title),
                    Cell::Evidence(&f.evidence),
                    Cell::Fix {
                        remediation: &f.remediation,
                        reference: &f.reference,
                    },
                ]
            })
            .collect(),
        empty: "None.",
    }
}

/// The findings the manifest suppressed, with the reason it gives.
pub fn suppressed(report: &Report) -> Table<'_> {
    Table {
        headings: &["Severity", "ID", "Subject", "Title", "Reason"],
        rows: report
            .suppressed()
            .map(|f| {
                let reason = f.suppressed.as_ref().map(|s| s.reason.as_str());
                vec![
                    Cell::Severity(f.severity),
                    Cell::Id(&f.id),
                    Cell::Text(&f.subject),
                    Cell::Text(&f.title),
                    Cell::Text(reason.unwrap_or_default()),
                ]
            })
            .collect(),
        empty: "None.",
    }
}

/// One row per mapped host: its records, TLS summary and paths to the final URL.
pub fn dns_map(report: &Report) -> Table<'_> {
    Table {
        headings: &["Host", "Role", "Records", "TLS", "Paths to the final URL"],
        rows: report.dns_map.iter().map(dns_row).collect(),
        empty: "No hosts were mapped.",
    }
}

fn dns_row(entry: &DnsMapEntry) -> Vec<Cell<'_>> {
    let paths = if entry.paths.is_empty() {
        Paths::Destination(text::final_destination(entry))
    } else {
        Paths::Chains(entry.paths.iter().map(text::path_view).collect())
    };
    vec![
        Cell::Text(&entry.host),
        Cell::Label(&entry.role),
        Cell::Records(text::record_chain(entry)),
        Cell::Tls(entry.tls.as_ref().map(text::tls_view)),
        Cell::Paths(paths),
    ]
}

/// A fix cell's content: the remediation (already escaped by the format), then `See: ` and the reference as the
/// format's link, on a line of its own.
pub fn fix(remediation: String, reference: &str, link: impl Fn(&str) -> String) -> String {
    let mut fix = remediation;
    if !reference.is_empty() {
        if !fix.is_empty() {
            fix.push_str("<br>");
        }
        fix.push_str("See: ");
        fix.push_str(&link(reference));
    }
    fix
}
