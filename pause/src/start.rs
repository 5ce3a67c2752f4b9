//! The process entry point, one per architecture.
//!
//! The kernel starts us with the stack pointer at `argc`, followed by the `argv` pointers. Each
//! `_start` hands that address to [`enter`] as its first argument after clearing the frame and return
//! registers (so backtraces end here) and aligning the stack as the ABI's calls expect.

use crate::args::Argv;

/// Receives the initial stack pointer from `_start`.
///
/// # Safety
/// `stack` must be the initial process stack laid out by the kernel (argc, argv..., NULL).
unsafe extern "C" fn enter(stack: *const usize) -> ! {
    // SAFETY: `_start` passes the untouched initial stack pointer, as this function requires.
    let argv = unsafe { Argv::from_initial_stack(stack) };
    crate::main(argv)
}

#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "xor ebp, ebp",
        "mov rdi, rsp",
        "and rsp, -16",
        "call {enter}",
        "ud2",
        enter = sym enter,
    )
}

#[cfg(target_arch = "aarch64")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "mov x29, xzr",
        "mov x30, xzr",
        "mov x0, sp",
        "bl {enter}",
        "brk #1",
        enter = sym enter,
    )
}

#[cfg(target_arch = "arm")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "mov fp, #0",
        "mov lr, #0",
        "mov r0, sp",
        "bic sp, sp, #15",
        "bl {enter}",
        "udf #0",
        enter = sym enter,
    )
}

#[cfg(target_arch = "riscv64")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "mv fp, zero",
        "mv ra, zero",
        "mv a0, sp",
        "andi sp, sp, -16",
        "call {enter}",
        "unimp",
        enter = sym enter,
    )
}

// ELFv2: code reaches globals through the TOC pointer in r2, which nobody has set yet. Compute it
// from our own address (`bcl` to the next instruction leaves that address in the link register),
// then leave the minimum 32-byte frame with a null back chain for the callee.
#[cfg(target_arch = "powerpc64")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "bcl 20, 31, 2f",
        "2:",
        "mflr 12",
        "addis 2, 12, (.TOC. - 2b)@ha",
        "addi 2, 2, (.TOC. - 2b)@l",
        "mr 3, 1",
        "clrrdi 1, 1, 4",
        "li 0, 0",
        "stdu 0, -32(1)",
        "bl {enter}",
        "nop",
        "trap",
        enter = sym enter,
    )
}

// The s390x ABI has the caller provide a 160-byte register save area below the stack pointer, whose
// first doubleword (the back chain) is zero in the outermost frame.
#[cfg(target_arch = "s390x")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "lgr %r2, %r15",
        "aghi %r15, -160",
        "lghi %r0, 0",
        "stg %r0, 0(%r15)",
        "brasl %r14, {enter}",
        "2:",
        "j 2b",
        enter = sym enter,
    )
}
