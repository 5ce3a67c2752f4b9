//! Secrets never reach a child process, the screen or a terminal left broken: the variables a CI
//! job signs and pushes with are gone from every program the xtask starts (strace shows each
//! `execve` with its environment); a password typed into a reference or onto `--password-stdin=`
//! is refused without any piece of it printed; Ctrl-C at keygen's password prompt leaves the
//! terminal echoing again.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use pause_tests::process::{wait_exit, wait_for};
use pause_tests::registry::docker_registry::{self, REPOSITORY, Registry};
use pause_tests::xtask_cli::{self, PASSWORD_VAR, Said};
use pause_tests::{Need, PLATFORMS, ready};

/// The key's password, and two more secrets a release job holds, each recognisable in a trace.
const COSIGN_PASSWORD: &str = "cosign-pw-Vh3q8Zt";
const SECRET_VARIABLES: [(&str, &str); 3] = [
    (PASSWORD_VAR, COSIGN_PASSWORD),
    ("COSIGN_PRIVATE_KEY", "private-key-Jx6w2Rn"),
    ("GITHUB_TOKEN", "ghs_token-Pm4k9Yd"),
];
const STRACE: Need = Need::program("strace", "strace");

/// The platform the tests build alone: the host's own, the fastest.
fn native_platform() -> &'static str {
    PLATFORMS
        .iter()
        .find(|platform| platform.is_native())
        .expect("the host is one of the platforms")
        .name
}

/// `image --push --sign-key` under `strace -f`: every program the xtask starts (cargo, rustc,
/// build scripts, git) is exec'd with an environment that holds none of the three secrets.
#[test]
fn no_child_of_a_signing_push_inherits_a_secret() {
    let mut needs = docker_registry::NEEDS.to_vec();
    needs.push(STRACE);
    if !ready("no_child_of_a_signing_push_inherits_a_secret", &needs) {
        return;
    }
    let registry = Registry::start_plain();
    let dir = tempfile::tempdir().expect("a temp dir");
    let (key, _) = xtask_cli::key_pair(&dir.path().join("keys"), COSIGN_PASSWORD);
    let trace = dir.path().join("execve.trace");
    let out = dir.path().join("image").display().to_string();
    let reference = registry.reference(&format!("{REPOSITORY}:secrets"));
    let trace_arg = trace.display().to_string();
    let said = xtask_cli::run_under(
        &[
            "strace",
            "-f",
            "--seccomp-bpf",
            "-qq",
            "-e",
            "trace=execve",
            "-v",
            "-s",
            "4096",
            "-o",
            &trace_arg,
        ],
        &[
            "image",
            "--platform",
            native_platform(),
            "--out",
            &out,
            "--push",
            &reference,
            "--sign-key",
            &key,
        ],
        &SECRET_VARIABLES,
    );
    assert!(said.success, "the signing push failed:\n{}", said.all());
    let trace = std::fs::read_to_string(&trace).expect("reading strace's log");
    let execs: Vec<&str> = trace
        .lines()
        .filter(|line| line.contains("execve("))
        .collect();
    // The first is strace starting the xtask, which is given the secrets on purpose.
    let (own, children) = execs
        .split_first()
        .expect("strace logged the xtask's execve");
    for (name, value) in SECRET_VARIABLES {
        assert!(
            own.contains(&format!("\"{name}={value}\"")),
            "the trace does not show the xtask's own environment (so it could show no child's): {own}"
        );
    }
    assert!(
        children.iter().any(|line| line.contains("/cargo\"")),
        "the xtask started no cargo (so the test shows nothing):\n{trace}"
    );
    let leaks: Vec<String> = children
        .iter()
        .filter_map(|line| {
            let names: Vec<&str> = SECRET_VARIABLES
                .iter()
                .filter(|(_, value)| line.contains(value))
                .map(|(name, _)| *name)
                .collect();
            // The program: the line up to the end of execve's first argument.
            let program = line.split(", [").next().unwrap_or(line);
            (!names.is_empty()).then(|| format!("{program} got {}", names.join(", ")))
        })
        .collect();
    assert!(
        leaks.is_empty(),
        "{} of {} programs the xtask started got a secret in their environment:\n{}",
        leaks.len(),
        children.len(),
        leaks.join("\n")
    );
}

/// Passwords holding each character that ends a part of a reference or a URL.
const PASSWORDS: [&str; 3] = ["Kq7/Wz9@Rt4:Mv2%Hb8", "s3cr@et@Lp6", "Qe5%2FYu8/Fs1:"];
/// A loopback port nothing listens on: were a reference taken, the command would fail there.
const CLOSED_REGISTRY: &str = "127.0.0.1:9";
const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// The pieces of `password` a message could quote: the parts of three or more characters
/// between `/`, `@`, `:` and `%`, and the whole.
fn pieces(password: &str) -> Vec<&str> {
    const SHORTEST: usize = 3;
    password
        .split(['/', '@', ':', '%'])
        .filter(|piece| piece.len() >= SHORTEST)
        .chain([password])
        .collect()
}

/// The run failed with one line on stderr, nothing on stdout, and no piece of `password`.
fn assert_refused_quietly(said: &Said, case: &str, password: &str, names: &[&str]) {
    let line = said.error_line(case);
    assert!(
        said.stdout.is_empty() && said.stderr.lines().count() == 1,
        "{case}: not one line:\n{}",
        said.all()
    );
    for piece in pieces(password) {
        assert!(
            !said.all().contains(piece),
            "{case}: the output holds `{piece}` of the password:\n{}",
            said.all()
        );
    }
    xtask_cli::assert_names(&line, names);
}

/// `push`, `verify` and `image --push` refuse a reference carrying a password, and a password
/// typed onto `--password-stdin=`, in one line that holds no piece of it.
#[test]
fn passwords_typed_into_a_command_line_are_refused_unquoted() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let out = dir.path().join("image").display().to_string();
    let platform = native_platform();
    for password in PASSWORDS {
        for reference in [
            format!("bob:{password}@{CLOSED_REGISTRY}/pause:1"),
            format!("https://bob:{password}@{CLOSED_REGISTRY}/pause:1"),
            format!("{password}@{CLOSED_REGISTRY}/pause:1"),
            format!("bob:{password}@{CLOSED_REGISTRY}/pause@{DIGEST}"),
        ] {
            for args in [
                vec!["push", &reference],
                vec!["verify", &reference],
                vec![
                    "image",
                    "--platform",
                    platform,
                    "--out",
                    &out,
                    "--push",
                    &reference,
                ],
            ] {
                let said = xtask_cli::run(&args, &[]);
                let case = format!("{} with a password in the reference", args[0]);
                assert_refused_quietly(&said, &case, password, &["credentials", "--username"]);
            }
        }
        let reference = format!("{CLOSED_REGISTRY}/pause:1");
        let flag = format!("--password-stdin={password}");
        for args in [
            vec!["push", &reference, "--username", "bob", &flag],
            vec!["verify", &reference, "--username", "bob", &flag],
            vec!["image", "--push", &reference, "--username", "bob", &flag],
        ] {
            let said = xtask_cli::run(&args, &[]);
            let case = format!("{} --password-stdin=PASSWORD", args[0]);
            assert_refused_quietly(
                &said,
                &case,
                password,
                &["--password-stdin", "takes no value"],
            );
        }
    }
    assert!(
        !Path::new(&out).exists(),
        "a refused image --push built the image first"
    );
}

/// How long the xtask may take to ask for the password, and to exit after Ctrl-C.
const PROMPT_TIMEOUT: Duration = Duration::from_secs(60);
/// What the terminal's line discipline turns into SIGINT.
const CTRL_C: u8 = 0x03;

/// A pseudo-terminal: the master (the "keyboard and screen") and the slave the xtask runs on.
struct Pty {
    master: File,
    slave: OwnedFd,
}

impl Pty {
    fn open() -> Pty {
        let (mut master, mut slave) = (-1, -1);
        // SAFETY: openpty writes two descriptors it opened into the two ints; no name, termios
        // or window size is passed.
        let opened = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
        for fd in [master, slave] {
            // SAFETY: a descriptor just opened; kept from the children other tests start.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
        // SAFETY: both descriptors were just opened and are owned by nothing else.
        unsafe {
            Pty {
                master: File::from_raw_fd(master),
                slave: OwnedFd::from_raw_fd(slave),
            }
        }
    }

    /// Whether the terminal echoes what is typed.
    fn echoes(&self) -> bool {
        // SAFETY: termios is plain data that tcgetattr fills in.
        let mut termios: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: a valid descriptor and a termios to write.
        let got = unsafe { libc::tcgetattr(self.slave.as_raw_fd(), &mut termios) };
        assert_eq!(got, 0, "tcgetattr: {}", std::io::Error::last_os_error());
        termios.c_lflag & libc::ECHO != 0
    }

    /// What the xtask wrote to the terminal so far (the master is read without blocking).
    fn screen(&mut self) -> String {
        let mut text = Vec::new();
        let mut buffer = [0; 4096];
        while let Ok(read @ 1..) = self.master.read(&mut buffer) {
            text.extend_from_slice(&buffer[..read]);
        }
        String::from_utf8_lossy(&text).into_owned()
    }
}

/// `cargo xtask keygen` asks for the password on its terminal with echo off; Ctrl-C there (the
/// byte the line discipline turns into SIGINT) ends it with the terminal echoing again, and no key
/// written.
#[test]
fn ctrl_c_at_the_key_password_prompt_leaves_the_terminal_echoing() {
    let mut pty = Pty::open();
    // SAFETY: the master was just opened; O_NONBLOCK only changes how reads wait.
    unsafe {
        libc::fcntl(pty.master.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK);
    }
    assert!(pty.echoes(), "a new terminal echoes");
    let dir = tempfile::tempdir().expect("a temp dir");
    let out = dir.path().join("keys");
    let slave = || Stdio::from(pty.slave.try_clone().expect("duplicating the pty's slave"));
    let mut command = Command::new(xtask_cli::project());
    command
        .args(["keygen", "--out", &out.display().to_string()])
        .env_remove(PASSWORD_VAR)
        .env("HOME", dir.path())
        .stdin(slave())
        .stdout(slave())
        .stderr(slave());
    // SAFETY: setsid and ioctl are async-signal-safe, and nothing else runs between fork and
    // exec: the xtask leads a session of its own whose controlling terminal is the pty (its
    // stdin), so /dev/tty is the pty and Ctrl-C signals the xtask.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().expect("starting cargo xtask keygen");
    // The prompt is up and the echo off: the xtask waits for the password.
    let asking = wait_for(PROMPT_TIMEOUT, || (!pty.echoes()).then_some(()));
    let screen = pty.screen();
    if asking.is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("keygen never switched the echo off to ask; its terminal showed:\n{screen}");
    }
    assert!(
        screen.contains("password"),
        "no prompt on the terminal:\n{screen}"
    );
    pty.master.write_all(&[CTRL_C]).expect("typing Ctrl-C");
    let status = wait_exit(&mut child, PROMPT_TIMEOUT);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let status = status.expect("keygen did not exit after Ctrl-C");
    assert!(!status.success(), "keygen succeeded after Ctrl-C");
    assert!(
        pty.echoes(),
        "keygen ended ({status}) with the terminal's echo off; it showed:\n{}",
        pty.screen()
    );
    assert!(!out.exists(), "keygen wrote {} after Ctrl-C", out.display());
}

/// A cloud's key, which a credential helper (`docker-credential-ecr-login`) needs to log in.
const CLOUD_KEY: (&str, &str) = ("AWS_SECRET_ACCESS_KEY", "aws-secret-Qz8v3Lm");

/// A credential helper that writes its own environment to `dir/helper.env` and its parent's (the
/// xtask's) `/proc/PPID/environ` to `dir/parent.env`, then answers "not found".
fn install_spy_helper(dir: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let helper = dir.join("docker-credential-spy");
    let script = format!(
        "#!/bin/sh\nenv > '{own}'\ntr '\\000' '\\n' < /proc/$PPID/environ > '{parent}'\n\
         echo 'credentials not found in native keychain'; exit 1\n",
        own = dir.join("helper.env").display(),
        parent = dir.join("parent.env").display(),
    );
    std::fs::write(&helper, script).expect("writing the helper");
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755))
        .expect("making it executable");
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Removing a variable leaves its text in the block `/proc/<pid>/environ` shows, which any
/// process of the user reads, the xtask's own children first: the xtask blanks it there. A
/// credential helper is the one program that gets secrets back (its cloud's keys), never the
/// signing key's.
#[test]
fn the_xtasks_own_environ_holds_no_secret_and_a_helper_gets_its_keys() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = install_spy_helper(dir.path());
    let config = dir.path().join("docker");
    std::fs::create_dir_all(&config).expect("a docker config dir");
    std::fs::write(
        config.join("config.json"),
        format!(r#"{{"credHelpers": {{"{CLOSED_REGISTRY}": "spy"}}}}"#),
    )
    .expect("writing config.json");
    let mut env: Vec<(&str, &str)> = SECRET_VARIABLES.to_vec();
    env.push(CLOUD_KEY);
    let config = config.display().to_string();
    env.extend([("PATH", path.as_str()), ("DOCKER_CONFIG", config.as_str())]);
    let said = xtask_cli::run(&["verify", &format!("{CLOSED_REGISTRY}/pause:1")], &env);
    assert!(
        !said.success,
        "verify of a closed port passed:\n{}",
        said.all()
    );
    let read = |name: &str| {
        std::fs::read_to_string(dir.path().join(name)).unwrap_or_else(|error| {
            panic!(
                "the helper was not asked ({name}: {error}):\n{}",
                said.all()
            )
        })
    };
    let (own, parent) = (read("helper.env"), read("parent.env"));
    for (name, value) in SECRET_VARIABLES.iter().chain([&CLOUD_KEY]) {
        assert!(
            !parent.contains(value),
            "the xtask's /proc/PID/environ still shows {name}'s value"
        );
    }
    let line = format!("{}={}", CLOUD_KEY.0, CLOUD_KEY.1);
    assert!(
        own.lines().any(|own| own == line),
        "the credential helper did not get {} back",
        CLOUD_KEY.0
    );
    for (name, value) in SECRET_VARIABLES {
        let cosign = name.starts_with("COSIGN_");
        assert!(
            !cosign || !own.contains(value),
            "the credential helper got {name}, which no helper needs"
        );
    }
}
