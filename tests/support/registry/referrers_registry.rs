//! A real registry that answers the OCI 1.1 referrers API (`GET /v2/<name>/referrers/<digest>`),
//! which Debian's docker-registry 2.8 ([`crate::registry::docker_registry`]) lacks: crates.io's ferro-oci-server,
//! which `cargo xtask test` installs into `target/tools/ferro-oci-server`. It runs on a free
//! loopback port, plain HTTP and no authentication, everything it stores in a temp dir; dropping
//! it stops the one process it started and deletes its files.
//!
//! ```no_run
//! use pause_tests::registry::referrers_registry::ReferrersRegistry;
//! if let Some(registry) = ReferrersRegistry::start("referrers_api::my_test") {
//!     let reference = registry.reference("pause:test"); // "127.0.0.1:PORT/pause:test"
//! }
//! ```

use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

use tempfile::TempDir;
use xtask::tools::crates;

use crate::process::{spawn_logged, terminate, wait_for};
use crate::registry::docker_registry::{answers_v2_plain, free_port};
use crate::registry::registry_http::Endpoint;
use crate::skip;

/// How long the registry may take to answer `/v2/` after it starts.
const STARTUP: Duration = Duration::from_secs(20);
/// How long it may take to exit after SIGTERM before it is killed.
const SHUTDOWN: Duration = Duration::from_secs(5);
/// How many times a start is tried when another process takes the chosen port first.
const PORT_ATTEMPTS: usize = 3;

/// A running ferro-oci-server; dropping it stops the process and deletes its files.
pub struct ReferrersRegistry {
    child: Child,
    host: String,
    dir: TempDir,
}

impl ReferrersRegistry {
    /// Starts one; None (the test reported skipped, naming the command that installs it) when
    /// ferro-oci-server is not installed.
    pub fn start(test: &str) -> Option<ReferrersRegistry> {
        let program = crates::ferro_oci_server();
        if !program.is_file() {
            skip(
                test,
                &format!(
                    "needs {} {} at {}",
                    crates::FERRO_OCI_SERVER,
                    crates::FERRO_OCI_SERVER_VERSION,
                    program.display()
                ),
                &format!("cargo xtask test (it runs `{}`)", crates::install_command()),
            );
            return None;
        }
        for _ in 0..PORT_ATTEMPTS {
            let dir = tempfile::Builder::new()
                .prefix("pause-ferro-oci-server-")
                .tempdir()
                .expect("creating a temp dir");
            let host = format!("127.0.0.1:{}", free_port());
            let storage = dir.path().join("storage");
            fs::create_dir(&storage).expect("creating the registry's storage");
            let child = spawn_logged(
                Command::new(&program)
                    .env("FERRO_OCI_LISTEN", &host)
                    .env("FERRO_OCI_STORAGE_DIR", &storage)
                    .env("RUST_LOG", "info")
                    .env("NO_COLOR", "1"),
                &dir.path().join("registry.log"),
            )
            .expect("starting ferro-oci-server");
            let mut registry = ReferrersRegistry { child, host, dir };
            if registry.wait_ready() {
                return Some(registry);
            }
            // The port was taken between choosing and binding it: another one, in a fresh dir.
        }
        panic!("ferro-oci-server did not start after {PORT_ATTEMPTS} attempts; see its log above")
    }

    /// `127.0.0.1:PORT/repository:tag` (or `@digest`).
    pub fn reference(&self, repository_and_tag: &str) -> String {
        format!("{}/{repository_and_tag}", self.host)
    }

    /// Everything the registry logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Whether it answers `/v2/`; panics, with its log, when it exited for another reason than
    /// a port taken, or never answered. Only once its own log says it listens on the port is the
    /// port asked: another server that took the port first must not pass for it.
    fn wait_ready(&mut self) -> bool {
        let address: SocketAddr = self.host.parse().expect("an IP address and port");
        let listening = format!("listening addr={}", self.host);
        let ready = wait_for(STARTUP, || {
            if self
                .child
                .try_wait()
                .expect("polling ferro-oci-server")
                .is_some()
            {
                return Some(false);
            }
            (self.log().contains(&listening)
                && TcpStream::connect(address)
                    .is_ok_and(|stream| answers_v2_plain(stream, &self.host)))
            .then_some(true)
        });
        match ready {
            Some(true) => true,
            Some(false) => {
                let log = self.log();
                if log.contains("in use") {
                    return false;
                }
                panic!("ferro-oci-server exited at start:\n{log}")
            }
            None => panic!(
                "ferro-oci-server did not answer /v2/ within {STARTUP:?}:\n{}",
                self.log()
            ),
        }
    }
}

impl Endpoint for ReferrersRegistry {
    fn host(&self) -> &str {
        &self.host
    }

    fn ca_file(&self) -> Option<PathBuf> {
        None
    }

    fn credentials(&self) -> Option<(&str, &str)> {
        None
    }
}

impl Drop for ReferrersRegistry {
    /// SIGTERM to the process this fixture started, SIGKILL if it lingers; never panics.
    fn drop(&mut self) {
        terminate(&mut self.child, SHUTDOWN);
    }
}
