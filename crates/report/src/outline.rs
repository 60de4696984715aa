//! The order of the human risk lists: the tally, where the report came from, how the score is made up, what
//! changed since the previous run, the two fix windows, the suppressed findings and the DNS map. Markdown and HTML
//! write the same sections in the same order and differ only in markup, so a new section is added once.

use crate::RenderOptions;
use crate::table::{self, Table};
use crate::text;
use launchready_findings::{Finding, FixWindow, Report, ReportKind};

/// How a format writes each kind of block: the text that opens and closes it, and how raw text is escaped.
pub struct Markup {
    pub escape: fn(&str) -> String,
    /// A section heading.
    pub heading: (&'static str, &'static str),
    pub paragraph: (&'static str, &'static str),
    /// A secondary line: where the report came from, how the score is made up.
    pub note: (&'static str, &'static str),
    /// Around the whole list, then around each item.
    pub list: (&'static str, &'static str),
    pub item: (&'static str, &'static str),
    /// Before a table, which `write_table` then writes.
    pub before_table: &'static str,
    pub write_table: fn(&mut String, &Table<'_>),
}

impl Markup {
    fn block(&self, out: &mut String, (open, close): (&str, &str), text: &str) {
        out.push_str(open);
        out.push_str(&(self.escape)(text));
        out.push_str(close);
    }

    fn list(&self, out: &mut String, items: &[String]) {
        out.push_str(self.list.0);
        for item in items {
            self.block(out, self.item, item);
        }
        out.push_str(self.list.1);
    }

    fn table(&self, out: &mut String, table: &Table<'_>) {
        out.push_str(self.before_table);
        (self.write_table)(out, table);
    }
}

/// Everything below the headline, in order.
pub fn sections(out: &mut String, report: &Report, options: &RenderOptions, markup: &Markup) {
    let tally = format!(
        "{}. {}.",
        text::counts(&report.counts),
        text::fail_on(report, options.fail_on)
    );
    markup.block(out, markup.paragraph, &tally);
    let audited = format!(
        "Audited {} by {} {}.",
        report.generated_at, report.tool.name, report.tool.version
    );
    markup.block(out, markup.note, &audited);
    if let Some(line) = text::score_breakdown(report) {
        markup.block(out, markup.note, &format!("{line}."));
    }
    if let Some((headline, lines)) = text::comparison(report) {
        markup.block(out, markup.heading, "Since the previous run");
        markup.block(out, markup.paragraph, &format!("{headline}."));
        if !lines.is_empty() {
            markup.list(out, &lines);
        }
    }
    for window in [FixWindow::Now, FixWindow::AfterLaunch] {
        markup.block(out, markup.heading, window.title());
        let findings: Vec<&Finding> = report.active().filter(|f| f.fix_window == window).collect();
        markup.table(out, &table::findings(&findings));
    }
    markup.block(out, markup.heading, "Suppressed");
    markup.table(out, &table::suppressed(report));
    if report.kind == ReportKind::Audit {
        markup.block(out, markup.heading, "DNS map");
        markup.table(out, &table::dns_map(report));
    }
}
