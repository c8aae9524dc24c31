//! Atomic multi-file writes with backups: the one place that replaces files.
//!
//! Every file is staged first (a temporary file in the target's directory, written, fsynced,
//! with the target's mode and owner), backups are written next, and only then are the staged
//! files renamed over their targets, in order. A failure before the first rename removes the
//! temporaries and leaves every file as it was; an interrupted run leaves each file either old
//! or new (rename is atomic), never truncated. `apply`, `rollback` and `env` write through it.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// A file to write.
#[derive(Debug, Clone)]
pub struct Target {
    /// Where.
    pub path: PathBuf,
    /// The new content.
    pub text: String,
    /// Holds secret values (`.env`): created 0600, never printed.
    pub secret: bool,
}

/// A point in [`commit`] where tests inject failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Every temporary file and backup is written; nothing renamed yet.
    Staged,
    /// Right before renaming target `i` (in target order).
    BeforeRename(usize),
}

/// How to commit.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// Write backups (`NAME.bak-<UTC timestamp>`) of files that exist.
    pub backup: bool,
    /// Directory for backups (default: beside each file).
    pub backup_dir: Option<PathBuf>,
    /// The timestamp used in backup names (default: now, UTC).
    pub timestamp: Option<String>,
}

/// What [`commit`] wrote for one target.
#[derive(Debug, Clone)]
pub struct Written {
    /// The file.
    pub path: PathBuf,
    /// Its backup, when it existed before.
    pub backup: Option<PathBuf>,
    /// Its mode.
    pub mode: u32,
    /// Bytes written.
    pub size: usize,
}

pub(crate) fn io_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// `YYYYMMDDTHHMMSSZ` for `secs` since the Unix epoch.
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Now, as [`format_utc`].
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format_utc(secs)
}

pub(crate) fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Mode, uid and gid of an existing regular file; `None` when absent. Refuses symlinks.
pub(crate) fn inspect(path: &Path) -> Result<Option<(u32, u32, u32)>, Error> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(io_err(
            path,
            "is a symlink; refusing to replace it (pass the real file with -f)",
        )),
        Ok(m) if !m.is_file() => Err(io_err(path, "exists and is not a regular file")),
        Ok(m) => Ok(Some(owner_mode(&m))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path, format!("cannot inspect: {e}"))),
    }
}

#[cfg(unix)]
fn owner_mode(m: &fs::Metadata) -> (u32, u32, u32) {
    use std::os::unix::fs::MetadataExt;
    (m.mode() & 0o7777, m.uid(), m.gid())
}

#[cfg(not(unix))]
fn owner_mode(_m: &fs::Metadata) -> (u32, u32, u32) {
    (0o644, 0, 0)
}

pub(crate) fn random_suffix() -> String {
    let mut b = [0u8; 8];
    rand::RngCore::fill_bytes(&mut crate::secrets::generate::os_rng(), &mut b);
    hex::encode(b)
}

/// Write `bytes` to a new file at `path` (must not exist) with `mode` and owner, fsynced.
pub(crate) fn write_new(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> Result<(), String> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Owner bits only until the content is complete.
        opts.mode(mode & 0o700);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    let result = (|| -> Result<(), String> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::{MetadataExt, PermissionsExt};
            if let Some((uid, gid)) = owner {
                let m = f.metadata().map_err(|e| e.to_string())?;
                if m.uid() != uid || m.gid() != gid {
                    std::os::unix::fs::fchown(&f, Some(uid), Some(gid))
                        .map_err(|e| format!("cannot keep the file's owner {uid}:{gid}: {e}"))?;
                }
            }
            f.set_permissions(fs::Permissions::from_mode(mode))
                .map_err(|e| format!("cannot set the file mode: {e}"))?;
        }
        #[cfg(not(unix))]
        let _ = (mode, owner);
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(path);
    }
    result
}

pub(crate) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// A free path `dir/BASE`, then `dir/BASE-2`, `dir/BASE-3`… (nothing is created).
pub fn free_path(dir: &Path, base: &str) -> PathBuf {
    let mut p = dir.join(base);
    let mut n = 2;
    while fs::symlink_metadata(&p).is_ok() {
        p = dir.join(format!("{base}-{n}"));
        n += 1;
    }
    p
}

/// A free backup path for `path` at `ts` (`NAME.bak-TS`, then `NAME.bak-TS-2`, …).
pub fn backup_path(path: &Path, dir: &Path, ts: &str) -> PathBuf {
    free_path(dir, &format!("{}.bak-{ts}", file_name(path)))
}

/// Where backups of `path` go.
pub fn backup_dir_for(path: &Path, backup_dir: Option<&Path>) -> PathBuf {
    backup_dir.map_or_else(|| dir_of(path), Path::to_path_buf)
}

/// The plan for each target: where its temporary and backup go.
struct Staged {
    tmp: PathBuf,
    backup: Option<PathBuf>,
    mode: u32,
    owner: Option<(u32, u32)>,
}

/// What would be written, without writing: (target, its backup path, mode, existed).
pub fn describe(targets: &[Target], opts: &CommitOptions) -> Result<Vec<Written>, Error> {
    let ts = opts.timestamp.clone().unwrap_or_else(utc_now);
    targets
        .iter()
        .map(|t| {
            let existing = inspect(&t.path)?;
            let backup = (opts.backup && existing.is_some()).then(|| {
                backup_path(
                    &t.path,
                    &backup_dir_for(&t.path, opts.backup_dir.as_deref()),
                    &ts,
                )
            });
            Ok(Written {
                path: t.path.clone(),
                backup,
                mode: existing.map_or(0o600, |e| e.0),
                size: t.text.len(),
            })
        })
        .collect()
}

/// Write every target or none: stage all (temp + fsync, mode and owner kept), write backups,
/// call `hook(Stage::Staged)`, then rename in order. `hook` returning an error before the
/// renames aborts with every file untouched (tests use it to inject failures).
pub fn commit(
    targets: &[Target],
    opts: &CommitOptions,
    hook: &mut dyn FnMut(Stage) -> Result<(), String>,
) -> Result<Vec<Written>, Error> {
    let ts = opts.timestamp.clone().unwrap_or_else(utc_now);
    let mut staged: Vec<Staged> = Vec::new();
    let cleanup = |staged: &[Staged]| {
        for s in staged {
            let _ = fs::remove_file(&s.tmp);
            if let Some(b) = &s.backup {
                let _ = fs::remove_file(b);
            }
        }
    };
    let result = (|| -> Result<(), Error> {
        for t in targets {
            let existing = inspect(&t.path)?;
            let (mode, owner) = match existing {
                Some((m, u, g)) => (m, Some((u, g))),
                None if t.secret => (0o600, None),
                None => (0o644, None),
            };
            let dir = dir_of(&t.path);
            let tmp = dir.join(format!(".{}.tmp-{}", file_name(&t.path), random_suffix()));
            write_new(&tmp, t.text.as_bytes(), mode, owner).map_err(|m| io_err(&t.path, m))?;
            staged.push(Staged {
                tmp,
                backup: None,
                mode,
                owner,
            });
            if opts.backup && existing.is_some() {
                let bdir = backup_dir_for(&t.path, opts.backup_dir.as_deref());
                fs::create_dir_all(&bdir).map_err(|e| {
                    io_err(&bdir, format!("cannot create the backup directory: {e}"))
                })?;
                let b = backup_path(&t.path, &bdir, &ts);
                let old = fs::read(&t.path)
                    .map_err(|e| io_err(&t.path, format!("cannot read for the backup: {e}")))?;
                // A secrets file's backup is readable by its owner only, whatever its mode.
                let bmode = if t.secret { 0o600 } else { mode };
                write_new(&b, &old, bmode, owner).map_err(|m| io_err(&t.path, m))?;
                if let Some(s) = staged.last_mut() {
                    s.backup = Some(b);
                }
            }
        }
        hook(Stage::Staged).map_err(|m| Error::Io {
            path: "apply".into(),
            message: format!("aborted after staging: {m}"),
        })?;
        // The targets may have changed since they were inspected: check again.
        for t in targets {
            inspect(&t.path)?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        cleanup(&staged);
        return Err(e);
    }
    let mut done: Vec<Written> = Vec::new();
    for (i, (t, s)) in targets.iter().zip(&staged).enumerate() {
        let renamed = hook(Stage::BeforeRename(i))
            .and_then(|()| fs::rename(&s.tmp, &t.path).map_err(|e| e.to_string()));
        if let Err(m) = renamed {
            // Undo the renames already done from their backups, then drop the rest.
            let mut undo_failed = Vec::new();
            for (w, st) in done.iter().zip(&staged) {
                if !restore(&w.path, st.backup.as_deref(), st.mode, st.owner) {
                    undo_failed.push(w.path.display().to_string());
                }
            }
            for st in &staged[i..] {
                let _ = fs::remove_file(&st.tmp);
            }
            if undo_failed.is_empty() {
                // Every file is as it was: this run's backups are not needed.
                for st in &staged {
                    if let Some(b) = &st.backup {
                        let _ = fs::remove_file(b);
                    }
                }
            }
            let mut message = format!("cannot replace the file: {m}");
            if !done.is_empty() {
                if undo_failed.is_empty() {
                    message
                        .push_str("; the files already replaced were restored from their backups");
                } else {
                    message.push_str(&format!(
                        "; could not restore {} (use `compose-harden rollback`)",
                        undo_failed.join(", ")
                    ));
                }
            }
            return Err(io_err(&t.path, message));
        }
        done.push(Written {
            path: t.path.clone(),
            backup: s.backup.clone(),
            mode: s.mode,
            size: t.text.len(),
        });
    }
    let mut dirs: Vec<PathBuf> = targets.iter().map(|t| dir_of(&t.path)).collect();
    dirs.dedup();
    for d in dirs {
        sync_dir(&d);
    }
    Ok(done)
}

/// Put `backup`'s content back at `path` atomically; `false` when impossible.
pub(crate) fn restore(
    path: &Path,
    backup: Option<&Path>,
    mode: u32,
    owner: Option<(u32, u32)>,
) -> bool {
    let Some(b) = backup else {
        // The file did not exist before.
        return fs::remove_file(path).is_ok();
    };
    let Ok(bytes) = fs::read(b) else {
        return false;
    };
    let tmp = dir_of(path).join(format!(".{}.tmp-{}", file_name(path), random_suffix()));
    write_new(&tmp, &bytes, mode, owner).is_ok() && fs::rename(&tmp, path).is_ok()
}

/// Backups of `path` in `dir`, newest first.
pub fn backups(path: &Path, backup_dir: Option<&Path>) -> Vec<PathBuf> {
    let dir = backup_dir_for(path, backup_dir);
    let prefix = format!("{}.bak-", file_name(path));
    let mut found: Vec<(String, u32, PathBuf)> = fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let rest = name.strip_prefix(&prefix)?;
            let (ts, n) = match rest.split_once('-') {
                Some((ts, n)) => (ts, n.parse().ok()?),
                None => (rest, 1),
            };
            let ok = ts.len() == 16
                && ts.ends_with('Z')
                && ts.as_bytes()[8] == b'T'
                && ts
                    .bytes()
                    .enumerate()
                    .all(|(i, b)| i == 8 || i == 15 || b.is_ascii_digit());
            ok.then(|| (ts.to_string(), n, e.path()))
        })
        .collect();
    found.sort();
    found.into_iter().rev().map(|(_, _, p)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_format() {
        assert_eq!(format_utc(0), "19700101T000000Z");
        assert_eq!(format_utc(1_700_000_000), "20231114T221320Z");
        assert_eq!(format_utc(951_782_400), "20000229T000000Z");
    }

    #[test]
    fn backups_sorted_newest_first() {
        let d = tempfile::tempdir().expect("tempdir");
        let f = d.path().join("c.yml");
        for n in [
            "c.yml.bak-20240101T000000Z",
            "c.yml.bak-20250101T000000Z",
            "c.yml.bak-20250101T000000Z-2",
            "c.yml.bak-junk",
            "x.yml.bak-20990101T000000Z",
        ] {
            fs::write(d.path().join(n), "x").expect("write");
        }
        let b: Vec<String> = backups(&f, None).iter().map(|p| file_name(p)).collect();
        assert_eq!(
            b,
            [
                "c.yml.bak-20250101T000000Z-2",
                "c.yml.bak-20250101T000000Z",
                "c.yml.bak-20240101T000000Z"
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn secret_backup_is_0600_whatever_the_file_mode() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join(".env");
        fs::write(&p, "A=1\n").expect("write");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).expect("chmod");
        let opts = CommitOptions {
            backup: true,
            ..CommitOptions::default()
        };
        let t = Target {
            path: p.clone(),
            text: "A=2\n".into(),
            secret: true,
        };
        let w = commit(&[t], &opts, &mut |_| Ok(())).expect("commit");
        let b = w[0].backup.clone().expect("backup");
        assert_eq!(fs::read_to_string(&b).expect("read"), "A=1\n");
        let mode = |p: &Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&b), 0o600);
        assert_eq!(mode(&p), 0o644, "the file keeps its own mode");
    }
}
