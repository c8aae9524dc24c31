//! The maintenance window: manifest and complete rollback, locking, `.env` backups, the
//! profile a diff records, the git-ignore warning. On temporary copies of `examples/openbmp`
//! with its Grafana provisioning file.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_compose-harden");

/// A copy of the OpenBMP example with its provisioning file, in a directory named `openbmp`.
fn stack() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().expect("tempdir");
    let root = d.path().join("openbmp");
    copy_dir(&support::root().join("examples/openbmp"), &root);
    let _ = fs::remove_dir_all(root.join("expected"));
    (d, root)
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for e in fs::read_dir(from).expect("read dir") {
        let p = e.expect("entry").path();
        let t = to.join(p.file_name().expect("name"));
        if p.is_dir() {
            copy_dir(&p, &t);
        } else {
            fs::copy(&p, &t).expect("copy");
        }
    }
}

fn cli(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let o = Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .env_remove("COMPOSE_FILE")
        .env_remove("COMPOSE_PROFILES")
        .output()
        .expect("run compose-harden");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8(o.stdout).expect("utf-8"),
        String::from_utf8(o.stderr).expect("utf-8"),
    )
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).expect("meta").permissions().mode() & 0o7777
}

/// Every file under `dir` (relative path -> bytes), sorted.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in fs::read_dir(dir).expect("dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p
                    .strip_prefix(base)
                    .expect("under")
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, fs::read(&p).expect("read")));
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, dir, &mut v);
    v.sort();
    v
}

const DS: &str = "obmp-grafana/provisioning/datasources/openbmp-ds.yml";

fn is_backup_or_record(name: &str) -> bool {
    name.contains(".bak-") || name.starts_with("compose-harden-apply-")
}

#[test]
fn rollback_of_a_multi_file_apply_is_byte_for_byte() {
    let (_d, dir) = stack();
    // An existing .env with a value of the operator's own: apply appends, rollback restores.
    fs::write(dir.join(".env"), "HOST_IP=192.0.2.10\n").expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir.join(".env"), fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let before = snapshot(&dir);
    let (code, _, err) = cli(&dir, &["apply", "--profile", "openbmp"]);
    assert_eq!(code, 0, "{err}");
    for f in ["docker-compose.yml", DS, ".env"] {
        assert!(err.contains(&format!("wrote {f} (")), "{f}: {err}");
    }
    assert!(
        err.contains("recorded this apply in ./compose-harden-apply-"),
        "{err}"
    );
    let manifest: Vec<String> = fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("e").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("compose-harden-apply-"))
        .collect();
    assert_eq!(manifest.len(), 1);
    let m = fs::read_to_string(dir.join(&manifest[0])).expect("manifest");
    for want in [
        "profile = \"openbmp\"",
        "kind = \"env\"",
        "kind = \"compose\"",
        "kind = \"provisioning\"",
        &format!("path = \"{DS}\""),
        "before-sha256 = ",
        "after-sha256 = ",
        "diff-sha256 = ",
        "profile-sha256 = ",
    ] {
        assert!(m.contains(want), "{want} in\n{m}");
    }
    // The diff hash is the hash of what `diff` prints.
    let (_, diff, _) = cli(&dir, &["diff", "--profile", "openbmp"]);
    assert_eq!(diff, "", "applied");

    let (code, _, err) = cli(&dir, &["rollback"]);
    assert_eq!(code, 0, "{err}");
    for f in ["docker-compose.yml", DS, ".env"] {
        assert!(err.contains(&format!("restored {f} from ")), "{f}: {err}");
    }
    // Every file is byte for byte as before; only backups and the manifest were added.
    let after: Vec<(String, Vec<u8>)> = snapshot(&dir)
        .into_iter()
        .filter(|(n, _)| !is_backup_or_record(n))
        .collect();
    assert_eq!(after, before);
    assert_eq!(mode(&dir.join(".env")), 0o600);
    // The hardened .env (with its generated values) is kept, 0600.
    let kept: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("e").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".env.bak-"))
        })
        .collect();
    assert_eq!(kept.len(), 2, "the pre-apply and the pre-rollback .env");
    for k in &kept {
        assert_eq!(mode(k), 0o600, "{}", k.display());
    }
    // A second rollback has nothing left to undo.
    let (code, _, err) = cli(&dir, &["rollback"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("rolled back already"), "{err}");
}

#[test]
fn rollback_refuses_after_a_later_edit_and_force_keeps_the_edit() {
    let (_d, dir) = stack();
    let (code, _, err) = cli(&dir, &["apply", "--profile", "openbmp"]);
    assert_eq!(code, 0, "{err}");
    let f = dir.join("docker-compose.yml");
    let edited = fs::read_to_string(&f).expect("read") + "# edited in the window\n";
    fs::write(&f, &edited).expect("write");
    let before = snapshot(&dir);
    let (code, _, err) = cli(&dir, &["rollback"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("docker-compose.yml was edited"), "{err}");
    assert!(err.contains("nothing was restored"), "{err}");
    assert!(err.contains("rollback --force"), "{err}");
    assert_eq!(snapshot(&dir), before, "nothing touched");

    let (code, _, err) = cli(&dir, &["rollback", "--force"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("restored because of --force"), "{err}");
    let original = fs::read_to_string(support::root().join("examples/openbmp/docker-compose.yml"))
        .expect("read");
    assert_eq!(fs::read_to_string(&f).expect("read"), original);
    // The edited version is kept.
    let kept = fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("e").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("docker-compose.yml.bak-"))
        })
        .any(|p| fs::read_to_string(p).expect("read") == edited);
    assert!(kept, "the edit is kept as a backup");
}

#[test]
fn rollback_of_backups_without_a_manifest_restores_compose_files_and_says_so() {
    let (_d, dir) = stack();
    let f = dir.join("docker-compose.yml");
    let original = fs::read_to_string(&f).expect("read");
    fs::write(
        dir.join("docker-compose.yml.bak-20240101T000000Z"),
        &original,
    )
    .expect("write");
    fs::write(&f, "services: {}\n").expect("write");
    let (code, _, err) = cli(&dir, &["rollback"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("no apply manifest"), "{err}");
    assert!(
        err.contains(".env and the profile's [[files]] are left as they are"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&f).expect("read"), original);
}

#[test]
fn a_held_lock_makes_apply_fail_naming_the_holder_and_write_nothing() {
    let (_d, dir) = stack();
    let before = snapshot(&dir);
    let lock =
        compose_harden::lock::acquire(&dir, "apply", std::time::Duration::ZERO, &mut Vec::new())
            .expect("lock");
    let (code, _, err) = cli(
        &dir,
        &["apply", "--profile", "openbmp", "--lock-timeout", "1"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("waiting for another compose-harden run"),
        "{err}"
    );
    assert!(err.contains("holds the lock"), "{err}");
    assert!(
        err.contains(&format!("pid {}: compose-harden apply", std::process::id())),
        "{err}"
    );
    let (code, _, err) = cli(&dir, &["env", "--lock-timeout", "0"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = cli(&dir, &["rollback", "--lock-timeout", "0"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("holds the lock"), "{err}");
    drop(lock);
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn two_concurrent_applies_one_waits_nothing_corrupted() {
    let (_d, dir) = stack();
    let spawn = || {
        Command::new(BIN)
            .current_dir(&dir)
            .args(["apply", "--profile", "openbmp"])
            .env_remove("COMPOSE_FILE")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (
        a.wait_with_output().expect("a"),
        b.wait_with_output().expect("b"),
    );
    let errs = [
        String::from_utf8_lossy(&a.stderr).into_owned(),
        String::from_utf8_lossy(&b.stderr).into_owned(),
    ];
    assert!(a.status.success() && b.status.success(), "{errs:?}");
    // Exactly one wrote; the other found the files hardened.
    assert_eq!(
        errs.iter()
            .filter(|e| e.contains("nothing to write"))
            .count(),
        1,
        "{errs:?}"
    );
    let f = dir.join("docker-compose.yml");
    assert_eq!(
        fs::read_to_string(&f).expect("read"),
        support::harden(
            &support::root().join("examples/openbmp/docker-compose.yml"),
            "openbmp",
            &[]
        )
        .1
    );
    let names: Vec<String> = snapshot(&dir).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names
            .iter()
            .filter(|n| n.starts_with("compose-harden-apply-"))
            .count(),
        1
    );
    assert_eq!(
        names
            .iter()
            .filter(|n| n.starts_with("docker-compose.yml.bak-"))
            .count(),
        1
    );
    assert!(
        !names
            .iter()
            .any(|n| n.contains(".tmp-") || n.ends_with(".lock")),
        "{names:?}"
    );
    let env = fs::read_to_string(dir.join(".env")).expect("env");
    assert!(compose_harden::secrets::dotenv::DotEnv::parse(&env).is_ok());
}

#[test]
fn env_rotate_keeps_a_0600_backup_with_the_old_values() {
    let (_d, dir) = stack();
    let (code, _, err) = cli(&dir, &["apply", "--profile", "openbmp"]);
    assert_eq!(code, 0, "{err}");
    let env = dir.join(".env");
    // A looser mode on the file itself: the backup is 0600 anyway.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&env, fs::Permissions::from_mode(0o640)).expect("chmod");
    }
    let old = fs::read_to_string(&env).expect("env");
    let (code, _, err) = cli(&dir, &["env", "--rotate", "POSTGRES_PASSWORD"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("regenerated POSTGRES_PASSWORD"), "{err}");
    assert!(
        err.contains("the previous file is kept as ./.env.bak-"),
        "{err}"
    );
    let backup: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("e").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".env.bak-"))
        })
        .collect();
    assert_eq!(backup.len(), 1);
    assert_eq!(fs::read_to_string(&backup[0]).expect("read"), old);
    assert_eq!(mode(&backup[0]), 0o600);
    assert_ne!(fs::read_to_string(&env).expect("env"), old);
    let value = |t: &str| {
        t.lines()
            .find_map(|l| l.strip_prefix("POSTGRES_PASSWORD="))
            .map(str::to_string)
            .expect("var")
    };
    assert!(!err.contains(&value(&old)), "no value printed");
}

#[test]
fn a_directory_named_like_a_builtin_profile_does_not_hide_it() {
    let (_d, dir) = stack();
    fs::create_dir(dir.join("openbmp")).expect("mkdir");
    let (code, diff, err) = cli(&dir, &["diff", "--profile", "openbmp"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        diff.starts_with("# compose-harden: profile openbmp sha256 "),
        "{diff}"
    );
    fs::write(dir.join("site"), "extends = \"openbmp\"\n").expect("write");
    let (code, _, err) = cli(&dir, &["diff", "--profile", "site"]);
    assert_eq!(code, 2);
    assert!(err.contains("pass `--profile ./site`"), "{err}");
    let (code, diff, err) = cli(&dir, &["diff", "--profile", "./site"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        diff.starts_with("# compose-harden: profile ./site sha256 "),
        "{diff}"
    );
}

#[test]
fn apply_patch_uses_the_recorded_profile_or_refuses_with_the_command() {
    let (_d, dir) = stack();
    let (_, diff, _) = cli(&dir, &["diff", "--profile", "openbmp"]);
    fs::write(dir.join("reviewed.diff"), &diff).expect("write");
    let before = snapshot(&dir);
    // Another profile named explicitly: refused, with the exact command.
    let (code, _, err) = cli(
        &dir,
        &["apply", "--profile", "baseline", "--patch", "reviewed.diff"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            "compose-harden apply -f docker-compose.yml --profile openbmp --patch reviewed.diff"
        ),
        "{err}"
    );
    assert_eq!(snapshot(&dir), before);
    // No --profile: the recorded one is used, the provisioning file included.
    let (code, out, err) = cli(&dir, &["apply", "--patch", "reviewed.diff"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("matches the diff computed now"), "{err}");
    assert!(fs::read_to_string(dir.join(DS))
        .expect("ds")
        .contains("$POSTGRES_PASSWORD"));
    assert!(
        out.contains("docker compose -f docker-compose.yml config -q"),
        "{out}"
    );

    // A profile file edited after the diff was made: refused.
    let (_d2, dir2) = stack();
    fs::write(dir2.join("site.toml"), "extends = \"openbmp\"\n").expect("write");
    let (_, diff, _) = cli(&dir2, &["diff", "--profile", "site.toml"]);
    fs::write(dir2.join("reviewed.diff"), &diff).expect("write");
    fs::write(dir2.join("site.toml"), "extends = \"openbmp\"\n# edited\n").expect("write");
    let (code, _, err) = cli(&dir2, &["apply", "--patch", "reviewed.diff"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("is not the one reviewed.diff was made with"),
        "{err}"
    );
    assert!(
        err.contains(
            "compose-harden diff -f docker-compose.yml --profile site.toml > reviewed.diff"
        ),
        "{err}"
    );
}

#[test]
fn env_in_a_git_work_tree_is_warned_about_and_gitignore_adds_it() {
    let (_d, dir) = stack();
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(&dir)
            .args(args)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if !git(&["init", "-q"]) {
        eprintln!("SKIPPED: git is not installed");
        return;
    }
    let (code, _, err) = cli(&dir, &["env", "--profile", "openbmp"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(".env is not ignored by git"), "{err}");
    assert!(err.contains("--gitignore"), "{err}");
    let (code, _, err) = cli(&dir, &["apply", "--profile", "openbmp", "--gitignore"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("not ignored by git"), "{err}");
    let gi = fs::read_to_string(dir.join(".gitignore")).expect(".gitignore");
    assert!(
        gi.contains("/.env\n") && gi.contains("/.env.bak-*\n"),
        "{gi}"
    );
    let (code, _, err) = cli(&dir, &["env", "--profile", "openbmp"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("not ignored"), "{err}");
    // The .gitignore is part of the apply: rollback removes what it created.
    let (code, _, err) = cli(&dir, &["rollback"]);
    assert_eq!(code, 0, "{err}");
    assert!(!dir.join(".gitignore").exists(), "{err}");
}
