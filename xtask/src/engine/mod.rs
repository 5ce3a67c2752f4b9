//! A private Docker Engine for the bench and the docker suite ([`dockerd`]), in a network
//! namespace of its own ([`netns`]), with what stopping it cleanly takes: child processes stopped
//! without ever panicking ([`process`]) and the mount table ([`mounts`]).

pub mod dockerd;
pub mod mounts;
pub mod netns;
pub mod process;
