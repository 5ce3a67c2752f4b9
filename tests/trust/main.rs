//! What the image's signatures and attestations prove, checked by verifiers this project did not
//! write and by `cargo xtask verify`, each also shown refusing; and the promises that hold under
//! hostile input, through the real commands; and the release workflow's rules for who may sign.

mod attestation;
mod attested_push;
mod cosign;
mod hostile;
mod release_workflow;
mod verify;
mod verify_output;
