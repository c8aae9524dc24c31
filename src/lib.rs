//! compose-harden: harden Docker Compose stacks with lossless, verified, reviewable edits.

pub mod compose;
pub mod secrets;
