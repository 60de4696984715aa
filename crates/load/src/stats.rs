//! What the aggregator folds samples into: per step and per flow, two HDR histograms (latency from the intended
//! start, and from the actual send), status and error counts and bytes. Memory is bounded by the number of steps,
//! never by the number of samples.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Latencies are recorded in microseconds, up to an hour, to three significant digits.
const HIGHEST_US: u64 = 3_600_000_000;

pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_US, 3)
        .expect("constant bounds: 1 <= low, high >= 2 * low, 3 significant digits")
}

pub fn micros(d: Duration) -> u64 {
    (d.as_micros() as u64).clamp(1, HIGHEST_US)
}

/// Why a request counts as an error. A request can be one kind only: a network failure first, then a 5xx, then
/// a failed assert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// DNS, refused, unreachable.
    Connect,
    Tls,
    Timeout,
    /// A broken or closed connection, a protocol error.
    Io,
    #[serde(rename = "5xx")]
    ServerError,
    AssertFailed,
}

impl ErrorKind {
    pub fn label(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Tls => "tls",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Io => "io",
            ErrorKind::ServerError => "5xx",
            ErrorKind::AssertFailed => "assert failed",
        }
    }
}

/// One request (one entry of a flow, redirect hops included) as a producer measured it.
#[derive(Debug, Clone)]
pub struct StepSample {
    pub step: usize,
    /// From sending to the end of the response.
    pub latency: Duration,
    /// How late the iteration started against the schedule; added to `latency` for the corrected figure.
    pub delay: Duration,
    /// The last hop's status; `None` when nothing answered.
    pub status: Option<u16>,
    pub error: Option<ErrorKind>,
    pub sent: u64,
    pub received: u64,
}

/// One iteration of one flow.
#[derive(Debug, Clone)]
pub struct IterationSample {
    pub flow: usize,
    pub latency: Duration,
    pub delay: Duration,
    pub failed: bool,
    /// Whether anything answered at all (a run where nothing did could not run).
    pub answered: bool,
    pub steps: Vec<StepSample>,
    /// A host the run is not allowed to load, reached through a redirect or a captured URL.
    pub refused_host: Option<String>,
}

/// The fold of every sample of one step or one flow.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub corrected: Histogram<u64>,
    pub uncorrected: Histogram<u64>,
    pub statuses: BTreeMap<u16, u64>,
    pub errors: BTreeMap<ErrorKind, u64>,
    pub failed: u64,
    pub sent: u64,
    pub received: u64,
}

impl Series {
    pub fn new(name: &str) -> Series {
        Series {
            name: name.to_string(),
            corrected: histogram(),
            uncorrected: histogram(),
            statuses: BTreeMap::new(),
            errors: BTreeMap::new(),
            failed: 0,
            sent: 0,
            received: 0,
        }
    }

    pub fn count(&self) -> u64 {
        self.uncorrected.len()
    }

    pub fn record(&mut self, latency: Duration, delay: Duration) {
        self.uncorrected.saturating_record(micros(latency));
        self.corrected.saturating_record(micros(latency + delay));
    }

    pub fn record_step(&mut self, s: &StepSample) {
        self.record(s.latency, s.delay);
        if let Some(status) = s.status {
            *self.statuses.entry(status).or_default() += 1;
        }
        if let Some(kind) = s.error {
            *self.errors.entry(kind).or_default() += 1;
            self.failed += 1;
        }
        self.sent += s.sent;
        self.received += s.received;
    }

    pub fn merge(&mut self, other: &Series) {
        let _ = self.corrected.add(&other.corrected);
        let _ = self.uncorrected.add(&other.uncorrected);
        for (k, v) in &other.statuses {
            *self.statuses.entry(*k).or_default() += v;
        }
        for (k, v) in &other.errors {
            *self.errors.entry(*k).or_default() += v;
        }
        self.failed += other.failed;
        self.sent += other.sent;
        self.received += other.received;
    }

    pub fn error_rate(&self) -> f64 {
        if self.count() == 0 {
            0.0
        } else {
            self.failed as f64 / self.count() as f64
        }
    }

    pub fn summary(&self, seconds: f64) -> SeriesSummary {
        SeriesSummary {
            name: self.name.clone(),
            count: self.count(),
            rate_per_s: if seconds > 0.0 {
                self.count() as f64 / seconds
            } else {
                0.0
            },
            corrected: Latency::of(&self.corrected),
            uncorrected: Latency::of(&self.uncorrected),
            statuses: self
                .statuses
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            errors: self
                .errors
                .iter()
                .map(|(k, v)| (k.label().to_string(), *v))
                .collect(),
            failed: self.failed,
            error_rate: self.error_rate(),
            bytes_sent: self.sent,
            bytes_received: self.received,
        }
    }
}

/// A histogram's figures, in milliseconds.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Latency {
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

pub fn ms(us: u64) -> f64 {
    (us as f64 / 10.0).round() / 100.0
}

impl Latency {
    pub fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        Latency {
            min: ms(h.min()),
            mean: (h.mean() / 10.0).round() / 100.0,
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }

    /// The column names of [`Latency::columns`], as the text and HTML tables head them.
    pub const COLUMNS: [&str; 7] = ["min", "p50", "p90", "p95", "p99", "p99.9", "max"];

    /// The figures the text and HTML tables show, in the order of [`Latency::COLUMNS`].
    pub fn columns(&self) -> [f64; 7] {
        [
            self.min, self.p50, self.p90, self.p95, self.p99, self.p999, self.max,
        ]
    }

    /// `p(N)` for any N, as thresholds name them.
    pub fn quantile(h: &Histogram<u64>, percent: f64) -> f64 {
        if h.is_empty() {
            0.0
        } else {
            ms(h.value_at_quantile((percent / 100.0).clamp(0.0, 1.0)))
        }
    }
}

/// Counts by name as the reports list them: `name: count`, comma-separated (empty when there are none).
pub fn counts(m: &BTreeMap<String, u64>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A step's or flow's figures as reports show them.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesSummary {
    pub name: String,
    pub count: u64,
    pub rate_per_s: f64,
    /// From each iteration's intended start on the schedule: what visitors would have waited.
    pub corrected: Latency,
    /// From when the request was actually sent.
    pub uncorrected: Latency,
    pub statuses: BTreeMap<String, u64>,
    pub errors: BTreeMap<String, u64>,
    pub failed: u64,
    pub error_rate: f64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

/// One second of the run, for the latency-over-time chart.
#[derive(Debug, Clone, Serialize)]
pub struct Second {
    pub second: u64,
    pub requests: u64,
    pub errors: u64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub p95_uncorrected: f64,
    pub in_flight: usize,
}

/// The percentile distribution (quantile → latency) of a histogram, for the HDR plot.
pub fn distribution(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    let mut points = Vec::new();
    for q in [
        0.0, 0.1, 0.25, 0.5, 0.75, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999, 0.9995, 0.9999,
        0.99999, 1.0,
    ] {
        points.push((q, ms(h.value_at_quantile(q))));
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrected_adds_the_start_delay() {
        let mut s = Series::new("x");
        for _ in 0..99 {
            s.record(Duration::from_millis(2), Duration::ZERO);
        }
        s.record(Duration::from_millis(2), Duration::from_secs(2));
        let summary = s.summary(1.0);
        assert_eq!(summary.count, 100);
        assert!(summary.uncorrected.max < 3.0);
        assert!(summary.corrected.max > 1990.0);
    }

    #[test]
    fn errors_are_counted_by_kind_and_in_the_rate() {
        let mut s = Series::new("x");
        let sample = |error| StepSample {
            step: 0,
            latency: Duration::from_millis(1),
            delay: Duration::ZERO,
            status: Some(500),
            error,
            sent: 10,
            received: 20,
        };
        s.record_step(&sample(Some(ErrorKind::ServerError)));
        s.record_step(&sample(None));
        let summary = s.summary(1.0);
        assert_eq!(summary.errors.get("5xx"), Some(&1));
        assert_eq!(summary.statuses.get("500"), Some(&2));
        assert!((summary.error_rate - 0.5).abs() < 1e-9);
        assert_eq!(summary.bytes_sent, 20);
        assert_eq!(summary.bytes_received, 40);
    }
}
