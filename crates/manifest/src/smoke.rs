//! What `launchready smoke` checks after a deploy beyond the `[[route]]`s: the `[smoke]` table (the homepage's load
//! budget, the version endpoint, the payment webhook) and the `[[flow]]` journeys it runs.

use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

/// The `[smoke]` table. Absent, it is the defaults: a one-second homepage budget, no version endpoint and no
/// webhook beyond any `kind = "webhook"` route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Smoke {
    /// The homepage (the canonical URL) must load within this.
    pub homepage_budget: Duration,
    /// Where the deployed version is served; `--wait-for-version` polls it.
    pub version_url: Option<url::Url>,
    /// The payment webhook: it must answer, and refuse a payload without a signature.
    pub webhook: Option<url::Url>,
}

impl Smoke {
    pub const DEFAULT_HOMEPAGE_BUDGET: Duration = Duration::from_secs(1);
}

impl Default for Smoke {
    fn default() -> Self {
        Smoke {
            homepage_budget: Smoke::DEFAULT_HOMEPAGE_BUDGET,
            version_url: None,
            webhook: None,
        }
    }
}

/// A `[[flow]]`: a Hurl file `launchready smoke` runs after the other checks (the member area after a login).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flow {
    /// As shown in reports; the file's stem when the manifest names none.
    pub name: String,
    /// As written: relative paths are relative to the manifest's directory ([`crate::Manifest::flow_path`]).
    pub file: PathBuf,
}
