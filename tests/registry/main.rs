//! `cargo xtask push` against real registries on loopback, one module per behaviour: Debian's
//! docker-registry plain, with htpasswd over TLS and in token mode behind a token server of the
//! suite's own; the credentials users have; retries; the attestations a signed push attaches; the
//! command line (help, version, usage errors, exit statuses, Ctrl-C) and what the push prints (its
//! result, progress and metadata); and ferro-oci-server, which has the OCI 1.1 referrers API.

mod basic_auth;
mod cli;
mod command_line;
mod credentials;
mod plain;
mod push_output;
mod pushed;
mod referrers;
mod referrers_api;
mod retries;
mod token_auth;
mod xtask_push;
