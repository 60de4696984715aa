//! The scan sources against real fixture repositories built with the git command line: working trees, full
//! history attribution, refs of every kind, --since, --staged, --all-objects, bare and shallow repositories, and
//! the hostile cases (symlink loops, binary and oversized files, invalid UTF-8, corrupt objects).

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use launchready_findings::Severity;
use launchready_secrets::RawMatch;
use launchready_secrets::sources::{
    Progress, ScanOptions, ScanOutput, Scanner, SourceError, scan_path, scan_reader,
};

/// Finds the literal `SECRET_` followed by eight `[A-Z0-9]`, and counts how often each secret's buffer is scanned.
#[derive(Default)]
struct TestScanner {
    allowed_commits: Vec<String>,
    calls: Mutex<Vec<String>>,
}

impl Scanner for TestScanner {
    fn scan(&self, path: &str, data: &[u8]) -> Vec<RawMatch> {
        const PREFIX: &[u8] = b"SECRET_";
        let mut found = Vec::new();
        let mut i = 0;
        while i + PREFIX.len() + 8 <= data.len() {
            let tail = &data[i + PREFIX.len()..i + PREFIX.len() + 8];
            if &data[i..i + PREFIX.len()] == PREFIX
                && tail
                    .iter()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            {
                let end = i + PREFIX.len() + 8;
                let line = data[..i].iter().filter(|&&b| b == b'\n').count() + 1;
                let line_start = data[..i]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |p| p + 1);
                let secret = String::from_utf8_lossy(&data[i..end]).into_owned();
                if let Ok(mut calls) = self.calls.lock() {
                    calls.push(format!("{path}:{secret}"));
                }
                found.push(RawMatch {
                    rule_id: "test-secret".to_owned(),
                    description: "test secret".to_owned(),
                    severity: Severity::High,
                    line,
                    column: i - line_start + 1,
                    start: i,
                    end,
                    secret,
                    entropy: None,
                });
                i = end;
            } else {
                i += 1;
            }
        }
        found
    }

    fn allows_commit(&self, _rule_id: &str, commit: &str) -> bool {
        self.allowed_commits.iter().any(|c| c == commit)
    }
}

impl TestScanner {
    fn times_seen(&self, secret: &str) -> usize {
        self.calls
            .lock()
            .map(|c| c.iter().filter(|s| s.ends_with(secret)).count())
            .unwrap_or(0)
    }
}

/// A fixture repository driven by the git CLI, with deterministic authors and one day per commit.
struct Repo {
    dir: tempfile::TempDir,
    day: std::cell::Cell<u32>,
}

fn git_in(dir: &Path, args: &[&str], date: &str) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "user.name=Ada Lovelace",
            "-c",
            "user.email=ada@example.com",
            "-c",
            "protocol.file.allow=always",
            "-c",
            "gc.auto=0",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

impl Repo {
    fn new() -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().expect("tempdir"),
            day: std::cell::Cell::new(0),
        };
        repo.git(&["init", "-q"]);
        repo
    }

    /// A repository whose first commit holds only a README.
    fn with_readme() -> Repo {
        let repo = Repo::new();
        repo.commit_files("initial", &[("README.md", "hello\n")]);
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn date(&self) -> String {
        format!("2024-01-{:02}T12:00:00+00:00", self.day.get().max(1))
    }

    fn git(&self, args: &[&str]) -> String {
        git_in(self.path(), args, &self.date())
    }

    fn write(&self, path: &str, content: impl AsRef<[u8]>) {
        let full = self.path().join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(full, content).expect("write");
    }

    fn remove(&self, path: &str) {
        std::fs::remove_file(self.path().join(path)).expect("remove");
    }

    /// Writes `files` and commits everything; returns the commit id.
    fn commit_files(&self, message: &str, files: &[(&str, &str)]) -> String {
        for (path, content) in files {
            self.write(path, content);
        }
        self.commit(message)
    }

    /// Commits everything, one day after the previous commit; returns the commit id.
    fn commit(&self, message: &str) -> String {
        self.day.set(self.day.get() + 1);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }
}

/// The id of the commit the `index`th finding is attributed to.
fn commit_of(out: &ScanOutput, index: usize) -> Option<&str> {
    out.findings[index]
        .location
        .commit
        .as_ref()
        .map(|c| c.id.as_str())
}

fn staged() -> ScanOptions {
    ScanOptions {
        staged: true,
        ..ScanOptions::default()
    }
}

fn no_history() -> ScanOptions {
    ScanOptions {
        history: false,
        ..ScanOptions::default()
    }
}

fn all_objects() -> ScanOptions {
    ScanOptions {
        all_objects: true,
        ..ScanOptions::default()
    }
}

fn scan(root: &Path, options: &ScanOptions) -> (ScanOutput, TestScanner) {
    let scanner = TestScanner::default();
    let out = scan_path(root, &scanner, options, &|_: Progress| {}).expect("scan runs");
    (out, scanner)
}

/// The error a scan of `root` stops with; the test fails if the scan succeeds.
fn scan_err(root: &Path, options: &ScanOptions) -> SourceError {
    scan_path(root, &TestScanner::default(), options, &|_: Progress| {})
        .expect_err("the scan fails")
}

/// Every finding as (path, secret), sorted: tests list what they expect in that order.
fn secrets(out: &ScanOutput) -> Vec<(&str, &str)> {
    let mut found: Vec<(&str, &str)> = out
        .findings
        .iter()
        .map(|f| (f.location.path.as_str(), f.found.secret.as_str()))
        .collect();
    found.sort_unstable();
    found
}

fn skipped_reason<'a>(out: &'a ScanOutput, path: &str) -> Option<&'a str> {
    out.skipped
        .iter()
        .find(|s| s.path == path)
        .map(|s| s.reason.as_str())
}

#[test]
fn working_tree_respects_gitignore_and_scans_hidden_env() {
    let repo = Repo::new();
    repo.write(".gitignore", "ignored.txt\nbuild/\n");
    repo.write("ignored.txt", "SECRET_IGNORED1");
    repo.write("build/out.txt", "SECRET_IGNORED2");
    repo.write(".git/info/exclude", "excluded.txt\n");
    repo.write("excluded.txt", "SECRET_EXCLUDE1");
    repo.write(".env", "API=SECRET_DOTENV01\n");
    repo.write("src/app.txt", "x\ny = SECRET_APPFILE1\n");
    let (out, _) = scan(repo.path(), &ScanOptions::default());
    assert_eq!(
        secrets(&out),
        [
            (".env", "SECRET_DOTENV01"),
            ("src/app.txt", "SECRET_APPFILE1")
        ]
    );
    let app = out
        .findings
        .iter()
        .find(|f| f.location.path == "src/app.txt")
        .expect("app finding");
    assert_eq!((app.found.line, app.found.column), (2, 5));
    assert!(app.location.commit.is_none() && app.location.blob.is_none());
    assert_eq!(out.stats.files, 3, "{:?}", out.stats); // .gitignore, .env, src/app.txt
    assert_eq!(out.stats.commits, 0);
}

#[test]
fn plain_directory_respects_gitignore_without_git() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(".gitignore"), "secret.txt\n").expect("write");
    std::fs::write(dir.path().join("secret.txt"), "SECRET_IGNORED1").expect("write");
    std::fs::write(dir.path().join(".env.local"), "SECRET_DOTENV02").expect("write");
    let (out, _) = scan(dir.path(), &ScanOptions::default());
    assert_eq!(secrets(&out), [(".env.local", "SECRET_DOTENV02")]);
}

#[test]
fn secret_deleted_in_a_later_commit_is_attributed_to_the_commit_that_added_it() {
    let repo = Repo::with_readme();
    let added = repo.commit_files(
        "add config",
        &[("config/prod.env", "TOKEN=SECRET_DELETED1\n")],
    );
    repo.remove("config/prod.env");
    repo.commit("remove config");
    let (out, _) = scan(repo.path(), &ScanOptions::default());
    assert_eq!(secrets(&out), [("config/prod.env", "SECRET_DELETED1")]);
    let commit = out.findings[0]
        .location
        .commit
        .as_ref()
        .expect("attributed to a commit");
    assert_eq!(commit.id, added);
    assert_eq!(commit.author, "Ada Lovelace");
    assert_eq!(commit.email, "ada@example.com");
    assert_eq!(commit.date, "2024-01-02T12:00:00Z");
    let blob = repo.git(&["rev-parse", &format!("{added}:config/prod.env")]);
    assert_eq!(
        out.findings[0].location.blob.as_deref(),
        Some(blob.as_str())
    );
    assert_eq!(out.stats.commits, 3);
}

#[test]
fn a_blob_on_two_branches_and_paths_is_scanned_once_and_attributed_to_the_earliest_commit() {
    let repo = Repo::with_readme();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    let first = repo.commit_files(
        "feature adds the secret",
        &[("x/leak.txt", "SECRET_SHARED01\n")],
    );
    repo.git(&["checkout", "-q", "main"]);
    repo.commit_files(
        "main adds the same content elsewhere",
        &[("y/other.txt", "SECRET_SHARED01\n")],
    );
    repo.commit_files("and again", &[("z/third.txt", "SECRET_SHARED01\n")]);
    let (out, scanner) = scan(repo.path(), &ScanOptions::default());
    assert_eq!(secrets(&out), [("x/leak.txt", "SECRET_SHARED01")]);
    assert_eq!(commit_of(&out, 0), Some(first.as_str()));
    assert_eq!(
        scanner.times_seen("SECRET_SHARED01"),
        1,
        "scanned once, working-tree copies deduplicated"
    );
}

#[test]
fn parents_come_before_children_even_when_clocks_disagree() {
    let repo = Repo::new();
    repo.day.set(20);
    let parent = repo.commit_files("parent, committed late", &[("a.txt", "SECRET_CLOCKED1\n")]);
    repo.day.set(1);
    repo.commit_files(
        "child with an earlier date",
        &[("b.txt", "SECRET_CLOCKED1\n")],
    );
    let (out, _) = scan(repo.path(), &ScanOptions::default());
    assert_eq!(secrets(&out), [("a.txt", "SECRET_CLOCKED1")]);
    assert_eq!(commit_of(&out, 0), Some(parent.as_str()));
}

#[test]
fn secrets_only_on_a_side_branch_a_tag_a_stash_or_a_detached_head_are_found() {
    let repo = Repo::with_readme();

    repo.git(&["checkout", "-q", "-b", "side"]);
    let side = repo.commit_files("side", &[("side.txt", "SECRET_SIDEBRN1\n")]);
    repo.git(&["checkout", "-q", "main"]);

    let tagged = repo.commit_files("tagged", &[("tagged.txt", "SECRET_TAGONLY1\n")]);
    repo.git(&["tag", "-a", "v1", "-m", "release"]);
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);

    repo.write("README.md", "hello\nSECRET_STASHED1\n");
    repo.git(&["stash", "-q"]);

    repo.git(&["checkout", "-q", "--detach"]);
    let detached = repo.commit_files("detached", &[("detached.txt", "SECRET_DETACHD1\n")]);

    let (out, _) = scan(repo.path(), &ScanOptions::default());
    assert_eq!(
        secrets(&out),
        [
            ("README.md", "SECRET_STASHED1"),
            ("detached.txt", "SECRET_DETACHD1"),
            ("side.txt", "SECRET_SIDEBRN1"),
            ("tagged.txt", "SECRET_TAGONLY1"),
        ]
    );
    let commit_of = |secret: &str| {
        out.findings
            .iter()
            .find(|f| f.found.secret == secret)
            .and_then(|f| f.location.commit.as_ref())
            .map(|c| c.id.clone())
    };
    assert_eq!(commit_of("SECRET_SIDEBRN1"), Some(side));
    assert_eq!(commit_of("SECRET_TAGONLY1"), Some(tagged));
    assert_eq!(
        commit_of("SECRET_DETACHD1"),
        Some(detached),
        "found in history, not only in the working tree"
    );
    assert!(commit_of("SECRET_STASHED1").is_some());
}

#[test]
fn since_reports_only_secrets_introduced_by_new_commits() {
    let repo = Repo::new();
    repo.commit_files(
        "base",
        &[
            ("old.txt", "SECRET_OLDMAIN1\n"),
            ("keep/also-old.txt", "SECRET_OLDMAIN2\n"),
        ],
    );
    repo.git(&["checkout", "-q", "-b", "pr"]);
    let new = repo.commit_files("pr commit", &[("new.txt", "SECRET_NEWINPR1\n")]);
    repo.remove("old.txt");
    repo.commit("pr removes an old file");

    let options = ScanOptions {
        since: Some("main".to_owned()),
        ..ScanOptions::default()
    };
    let (out, _) = scan(repo.path(), &options);
    assert_eq!(secrets(&out), [("new.txt", "SECRET_NEWINPR1")]);
    assert_eq!(commit_of(&out, 0), Some(new.as_str()));
    assert_eq!(out.stats.commits, 2);

    let options = ScanOptions {
        since: Some("no-such-branch".to_owned()),
        ..ScanOptions::default()
    };
    let err = scan_err(repo.path(), &options);
    assert!(
        matches!(&err, SourceError::BadRev { rev, .. } if rev == "no-such-branch"),
        "{err}"
    );
    assert!(err.to_string().contains("no-such-branch"));
}

#[test]
fn staged_scans_only_what_differs_from_head() {
    let repo = Repo::new();
    repo.commit_files(
        "base",
        &[
            ("committed.txt", "SECRET_COMMITD1\n"),
            ("dir1/a.txt", "plain\n"),
            ("dir2/deep/b.txt", "SECRET_COMMITD2\n"),
        ],
    );
    repo.write("dir1/new.txt", "SECRET_STAGED01\n");
    repo.write("dir1/a.txt", "now SECRET_STAGED02\n");
    repo.git(&["add", "dir1"]);
    repo.write("untracked.txt", "SECRET_UNSTAGD1\n");
    repo.write("committed.txt", "SECRET_COMMITD1\nSECRET_UNSTAGD2\n");

    let (out, _) = scan(repo.path(), &staged());
    assert_eq!(
        secrets(&out),
        [
            ("dir1/a.txt", "SECRET_STAGED02"),
            ("dir1/new.txt", "SECRET_STAGED01")
        ]
    );
    assert!(out.findings.iter().all(|f| f.location.commit.is_none()));
    assert_eq!(out.stats.commits, 0);
    assert_eq!(out.stats.blobs, 2);
}

#[test]
fn staged_reports_only_the_lines_the_change_adds() {
    let repo = Repo::new();
    repo.commit_files("base", &[("app.env", "A=SECRET_HADIT01\nB=plain\n")]);
    // The old secret moves down a line and a new one arrives: only the new one is the change's.
    repo.write("app.env", "B=plain\nC=SECRET_ADDED001\nA=SECRET_HADIT01\n");
    repo.git(&["add", "app.env"]);
    let (out, _) = scan(repo.path(), &staged());
    assert_eq!(secrets(&out), [("app.env", "SECRET_ADDED001")]);
    assert_eq!(out.findings[0].found.line, 2);
}

#[test]
fn staged_in_a_repository_without_commits_scans_the_whole_index() {
    let repo = Repo::new();
    repo.write("first.txt", "SECRET_FIRSTAD1\n");
    repo.git(&["add", "first.txt"]);
    let (out, _) = scan(repo.path(), &staged());
    assert_eq!(secrets(&out), [("first.txt", "SECRET_FIRSTAD1")]);
}

#[test]
fn all_objects_finds_a_dangling_blob() {
    let repo = Repo::with_readme();
    repo.write("loose.txt", "SECRET_DANGLNG1\n");
    let blob = repo.git(&["hash-object", "-w", "loose.txt"]);
    repo.remove("loose.txt");

    let (out, _) = scan(repo.path(), &ScanOptions::default());
    assert!(
        out.findings.is_empty(),
        "unreachable blobs are not scanned by default: {:?}",
        out.findings
    );

    let (out, _) = scan(repo.path(), &all_objects());
    assert_eq!(secrets(&out), [("?", "SECRET_DANGLNG1")]);
    assert_eq!(
        out.findings[0].location.blob.as_deref(),
        Some(blob.as_str())
    );
    assert!(out.findings[0].location.commit.is_none());
}

#[test]
fn bare_repository_is_scanned_as_history() {
    let repo = Repo::new();
    let commit = repo.commit_files("one", &[("a.txt", "SECRET_BAREREP1\n")]);
    let bare = tempfile::tempdir().expect("tempdir");
    let bare_path = bare.path().join("bare.git");
    git_in(
        bare.path(),
        &[
            "clone",
            "-q",
            "--bare",
            &repo.path().display().to_string(),
            "bare.git",
        ],
        &repo.date(),
    );
    let (out, _) = scan(&bare_path, &ScanOptions::default());
    assert_eq!(secrets(&out), [("a.txt", "SECRET_BAREREP1")]);
    assert_eq!(commit_of(&out, 0), Some(commit.as_str()));
    assert_eq!(out.stats.files, 0);
}

#[test]
fn shallow_clone_scans_what_exists_and_says_what_it_could_not() {
    let repo = Repo::new();
    repo.commit_files("old", &[("old.txt", "SECRET_BEFORE01\n")]);
    repo.remove("old.txt");
    let tip = repo.commit_files("new", &[("new.txt", "SECRET_AFTER001\n")]);
    let clone = tempfile::tempdir().expect("tempdir");
    let url = format!("file://{}", repo.path().display());
    git_in(
        clone.path(),
        &["clone", "-q", "--depth", "1", &url, "shallow"],
        &repo.date(),
    );
    let (out, _) = scan(&clone.path().join("shallow"), &ScanOptions::default());
    assert_eq!(secrets(&out), [("new.txt", "SECRET_AFTER001")]);
    assert_eq!(commit_of(&out, 0), Some(tip.as_str()));
    let notes: Vec<_> = out
        .skipped
        .iter()
        .filter(|s| s.reason.starts_with("shallow clone"))
        .collect();
    assert_eq!(notes.len(), 1, "{:?}", out.skipped);
    assert!(notes[0].reason.contains(&tip));
}

#[test]
fn submodule_gitlinks_are_skipped_once() {
    let repo = Repo::new();
    let first = repo.commit_files("initial", &[("README.md", "hello\n")]);
    repo.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{first},vendor/lib"),
    ]);
    // Not `commit()`: `git add -A` would stage the gitlink's removal, as there is no checkout behind it.
    repo.git(&["commit", "-q", "-m", "add a submodule"]);
    repo.commit_files("touch", &[("README.md", "hello again\n")]);
    let (out, _) = scan(repo.path(), &ScanOptions::default());
    let subs: Vec<_> = out
        .skipped
        .iter()
        .filter(|s| s.reason == "submodule, not scanned")
        .collect();
    assert_eq!(subs.len(), 1, "{:?}", out.skipped);
    assert_eq!(subs[0].path, "vendor/lib");
}

#[cfg(unix)]
#[test]
fn symlink_loops_do_not_hang_and_committed_links_are_blobs() {
    let repo = Repo::new();
    std::fs::create_dir_all(repo.path().join("a")).expect("mkdir");
    std::os::unix::fs::symlink("..", repo.path().join("a/up")).expect("symlink");
    std::os::unix::fs::symlink("a", repo.path().join("a/self")).expect("symlink");
    std::os::unix::fs::symlink("SECRET_LINKTGT1", repo.path().join("link")).expect("symlink");
    let commit = repo.commit_files("links", &[("a/file.txt", "SECRET_INLOOP01\n")]);
    let (out, _) = scan(repo.path(), &ScanOptions::default());
    assert_eq!(
        secrets(&out),
        [
            ("a/file.txt", "SECRET_INLOOP01"),
            ("link", "SECRET_LINKTGT1")
        ]
    );
    assert!(
        out.findings
            .iter()
            .all(|f| f.location.commit.as_ref().map(|c| &c.id) == Some(&commit))
    );

    let (out, _) = scan(repo.path(), &no_history());
    assert_eq!(secrets(&out), [("a/file.txt", "SECRET_INLOOP01")]);
}

#[test]
fn binary_and_oversized_files_are_skipped_with_reasons() {
    let repo = Repo::new();
    let mut binary = b"\x89PNG\0\0SECRET_BINARY01".to_vec();
    binary.extend_from_slice(&[0u8; 16]);
    repo.write("image.png", &binary);
    repo.write("big.txt", format!("{}SECRET_BIGFILE1", "x".repeat(2048)));
    repo.write("small.txt", "SECRET_SMALLFL1");
    let options = ScanOptions {
        max_file_size: 1024,
        history: false,
        ..ScanOptions::default()
    };
    let (out, _) = scan(repo.path(), &options);
    assert_eq!(secrets(&out), [("small.txt", "SECRET_SMALLFL1")]);
    assert!(
        skipped_reason(&out, "image.png").is_some_and(|r| r.starts_with("binary")),
        "{:?}",
        out.skipped
    );
    assert!(
        skipped_reason(&out, "big.txt").is_some_and(|r| r.starts_with("too large")),
        "{:?}",
        out.skipped
    );

    repo.commit("commit them");
    let options = ScanOptions {
        max_file_size: 1024,
        ..ScanOptions::default()
    };
    let (out, _) = scan(repo.path(), &options);
    assert_eq!(secrets(&out), [("small.txt", "SECRET_SMALLFL1")]);
    let reasons: Vec<_> = out
        .skipped
        .iter()
        .filter(|s| s.path == "image.png" || s.path == "big.txt")
        .collect();
    assert_eq!(
        reasons.len(),
        2,
        "each reported once, from history: {:?}",
        out.skipped
    );
    assert!(
        reasons.iter().all(|s| s.reason.contains("git blob")),
        "{:?}",
        out.skipped
    );
}

#[test]
fn invalid_utf8_content_is_still_scanned() {
    let repo = Repo::new();
    let mut content = vec![0xff, 0xfe, 0xc3, 0x28, b'\n'];
    content.extend_from_slice(b"key=SECRET_NOTUTF81\n\xe2\x82");
    repo.write("latin1.txt", &content);
    let (out, _) = scan(repo.path(), &ScanOptions::default());
    assert_eq!(secrets(&out), [("latin1.txt", "SECRET_NOTUTF81")]);
    repo.commit("bytes");
    let (out, _) = scan(repo.path(), &ScanOptions::default());
    assert_eq!(secrets(&out), [("latin1.txt", "SECRET_NOTUTF81")]);
    assert!(out.findings[0].location.commit.is_some());
}

#[test]
fn a_corrupt_loose_object_is_skipped_not_fatal() {
    let repo = Repo::new();
    repo.commit_files(
        "one",
        &[
            ("a.txt", "SECRET_CORRUPT1\n"),
            ("b.txt", "SECRET_HEALTHY1\n"),
        ],
    );
    let blob = repo.git(&["rev-parse", "HEAD:a.txt"]);
    let object = repo
        .path()
        .join(".git/objects")
        .join(&blob[..2])
        .join(&blob[2..]);
    let mut perms = std::fs::metadata(&object)
        .expect("object exists")
        .permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&object, perms).expect("chmod");
    std::fs::write(&object, b"this is not a zlib stream").expect("corrupt");

    let (out, _) = scan(repo.path(), &ScanOptions::default());
    let reason = skipped_reason(&out, "a.txt").expect("the corrupt blob is reported");
    assert!(reason.contains(&blob), "{reason}");
    // b.txt from history; a.txt still from the working tree, since history could not read it.
    assert_eq!(
        secrets(&out),
        [("a.txt", "SECRET_CORRUPT1"), ("b.txt", "SECRET_HEALTHY1")]
    );
    let a = out
        .findings
        .iter()
        .find(|f| f.location.path == "a.txt")
        .expect("a");
    assert!(a.location.commit.is_none());

    let (out, _) = scan(repo.path(), &all_objects());
    assert!(skipped_reason(&out, "a.txt").is_some());
}

#[test]
fn allowlisted_commits_are_dropped() {
    let repo = Repo::new();
    let allowed = repo.commit_files("allowed", &[("a.txt", "SECRET_ALLOWED1\n")]);
    repo.remove("a.txt");
    repo.commit_files("reported", &[("b.txt", "SECRET_REPORTD1\n")]);
    let scanner = TestScanner {
        allowed_commits: vec![allowed],
        ..TestScanner::default()
    };
    let out = scan_path(
        repo.path(),
        &scanner,
        &ScanOptions::default(),
        &|_: Progress| {},
    )
    .expect("scan");
    assert_eq!(secrets(&out), [("b.txt", "SECRET_REPORTD1")]);
}

#[test]
fn history_off_scans_only_the_working_tree() {
    let repo = Repo::new();
    repo.commit_files("one", &[("gone.txt", "SECRET_HISTORY1\n")]);
    repo.remove("gone.txt");
    repo.commit_files("two", &[("here.txt", "SECRET_WORKTRE1\n")]);
    let (out, _) = scan(repo.path(), &no_history());
    assert_eq!(secrets(&out), [("here.txt", "SECRET_WORKTRE1")]);
    assert!(out.findings[0].location.commit.is_none());
}

#[test]
fn progress_is_reported() {
    let repo = Repo::new();
    repo.commit_files("one", &[("a.txt", "SECRET_PROGRES1\n")]);
    let calls = AtomicUsize::new(0);
    let last = Mutex::new(None);
    let progress = |p: Progress| {
        calls.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut last) = last.lock() {
            *last = Some(p);
        }
    };
    scan_path(
        repo.path(),
        &TestScanner::default(),
        &ScanOptions::default(),
        &progress,
    )
    .expect("scan");
    assert!(calls.load(Ordering::Relaxed) >= 1);
    let last = last.lock().expect("lock").expect("a final report");
    assert!(last.items_done >= 1 && last.bytes_done >= 16, "{last:?}");
}

#[test]
fn reader_is_scanned_as_dash_and_capped() {
    let scanner = TestScanner::default();
    let input: &[u8] = b"\xff\xfe line\nSECRET_STDIN001\n";
    let out = scan_reader(input, &scanner, &ScanOptions::default()).expect("scan");
    assert_eq!(secrets(&out), [("-", "SECRET_STDIN001")]);
    assert_eq!(out.stats.files, 1);

    let big = vec![b'a'; 4096];
    let out = scan_reader(
        big.as_slice(),
        &scanner,
        &ScanOptions {
            max_file_size: 100,
            ..ScanOptions::default()
        },
    )
    .expect("scan");
    assert!(out.findings.is_empty());
    assert!(
        skipped_reason(&out, "-").is_some_and(|r| r.starts_with("too large")),
        "{:?}",
        out.skipped
    );
}

#[test]
fn errors_name_what_went_wrong() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("file.txt");
    std::fs::write(&file, "x").expect("write");
    let err = scan_err(&file, &ScanOptions::default());
    assert!(matches!(err, SourceError::NotADirectory { .. }));
    assert!(err.to_string().contains("file.txt"), "{err}");

    let err = scan_err(dir.path(), &staged());
    assert!(matches!(err, SourceError::OpenRepository { .. }), "{err}");

    std::fs::create_dir(dir.path().join(".git")).expect("mkdir");
    let err = scan_err(dir.path(), &ScanOptions::default());
    assert!(matches!(err, SourceError::OpenRepository { .. }), "{err}");
}

/// A manual throughput check on a real repository:
/// `LAUNCHREADY_SCAN_REPO=/path cargo test --release -p launchready-secrets --test sources -- --ignored --nocapture`
#[test]
#[ignore = "manual throughput check; set LAUNCHREADY_SCAN_REPO"]
fn history_throughput() {
    let Some(root) = std::env::var_os("LAUNCHREADY_SCAN_REPO") else {
        return;
    };
    let started = std::time::Instant::now();
    let (out, _) = scan(Path::new(&root), &ScanOptions::default());
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{:?} in {secs:.2}s: {:.1} MiB/s, {:.0} blobs/s, {} skipped",
        out.stats,
        out.stats.bytes as f64 / 1048576.0 / secs,
        out.stats.blobs as f64 / secs,
        out.skipped.len()
    );
}
