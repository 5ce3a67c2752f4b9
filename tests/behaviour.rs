//! The real pause binary of every platform (natively or under qemu-user): version flags, PID 1,
//! signals, orphan reaping, and the shape of its ELF file.

use pause_tests::process;
use pause_tests::{Need, PLATFORMS, Platform, launcher, ready};

/// The prerequisites for running one platform's binary at all.
fn runnable(test: &str, platform: &Platform) -> bool {
    let needs: Vec<Need> = Need::emulator(platform).into_iter().collect();
    ready(&format!("{test}[{}]", platform.name), &needs)
}

#[test]
fn version_flags_print_one_line_and_exit_zero() {
    let expected_prefix = format!("pause {}", env!("CARGO_PKG_VERSION"));
    for platform in PLATFORMS {
        if !runnable("behaviour::version_flags", platform) {
            continue;
        }
        for flag in ["-v", "-V", "--version"] {
            let mut argv = launcher(platform);
            argv.push(flag.to_string());
            let out = process::output(&argv);
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{} {flag}: exit {}", platform.name, out.status);
            assert_eq!(stdout.lines().count(), 1, "{} {flag}: {stdout:?}", platform.name);
            assert!(stdout.starts_with(&expected_prefix), "{} {flag}: {stdout:?}", platform.name);
            assert!(out.stderr.is_empty(), "{} {flag}: stderr {:?}", platform.name, out.stderr);
        }
    }
}
