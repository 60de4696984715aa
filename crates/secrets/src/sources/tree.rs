//! The working tree: every regular file under the root that git would not ignore, hidden files included, read in
//! parallel by ripgrep's walker. Files whose content is a blob history already scanned are not scanned again.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Mutex;

use gix::ObjectId;
use ignore::{WalkBuilder, WalkState};

use super::{
    Reporter, ScanOptions, ScanOutput, Scanner, check_content, locate, relative_slash_path,
    too_large,
};
use crate::{Location, SecretFinding, Skipped};

/// Blob ids already accounted for by a history scan, and the hash they are computed with.
pub(super) type Known<'a> = Option<(&'a gix::hashtable::HashSet<ObjectId>, gix::hash::Kind)>;

enum Visit {
    Nothing,
    Scanned {
        findings: Vec<SecretFinding>,
        bytes: u64,
    },
    Skipped(Skipped),
}

pub(super) fn scan<S: Scanner>(
    root: &Path,
    scanner: &S,
    options: &ScanOptions,
    known: Known<'_>,
    reporter: &Reporter<'_>,
) -> ScanOutput {
    let mut builder = WalkBuilder::new(root);
    builder
        // `.env` and friends are hidden and are exactly where secrets live.
        .hidden(false)
        // Never follow links: a link loop would never end, and a link's target is scanned where it lives.
        .follow_links(false)
        // A tarball or a copied tree still means what its .gitignore says.
        .require_git(false)
        .threads(options.threads)
        .filter_entry(|entry| entry.file_name() != ".git");
    let shared = Mutex::new(ScanOutput::default());
    builder.build_parallel().run(|| {
        let shared = &shared;
        Box::new(move |entry| {
            let visit = match entry {
                Ok(entry) => visit(root, &entry, scanner, options, known, reporter),
                Err(err) => Visit::Skipped(walk_error(root, &err)),
            };
            let record = |out: &mut ScanOutput| match visit {
                Visit::Nothing => {}
                Visit::Scanned { findings, bytes } => {
                    out.stats.files += 1;
                    out.stats.bytes += bytes;
                    out.findings.extend(findings);
                }
                Visit::Skipped(skipped) => out.skipped.push(skipped),
            };
            if let Ok(mut out) = shared.lock() {
                record(&mut out);
            }
            WalkState::Continue
        })
    });
    let mut out = shared
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // Threads finish in any order; reports should not.
    out.findings.sort_by(|a, b| {
        (&a.location.path, a.found.start, &a.found.rule_id).cmp(&(
            &b.location.path,
            b.found.start,
            &b.found.rule_id,
        ))
    });
    out.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn visit<S: Scanner>(
    root: &Path,
    entry: &ignore::DirEntry,
    scanner: &S,
    options: &ScanOptions,
    known: Known<'_>,
    reporter: &Reporter<'_>,
) -> Visit {
    let Some(file_type) = entry.file_type() else {
        return Visit::Nothing;
    };
    if file_type.is_dir() || file_type.is_symlink() {
        return Visit::Nothing;
    }
    let path = relative_slash_path(root, entry.path());
    let skip = |reason: String| {
        reporter.item(0);
        Visit::Skipped(Skipped {
            path: path.clone(),
            reason,
        })
    };
    if !file_type.is_file() {
        // Reading a FIFO or a device could block forever.
        return skip("not a regular file".to_owned());
    }
    let size = match entry.metadata() {
        Ok(meta) => meta.len(),
        Err(err) => return skip(format!("unreadable: {err}")),
    };
    let max = options.max_file_size;
    if size > max {
        // History may already have reported this very content as too large; say so once.
        if let Some(known) = known
            && is_known_file(entry.path(), size, known)
        {
            reporter.item(0);
            return Visit::Nothing;
        }
        return skip(too_large(size, max));
    }
    let data = match read_capped(entry.path(), size, max) {
        Ok(data) => data,
        Err(err) => return skip(format!("unreadable: {err}")),
    };
    if let Some((known, hash)) = known
        && let Ok(id) = gix::objs::compute_hash(hash, gix::objs::Kind::Blob, &data)
        && known.contains(&id)
    {
        reporter.item(0);
        return Visit::Nothing;
    }
    if let Err(reason) = check_content(&data, max) {
        return skip(reason);
    }
    let bytes = data.len() as u64;
    reporter.item(bytes);
    let findings = locate(scanner.scan(&path, &data), || Location {
        path: path.clone(),
        commit: None,
        blob: None,
    });
    Visit::Scanned { findings, bytes }
}

/// Reads at most one byte past `max`, so a file that grew since it was measured is still caught as too large.
fn read_capped(path: &Path, size_hint: u64, max: u64) -> std::io::Result<Vec<u8>> {
    let mut data = Vec::with_capacity(usize::try_from(size_hint.min(max)).unwrap_or(0));
    File::open(path)?
        .take(max.saturating_add(1))
        .read_to_end(&mut data)?;
    Ok(data)
}

/// Whether an oversized file's git blob id is known, hashing it in chunks so it is never held in memory whole.
fn is_known_file(
    path: &Path,
    size: u64,
    (known, hash): (&gix::hashtable::HashSet<ObjectId>, gix::hash::Kind),
) -> bool {
    let Ok(mut file) = File::open(path) else {
        return false;
    };
    let mut hasher = gix::hash::hasher(hash);
    hasher.update(&gix::objs::encode::loose_header(
        gix::objs::Kind::Blob,
        size,
    ));
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                total += n as u64;
                if total > size {
                    return false;
                }
                hasher.update(buf.get(..n).unwrap_or_default());
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    total == size && hasher.try_finalize().is_ok_and(|id| known.contains(&id))
}

fn walk_error(root: &Path, err: &ignore::Error) -> Skipped {
    fn path_of(err: &ignore::Error) -> Option<&Path> {
        match err {
            ignore::Error::WithPath { path, .. } => Some(path),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                path_of(err)
            }
            ignore::Error::Loop { child, .. } => Some(child),
            _ => None,
        }
    }
    let path = path_of(err).map_or_else(|| ".".to_owned(), |p| relative_slash_path(root, p));
    Skipped {
        path,
        reason: format!("unreadable: {err}"),
    }
}
