//! The process entry point, one per architecture.
//!
//! The kernel enters `_start` with the stack pointer at `argc`, followed by the `argv` pointers.
//! Each `_start` passes that address to [`enter`] as its first argument and calls it. Where the ABI
//! has every caller provide stack for its callee (ppc64le, s390x), `_start` first reserves it below
//! `argc`, or `enter` would write over the arguments. Each marks the outermost frame: a zero frame
//! pointer (the x86-64 ABI leaves `rbp` unspecified at entry and asks for exactly this; AArch64's
//! frame record chain ends at a zero), or on ppc64le and s390x a zero back chain. The call leaves a
//! return address into `_start`, at a trap: `enter` never returns, and if it did, the process would
//! die there rather than run whatever bytes follow.
//!
//! No `_start` aligns the stack, because the kernel already has: `create_elf_tables`
//! (fs/binfmt_elf.c) rounds the address of `argc` down to a multiple of 16 (`STACK_ROUND`) on every
//! architecture whose stack grows down, all six here, and qemu-user's loader does the same
//! (`STACK_ALIGNMENT`, 16 for these targets). 16 is the most any of these ABIs asks at a call:
//! x86-64 (where `call` then leaves `rsp` 8 past a multiple of 16, as a callee expects), AArch64,
//! RISC-V and ELFv2 PowerPC ask 16; 32-bit Arm and s390x ask 8. The 32 and 160 bytes reserved on
//! ppc64le and s390x keep that alignment.

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
        "xor ebp, ebp", // frame pointer 0: the outermost frame
        "mov rdi, rsp", // first argument: the address of argc
        "call {enter}", // pushes the return address (the ud2) below argc
        "ud2",          // never reached: enter does not return
        enter = sym enter,
    )
}

#[cfg(target_arch = "aarch64")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "mov x29, xzr", // frame pointer 0: the end of the frame record chain
        "mov x0, sp",   // first argument: the address of argc
        "bl {enter}",   // link register: the brk below
        "brk #1",       // never reached: enter does not return
        enter = sym enter,
    )
}

#[cfg(target_arch = "arm")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "mov fp, #0", // frame pointer (r11) 0: the outermost frame
        "mov r0, sp", // first argument: the address of argc
        "bl {enter}", // link register: the udf below
        "udf #0",     // never reached: enter does not return
        enter = sym enter,
    )
}

#[cfg(target_arch = "riscv64")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "mv fp, zero",  // frame pointer (s0) 0: the outermost frame
        "mv a0, sp",    // first argument: the address of argc
        "call {enter}", // return address register: the unimp below
        "unimp",        // never reached: enter does not return
        enter = sym enter,
    )
}

/// ELFv2's smallest stack frame: back chain, CR save, LR save and TOC save doublewords. A callee
/// stores its return address in its caller's frame (at 16 bytes), so `_start` needs one of its own.
#[cfg(target_arch = "powerpc64")]
const PPC64_MIN_FRAME: usize = 32;

// Code reaches globals through the TOC pointer in r2, which nobody has set yet: `_start` computes
// it from its own address before calling anything.
#[cfg(target_arch = "powerpc64")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "bcl 20, 31, 2f",               // branch always (BO 20, BI 31) and link: LR = label 2
        "2:",
        "mflr 12",                      // r12 = that address, known only at run time
        "addis 2, 12, (.TOC. - 2b)@ha", // r2 = the TOC: the high half of its distance from 2
        "addi 2, 2, (.TOC. - 2b)@l",    // and the low half
        "mr 3, 1",                      // first argument: the address of argc
        "li 0, 0",                      // r0 = 0, for the back chain
        "stdu 0, -{frame}(1)",          // our frame, below argc, its back chain 0: the outermost
        "bl {enter}",                   // LR: the nop below
        "nop",                          // the slot where the linker may put a TOC restore
        "trap",                         // never reached: enter does not return
        enter = sym enter,
        frame = const PPC64_MIN_FRAME,
    )
}

/// The s390x ELF ABI's register save area: every caller provides it, 160 bytes, at the stack
/// pointer, for the callee to store registers in.
#[cfg(target_arch = "s390x")]
const S390X_REGISTER_SAVE_AREA: usize = 160;

#[cfg(target_arch = "s390x")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "lgr %r2, %r15",           // first argument: the address of argc
        "aghi %r15, -{save_area}", // the save area enter writes into, below argc
        "lghi %r0, 0",             // r0 = 0, for the back chain
        "stg %r0, 0(%r15)",        // the save area's back chain 0: the outermost frame
        "brasl %r14, {enter}",     // r14: the return address, the invalid opcode below
        ".word 0",                 // never reached: enter does not return; opcode 0 is invalid
        enter = sym enter,
        save_area = const S390X_REGISTER_SAVE_AREA,
    )
}
