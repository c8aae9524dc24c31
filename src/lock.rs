//! An advisory lock on the project directory for the commands that write (`apply`, `rollback`,
//! `env`): a second run waits a bounded time, then fails naming the holder.
//!
//! The lock is `flock` on the directory itself (std `File::lock`), so no lock file can go
//! stale: the kernel releases it when the process exits, however it exits. While it is held, a
//! small holder note (`.compose-harden.lock`: pid, command, start time) lets a waiting run say
//! who holds it; the note is removed on release.

use std::fs::{self, File, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::Error;

/// The holder note's file name, in the locked directory.
pub const HOLDER_NOTE: &str = ".compose-harden.lock";

/// Default time a run waits for another one to finish.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A held lock; released on drop.
#[derive(Debug)]
pub struct ProjectLock {
    dir: PathBuf,
    _file: File,
}

impl Drop for ProjectLock {
    fn drop(&mut self) {
        // Remove the note before the lock goes (the file closes after this body).
        let _ = fs::remove_file(self.dir.join(HOLDER_NOTE));
    }
}

fn holder(dir: &Path) -> Option<String> {
    let text = fs::read_to_string(dir.join(HOLDER_NOTE)).ok()?;
    let line = text.lines().next()?.trim();
    (!line.is_empty()).then(|| line.to_string())
}

/// Lock `dir` for `command` (`apply`, `rollback`, `env`), waiting up to `timeout`; `err` gets
/// one line when the run has to wait.
pub fn acquire(
    dir: &Path,
    command: &str,
    timeout: Duration,
    err: &mut dyn Write,
) -> Result<ProjectLock, Error> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let io = |message: String| Error::Io {
        path: dir.display().to_string(),
        message,
    };
    let file =
        File::open(dir).map_err(|e| io(format!("cannot open the directory to lock it: {e}")))?;
    let start = Instant::now();
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => {
                return Err(io(format!("cannot lock the directory: {e}")));
            }
        }
        let who = holder(dir).map(|h| format!(" ({h})")).unwrap_or_default();
        if start.elapsed() >= timeout {
            return Err(io(format!(
                "another compose-harden run holds the lock on this directory{who}; nothing was written. Wait for it to finish and run `{command}` again, or wait longer with --lock-timeout SECONDS"
            )));
        }
        if !told {
            told = true;
            let _ = writeln!(
                err,
                "waiting for another compose-harden run{who} to release {} (up to {}s)",
                dir.display(),
                timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let note = format!(
        "pid {}: compose-harden {command}, since {}\n",
        std::process::id(),
        crate::atomic::utc_now()
    );
    // Best effort: the note only helps a waiting run name the holder.
    let _ = fs::write(dir.join(HOLDER_NOTE), note);
    Ok(ProjectLock {
        dir: dir.to_path_buf(),
        _file: file,
    })
}

/// The directory a run on `first` (the first Compose file) locks: the file's directory.
pub fn project_dir(first: &Path) -> PathBuf {
    crate::atomic::dir_of(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_waits_then_fails_naming_the_holder() {
        let d = tempfile::tempdir().expect("tempdir");
        let held = acquire(d.path(), "apply", Duration::ZERO, &mut Vec::new()).expect("lock");
        assert!(d.path().join(HOLDER_NOTE).exists());
        let mut err = Vec::new();
        let e = acquire(d.path(), "env", Duration::from_millis(300), &mut err).expect_err("held");
        let msg = e.to_string();
        assert!(msg.contains("holds the lock"), "{msg}");
        assert!(
            msg.contains(&format!("pid {}: compose-harden apply", std::process::id())),
            "{msg}"
        );
        assert!(String::from_utf8_lossy(&err).contains("waiting for another"));
        drop(held);
        assert!(!d.path().join(HOLDER_NOTE).exists(), "note removed");
        acquire(d.path(), "env", Duration::ZERO, &mut Vec::new()).expect("free again");
    }
}
