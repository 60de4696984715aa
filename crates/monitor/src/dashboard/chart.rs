//! Inline SVG charts for the check page: p50 and p95 latency per bucket as two lines over a fixed time axis,
//! failed results as ticks along the bottom, and the incident timeline as bars. Plain SVG in the HTML, no script.

use super::escape;
use crate::series::{Bucket, Span};
use std::fmt::Write as _;

/// Series colours, also what the browser test looks for in the pixels.
pub const P50: &str = "#2563eb";
pub const P95: &str = "#ea580c";
pub const FAILED: &str = "#dc2626";
pub const OPEN: &str = "#dc2626";
pub const RESOLVED: &str = "#94a3b8";

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 24.0;

/// A "nice" ceiling for the y axis: 1, 2 or 5 times a power of ten, at least `value`.
fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|c| *c >= value)
        .unwrap_or(10.0 * power)
}

fn clock(ms: i64, with_day: bool) -> String {
    let format = if with_day {
        time::macros::format_description!("[month]-[day] [hour]:[minute]")
    } else {
        time::macros::format_description!("[hour]:[minute]")
    };
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// The opening tag of a chart `height` high and the dashboard's width, named by `label` for screen readers.
fn svg_open(id: &str, height: f64, label: &str) -> String {
    format!(
        "<svg id=\"{}\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\" role=\"img\" aria-label=\"{}\">",
        escape(id),
        escape(label)
    )
}

/// A latency chart of `buckets` over `[until_ms - span.window_ms, until_ms)`. An empty bucket breaks the lines.
pub fn latency(id: &str, span: &Span, buckets: &[Bucket], until_ms: i64) -> String {
    let since = until_ms - span.window_ms;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let top = nice_ceiling(
        buckets
            .iter()
            .filter_map(|b| b.p95_ms.or(b.p50_ms))
            .fold(0.0, f64::max),
    );
    let x = |ms: i64| LEFT + plot_w * ((ms - since) as f64 / span.window_ms as f64).clamp(0.0, 1.0);
    let y = |v: f64| TOP + plot_h * (1.0 - (v / top).clamp(0.0, 1.0));
    let mut svg = svg_open(
        id,
        HEIGHT,
        &format!("p50 and p95 latency over {}", span.label),
    );
    let _ = write!(
        svg,
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{plot_w}\" height=\"{plot_h}\" fill=\"#fbfbfd\" stroke=\"#d0d5dd\"/>"
    );
    for step in 0..=4 {
        let value = top * f64::from(step) / 4.0;
        let py = y(value);
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{py:.1}\" y2=\"{py:.1}\" stroke=\"#eaecf0\"/><text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#475467\">{} ms</text>",
            WIDTH - RIGHT,
            LEFT - 4.0,
            py + 4.0,
            if top >= 10.0 {
                format!("{value:.0}")
            } else {
                format!("{value:.1}")
            }
        );
    }
    let with_day = span.window_ms > 86_400_000;
    for step in 0..=4 {
        let ms = since + span.window_ms * step / 4;
        let anchor = match step {
            0 => "start",
            4 => "end",
            _ => "middle",
        };
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"11\" text-anchor=\"{anchor}\" fill=\"#475467\">{}</text>",
            x(ms),
            HEIGHT - 6.0,
            clock(ms, with_day)
        );
    }
    // p95 is drawn first and wider, so where a bucket holds one result (p50 = p95) it still shows as an edge.
    for (name, colour, width, pick) in [
        (
            "p95",
            P95,
            4.5,
            (|b: &Bucket| b.p95_ms) as fn(&Bucket) -> Option<f64>,
        ),
        ("p50", P50, 2.0, |b: &Bucket| b.p50_ms),
    ] {
        let mut path = String::new();
        let mut previous: Option<i64> = None;
        for bucket in buckets {
            let Some(value) = pick(bucket) else {
                previous = None;
                continue;
            };
            // A gap of more than one bucket (no results) starts a new segment instead of drawing across it.
            let joined = previous.is_some_and(|p| bucket.start_ms - p <= span.bucket_ms);
            let _ = write!(
                path,
                "{}{:.1},{:.1} ",
                if joined { "L" } else { "M" },
                x(bucket.start_ms + span.bucket_ms / 2),
                y(value)
            );
            previous = Some(bucket.start_ms);
        }
        if !path.is_empty() {
            let _ = write!(
                svg,
                "<path data-series=\"{name}\" d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"{width}\" stroke-linejoin=\"round\"/>",
                path.trim_end()
            );
            // Lone points (a bucket between two empty ones) would not show as a line.
            for bucket in buckets {
                if let Some(value) = pick(bucket) {
                    let _ = write!(
                        svg,
                        "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\" fill=\"{colour}\"/>",
                        x(bucket.start_ms + span.bucket_ms / 2),
                        y(value)
                    );
                }
            }
        }
    }
    for bucket in buckets.iter().filter(|b| b.failures > 0) {
        let x0 = x(bucket.start_ms);
        let width = (x(bucket.start_ms + span.bucket_ms) - x0).max(2.0);
        let _ = write!(
            svg,
            "<rect data-series=\"failed\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{width:.1}\" height=\"6\" fill=\"{FAILED}\"><title>{} failed of {}</title></rect>",
            TOP + plot_h - 6.0,
            bucket.failures,
            bucket.samples
        );
    }
    if buckets.is_empty() {
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" font-size=\"13\" text-anchor=\"middle\" fill=\"#667085\">no results in this window</text>",
            LEFT + plot_w / 2.0,
            TOP + plot_h / 2.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One bar per incident over `[until_ms - window_ms, until_ms)`: open ones run to the right edge.
pub fn timeline(incidents: &[crate::store::Incident], window_ms: i64, until_ms: i64) -> String {
    let since = until_ms - window_ms;
    let shown: Vec<_> = incidents
        .iter()
        .filter(|i| i.resolved_ms.is_none_or(|r| r >= since) && i.since_ms < until_ms)
        .take(40)
        .collect();
    let row = 18.0;
    let height = TOP + BOTTOM + row * shown.len().max(1) as f64;
    // Rows are labelled in a column of their own, left of the plot.
    let left = 280.0;
    let plot_w = WIDTH - left - RIGHT;
    let x = |ms: i64| left + plot_w * ((ms - since) as f64 / window_ms as f64).clamp(0.0, 1.0);
    let mut svg = svg_open("timeline", height, "incident timeline");
    for step in 0..=7 {
        let ms = since + window_ms * step / 7;
        let px = x(ms);
        let _ = write!(
            svg,
            "<line x1=\"{px:.1}\" x2=\"{px:.1}\" y1=\"{TOP}\" y2=\"{:.1}\" stroke=\"#eaecf0\"/><text x=\"{px:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"{}\" fill=\"#475467\">{}</text>",
            height - BOTTOM,
            height - 6.0,
            if step == 7 { "end" } else { "middle" },
            if step == 7 {
                "now".to_string()
            } else {
                clock(ms, true)
            }
        );
    }
    for (n, incident) in shown.iter().enumerate() {
        let y = TOP + row * n as f64;
        let x0 = x(incident.since_ms);
        let x1 = x(incident.resolved_ms.unwrap_or(until_ms));
        let colour = if incident.resolved_ms.is_some() {
            RESOLVED
        } else {
            OPEN
        };
        let _ = write!(
            svg,
            "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\" rx=\"2\"><title>{} on {}</title></rect><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#344054\">{} · {}</text>",
            y + 2.0,
            (x1 - x0).max(6.0),
            row - 4.0,
            escape(&incident.rule),
            escape(&incident.check),
            4.0,
            y + row - 5.0,
            escape(&short(&incident.rule, 24)),
            escape(&short(&incident.check, 20)),
        );
    }
    if shown.is_empty() {
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" font-size=\"13\" text-anchor=\"middle\" fill=\"#667085\">no incidents in this window</text>",
            left + plot_w / 2.0,
            TOP + row - 4.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// `text` cut to `chars` characters, with an ellipsis when cut.
fn short(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_string()
    } else {
        let cut: String = text.chars().take(chars.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_ends_on_a_round_number() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(420.0), 500.0);
        assert_eq!(nice_ceiling(501.0), 1000.0);
        assert_eq!(nice_ceiling(1.5), 2.0);
    }

    #[test]
    fn lines_break_at_empty_buckets() {
        let span = crate::series::SPANS[0];
        let bucket = |minute: i64| Bucket {
            start_ms: minute * 60_000,
            samples: 1,
            failures: 0,
            p50_ms: Some(100.0),
            p95_ms: Some(200.0),
        };
        let svg = latency("c", &span, &[bucket(1), bucket(2), bucket(5)], 3_600_000);
        let p50 = svg
            .split("data-series=\"p50\" d=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap();
        assert_eq!(p50.matches('M').count(), 2, "{p50}");
        assert_eq!(p50.matches('L').count(), 1, "{p50}");
    }
}
