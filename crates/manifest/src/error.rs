//! The crate's error type and its rustc-style rendering: every problem in a manifest is reported with the file,
//! line and column, the offending source line and a caret underline, plus an optional help line.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

/// Why a manifest (or a domain given on the command line) could not be turned into a [`crate::Manifest`].
///
/// `Display` renders the complete, multi-line message without colours, ready for `eprintln!`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The manifest file could not be read.
    #[error("{}", read_message(.path, .error))]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A domain given outside a manifest (`audit DOMAIN`, `init DOMAIN`) is not a usable DNS name.
    #[error("error: {reason}")]
    Domain { input: String, reason: String },
    /// The manifest is malformed or fails validation: one diagnostic per problem, in document order.
    #[error("{0}")]
    Invalid(Diagnostics),
}

impl ManifestError {
    /// 1-based line of the first located problem.
    pub fn line(&self) -> Option<usize> {
        self.first_location().map(|loc| loc.line)
    }

    /// 1-based column, in characters, of the first located problem.
    pub fn column(&self) -> Option<usize> {
        self.first_location().map(|loc| loc.column)
    }

    /// The individual problems; empty for I/O and command-line domain errors.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ManifestError::Invalid(diagnostics) => &diagnostics.0,
            _ => &[],
        }
    }

    fn first_location(&self) -> Option<&Location> {
        self.diagnostics()
            .iter()
            .find_map(|diagnostic| diagnostic.location.as_ref())
    }
}

fn read_message(path: &std::path::Path, error: &std::io::Error) -> String {
    let mut out = format!("error: cannot read `{}`: {error}", path.display());
    if error.kind() == std::io::ErrorKind::NotFound {
        out.push_str("\n  = help: run `launchready init DOMAIN` to write a starter manifest");
    }
    out
}

/// A non-empty list of diagnostics, rendered one after another separated by a blank line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, diagnostic) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n\n")?;
            }
            diagnostic.fmt(f)?;
        }
        Ok(())
    }
}

/// One problem: what is wrong, where, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    pub location: Option<Location>,
    pub help: Option<String>,
    /// Extra context, e.g. where a duplicate was first defined.
    pub notes: Vec<String>,
}

/// Where a problem is: the position of the first character of the offending text and the line holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The manifest path as the user gave it.
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, counted in characters rather than bytes so it matches what an editor shows.
    pub column: usize,
    /// The whole source line, without its line terminator.
    pub source_line: String,
    /// How many characters to underline, at least 1; a span running past the line end is cut at it.
    pub width: usize,
}

impl Location {
    /// Locates a byte range of `source`. Out-of-range or mid-character offsets are clamped rather than
    /// rejected, because a slightly-off caret is far more useful than no location at all.
    pub fn from_span(source: &str, file: &str, span: Range<usize>) -> Location {
        let start = floor_char_boundary(source, span.start);
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[start..]
            .find('\n')
            .map_or(source.len(), |i| start + i);
        let end = floor_char_boundary(source, span.end.clamp(start, line_end));
        let source_line = source[line_start..line_end].trim_end_matches('\r');
        let underlined = source[start..end].trim_end_matches('\r').chars().count();
        Location {
            file: file.to_string(),
            line: source.as_bytes()[..start]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1,
            column: source[line_start..start].chars().count() + 1,
            source_line: source_line.to_string(),
            width: underlined.max(1),
        }
    }
}

fn floor_char_boundary(source: &str, offset: usize) -> usize {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

impl Diagnostic {
    pub(crate) fn new(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            location: None,
            help: None,
            notes: Vec::new(),
        }
    }

    pub(crate) fn at(mut self, location: Location) -> Diagnostic {
        self.location = Some(location);
        self
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub(crate) fn maybe_help(mut self, help: Option<String>) -> Diagnostic {
        self.help = help;
        self
    }

    pub(crate) fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }
}

/// Tabs are shown as four spaces so the caret line stays aligned with the source line.
const TAB: &str = "    ";

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message)?;
        let Some(loc) = &self.location else {
            if let Some(help) = &self.help {
                write!(f, "\n  = help: {help}")?;
            }
            for note in &self.notes {
                write!(f, "\n  = note: {note}")?;
            }
            return Ok(());
        };
        let number = loc.line.to_string();
        let pad = " ".repeat(number.len());
        write!(f, "\n{pad}--> {}:{}:{}", loc.file, loc.line, loc.column)?;
        write!(f, "\n{pad} |")?;
        let shown = loc.source_line.replace('\t', TAB);
        write!(f, "\n{}", format!("{number} | {shown}").trim_end())?;
        let mut carets = String::new();
        for (i, c) in loc.source_line.chars().enumerate() {
            if i + 1 >= loc.column {
                break;
            }
            carets.push_str(if c == '\t' { TAB } else { " " });
        }
        // A span starting at the end of the line (an unterminated string, a missing value) still gets a caret.
        let past_end = loc
            .column
            .saturating_sub(1)
            .saturating_sub(loc.source_line.chars().count());
        carets.push_str(&" ".repeat(past_end));
        let underlined: usize = loc
            .source_line
            .chars()
            .skip(loc.column.saturating_sub(1))
            .take(loc.width)
            .map(|c| if c == '\t' { TAB.len() } else { 1 })
            .sum();
        carets.push_str(&"^".repeat(underlined.max(1)));
        write!(f, "\n{pad} | {carets}")?;
        if let Some(help) = &self.help {
            write!(f, "\n{pad} = help: {help}")?;
        }
        for note in &self.notes {
            write!(f, "\n{pad} = note: {note}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_rustc() {
        let source = "[site]\ndomain = \"example.com\"\nsubdomian = [\"app\"]\n";
        let diagnostic = Diagnostic::new("unknown key `subdomian` in [site]")
            .at(Location::from_span(source, "launchready.toml", 30..39))
            .help("did you mean `subdomains`?");
        assert_eq!(
            diagnostic.to_string(),
            "error: unknown key `subdomian` in [site]\n --> launchready.toml:3:1\n  |\n3 | subdomian = [\"app\"]\n  | ^^^^^^^^^\n  = help: did you mean `subdomains`?"
        );
    }

    #[test]
    fn columns_count_characters_and_tabs_stay_aligned() {
        let source = "\tname = \"bücher\" x\n";
        let loc = Location::from_span(source, "f", 18..19);
        assert_eq!((loc.line, loc.column, loc.width), (1, 18, 1));
        let rendered = Diagnostic::new("m").at(loc).to_string();
        let lines: Vec<&str> = rendered.lines().collect();
        assert_eq!(lines[3], "1 |     name = \"bücher\" x");
        assert_eq!(lines[4], "  |                     ^");
    }

    #[test]
    fn empty_span_at_line_end_gets_one_caret_past_the_text() {
        let source = "a = \"x\r\nb = 1\r\n";
        let loc = Location::from_span(source, "f", 6..6);
        assert_eq!((loc.line, loc.column, loc.width), (1, 7, 1));
        assert_eq!(loc.source_line, "a = \"x");
        let rendered = Diagnostic::new("m").at(loc).to_string();
        assert!(rendered.ends_with("1 | a = \"x\n  |       ^"), "{rendered}");
    }

    #[test]
    fn wide_line_numbers_widen_the_gutter() {
        let source = format!("{}key = 1\n", "\n".repeat(11));
        let rendered = Diagnostic::new("m")
            .at(Location::from_span(&source, "f", 11..14))
            .to_string();
        assert_eq!(
            rendered,
            "error: m\n  --> f:12:1\n   |\n12 | key = 1\n   | ^^^"
        );
    }
}
