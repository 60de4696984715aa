//! A git repository read through gix: every blob reachable from any ref (each unique blob scanned once and
//! attributed to the oldest commit and the path it first appears at), optionally every other blob in the object
//! database, only the commits since a revision, or only what is staged.
//!
//! The walk is two passes so memory stays bounded: first the commit graph and trees are walked on one thread,
//! collecting (blob, first path, first commit) triples and skipping every tree already seen, so the work is
//! proportional to unique trees plus blobs; then the blobs are decompressed and scanned in parallel, one at a time
//! per worker.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use gix::ObjectId;
use gix::bstr::{BStr, BString, ByteSlice};
use gix::hashtable::HashSet;
use gix::objs::tree::EntryKind;
use gix::prelude::{FindExt, HeaderExt};
use rayon::prelude::*;

use super::{Reporter, ScanOptions, ScanOutput, Scanner, SourceError, check_content, too_large};
use crate::{CommitInfo, Location, RawMatch, SecretFinding, Skipped};

/// The path reported for blobs no tree names (dangling objects, refs that point straight at a blob).
const UNKNOWN_PATH: &str = "?";

/// Opens `root` as a repository (work tree or bare). `Ok(None)` when it plainly is not one; an error when it
/// looks like one but cannot be opened, so a broken repository is never silently scanned as plain files.
pub(super) fn open(root: &Path) -> Result<Option<gix::ThreadSafeRepository>, SourceError> {
    // Isolated: the user's global config and GIT_* variables must not change what a scan of this directory sees.
    // A delta-base cache (per thread) makes reading deltified trees and blobs about three times faster.
    let options = gix::open::Options::isolated().config_overrides(["core.deltaBaseCacheLimit=64m"]);
    match gix::ThreadSafeRepository::open_opts(root, options) {
        Ok(repo) => Ok(Some(repo)),
        Err(err) => {
            let looks_like_repo = root.join(".git").exists()
                || (root.join("HEAD").is_file() && root.join("objects").is_dir());
            if looks_like_repo {
                Err(SourceError::OpenRepository {
                    path: root.display().to_string(),
                    reason: err.to_string(),
                })
            } else {
                Ok(None)
            }
        }
    }
}

/// Whether `root` has a working tree to walk: not for bare repositories, nor when `root` is the `.git` directory.
pub(super) fn has_worktree(repo: &gix::ThreadSafeRepository, root: &Path) -> bool {
    if repo.work_dir().is_none() {
        return false;
    }
    match (root.canonicalize(), repo.git_dir().canonicalize()) {
        (Ok(root), Ok(git_dir)) => root != git_dir,
        _ => true,
    }
}

/// One blob to scan: where it first appeared.
struct Job {
    id: ObjectId,
    path: String,
    /// Index into the walk's commit order; `None` for staged or unreachable blobs.
    commit: Option<usize>,
}

impl Job {
    fn location(&self, commit: Option<CommitInfo>) -> Location {
        Location {
            path: self.path.clone(),
            commit,
            blob: Some(self.id.to_string()),
        }
    }

    fn skipped(&self, reason: String) -> Skipped {
        Skipped {
            path: self.path.clone(),
            reason,
        }
    }
}

/// A scanned blob that needs reporting (clean blobs are not kept).
enum Outcome {
    Found(Vec<RawMatch>),
    /// Deliberately not scanned (binary, too large): the working tree copy would be skipped the same way.
    Skipped(String),
    /// Could not be read: the working tree copy, if any, must still be scanned.
    Failed(String),
}

/// Scans history as `options` say. Returns the output and every blob id the working tree need not scan again.
pub(super) fn scan_history<S: Scanner>(
    ts: &gix::ThreadSafeRepository,
    scanner: &S,
    options: &ScanOptions,
    reporter: &Reporter<'_>,
) -> Result<(ScanOutput, HashSet<ObjectId>), SourceError> {
    let repo = ts.to_thread_local();
    let mut out = ScanOutput::default();
    let excluded = match &options.since {
        Some(rev) => Some(reachable_from(
            &repo,
            &resolve_commit(&repo, rev)?,
            &shallow_commits(&repo),
        )),
        None => None,
    };
    let tips = collect_tips(&repo, &mut out.skipped);
    let graph = walk_commits(&repo, &tips.commits, excluded.as_ref(), &mut out.skipped);
    out.stats.commits = graph.order.len() as u64;

    let mut collector = Collector::new(&repo);
    // Blobs already present where the new commits start from are not theirs to report.
    for boundary in &graph.boundary {
        if let Ok((tree, _, _)) = read_commit(&repo, boundary, &mut Vec::new()) {
            collector.walk_tree(tree, None, false);
        }
    }
    let mut known = collector.seen_blobs.clone();
    let record = options.history;
    for (index, commit) in graph.order.iter().enumerate() {
        collector.walk_tree(commit.tree, Some(index), record);
    }
    if excluded.is_none() {
        for (tree, _name) in &tips.trees {
            collector.walk_tree(*tree, None, record);
        }
        for (blob, name) in &tips.blobs {
            if collector.seen_blobs.insert(*blob) && record {
                collector.jobs.push(Job {
                    id: *blob,
                    path: name.clone(),
                    commit: None,
                });
            }
        }
    }
    if options.all_objects {
        collector.add_unreachable(&graph);
    }
    let Collector { jobs, skipped, .. } = collector;
    out.skipped.extend(skipped);

    let results = scan_jobs(ts, &jobs, scanner, options, reporter, &mut out);
    let mut commits = CommitInfos::default();
    let mut failed = HashSet::default();
    for (index, outcome) in results {
        let Some(job) = jobs.get(index) else { continue };
        match outcome {
            Outcome::Found(matches) => {
                let commit = job
                    .commit
                    .and_then(|c| graph.order.get(c))
                    .and_then(|c| commits.get(&repo, c.id));
                for found in matches {
                    if let Some(commit) = &commit
                        && scanner.allows_commit(&found.rule_id, &commit.id)
                    {
                        continue;
                    }
                    let location = job.location(commit.clone());
                    out.findings.push(SecretFinding { found, location });
                }
            }
            Outcome::Skipped(reason) => out
                .skipped
                .push(job.skipped(format!("{reason} (git blob {})", job.id))),
            Outcome::Failed(reason) => {
                failed.insert(job.id);
                out.skipped.push(job.skipped(reason));
            }
        }
    }
    known.extend(
        jobs.iter()
            .map(|job| job.id)
            .filter(|id| !failed.contains(id)),
    );
    Ok((out, known))
}

/// Scans the index entries whose blob differs from `HEAD`'s at the same path, or that `HEAD` lacks.
pub(super) fn scan_staged<S: Scanner>(
    ts: &gix::ThreadSafeRepository,
    scanner: &S,
    options: &ScanOptions,
    reporter: &Reporter<'_>,
) -> Result<ScanOutput, SourceError> {
    let repo = ts.to_thread_local();
    let mut out = ScanOutput::default();
    let index = match repo.try_index() {
        Ok(Some(index)) => index,
        // No index file: nothing was ever staged (or a bare repository).
        Ok(None) => return Ok(out),
        Err(err) => {
            return Err(SourceError::OpenRepository {
                path: repo.git_dir().display().to_string(),
                reason: format!("cannot read the index: {err}"),
            });
        }
    };
    let head_tree = match repo.head() {
        Ok(head) if head.is_unborn() => Ok(None),
        Ok(mut head) => head
            .peel_to_commit()
            .map(|commit| commit.tree_id().ok().map(|id| id.detach()))
            .map_err(|err| err.to_string()),
        Err(err) => Err(err.to_string()),
    }
    .unwrap_or_else(|err| {
        out.skipped.push(Skipped {
            path: "HEAD".to_owned(),
            reason: format!("unreadable: {err}"),
        });
        None
    });
    let head = match head_tree {
        Some(tree) => HeadPaths::collect(&repo, tree, index.tree(), &mut out.skipped),
        None => HeadPaths::default(),
    };
    let mut seen = HashSet::default();
    let mut jobs = Vec::new();
    // The blob each staged path replaces, when HEAD had one: only the lines the change adds are reported.
    let mut bases = Vec::new();
    for entry in index.entries() {
        if entry.mode.is_sparse()
            || entry.mode.is_submodule()
            || entry
                .flags
                .contains(gix::index::entry::Flags::INTENT_TO_ADD)
        {
            continue;
        }
        let path = entry.path(&index);
        if head.unchanged(path, entry.id) {
            continue;
        }
        if seen.insert(entry.id) {
            bases.push(head.blobs.get(path).copied());
            jobs.push(Job {
                id: entry.id,
                path: path.to_str_lossy().into_owned(),
                commit: None,
            });
        }
    }
    for (index, outcome) in scan_jobs(ts, &jobs, scanner, options, reporter, &mut out) {
        let Some(job) = jobs.get(index) else { continue };
        match outcome {
            Outcome::Found(matches) => {
                let matches = match bases.get(index).copied().flatten() {
                    Some(base) => only_added(&repo, base, job.id, matches),
                    None => matches,
                };
                out.findings
                    .extend(matches.into_iter().map(|found| SecretFinding {
                        found,
                        location: job.location(None),
                    }))
            }
            Outcome::Skipped(reason) | Outcome::Failed(reason) => {
                out.skipped.push(job.skipped(reason))
            }
        }
    }
    Ok(out)
}

/// The matches that touch a line the staged blob `new` adds to `base` (the `HEAD` version at the same path). A line
/// counts as added when `base` does not hold it (as many times): a secret the file already had, or one moved
/// within it, is not the change's to report. If either blob cannot be read, every match is kept.
fn only_added(
    repo: &gix::Repository,
    base: ObjectId,
    new: ObjectId,
    matches: Vec<RawMatch>,
) -> Vec<RawMatch> {
    let (mut old_buf, mut new_buf) = (Vec::new(), Vec::new());
    let (Ok(old), Ok(new)) = (
        repo.objects.find_blob(&base, &mut old_buf),
        repo.objects.find_blob(&new, &mut new_buf),
    ) else {
        return matches;
    };
    let added = added_lines(old.data, new.data);
    matches
        .into_iter()
        .filter(|m| {
            let span = new
                .data
                .get(m.start..m.end.min(new.data.len()))
                .unwrap_or_default();
            let last = m.line + span.iter().filter(|&&b| b == b'\n').count();
            (m.line..=last).any(|line| added.contains(&line))
        })
        .collect()
}

/// 1-based numbers of the lines of `new` that `old` does not account for, line for line as a multiset.
fn added_lines(old: &[u8], new: &[u8]) -> std::collections::HashSet<usize> {
    let mut have: HashMap<&[u8], usize> = HashMap::new();
    for line in old.split(|&b| b == b'\n') {
        *have
            .entry(line.strip_suffix(b"\r").unwrap_or(line))
            .or_default() += 1;
    }
    let mut added = std::collections::HashSet::new();
    for (i, line) in new.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match have.get_mut(line) {
            Some(n) if *n > 0 => *n -= 1,
            _ => {
                added.insert(i + 1);
            }
        }
    }
    added
}

/// What `HEAD` holds, as far as the staged scan needs to know: blob ids by path, and the directories the index's
/// cached trees prove unchanged (so a commit touching three files reads three paths' trees, not the whole tree).
#[derive(Default)]
struct HeadPaths {
    blobs: HashMap<BString, ObjectId>,
    unchanged_dirs: std::collections::HashSet<BString>,
    all_unchanged: bool,
}

impl HeadPaths {
    fn collect(
        repo: &gix::Repository,
        root: ObjectId,
        cache: Option<&gix::index::extension::Tree>,
        skipped: &mut Vec<Skipped>,
    ) -> Self {
        let mut head = HeadPaths::default();
        let valid = |node: Option<&gix::index::extension::Tree>, id: ObjectId| {
            node.is_some_and(|n| n.num_entries.is_some() && n.id == id)
        };
        if valid(cache, root) {
            head.all_unchanged = true;
            return head;
        }
        let mut buf = Vec::new();
        walk_tree(
            repo,
            root,
            cache,
            &mut buf,
            skipped,
            |prefix, entry, node, _| {
                let path = join(prefix, entry.filename);
                match entry.mode.kind() {
                    EntryKind::Tree => {
                        let child = node.and_then(|n| {
                            n.children
                                .iter()
                                .find(|c| c.name.as_slice() == entry.filename.as_bytes())
                        });
                        if valid(child, entry.oid.to_owned()) {
                            head.unchanged_dirs.insert(path);
                            None
                        } else {
                            Some(child)
                        }
                    }
                    EntryKind::Commit => None,
                    EntryKind::Blob | EntryKind::BlobExecutable | EntryKind::Link => {
                        head.blobs.insert(path, entry.oid.to_owned());
                        None
                    }
                }
            },
        );
        head
    }

    fn unchanged(&self, path: &BStr, id: ObjectId) -> bool {
        if self.all_unchanged || self.blobs.get(path) == Some(&id) {
            return true;
        }
        let mut dir = path;
        while let Some(slash) = dir.rfind_byte(b'/') {
            dir = &dir[..slash];
            if self.unchanged_dirs.contains(dir) {
                return true;
            }
        }
        false
    }
}

/// The one tree walk (history, the `--since` base and the staged scan's view of `HEAD` all use it): depth first
/// from `root`, calling `visit(dir, entry, context, skipped)` for every entry; a subtree is entered when the visitor
/// returns `Some(context)` for it. A tree that cannot be read is recorded in `skipped` and passed over.
fn walk_tree<C>(
    repo: &gix::Repository,
    root: ObjectId,
    context: C,
    buf: &mut Vec<u8>,
    skipped: &mut Vec<Skipped>,
    mut visit: impl FnMut(&BStr, &gix::objs::tree::EntryRef<'_>, &C, &mut Vec<Skipped>) -> Option<C>,
) {
    let mut stack = vec![(root, BString::default(), context)];
    while let Some((id, prefix, context)) = stack.pop() {
        let tree = match repo.objects.find_tree(&id, buf) {
            Ok(tree) => tree,
            Err(err) => {
                skipped.push(Skipped {
                    path: display_dir(prefix.as_ref()),
                    reason: format!("corrupt or missing git tree: {id}: {err}"),
                });
                continue;
            }
        };
        for entry in &tree.entries {
            if let Some(child) = visit(prefix.as_ref(), entry, &context, skipped)
                && entry.mode.kind() == EntryKind::Tree
            {
                stack.push((
                    entry.oid.to_owned(),
                    join(prefix.as_ref(), entry.filename),
                    child,
                ));
            }
        }
    }
}

fn join(prefix: &BStr, name: &BStr) -> BString {
    let mut path = BString::from(Vec::with_capacity(prefix.len() + 1 + name.len()));
    if !prefix.is_empty() {
        path.extend_from_slice(prefix);
        path.push(b'/');
    }
    path.extend_from_slice(name);
    path
}

fn display_dir(prefix: &BStr) -> String {
    if prefix.is_empty() {
        ".".to_owned()
    } else {
        prefix.to_str_lossy().into_owned()
    }
}

/// Decompresses and scans every job in parallel, in input order. Returns only the jobs worth reporting.
fn scan_jobs<S: Scanner>(
    ts: &gix::ThreadSafeRepository,
    jobs: &[Job],
    scanner: &S,
    options: &ScanOptions,
    reporter: &Reporter<'_>,
    out: &mut ScanOutput,
) -> Vec<(usize, Outcome)> {
    let max = options.max_file_size;
    let blobs = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    let results = jobs
        .par_iter()
        .enumerate()
        .map_init(
            || (ts.to_thread_local(), Vec::new()),
            |(repo, buf), (index, job)| {
                let (scanned, outcome) = scan_blob(repo, buf, job, scanner, max);
                if let Some(size) = scanned {
                    blobs.fetch_add(1, Ordering::Relaxed);
                    bytes.fetch_add(size, Ordering::Relaxed);
                }
                reporter.item(scanned.unwrap_or(0));
                outcome.map(|outcome| (index, outcome))
            },
        )
        .flatten()
        .collect();
    out.stats.blobs += blobs.into_inner();
    out.stats.bytes += bytes.into_inner();
    results
}

/// The bytes scanned (`None` if the blob was not scanned), and what to report (`None` for a clean blob).
fn scan_blob<S: Scanner>(
    repo: &gix::Repository,
    buf: &mut Vec<u8>,
    job: &Job,
    scanner: &S,
    max: u64,
) -> (Option<u64>, Option<Outcome>) {
    let id = job.id;
    let failed = |err: gix::Error| {
        (
            None,
            Some(Outcome::Failed(format!(
                "corrupt or missing git object: {id}: {err}"
            ))),
        )
    };
    // The header is cheap (no full decompression), so oversized blobs never get inflated.
    let header = match repo.objects.header(id) {
        Ok(header) => header,
        Err(err) => return failed(err),
    };
    if header.kind() != gix::objs::Kind::Blob {
        return (
            None,
            Some(Outcome::Failed(format!(
                "not a blob: git object {id} is a {}",
                header.kind()
            ))),
        );
    }
    if header.size() > max {
        return (None, Some(Outcome::Skipped(too_large(header.size(), max))));
    }
    let data = match repo.objects.find_blob(&id, buf) {
        Ok(blob) => blob.data,
        Err(err) => return failed(err),
    };
    if let Err(reason) = check_content(data, max) {
        return (None, Some(Outcome::Skipped(reason)));
    }
    let matches = scanner.scan(&job.path, data);
    let size = Some(data.len() as u64);
    if matches.is_empty() {
        (size, None)
    } else {
        (size, Some(Outcome::Found(matches)))
    }
}

/// Where the refs point, by kind: commits to walk, and the rare ref naming a tree or a blob directly.
#[derive(Default)]
struct Tips {
    commits: Vec<ObjectId>,
    trees: Vec<(ObjectId, String)>,
    blobs: Vec<(ObjectId, String)>,
}

/// Every ref (branches, tags, remotes, notes, stash) and `HEAD`, peeled through tags.
fn collect_tips(repo: &gix::Repository, skipped: &mut Vec<Skipped>) -> Tips {
    let mut named: Vec<(String, Result<ObjectId, String>)> = Vec::new();
    match repo.references() {
        Ok(platform) => match platform.all() {
            Ok(iter) => {
                for reference in iter {
                    match reference {
                        Ok(mut reference) => {
                            let name = reference.name().as_bstr().to_str_lossy().into_owned();
                            let id = reference
                                .peel_to_id()
                                .map(|id| id.detach())
                                .map_err(|e| e.to_string());
                            named.push((name, id));
                        }
                        Err(err) => skipped.push(Skipped {
                            path: "refs".to_owned(),
                            reason: format!("unreadable ref: {err}"),
                        }),
                    }
                }
            }
            Err(err) => skipped.push(Skipped {
                path: "refs".to_owned(),
                reason: format!("cannot list refs: {err}"),
            }),
        },
        Err(err) => skipped.push(Skipped {
            path: "refs".to_owned(),
            reason: format!("cannot list refs: {err}"),
        }),
    }
    match repo.head() {
        Ok(head) if head.is_unborn() => {}
        Ok(head) => named.push((
            "HEAD".to_owned(),
            head.into_peeled_id()
                .map(|id| id.detach())
                .map_err(|e| e.to_string()),
        )),
        Err(err) => named.push(("HEAD".to_owned(), Err(err.to_string()))),
    }
    let mut tips = Tips::default();
    let mut seen = HashSet::default();
    for (name, id) in named {
        let id = match id {
            Ok(id) => id,
            Err(reason) => {
                skipped.push(Skipped {
                    path: name,
                    reason: format!("unresolvable ref: {reason}"),
                });
                continue;
            }
        };
        if !seen.insert(id) {
            continue;
        }
        match repo.objects.header(id).map(|h| h.kind()) {
            Ok(gix::objs::Kind::Commit) => tips.commits.push(id),
            Ok(gix::objs::Kind::Tree) => tips.trees.push((id, name)),
            Ok(gix::objs::Kind::Blob) => tips.blobs.push((id, name)),
            Ok(gix::objs::Kind::Tag) => {}
            Err(err) => skipped.push(Skipped {
                path: name,
                reason: format!("corrupt or missing git object: {id}: {err}"),
            }),
        }
    }
    tips
}

fn resolve_commit(repo: &gix::Repository, rev: &str) -> Result<ObjectId, SourceError> {
    let bad = |reason: String| SourceError::BadRev {
        rev: rev.to_owned(),
        reason,
    };
    let id = repo.rev_parse_single(rev).map_err(|e| bad(e.to_string()))?;
    let object = id.object().map_err(|e| bad(e.to_string()))?;
    let commit = object
        .peel_to_kind(gix::objs::Kind::Commit)
        .map_err(|e| bad(e.to_string()))?;
    Ok(commit.id)
}

fn shallow_commits(repo: &gix::Repository) -> HashSet<ObjectId> {
    match repo.shallow_commits() {
        Ok(Some(commits)) => commits.iter().copied().collect(),
        _ => HashSet::default(),
    }
}

/// Every commit reachable from `start`. Unreadable commits just end their line: this only narrows a scan.
fn reachable_from(
    repo: &gix::Repository,
    start: &ObjectId,
    shallow: &HashSet<ObjectId>,
) -> HashSet<ObjectId> {
    let mut seen = HashSet::default();
    let mut stack = vec![*start];
    let mut buf = Vec::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        if shallow.contains(&id) {
            continue;
        }
        if let Ok((_, parents, _)) = read_commit(repo, &id, &mut buf) {
            stack.extend(parents.into_iter().filter(|p| !seen.contains(p)));
        }
    }
    seen
}

/// The commit's tree, parents and committer time.
fn read_commit(
    repo: &gix::Repository,
    id: &ObjectId,
    buf: &mut Vec<u8>,
) -> gix::Result<(ObjectId, Vec<ObjectId>, i64)> {
    let commit = repo.objects.find_commit(id, buf)?;
    let time = commit.committer().map(|s| s.seconds()).unwrap_or_default();
    Ok((commit.tree(), commit.parents().collect(), time))
}

struct CommitNode {
    id: ObjectId,
    tree: ObjectId,
}

struct Graph {
    /// Every walked commit, parents before children; among commits free to go next, the oldest first.
    order: Vec<CommitNode>,
    /// Excluded commits that walked commits descend from directly (the `--since` base).
    boundary: Vec<ObjectId>,
}

fn walk_commits(
    repo: &gix::Repository,
    tips: &[ObjectId],
    excluded: Option<&HashSet<ObjectId>>,
    skipped: &mut Vec<Skipped>,
) -> Graph {
    struct Raw {
        id: ObjectId,
        tree: ObjectId,
        parents: Vec<ObjectId>,
        time: i64,
    }
    let shallow = shallow_commits(repo);
    let mut visited = HashSet::default();
    let mut boundary = Vec::new();
    let mut raw: Vec<Raw> = Vec::new();
    let mut stack: Vec<ObjectId> = tips.to_vec();
    let mut buf = Vec::new();
    while let Some(id) = stack.pop() {
        if !visited.insert(id) {
            continue;
        }
        if excluded.is_some_and(|e| e.contains(&id)) {
            boundary.push(id);
            continue;
        }
        match read_commit(repo, &id, &mut buf) {
            Ok((tree, parents, time)) => {
                let parents = if shallow.contains(&id) {
                    skipped.push(Skipped {
                        path: id.to_string(),
                        reason: format!("shallow clone: history before {id} not scanned"),
                    });
                    Vec::new()
                } else {
                    parents
                };
                stack.extend(parents.iter().filter(|p| !visited.contains(*p)));
                raw.push(Raw {
                    id,
                    tree,
                    parents,
                    time,
                });
            }
            Err(err) => skipped.push(Skipped {
                path: id.to_string(),
                reason: format!(
                    "corrupt or missing commit (history behind it not scanned): {id}: {err}"
                ),
            }),
        }
    }

    // Kahn's algorithm: a commit becomes ready once all its (walked) parents are placed.
    let position: HashMap<ObjectId, usize> =
        raw.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); raw.len()];
    let mut pending = vec![0usize; raw.len()];
    for (i, commit) in raw.iter().enumerate() {
        for parent in &commit.parents {
            if let Some(&p) = position.get(parent) {
                children[p].push(i);
                pending[i] += 1;
            }
        }
    }
    let mut ready: BinaryHeap<Reverse<(i64, ObjectId, usize)>> = raw
        .iter()
        .enumerate()
        .filter(|(i, _)| pending[*i] == 0)
        .map(|(i, c)| Reverse((c.time, c.id, i)))
        .collect();
    let mut placed = vec![false; raw.len()];
    let mut order = Vec::with_capacity(raw.len());
    while let Some(Reverse((_, _, i))) = ready.pop() {
        placed[i] = true;
        order.push(i);
        for &child in &children[i] {
            pending[child] -= 1;
            if pending[child] == 0 {
                ready.push(Reverse((raw[child].time, raw[child].id, child)));
            }
        }
    }
    // Only a corrupt graph has a cycle; its commits still get scanned, oldest first.
    let mut rest: Vec<usize> = (0..raw.len()).filter(|&i| !placed[i]).collect();
    rest.sort_by_key(|&i| (raw[i].time, raw[i].id));
    order.extend(rest);
    let order = order
        .into_iter()
        .map(|i| CommitNode {
            id: raw[i].id,
            tree: raw[i].tree,
        })
        .collect();
    Graph { order, boundary }
}

/// The single-threaded tree walk that decides which blobs to scan and where each first appeared.
struct Collector<'r> {
    repo: &'r gix::Repository,
    seen_trees: HashSet<ObjectId>,
    seen_blobs: HashSet<ObjectId>,
    submodules: std::collections::HashSet<String>,
    jobs: Vec<Job>,
    skipped: Vec<Skipped>,
    buf: Vec<u8>,
}

impl<'r> Collector<'r> {
    fn new(repo: &'r gix::Repository) -> Self {
        Collector {
            repo,
            seen_trees: HashSet::default(),
            seen_blobs: HashSet::default(),
            submodules: Default::default(),
            jobs: Vec::new(),
            skipped: Vec::new(),
            buf: Vec::new(),
        }
    }

    /// Records every blob under `root` not met before. A tree met before is skipped whole: every blob in it was
    /// met then, by an earlier commit.
    fn walk_tree(&mut self, root: ObjectId, commit: Option<usize>, record: bool) {
        let Collector {
            repo,
            seen_trees,
            seen_blobs,
            submodules,
            jobs,
            skipped,
            buf,
        } = self;
        if !seen_trees.insert(root) {
            return;
        }
        walk_tree(
            repo,
            root,
            (),
            buf,
            skipped,
            |prefix, entry, _, skipped| match entry.mode.kind() {
                EntryKind::Tree => seen_trees.insert(entry.oid.to_owned()).then_some(()),
                EntryKind::Blob | EntryKind::BlobExecutable | EntryKind::Link => {
                    if seen_blobs.insert(entry.oid.to_owned()) && record {
                        jobs.push(Job {
                            id: entry.oid.to_owned(),
                            path: join(prefix, entry.filename).to_str_lossy().into_owned(),
                            commit,
                        });
                    }
                    None
                }
                EntryKind::Commit => {
                    let path = join(prefix, entry.filename).to_str_lossy().into_owned();
                    if record && submodules.insert(path.clone()) {
                        skipped.push(Skipped {
                            path,
                            reason: "submodule, not scanned".to_owned(),
                        });
                    }
                    None
                }
            },
        );
    }

    /// Adds every blob in the object database that no walked tree named.
    fn add_unreachable(&mut self, graph: &Graph) {
        let unlisted = |err: &dyn std::fmt::Display| Skipped {
            path: UNKNOWN_PATH.to_owned(),
            reason: format!("cannot list objects: {err}"),
        };
        let iter = match self.repo.objects.iter() {
            Ok(iter) => iter,
            Err(err) => {
                self.skipped.push(unlisted(&err));
                return;
            }
        };
        let commits: HashSet<ObjectId> = graph.order.iter().map(|c| c.id).collect();
        for id in iter {
            let id = match id {
                Ok(id) => id,
                Err(err) => {
                    self.skipped.push(unlisted(&err));
                    continue;
                }
            };
            if self.seen_blobs.contains(&id)
                || self.seen_trees.contains(&id)
                || commits.contains(&id)
            {
                continue;
            }
            match self.repo.objects.header(id) {
                Ok(header) if header.kind() == gix::objs::Kind::Blob => {
                    self.seen_blobs.insert(id);
                    self.jobs.push(Job {
                        id,
                        path: UNKNOWN_PATH.to_owned(),
                        commit: None,
                    });
                }
                Ok(_) => {}
                Err(err) => {
                    // Listed twice (packed and loose) is common; report a broken one once.
                    if self.seen_blobs.insert(id) {
                        self.skipped.push(Skipped {
                            path: UNKNOWN_PATH.to_owned(),
                            reason: format!("corrupt or missing git object: {id}: {err}"),
                        });
                    }
                }
            }
        }
    }
}

/// Author details for the few commits that have findings, read once each.
#[derive(Default)]
struct CommitInfos {
    cache: HashMap<ObjectId, Option<CommitInfo>>,
}

impl CommitInfos {
    fn get(&mut self, repo: &gix::Repository, id: ObjectId) -> Option<CommitInfo> {
        self.cache
            .entry(id)
            .or_insert_with(|| commit_info(repo, id))
            .clone()
    }
}

fn commit_info(repo: &gix::Repository, id: ObjectId) -> Option<CommitInfo> {
    let mut buf = Vec::new();
    let commit = repo.objects.find_commit(&id, &mut buf).ok()?;
    let author = commit.author().ok()?.trim();
    let date = time::OffsetDateTime::from_unix_timestamp(author.seconds())
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    Some(CommitInfo {
        id: id.to_string(),
        author: author.name.to_str_lossy().into_owned(),
        email: author.email.to_str_lossy().into_owned(),
        date,
    })
}
