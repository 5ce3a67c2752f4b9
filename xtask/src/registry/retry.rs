//! Retries with exponential backoff for registry calls, which oci-client makes exactly once: a
//! dropped connection, 429 or 5xx is tried again, a bounded number of times.

use std::future::Future;
use std::time::Duration;

use oci_client::errors::OciDistributionError;

use super::error::{describe, is_transient};

/// Tries per call, the first included.
pub(crate) const ATTEMPTS: u32 = 6;
/// The pause before the first retry; each further one doubles it, up to [`MAX_DELAY`].
const FIRST_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(8);

/// Runs `call` until it succeeds, fails for good, or has been tried [`ATTEMPTS`] times; says on
/// stderr what is retried and why, so that a slow push is never a silent wait.
pub(crate) async fn retry<T, F, Fut>(what: &str, mut call: F) -> Result<T, OciDistributionError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, OciDistributionError>>,
{
    let mut delay = FIRST_DELAY;
    let mut attempt = 1;
    loop {
        match call().await {
            Err(error) if attempt < ATTEMPTS && is_transient(&error) => {
                eprintln!(
                    "  retrying {what} in {delay:?} (attempt {attempt} of {ATTEMPTS} failed: {})",
                    describe(&error)
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_DELAY);
                attempt += 1;
            }
            result => return result,
        }
    }
}
