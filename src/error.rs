//! Errors the tool reports; each says where (file:line:col when the input has a position) and
//! what to do. All of them exit with code 2.

use crate::profile::ProfileError;

/// A failure that stops processing of a file or of the whole run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What happened.
        message: String,
    },
    /// The input is not a valid YAML/Compose file.
    #[error("{path}:{line}:{col}: {message}")]
    Input {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What is wrong.
        message: String,
    },
    /// A bad profile.
    #[error("{0}")]
    Profile(#[from] ProfileError),
    /// Bad command-line usage.
    #[error("{0}")]
    Usage(String),
    /// A fix failed verification: a bug in compose-harden; nothing was written.
    #[error(
        "{path}:{line}:{col}: {rule}: {message}\n  (this is a bug in compose-harden: the fix was dropped and nothing was written; please report it)"
    )]
    Verify {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// The rule whose fix failed.
        rule: String,
        /// Details.
        message: String,
    },
}
