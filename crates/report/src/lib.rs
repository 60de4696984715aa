//! Renders a launchready [`Report`] for people and machines: terminal text, the versioned JSON schema, a Markdown
//! risk list, a self-contained HTML page, SARIF 2.1.0 for code-scanning dashboards, or JUnit XML for CI.
//!
//! Rendering is a pure function of the report and a few options: whether to colour, and which severity CI fails on
//! (used only for wording, the caller decides the exit code). Nothing here does I/O or decides whether stdout is a
//! terminal.

mod html;
mod junit;
mod markdown;
mod outline;
mod sarif;
mod table;
mod terminal;
mod text;

use launchready_findings::{Report, Severity};
use std::fmt;
use std::str::FromStr;

/// An output format for [`render`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Human-readable text for a terminal, grouped by roadmap stage; optionally coloured.
    Terminal,
    /// The report's serde form, pretty-printed: the versioned schema in `docs/report-schema.md`.
    Json,
    /// The risk list as GitHub-flavoured Markdown, for a PR comment or a handover document.
    Markdown,
    /// The risk list as one self-contained HTML file.
    Html,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
    /// JUnit XML, shown by CI systems as test results.
    Junit,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::Terminal,
        Format::Json,
        Format::Markdown,
        Format::Html,
        Format::Sarif,
        Format::Junit,
    ];

    /// The canonical name, as accepted by [`FromStr`] and printed by [`Display`](fmt::Display).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Terminal => "text",
            Format::Json => "json",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a format name that is not one of the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown format `{0}` (expected one of: text (or terminal), json, markdown (or md), html, sarif, junit)"
)]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let format = match s.to_ascii_lowercase().as_str() {
            "text" | "terminal" => Format::Terminal,
            "json" => Format::Json,
            "markdown" | "md" => Format::Markdown,
            "html" => Format::Html,
            "sarif" => Format::Sarif,
            "junit" => Format::Junit,
            _ => return Err(UnknownFormat(s.to_string())),
        };
        Ok(format)
    }
}

/// How to render. The caller decides both: colour from TTY detection and `NO_COLOR`, `fail_on` from the manifest
/// or the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    /// Emit ANSI colours. Only the terminal format uses it; with `false` the output has no escape sequences.
    pub color: bool,
    /// The severity at which CI fails. Only used for wording ("CI fails on: high and above").
    pub fail_on: Severity,
}

/// Renders `report` in `format`. The result always ends with a newline.
pub fn render(report: &Report, format: Format, options: &RenderOptions) -> String {
    match format {
        Format::Terminal => terminal::render(report, options),
        Format::Json => pretty_json(report),
        Format::Markdown => markdown::render(report, options),
        Format::Html => html::render(report, options),
        Format::Sarif => sarif::render(report, options),
        Format::Junit => junit::render(report, options),
    }
}

/// Pretty JSON with a trailing newline.
fn pretty_json<T: serde::Serialize>(value: &T) -> String {
    // Everything rendered here is plain derived structs with string keys, so serialization cannot actually fail; the
    // fallback keeps the output valid JSON rather than panicking in the middle of a CI run if that ever changes.
    match serde_json::to_string_pretty(value) {
        Ok(mut text) => {
            text.push('\n');
            text
        }
        Err(err) => format!(
            "{:#}\n",
            serde_json::json!({ "error": format!("could not serialize the report: {err}") })
        ),
    }
}
