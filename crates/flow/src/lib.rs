//! launchready's flow engine. Flow files are Hurl files: `parse` reads them with hurl_core (the reference
//! parser) and refuses what we do not run; `engine` executes them on launchready's network layer (so
//! `--resolver`, `--connect-to`, `--ca-file`, timeouts and phase timings apply); `result` is the run as data;
//! `render` turns it into text, JSON or JUnit. Other URL schemes (a `mailbox://` backend) plug in through
//! [`Backend`] without changing the engine.

mod engine;
mod eval;
mod parse;
pub mod render;
mod result;
pub mod value;
mod vars;
mod xpath;

pub use engine::{Backend, CookieJar, Engine, RunOptions};
pub use parse::{FlowError, FlowFile, load, parse};
pub use result::{
    AssertOutcome, BODY_EXCERPT_BYTES, CaptureOutcome, EntryResult, Exchange, FlowResult, Status,
};
pub use value::Value;
pub use vars::{Variables, parse_value, redact};

/// Exit codes of `launchready flow`.
pub mod exit {
    pub const PASSED: u8 = 0;
    pub const ASSERT_FAILED: u8 = 1;
    pub const FILE_ERROR: u8 = 2;
    pub const COULD_NOT_RUN: u8 = 3;
}

/// The exit code for a set of results: 3 when a request got no response, 1 when an assert failed, else 0.
pub fn exit_code(results: &[FlowResult]) -> u8 {
    if results.iter().any(FlowResult::transport_failed) {
        exit::COULD_NOT_RUN
    } else if results.iter().any(|r| !r.passed()) {
        exit::ASSERT_FAILED
    } else {
        exit::PASSED
    }
}
