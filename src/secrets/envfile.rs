//! Writing a `.env` file safely: created with mode 0600 from the first byte, written to a
//! temporary file in the same directory and renamed over the target (atomic), never through a
//! symlink. An existing file keeps its mode (a warning is returned when it is looser than 0600).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

/// The outcome of [`write_atomic`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The file's mode after writing (permission bits).
    pub mode: u32,
    /// A warning to show (mode looser than 0600), never holding a value.
    pub warning: Option<String>,
}

/// The permission bits of an existing file at `path` (`None` when absent); refuses symlinks
/// and non-files.
pub fn existing_mode(path: &Path) -> Result<Option<u32>, String> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(
            "is a symlink; refusing to write a secrets file through it (point --output at the real file)"
                .into(),
        ),
        Ok(m) if !m.is_file() => Err("exists and is not a regular file".into()),
        Ok(m) => Ok(Some(mode_of(&m))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot inspect: {e}")),
    }
}

#[cfg(unix)]
fn mode_of(m: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    m.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode_of(_m: &fs::Metadata) -> u32 {
    0o600
}

/// Write `text` to `path` atomically with mode 0600 (or the existing file's mode).
pub fn write_atomic(path: &Path, text: &str) -> Result<Written, String> {
    let existing = existing_mode(path)?;
    let mode = existing.unwrap_or(0o600);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| ".env".into());
    let mut suffix = [0u8; 8];
    rand::RngCore::fill_bytes(&mut super::generate::os_rng(), &mut suffix);
    let tmp = dir.join(format!(".{name}.tmp-{}", hex::encode(suffix)));
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Only owner bits at creation: nobody else can open the file before it is complete.
        opts.mode(mode & 0o700);
    }
    let result = (|| -> Result<(), String> {
        let mut f = opts
            .open(&tmp)
            .map_err(|e| format!("cannot create a temporary file in {}: {e}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // Exact mode whatever the umask (0600, or the mode the file had).
            f.set_permissions(fs::Permissions::from_mode(mode))
                .map_err(|e| format!("cannot set the file mode: {e}"))?;
        }
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| format!("cannot write: {e}"))?;
        // The target may have become a symlink meanwhile: check again right before renaming.
        existing_mode(path)?;
        fs::rename(&tmp, path).map_err(|e| format!("cannot replace the file: {e}"))
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    let warning = (mode & 0o077 != 0).then(|| {
        format!(
            "mode {mode:04o} lets other users read it; run `chmod 600 {}`",
            path.display()
        )
    });
    Ok(Written { mode, warning })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn new_file_is_0600_and_existing_mode_is_kept() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join(".env");
        let w = write_atomic(&p, "A=1\n").expect("write");
        assert_eq!(w.mode, 0o600);
        assert_eq!(
            fs::metadata(&p).expect("meta").permissions().mode() & 0o777,
            0o600
        );
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).expect("chmod");
        let w = write_atomic(&p, "A=2\n").expect("write");
        assert_eq!(w.mode, 0o644);
        assert!(w.warning.is_some());
        assert_eq!(fs::read_to_string(&p).expect("read"), "A=2\n");
        assert_eq!(
            fs::read_dir(d.path()).expect("dir").count(),
            1,
            "no temp left"
        );
    }

    #[test]
    fn refuses_symlink() {
        let d = tempfile::tempdir().expect("tempdir");
        let target = d.path().join("real");
        fs::write(&target, "A=1\n").expect("write");
        let link = d.path().join(".env");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        assert!(write_atomic(&link, "A=2\n").is_err());
        assert_eq!(fs::read_to_string(&target).expect("read"), "A=1\n");
    }
}
