//! A private network and mount namespace in which chosen host names (Docker Hub's, say) resolve to
//! 127.0.0.1: `unshare --net --mount` starts a holder process, its loopback is brought up, and a
//! hosts file of our own is bind-mounted over /etc/hosts there. Programs run inside with
//! `nsenter`, and a thread of the test can connect to servers inside (see [`PrivateNetwork::connect`]).
//!
//! The namespaces are recorded when they are made; on drop, every process still in them is killed
//! and then the holder, so the namespaces, the bind mount and everything started inside die with
//! the test. Nothing leaks to the host: the mount is private to the namespace.

use std::fs;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use crate::Need;
use xtask::procfs;

use crate::process::{run, wait_for};

/// The programs it runs: unshare and nsenter (util-linux), ip (iproute2), mount.
pub const NEEDS: &[Need] = &[
    Need::Root,
    Need::program("unshare", "util-linux"),
    Need::program("nsenter", "util-linux"),
    Need::program("ip", "iproute2"),
    Need::program("mount", "mount"),
];

/// How long `unshare` may take to have made the namespaces.
const STARTUP: Duration = Duration::from_secs(10);
/// How long a killed process may take to be reaped.
const SHUTDOWN: Duration = Duration::from_secs(5);

pub struct PrivateNetwork {
    holder: Child,
    /// `net:[inode]` and `mnt:[inode]`: the namespaces, as /proc/PID/ns names them.
    namespaces: [String; 2],
    _dir: TempDir,
}

impl PrivateNetwork {
    /// Namespaces where each of `names` resolves to 127.0.0.1 (and localhost as usual).
    pub fn start(names: &[&str]) -> PrivateNetwork {
        let dir = tempfile::Builder::new()
            .prefix("pause-netns-")
            .tempdir()
            .expect("creating a temp dir");
        let hosts = dir.path().join("hosts");
        fs::write(
            &hosts,
            format!(
                "127.0.0.1 localhost\n::1 localhost\n127.0.0.1 {}\n",
                names.join(" ")
            ),
        )
        .expect("writing the hosts file");
        let holder = Command::new("unshare")
            .args([
                "--net",
                "--mount",
                "--propagation",
                "private",
                "sleep",
                "infinity",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting unshare");
        let mut network = PrivateNetwork {
            namespaces: [String::new(), String::new()],
            holder,
            _dir: dir,
        };
        let ours = namespaces_of("self");
        let pid = network.pid();
        // unshare makes the namespaces, then execs sleep in them: wait until they differ from ours.
        network.namespaces = wait_for(STARTUP, || {
            namespaces_of(pid).filter(|theirs| Some(theirs) != ours.as_ref())
        })
        .unwrap_or_else(|| panic!("unshare did not make new namespaces within {STARTUP:?}"));
        run(&network.inside(&["ip", "link", "set", "lo", "up"]));
        run(&network.inside(&[
            "mount",
            "--bind",
            &hosts.display().to_string(),
            "/etc/hosts",
        ]));
        network
    }

    fn pid(&self) -> u32 {
        self.holder.id()
    }

    /// The command line that runs `argv` inside: `nsenter --target PID --net --mount -- argv`
    /// (nsenter execs it, so the process is the program itself).
    pub fn inside(&self, argv: &[&str]) -> Vec<String> {
        let mut command = vec![
            "nsenter".to_string(),
            format!("--target={}", self.pid()),
            "--net".to_string(),
            "--mount".to_string(),
            "--".to_string(),
        ];
        command.extend(argv.iter().map(|arg| arg.to_string()));
        command
    }

    /// [`Self::inside`] as a [`Command`], for programs that need more than arguments.
    pub fn command(&self, program: &str) -> Command {
        let argv = self.inside(&[program]);
        let mut command = Command::new(&argv[0]);
        command.args(&argv[1..]);
        command
    }

    /// A TCP connection to `address` inside the network, made by a thread that joined it (a
    /// thread's network namespace is its own: the test's other threads stay outside).
    pub fn connect(&self, address: SocketAddr) -> io::Result<TcpStream> {
        let path = format!("/proc/{}/ns/net", self.pid());
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let namespace = fs::File::open(&path)?;
                    // SAFETY: setns on a namespace file we hold open; it changes only this thread.
                    if unsafe { libc::setns(namespace.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                        return Err(io::Error::last_os_error());
                    }
                    TcpStream::connect(address)
                })
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the connecting thread panicked")))
        })
    }
}

/// A hold on the network namespace that outlives the [`PrivateNetwork`], to check that nothing is
/// left in it: while the hold is open the kernel keeps the namespace (empty) and its number, so a
/// process found in it is truly a leftover, not a newcomer to a recycled number.
pub struct Witness {
    _hold: fs::File,
    namespace: String,
}

impl PrivateNetwork {
    pub fn witness(&self) -> Witness {
        let path = format!("/proc/{}/ns/net", self.pid());
        Witness {
            _hold: fs::File::open(&path).expect("opening the network namespace"),
            namespace: self.namespaces[0].clone(),
        }
    }
}

impl Witness {
    /// The processes in the namespace now.
    pub fn processes(&self) -> Vec<u32> {
        processes_in(&self.namespace, 0)
    }
}

/// The processes whose network or mount namespace is `namespace` (`net:[N]` or `mnt:[N]`), but
/// `except`.
fn processes_in(namespace: &str, except: u32) -> Vec<u32> {
    let me = std::process::id();
    procfs::pids()
        .into_iter()
        .filter(|&pid| pid != me && pid != except)
        .filter(|&pid| {
            namespaces_of(pid).is_some_and(|theirs| theirs.contains(&namespace.to_string()))
        })
        .collect()
}

/// The network and mount namespaces of process `pid` (or `self`).
fn namespaces_of(pid: impl std::fmt::Display + Copy) -> Option<[String; 2]> {
    let link = |kind: &str| Some(procfs::namespace(pid, kind)?.display().to_string());
    Some([link("net")?, link("mnt")?])
}

impl Drop for PrivateNetwork {
    fn drop(&mut self) {
        // Only while the holder lives are the recorded namespaces certainly still ours: a dead
        // namespace's inode number may be given to someone else's.
        if self.holder.try_wait().ok().flatten().is_none() {
            for namespace in &self.namespaces {
                for pid in processes_in(namespace, self.holder.id()) {
                    // SAFETY: kill(2) on a pid that was just seen in our namespaces.
                    unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                }
            }
        }
        let _ = self.holder.kill();
        // No panic in drop: a failed wait is reported, not unwrapped.
        let reaped = wait_for(SHUTDOWN, || match self.holder.try_wait() {
            Ok(status) => status.map(|_| ()),
            Err(_) => Some(()),
        });
        if reaped.is_none() {
            eprintln!(
                "the namespace holder {} did not exit after SIGKILL",
                self.holder.id()
            );
        }
    }
}
