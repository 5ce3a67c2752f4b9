//! Nothing in pause is meant to panic; if something does, exit with a distinct status instead of
//! hanging on as a pod anchor in an unknown state.

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    crate::runtime::exit_group(crate::EXIT_PANIC)
}

/// Referenced by the unwind tables of the precompiled `core`, which only a non-LTO (debug) link keeps.
/// With `panic = "abort"` nothing ever unwinds, so nothing ever calls it.
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}
