//! launchready's AI guardrail probes (`launchready ai-probe`). An assistant described in the manifest's `[ai]`
//! table is sent versioned probe families (`probes`: direct and indirect prompt injection, system-prompt and canary
//! extraction, other members' data, sensitive tools without verification, jailbreak role play, escalation), one
//! multi-turn conversation per attempt (`runner`), through the manifest's request template (`template`); replies
//! are judged by detectors that need no model (`detect`) and, optionally, a judge model (`judge`); `report` turns
//! the run into common findings with redacted transcripts.

pub mod detect;
pub mod judge;
pub mod probes;
pub mod report;
pub mod runner;
pub mod template;

pub use probes::{Family, builtin};
pub use runner::{AttemptResult, DecidedBy, Options, Outcome, Run, run};

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{file}: {message}")]
    Config { file: String, message: String },
    #[error("probe family {file}: {message}")]
    Probes { file: String, message: String },
}
