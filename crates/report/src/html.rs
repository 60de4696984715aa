//! The HTML risk list: the Markdown format's content (including the DNS map's TLS facts and redirect chains) as one
//! self-contained page (inline CSS, no scripts, no external assets) that can be mailed or archived and still open
//! years later.

use crate::RenderOptions;
use crate::outline::{self, Markup};
use crate::table::{self, Cell, Paths, Table};
use crate::text;
use launchready_findings::{Report, Severity, Verdict};
use std::fmt::Write as _;

/// Kept small and print-friendly; severity colours match the terminal's.
const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1f2328;background:#fff}
main{max-width:72rem;margin:0 auto;padding:1.5rem}
h1{font-size:1.5rem;margin:0 0 .5rem}
h2{font-size:1.2rem;margin:2rem 0 .5rem;border-bottom:1px solid #d0d7de;padding-bottom:.25rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.4rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85em}
ul.evidence{margin:0;padding-left:1rem}
.meta{color:#59636e}
.verdict-not-ready{color:#b42318}
.verdict-ready-with-risks{color:#9a6700}
.verdict-ready{color:#1a7f37}
.sev{display:inline-block;padding:0 .4rem;border-radius:.25rem;font-weight:600;font-size:.8rem}
.sev-blocker{background:#b42318;color:#fff}
.sev-high{background:#fde2e1;color:#b42318}
.sev-medium{background:#fff1c2;color:#7a5200}
.sev-low{background:#ddf4ff;color:#0550ae}
.sev-info{background:#eaeef2;color:#424a53}
ul.paths{margin:0;padding-left:0;list-style:none}
ul.paths li{margin:.1rem 0}
.arrow{color:#59636e}
.st{font-weight:600;white-space:nowrap}
.st-ok{color:#1a7f37}
.st-redirect{color:#9a6700}
.st-fail{color:#b42318}
";

pub fn render(report: &Report, options: &RenderOptions) -> String {
    let headline = escape(&text::headline(report));
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    // Belt and braces for a page full of text copied from a remote site: even if escaping ever missed something, the
    // browser would refuse to run scripts or fetch anything.
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
    );
    let _ = writeln!(out, "<title>{headline}</title>");
    let _ = writeln!(out, "<style>\n{STYLE}</style>");
    out.push_str("</head>\n<body>\n<main>\n");

    let _ = writeln!(
        out,
        "<h1 class=\"{}\">{headline}</h1>",
        verdict_class(report.verdict)
    );
    outline::sections(&mut out, report, options, &HTML);
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// One element a line.
const HTML: Markup = Markup {
    escape,
    heading: ("<h2>", "</h2>\n"),
    paragraph: ("<p>", "</p>\n"),
    note: ("<p class=\"meta\">", "</p>\n"),
    list: ("<ul>\n", "</ul>\n"),
    item: ("<li>", "</li>\n"),
    before_table: "",
    write_table: table,
};

fn verdict_class(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::NotReady => "verdict-not-ready",
        Verdict::ReadyWithRisks => "verdict-ready-with-risks",
        Verdict::Ready => "verdict-ready",
    }
}

fn severity_badge(severity: Severity) -> String {
    let severity = severity.as_str();
    format!("<span class=\"sev sev-{severity}\">{severity}</span>")
}

/// A table as HTML; an empty one is its `empty` sentence.
fn table(out: &mut String, table: &Table<'_>) {
    if table.rows.is_empty() {
        let _ = writeln!(out, "<p class=\"meta\">{}</p>", table.empty);
        return;
    }
    out.push_str("<table>\n<thead><tr>");
    for heading in table.headings {
        let _ = write!(out, "<th>{heading}</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &table.rows {
        out.push_str("<tr>");
        for content in row {
            let _ = write!(out, "<td>{}</td>", table_cell(content));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// One cell's content. The DNS map's paths cell lists each entry point as the chain of requests a browser makes.
fn table_cell(content: &Cell<'_>) -> String {
    match content {
        Cell::Severity(severity) => severity_badge(*severity),
        Cell::Id(id) => format!("<code>{}</code>", escape(id)),
        Cell::Text(text) => multiline(text),
        Cell::Label(label) => escape(label),
        Cell::Records(records) => format!("<code>{}</code>", multiline(records)),
        Cell::Evidence([]) => String::new(),
        Cell::Evidence(lines) => {
            let items: String = lines
                .iter()
                .map(|line| format!("<li>{}</li>", multiline(line)))
                .collect();
            format!("<ul class=\"evidence\">{items}</ul>")
        }
        Cell::Fix {
            remediation,
            reference,
        } => table::fix(multiline(remediation), reference, link),
        Cell::Tls(None) => "<span class=\"meta\">—</span>".to_string(),
        Cell::Tls(Some(view)) => tls_cell(view),
        Cell::Paths(Paths::Destination(destination)) => {
            format!("<span class=\"meta\">{}</span>", multiline(destination))
        }
        Cell::Paths(Paths::Chains(chains)) => {
            let items: String = chains
                .iter()
                .map(|chain| format!("<li>{}</li>", path_chain(chain)))
                .collect();
            format!("<ul class=\"paths\">{items}</ul>")
        }
    }
}

/// The TLS facts one per line: session and key, issuer, expiry (the day, with the full instant in `datetime`), names,
/// and the verification tinted green or red. All of it but the fixed words comes from the certificate and is escaped.
fn tls_cell(view: &text::TlsView<'_>) -> String {
    let mut first = format!("<code>{}</code>", multiline(&view.session));
    if let Some(key) = view.key {
        let _ = write!(first, " · {}", multiline(key));
    }
    let mut lines = vec![first];
    lines.extend(view.issuer.map(multiline));
    lines.push(format!(
        "until <time datetime=\"{}\">{}</time>",
        escape(view.not_after),
        multiline(view.until)
    ));
    lines.push(multiline(&view.names(None)));
    lines.push(tinted(&view.verdict(), view.tone()));
    lines.join("<br>")
}

/// `<code>url</code> <span class="st st-redirect">301</span> → …`, statuses and endings tinted by class.
fn path_chain(view: &text::PathView<'_>) -> String {
    let mut chain = String::new();
    for (i, step) in view.steps.iter().enumerate() {
        if i > 0 {
            chain.push_str(" <span class=\"arrow\">→</span> ");
        }
        let _ = write!(chain, "<code>{}</code>", multiline(step.url));
        let outcome = step.outcome.text();
        if !outcome.is_empty() {
            let _ = write!(chain, " {}", tinted(&outcome, step.outcome.tone()));
        }
    }
    if let Some(ending) = view.ending {
        let _ = write!(chain, " {}", tinted(&ending.text(), ending.tone()));
    }
    chain
}

fn tinted(text: &str, tone: text::Tone) -> String {
    format!(
        "<span class=\"st st-{}\">{}</span>",
        tone.as_str(),
        multiline(text)
    )
}

/// Escapes text for element content and double- or single-quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Escaped text whose line breaks stay visible.
fn multiline(text: &str) -> String {
    escape(text)
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', "<br>")
}

/// An http(s) reference as a link; any other scheme (`javascript:`) stays inert text.
fn link(url: &str) -> String {
    if url.starts_with("https://") || url.starts_with("http://") {
        let url = escape(url);
        format!("<a href=\"{url}\" rel=\"noopener noreferrer\">{url}</a>")
    } else {
        escape(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_content_and_attributes() {
        assert_eq!(
            escape(r#"<a href="x" title='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn only_http_references_become_links() {
        assert_eq!(
            link("https://e.test/?a=1&b=\"2\""),
            "<a href=\"https://e.test/?a=1&amp;b=&quot;2&quot;\" rel=\"noopener noreferrer\">https://e.test/?a=1&amp;b=&quot;2&quot;</a>"
        );
        assert_eq!(link("javascript:alert(1)"), "javascript:alert(1)");
    }
}
