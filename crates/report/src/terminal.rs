//! The terminal format: active findings grouped by roadmap stage, suppressed findings after them, the DNS map as a
//! compact table, and a one-line summary last so it is what stays on screen.

use crate::RenderOptions;
use crate::text;
use launchready_findings::{Finding, Report, Severity, Stage, Verdict};
use owo_colors::{OwoColorize, Style};
use std::fmt::Write as _;

/// Width of the widest tag, `[BLOCKER]`, so ids line up whatever the severity.
const TAG_WIDTH: usize = 9;
/// Finding detail lines start under the id.
const DETAIL_INDENT: usize = 2 + TAG_WIDTH + 1;

/// Applies styles only when colour was asked for, so the plain output has no escape sequences at all.
struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, text: &str, style: Style) -> String {
        if self.color {
            text.style(style).to_string()
        } else {
            text.to_string()
        }
    }

    fn severity_style(severity: Severity) -> Style {
        match severity {
            Severity::Blocker => Style::new().bright_white().on_red().bold(),
            Severity::High => Style::new().red().bold(),
            Severity::Medium => Style::new().yellow().bold(),
            Severity::Low => Style::new().blue(),
            Severity::Info => Style::new().dimmed(),
        }
    }

    fn verdict_style(verdict: Verdict) -> Style {
        match verdict {
            Verdict::NotReady => Style::new().red().bold(),
            Verdict::ReadyWithRisks => Style::new().yellow().bold(),
            Verdict::Ready => Style::new().green().bold(),
        }
    }
}

pub fn render(report: &Report, options: &RenderOptions) -> String {
    let painter = Painter {
        color: options.color,
    };
    let mut out = String::new();
    let header = format!(
        "{} {} — {} — {}",
        report.tool.name, report.tool.version, report.target, report.generated_at
    );
    let _ = writeln!(out, "{}", one_line(&header));

    let mut any_active = false;
    for stage in Stage::ALL {
        let findings: Vec<&Finding> = report.active().filter(|f| f.stage == stage).collect();
        if findings.is_empty() {
            continue;
        }
        any_active = true;
        out.push('\n');
        let _ = writeln!(
            out,
            "{}",
            painter.paint(&stage.to_string(), Style::new().bold())
        );
        for finding in findings {
            finding_lines(&mut out, &painter, finding);
        }
    }
    if !any_active {
        out.push('\n');
        out.push_str("No active findings.\n");
    }

    let suppressed: Vec<&Finding> = report.suppressed().collect();
    if !suppressed.is_empty() {
        out.push('\n');
        let heading = format!("Suppressed ({})", suppressed.len());
        let _ = writeln!(out, "{}", painter.paint(&heading, Style::new().bold()));
        for finding in suppressed {
            finding_head(&mut out, &painter, finding);
            let reason = finding
                .suppressed
                .as_ref()
                .map(|s| s.reason.as_str())
                .unwrap_or_default();
            push_indented(&mut out, &format!("reason: {reason}"));
        }
    }

    out.push('\n');
    dns_map(&mut out, &painter, report);

    out.push('\n');
    let _ = writeln!(out, "{}", text::fail_on(report, options.fail_on));
    let _ = writeln!(
        out,
        "{}",
        painter.paint(
            &one_line(&text::summary(report)),
            Painter::verdict_style(report.verdict)
        )
    );
    out
}

/// `  [HIGH]    dns.host.missing  admin.demo.test — title`
fn finding_head(out: &mut String, painter: &Painter, finding: &Finding) {
    let tag = format!("[{}]", finding.severity.as_str().to_uppercase());
    // Padding is computed on the bare tag and kept outside the paint, so escape sequences never count towards the
    // width and a background colour does not run into the gap.
    let padding = TAG_WIDTH.saturating_sub(tag.len());
    let _ = writeln!(
        out,
        "  {}{:padding$} {}  {} — {}",
        painter.paint(&tag, Painter::severity_style(finding.severity)),
        "",
        painter.paint(&one_line(&finding.id), Style::new().bold()),
        one_line(&finding.subject),
        one_line(&finding.title)
    );
}

fn finding_lines(out: &mut String, painter: &Painter, finding: &Finding) {
    finding_head(out, painter, finding);
    for line in &finding.evidence {
        push_indented(out, line);
    }
    if !finding.remediation.is_empty() {
        push_indented(out, &format!("fix: {}", finding.remediation));
    }
    if !finding.reference.is_empty() {
        push_indented(out, &format!("see: {}", finding.reference));
    }
}

/// Indents every line of `text`, so a multi-line evidence string cannot break out of its finding's block.
fn push_indented(out: &mut String, text: &str) {
    for line in text.lines() {
        let _ = writeln!(
            out,
            "{:indent$}{}",
            "",
            one_line(line),
            indent = DETAIL_INDENT
        );
    }
}

fn dns_map(out: &mut String, painter: &Painter, report: &Report) {
    if report.dns_map.is_empty() {
        out.push_str("DNS map: no hosts were mapped\n");
        return;
    }
    let _ = writeln!(out, "{}", painter.paint("DNS map", Style::new().bold()));
    let header = ["HOST", "ROLE", "RECORDS", "FINAL URL"].map(str::to_string);
    let rows: Vec<[String; 4]> = report
        .dns_map
        .iter()
        .map(|entry| {
            [
                one_line(&entry.host),
                one_line(&entry.role),
                one_line(&text::records(entry).join(", ")),
                one_line(&text::final_destination(entry)),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let table_line = |cells: &[String; 4]| {
        let mut line = String::from(" ");
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            line.push(' ');
            if i + 1 == cells.len() {
                // No padding after the last column: trailing spaces only get in the way of copy and paste.
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$} ");
            }
        }
        line
    };
    let _ = writeln!(
        out,
        "{}",
        painter.paint(&table_line(&header), Style::new().dimmed())
    );
    for row in &rows {
        let _ = writeln!(out, "{}", table_line(row));
    }
}

/// Flattens text that came from the audited site onto one line and makes control characters visible. Line breaks
/// would break the layout; an escape sequence in a hostile `Server` header would otherwise reach the user's terminal,
/// and colourless output is promised to contain none.
fn one_line(text: &str) -> String {
    let mut clean = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\r' | '\n' | '\t' => clean.push(' '),
            c if c.is_control() => clean.extend(c.escape_unicode()),
            c => clean.push(c),
        }
    }
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_flattens_breaks_and_defuses_escape_sequences() {
        assert_eq!(one_line("a\r\nb\tc"), "a  b c");
        assert_eq!(one_line("\u{1b}[31mred"), "\\u{1b}[31mred");
    }
}
