//! Reading a flow file: hurl_core parses it (the reference grammar, with its own error messages and
//! positions), then every construct launchready does not run is refused with file:line:column and the
//! feature's name, so nothing in a flow is ever silently ignored.

use hurl_core::ast::{Entry, HurlFile, OptionKind, QueryValue, SectionValue, SourceInfo};
use hurl_core::error::DisplaySourceError;
use hurl_core::text::Format;
use std::path::{Path, PathBuf};

/// Why a flow file cannot be run at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}:{line}:{column}: {feature} is not supported by launchready flow{hint}")]
    Unsupported {
        path: String,
        line: usize,
        column: usize,
        feature: String,
        hint: String,
    },
}

/// A parsed, checked flow file.
#[derive(Debug, Clone)]
pub struct FlowFile {
    pub path: PathBuf,
    pub source: String,
    pub ast: HurlFile,
}

impl FlowFile {
    /// The directory files named in the flow (`file,data.txt;`) are read from.
    pub fn dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }
}

/// Reads and parses `path`, refusing unsupported features.
pub fn load(path: &Path) -> Result<FlowFile, FlowError> {
    let source = std::fs::read_to_string(path).map_err(|e| FlowError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    parse(path, &source)
}

/// Parses flow text; `path` names it in messages.
pub fn parse(path: &Path, source: &str) -> Result<FlowFile, FlowError> {
    let shown = path.display().to_string();
    let ast = hurl_core::parser::parse_hurl_file(source).map_err(|e| {
        let lines: Vec<&str> = source.lines().collect();
        // hurl_core points at the column with a caret; the message is what follows it.
        let detail = e.fixme(&lines).to_string(Format::Plain);
        let detail = detail.trim_start().trim_start_matches('^').trim();
        let line = lines
            .get(e.pos.line.wrapping_sub(1))
            .copied()
            .unwrap_or_default();
        let caret = " ".repeat(e.pos.column.saturating_sub(1));
        FlowError::Syntax {
            path: shown.clone(),
            line: e.pos.line,
            column: e.pos.column,
            message: format!(
                "{} ({})\n  | {line}\n  | {caret}^",
                detail,
                e.description().to_lowercase()
            ),
        }
    })?;
    for entry in &ast.entries {
        check_entry(&shown, entry)?;
    }
    Ok(FlowFile {
        path: path.to_path_buf(),
        source: source.to_string(),
        ast,
    })
}

fn unsupported(path: &str, at: SourceInfo, feature: impl Into<String>, hint: &str) -> FlowError {
    FlowError::Unsupported {
        path: path.to_string(),
        line: at.start.line,
        column: at.start.column,
        feature: feature.into(),
        hint: if hint.is_empty() {
            String::new()
        } else {
            format!(" ({hint})")
        },
    }
}

/// Options that only change what Hurl prints, accepted and ignored like the output flags.
fn option_supported(kind: &OptionKind) -> bool {
    matches!(
        kind,
        OptionKind::Delay(_)
            | OptionKind::FollowLocation(_)
            | OptionKind::FollowLocationTrusted(_)
            | OptionKind::MaxRedirect(_)
            | OptionKind::Retry(_)
            | OptionKind::RetryInterval(_)
            | OptionKind::Skip(_)
            | OptionKind::Variable(_)
            | OptionKind::Insecure(_)
            | OptionKind::User(_)
            | OptionKind::Http11(_)
            | OptionKind::Header(_)
            | OptionKind::Verbose(_)
            | OptionKind::VeryVerbose(_)
            | OptionKind::Verbosity(_)
    )
}

fn check_entry(path: &str, entry: &Entry) -> Result<(), FlowError> {
    let request = &entry.request;
    for section in &request.sections {
        if let SectionValue::Options(options) = &section.value {
            for option in options {
                if !option_supported(&option.kind) {
                    return Err(unsupported(
                        path,
                        option.space0.source_info,
                        format!("[Options] {}", option.kind.identifier()),
                        "",
                    ));
                }
            }
        }
    }
    if let Some(response) = &entry.response {
        let queries = response
            .captures()
            .iter()
            .map(|c| &c.query)
            .chain(response.asserts().iter().map(|a| &a.query));
        for query in queries {
            if let QueryValue::Certificate { .. } = query.value {
                return Err(unsupported(
                    path,
                    query.source_info,
                    "the certificate query",
                    "",
                ));
            }
        }
    }
    Ok(())
}
