//! `cargo xtask`'s command line as users of crane, cosign and docker expect it, through the real
//! binary: `--help` a list of commands, one a line, and each command's full help behind
//! `CMD --help` and `help CMD`; `--version`; a usage error in one line naming the fix, exit 2; a
//! registry that cannot be reached or refuses us, exit 3; and Ctrl-C during a push, one line and
//! exit 130 with no tag written, after which the same push completes.

use std::net::{Ipv4Addr, TcpListener};
use std::process::{Command, Stdio};
use std::time::Duration;

use pause_tests::deadline::output_within_reading;
use pause_tests::image::layout as project_layout;
use pause_tests::process::{signal, wait_exit};
use pause_tests::registry::docker_registry::{NEEDS_AUTH, NEEDS_TLS, REPOSITORY, Registry};
use pause_tests::registry::stalling_proxy::StallingProxy;
use pause_tests::{ready, xtask_cli};

use crate::pushed::{PASSWORD, USER, local_image, needs};

/// The commands `cargo xtask --help` lists.
const COMMANDS: [&str; 9] = [
    "build", "image", "push", "verify", "keygen", "test", "lint", "bench", "help",
];
/// The exit statuses of docs/push-and-credentials.md's "Exit statuses".
const USAGE: i32 = 2;
const REGISTRY: i32 = 3;
/// 128 + SIGINT, as a shell reports a process that Ctrl-C ended.
const INTERRUPTED: i32 = 130;
/// The line a push interrupted before its tag ends with.
const INTERRUPTED_LINE: &str = "interrupted: nothing was tagged; run the same push again";
/// How long a push may take to reach its first blob upload (it reads the layout and logs in).
const UNTIL_STALLED: Duration = Duration::from_secs(120);
/// How long an interrupted push may take to end.
const UNTIL_ENDED: Duration = Duration::from_secs(10);

/// What one run of the xtask binary did.
struct Ran {
    /// Its exit status; None when a signal ended it.
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Ran {
    /// The first line on stderr.
    fn first_error_line(&self) -> &str {
        self.stderr.lines().next().unwrap_or_default()
    }
}

/// Runs the xtask binary with `args`, `stdin` its standard input, as [`xtask_cli::run`] does.
fn xtask_reading(args: &[&str], stdin: Stdio) -> Ran {
    let home = tempfile::tempdir().expect("a temp dir");
    let out = output_within_reading(
        &mut xtask_cli::command(args, &[], home.path()),
        stdin,
        xtask_cli::COMMAND_TIMEOUT,
    );
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    Ran {
        code: out.status.code(),
        stdout: text(&out.stdout),
        stderr: text(&out.stderr),
    }
}

fn xtask(args: &[&str]) -> Ran {
    xtask_reading(args, Stdio::null())
}

/// `cargo xtask --help` lists the commands, one a line, and says where the details are; each
/// command's `--help`, and `help CMD`, print its whole help.
#[test]
fn help_lists_the_commands_and_each_command_tells_its_own() {
    for flag in ["--help", "-h", "help"] {
        let listed = xtask(&[flag]);
        assert_eq!(listed.code, Some(0), "{flag}:\n{}", listed.stderr);
        let lines: Vec<&str> = listed.stdout.lines().collect();
        assert_eq!(
            lines.first().copied(),
            Some("Usage: cargo xtask COMMAND [OPTIONS]"),
            "{flag}:\n{}",
            listed.stdout
        );
        assert!(
            lines.len() < 30,
            "{flag}: a list, not every command's help:\n{}",
            listed.stdout
        );
        for command in COMMANDS {
            let summaries: Vec<&&str> = lines
                .iter()
                .filter(|line| line.starts_with(&format!("  {command} ")))
                .collect();
            assert_eq!(
                summaries.len(),
                1,
                "{flag}: one line for {command}:\n{}",
                listed.stdout
            );
        }
        for option in ["  -h, --help ", "  -V, --version "] {
            assert!(
                lines.iter().any(|line| line.starts_with(option)),
                "{flag}: no `{option}` line:\n{}",
                listed.stdout
            );
        }
        assert_eq!(
            lines.last().copied(),
            Some("Run `cargo xtask COMMAND --help` for a command's arguments and options."),
            "{flag}:\n{}",
            listed.stdout
        );
    }
    for (command, first_line, named) in [
        (
            "push",
            "Usage: cargo xtask push <reference> [OPTIONS]",
            &[
                "--sign-key",
                "--password-stdin",
                ".sig",
                ".att",
                "bundle",
                "attestation",
            ][..],
        ),
        (
            "verify",
            "Usage: cargo xtask verify <reference> [OPTIONS]",
            &["--key", ".sig", ".att", "bundle", "attestation"][..],
        ),
        (
            "build",
            "Usage: cargo xtask build [OPTIONS]",
            &["--platform"][..],
        ),
    ] {
        let helped = xtask(&[command, "--help"]);
        assert_eq!(helped.code, Some(0), "{command} --help:\n{}", helped.stderr);
        assert_eq!(
            helped.stdout.lines().next(),
            Some(first_line),
            "{command} --help:\n{}",
            helped.stdout
        );
        for named in named {
            assert!(
                helped.stdout.contains(named),
                "{command} --help does not name {named}:\n{}",
                helped.stdout
            );
        }
        let via_help = xtask(&["help", command]);
        assert_eq!(
            via_help.code,
            Some(0),
            "help {command}:\n{}",
            via_help.stderr
        );
        assert_eq!(
            via_help.stdout, helped.stdout,
            "help {command} is {command} --help"
        );
    }
}

/// `--version` and `-V`: the xtask's version, the checkout's commit, the pinned toolchain.
#[test]
fn version_names_the_xtask_the_commit_and_the_toolchain() {
    let root = xtask::project::root();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(&root)
            .args(args)
            .output()
            .expect("running git");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"]);
    let changed = !git(&["status", "--porcelain", "--untracked-files=no"]).is_empty();
    let toolchain: toml::Table =
        toml::from_str(&std::fs::read_to_string(root.join("rust-toolchain.toml")).expect("read"))
            .expect("rust-toolchain.toml is TOML");
    let channel = toolchain["toolchain"]["channel"]
        .as_str()
        .expect("a channel");
    let expected = [
        format!("xtask {}", env!("CARGO_PKG_VERSION")),
        match (commit.is_empty(), changed) {
            (true, _) => "commit unknown (not a git checkout)".to_string(),
            (false, true) => format!("commit {commit} (with uncommitted changes)"),
            (false, false) => format!("commit {commit}"),
        },
        format!("toolchain {channel} (rust-toolchain.toml)"),
    ];
    for flag in ["--version", "-V"] {
        let said = xtask(&[flag]);
        assert_eq!(said.code, Some(0), "{flag}:\n{}", said.stderr);
        let lines: Vec<&str> = said.stdout.lines().collect();
        assert_eq!(lines, expected, "{flag}");
    }
}

/// Each mistake on the command line: one line naming the fix, exit 2, nothing tried.
#[test]
fn usage_errors_name_the_fix_and_exit_2() {
    let form =
        "write REGISTRY/REPOSITORY:TAG, e.g. ghcr.io/OWNER/pause:0.1.0 or 127.0.0.1:5000/pause:dev";
    let tag_rule = "at most 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`";
    let no_password = "error: there is no --password (a password typed on the command line shows in `ps` and the shell's history): pipe it to --password-stdin, with --username U: see `cargo xtask push --help`";
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["push"],
            "error: missing argument <reference>: REGISTRY/REPOSITORY:TAG, e.g. ghcr.io/OWNER/pause:0.1.0: see `cargo xtask push --help`".into(),
        ),
        (
            vec!["verify"],
            "error: missing argument <reference>: REGISTRY/REPOSITORY:TAG (or @sha256:...), e.g. ghcr.io/OWNER/pause:0.1.0: see `cargo xtask verify --help`".into(),
        ),
        (
            vec!["push", "127.0.0.1:5000/pause:t", "--password", "hunter2"],
            no_password.into(),
        ),
        (
            vec!["push", "127.0.0.1:5000/pause:t", "--password=hunter2"],
            no_password.into(),
        ),
        (
            vec!["push", "pause::0.1.0"],
            format!("error: `pause::0.1.0` has a malformed tag `:0.1.0`: {tag_rule}: {form}"),
        ),
        (
            vec!["push", "host/pause:bad tag!"],
            format!("error: `host/pause:bad tag!` has a malformed tag `bad tag!`: {tag_rule}: {form}"),
        ),
        (
            vec!["push", "127.0.0.1:5000/pause"],
            format!("error: `127.0.0.1:5000/pause` has no tag: {form}"),
        ),
        (
            vec!["build", "--platform", "linux/arm"],
            "error: unknown platform `linux/arm` (did you mean linux/arm/v7?): choose from linux/amd64, linux/arm64, linux/arm/v7, linux/ppc64le, linux/s390x, linux/riscv64".into(),
        ),
        (
            vec!["push", "127.0.0.1:5000/pause:t", "--username", USER],
            "error: --username needs --password-stdin, with the password piped to standard input".into(),
        ),
        (
            vec!["help", "pussh"],
            "error: unknown command `pussh`: see `cargo xtask --help`".into(),
        ),
        (
            vec!["pussh"],
            "error: unknown command `pussh`: see `cargo xtask --help`".into(),
        ),
    ];
    for (args, expected) in cases {
        let said = xtask(&args);
        let shown = args.join(" ");
        assert_eq!(
            (said.code, said.first_error_line()),
            (Some(USAGE), expected.as_str()),
            "cargo xtask {shown}:\n{}{}",
            said.stdout,
            said.stderr
        );
        assert_eq!(
            said.stderr.lines().count(),
            1,
            "cargo xtask {shown}: one line:\n{}",
            said.stderr
        );
        assert!(!said.stderr.contains("hunter2"), "{}", said.stderr);
    }
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding a port");
    listener.local_addr().expect("its address").port()
}

/// A registry that cannot be reached, or that refuses the login or the TLS, ends the push and
/// the verify with status 3.
#[test]
fn a_registry_that_cannot_be_reached_or_refuses_us_exits_3() {
    let layout = project_layout().display().to_string();
    let host = format!("127.0.0.1:{}", closed_port());
    let reference = format!("{host}/pause:t");
    let unreachable = format!("error: contacting {host}: cannot reach the registry {host}");
    for args in [
        vec!["push", &reference, "--layout", &layout],
        vec!["verify", &reference],
    ] {
        let said = xtask(&args);
        assert_eq!(
            said.code,
            Some(REGISTRY),
            "cargo xtask {}:\n{}",
            args.join(" "),
            said.stderr
        );
        let last = said.stderr.lines().last().unwrap_or_default();
        assert!(last.starts_with(&unreachable), "{}", said.stderr);
    }

    let test = "command_line::a_registry_that_cannot_be_reached_or_refuses_us_exits_3";
    if !ready(test, &needs(&[NEEDS_AUTH, NEEDS_TLS])) {
        return;
    }
    let registry = Registry::start_secure(USER, PASSWORD);
    let ca = registry.ca_file().expect("a CA").display().to_string();
    let reference = registry.reference(&format!("{REPOSITORY}:refused"));
    let dir = tempfile::tempdir().expect("a temp dir");
    let wrong = dir.path().join("wrong-password");
    std::fs::write(&wrong, "not the password\n").expect("writing the password");
    let piped = || Stdio::from(std::fs::File::open(&wrong).expect("opening the password"));
    let push = ["push", reference.as_str(), "--layout", layout.as_str()];
    for (args, stdin, named) in [
        (
            [
                &push[..],
                &["--ca-file", &ca, "--username", USER, "--password-stdin"],
            ]
            .concat(),
            piped(),
            "refused the credentials",
        ),
        (
            [&push[..], &["--ca-file", &ca]].concat(),
            Stdio::null(),
            "needs credentials",
        ),
        (push.to_vec(), Stdio::null(), "is not trusted"),
    ] {
        let said = xtask_reading(&args, stdin);
        let last = said.stderr.lines().last().unwrap_or_default();
        assert!(
            said.code == Some(REGISTRY) && last.starts_with("error: ") && last.contains(named),
            "cargo xtask {}: not status 3 with `{named}`: {:?}\n{}",
            args.join(" "),
            said.code,
            said.stderr
        );
    }
    assert_eq!(
        registry.stored_tag(REPOSITORY, "refused"),
        None,
        "a refused push tagged"
    );
}

/// Ctrl-C in the middle of a push (an upload the registry holds unanswered): one line, status
/// 130, no tag; the same push again then completes.
#[test]
fn ctrl_c_during_a_push_says_nothing_was_tagged_and_exits_130() {
    let test = "command_line::ctrl_c_during_a_push_says_nothing_was_tagged_and_exits_130";
    if !ready(test, &needs(&[])) {
        return;
    }
    let local = local_image();
    let layout = project_layout().display().to_string();
    let registry = Registry::start_plain();
    let proxy = StallingProxy::start(registry.host());
    let reference = format!("{}/{REPOSITORY}:interrupted", proxy.host());
    let args = ["push", reference.as_str(), "--layout", layout.as_str()];

    let home = tempfile::tempdir().expect("a temp dir");
    let mut child = xtask_cli::command(&args, &[], home.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the push");
    let stalled = proxy.wait_stalled(UNTIL_STALLED);
    if !stalled {
        let _ = child.kill();
    }
    assert!(stalled, "the push never reached a blob upload");
    signal(child.id(), "INT");
    let ended = wait_exit(&mut child, UNTIL_ENDED);
    if ended.is_none() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().expect("the push's output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        ended.is_some(),
        "Ctrl-C did not end the push:\n{stdout}{stderr}"
    );
    assert_eq!(
        (out.status.code(), stderr.lines().last()),
        (Some(INTERRUPTED), Some(INTERRUPTED_LINE)),
        "the interrupted push's status and last line:\n{stdout}{stderr}"
    );
    assert_eq!(
        stderr.matches("interrupted").count(),
        1,
        "one line:\n{stderr}"
    );
    assert_eq!(
        registry.stored_tag(REPOSITORY, "interrupted"),
        None,
        "the interrupted push left a tag"
    );

    let again = xtask(&args);
    assert_eq!(
        again.code,
        Some(0),
        "the same push again:\n{}{}",
        again.stdout,
        again.stderr
    );
    assert_eq!(
        registry.stored_tag(REPOSITORY, "interrupted").as_deref(),
        Some(local.index_digest.as_str()),
        "the second push tagged the image"
    );
}
