//! JUnit XML, the format every CI system shows as test results: one test case per finding, failed when it is at or
//! above the fail-on severity, skipped when suppressed, passed (with its details as output) below the threshold.

use crate::RenderOptions;
use launchready_findings::{Finding, Report};

pub fn render(report: &Report, options: &RenderOptions) -> String {
    let failures = report
        .findings
        .iter()
        .filter(|f| f.is_active() && f.severity >= options.fail_on)
        .count();
    let skipped = report.findings.iter().filter(|f| !f.is_active()).count();
    let tests = report.findings.len().max(1);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"launchready\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"{skipped}\">\n"
    ));
    out.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"{skipped}\" errors=\"0\" timestamp=\"{}\">\n",
        escape(&format!("launchready {}", report.target)),
        escape(&report.generated_at)
    ));
    if report.findings.is_empty() {
        out.push_str("    <testcase classname=\"launchready\" name=\"no findings\"/>\n");
    }
    for finding in &report.findings {
        out.push_str(&case(finding, options));
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

fn case(finding: &Finding, options: &RenderOptions) -> String {
    let name = match &finding.location {
        Some(l) => format!("{}:{}", l.path, l.line),
        None => finding.subject.clone(),
    };
    let mut out = format!(
        "    <testcase classname=\"{}\" name=\"{}\"",
        escape(&finding.id),
        escape(&name)
    );
    let details = details(finding);
    if let Some(suppression) = &finding.suppressed {
        out.push_str(&format!(
            ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
            escape(&suppression.reason)
        ));
    } else if finding.severity >= options.fail_on {
        out.push_str(&format!(
            ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>\n",
            finding.severity.as_str(),
            escape(&finding.title),
            escape(&details)
        ));
    } else {
        out.push_str(&format!(
            ">\n      <system-out>{}</system-out>\n    </testcase>\n",
            escape(&format!(
                "[{}] {}\n{details}",
                finding.severity.as_str(),
                finding.title
            ))
        ));
    }
    out
}

fn details(finding: &Finding) -> String {
    let mut text = finding.evidence.join("\n");
    if !finding.remediation.is_empty() {
        text.push_str(&format!("\nfix: {}", finding.remediation));
    }
    text
}

/// XML text and attribute escaping (attributes are double-quoted, so `'` stays); characters XML 1.0 cannot carry
/// at all are replaced.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' | '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escaping_covers_markup_and_control_characters() {
        assert_eq!(escape("a<b>&\"c'\u{1}"), "a&lt;b&gt;&amp;&quot;c'\u{FFFD}");
        assert_eq!(escape("line\nnext"), "line\nnext");
    }
}
