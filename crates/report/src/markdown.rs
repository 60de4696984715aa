//! The Markdown risk list: what must be fixed before launch, what can wait, what was knowingly suppressed, and the
//! DNS map (records, the TLS session and certificate, and each entry point's redirect chain to its final URL), as
//! GitHub-flavoured Markdown tables for a PR comment or a handover document.

use crate::RenderOptions;
use crate::outline::{self, Markup};
use crate::table::{self, Cell, Paths, Table};
use crate::text;
use launchready_findings::Report;
use std::fmt::Write as _;

pub fn render(report: &Report, options: &RenderOptions) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}", inline(&text::headline(report)));
    outline::sections(&mut out, report, options, &MARKDOWN);
    out
}

/// Blocks set off from the one before by a blank line.
const MARKDOWN: Markup = Markup {
    escape: inline,
    heading: ("\n## ", "\n"),
    paragraph: ("\n", "\n"),
    note: ("\n", "\n"),
    list: ("\n", ""),
    item: ("- ", "\n"),
    before_table: "\n",
    write_table: table,
};

/// A table as GitHub-flavoured Markdown; an empty one is its `empty` sentence in italics.
fn table(out: &mut String, table: &Table<'_>) {
    if table.rows.is_empty() {
        let _ = writeln!(out, "_{}_", table.empty);
        return;
    }
    let _ = writeln!(out, "| {} |", table.headings.join(" | "));
    let _ = writeln!(out, "|{}", " --- |".repeat(table.headings.len()));
    for row in &table.rows {
        let cells: Vec<String> = row.iter().map(table_cell).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
}

/// One cell on one line: multi-line content is joined with `<br>`. The DNS map's TLS cell sums up the session and
/// certificate; its paths cell holds one redirect chain per entry point, `url `301` → url `200``.
fn table_cell(content: &Cell<'_>) -> String {
    match content {
        Cell::Severity(severity) => severity.to_string(),
        Cell::Id(id) => code(id),
        Cell::Text(text) | Cell::Label(text) => cell(text),
        Cell::Records(records) => cell(records),
        Cell::Evidence(lines) => lines
            .iter()
            .map(|line| cell(line))
            .collect::<Vec<_>>()
            .join("<br>"),
        Cell::Fix {
            remediation,
            reference,
        } => table::fix(cell(remediation), reference, link),
        Cell::Tls(None) => "—".to_string(),
        Cell::Tls(Some(view)) => tls_cell(view),
        Cell::Paths(Paths::Destination(destination)) => cell(destination),
        Cell::Paths(Paths::Chains(chains)) => chains
            .iter()
            .map(path_chain)
            .collect::<Vec<_>>()
            .join("<br>"),
    }
}

/// The TLS facts one per line, `TLSv1.3 h2 · EC 256<br>issuer<br>until 2027-01-15<br>names …<br>✓ valid`, with a
/// failed verification in bold. Everything but the fixed words comes from the certificate and is escaped.
fn tls_cell(view: &text::TlsView<'_>) -> String {
    let mut first = cell(&view.session);
    if let Some(key) = view.key {
        first.push_str(" · ");
        first.push_str(&cell(key));
    }
    let mut lines = vec![first];
    lines.extend(view.issuer.map(cell));
    lines.push(cell(&format!("until {}", view.until)));
    lines.push(cell(&view.names(None)));
    let verdict = cell(&view.verdict());
    lines.push(if view.problem.is_some() {
        format!("**{verdict}**")
    } else {
        verdict
    });
    lines.join("<br>")
}

/// A path as one cell line. Statuses are code spans so they stand out from the URLs; they are digits only, so
/// nothing in them needs escaping. Errors and URLs come from the audit and are escaped.
fn path_chain(view: &text::PathView<'_>) -> String {
    let mut chain = String::new();
    for (i, step) in view.steps.iter().enumerate() {
        if i > 0 {
            chain.push_str(" → ");
        }
        chain.push_str(&cell(step.url));
        match step.outcome {
            text::Outcome::Status(status) => {
                let _ = write!(chain, " `{status}`");
            }
            text::Outcome::NotRequested => {}
            outcome => {
                chain.push(' ');
                chain.push_str(&cell(&outcome.text()));
            }
        }
    }
    if let Some(ending) = view.ending {
        chain.push(' ');
        chain.push_str(&cell(&ending.text()));
    }
    chain
}

/// Escapes text for a table cell: line breaks become `<br>` so the row stays one line, and pipes and Markdown
/// punctuation are backslash-escaped. Evidence is copied from the audited site, so a stray `|`, `<` or `[` must
/// neither break the table nor inject HTML or links.
pub(crate) fn cell(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                escaped.push_str("<br>");
            }
            '\n' => escaped.push_str("<br>"),
            // `>` is left alone: it only quotes at the start of a line, which a cell or heading never is.
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '|' | '&' => {
                escaped.push('\\');
                escaped.push(c);
            }
            c => escaped.push(c),
        }
    }
    escaped
}

/// Escapes text outside tables (headings, paragraphs), where a line break would end the block.
fn inline(text: &str) -> String {
    cell(&text.replace(['\r', '\n'], " "))
}

/// Finding ids are stable dotted names and read best as code; anything odd enough to need escaping falls back to
/// plain escaped text, because backslash escapes do not work inside code spans.
fn code(text: &str) -> String {
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '/'));
    if plain && !text.is_empty() {
        format!("`{text}`")
    } else {
        cell(text)
    }
}

/// An http(s) URL as an autolink; anything else as escaped text so no other scheme becomes clickable.
fn link(url: &str) -> String {
    let safe = (url.starts_with("https://") || url.starts_with("http://"))
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>'));
    if safe {
        // GFM splits table cells before parsing autolinks and drops the backslash from `\|` when it does.
        format!("<{}>", url.replace('|', "\\|"))
    } else {
        cell(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_keeps_a_row_on_one_line_and_pipes_inside_it() {
        assert_eq!(cell("a|b\nc\r\nd"), "a\\|b<br>c<br>d");
        assert_eq!(cell("<script>"), "\\<script>");
        assert_eq!(cell("back\\slash"), "back\\\\slash");
    }

    #[test]
    fn only_plain_ids_become_code_spans() {
        assert_eq!(code("tls.cert.expired"), "`tls.cert.expired`");
        assert_eq!(code("odd`id|x"), "odd\\`id\\|x");
    }

    #[test]
    fn only_http_references_become_links() {
        assert_eq!(link("https://example.com/a"), "<https://example.com/a>");
        assert_eq!(link("javascript:alert(1)"), "javascript:alert(1)");
        assert_eq!(link("https://x/<y>"), "https://x/\\<y>");
    }
}
