//! The HTML report: one self-contained page (inline CSS and SVG, no scripts, nothing fetched) with latency over
//! time, requests and errors per second, the percentile distribution (corrected against as sent), thresholds and
//! the per-step and per-flow tables.

use crate::report::{LoadReport, trim, xml};
use crate::stats::{Latency, SeriesSummary, counts};
use std::fmt::Write as _;

const W: f64 = 880.0;
const H: f64 = 260.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 36.0;

/// Colours of the series, shared by the charts and their legends.
pub const P50: &str = "#2ca02c";
pub const P95: &str = "#ff7f0e";
pub const P99: &str = "#d62728";
pub const SENT: &str = "#7f7f7f";
pub const REQUESTS: &str = "#1f77b4";

/// A round axis maximum at or above `x`.
fn nice(x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(x.log10().floor());
    for step in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if step * magnitude >= x {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

struct Frame {
    x_max: f64,
    y_max: f64,
}

impl Frame {
    fn x(&self, v: f64) -> f64 {
        LEFT + (v / self.x_max.max(f64::MIN_POSITIVE)) * (W - LEFT - RIGHT)
    }
    fn y(&self, v: f64) -> f64 {
        H - BOTTOM - (v / self.y_max) * (H - TOP - BOTTOM)
    }

    fn axes(&self, out: &mut String, y_label: &str, x_ticks: &[(f64, String)]) {
        for i in 0..=4 {
            let v = self.y_max * f64::from(i) / 4.0;
            let y = self.y(v);
            let _ = write!(
                out,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{:.1}" y="{:.1}" text-anchor="end" class="tick">{}</text>"##,
                W - RIGHT,
                LEFT - 6.0,
                y + 4.0,
                trim((v * 100.0).round() / 100.0)
            );
        }
        for (v, label) in x_ticks {
            let x = self.x(*v);
            let _ = write!(
                out,
                r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#bbb"/><text x="{x:.1}" y="{:.1}" text-anchor="{}" class="tick">{}</text>"##,
                H - BOTTOM,
                H - BOTTOM + 4.0,
                H - BOTTOM + 16.0,
                if x > W - RIGHT - 30.0 {
                    "end"
                } else {
                    "middle"
                },
                xml(label)
            );
        }
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{:.1}" stroke="#333"/><line x1="{LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#333"/><text x="14" y="{:.1}" transform="rotate(-90 14 {:.1})" text-anchor="middle" class="axis">{}</text>"##,
            H - BOTTOM,
            H - BOTTOM,
            W - RIGHT,
            H - BOTTOM,
            H / 2.0,
            H / 2.0,
            xml(y_label)
        );
    }

    /// A polyline per run of consecutive points; `None` breaks the line (a second with no completed request).
    fn line(
        &self,
        out: &mut String,
        points: &[Option<(f64, f64)>],
        colour: &str,
        dashed: bool,
        name: &str,
    ) {
        for run in points.split(Option::is_none) {
            if run.is_empty() {
                continue;
            }
            let d: Vec<String> = run
                .iter()
                .flatten()
                .map(|(x, y)| format!("{:.1},{:.1}", self.x(*x), self.y(*y)))
                .collect();
            let marker = if run.len() == 1 {
                // A lone second still shows, as a dot.
                let (x, y) = run[0].unwrap_or_default();
                format!(
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"/>"#,
                    self.x(x),
                    self.y(y)
                )
            } else {
                String::new()
            };
            let _ = write!(
                out,
                r#"<polyline class="series" data-series="{name}" fill="none" stroke="{colour}" stroke-width="2"{} points="{}"/>{marker}"#,
                if dashed {
                    r#" stroke-dasharray="6 4""#
                } else {
                    ""
                },
                d.join(" ")
            );
        }
    }
}

fn svg_open(out: &mut String, id: &str, title: &str) {
    let _ = write!(
        out,
        r#"<figure><figcaption>{}</figcaption><svg id="{id}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{}">"#,
        xml(title),
        xml(title)
    );
}

fn legend(out: &mut String, items: &[(&str, &str, bool)]) {
    out.push_str(r#"<div class="legend">"#);
    for (colour, label, dashed) in items {
        let _ = write!(
            out,
            r#"<span><svg width="26" height="10"><line x1="0" y1="5" x2="26" y2="5" stroke="{colour}" stroke-width="3"{}/></svg> {}</span>"#,
            if *dashed {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            },
            xml(label)
        );
    }
    out.push_str("</div>");
}

fn time_ticks(seconds: f64) -> Vec<(f64, String)> {
    let step = nice(seconds / 8.0).max(1.0);
    let mut ticks = Vec::new();
    let mut t = 0.0;
    while t <= seconds + 1e-9 {
        ticks.push((t, format!("{}s", trim(t))));
        t += step;
    }
    ticks
}

fn latency_over_time(out: &mut String, r: &LoadReport) {
    svg_open(
        out,
        "latency-over-time",
        "Latency over time (ms, per second of the run)",
    );
    let seconds = (r.timeline.len() as f64).max(1.0);
    let top = r
        .timeline
        .iter()
        .map(|s| s.p99.max(s.p95_uncorrected))
        .fold(0.0, f64::max);
    let frame = Frame {
        x_max: seconds,
        y_max: nice(top * 1.1),
    };
    frame.axes(out, "ms", &time_ticks(seconds));
    let pts = |f: &dyn Fn(&crate::stats::Second) -> f64| -> Vec<Option<(f64, f64)>> {
        r.timeline
            .iter()
            .map(|s| (s.requests > 0).then(|| (s.second as f64 + 0.5, f(s))))
            .collect()
    };
    frame.line(out, &pts(&|s| s.p95_uncorrected), SENT, true, "p95-as-sent");
    frame.line(out, &pts(&|s| s.p50), P50, false, "p50");
    frame.line(out, &pts(&|s| s.p95), P95, false, "p95");
    frame.line(out, &pts(&|s| s.p99), P99, false, "p99");
    out.push_str("</svg>");
    legend(
        out,
        &[
            (P50, "p50", false),
            (P95, "p95", false),
            (P99, "p99", false),
            (SENT, "p95 as sent (uncorrected)", true),
        ],
    );
    out.push_str("</figure>");
}

fn throughput(out: &mut String, r: &LoadReport) {
    svg_open(out, "throughput", "Requests and errors per second");
    let seconds = (r.timeline.len() as f64).max(1.0);
    let top = r.timeline.iter().map(|s| s.requests).max().unwrap_or(0) as f64;
    let frame = Frame {
        x_max: seconds,
        y_max: nice(top * 1.1),
    };
    frame.axes(out, "requests/s", &time_ticks(seconds));
    let width = ((W - LEFT - RIGHT) / seconds * 0.8).max(1.0);
    for s in &r.timeline {
        let x = frame.x(s.second as f64 + 0.1);
        for (value, colour) in [(s.requests, REQUESTS), (s.errors, P99)] {
            if value > 0 {
                let y = frame.y(value as f64);
                let _ = write!(
                    out,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{width:.1}" height="{:.1}" fill="{colour}"/>"#,
                    (H - BOTTOM - y).max(0.0)
                );
            }
        }
    }
    out.push_str("</svg>");
    legend(
        out,
        &[(REQUESTS, "requests", false), (P99, "errors", false)],
    );
    out.push_str("</figure>");
}

/// Quantile → position on a log axis of 1/(1−q): 0 at 0 %, 1 at 90 %, 2 at 99 %, …
fn nines(q: f64) -> f64 {
    (1.0 / (1.0 - q).max(1e-5)).log10()
}

fn percentiles(out: &mut String, r: &LoadReport) {
    svg_open(
        out,
        "percentiles",
        "Percentile distribution of every request (ms)",
    );
    let top = r
        .distribution
        .corrected
        .iter()
        .chain(&r.distribution.uncorrected)
        .map(|p| p.1)
        .fold(0.0, f64::max);
    let frame = Frame {
        x_max: 5.0,
        y_max: nice(top * 1.1),
    };
    let ticks: Vec<(f64, String)> = [
        (0.0, "0%"),
        (1.0, "90%"),
        (2.0, "99%"),
        (3.0, "99.9%"),
        (4.0, "99.99%"),
        (5.0, "99.999%"),
    ]
    .iter()
    .map(|(x, l)| (*x, l.to_string()))
    .collect();
    frame.axes(out, "ms", &ticks);
    let pts = |d: &[(f64, f64)]| -> Vec<Option<(f64, f64)>> {
        d.iter().map(|(q, v)| Some((nines(*q), *v))).collect()
    };
    frame.line(
        out,
        &pts(&r.distribution.uncorrected),
        SENT,
        true,
        "as-sent",
    );
    frame.line(
        out,
        &pts(&r.distribution.corrected),
        P99,
        false,
        "corrected",
    );
    out.push_str("</svg>");
    legend(
        out,
        &[
            (P99, "corrected (from the intended start)", false),
            (SENT, "as sent (uncorrected)", true),
        ],
    );
    out.push_str("</figure>");
}

fn table(out: &mut String, title: &str, rows: &[&SeriesSummary]) {
    let _ = write!(
        out,
        "<h2>{}</h2><table><thead><tr><th>name</th><th>count</th><th>rate/s</th>",
        xml(title)
    );
    for name in Latency::COLUMNS {
        let _ = write!(out, "<th>{name}</th>");
    }
    out.push_str("<th>p99 as sent</th><th>statuses</th><th>errors</th><th>sent B</th><th>received B</th></tr></thead><tbody>");
    for s in rows {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{:.1}</td>",
            xml(&s.name),
            s.count,
            s.rate_per_s
        );
        for v in s.corrected.columns() {
            let _ = write!(out, "<td>{v:.1}</td>");
        }
        let _ = write!(
            out,
            "<td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            s.uncorrected.p99,
            xml(&counts(&s.statuses)),
            xml(&counts(&s.errors)),
            s.bytes_sent,
            s.bytes_received
        );
    }
    out.push_str("</tbody></table>");
}

pub fn render(r: &LoadReport) -> String {
    let mut out = String::new();
    out.push_str(r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>launchready load report</title><style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px}
.meta{color:#555}.ok{color:#1a7f37;font-weight:600}.fail{color:#c62828;font-weight:600}
figure{margin:16px 0}figcaption{font-weight:600;margin-bottom:4px}
.tick{font-size:11px;fill:#555}.axis{font-size:12px;fill:#333}
.legend span{margin-right:16px;font-size:12px}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:3px 6px;text-align:right}
td:first-child,th:first-child{text-align:left}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:6px 10px}
</style></head><body>"#);
    let verdict = match r.exit_code() {
        0 => r#"<span class="ok">all thresholds hold</span>"#.to_string(),
        1 => r#"<span class="fail">a threshold failed</span>"#.to_string(),
        _ => r#"<span class="fail">the run could not measure the target</span>"#.to_string(),
    };
    let i = &r.iterations;
    let _ = write!(
        out,
        "<h1>Load report</h1><p class=\"meta\">{} · started {} · {:.1}s · {} iterations completed ({} failed), {} VUs · {}</p>",
        xml(&r.model.description),
        xml(&r.started_at),
        r.duration_s,
        i.completed,
        i.failed,
        i.vus,
        verdict
    );
    if i.waited_for_slot > 0 {
        let _ = write!(
            out,
            "<p class=\"note\">In-flight cap reached: {} iterations waited for a slot (longest {:.0} ms). Their waits are included in the corrected latency.</p>",
            i.waited_for_slot, i.longest_slot_wait_ms
        );
    }
    if let Some(reason) = &r.stopped {
        let _ = write!(out, "<p class=\"note\">Stopped early: {}</p>", xml(reason));
    }
    if !r.model.corrected {
        out.push_str("<p class=\"note\">Closed model: each user waits for its previous iteration, so a slow server slows the arrivals and latency is not corrected for coordinated omission.</p>");
    }
    if !r.thresholds.is_empty() {
        out.push_str("<h2>Thresholds</h2><table><thead><tr><th>threshold</th><th>actual</th><th>result</th></tr></thead><tbody>");
        for t in &r.thresholds {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
                xml(&t.threshold),
                trim(t.actual),
                if t.passed { "ok" } else { "fail" },
                if t.passed {
                    "holds".to_string()
                } else {
                    format!(
                        "fails{}",
                        xml(&t
                            .note
                            .as_ref()
                            .map(|n| format!(": {n}"))
                            .unwrap_or_default())
                    )
                }
            );
        }
        out.push_str("</tbody></table>");
    }
    latency_over_time(&mut out, r);
    throughput(&mut out, r);
    percentiles(&mut out, r);
    let mut rows = vec![&r.requests];
    rows.extend(r.steps.iter());
    table(
        &mut out,
        "Requests and steps (latency in ms, corrected unless marked)",
        &rows,
    );
    table(
        &mut out,
        "Flows (whole iterations)",
        &r.flows.iter().collect::<Vec<_>>(),
    );
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(7.0), 10.0);
        assert_eq!(nice(2100.0), 2500.0);
        assert!((nines(0.99) - 2.0).abs() < 1e-9);
    }
}
