//! The record `apply` leaves next to its backups: every file it wrote (Compose files,
//! provisioning files, `.env`, `.gitignore`) with its hash before and after and its backup, the
//! profile and the hash of the diff it applied. `rollback` reads it to restore all of them
//! together and to refuse when a file changed since.
//!
//! TOML, one file per apply: `compose-harden-apply-<UTC>.toml` in the backup directory of the
//! first Compose file (beside it, or `--backup-dir`). Paths are relative to the first Compose
//! file's directory when inside it (the project can move), absolute otherwise.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic::{self, io_err};
use crate::error::Error;

/// Manifest file names start with this.
pub const PREFIX: &str = "compose-harden-apply-";

/// What a written file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A Compose file.
    Compose,
    /// A profile `[[files]]` entry (e.g. Grafana provisioning).
    Provisioning,
    /// The `.env` with the secret values.
    Env,
    /// The `.gitignore` `--gitignore` extended.
    Gitignore,
}

/// One file `apply` wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Entry {
    /// The file (see the module doc for how paths are written).
    pub path: String,
    /// What it is.
    pub kind: Kind,
    /// SHA-256 of the content before `apply`; absent when `apply` created the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_sha256: Option<String>,
    /// SHA-256 of the content `apply` wrote.
    pub after_sha256: String,
    /// The backup of the previous content; absent when `apply` created the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
}

/// What `rollback` did with this apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RolledBack {
    /// When (UTC).
    pub at: String,
    /// Whether `--force` restored files that had changed since `apply`.
    pub forced: bool,
    /// Where the state before the rollback was kept (one backup per file).
    #[serde(default)]
    pub kept: Vec<String>,
}

/// One apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Manifest {
    /// Format version (1).
    pub format: u32,
    /// The tool and version that wrote it.
    pub tool: String,
    /// When `apply` ran (UTC, `YYYYMMDDTHHMMSSZ`).
    pub applied: String,
    /// The profile as given (built-in name or path).
    pub profile: String,
    /// SHA-256 of the profile's text (and what it extends).
    pub profile_sha256: String,
    /// SHA-256 of the diff applied (the `--patch` file, or the diff `diff` prints).
    pub diff_sha256: String,
    /// The `--patch` file, when one was applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    /// Set once `rollback` restored this apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back: Option<RolledBack>,
    /// Every file written, in write order.
    pub files: Vec<Entry>,
}

fn canonical_parent(p: &Path) -> Option<PathBuf> {
    let parent = atomic::dir_of(p);
    let name = p.file_name()?;
    Some(fs::canonicalize(parent).ok()?.join(name))
}

/// `path` as written in a manifest of the project in `project` (see the module doc).
pub fn relative(project: &Path, path: &Path) -> String {
    let abs = canonical_parent(path).unwrap_or_else(|| path.to_path_buf());
    match fs::canonicalize(project) {
        Ok(base) => match abs.strip_prefix(&base) {
            Ok(rel) => rel.to_string_lossy().into_owned(),
            Err(_) => abs.to_string_lossy().into_owned(),
        },
        Err(_) => abs.to_string_lossy().into_owned(),
    }
}

/// A manifest path back to a file path, for the project in `project`.
pub fn resolve(project: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() || project == Path::new(".") {
        p.to_path_buf()
    } else {
        project.join(p)
    }
}

/// Serialize `m`.
pub fn to_text(m: &Manifest) -> String {
    let body = toml::to_string(m).unwrap_or_default();
    format!("# compose-harden apply manifest: `compose-harden rollback` reads it; keep it with the backups it names.\n{body}")
}

/// Read the manifest at `path`.
pub fn load(path: &Path) -> Result<Manifest, Error> {
    let text = fs::read_to_string(path).map_err(|e| io_err(path, format!("cannot read: {e}")))?;
    toml::from_str(&text).map_err(|e: toml::de::Error| {
        io_err(
            path,
            format!(
                "not an apply manifest this version reads: {}",
                e.message().trim()
            ),
        )
    })
}

/// Manifests in `dir`, newest first (names sort by their UTC timestamp).
pub fn list(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<(String, u32, PathBuf)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let rest = name.strip_prefix(PREFIX)?.strip_suffix(".toml")?;
            let (ts, n) = match rest.split_once('-') {
                Some((ts, n)) => (ts, n.parse().ok()?),
                None => (rest, 1),
            };
            (ts.len() == 16 && ts.ends_with('Z')).then(|| (ts.to_string(), n, e.path()))
        })
        .collect();
    v.sort();
    v.into_iter().rev().map(|(_, _, p)| p).collect()
}

/// A free manifest path in `dir` for timestamp `ts`.
pub fn new_path(dir: &Path, ts: &str) -> PathBuf {
    // `free_path` adds `-2`… after the whole name; keep `.toml` last instead.
    let mut p = dir.join(format!("{PREFIX}{ts}.toml"));
    let mut n = 2;
    while fs::symlink_metadata(&p).is_ok() {
        p = dir.join(format!("{PREFIX}{ts}-{n}.toml"));
        n += 1;
    }
    p
}

/// Write `m` at `path` atomically (replacing an older version of it).
pub fn save(path: &Path, m: &Manifest) -> Result<(), Error> {
    let t = atomic::Target {
        path: path.to_path_buf(),
        text: to_text(m),
        secret: false,
    };
    atomic::commit(&[t], &atomic::CommitOptions::default(), &mut |_| Ok(()))?;
    Ok(())
}

/// SHA-256 (hex) of a file's bytes; `None` when it does not exist.
pub fn file_sha256(path: &Path) -> Result<Option<String>, Error> {
    use sha2::Digest;
    match fs::read(path) {
        Ok(b) => Ok(Some(hex::encode(sha2::Sha256::digest(&b)))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path, format!("cannot read: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_listing() {
        let d = tempfile::tempdir().expect("tempdir");
        let m = Manifest {
            format: 1,
            tool: "compose-harden test".into(),
            applied: "20250101T000000Z".into(),
            profile: "openbmp".into(),
            profile_sha256: "p".into(),
            diff_sha256: "d".into(),
            patch: None,
            rolled_back: Some(RolledBack {
                at: "20250101T000001Z".into(),
                forced: false,
                kept: vec!["x.bak".into()],
            }),
            files: vec![Entry {
                path: ".env".into(),
                kind: Kind::Env,
                before_sha256: None,
                after_sha256: "a".into(),
                backup: None,
            }],
        };
        let p = new_path(d.path(), &m.applied);
        save(&p, &m).expect("save");
        assert_eq!(load(&p).expect("load"), m);
        let p2 = new_path(d.path(), &m.applied);
        assert!(p2.to_string_lossy().ends_with("-2.toml"));
        save(&p2, &m).expect("save");
        save(&new_path(d.path(), "20240101T000000Z"), &m).expect("save");
        let names: Vec<String> = list(d.path())
            .iter()
            .map(|p| atomic::file_name(p))
            .collect();
        assert_eq!(
            names,
            [
                "compose-harden-apply-20250101T000000Z-2.toml",
                "compose-harden-apply-20250101T000000Z.toml",
                "compose-harden-apply-20240101T000000Z.toml"
            ]
        );
    }
}
