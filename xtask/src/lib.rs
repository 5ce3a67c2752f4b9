//! The project's automation, as a library so that the test suites share its platform table,
//! paths and image code instead of restating them.

pub mod archive;
pub mod auth;
pub mod blob;
pub mod build;
pub mod config;
pub mod definition;
pub mod dockerd;
pub mod epoch;
pub mod image;
pub mod index;
pub mod layer;
pub mod layout;
pub mod manifest;
pub mod mounts;
pub mod netns;
pub mod platform;
pub mod prerequisites;
pub mod process;
pub mod project;
pub mod push;
pub mod registry_client;
pub mod registry_error;
pub mod retry;
pub mod tarball;
pub mod test;
