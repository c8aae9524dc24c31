//! `rollback`: undo the newest apply recorded in a manifest, every file together.
//!
//! Refuses when a file changed since that apply (its sha256 differs from the one recorded
//! after writing) unless `--force`; refuses always when a backup is missing or no longer holds
//! what the file was. The state before the rollback is kept as `NAME.bak-<UTC>` for every file
//! it touches (so `--force` loses nothing either). A file the apply created (a new `.env`) is
//! restored to absent by moving it aside to `NAME.bak-<UTC>`: its values may already be stored
//! in a data volume that was initialised with them. Backups made before manifests existed get
//! the old behaviour: the newest backup of each Compose file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::atomic::{self, backup_dir_for, commit, dir_of, io_err, CommitOptions, Target};
use crate::error::Error;
use crate::manifest::{self, Entry, Kind, Manifest};

/// Options of `rollback`.
#[derive(Debug, Clone, Default)]
pub struct RollbackOptions {
    /// The Compose files (the first one names the project and where the manifest is).
    pub files: Vec<PathBuf>,
    /// Where `apply --backup-dir` put the backups and the manifest.
    pub backup_dir: Option<PathBuf>,
    /// Restore even the files that changed since `apply` (they are backed up first).
    pub force: bool,
    /// How long to wait for another run on the same project.
    pub lock_timeout: Option<std::time::Duration>,
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// The manifests of the project whose first Compose file is `first`, newest first.
fn project_manifests(first: &Path, mdir: &Path) -> Result<Vec<(PathBuf, Manifest)>, Error> {
    let project = dir_of(first);
    let mut out = Vec::new();
    for p in manifest::list(mdir) {
        let m = manifest::load(&p)?;
        if m.files.iter().any(|e| {
            e.kind == Kind::Compose && same_file(&manifest::resolve(&project, &e.path), first)
        }) {
            out.push((p, m));
        }
    }
    Ok(out)
}

/// A file that no longer is what `apply` wrote.
struct Changed {
    path: PathBuf,
    now: Option<String>,
}

/// Run `rollback`; progress and the exact account of what was restored go to `err`.
pub fn run(o: &RollbackOptions, err: &mut dyn Write) -> Result<i32, Error> {
    let first = o
        .files
        .first()
        .ok_or_else(|| Error::Usage("no Compose file given".into()))?;
    let project = dir_of(first);
    let _lock = crate::lock::acquire(
        &project,
        "rollback",
        o.lock_timeout.unwrap_or(crate::lock::DEFAULT_TIMEOUT),
        err,
    )?;
    let mdir = backup_dir_for(first, o.backup_dir.as_deref());
    let found = project_manifests(first, &mdir)?;
    if found.is_empty() {
        return legacy(o, &mdir, err);
    }
    let Some((mpath, m)) = found.iter().find(|(_, m)| m.rolled_back.is_none()) else {
        let (p, m) = &found[0];
        return Err(io_err(
            first,
            format!(
                "nothing to roll back: every apply recorded in {} was rolled back already (the newest, {}, at {})",
                mdir.display(),
                p.display(),
                m.rolled_back.as_ref().map_or("?", |r| r.at.as_str())
            ),
        ));
    };
    let mut changed: Vec<Changed> = Vec::new();
    let mut broken: Vec<String> = Vec::new();
    for e in &m.files {
        let path = manifest::resolve(&project, &e.path);
        let now = manifest::file_sha256(&path)?;
        if now.as_deref() != Some(e.after_sha256.as_str()) {
            changed.push(Changed {
                path: path.clone(),
                now,
            });
        }
        if let Some(before) = &e.before_sha256 {
            let Some(b) = &e.backup else {
                broken.push(format!("{}: the manifest names no backup", path.display()));
                continue;
            };
            let b = manifest::resolve(&project, b);
            match manifest::file_sha256(&b)? {
                Some(h) if &h == before => {}
                Some(_) => broken.push(format!(
                    "{}: no longer holds what {} was before the apply",
                    b.display(),
                    path.display()
                )),
                None => broken.push(format!("{}: missing", b.display())),
            }
        }
    }
    if !broken.is_empty() {
        return Err(io_err(
            mpath,
            format!(
                "cannot roll back the apply of {}: {}; nothing was restored",
                m.applied,
                broken.join("; ")
            ),
        ));
    }
    if !changed.is_empty() && !o.force {
        let list: Vec<String> = changed
            .iter()
            .map(|c| match &c.now {
                Some(_) => format!("{} was edited", c.path.display()),
                None => format!("{} was removed", c.path.display()),
            })
            .collect();
        return Err(io_err(
            first,
            format!(
                "changed since the apply of {} ({}): {}; nothing was restored. Review the changes; `compose-harden rollback --force` restores every file anyway and keeps the current ones as NAME.bak-<UTC> first",
                m.applied,
                mpath.display(),
                list.join(", ")
            ),
        ));
    }
    restore(o, &project, mpath, m, &changed, err)
}

fn read_backup(project: &Path, e: &Entry) -> Result<String, Error> {
    let b = manifest::resolve(project, e.backup.as_deref().unwrap_or_default());
    let bytes = fs::read(&b).map_err(|x| io_err(&b, format!("cannot read: {x}")))?;
    String::from_utf8(bytes).map_err(|_| io_err(&b, "not UTF-8 text"))
}

/// Move a file `apply` created out of the way, to `to` (a rename, or copy + remove across
/// file systems).
fn move_aside(path: &Path, to: &Path) -> Result<(), Error> {
    if fs::rename(path, to).is_ok() {
        return Ok(());
    }
    let bytes = fs::read(path).map_err(|e| io_err(path, format!("cannot read: {e}")))?;
    let (mode, owner) = match atomic::inspect(path)? {
        Some((m, u, g)) => (m, Some((u, g))),
        None => return Ok(()),
    };
    atomic::write_new(to, &bytes, mode, owner).map_err(|m| io_err(to, m))?;
    fs::remove_file(path).map_err(|e| io_err(path, format!("cannot remove: {e}")))
}

fn restore(
    o: &RollbackOptions,
    project: &Path,
    mpath: &Path,
    m: &Manifest,
    changed: &[Changed],
    err: &mut dyn Write,
) -> Result<i32, Error> {
    let ts = atomic::utc_now();
    let is_changed = |p: &Path| changed.iter().any(|c| c.path == p);
    let mut targets: Vec<Target> = Vec::new();
    let mut restored: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut created: Vec<&Entry> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    // Compose files first: the stack reads them; .env and provisioning after.
    let mut order: Vec<&Entry> = m.files.iter().collect();
    order.sort_by_key(|e| match e.kind {
        Kind::Compose => 0,
        Kind::Provisioning => 1,
        Kind::Env => 2,
        Kind::Gitignore => 3,
    });
    for e in order {
        let path = manifest::resolve(project, &e.path);
        let Some(before) = &e.before_sha256 else {
            created.push(e);
            continue;
        };
        if manifest::file_sha256(&path)?.as_deref() == Some(before.as_str()) {
            lines.push(format!(
                "{} already has its content from before the apply: left as is",
                path.display()
            ));
            continue;
        }
        targets.push(Target {
            path: path.clone(),
            text: read_backup(project, e)?,
            secret: e.kind == Kind::Env,
        });
        restored.push((
            path,
            manifest::resolve(project, e.backup.as_deref().unwrap_or_default()),
        ));
    }
    let opts = CommitOptions {
        backup: true,
        backup_dir: o.backup_dir.clone(),
        timestamp: Some(ts.clone()),
    };
    let written = commit(&targets, &opts, &mut |_| Ok(()))?;
    let mut kept: Vec<String> = Vec::new();
    for ((path, from), w) in restored.iter().zip(&written) {
        let forced = if is_changed(path) {
            " (it had changed since the apply: restored because of --force)"
        } else {
            ""
        };
        let k = w
            .backup
            .as_ref()
            .map(|b| {
                format!(
                    "; the version before this rollback is kept as {}",
                    b.display()
                )
            })
            .unwrap_or_default();
        if let Some(b) = &w.backup {
            kept.push(manifest::relative(project, b));
        }
        lines.push(format!(
            "restored {} from {}{forced}{k}",
            path.display(),
            from.display()
        ));
    }
    for e in created {
        let path = manifest::resolve(project, &e.path);
        if atomic::inspect(&path)?.is_none() {
            lines.push(format!(
                "{} (created by the apply) is already gone",
                path.display()
            ));
            continue;
        }
        let to = atomic::backup_path(&path, &backup_dir_for(&path, o.backup_dir.as_deref()), &ts);
        if let Some(d) = to.parent() {
            fs::create_dir_all(d)
                .map_err(|x| io_err(d, format!("cannot create the backup directory: {x}")))?;
        }
        move_aside(&path, &to)?;
        kept.push(manifest::relative(project, &to));
        let why = if e.kind == Kind::Env {
            ": its values stay there (mode 0600) in case a service was initialised with them"
        } else {
            ""
        };
        lines.push(format!(
            "removed {} (the apply created it), moved to {}{why}",
            path.display(),
            to.display()
        ));
    }
    let mut done = m.clone();
    done.rolled_back = Some(manifest::RolledBack {
        at: ts,
        forced: !changed.is_empty(),
        kept,
    });
    for l in &lines {
        let _ = writeln!(err, "{l}");
    }
    match manifest::save(mpath, &done) {
        Ok(()) => {
            let _ = writeln!(
                err,
                "rolled back the apply of {} (profile {}); recorded in {}",
                m.applied,
                m.profile,
                mpath.display()
            );
        }
        Err(e) => {
            let _ = writeln!(
                err,
                "warning: the files are restored but {} could not be updated ({e}); a second rollback would refuse (the files no longer match that apply)",
                mpath.display()
            );
        }
    }
    Ok(0)
}

/// Backups without a manifest (written before manifests existed): the newest backup of each
/// Compose file, as before.
fn legacy(o: &RollbackOptions, mdir: &Path, err: &mut dyn Write) -> Result<i32, Error> {
    let pairs = crate::apply::rollback(&o.files, o.backup_dir.as_deref())?;
    let _ = writeln!(
        err,
        "note: no apply manifest in {} (these backups predate them): restoring the newest backup of each Compose file only; .env and the profile's [[files]] are left as they are (restore those from their .bak- files by hand)",
        mdir.display()
    );
    for (f, b) in pairs {
        let _ = writeln!(err, "restored {} from {}", f.display(), b.display());
    }
    Ok(0)
}
