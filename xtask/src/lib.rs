//! The project's automation, as a library so that the test suites share its platform table,
//! paths and image code instead of restating them.

pub mod build;
pub mod platform;
pub mod project;
