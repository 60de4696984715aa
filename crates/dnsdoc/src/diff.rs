//! What changed between two snapshots, record set by record set (owner name × type): sets that appeared or
//! disappeared, values added to or removed from a set, and TTL changes, each with what it means for the site.
//! Names only one side looked at are left out and counted, so a full transfer compared with a query-by-query
//! snapshot does not report every unlisted name as removed.

use crate::{Rec, Snapshot, meaning};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The set exists only in the second snapshot.
    Added,
    /// The set exists only in the first.
    Removed,
    /// Both have the set, with different values.
    Changed,
    /// Same values, different TTL.
    Ttl,
}

/// One record set's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub kind: ChangeKind,
    pub name: String,
    pub rtype: String,
    /// Values only the first snapshot has.
    pub removed: Vec<String>,
    /// Values only the second has.
    pub added: Vec<String>,
    /// Values both have.
    pub kept: Vec<String>,
    pub ttl_before: Option<u32>,
    pub ttl_after: Option<u32>,
    /// What the change means for the site, in plain words.
    pub meanings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Diff {
    pub domain: String,
    pub changes: Vec<Change>,
    /// Names only one snapshot looked at, so not compared.
    pub not_compared: Vec<String>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

type Sets<'a> = BTreeMap<(&'a str, &'a str), Vec<&'a Rec>>;

fn sets(snapshot: &Snapshot) -> Sets<'_> {
    let mut map: Sets<'_> = BTreeMap::new();
    for rec in &snapshot.records {
        map.entry((rec.name.as_str(), rec.rtype.as_str()))
            .or_default()
            .push(rec);
    }
    map
}

/// The changes that turn `before` into `after`.
pub fn diff(before: &Snapshot, after: &Snapshot) -> Diff {
    let a = sets(before);
    let b = sets(after);
    let keys: BTreeSet<(&str, &str)> = a.keys().chain(b.keys()).copied().collect();
    let mut not_compared = BTreeSet::new();
    let mut changes = Vec::new();
    for key in keys {
        let (name, rtype) = key;
        if !before.coverage.covers(name) || !after.coverage.covers(name) {
            not_compared.insert(name.to_string());
            continue;
        }
        let old = a.get(&key).map(Vec::as_slice).unwrap_or_default();
        let new = b.get(&key).map(Vec::as_slice).unwrap_or_default();
        let old_values: BTreeSet<&str> = old.iter().map(|r| r.data.as_str()).collect();
        let new_values: BTreeSet<&str> = new.iter().map(|r| r.data.as_str()).collect();
        let ttl_before = old.iter().map(|r| r.ttl).max();
        let ttl_after = new.iter().map(|r| r.ttl).max();
        let kind = if old.is_empty() {
            ChangeKind::Added
        } else if new.is_empty() {
            ChangeKind::Removed
        } else if old_values != new_values {
            ChangeKind::Changed
        } else if ttl_before != ttl_after {
            ChangeKind::Ttl
        } else {
            continue;
        };
        let mut change = Change {
            kind,
            name: name.to_string(),
            rtype: rtype.to_string(),
            removed: old_values
                .difference(&new_values)
                .map(|s| s.to_string())
                .collect(),
            added: new_values
                .difference(&old_values)
                .map(|s| s.to_string())
                .collect(),
            kept: old_values
                .intersection(&new_values)
                .map(|s| s.to_string())
                .collect(),
            ttl_before,
            ttl_after,
            meanings: Vec::new(),
        };
        change.meanings = meaning::explain(&change, before, after);
        changes.push(change);
    }
    Diff {
        domain: after.domain.clone(),
        changes,
        not_compared: not_compared.into_iter().collect(),
    }
}

/// The diff as text: one block per change, its meanings indented under it.
pub fn render_text(diff: &Diff) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if diff.changes.is_empty() {
        let _ = writeln!(out, "{}: no differences", diff.domain);
    } else {
        let _ = writeln!(
            out,
            "{}: {} record set(s) differ",
            diff.domain,
            diff.changes.len()
        );
    }
    for change in &diff.changes {
        let ttl = |t: Option<u32>| t.map_or_else(|| "-".to_string(), |t| t.to_string());
        let label = match change.kind {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
            ChangeKind::Ttl => "ttl",
        };
        let _ = writeln!(out, "\n{label:8} {} {}", change.name, change.rtype);
        for value in &change.removed {
            let _ = writeln!(out, "  - {} {value}", ttl(change.ttl_before));
        }
        for value in &change.added {
            let _ = writeln!(out, "  + {} {value}", ttl(change.ttl_after));
        }
        if change.kind == ChangeKind::Ttl
            || change.ttl_before != change.ttl_after && !change.kept.is_empty()
        {
            let _ = writeln!(
                out,
                "  ~ TTL {} → {}",
                ttl(change.ttl_before),
                ttl(change.ttl_after)
            );
        }
        for meaning in &change.meanings {
            let _ = writeln!(out, "  ⇒ {meaning}");
        }
    }
    if !diff.not_compared.is_empty() {
        let _ = writeln!(
            out,
            "\nnot compared ({} name(s) only one side looked at): {}",
            diff.not_compared.len(),
            diff.not_compared.join(", ")
        );
    }
    out
}
