//! The `cargo xtask` program itself, for the tests that drive its command line as a user does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::PLATFORMS;
use crate::deadline::run_within;

/// The longest a build of the xtask from nothing may take on a busy 2-core machine.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(900);

/// Builds the xtask binary into the target directory `target` and returns its path.
pub fn build(target: &Path) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run_within(
        Command::new(cargo)
            .args(["build", "--quiet", "--locked", "--package", "xtask"])
            .current_dir(xtask::project::root())
            .env("CARGO_TARGET_DIR", target),
        BUILD_TIMEOUT,
    );
    target.join("debug/xtask")
}

/// The xtask binary of the project's own target directory (the one `cargo xtask` runs), built if
/// it is missing or stale.
pub fn project() -> PathBuf {
    build(&xtask::project::target_dir())
}

/// What one run of the xtask binary printed.
pub struct Said {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Said {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// The one `error:` line the run failed with, its last line on stderr; panics, showing
    /// everything, if it succeeded or said `error` more than once. What else is on stderr is
    /// progress: the build's command echo, cargo's status lines, the registry client's retries.
    pub fn error_line(&self, case: &str) -> String {
        assert!(!self.success, "{case}: it succeeded:\n{}", self.all());
        let errors = self
            .stderr
            .lines()
            .filter(|line| line.trim_start().starts_with("error"))
            .count();
        let last = self.stderr.lines().last().unwrap_or_default();
        assert!(
            errors == 1 && last.starts_with("error: "),
            "{case}: not one `error:` line, last:\n{}",
            self.all()
        );
        last.to_string()
    }
}

/// Asserts that `message` (a refusal's one line) names each of `named`: the cause and the fix.
pub fn assert_names<S: AsRef<str>>(message: &str, named: &[S]) {
    for named in named {
        let named = named.as_ref();
        assert!(
            message.contains(named),
            "the error does not name `{named}`: {message}"
        );
    }
}

/// The variable the xtask reads a cosign key's password from, as cosign does.
pub const PASSWORD_VAR: &str = "COSIGN_PASSWORD";

/// `cargo xtask image --out DIR` with the variables `env`; it must succeed. Returns the layout,
/// DIR/oci.
pub fn build_image(dir: &Path, env: &[(&str, &str)]) -> PathBuf {
    let out = dir.display().to_string();
    let said = run(&["image", "--out", &out], env);
    assert!(said.success, "cargo xtask image failed:\n{}", said.all());
    dir.join("oci")
}

/// A cosign key pair from `cargo xtask keygen --out DIR`, encrypted with `password`:
/// (cosign.key, cosign.pub).
pub fn key_pair(dir: &Path, password: &str) -> (String, String) {
    std::fs::create_dir_all(dir).expect("creating the key dir");
    let said = run(
        &["keygen", "--out", &dir.display().to_string()],
        &[(PASSWORD_VAR, password)],
    );
    assert!(said.success, "keygen failed:\n{}", said.all());
    let path = |name: &str| dir.join(name).display().to_string();
    (path("cosign.key"), path("cosign.pub"))
}

/// `cargo xtask push REFERENCE --layout LAYOUT [--sign-key KEY]`, the key's `password` in
/// [`PASSWORD_VAR`]; it must succeed.
pub fn push_layout(reference: &str, layout: &Path, key: Option<&str>, password: &str) -> Said {
    let layout = layout.display().to_string();
    let mut args = vec!["push", reference, "--layout", &layout];
    if let Some(key) = key {
        args.extend(["--sign-key", key]);
    }
    let said = run(&args, &[(PASSWORD_VAR, password)]);
    assert!(said.success, "the push failed:\n{}", said.all());
    said
}

/// How long one run of the xtask's command line may take: a push to a registry on loopback, or
/// a verify that rebuilds the image (compiled already).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// Runs the project's xtask binary with `args` and the variables `env`, as a user on a machine
/// with no terminal (a session of its own: a password prompt fails at once instead of waiting)
/// and no stored registry credentials in reach (HOME and DOCKER_CONFIG point into a temp dir;
/// REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR, COSIGN_PASSWORD and SOURCE_DATE_EPOCH unset unless `env`
/// sets them).
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Said {
    run_under(&[], args, env)
}

/// [`run`], the xtask started by the command line `wrapper` (e.g. `strace -f -o LOG`) instead of
/// directly.
pub fn run_under(wrapper: &[&str], args: &[&str], env: &[(&str, &str)]) -> Said {
    let home = tempfile::tempdir().expect("a temp dir");
    let mut command = command_under(wrapper, args, env, home.path());
    let out = crate::deadline::output_within(&mut command, COMMAND_TIMEOUT);
    Said {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The command [`run`] runs, its HOME `home`: for a caller that runs it its own way.
pub fn command(args: &[&str], env: &[(&str, &str)], home: &Path) -> Command {
    command_under(&[], args, env, home)
}

/// [`command`], started by the command line `wrapper` when it is not empty.
fn command_under(wrapper: &[&str], args: &[&str], env: &[(&str, &str)], home: &Path) -> Command {
    use std::os::unix::process::CommandExt;
    let mut command = match wrapper.split_first() {
        Some((program, wrapper_args)) => {
            let mut command = Command::new(program);
            command.args(wrapper_args).arg(project());
            command
        }
        None => Command::new(project()),
    };
    command
        .args(args)
        .env_remove("COSIGN_PASSWORD")
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .env("HOME", home)
        .env("DOCKER_CONFIG", home.join("no-docker-config"));
    for (name, value) in env {
        command.env(name, value);
    }
    // SAFETY: setsid is async-signal-safe, and nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    command
}

/// The first column of `cargo xtask verify`'s table, which its header line starts with.
const VERIFY_HEADER: &str = "platform";
/// The columns of `cargo xtask verify`'s table.
const VERIFY_COLUMNS: [&str; 7] = [
    VERIFY_HEADER,
    "digest",
    REBUILT,
    SIG,
    BUNDLE,
    SBOM,
    ATTESTATIONS,
];
/// The column of the digests rebuilt and compared.
pub const REBUILT: &str = "rebuilt = registry";
/// cosign 2's signature, cosign 3's signature, the SBOM referrer, the signed SBOM and
/// provenance in both formats.
pub const SIG: &str = ".sig";
pub const BUNDLE: &str = "bundle";
pub const SBOM: &str = "SBOM";
pub const ATTESTATIONS: &str = "attestations";

/// The cells of one line of the table: cells hold single spaces; columns are two or more apart.
fn cells(line: &str) -> Vec<String> {
    line.split("  ")
        .map(str::trim)
        .filter(|cell| !cell.is_empty())
        .map(str::to_string)
        .collect()
}

/// The table `cargo xtask verify` printed, by row name (`index`, a platform), each row by column
/// ([`REBUILT`], [`SIG`], [`BUNDLE`], [`SBOM`], [`ATTESTATIONS`], `digest`).
pub fn verify_table(stdout: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let header = cells(
        stdout
            .lines()
            .find(|line| line.starts_with(VERIFY_HEADER))
            .unwrap_or_else(|| panic!("no table:\n{stdout}")),
    );
    assert_eq!(header, VERIFY_COLUMNS, "the table's columns:\n{stdout}");
    let rows: Vec<Vec<String>> = stdout
        .lines()
        .skip_while(|line| !line.starts_with(VERIFY_HEADER))
        .skip(1)
        .take_while(|line| {
            line.starts_with("index") || PLATFORMS.iter().any(|p| line.starts_with(p.name))
        })
        .map(cells)
        .collect();
    assert_eq!(
        rows.len(),
        1 + PLATFORMS.len(),
        "a row for the index and each platform:\n{stdout}"
    );
    rows.into_iter()
        .map(|row| {
            assert_eq!(
                row.len(),
                VERIFY_COLUMNS.len(),
                "a cell per column: {row:?}"
            );
            let mut by_column: BTreeMap<String, String> = VERIFY_COLUMNS
                .iter()
                .map(|column| column.to_string())
                .zip(row)
                .collect();
            let name = by_column.remove(VERIFY_HEADER).expect("a name");
            (name, by_column)
        })
        .collect()
}
