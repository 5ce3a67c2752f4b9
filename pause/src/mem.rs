//! The two memory routines the compiler emits calls to in unoptimised builds (array copies and
//! fills); with no libc, something must define them. The shipped, optimised build never calls them
//! and the linker drops them.
//!
//! Volatile accesses keep LLVM from recognising these loops as memcpy/memset and calling
//! themselves.

/// # Safety
/// As C's `memcpy`: `dest` and `src` valid for `len` bytes and not overlapping.
#[unsafe(no_mangle)]
unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, len: usize) -> *mut u8 {
    for offset in 0..len {
        // SAFETY: the caller guarantees both ranges are valid for `len` bytes.
        unsafe {
            dest.add(offset)
                .write_volatile(src.add(offset).read_volatile())
        };
    }
    dest
}

/// # Safety
/// As C's `memset`: `dest` valid for `len` bytes.
#[unsafe(no_mangle)]
unsafe extern "C" fn memset(dest: *mut u8, byte: i32, len: usize) -> *mut u8 {
    for offset in 0..len {
        // SAFETY: the caller guarantees the range is valid for `len` bytes; C passes the byte as int.
        unsafe { dest.add(offset).write_volatile(byte as u8) };
    }
    dest
}
