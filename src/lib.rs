//! compose-harden: harden Docker Compose stacks with lossless, verified, reviewable edits.
//!
//! The layers, bottom up: [`yaml`] (spanned tree, edits, verification; knows nothing of
//! Compose), [`compose`] (services and merge keys), [`rules`] (find problems, propose fixes),
//! [`engine`] (one file: parse, run rules, [`suppress`], apply, verify), [`report`] (the only code
//! that prints findings), [`cli`].

pub mod apply;
pub mod atomic;
pub mod checklist;
pub mod cli;
pub mod compose;
pub mod diff;
pub mod engine;
pub mod env;
pub mod error;
pub mod firewall;
pub mod gitignore;
pub mod init;
pub mod lock;
pub mod manifest;
pub mod patch;
pub mod profile;
pub mod provision;
pub mod report;
pub mod rollback;
pub mod rules;
pub mod secrets;
pub mod suppress;
pub mod yaml;
