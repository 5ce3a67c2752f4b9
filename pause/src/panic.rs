//! Nothing in pause is meant to panic; if something does, exit with a distinct status instead of
//! hanging on as a pod anchor in an unknown state.

/// Status for an impossible state, the same as a shell's "command found but could not run".
const EXIT_PANIC: i32 = 126;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    crate::runtime::exit_group(EXIT_PANIC)
}

/// Referenced by the unwind tables of the precompiled `core`, which only a non-LTO (debug) link keeps.
/// With `panic = "abort"` nothing ever unwinds, so nothing ever calls it.
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}
