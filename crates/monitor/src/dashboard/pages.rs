//! The dashboard's pages as pure functions of what was read: HTML strings with inline SVG, one stylesheet in the
//! head, no script. Everything from the store or the manifest is escaped, and URLs lose credentials and query
//! values before they are shown.

use super::rollup::Row;
use super::{chart, escape};
use crate::alert::NoticeKind;
use crate::badge::{self, Status};
use crate::checks::Check;
use crate::series::{Bucket, FailureRow, NoticeRow, Span};
use crate::store::Incident;
use regex::Regex;
use std::fmt::Write as _;
use std::sync::LazyLock;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5em 2em;color:#101828}\
a{color:#1d4ed8}nav a{margin-right:1em}table{border-collapse:collapse;font-size:14px}\
td,th{padding:.25em .7em;border-bottom:1px solid #eaecf0;text-align:left;vertical-align:top}\
th{background:#f9fafb}.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
.st{display:inline-block;min-width:5em;padding:0 .4em;border-radius:3px;color:#fff;font-weight:600}\
.up{background:#17803d}.down{background:#b42318}.degraded{background:#b54708}.unknown{background:#667085}\
.muted{color:#667085}.banner{padding:.5em 1em;background:#fffaeb;border:1px solid #fec84b;margin:.5em 0}\
.open{color:#b42318;font-weight:600}pre{white-space:pre-wrap;background:#f9fafb;padding:.5em;max-width:70em}\
.legend span{display:inline-block;width:1em;height:.3em;margin:0 .3em .2em 1em}\
ol.steps{margin:0;padding-left:1.2em;font-size:13px}";

fn head(title: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>{} · launchready monitor</title><style>{STYLE}</style></head><body>\
<nav><a href=\"/\">Checks</a><a href=\"/incidents\">Incidents</a><a href=\"/note\">Incident note</a><a href=\"/metrics\">Metrics</a></nav>",
        escape(title)
    )
}

const FOOT: &str = "</body></html>";

static URL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"[a-z][a-z0-9+.-]*://[^\s<>"'`)]+"#).ok());

/// A URL as shown: no user or password, query values masked, token-like path segments masked.
fn mask_url(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        return crate::redact::text(raw);
    };
    if !url.username().is_empty() {
        let _ = url.set_username("***");
    }
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    if url.query().is_some() {
        let masked: Vec<(String, &str)> = url
            .query_pairs()
            .map(|(key, _)| (key.into_owned(), "***"))
            .collect();
        url.query_pairs_mut().clear().extend_pairs(masked);
    }
    let path = crate::redact::text(url.path());
    url.set_path(&path);
    url.to_string()
}

/// Every URL in `text` masked.
pub(crate) fn mask_urls(text: &str) -> String {
    match URL.as_ref() {
        Some(re) => re
            .replace_all(text, |c: &regex::Captures<'_>| mask_url(&c[0]))
            .into_owned(),
        None => text.to_string(),
    }
}

/// A check id as one path segment.
fn segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~:@".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_string(), |v| format!("{v:.0} ms"))
}

fn pct(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_string(), badge::percent)
}

fn ago(now_ms: i64, at_ms: i64) -> String {
    let seconds = (now_ms - at_ms).max(0) / 1000;
    match seconds {
        s if s < 90 => format!("{s} s ago"),
        s if s < 5400 => format!("{} min ago", s / 60),
        s if s < 172_800 => format!("{} h ago", s / 3600),
        s => format!("{} d ago", s / 86_400),
    }
}

fn duration(ms: i64) -> String {
    let minutes = ms.max(0) / 60_000;
    match minutes {
        m if m < 120 => format!("{m} min"),
        m if m < 2880 => format!("{} h {} min", m / 60, m % 60),
        m => format!("{} d {} h", m / 1440, (m % 1440) / 60),
    }
}

fn status_cell(status: Status) -> String {
    let class = match status {
        Status::Up => "up",
        Status::Down => "down",
        Status::Degraded => "degraded",
        Status::Unknown => "unknown",
    };
    format!("<span class=\"st {class}\">{}</span>", status.word())
}

fn maintenance_banner(html: &mut String, maintenance: &[crate::alert::Maintenance], now: i64) {
    for m in maintenance.iter().filter(|m| m.end_ms > now) {
        let scope = if m.checks.is_empty() {
            "every check".to_string()
        } else {
            m.checks.join(", ")
        };
        let when = if m.start_ms <= now {
            format!("Maintenance now, until {}", crate::format_ms(m.end_ms))
        } else {
            format!(
                "Maintenance from {} to {}",
                crate::format_ms(m.start_ms),
                crate::format_ms(m.end_ms)
            )
        };
        let _ = write!(
            html,
            "<p class=\"banner\">{when} on {}: {} (alerts silenced)</p>",
            escape(&scope),
            escape(&m.reason)
        );
    }
}

/// The main page: a count per status, open incidents, then every check, the troubled first.
pub fn index(
    rows: &[(&Check, Row, Status)],
    open: &[Incident],
    maintenance: &[crate::alert::Maintenance],
    now: i64,
) -> String {
    let mut html = head("Checks");
    html.reserve(rows.len() * 400);
    let count = |s: Status| rows.iter().filter(|(_, _, st)| *st == s).count();
    let _ = write!(
        html,
        "<h1>launchready monitor</h1><p>{} checks: <b>{}</b> up, <b>{}</b> down, <b>{}</b> degraded, {} without data. \
Uptime over the last 24 h (by the hour), latency over the last hour, successful results only.</p>",
        rows.len(),
        count(Status::Up),
        count(Status::Down),
        count(Status::Degraded),
        count(Status::Unknown)
    );
    maintenance_banner(&mut html, maintenance, now);
    if !open.is_empty() {
        let _ = write!(
            html,
            "<p class=\"open\">{} open incident{}: ",
            open.len(),
            if open.len() == 1 { "" } else { "s" }
        );
        for (n, incident) in open.iter().take(10).enumerate() {
            let _ = write!(
                html,
                "{}<a href=\"/check/{}\">{}</a> ({})",
                if n > 0 { ", " } else { "" },
                segment(&incident.check),
                escape(&incident.check),
                escape(&incident.rule)
            );
        }
        html.push_str(" — <a href=\"/incidents\">timeline</a></p>");
    }
    html.push_str(
        "<table id=\"checks\"><tr><th>Check</th><th>Status</th><th>Target</th><th class=\"num\">Uptime 24 h</th>\
<th class=\"num\">p50 1 h</th><th class=\"num\">p95 1 h</th><th>Last run</th><th>Last error</th></tr>",
    );
    let order = |s: Status| match s {
        Status::Down => 0,
        Status::Degraded => 1,
        Status::Unknown => 2,
        Status::Up => 3,
    };
    let mut sorted: Vec<&(&Check, Row, Status)> = rows.iter().collect();
    sorted.sort_by_key(|(_, _, s)| order(*s));
    for (check, row, status) in sorted {
        let last_run = row
            .last
            .as_ref()
            .map_or_else(String::new, |l| ago(now, l.at_ms));
        let error = row
            .last
            .as_ref()
            .filter(|l| !l.ok)
            .and_then(|l| l.error.as_deref())
            .unwrap_or("");
        let _ = write!(
            html,
            "<tr><td><a href=\"/check/{}\">{}</a>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{last_run}</td><td>{}</td></tr>",
            segment(&check.id),
            escape(&check.id),
            if check.critical {
                " <span class=\"muted\">critical</span>"
            } else {
                ""
            },
            status_cell(*status),
            escape(&mask_urls(&check.target())),
            pct(row.uptime_24h),
            ms(row.p50_1h),
            ms(row.p95_1h),
            escape(&mask_urls(error))
        );
    }
    html.push_str("</table>");
    html.push_str(FOOT);
    html
}

fn uptime(buckets: &[Bucket]) -> Option<f64> {
    let (samples, failures) = buckets
        .iter()
        .fold((0, 0), |(s, f), b| (s + b.samples, f + b.failures));
    (samples > 0).then(|| 100.0 * (samples - failures) as f64 / samples as f64)
}

/// What a check's page shows, as read from the store.
#[derive(Debug)]
pub struct CheckView<'a> {
    pub check: &'a Check,
    /// A journey's steps, for links.
    pub steps: &'a [&'a crate::checks::Step],
    pub charts: &'a [(Span, Vec<Bucket>)],
    pub failures: &'a [FailureRow],
    pub incidents: &'a [Incident],
    pub notices: &'a [NoticeRow],
}

/// A check's page: figures per span, the charts, recent failures with their stored context, its incidents.
pub fn check(view: &CheckView<'_>, maintenance: &[crate::alert::Maintenance], now: i64) -> String {
    let CheckView {
        check,
        steps,
        charts,
        failures,
        incidents,
        notices,
    } = *view;
    let mut html = head(&check.id);
    let _ = write!(
        html,
        "<h1>{} <img src=\"/badge/{}.svg\" alt=\"status badge\" height=\"20\"></h1><p>{}{}{}</p>",
        escape(&check.id),
        segment(&check.id),
        escape(&mask_urls(&check.target())),
        if check.critical { " · critical" } else { "" },
        if check.parents.is_empty() {
            String::new()
        } else {
            format!(" · depends on {}", escape(&check.parents.join(", ")))
        }
    );
    let relevant: Vec<_> = maintenance
        .iter()
        .filter(|m| m.checks.is_empty() || m.checks.contains(&check.id))
        .cloned()
        .collect();
    maintenance_banner(&mut html, &relevant, now);
    if !steps.is_empty() {
        html.push_str("<p>Steps:");
        for (n, step) in steps.iter().enumerate() {
            let _ = write!(
                html,
                "{} <a href=\"/check/{}\">{}</a>",
                if n > 0 { " ·" } else { "" },
                segment(&step.id),
                escape(&step.name)
            );
        }
        html.push_str("</p>");
    }
    html.push_str("<table><tr><th>Window</th><th class=\"num\">Results</th><th class=\"num\">Failed</th><th class=\"num\">Uptime</th></tr>");
    for (span, buckets) in charts {
        let samples: i64 = buckets.iter().map(|b| b.samples).sum();
        let failed: i64 = buckets.iter().map(|b| b.failures).sum();
        let _ = write!(
            html,
            "<tr><td>{}</td><td class=\"num\">{samples}</td><td class=\"num\">{failed}</td><td class=\"num\">{}</td></tr>",
            span.label,
            pct(uptime(buckets))
        );
    }
    html.push_str("</table>");
    let _ = write!(
        html,
        "<p class=\"legend\"><span style=\"background:{}\"></span>p50<span style=\"background:{}\"></span>p95<span style=\"background:{}\"></span>failed results</p>",
        chart::P50,
        chart::P95,
        chart::FAILED
    );
    for (span, buckets) in charts {
        let minutes = span.bucket_ms / 60_000;
        let _ = write!(
            html,
            "<h2>Last {} <span class=\"muted\">({} buckets)</span></h2>{}",
            span.label,
            if minutes >= 60 {
                format!("{}-hour", minutes / 60)
            } else {
                format!("{minutes}-minute")
            },
            chart::latency(
                &format!("chart-{}", span.label.replace(' ', "")),
                span,
                buckets,
                now
            )
        );
    }
    html.push_str("<h2>Recent failures</h2>");
    if failures.is_empty() {
        html.push_str("<p class=\"muted\">No failure is stored for this check.</p>");
    } else {
        html.push_str("<table id=\"failures\"><tr><th>When</th><th>Status</th><th>Error</th><th>Context (masked)</th></tr>");
        for f in failures {
            let _ = write!(
                html,
                "<tr><td>{}<br><span class=\"muted\">{}</span></td><td>{}</td><td>{}{}{}</td><td>{}</td></tr>",
                crate::format_ms(f.at_ms),
                ago(now, f.at_ms),
                f.status.map_or_else(|| "–".to_string(), |s| s.to_string()),
                f.error_kind
                    .as_deref()
                    .map_or_else(String::new, |k| format!("<b>{}</b> ", escape(k))),
                escape(&mask_urls(f.error.as_deref().unwrap_or(""))),
                if f.step.is_empty() {
                    String::new()
                } else {
                    format!(
                        "<br><span class=\"muted\">{}</span>",
                        escape(&mask_urls(&f.step))
                    )
                },
                f.context.as_deref().map_or_else(String::new, |c| format!(
                    "<details><summary>request and response</summary><pre>{}</pre></details>",
                    escape(&mask_urls(c))
                ))
            );
        }
        html.push_str("</table>");
    }
    html.push_str("<h2>Incidents</h2>");
    incident_list(&mut html, incidents, notices, now);
    html.push_str(FOOT);
    html
}

/// An incident's timeline: each notice (fired, reminders, resolved) with where it went and whether it arrived.
fn steps(html: &mut String, incident: &Incident, notices: &[NoticeRow]) {
    let mine: Vec<&NoticeRow> = notices
        .iter()
        .filter(|n| {
            n.rule == incident.rule && n.check == incident.check && n.since_ms == incident.since_ms
        })
        .collect();
    html.push_str("<ol class=\"steps\">");
    let _ = write!(
        html,
        "<li>{} started</li>",
        crate::format_ms(incident.since_ms)
    );
    for notice in mine {
        let kind = match notice.kind {
            NoticeKind::Firing => "alert",
            NoticeKind::Reminder => "reminder",
            NoticeKind::Resolved => "resolved notice",
        };
        let delivery = match (notice.delivered_ms, &notice.last_error) {
            (Some(at), _) => format!("delivered {}", crate::format_ms(at)),
            (None, Some(error)) => format!(
                "<span class=\"open\">not delivered</span> after {} attempt{}: {}",
                notice.attempts,
                if notice.attempts == 1 { "" } else { "s" },
                escape(&mask_urls(error))
            ),
            (None, None) => "waiting to be sent".to_string(),
        };
        let _ = write!(
            html,
            "<li>{} {kind} to {}: {delivery}</li>",
            crate::format_ms(notice.created_ms),
            escape(&notice.channel)
        );
    }
    if let Some(at) = incident.resolved_ms {
        let _ = write!(html, "<li>{} resolved</li>", crate::format_ms(at));
    }
    html.push_str("</ol>");
}

fn incident_list(html: &mut String, incidents: &[Incident], notices: &[NoticeRow], now: i64) {
    if incidents.is_empty() {
        html.push_str("<p class=\"muted\">None.</p>");
        return;
    }
    html.push_str("<table class=\"incidents\"><tr><th>Rule</th><th>Check</th><th>State</th><th>Lasted</th><th>Timeline</th><th>Summary</th></tr>");
    for incident in incidents {
        let (state, lasted) = match incident.resolved_ms {
            Some(at) => ("resolved".to_string(), duration(at - incident.since_ms)),
            None => (
                "<span class=\"open\">open</span>".to_string(),
                format!("{} so far", duration(now - incident.since_ms)),
            ),
        };
        let _ = write!(
            html,
            "<tr><td>{}</td><td><a href=\"/check/{}\">{}</a></td><td>{state}</td><td>{lasted}</td><td>",
            escape(&incident.rule),
            segment(&incident.check),
            escape(&incident.check),
        );
        steps(html, incident, notices);
        let _ = write!(
            html,
            "</td><td><details><summary>message</summary><pre>{}</pre></details></td></tr>",
            escape(&mask_urls(&incident.summary))
        );
    }
    html.push_str("</table>");
}

/// Open and past incidents: a seven-day timeline, then the lists.
pub fn incidents(
    all: &[Incident],
    notices: &[NoticeRow],
    maintenance: &[crate::alert::Maintenance],
    now: i64,
) -> String {
    let mut html = head("Incidents");
    html.push_str("<h1>Incidents</h1>");
    maintenance_banner(&mut html, maintenance, now);
    let _ = write!(
        html,
        "<h2>Last 7 days</h2>{}",
        chart::timeline(all, 7 * 86_400_000, now)
    );
    let (open, past): (Vec<Incident>, Vec<Incident>) =
        all.iter().cloned().partition(|i| i.resolved_ms.is_none());
    html.push_str("<h2>Open</h2>");
    incident_list(&mut html, &open, notices, now);
    html.push_str("<h2>Past</h2>");
    incident_list(&mut html, &past, notices, now);
    html.push_str(FOOT);
    html
}

/// Inline Markdown of the note: `code` and **bold**, the rest escaped. A mask (`***`) is text, not emphasis.
fn inline(text: &str) -> String {
    const MASK: char = '\u{1}';
    let text = text.replace("***", &MASK.to_string());
    let mut out = String::new();
    for (n, part) in text.split('`').enumerate() {
        if n % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", escape(part));
        } else {
            for (m, piece) in part.split("**").enumerate() {
                if m % 2 == 1 {
                    let _ = write!(out, "<b>{}</b>", escape(piece));
                } else {
                    out.push_str(&escape(piece));
                }
            }
        }
    }
    out.replace(MASK, "***")
}

/// The incident note: its Markdown (headings, list items, paragraphs) as HTML, URLs masked.
pub fn note(markdown: &str) -> String {
    let markdown = mask_urls(markdown);
    let mut html = head("Incident note");
    html.push_str("<article id=\"note\">");
    let mut in_list = false;
    for line in markdown.lines() {
        let item = line.strip_prefix("- ");
        if item.is_none() && in_list {
            html.push_str("</ul>");
            in_list = false;
        }
        if let Some(text) = line.strip_prefix("## ") {
            let _ = write!(html, "<h2>{}</h2>", inline(text));
        } else if let Some(text) = line.strip_prefix("# ") {
            let _ = write!(html, "<h1>{}</h1>", inline(text));
        } else if let Some(text) = item {
            if !in_list {
                html.push_str("<ul>");
                in_list = true;
            }
            let _ = write!(html, "<li>{}</li>", inline(text));
        } else if !line.trim().is_empty() {
            let _ = write!(html, "<p>{}</p>", inline(line));
        }
    }
    if in_list {
        html.push_str("</ul>");
    }
    html.push_str("</article>");
    html.push_str(FOOT);
    html
}

pub fn error_page(message: &str) -> String {
    let mut html = head("Not available");
    let _ = write!(html, "<p>{}</p>", escape(message));
    html.push_str(FOOT);
    html
}

fn label(id: &str) -> String {
    id.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `/metrics` in Prometheus text format.
pub fn metrics<'a>(rows: impl Iterator<Item = (&'a Check, Row)>, open_incidents: usize) -> String {
    let mut up = String::from(
        "# HELP launchready_check_up Whether the check's last result was up.\n# TYPE launchready_check_up gauge\n",
    );
    let mut last = String::from(
        "# HELP launchready_check_duration_ms The check's last duration in milliseconds.\n# TYPE launchready_check_duration_ms gauge\n",
    );
    let mut uptime = String::from(
        "# HELP launchready_check_uptime_ratio Share of the check's results over the last 24 h that were up.\n# TYPE launchready_check_uptime_ratio gauge\n",
    );
    let mut p95 = String::from(
        "# HELP launchready_check_p95_ms p95 of the check's successful durations over the last hour.\n# TYPE launchready_check_p95_ms gauge\n",
    );
    for (check, row) in rows {
        let Some(l) = &row.last else {
            continue;
        };
        let name = label(&check.id);
        let _ = writeln!(
            up,
            "launchready_check_up{{check=\"{name}\"}} {}",
            u8::from(l.ok)
        );
        let _ = writeln!(
            last,
            "launchready_check_duration_ms{{check=\"{name}\"}} {}",
            l.duration_ms
        );
        if let Some(u) = row.uptime_24h {
            let _ = writeln!(
                uptime,
                "launchready_check_uptime_ratio{{check=\"{name}\"}} {}",
                u / 100.0
            );
        }
        if let Some(p) = row.p95_1h {
            let _ = writeln!(p95, "launchready_check_p95_ms{{check=\"{name}\"}} {p}");
        }
    }
    format!(
        "{up}{last}{uptime}{p95}# HELP launchready_open_incidents Incidents not resolved.\n# TYPE launchready_open_incidents gauge\nlaunchready_open_incidents {open_incidents}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials_and_query_values() {
        let shown = mask_urls(
            "webhook https://bot:hunter22@hooks.example.com/x?token=abc&room=ops then https://ntfy.example/alerts",
        );
        assert!(
            !shown.contains("hunter22") && !shown.contains("abc") && !shown.contains("bot:"),
            "{shown}"
        );
        assert!(
            shown.contains("hooks.example.com/x?token=***&room=***"),
            "{shown}"
        );
        assert!(shown.contains("https://ntfy.example/alerts"), "{shown}");
        let discord = format!(
            "https://discord.example/api/webhooks/123/{}",
            "Ab9".repeat(20)
        );
        assert!(!mask_urls(&discord).contains(&"Ab9".repeat(20)));
    }

    #[test]
    fn the_note_becomes_headings_and_lists() {
        let page = note(
            "# Incident note: x\n\n## Open now\n\n- **p95** on `route:login` since t, https://a:b@h/x?k=v\n\nNo rollback <script>.\n",
        );
        assert!(page.contains("<h1>Incident note: x</h1><h2>Open now</h2><ul><li><b>p95</b> on <code>route:login</code> since t, https://***:***@h/x?k=***</li></ul><p>No rollback &lt;script&gt;.</p>"), "{page}");
    }

    #[test]
    fn ids_are_one_path_segment() {
        assert_eq!(segment("route:login"), "route:login");
        assert_eq!(segment("flow:sign up/pay"), "flow:sign%20up%2Fpay");
    }
}
