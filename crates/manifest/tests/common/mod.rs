//! The table tests' shared setup: a manifest for example.com with one table added, and the check that a bad table
//! is refused at the value at fault.

use launchready_manifest::{Manifest, ManifestError};
use std::path::Path;

/// Where the test manifests claim to live, so errors name a realistic path.
const FILE: &str = "site/launchready.toml";
const SITE: &str = "[site]\ndomain = \"example.com\"\ncanonical = \"https://www.example.com/\"\n";

/// The example.com site followed by `rest`.
pub fn parse(rest: &str) -> Result<Manifest, ManifestError> {
    Manifest::parse(&format!("{SITE}{rest}"), Path::new(FILE))
}

/// The error for `rest`, which must be at `line:column` and contain every needle.
#[track_caller]
pub fn rejects(rest: &str, line: usize, column: usize, needles: &[&str]) {
    let error = match parse(rest) {
        Ok(manifest) => panic!("accepted:\n{rest}\nas {manifest:#?}"),
        Err(error) => error,
    };
    let rendered = error.to_string();
    assert_eq!(
        (error.line(), error.column()),
        (Some(line), Some(column)),
        "wrong position for:\n{rest}\n{rendered}"
    );
    for needle in needles {
        assert!(rendered.contains(needle), "no `{needle}` in:\n{rendered}");
    }
}
