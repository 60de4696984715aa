//! DNS change documentation: a zone as it is now (a snapshot, written as a BIND zone file plus a JSON sidecar),
//! what changed between two snapshots and what each change means for the site, and the ordered plan that puts a
//! snapshot back. Everything but `gather` and `cloudflare` is pure: snapshots are plain serde data.

pub mod cloudflare;
pub mod diff;
pub mod gather;
pub mod meaning;
pub mod plan;
pub mod zone;

use serde::{Deserialize, Serialize};
use std::path::Path;

/// Bumped when the JSON sidecar changes shape incompatibly.
pub const SNAPSHOT_SCHEMA_VERSION: u32 = 1;

/// Everything one snapshot saw of a zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub schema_version: u32,
    /// The zone apex, lower case, no trailing dot.
    pub domain: String,
    /// RFC 3339, UTC.
    pub taken_at: String,
    /// The machine and resolver the snapshot was taken from.
    pub taken_from: String,
    /// Where the records came from, in the order they were tried, each with its outcome.
    pub sources: Vec<Source>,
    /// What the snapshot could not see (a refused transfer, a name that timed out, a provider setting).
    pub unseen: Vec<String>,
    /// Which owner names were looked at; `complete` when a zone transfer or a provider export listed every name.
    pub coverage: Coverage,
    /// Sorted by name, type, data.
    pub records: Vec<Rec>,
    /// Facts only the DNS provider knows (proxying, SSL mode, page rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderFacts>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// `axfr`, `queries`, `resolver`, `cloudflare` or `file`.
    pub kind: String,
    /// e.g. `ns1.example.com (192.0.2.1:53)`.
    pub detail: String,
    pub ok: bool,
    /// Why it failed, or how many records it gave.
    pub outcome: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Coverage {
    pub complete: bool,
    /// Names asked about (lower case, no trailing dot); empty when `complete`.
    #[serde(default)]
    pub names: Vec<String>,
}

impl Coverage {
    pub fn covers(&self, name: &str) -> bool {
        self.complete || self.names.iter().any(|n| n == name)
    }
}

/// One resource record. `data` is the master-file presentation form with absolute names (`10 mx.example.com.`,
/// `"v=spf1 -all"`), so equal records compare equal whichever source they came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Rec {
    /// Owner name, lower case, no trailing dot.
    pub name: String,
    pub ttl: u32,
    /// `A`, `MX`, …
    pub rtype: String,
    pub data: String,
    /// Cloudflare's orange cloud: the public answer is Cloudflare's addresses, not `data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxied: Option<bool>,
}

impl Rec {
    pub fn new(name: &str, ttl: u32, rtype: &str, data: impl Into<String>) -> Rec {
        Rec {
            name: normalize_name(name),
            ttl,
            rtype: rtype.to_ascii_uppercase(),
            data: data.into(),
            proxied: None,
        }
    }

    /// The text a TXT record carries, its character-strings joined (what SPF and DMARC parsers read).
    pub fn txt_value(&self) -> String {
        zone::txt_strings(&self.data).concat()
    }
}

/// What the DNS provider adds to the zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderFacts {
    pub provider: String,
    pub zone_id: String,
    /// Cloudflare's SSL/TLS mode (`off`, `flexible`, `full`, `strict`).
    #[serde(default)]
    pub ssl_mode: Option<String>,
    /// Page rules as the provider returned them.
    #[serde(default)]
    pub page_rules: Vec<serde_json::Value>,
}

/// Lower case, without the trailing dot.
pub fn normalize_name(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Why a snapshot file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a snapshot sidecar: {message}")]
    Json { path: String, message: String },
    #[error("{path}:{line}: {message}")]
    Zone {
        path: String,
        line: usize,
        message: String,
    },
}

impl Snapshot {
    /// Reads a JSON sidecar or a zone file (the snapshot's own, or any master file with `$ORIGIN` or absolute
    /// names), judged by the content.
    pub fn load(path: &Path) -> Result<Snapshot, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
            path: path.display().to_string(),
            source,
        })?;
        if text.trim_start().starts_with('{') {
            return serde_json::from_str(&text).map_err(|e| LoadError::Json {
                path: path.display().to_string(),
                message: e.to_string(),
            });
        }
        zone::parse(&text).map_err(|e| LoadError::Zone {
            path: path.display().to_string(),
            line: e.line,
            message: e.message,
        })
    }

    /// Sorts and de-duplicates records, the form every other function expects.
    pub fn normalize(&mut self) {
        for rec in &mut self.records {
            rec.name = normalize_name(&rec.name);
            rec.rtype = rec.rtype.to_ascii_uppercase();
        }
        self.records.sort();
        self.records.dedup_by(|a, b| {
            a.name == b.name && a.rtype == b.rtype && a.data == b.data && a.ttl == b.ttl
        });
        self.coverage.names.sort();
        self.coverage.names.dedup();
    }

    /// The records at `name` of type `rtype`.
    pub fn rrset<'a>(&'a self, name: &'a str, rtype: &'a str) -> impl Iterator<Item = &'a Rec> {
        self.records
            .iter()
            .filter(move |r| r.name == name && r.rtype == rtype)
    }

    /// The JSON sidecar.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_string())
    }
}

/// `example.com` → `@`, `www.example.com` → `www`; names outside the zone stay absolute.
pub fn relative(name: &str, origin: &str) -> String {
    if name == origin {
        "@".to_string()
    } else if let Some(prefix) = name.strip_suffix(&format!(".{origin}")) {
        prefix.to_string()
    } else {
        format!("{name}.")
    }
}
