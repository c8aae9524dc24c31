//! `apply` and `rollback`: write exactly the reviewed change, atomically, with backups.
//!
//! Every file is staged first (a temporary file in the target's directory, written, fsynced,
//! with the target's mode and owner), backups are written next, and only then are the staged
//! files renamed over their targets, `.env` first. A failure before the first rename removes the
//! temporaries and leaves every file as it was; an interrupted run leaves each file either old
//! or new (rename is atomic), never truncated.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use crate::atomic::{
    backup_dir_for, backups, commit, describe, format_utc, utc_now, CommitOptions, Stage, Target,
    Written,
};
use crate::atomic::{dir_of, file_name, io_err};
use crate::engine::{self, Plan};
use crate::error::Error;
use crate::patch;

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

/// The files of the project that are checked file by file (`.env` needs, the checklist): the
/// main and included files, not those read only as `extends` bases.
pub fn judged_files(plan: &Plan, files: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let project = engine::load_project(files, plan.max_size)?;
    Ok(project
        .files
        .into_iter()
        .filter(|f| f.role != crate::compose::merge::Role::Base)
        .map(|f| f.path)
        .collect())
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
        Ok(d) if crate::diff::strip_header(&d) == crate::diff::strip_header(patch_text) => {
            PatchOrigin::Exact
        }
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
    /// Add the `.env` (and its backups) to the `.gitignore` beside it.
    pub gitignore: bool,
    /// How long to wait for another run on the same project (default
    /// [`crate::lock::DEFAULT_TIMEOUT`]).
    pub lock_timeout: Option<std::time::Duration>,
    /// `--select` as given (recorded in the diff header the manifest hashes).
    pub select: Vec<String>,
    /// `--ignore` as given.
    pub ignore: Vec<String>,
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
    let project = crate::lock::project_dir(first);
    // A second run waits here, then reads the files the first one wrote.
    let _lock = if o.dry_run {
        None
    } else {
        Some(crate::lock::acquire(
            &project,
            "apply",
            o.lock_timeout.unwrap_or(crate::lock::DEFAULT_TIMEOUT),
            err,
        )?)
    };
    let (changes, diff_text) = match &o.patch {
        Some(p) => {
            let text = fs::read_to_string(p)
                .map_err(|e| io_err(p, format!("cannot read the patch: {e}")))?;
            let (changes, origin) = changes_from_patch(plan, &text, &o.files)?;
            let extra = extra_paths(plan, first);
            let members = project_files(plan, &o.files)?;
            for c in &changes {
                if !members.iter().chain(&extra).any(|f| same_file(f, &c.path)) {
                    return Err(Error::Usage(format!(
                        "--patch: {} is neither one of the Compose files ({}) nor a [[files]] entry of profile `{}`; pass the Compose file with -f, or the profile the diff was made with with --profile",
                        c.path.display(),
                        members
                            .iter()
                            .map(|f| f.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                        plan.profile.spec()
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
            (changes, text)
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
            let header = plan
                .profile
                .source
                .as_ref()
                .map(|s| crate::diff::profile_header(s, &o.select, &o.ignore))
                .unwrap_or_default();
            let body = fresh_diff(plan, &o.files)?;
            let text = if body.is_empty() {
                body
            } else {
                header + &body
            };
            (changes, text)
        }
    };
    // The Compose files as they will be (the main and included files of the project).
    let mut after: Vec<(String, String)> = Vec::new();
    for f in &judged_files(plan, &o.files)? {
        let d = f.to_string_lossy().into_owned();
        let text = match changes.iter().find(|c| same_file(&c.path, f)) {
            Some(c) => c.new.clone(),
            None => engine::read(f, &d, plan.max_size)?,
        };
        after.push((d, text));
    }
    let env_path = crate::env::default_path(first);
    let mut targets: Vec<Target> = Vec::new();
    let mut kinds: Vec<crate::manifest::Kind> = Vec::new();
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
            kinds.push(crate::manifest::Kind::Env);
        }
        env_report = Some(report);
    }
    let git_status = crate::gitignore::status(&env_path);
    if o.gitignore && o.env && git_status != crate::gitignore::Status::Ignored {
        if let Some((gi, text)) = crate::gitignore::add_entries(&env_path)? {
            targets.push(Target {
                path: gi,
                text,
                secret: false,
            });
            kinds.push(crate::manifest::Kind::Gitignore);
        }
    }
    for c in changes.iter().filter(|c| c.old != c.new) {
        targets.push(Target {
            path: c.path.clone(),
            text: c.new.clone(),
            secret: false,
        });
        kinds.push(if o.files.iter().any(|f| same_file(f, &c.path)) {
            crate::manifest::Kind::Compose
        } else {
            crate::manifest::Kind::Provisioning
        });
    }
    let ts = utc_now();
    let opts = CommitOptions {
        backup: true,
        backup_dir: o.backup_dir.clone(),
        timestamp: Some(ts.clone()),
    };
    if o.dry_run {
        dry_run(&targets, &opts, env_report.as_ref(), out)?;
        return Ok(0);
    }
    if targets.is_empty() {
        let _ = writeln!(err, "nothing to write: the files are already hardened");
    } else {
        let before: Vec<Option<String>> = targets
            .iter()
            .map(|t| crate::manifest::file_sha256(&t.path))
            .collect::<Result<_, _>>()?;
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
        let m = crate::manifest::Manifest {
            format: 1,
            tool: format!("compose-harden {}", env!("CARGO_PKG_VERSION")),
            applied: ts.clone(),
            profile: plan.profile.spec().to_string(),
            profile_sha256: plan
                .profile
                .source
                .as_ref()
                .map(|s| s.sha256.clone())
                .unwrap_or_default(),
            diff_sha256: crate::diff::sha256_hex(&diff_text),
            patch: o.patch.as_ref().map(|p| p.display().to_string()),
            rolled_back: None,
            files: targets
                .iter()
                .zip(&written)
                .zip(kinds.iter().zip(before))
                .map(|((t, w), (kind, before))| crate::manifest::Entry {
                    path: crate::manifest::relative(&project, &t.path),
                    kind: *kind,
                    before_sha256: before,
                    after_sha256: crate::diff::sha256_hex(&t.text),
                    backup: w
                        .backup
                        .as_ref()
                        .map(|b| crate::manifest::relative(&project, b)),
                })
                .collect(),
        };
        let mdir = backup_dir_for(first, o.backup_dir.as_deref());
        let mpath = crate::manifest::new_path(&mdir, &ts);
        match crate::manifest::save(&mpath, &m) {
            Ok(()) => {
                let _ = writeln!(
                    err,
                    "recorded this apply in {} (`compose-harden rollback` restores every file it lists)",
                    mpath.display()
                );
            }
            // The files are written and backed up: say so, and how to undo without it.
            Err(e) => {
                let _ = writeln!(
                    err,
                    "warning: the files are written but the apply manifest is not ({e}); `compose-harden rollback` will restore the Compose files from their newest backups only"
                );
            }
        }
    }
    if let Some(r) = &env_report {
        for w in &r.warnings {
            let _ = writeln!(err, "warning: {}: {w}", env_path.display());
        }
    }
    if o.env && !o.gitignore && env_path.exists() {
        if let Some(w) = crate::gitignore::warning(&env_path, git_status) {
            let _ = writeln!(err, "warning: {w}");
        }
    }
    let facts = crate::checklist::Facts {
        extra_files: extra_states(plan, first, &changes),
        ..crate::checklist::Facts::detect()
    };
    let md = crate::checklist::build_with(
        &plan.profile,
        &after,
        &env_path.display().to_string(),
        &facts,
    )?;
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

/// What happened to each profile `[[files]]` entry in this apply, for the checklist.
fn extra_states(
    plan: &Plan,
    first: &Path,
    changes: &[FileChange],
) -> Vec<(String, crate::checklist::ExtraState)> {
    use crate::checklist::ExtraState;
    plan.profile
        .files
        .iter()
        .zip(extra_paths(plan, first))
        .map(|(f, p)| {
            let state = if !p.exists() {
                ExtraState::NotFound
            } else if changes
                .iter()
                .any(|c| same_file(&c.path, &p) && c.old != c.new)
            {
                ExtraState::Rewritten
            } else {
                let text = fs::read_to_string(&p).unwrap_or_default();
                if f.secrets.values().all(|v| text.contains(&format!("${v}"))) {
                    ExtraState::AlreadyReads
                } else {
                    ExtraState::Unchanged
                }
            };
            (f.path.clone(), state)
        })
        .collect()
}

fn dry_run(
    targets: &[Target],
    opts: &CommitOptions,
    env_report: Option<&crate::env::EnvReport>,
    out: &mut dyn Write,
) -> Result<(), Error> {
    if targets.is_empty() {
        let _ = writeln!(out, "nothing to write: the files are already hardened");
    }
    for (t, w) in targets.iter().zip(describe(targets, opts)?) {
        let what = if t.secret {
            let added = env_report.map(|r| r.added.join(", ")).unwrap_or_default();
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
    Ok(())
}
