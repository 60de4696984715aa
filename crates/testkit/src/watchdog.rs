//! Deadlines for tests: work that hangs fails its test with a message naming what hung, instead of stalling the
//! run. Tests never read the clock as an assertion; they bound how long they may take with these.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

/// Runs `body` on a thread of its own and returns its result, or panics (failing the calling test) when it has
/// not finished within `limit`. A panic inside `body` fails the caller with that panic.
///
/// For CPU-bound or blocking code: the watchdog waits on a channel, so it fires even when `body` never yields.
/// A body that times out is left running on its detached thread; the test has already failed.
#[track_caller]
pub fn finish_within<T, F>(limit: Duration, what: &str, body: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (done, result) = mpsc::channel();
    let spawned = thread::Builder::new()
        .name(format!("watched: {what}"))
        .spawn(move || {
            // The receiver is gone only when the watchdog already fired; nothing is left to tell.
            let _ = done.send(catch_unwind(AssertUnwindSafe(body)));
        });
    if let Err(error) = spawned {
        panic!("{what}: could not start its thread: {error}");
    }
    match result.recv_timeout(limit) {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => resume_unwind(panic),
        Err(RecvTimeoutError::Timeout) => panic!("{what} did not finish within {limit:?}"),
        Err(RecvTimeoutError::Disconnected) => panic!("{what}: its thread ended without a result"),
    }
}

/// Awaits `future`, or panics (failing the calling test) when it has not finished within `limit`.
///
/// The timer runs on the tokio runtime, so this needs a future that yields (all network code does); blocking code
/// belongs in [`finish_within`].
pub async fn within<F: Future>(limit: Duration, what: &str, future: F) -> F::Output {
    match tokio::time::timeout(limit, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what} did not finish within {limit:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_body_returns_its_value() {
        assert_eq!(finish_within(Duration::from_secs(5), "adding", || 2 + 2), 4);
    }

    #[test]
    #[should_panic(expected = "sleeping did not finish within")]
    fn a_body_that_overruns_fails() {
        finish_within(Duration::from_millis(50), "sleeping", || {
            thread::sleep(Duration::from_secs(5))
        });
    }

    #[test]
    #[should_panic(expected = "inner failure")]
    fn a_panicking_body_fails_with_its_own_message() {
        finish_within(Duration::from_secs(5), "panicking", || {
            panic!("inner failure")
        });
    }

    #[tokio::test]
    async fn a_future_within_its_limit_returns_its_output() {
        assert_eq!(
            within(Duration::from_secs(5), "ready", async { 7 }).await,
            7
        );
    }

    #[tokio::test]
    #[should_panic(expected = "pending did not finish within")]
    async fn a_future_that_overruns_fails() {
        within(
            Duration::from_millis(50),
            "pending",
            std::future::pending::<()>(),
        )
        .await;
    }
}
