//! Secrets: credential detection, value generation and `.env` files.
//!
//! Building blocks for the `hardcoded-secret` rule and `env`; nothing here parses
//! YAML, and only [`envfile`] touches the filesystem.
//!
//! - [`classify`]: does an environment key name a credential, is its value a
//!   literal secret, a `${VAR}` reference or a URL with an embedded password,
//!   and how is an init-only credential rotated.
//! - [`generate`]: fresh random values (base64 / hex / alnum) from a CSPRNG.
//! - [`envfile`]: atomic, 0600, symlink-refusing `.env` writes.
//! - [`dotenv`]: a lossless `.env` model following Docker Compose's rules,
//!   plus a value encoder that Compose reads back exactly.

pub mod classify;
pub mod dotenv;
pub mod envfile;
pub mod generate;
