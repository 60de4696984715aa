//! Fixtures the unit tests of the store, the series and the roll-up share: a result and a store in a temp dir.

use crate::checks::CheckResult;
use crate::store::Store;

/// A result of `check` at `at_ms`: status 200 when `ok`, 500 otherwise, no error text.
pub(crate) fn result(check: &str, at_ms: i64, ok: bool, duration_ms: f64) -> CheckResult {
    CheckResult {
        ok,
        status: Some(if ok { 200 } else { 500 }),
        duration_ms,
        ..CheckResult::new(check, at_ms)
    }
}

/// A fresh SQLite store; the directory must outlive it.
pub(crate) async fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("m.db")).await.unwrap();
    (dir, store)
}
