//! The report of a run as data ([`LoadReport`], serialised as the JSON format) and its text and JUnit renderings.
//! The HTML page is in `html`. Every figure shown here was folded by the aggregator; renderers only read.

use crate::plan::Model;
use crate::run::Folded;
use crate::schedule::Schedule;
use crate::stats::{Latency, SeriesSummary, counts, distribution};
use crate::thresholds::{Threshold, ThresholdOutcome};
use serde::{Serialize, Serializer};
use std::fmt::Write as _;
use std::time::Duration;

/// Bumped when a field changes meaning or disappears.
pub const LOAD_REPORT_SCHEMA_VERSION: u32 = 1;

pub fn ser_secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    /// `open` or `closed`.
    pub kind: String,
    pub description: String,
    pub schedule: Option<Schedule>,
    pub max_in_flight: Option<usize>,
    pub vus: Option<usize>,
    /// Whether latencies are measured from the intended start on a schedule.
    pub corrected: bool,
}

impl ModelInfo {
    pub fn of(model: &Model) -> ModelInfo {
        match model {
            Model::Open {
                schedule,
                max_in_flight,
            } => ModelInfo {
                kind: "open".to_string(),
                description: model.describe(),
                schedule: Some(schedule.clone()),
                max_in_flight: Some(*max_in_flight),
                vus: None,
                corrected: true,
            },
            Model::Closed { vus, .. } => ModelInfo {
                kind: "closed".to_string(),
                description: model.describe(),
                schedule: None,
                max_in_flight: None,
                vus: Some(*vus),
                corrected: false,
            },
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Iterations {
    /// What the schedule asked for (open model).
    pub planned: Option<u64>,
    pub started: u64,
    pub completed: u64,
    pub failed: u64,
    /// Scheduled but never started (the run was stopped).
    pub not_started: u64,
    /// Still running when the grace period after the end ran out: stopped, not measured.
    pub cut_off: u64,
    /// Started late because `--max-in-flight` iterations were already running; their wait is in the corrected
    /// latency.
    pub waited_for_slot: u64,
    pub longest_slot_wait_ms: f64,
    /// Virtual users created (each with its own kept connections).
    pub vus: usize,
    /// Iterations sent on the HTTP/1.1 fast path rather than through the flow engine.
    pub fast_path: u64,
}

/// The percentile distributions of every request, corrected and not.
#[derive(Debug, Clone, Serialize)]
pub struct Distribution {
    /// (quantile, ms) pairs.
    pub corrected: Vec<(f64, f64)>,
    pub uncorrected: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub schema_version: u32,
    pub model: ModelInfo,
    pub started_at: String,
    pub duration_s: f64,
    pub iterations: Iterations,
    /// Every request of every flow.
    pub requests: SeriesSummary,
    /// Whole iterations, one per flow file.
    pub flows: Vec<SeriesSummary>,
    pub steps: Vec<SeriesSummary>,
    pub thresholds: Vec<ThresholdOutcome>,
    pub timeline: Vec<crate::stats::Second>,
    pub distribution: Distribution,
    /// Why the run ended before its schedule did (Ctrl-C, an `abortOnFail` threshold, a refused host).
    pub stopped: Option<String>,
    pub refused_host: Option<String>,
    /// Whether any request got a response at all.
    pub answered: bool,
}

impl Folded {
    pub(crate) fn into_report(
        self,
        model: ModelInfo,
        started_at: time::OffsetDateTime,
        elapsed: f64,
        iterations: Iterations,
        thresholds: &[Threshold],
        stopped: Option<String>,
    ) -> LoadReport {
        let outcomes = thresholds
            .iter()
            .map(|t| t.evaluate(self.scoped(&t.scope).as_ref()))
            .collect();
        let started_at = started_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        LoadReport {
            schema_version: LOAD_REPORT_SCHEMA_VERSION,
            model,
            started_at,
            duration_s: elapsed,
            iterations,
            requests: self.all.summary(elapsed),
            flows: self.flows.iter().map(|s| s.summary(elapsed)).collect(),
            steps: self
                .steps
                .iter()
                .filter(|s| s.count() > 0)
                .map(|s| s.summary(elapsed))
                .collect(),
            thresholds: outcomes,
            timeline: self.timeline,
            distribution: Distribution {
                corrected: distribution(&self.all.corrected),
                uncorrected: distribution(&self.all.uncorrected),
            },
            stopped,
            refused_host: self.refused_host,
            answered: self.answered,
        }
    }
}

impl LoadReport {
    /// The figures of the step called `name`, if the run had one.
    pub fn step(&self, name: &str) -> Option<&SeriesSummary> {
        self.steps.iter().find(|s| s.name == name)
    }

    /// 3 when nothing answered or a disallowed host was reached, 1 when a threshold failed, else 0.
    pub fn exit_code(&self) -> u8 {
        if !self.answered || self.refused_host.is_some() {
            crate::exit::COULD_NOT_RUN
        } else if self.thresholds.iter().any(|t| !t.passed) {
            crate::exit::THRESHOLD_FAILED
        } else {
            crate::exit::PASSED
        }
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.model.description);
        let i = &self.iterations;
        let _ = writeln!(
            out,
            "ran {:.1}s: {} iterations started, {} completed, {} failed{}; {} VUs",
            self.duration_s,
            i.started,
            i.completed,
            i.failed,
            i.planned
                .map(|p| format!(" (of {p} planned)"))
                .unwrap_or_default(),
            i.vus
        );
        if i.fast_path > 0 {
            let _ = writeln!(
                out,
                "{} iterations on the HTTP/1.1 fast path (requests that never change, sent without the flow engine)",
                i.fast_path
            );
        }
        if i.waited_for_slot > 0 {
            let _ = writeln!(
                out,
                "in-flight cap reached: {} iterations waited for a slot (longest {:.0} ms); the waits are in the corrected latency",
                i.waited_for_slot, i.longest_slot_wait_ms
            );
        }
        if i.not_started > 0 || i.cut_off > 0 {
            let _ = writeln!(
                out,
                "not measured: {} iterations never started, {} cut off at the end",
                i.not_started, i.cut_off
            );
        }
        if let Some(reason) = &self.stopped {
            let _ = writeln!(out, "stopped early: {reason}");
        }
        if !self.model.corrected {
            let _ = writeln!(
                out,
                "closed model: latency counts from when each user got round to sending, so a stall slows arrivals instead of showing (use --rate for the open model)"
            );
        }
        let _ = writeln!(out);
        let _ = write!(
            out,
            "{:<32} {:>7} {:>8}",
            "latency ms (corrected / sent)", "count", "rate/s"
        );
        for name in Latency::COLUMNS {
            let _ = write!(out, " {name:>8}");
        }
        let _ = writeln!(out, "  errors");
        let mut row = |s: &SeriesSummary, label: &str| {
            let errors = if s.errors.is_empty() {
                "-".to_string()
            } else {
                counts(&s.errors)
            };
            let _ = write!(
                out,
                "{:<32} {:>7} {:>8.1}",
                clip(label, 32),
                s.count,
                s.rate_per_s
            );
            for v in s.corrected.columns() {
                let _ = write!(out, " {v:>8.1}");
            }
            let _ = writeln!(out, "  {errors}");
            let _ = write!(out, "{:<32} {:>7} {:>8}", "  as sent (uncorrected)", "", "");
            for v in s.uncorrected.columns() {
                let _ = write!(out, " {v:>8.1}");
            }
            let _ = writeln!(out);
        };
        row(&self.requests, "all requests");
        for s in &self.steps {
            row(s, &format!("step {}", s.name));
        }
        for s in &self.flows {
            row(s, &format!("flow {}", s.name));
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "statuses: {}; sent {} B, received {} B (approximate wire sizes); error rate {:.2}%",
            if self.requests.statuses.is_empty() {
                "none".to_string()
            } else {
                counts(&self.requests.statuses)
            },
            self.requests.bytes_sent,
            self.requests.bytes_received,
            self.requests.error_rate * 100.0
        );
        if !self.thresholds.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(out, "thresholds:");
            for t in &self.thresholds {
                let _ = writeln!(
                    out,
                    "  {} {}  (actual {}){}",
                    if t.passed { "ok  " } else { "FAIL" },
                    t.threshold,
                    trim(t.actual),
                    t.note
                        .as_ref()
                        .map(|n| format!(": {n}"))
                        .unwrap_or_default()
                );
            }
        }
        out
    }

    /// One test case per threshold (and one for the run itself), so CI shows which SLO broke.
    pub fn junit(&self) -> String {
        let failures = self.thresholds.iter().filter(|t| !t.passed).count()
            + usize::from(self.exit_code() == crate::exit::COULD_NOT_RUN);
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites><testsuite name=\"launchready load\" tests=\"{}\" failures=\"{failures}\" time=\"{:.3}\">",
            self.thresholds.len() + 1,
            self.duration_s
        );
        let _ = write!(
            out,
            "  <testcase classname=\"load\" name=\"run\" time=\"{:.3}\">",
            self.duration_s
        );
        if !self.answered {
            out.push_str("<failure message=\"no request got a response\"/>");
        } else if let Some(host) = &self.refused_host {
            let _ = write!(
                out,
                "<failure message=\"a request went to {} (not allowed)\"/>",
                xml(host)
            );
        }
        let _ = writeln!(
            out,
            "<system-out>{}</system-out></testcase>",
            xml(&self.text())
        );
        for t in &self.thresholds {
            let _ = write!(
                out,
                "  <testcase classname=\"load.thresholds\" name=\"{}\">",
                xml(&t.threshold)
            );
            if !t.passed {
                let _ = write!(
                    out,
                    "<failure message=\"actual {}{}\"/>",
                    trim(t.actual),
                    xml(&t
                        .note
                        .as_ref()
                        .map(|n| format!(": {n}"))
                        .unwrap_or_default())
                );
            }
            out.push_str("</testcase>\n");
        }
        out.push_str("</testsuite></testsuites>\n");
        out
    }
}

fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        let mut c: String = s.chars().take(width - 1).collect();
        c.push('…');
        c
    }
}

pub(crate) fn trim(x: f64) -> String {
    let s = format!("{x:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

pub(crate) fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}
