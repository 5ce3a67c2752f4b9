//! A real OCI registry for the suites: Debian's `docker-registry` (the reference distribution
//! registry) on a free loopback port, its storage, config, credentials and certificates under a
//! temp dir, stopped and removed on drop. It authenticates with htpasswd, or with tokens from a
//! token server ([`crate::registry::token_server`]); it may run inside a [`PrivateNetwork`] on port 443.
//!
//! ```no_run
//! use pause_tests::registry::docker_registry::Registry;
//! let registry = Registry::start_plain();
//! let image = registry.push_project_image("test"); // "127.0.0.1:PORT/pause:test"
//! ```

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::Duration;

use tempfile::TempDir;
use xshell::Shell;
use xtask::commands::push::PushOptions;
use xtask::registry::credentials::Credentials;

use crate::Need;
use crate::process::{run, spawn_logged, terminate, wait_for};
use crate::registry::pki::{Pki, Usage};
use crate::registry::private_network::PrivateNetwork;
use crate::registry::token_server;

/// The programs a registry fixture runs; pass them to [`crate::ready`] with what else a test needs.
pub const NEEDS: &[Need] = &[Need::program("docker-registry", "docker-registry")];
/// Also needed by [`Registry::start`] with credentials.
pub const NEEDS_AUTH: Need = Need::program("htpasswd", "apache2-utils");
/// Also needed by [`Registry::start`] with TLS.
pub const NEEDS_TLS: Need = Need::program("openssl", "openssl");

/// The repository the project's image goes to in a test registry.
pub const REPOSITORY: &str = "pause";
/// How long the registry may take to answer `/v2/` after it starts.
const STARTUP: Duration = Duration::from_secs(20);
/// How long one `/v2/` probe of a starting registry may wait for its answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the registry may take to exit after SIGTERM before it is killed.
const SHUTDOWN: Duration = Duration::from_secs(5);
/// How many times a start is tried when another process takes the chosen port first.
const PORT_ATTEMPTS: usize = 3;
/// The HTTPS port: a registry in a private network listens there, as public registries do.
const HTTPS_PORT: u16 = 443;

/// How a registry is started.
#[derive(Clone, Default)]
pub struct Options {
    /// htpasswd (bcrypt) credentials `(user, password)` that every request needs.
    pub credentials: Option<(String, String)>,
    /// HTTPS with a certificate for 127.0.0.1 from a throwaway CA ([`Registry::ca_file`]).
    pub tls: bool,
    /// The CA of the TLS certificate, shared with other servers of the test; by default one of
    /// the registry's own.
    pub pki: Option<Arc<Pki>>,
    /// DNS names the TLS certificate is also valid for.
    pub tls_names: Vec<String>,
    /// Token authentication: clients get their tokens at this realm, from a
    /// [`token_server::TokenServer`] whose signing CA is `pki`'s.
    pub token_realm: Option<String>,
    /// Runs inside this network, on 127.0.0.1:443, instead of a free port of the host's loopback.
    pub network: Option<Arc<PrivateNetwork>>,
}

/// A running registry; dropping it stops the process and deletes its files.
pub struct Registry {
    child: Child,
    host: String,
    options: Options,
    /// The CA of a TLS registry.
    pki: Option<Arc<Pki>>,
    dir: TempDir,
}

impl Registry {
    /// Plain HTTP, no authentication: what the runtime suites pull their images from.
    pub fn start_plain() -> Registry {
        Registry::start(Options::default())
    }

    /// htpasswd authentication over TLS from a throwaway CA.
    pub fn start_secure(user: &str, password: &str) -> Registry {
        Registry::start(Options {
            credentials: Some((user.to_string(), password.to_string())),
            tls: true,
            ..Options::default()
        })
    }

    pub fn start(options: Options) -> Registry {
        let mut dir = tempfile::Builder::new()
            .prefix("pause-registry-")
            .tempdir()
            .expect("creating a temp dir");
        if let Some((user, password)) = &options.credentials {
            let entry = run(&["htpasswd", "-Bbn", user, password]);
            fs::write(dir.path().join("htpasswd"), entry).expect("writing htpasswd");
        }
        let pki = options.tls.then(|| {
            let pki = options
                .pki
                .clone()
                .unwrap_or_else(|| Arc::new(Pki::create()));
            let names: Vec<&str> = options.tls_names.iter().map(String::as_str).collect();
            let issued = pki.issue("registry", Usage::Server, &names);
            for (from, to) in [(&issued.cert, "server.crt"), (&issued.key, "server.key")] {
                fs::copy(from, dir.path().join(to)).expect("copying the registry's certificate");
            }
            pki
        });
        for _ in 0..PORT_ATTEMPTS {
            let port = match options.network {
                Some(_) => HTTPS_PORT,
                None => free_port(),
            };
            let config = dir.path().join("config.yml");
            fs::write(&config, config_yaml(dir.path(), port, &options))
                .expect("writing the registry config");
            let config = config.display().to_string();
            let argv = match &options.network {
                Some(network) => network.inside(&["docker-registry", "serve", &config]),
                None => vec!["docker-registry".to_string(), "serve".to_string(), config],
            };
            let child = spawn_logged(
                Command::new(&argv[0]).args(&argv[1..]),
                &dir.path().join("registry.log"),
            )
            .expect("starting docker-registry");
            let mut registry = Registry {
                child,
                host: format!("127.0.0.1:{port}"),
                options: options.clone(),
                pki: pki.clone(),
                dir,
            };
            if registry.wait_ready() {
                return registry;
            }
            // The port was taken between choosing and binding it: try another. The guard is
            // disarmed by hand so that the temp dir survives for the next attempt.
            registry.stop();
            dir = registry.take_dir();
        }
        panic!("docker-registry did not start after {PORT_ATTEMPTS} attempts; see its log above")
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `127.0.0.1:PORT/repository:tag` (or `@digest`).
    pub fn reference(&self, repository_and_tag: &str) -> String {
        format!("{}/{repository_and_tag}", self.host)
    }

    /// The CA certificate (PEM) that signed a TLS registry's certificate.
    pub fn ca_file(&self) -> Option<PathBuf> {
        self.pki.as_ref().map(|pki| pki.ca_file())
    }

    /// A directory holding the CA's `ca.crt` alone, for `skopeo --cert-dir` and containers'
    /// `certs.d` (empty for a registry without TLS).
    pub fn cert_dir(&self) -> PathBuf {
        match &self.pki {
            Some(pki) => pki.cert_dir(),
            None => self.dir.path().join("certs"),
        }
    }

    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.options
            .credentials
            .as_ref()
            .map(|(user, password)| (user.as_str(), password.as_str()))
    }

    /// Everything the registry logged so far, access log included.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("registry.log")).expect("reading the registry log")
    }

    /// The digest `repository:tag` points at, read from the registry's storage (as a registry in a
    /// private network cannot be asked from outside it); None when there is no such tag.
    pub fn stored_tag(&self, repository: &str, tag: &str) -> Option<String> {
        let link = self
            .dir
            .path()
            .join("storage/docker/registry/v2/repositories")
            .join(repository)
            .join("_manifests/tags")
            .join(tag)
            .join("current/link");
        fs::read_to_string(link).ok()
    }

    /// How many blob uploads the registry started for `repository` so far: each upload begins with
    /// `POST /v2/<repository>/blobs/uploads/`.
    pub fn blob_uploads(&self, repository: &str) -> usize {
        let request = format!("\"POST /v2/{repository}/blobs/uploads/");
        self.log()
            .lines()
            .filter(|line| line.contains(&request))
            .count()
    }

    /// The arguments that make skopeo trust this registry and log into it, for `docker://` refs
    /// on side `side` (`src` or `dest`; empty for `inspect`).
    pub fn skopeo_args(&self, side: &str) -> Vec<String> {
        let flag = |name: &str| {
            if side.is_empty() {
                format!("--{name}")
            } else {
                format!("--{side}-{name}")
            }
        };
        let mut args = Vec::new();
        if self.options.tls {
            args.push(format!(
                "{}={}",
                flag("cert-dir"),
                self.cert_dir().display()
            ));
        } else {
            args.push(format!("{}=false", flag("tls-verify")));
        }
        if let Some((user, password)) = self.credentials() {
            args.push(format!("{}={user}:{password}", flag("creds")));
        }
        args
    }

    /// Push options that reach this registry: its credentials, its CA, no stored credentials
    /// from the machine; the layout is the project's.
    pub fn push_options(&self) -> PushOptions {
        PushOptions {
            layout: crate::image::layout(),
            registry: xtask::registry::Options {
                login: self
                    .credentials()
                    .map(|(user, password)| Credentials::new(user, password)),
                auth_files: Vec::new(),
                insecure: false,
                ca_file: self.ca_file(),
            },
        }
    }

    /// Puts the project's built image (the layout `cargo xtask image` writes) into this registry as
    /// `pause:tag` with the project's own pusher; returns the reference to pull,
    /// `127.0.0.1:PORT/pause:tag`.
    pub fn push_project_image(&self, tag: &str) -> String {
        let sh = Shell::new().expect("a shell");
        let reference = self.reference(&format!("{REPOSITORY}:{tag}"));
        xtask::commands::push::push(&sh, &self.push_options(), None, &reference).unwrap_or_else(
            |error| panic!("pushing the project's image to {reference}: {error:#}"),
        );
        reference
    }

    fn wait_ready(&mut self) -> bool {
        let address: SocketAddr = self.host.parse().expect("an IP address and port");
        let tls = self.options.tls;
        let network = self.options.network.clone();
        let ready = wait_for(STARTUP, || {
            if self
                .child
                .try_wait()
                .expect("polling docker-registry")
                .is_some()
            {
                return Some(false);
            }
            let connection = match &network {
                Some(network) => network.connect(address),
                None => TcpStream::connect(address),
            };
            connection
                .is_ok_and(|stream| answers_v2(stream, &self.host, tls))
                .then_some(true)
        });
        match ready {
            Some(true) => true,
            Some(false) => {
                let log = self.log();
                if log.contains("address already in use") {
                    return false;
                }
                panic!("docker-registry exited at start:\n{log}")
            }
            None => panic!(
                "docker-registry did not answer /v2/ within {STARTUP:?}:\n{}",
                self.log()
            ),
        }
    }

    /// SIGTERM first so the registry closes its files; SIGKILL if it lingers.
    fn stop(&mut self) {
        terminate(&mut self.child, SHUTDOWN);
    }

    /// Takes the temp dir out of a stopped registry, leaving an empty guard that removes nothing.
    fn take_dir(mut self) -> TempDir {
        let placeholder = tempfile::tempdir().expect("creating a temp dir");
        let dir = std::mem::replace(&mut self.dir, placeholder);
        drop(self);
        dir
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port nobody listens on right now. The registry binds it a moment later; [`Registry::start`]
/// (and [`crate::registry::referrers_registry`]'s) retries on the rare race.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("binding a loopback port")
        .port()
}

/// Whether the server that accepted `stream`, over plain HTTP, answers `GET /v2/` the way a
/// registry does (200, or 401 with authentication). Over TLS, accepting is enough: the registry
/// only listens once its certificate loaded.
fn answers_v2(stream: TcpStream, host: &str, tls: bool) -> bool {
    tls || answers_v2_plain(stream, host)
}

/// Whether the server that accepted `stream` answers `GET /v2/` over plain HTTP as a registry
/// does: 200, or 401 with authentication. A server that does not answer within
/// [`PROBE_TIMEOUT`] does not.
pub(crate) fn answers_v2_plain(mut stream: TcpStream, host: &str) -> bool {
    let request = format!("GET /v2/ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    let mut response = String::new();
    stream.set_read_timeout(Some(PROBE_TIMEOUT)).is_ok()
        && stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut response).is_ok()
        && (response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.1 401"))
}

fn config_yaml(dir: &Path, port: u16, options: &Options) -> String {
    let mut yaml = format!(
        "version: 0.1\n\
         log:\n  level: info\n  accesslog:\n    disabled: false\n\
         storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n\
         http:\n  addr: 127.0.0.1:{port}\n  secret: pause-tests-only\n",
        storage = dir.join("storage").display(),
    );
    if options.tls {
        yaml += &format!(
            "  tls:\n    certificate: {}\n    key: {}\n",
            dir.join("server.crt").display(),
            dir.join("server.key").display()
        );
    }
    if options.credentials.is_some() {
        yaml += &format!(
            "auth:\n  htpasswd:\n    realm: pause-tests\n    path: {}\n",
            dir.join("htpasswd").display()
        );
    } else if let Some(realm) = &options.token_realm {
        // The token server's signing certificate chains to this CA.
        let bundle = options
            .pki
            .as_ref()
            .expect("token authentication needs the token server's CA as `pki`")
            .ca_file();
        yaml += &format!(
            "auth:\n  token:\n    realm: {realm}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
            token_server::SERVICE,
            token_server::ISSUER,
            bundle.display()
        );
    }
    yaml
}
