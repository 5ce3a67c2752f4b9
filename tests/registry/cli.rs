//! `cargo xtask push` typed as a user types it: the password piped in, the registry's CA in a
//! file, the pushed reference on stdout, a line per blob and manifest and the node settings pinned
//! by digest on stderr; and the mistakes users make on the command line, each refused in one
//! `error:` line that repeats no password.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use pause_tests::deadline::output_within_reading;
use pause_tests::registry::docker_registry::{NEEDS_AUTH, NEEDS_TLS, REPOSITORY, Registry};
use pause_tests::{PLATFORMS, ready, xtask_cli};

use crate::pushed::{PASSWORD, USER, assert_holds_local_image, local_image, needs};
use crate::xtask_push::{COMMAND_LINE_TIMEOUT, assert_prints_node_settings};

/// Runs the xtask binary `xtask` with `args` and `stdin`; returns (success, stdout, stderr).
fn xtask_says(xtask: &Path, args: &[&str], stdin: Stdio) -> (bool, String, String) {
    let out = output_within_reading(Command::new(xtask).args(args), stdin, COMMAND_LINE_TIMEOUT);
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// `cargo xtask push` as a user types it, the password piped in and the registry's CA in a file:
/// the pushed reference with the layout's digest alone on stdout; on stderr a line per blob and
/// manifest, the node settings that pin it; and the mistakes a user makes on the command line, each
/// refused with one `error:` line naming the fix.
#[test]
fn the_command_line_pushes_and_refuses_mistakes() {
    let test = "cli::the_command_line_pushes_and_refuses_mistakes";
    if !ready(test, &needs(&[NEEDS_AUTH, NEEDS_TLS])) {
        return;
    }
    let local = local_image();
    let registry = Registry::start_secure(USER, PASSWORD);
    let xtask = xtask_cli::project();
    let dir = tempfile::tempdir().expect("a temp dir");
    let password = dir.path().join("password");
    fs::write(&password, format!("{PASSWORD}\n")).expect("writing the password");
    let ca = registry
        .ca_file()
        .expect("a TLS registry has a CA")
        .display()
        .to_string();
    let reference = registry.reference(&format!("{REPOSITORY}:cli"));
    let login = ["--username", USER, "--password-stdin", "--ca-file", &ca];

    let piped = Stdio::from(fs::File::open(&password).expect("opening the password"));
    let (pushed, stdout, stderr) =
        xtask_says(&xtask, &[&["push", &reference][..], &login].concat(), piped);
    assert!(
        pushed,
        "cargo xtask push {reference} failed:\n{stdout}{stderr}"
    );
    let pushed_line = format!("{reference}@{}\n", local.index_digest);
    assert_eq!(stdout, pushed_line, "stdout holds the result alone");
    let lines: Vec<&str> = stderr.lines().collect();
    let uploaded = lines
        .iter()
        .filter(|line| line.starts_with("blob ") && line.ends_with(": uploaded"));
    assert_eq!(
        uploaded.count(),
        local.blobs,
        "a line per uploaded blob:\n{stderr}"
    );
    let manifests = lines
        .iter()
        .filter(|line| line.starts_with("manifest ") && line.ends_with(": pushed"));
    assert_eq!(
        manifests.count(),
        PLATFORMS.len(),
        "a line per platform manifest:\n{stderr}"
    );
    // Then what to paste into each runtime's configuration, pinned by digest.
    assert_prints_node_settings(
        "cli",
        &stderr,
        &registry.reference(REPOSITORY),
        &local.index_digest,
    );
    assert_holds_local_image(&registry, registry.host(), "cli", &local);

    let no_tag = registry.reference(REPOSITORY);
    let missing_layout = dir.path().join("no-such-layout").display().to_string();
    let with_password = format!("{USER}:{PASSWORD}@{reference}");
    let password_flag = format!("--password={PASSWORD}");
    let mistakes: [(&[&str], &str); 9] = [
        (&["push", "127.0.0.1:1/Pause:cli"], "lower-case"),
        (&["push", &no_tag, "--ca-file", &ca], "has no tag"),
        (
            &["push", &reference, "--username", USER],
            "--password-stdin",
        ),
        (
            &["push", &reference, "--layout", &missing_layout],
            "cargo xtask image",
        ),
        (&["image", "--platform", "linux/mips64le"], "linux/riscv64"),
        (&["image", "--platform=linux/mips64le"], "linux/riscv64"),
        // Without --push there is nothing to log into: stdin must stay unread (the pipe below is
        // never closed, so reading it would hang until the timeout).
        (&["image", "--username", USER, "--password-stdin"], "--push"),
        // What a user may type with a password in it is refused without repeating it.
        (&["push", &reference, &password_flag], "--password"),
        (&["push", &with_password], "credentials"),
    ];
    for (args, fix) in mistakes {
        let (succeeded, stdout, stderr) = xtask_says(&xtask, args, Stdio::piped());
        let shown = args.join(" ");
        assert!(!succeeded, "cargo xtask {shown} succeeded");
        assert!(
            stderr.lines().count() == 1 && stderr.starts_with("error: ") && stderr.contains(fix),
            "cargo xtask {shown}: not one `error:` line naming `{fix}`:\n{stderr}"
        );
        assert!(
            !format!("{stdout}{stderr}").contains("horse"),
            "cargo xtask {shown} repeated the password:\n{stdout}{stderr}"
        );
    }
    assert_eq!(
        registry.blob_uploads(REPOSITORY),
        local.blobs,
        "a refused command uploaded blobs:\n{}",
        registry.log()
    );
}
