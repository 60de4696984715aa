//! The terminal format: active findings grouped by roadmap stage, suppressed findings after them, the DNS map host by
//! host (records, the TLS session and certificate, then each entry point's redirect chain to its final URL and
//! status), and a one-line summary last so it is what stays on screen.

use crate::RenderOptions;
use crate::text::{self, PathView, Tone};
use launchready_findings::{Finding, Report, ReportKind, Severity, Stage, Verdict};
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

    /// Statuses by class: 2xx green, 3xx yellow, failures red.
    fn tone_style(tone: Tone) -> Style {
        match tone {
            Tone::Success => Style::new().green(),
            Tone::Redirect => Style::new().yellow(),
            Tone::Failure => Style::new().red().bold(),
            Tone::Neutral => Style::new(),
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
    if report.kind == ReportKind::Audit {
        dns_map(&mut out, &painter, report);
    }

    if let Some((headline, lines)) = text::comparison(report) {
        out.push('\n');
        let _ = writeln!(
            out,
            "{}",
            painter.paint(&one_line(&headline), Style::new().bold())
        );
        for line in lines {
            push_indented(&mut out, &line);
        }
    }

    out.push('\n');
    if let Some(line) = text::score_breakdown(report) {
        let _ = writeln!(out, "{}", one_line(&line));
    }
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

/// The DNS map host by host: the host, its role and its record chain, a dimmed line on its TLS session and
/// certificate when it has one, then each entry point on it as the chain of requests a browser makes,
/// `http://demo.test/  301 → https://demo.test/  200`.
fn dns_map(out: &mut String, painter: &Painter, report: &Report) {
    if report.dns_map.is_empty() {
        out.push_str("DNS map: no hosts were mapped\n");
        return;
    }
    let _ = writeln!(out, "{}", painter.paint("DNS map", Style::new().bold()));
    for entry in &report.dns_map {
        let _ = writeln!(
            out,
            "  {}  {}  {}",
            painter.paint(&one_line(&entry.host), Style::new().bold()),
            painter.paint(
                &format!("({})", one_line(&entry.role)),
                Style::new().dimmed()
            ),
            one_line(&text::record_chain(entry))
        );
        if let Some(tls) = &entry.tls {
            let _ = writeln!(out, "    {}", tls_line(painter, &text::tls_view(tls)));
        }
        if entry.paths.is_empty() {
            let _ = writeln!(out, "    {}", one_line(&text::final_destination(entry)));
            continue;
        }
        let views: Vec<PathView<'_>> = entry.paths.iter().map(text::path_view).collect();
        // Start URLs are padded to the widest on the host, so the first statuses line up.
        let start_width = views
            .iter()
            .filter_map(|view| view.steps.first())
            .map(|step| one_line(step.url).chars().count())
            .max()
            .unwrap_or(0);
        for view in &views {
            let _ = writeln!(out, "    {}", path_line(painter, view, start_width));
        }
    }
}

/// `TLS  TLSv1.3 h2 · EC 256 · O=Let's Encrypt, CN=R11 · until 2027-01-15 · names www.demo.test, demo.test`, dimmed,
/// then ` · ✗ expired` in red when the certificate did not verify. A valid certificate adds nothing: the line is a
/// fact sheet, not a finding. To stay one line, it lists the first few names and counts the rest.
fn tls_line(painter: &Painter, view: &text::TlsView<'_>) -> String {
    let facts = view
        .facts()
        .iter()
        .map(|fact| one_line(fact))
        .collect::<Vec<_>>()
        .join(" · ");
    let mut line = painter.paint(&format!("TLS  {facts}"), Style::new().dimmed());
    if view.problem.is_some() {
        let _ = write!(
            line,
            "{}{}",
            painter.paint(" · ", Style::new().dimmed()),
            painter.paint(&one_line(&view.verdict()), Painter::tone_style(view.tone()))
        );
    }
    line
}

/// `url  301 → url  200`, the first URL padded to `start_width`, then the ending if the steps do not tell it.
fn path_line(painter: &Painter, view: &PathView<'_>, start_width: usize) -> String {
    let mut line = String::new();
    for (i, step) in view.steps.iter().enumerate() {
        let url = one_line(step.url);
        if i == 0 {
            line.push_str(&url);
        } else {
            let _ = write!(line, " {} {url}", painter.paint("→", Style::new().dimmed()));
        }
        let outcome = one_line(&step.outcome.text());
        if outcome.is_empty() {
            continue;
        }
        // Padding goes outside the paint so escape sequences never count towards the width.
        let padding = if i == 0 {
            start_width.saturating_sub(url.chars().count())
        } else {
            0
        };
        let _ = write!(
            line,
            "{:padding$}  {}",
            "",
            painter.paint(&outcome, Painter::tone_style(step.outcome.tone()))
        );
    }
    if let Some(ending) = view.ending {
        let _ = write!(
            line,
            "  {}",
            painter.paint(
                &one_line(&ending.text()),
                Painter::tone_style(ending.tone())
            )
        );
    }
    line
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
    use launchready_findings::{MapHop, MapPath};

    #[test]
    fn one_line_flattens_breaks_and_defuses_escape_sequences() {
        assert_eq!(one_line("a\r\nb\tc"), "a  b c");
        assert_eq!(one_line("\u{1b}[31mred"), "\\u{1b}[31mred");
    }

    fn view(end: &str, hops: &[(&str, u16)]) -> String {
        let hops = hops
            .iter()
            .map(|&(url, status)| MapHop::new(url, Some(status), None))
            .collect();
        let path = MapPath::from_hops(end, hops);
        path_line(&Painter { color: false }, &text::path_view(&path), 16)
    }

    #[test]
    fn path_lines_pad_the_start_and_say_how_following_stopped() {
        assert_eq!(
            view(
                "final",
                &[("http://a.test/", 301), ("https://a.test/", 200)]
            ),
            "http://a.test/    301 → https://a.test/  200"
        );
        assert_eq!(
            view("loop", &[("http://a.test/", 301), ("https://a.test/", 302)]),
            "http://a.test/    301 → https://a.test/  302  ↻ loop"
        );
        assert_eq!(
            view(
                "too_many_hops",
                &[("http://a.test/", 301), ("http://a.test/1", 301)]
            ),
            "http://a.test/    301 → http://a.test/1  301  … gave up after 2 hops"
        );
    }

    #[test]
    fn coloured_statuses_follow_their_class() {
        let painter = Painter { color: true };
        let path = MapPath::from_hops(
            "final",
            vec![MapHop::new("http://a.test/", Some(200), None)],
        );
        let line = path_line(&painter, &text::path_view(&path), 0);
        assert!(line.contains("\u{1b}[32m200"), "{line:?}");
    }
}
