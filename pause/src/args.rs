//! The command line, read straight from the initial stack.

/// The arguments the kernel placed on the initial stack.
pub struct Argv {
    argc: usize,
    argv: *const *const u8,
}

/// pause.c compares with `strcasecmp`, so `-V` asks too.
const SHORT_VERSION: &[u8] = b"-v";
const LONG_VERSION: &[u8] = b"--version";

impl Argv {
    /// # Safety
    /// `stack` must point at `argc` on the initial process stack, followed by `argc` valid
    /// NUL-terminated argument pointers and a NULL.
    pub unsafe fn from_initial_stack(stack: *const usize) -> Self {
        // SAFETY: per this function's contract, `argc` is the first word and `argv` follows it.
        unsafe {
            Argv {
                argc: *stack,
                argv: stack.add(1).cast(),
            }
        }
    }

    /// Whether any argument after the program name is `-v` (any case) or `--version`.
    pub fn asks_for_version(&self) -> bool {
        // argc may be 0 (execve with an empty argv): then there is no program name to skip either.
        (1..self.argc).any(|index| {
            // SAFETY: `index < argc`, and the kernel guarantees argc valid pointers in argv.
            let arg = unsafe { *self.argv.add(index) };
            // SAFETY: the kernel guarantees every argument is NUL-terminated.
            unsafe {
                is(arg, SHORT_VERSION, u8::to_ascii_lowercase) || is(arg, LONG_VERSION, |b| *b)
            }
        })
    }
}

/// Whether the C string `arg`, each byte passed through `fold`, is exactly `expected`.
///
/// Walks the bytes itself: `CStr` would call libc's `strlen` and slice `==` libc's `bcmp`, and
/// neither exists here.
///
/// # Safety
/// `arg` must point at a NUL-terminated string; `expected` must not contain NUL.
unsafe fn is(arg: *const u8, expected: &[u8], fold: impl Fn(&u8) -> u8) -> bool {
    for (offset, wanted) in expected.iter().enumerate() {
        // SAFETY: every byte before this one matched a non-NUL byte of `expected`, so the string
        // has not ended before `offset`.
        if fold(unsafe { &*arg.add(offset) }) != *wanted {
            return false;
        }
    }
    // SAFETY: as above, the string is at least `expected.len()` bytes long before its NUL.
    unsafe { *arg.add(expected.len()) == 0 }
}
