//! What the xtask asks on the controlling terminal: `password` (a cosign key's password, from
//! `COSIGN_PASSWORD` or typed) over `quiet_line` (one line read with the echo off, and the echo
//! restored however the wait ends). Part of the base layer.

pub mod password;
mod quiet_line;
