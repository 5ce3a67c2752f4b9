//! Hostile input is normal input: each module plays one kind of attacker or careless user against
//! the real `cargo xtask` commands, with servers of the suite's own on loopback addresses only
//! (127.0.0.1 the registry, 127.0.0.2 a CDN, 127.0.0.3 a thief).

mod credentials;
mod escapes;
mod layout_reads;
mod network_reads;
mod out_dir;
mod secrets;
mod small_holes;
