//! Is the `.env` about to hold secrets ignored by git? Asked only inside a git work tree, with
//! git itself (`git check-ignore`), so every ignore source (nested `.gitignore`s,
//! `.git/info/exclude`, `core.excludesFile`) counts; `--gitignore` adds the entries.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What git says about a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Not inside a git work tree (or git is not installed): nothing to say.
    NoRepo,
    /// Ignored.
    Ignored,
    /// Not ignored: `git add .` would commit it.
    NotIgnored,
    /// Already tracked: its content is (or will be) in the history.
    Tracked,
}

fn git(dir: &Path, args: &[&str]) -> Option<(i32, String)> {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    Some((
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).trim().to_string(),
    ))
}

/// What git says about `path` (which need not exist yet).
pub fn status(path: &Path) -> Status {
    let dir = crate::atomic::dir_of(path);
    let name = crate::atomic::file_name(path);
    match git(&dir, &["rev-parse", "--is-inside-work-tree"]) {
        Some((0, out)) if out == "true" => {}
        _ => return Status::NoRepo,
    }
    if matches!(
        git(&dir, &["ls-files", "--error-unmatch", "--", &name]),
        Some((0, _))
    ) {
        return Status::Tracked;
    }
    match git(&dir, &["check-ignore", "-q", "--", &name]) {
        Some((0, _)) => Status::Ignored,
        Some((1, _)) => Status::NotIgnored,
        _ => Status::NoRepo,
    }
}

/// The warning for `path`'s status, `None` when there is nothing to say.
pub fn warning(path: &Path, st: Status) -> Option<String> {
    let p = path.display();
    match st {
        Status::NoRepo | Status::Ignored => None,
        Status::NotIgnored => Some(format!(
            "{p} is not ignored by git: it holds secrets and `git add .` would commit it; pass --gitignore to add it (and its backups) to .gitignore"
        )),
        Status::Tracked => Some(format!(
            "{p} is tracked by git: its secrets go into the repository history; run `git rm --cached {p}`, add it to .gitignore (--gitignore), and rotate the values that were committed"
        )),
    }
}

/// The `.gitignore` beside `path` and its new text with `/NAME` and `/NAME.bak-*` added
/// (`None` when both lines are there already).
pub fn add_entries(path: &Path) -> Result<Option<(PathBuf, String)>, crate::error::Error> {
    let name = crate::atomic::file_name(path);
    let gi = crate::atomic::dir_of(path).join(".gitignore");
    let old = match std::fs::read_to_string(&gi) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(crate::atomic::io_err(&gi, format!("cannot read: {e}")));
        }
    };
    let want = [format!("/{name}"), format!("/{name}.bak-*")];
    let missing: Vec<&String> = want
        .iter()
        .filter(|w| !old.lines().any(|l| l.trim() == w.as_str()))
        .collect();
    if missing.is_empty() {
        return Ok(None);
    }
    let mut new = old.clone();
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str("# secrets written by compose-harden\n");
    for m in missing {
        new.push_str(m);
        new.push('\n');
    }
    Ok(Some((gi, new)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_added_once() {
        let d = tempfile::tempdir().expect("tempdir");
        let env = d.path().join(".env");
        std::fs::write(d.path().join(".gitignore"), "target").expect("write");
        let (gi, text) = add_entries(&env).expect("ok").expect("something to add");
        assert_eq!(gi, d.path().join(".gitignore"));
        assert_eq!(
            text,
            "target\n# secrets written by compose-harden\n/.env\n/.env.bak-*\n"
        );
        std::fs::write(&gi, &text).expect("write");
        assert!(add_entries(&env).expect("ok").is_none());
    }

    #[test]
    fn status_inside_and_outside_a_work_tree() {
        let d = tempfile::tempdir().expect("tempdir");
        let env = d.path().join(".env");
        if git(d.path(), &["init", "-q"]).is_none_or(|(c, _)| c != 0) {
            eprintln!("SKIPPED: git is not installed");
            return;
        }
        assert_eq!(status(&env), Status::NotIgnored);
        let (gi, text) = add_entries(&env).expect("ok").expect("add");
        std::fs::write(gi, text).expect("write");
        assert_eq!(status(&env), Status::Ignored);
        assert!(warning(&env, Status::Ignored).is_none());
    }
}
