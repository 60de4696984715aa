//! Where scanned bytes come from: a working tree, a git repository's history (or its index, or every object in
//! it), or a reader such as stdin. Each source hands buffers to a [`Scanner`] and places its matches in the world
//! as [`SecretFinding`]s; anything it could not read becomes a [`Skipped`] entry instead of an error.

mod git;
mod tree;

use std::io::Read;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::{Location, RawMatch, SecretFinding, Skipped};

/// What a source needs from the rule engine. [`crate::rules::RuleSet`] is the real one; tests use tiny ones.
pub trait Scanner: Sync {
    /// Every secret in `data`, which was read from `path` (used by path-based rules and allowlists).
    fn scan(&self, path: &str, data: &[u8]) -> Vec<RawMatch>;
    /// Whether findings of `rule_id` first introduced by `commit` (full hex id) are allowlisted.
    fn allows_commit(&self, rule_id: &str, commit: &str) -> bool;
}

impl<S: Scanner + ?Sized> Scanner for &S {
    fn scan(&self, path: &str, data: &[u8]) -> Vec<RawMatch> {
        (**self).scan(path, data)
    }
    fn allows_commit(&self, rule_id: &str, commit: &str) -> bool {
        (**self).allows_commit(rule_id, commit)
    }
}

impl Scanner for crate::rules::RuleSet {
    fn scan(&self, path: &str, data: &[u8]) -> Vec<RawMatch> {
        crate::rules::RuleSet::scan(self, path, data)
    }
    fn allows_commit(&self, rule_id: &str, commit: &str) -> bool {
        crate::rules::RuleSet::allows_commit(self, rule_id, commit)
    }
}

/// What to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOptions {
    /// Scan every blob reachable from any ref when the root is a git repository.
    pub history: bool,
    /// Also scan blobs no ref reaches (dangling or unreachable objects), with path `?`.
    pub all_objects: bool,
    /// Scan only what is staged: index entries whose blob differs from `HEAD` (the pre-commit case).
    pub staged: bool,
    /// Scan only commits reachable from the refs but not from this revision (the CI case).
    pub since: Option<String>,
    /// Files and blobs larger than this are skipped, not read.
    pub max_file_size: u64,
    /// Worker threads; 0 means one per core.
    pub threads: usize,
}

/// 10 MiB: larger files are almost always data or build output, and reading them costs more than it finds.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            history: true,
            all_objects: false,
            staged: false,
            since: None,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            threads: 0,
        }
    }
}

/// A snapshot of a running scan, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub bytes_done: u64,
    /// Known only when the source can tell cheaply (a working tree cannot without walking it twice).
    pub bytes_total: Option<u64>,
    /// Files or blobs looked at so far, scanned or skipped.
    pub items_done: u64,
}

/// Counts of what was actually scanned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Working-tree files (and stdin) scanned.
    pub files: u64,
    /// Git blobs scanned.
    pub blobs: u64,
    /// Bytes handed to the scanner.
    pub bytes: u64,
    /// Commits walked.
    pub commits: u64,
}

/// Everything a scan found and everything it had to leave out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanOutput {
    pub findings: Vec<SecretFinding>,
    pub skipped: Vec<Skipped>,
    pub stats: ScanStats,
}

impl ScanOutput {
    fn absorb(&mut self, other: ScanOutput) {
        self.findings.extend(other.findings);
        self.skipped.extend(other.skipped);
        self.stats.files += other.stats.files;
        self.stats.blobs += other.stats.blobs;
        self.stats.bytes += other.stats.bytes;
        self.stats.commits += other.stats.commits;
    }
}

/// Why a scan could not run at all. Anything narrower (one unreadable file, one corrupt object) is a [`Skipped`].
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{path}: not a directory")]
    NotADirectory { path: String },
    #[error("{path}: cannot open git repository: {reason}")]
    OpenRepository { path: String, reason: String },
    #[error("revision `{rev}` does not resolve to a commit: {reason}")]
    BadRev { rev: String, reason: String },
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Scans the directory at `root`: its working tree, and when it is a git repository (work tree or bare) its
/// history as `options` say. Blobs already scanned in history are not scanned again from the working tree.
pub fn scan_path<S: Scanner>(
    root: &Path,
    scanner: &S,
    options: &ScanOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ScanOutput, SourceError> {
    if !root.is_dir() {
        return Err(SourceError::NotADirectory {
            path: root.display().to_string(),
        });
    }
    let reporter = Reporter::new(progress, None);
    let out = with_threads(options.threads, || {
        scan_path_inner(root, scanner, options, &reporter)
    });
    reporter.finish();
    out
}

fn scan_path_inner<S: Scanner>(
    root: &Path,
    scanner: &S,
    options: &ScanOptions,
    reporter: &Reporter<'_>,
) -> Result<ScanOutput, SourceError> {
    let repo = git::open(root)?;
    let mut out = ScanOutput::default();
    let Some(repo) = repo else {
        if options.staged || options.since.is_some() {
            return Err(SourceError::OpenRepository {
                path: root.display().to_string(),
                reason: "not a git repository (needed for --staged and --since)".to_owned(),
            });
        }
        out.absorb(tree::scan(root, scanner, options, None, reporter));
        return Ok(out);
    };
    if options.staged {
        return git::scan_staged(&repo, scanner, options, reporter);
    }
    let known = if options.history || options.all_objects || options.since.is_some() {
        let (history, known) = git::scan_history(&repo, scanner, options, reporter)?;
        out.absorb(history);
        Some(known)
    } else {
        None
    };
    if git::has_worktree(&repo, root) {
        let known = known
            .as_ref()
            .map(|k| (k, repo.to_thread_local().object_hash()));
        out.absorb(tree::scan(root, scanner, options, known, reporter));
    }
    Ok(out)
}

/// Scans one stream (stdin for `-`) as a single file named `-`, read up to `max_file_size`.
pub fn scan_reader<S: Scanner>(
    reader: impl Read,
    scanner: &S,
    options: &ScanOptions,
) -> Result<ScanOutput, SourceError> {
    const PATH: &str = "-";
    let mut data = Vec::new();
    reader
        .take(options.max_file_size.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|source| SourceError::Read {
            path: PATH.to_owned(),
            source,
        })?;
    let mut out = ScanOutput::default();
    match check_content(&data, options.max_file_size) {
        Err(reason) => out.skipped.push(Skipped {
            path: PATH.to_owned(),
            reason,
        }),
        Ok(()) => {
            out.stats.files = 1;
            out.stats.bytes = data.len() as u64;
            out.findings = locate(scanner.scan(PATH, &data), || Location {
                path: PATH.to_owned(),
                commit: None,
                blob: None,
            });
        }
    }
    Ok(out)
}

/// Git's own heuristic (and gitleaks'): a NUL byte early on means binary.
const BINARY_SNIFF_LEN: usize = 8 * 1024;

/// Whether bytes should be scanned; the reason when not.
fn check_content(data: &[u8], max: u64) -> Result<(), String> {
    if data.len() as u64 > max {
        return Err(too_large(data.len() as u64, max));
    }
    if data[..data.len().min(BINARY_SNIFF_LEN)].contains(&0) {
        return Err("binary: NUL byte in the first 8 KiB".to_owned());
    }
    Ok(())
}

fn too_large(size: u64, max: u64) -> String {
    format!("too large: {size} bytes, limit {max}")
}

fn locate(matches: Vec<RawMatch>, location: impl Fn() -> Location) -> Vec<SecretFinding> {
    matches
        .into_iter()
        .map(|found| SecretFinding {
            found,
            location: location(),
        })
        .collect()
}

/// Runs `f` on a pool of `threads` workers (0 = rayon's default of one per core). If a pool cannot be built the
/// global one is used: fewer threads is not worth failing a scan over.
fn with_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool.install(f),
        Err(_) => f(),
    }
}

/// Throttled progress: callers count every item, the callback hears about it at most every 100 ms.
struct Reporter<'a> {
    callback: &'a (dyn Fn(Progress) + Sync),
    bytes_done: AtomicU64,
    items_done: AtomicU64,
    bytes_total: Option<u64>,
    last: Mutex<Instant>,
}

const PROGRESS_EVERY: Duration = Duration::from_millis(100);

impl<'a> Reporter<'a> {
    fn new(callback: &'a (dyn Fn(Progress) + Sync), bytes_total: Option<u64>) -> Self {
        Reporter {
            callback,
            bytes_done: AtomicU64::new(0),
            items_done: AtomicU64::new(0),
            bytes_total,
            last: Mutex::new(Instant::now()),
        }
    }

    fn item(&self, bytes: u64) {
        self.bytes_done.fetch_add(bytes, Ordering::Relaxed);
        self.items_done.fetch_add(1, Ordering::Relaxed);
        // try_lock: a worker that finds another one reporting just carries on instead of queueing behind it.
        if let Ok(mut last) = self.last.try_lock()
            && last.elapsed() >= PROGRESS_EVERY
        {
            *last = Instant::now();
            (self.callback)(self.snapshot());
        }
    }

    fn snapshot(&self) -> Progress {
        Progress {
            bytes_done: self.bytes_done.load(Ordering::Relaxed),
            bytes_total: self.bytes_total,
            items_done: self.items_done.load(Ordering::Relaxed),
        }
    }

    fn finish(&self) {
        (self.callback)(self.snapshot());
    }
}

/// `path` relative to `root`, `/`-separated, lossily decoded.
fn relative_slash_path(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}
