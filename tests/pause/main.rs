//! The pause binary itself, on every platform (natively or under qemu-user), before any image or
//! runtime: what it does when run, as PID 1 and not, and the shape of its ELF file.

mod behaviour;
