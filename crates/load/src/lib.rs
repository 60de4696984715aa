//! launchready's load generator. Flow files (the same `.hurl` journeys `flow` runs) are started on a schedule:
//! `schedule` says when each iteration is meant to start (open model), `plan` checks what will be sent and to
//! which hosts before anything is, `run` starts iterations (producers, each on its own virtual user with kept
//! connections; `fast` sends requests that never change over HTTP/1.1 without the engine) and folds their
//! samples in one aggregator (`stats`: HDR histograms, latency corrected for coordinated omission),
//! `thresholds` judges k6-style expressions, and `report` renders text, JSON, JUnit and a self-contained HTML
//! page.

pub mod fast;
pub mod html;
pub mod plan;
pub mod report;
pub mod run;
pub mod schedule;
pub mod stats;
pub mod thresholds;

pub use plan::{BackendFactory, LoadPlan, Model, read_rows};
pub use report::LoadReport;
pub use run::{Live, Stop, run};
pub use schedule::{Rate, Schedule, Stage};
pub use thresholds::Threshold;

/// Why a load run could not be set up. Failed thresholds are not errors: they are in the report.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Bad flags, thresholds or files (exit 2).
    #[error("{0}")]
    Usage(String),
    /// A target host neither the manifest nor `--allow-host` names (exit 2).
    #[error(
        "{file}:{line}: refusing to load {host}: it is not named in launchready.toml and not allowed with --allow-host"
    )]
    HostNotAllowed {
        file: String,
        line: usize,
        host: String,
    },
}

/// Exit codes of `launchready load`.
pub mod exit {
    pub const PASSED: u8 = 0;
    pub const THRESHOLD_FAILED: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const COULD_NOT_RUN: u8 = 3;
}
