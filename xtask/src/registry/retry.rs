//! Retries with exponential backoff for every registry and token-server call: a dropped
//! connection (not a refused one: nothing listens there), 429 or 5xx is tried again, a bounded
//! number of times, after our backoff or the longer wait the server asks for in `Retry-After` (up
//! to a minute: a longer wait is not retried, see `error::MAX_RETRY_AFTER`).

use std::time::Duration;

use super::error::{Failure, describe};

/// Tries per call, the first included.
pub(crate) const ATTEMPTS: u32 = 6;
/// The pause before the first retry; each further one doubles it, up to [`MAX_DELAY`].
const FIRST_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(8);

/// Runs `call` until it succeeds, fails for good, or has been tried [`ATTEMPTS`] times; says on
/// stderr what is retried and why, so that a slow push is never a silent wait.
pub(crate) fn retry<T>(
    what: &str,
    mut call: impl FnMut() -> Result<T, Failure>,
) -> Result<T, Failure> {
    let mut delay = FIRST_DELAY;
    let mut attempt = 1;
    loop {
        match call() {
            Err(failure) if attempt < ATTEMPTS && failure.is_transient() => {
                // The server knows when it will have room again; our own backoff stays the least
                // wait, so that a `Retry-After: 0` does not turn the retries into a burst.
                let wait = failure
                    .retry_after()
                    .map_or(delay, |asked| asked.max(delay));
                eprintln!(
                    "  retrying {what} in {wait:?} (attempt {attempt} of {ATTEMPTS} failed: {})",
                    describe(&failure)
                );
                std::thread::sleep(wait);
                delay = (delay * 2).min(MAX_DELAY);
                attempt += 1;
            }
            result => return result,
        }
    }
}
