//! `apply` and `rollback`: write exactly the reviewed change, atomically, with backups.
//!
//! Every file is staged first (a temporary file in the target's directory, written, fsynced,
//! with the target's mode and owner), backups are written next, and only then are the staged
//! files renamed over their targets, `.env` first. A failure before the first rename removes the
//! temporaries and leaves every file as it was; an interrupted run leaves each file either old
//! or new (rename is atomic), never truncated.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::engine::{self, Plan};
use crate::error::Error;
use crate::patch;

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

fn io_err(path: &Path, message: impl Into<String>) -> Error {
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

fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Mode, uid and gid of an existing regular file; `None` when absent. Refuses symlinks.
fn inspect(path: &Path) -> Result<Option<(u32, u32, u32)>, Error> {
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

fn random_suffix() -> String {
    let mut b = [0u8; 8];
    rand::RngCore::fill_bytes(&mut crate::secrets::generate::os_rng(), &mut b);
    hex::encode(b)
}

/// Write `bytes` to a new file at `path` (must not exist) with `mode` and owner, fsynced.
fn write_new(
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

fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// A free backup path for `path` at `ts` (`NAME.bak-TS`, then `NAME.bak-TS-2`, …).
fn backup_path(path: &Path, dir: &Path, ts: &str) -> PathBuf {
    let base = format!("{}.bak-{ts}", file_name(path));
    let mut p = dir.join(&base);
    let mut n = 2;
    while fs::symlink_metadata(&p).is_ok() {
        p = dir.join(format!("{base}-{n}"));
        n += 1;
    }
    p
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
                write_new(&b, &old, mode, owner).map_err(|m| io_err(&t.path, m))?;
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
fn restore(path: &Path, backup: Option<&Path>, mode: u32, owner: Option<(u32, u32)>) -> bool {
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

/// `rollback`: restore the newest backup of each file, all or none. Returns (file, backup).
pub fn rollback(
    files: &[PathBuf],
    backup_dir: Option<&Path>,
) -> Result<Vec<(PathBuf, PathBuf)>, Error> {
    let mut targets = Vec::new();
    let mut pairs = Vec::new();
    for f in files {
        let Some(b) = backups(f, backup_dir).into_iter().next() else {
            return Err(io_err(
                f,
                format!(
                    "no backup found (looked for {}.bak-<timestamp> in {})",
                    file_name(f),
                    backup_dir_for(f, backup_dir).display()
                ),
            ));
        };
        let bytes = fs::read(&b).map_err(|e| io_err(&b, format!("cannot read: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|_| io_err(&b, "not UTF-8 text"))?;
        targets.push(Target {
            path: f.clone(),
            text,
            secret: false,
        });
        pairs.push((f.clone(), b));
    }
    commit(&targets, &CommitOptions::default(), &mut |_| Ok(()))?;
    Ok(pairs)
}

/// A file `apply` changes.
#[derive(Debug, Clone)]
pub struct FileChange {
    /// The path.
    pub path: PathBuf,
    /// Current text.
    pub old: String,
    /// New text.
    pub new: String,
}

/// The changes the engine computes for the project whose main files are `files` (like
/// `diff`), one per project file; any error refuses the lot.
pub fn changes_from_plan(plan: &Plan, files: &[PathBuf]) -> Result<Vec<FileChange>, Error> {
    let project = engine::load_project(files, plan.max_size)?;
    let paths: Vec<PathBuf> = project.files.iter().map(|f| f.path.clone()).collect();
    let r = engine::process_project(plan, project);
    if let Some(e) = r.errors().into_iter().next() {
        return Err(e);
    }
    Ok(r.files
        .iter()
        .zip(paths)
        .map(|(f, path)| FileChange {
            path,
            old: f.input().to_string(),
            new: f.output.clone(),
        })
        .collect())
}

/// Every file of the project whose main files are `files` (included and `extends` files
/// too): the files `apply` may write.
pub fn project_files(plan: &Plan, files: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let project = engine::load_project(files, plan.max_size)?;
    Ok(project.files.into_iter().map(|f| f.path).collect())
}

/// The freshly computed diff of `files` (what `diff` prints, extra files included).
pub fn fresh_diff(plan: &Plan, files: &[PathBuf]) -> Result<String, Error> {
    let project = engine::load_project(files, plan.max_size)?;
    let mut out = engine::process_project(plan, project).diff();
    if let (Some(first), true) = (files.first(), plan.provisions()) {
        let (extra, _) =
            crate::provision::process(&plan.profile, &first.to_string_lossy(), plan.max_size)?;
        for p in extra {
            out.push_str(&p.diff());
        }
    }
    Ok(out)
}

/// The profile's extra files (`[[files]]`), relative to the first Compose file.
fn extra_paths(plan: &Plan, first: &Path) -> Vec<PathBuf> {
    let base = dir_of(first);
    plan.profile
        .files
        .iter()
        .map(|f| base.join(&f.path))
        .collect()
}

/// How a patch relates to what the tool computes now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOrigin {
    /// Byte for byte the diff `diff` prints now for these files and this profile.
    Exact,
    /// Differs (hand-edited, or made with another profile): applied because it applies strictly
    /// and the result parses.
    Edited,
}

/// Apply the unified diff `patch_text` strictly to the files it names (relative to the working
/// directory); every result must parse as YAML with a Compose shape. Nothing is written.
pub fn changes_from_patch(
    plan: &Plan,
    patch_text: &str,
    compose_files: &[PathBuf],
) -> Result<(Vec<FileChange>, PatchOrigin), Error> {
    let usage = |m: String| Error::Usage(format!("--patch: {m}"));
    let patches = patch::parse(patch_text).map_err(|e| usage(e.message))?;
    let hashes = crate::diff::recorded_hashes(patch_text);
    let mut out: Vec<FileChange> = Vec::new();
    for fp in &patches {
        if out.iter().any(|c| c.path == Path::new(&fp.path)) {
            return Err(usage(format!("{} appears twice in the patch", fp.path)));
        }
        let path = PathBuf::from(&fp.path);
        let old = engine::read(&path, &fp.path, plan.max_size)?;
        // The diff records the hash of the file it was made from: any change anywhere in the
        // file since then (not only inside a hunk) refuses the whole patch.
        if let Some((_, want)) = hashes.iter().find(|(p, _)| p == &fp.path) {
            if crate::diff::sha256_hex(&old) != *want {
                return Err(usage(format!(
                    "{} changed since the diff was made (its sha256 no longer matches the one recorded in the diff); nothing was written — make and review a new diff",
                    fp.path
                )));
            }
        }
        let new = patch::apply(&old, fp).map_err(|e| {
            usage(format!(
                "{} (the file changed since the diff was made, or the diff was edited; nothing was written)",
                e.message
            ))
        })?;
        let is_extra = compose_files
            .first()
            .is_some_and(|first| extra_paths(plan, first).iter().any(|e| same_file(e, &path)));
        if is_extra {
            crate::yaml::Yaml::parse(new.clone()).map_err(|e| {
                usage(format!(
                    "{}:{}:{}: the patched file is not valid YAML: {}",
                    fp.path, e.line, e.col, e.message
                ))
            })?;
        } else {
            engine::parse(new.clone(), &fp.path)
                .map_err(|e| usage(format!("the patched file is not a valid Compose file: {e}")))?;
        }
        out.push(FileChange { path, old, new });
    }
    let origin = match fresh_diff(plan, compose_files) {
        Ok(d) if d == patch_text => PatchOrigin::Exact,
        _ => PatchOrigin::Edited,
    };
    Ok((out, origin))
}

/// Options of the `apply` command.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// The Compose files (resolved like `docker compose` does).
    pub files: Vec<PathBuf>,
    /// Apply this reviewed diff instead of computing the fixes.
    pub patch: Option<PathBuf>,
    /// Write the `.env` the result needs (before the Compose files).
    pub env: bool,
    /// Backups go here instead of beside each file.
    pub backup_dir: Option<PathBuf>,
    /// Print what would be written; write nothing.
    pub dry_run: bool,
    /// Also write the checklist to this Markdown file.
    pub checklist: Option<PathBuf>,
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// `apply`: compute (or read from `--patch`) the change, stage `.env` and the files, commit
/// them all or none, print the checklist on `out`. Progress goes to `err`, never a value.
pub fn run(
    plan: &Plan,
    o: &ApplyOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, Error> {
    run_with_hook(plan, o, out, err, &mut |_| Ok(()))
}

/// [`run`] with a hook called at each commit [`Stage`] (tests inject failures with it).
pub fn run_with_hook(
    plan: &Plan,
    o: &ApplyOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
    hook: &mut dyn FnMut(Stage) -> Result<(), String>,
) -> Result<i32, Error> {
    let first = o
        .files
        .first()
        .ok_or_else(|| Error::Usage("no Compose file given".into()))?;
    let changes = match &o.patch {
        Some(p) => {
            let text = fs::read_to_string(p)
                .map_err(|e| io_err(p, format!("cannot read the patch: {e}")))?;
            let (changes, origin) = changes_from_patch(plan, &text, &o.files)?;
            let extra = extra_paths(plan, first);
            let members = project_files(plan, &o.files)?;
            for c in &changes {
                if !members.iter().chain(&extra).any(|f| same_file(f, &c.path)) {
                    return Err(Error::Usage(format!(
                        "--patch: {} is not one of the project's Compose files ({}); pass it with -f",
                        c.path.display(),
                        members
                            .iter()
                            .map(|f| f.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            }
            let _ = writeln!(
                err,
                "{}: {}",
                p.display(),
                match origin {
                    PatchOrigin::Exact => "matches the diff computed now from these files and this profile",
                    PatchOrigin::Edited => "differs from the diff computed now (edited, or made with another profile): applied as written because every hunk matches exactly and the result parses",
                }
            );
            changes
        }
        None => {
            let mut changes = changes_from_plan(plan, &o.files)?;
            if plan.provisions() {
                let (files, notes) = crate::provision::process(
                    &plan.profile,
                    &first.to_string_lossy(),
                    plan.max_size,
                )?;
                for n in notes {
                    let _ = writeln!(err, "{n}");
                }
                changes.extend(files.into_iter().map(|p| FileChange {
                    path: p.path,
                    old: p.old,
                    new: p.new,
                }));
            }
            changes
        }
    };
    // The Compose files as they will be (every file of the project).
    let mut after: Vec<(String, String)> = Vec::new();
    for f in &project_files(plan, &o.files)? {
        let d = f.to_string_lossy().into_owned();
        let text = match changes.iter().find(|c| same_file(&c.path, f)) {
            Some(c) => c.new.clone(),
            None => engine::read(f, &d, plan.max_size)?,
        };
        after.push((d, text));
    }
    let env_path = crate::env::default_path(first);
    let mut targets: Vec<Target> = Vec::new();
    let mut env_report = None;
    if o.env {
        let mut quiet = plan.profile.clone();
        quiet
            .rules
            .hardcoded_secret
            .get_or_insert_with(Default::default)
            .enabled = Some(false);
        let needs = crate::env::needs(&quiet, &after)?;
        let (report, text) = crate::env::prepare_env(
            &needs,
            &env_path,
            &crate::env::EnvOptions::default(),
            &mut crate::secrets::generate::os_rng(),
        )?;
        if let Some(text) = text {
            targets.push(Target {
                path: env_path.clone(),
                text,
                secret: true,
            });
        }
        env_report = Some(report);
    }
    for c in changes.iter().filter(|c| c.old != c.new) {
        targets.push(Target {
            path: c.path.clone(),
            text: c.new.clone(),
            secret: false,
        });
    }
    let opts = CommitOptions {
        backup: true,
        backup_dir: o.backup_dir.clone(),
        timestamp: None,
    };
    if o.dry_run {
        if targets.is_empty() {
            let _ = writeln!(out, "nothing to write: the files are already hardened");
        }
        for (t, w) in targets.iter().zip(describe(&targets, &opts)?) {
            let what = if t.secret {
                let added = env_report
                    .as_ref()
                    .map(|r| r.added.join(", "))
                    .unwrap_or_default();
                format!("; adds {added}; values not shown")
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "would write {} ({} bytes, mode {:04o}{what}){}",
                t.path.display(),
                w.size,
                w.mode,
                w.backup
                    .map(|b| format!(", backup {}", b.display()))
                    .unwrap_or_else(|| ", new file".into())
            );
        }
        return Ok(0);
    }
    if targets.is_empty() {
        let _ = writeln!(err, "nothing to write: the files are already hardened");
    } else {
        let written = commit(&targets, &opts, hook)?;
        for (t, w) in targets.iter().zip(&written) {
            let extra = match (&env_report, t.secret) {
                (Some(r), true) => format!(": added {} (values not shown)", r.added.join(", ")),
                _ => String::new(),
            };
            let _ = writeln!(
                err,
                "wrote {} ({} bytes, mode {:04o}){extra}{}",
                w.path.display(),
                w.size,
                w.mode,
                w.backup
                    .as_ref()
                    .map(|b| format!(", backup {}", b.display()))
                    .unwrap_or_default()
            );
        }
    }
    if let Some(r) = &env_report {
        for w in &r.warnings {
            let _ = writeln!(err, "warning: {}: {w}", env_path.display());
        }
    }
    let md = crate::checklist::build(&plan.profile, &after, &env_path.display().to_string())?;
    let _ = out.write_all(md.as_bytes());
    if let Some(p) = &o.checklist {
        commit(
            &[Target {
                path: p.clone(),
                text: md,
                secret: false,
            }],
            &CommitOptions::default(),
            &mut |_| Ok(()),
        )?;
        let _ = writeln!(err, "checklist written to {}", p.display());
    }
    Ok(0)
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
}
