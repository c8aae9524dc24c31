//! The bad-input catalogue (`tests/bad_inputs/EXPECTED.tsv`): every case exits with its code,
//! names the position, prints nothing on stdout, never panics and writes nothing.

mod support;

use std::path::{Path, PathBuf};

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| (e.path(), std::fs::read(e.path()).expect("read")))
        .collect();
    v.sort();
    v
}

#[test]
fn bad_inputs_fail_cleanly_with_positions() {
    let root = support::root();
    let dir = root.join("tests/bad_inputs");
    let table = std::fs::read_to_string(dir.join("EXPECTED.tsv")).expect("EXPECTED.tsv");
    let before = snapshot(&dir);
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut n = 0;
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 4, "bad line: {line}");
        let (case, extra, code, msg) = (cols[0], cols[1], cols[2], cols[3]);
        let file: String = match case {
            "@directory" => tmp.path().to_string_lossy().into_owned(),
            "@missing" => tmp
                .path()
                .join("missing.yml")
                .to_string_lossy()
                .into_owned(),
            "@not-a-directory" => dir
                .join("empty.yml/compose.yml")
                .to_string_lossy()
                .into_owned(),
            "@too-large" => dir
                .join("valid-for-profile-cases.yml.in")
                .to_string_lossy()
                .into_owned(),
            "@no-compose-file" => String::new(),
            f => format!("tests/bad_inputs/{f}"),
        };
        let mut args: Vec<String> = vec!["diff".into()];
        if !file.is_empty() {
            args.extend(["-f".into(), file]);
        }
        args.extend(extra.split_whitespace().map(String::from));
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let (got, out, err) = if case == "@no-compose-file" {
            // Run the binary in an empty directory, where no default file exists.
            run_in(tmp.path(), &argv)
        } else {
            support::run(&argv)
        };
        assert_eq!(got.to_string(), code, "{case}: exit {got}, stderr: {err}");
        assert!(err.contains(msg), "{case}: stderr lacks {msg:?}:\n{err}");
        assert!(out.is_empty(), "{case}: printed on stdout: {out}");
        assert!(!err.contains("panicked"), "{case}: panic");
        n += 1;
    }
    assert_eq!(before, snapshot(&dir), "a bad input run wrote a file");
    assert!(n >= 30, "catalogue has only {n} cases");
    eprintln!("{n} bad inputs checked");
}

#[test]
fn bad_inputs_through_the_binary_exit_2_without_panic() {
    // The same files through the real process: exit code 2 and no panic message.
    for f in [
        "tab-indent.yml",
        "invalid-utf8.yml",
        "billion-laughs.yml",
        "deep-nesting.yml",
    ] {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_compose-harden"))
            .args(["check", "-f", &format!("tests/bad_inputs/{f}")])
            .current_dir(support::root())
            .output()
            .expect("run binary");
        assert_eq!(o.status.code(), Some(2), "{f}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.starts_with("error: tests/bad_inputs/"), "{f}: {err}");
    }
}

fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_compose-harden"))
        .args(args)
        .current_dir(dir)
        .env_remove("COMPOSE_FILE")
        .output()
        .expect("run binary");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn stack_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        d.path().join("compose.yaml"),
        "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: secret\n",
    )
    .expect("write");
    d
}

#[test]
fn symlinked_env_is_refused_and_its_target_untouched() {
    let d = stack_dir();
    let target = d.path().join("elsewhere.env");
    std::fs::write(&target, "KEEP=1\n").expect("write");
    std::os::unix::fs::symlink(&target, d.path().join(".env")).expect("symlink");
    let before = snapshot(d.path());
    let (code, out, err) = run_in(d.path(), &["env"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(".env: is a symlink"), "{err}");
    assert!(out.is_empty());
    assert_eq!(snapshot(d.path()), before, "nothing written");
}

#[test]
fn apply_with_an_unusable_backup_dir_writes_nothing() {
    let d = stack_dir();
    std::fs::write(d.path().join("not-a-dir"), "").expect("write");
    let before = snapshot(d.path());
    let (code, _, err) = run_in(d.path(), &["apply", "--backup-dir", "not-a-dir"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("not-a-dir: cannot create the backup directory"),
        "{err}"
    );
    assert_eq!(snapshot(d.path()), before, "nothing written");
}

#[test]
fn apply_in_a_read_only_directory_writes_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let d = stack_dir();
    let before = snapshot(d.path());
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o555)).expect("chmod");
    // root ignores directory permissions: check whether this process can still write there.
    let probe = d.path().join(".probe");
    if std::fs::write(&probe, "").is_ok() {
        let _ = std::fs::remove_file(&probe);
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        eprintln!("SKIPPED: running as root, a read-only directory is still writable here");
        return;
    }
    let (code, _, err) = run_in(d.path(), &["apply"]);
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("error:"), "{err}");
    assert_eq!(snapshot(d.path()), before, "nothing written");
}

/// Aliases are limited as Docker Compose's YAML library limits them (by the share of decoded
/// nodes that come from alias expansions), not by a count: a file that merges one anchor into
/// each of 30,000 services is read (Docker Compose v2.40.3 accepts it), while the billion
/// laughs of the catalogue above is refused.
#[test]
fn one_merged_anchor_per_service_is_accepted_at_30000_services() {
    let mut s = String::from(
        "x-common: &common\n  restart: unless-stopped\n  logging:\n    driver: json-file\n\nservices:\n",
    );
    for i in 0..30_000 {
        s.push_str(&format!(
            "  s{i}:\n    <<: *common\n    image: nginx:1.27\n"
        ));
    }
    let (y, compose) = compose_harden::engine::parse(s, "merges.yml").expect("accepted");
    assert!(y.has_alias());
    assert_eq!(compose.services.len(), 30_000);
}

/// Expansion just under and just over go-yaml's 99 % share (small documents).
#[test]
fn alias_share_limit_at_its_edge() {
    let parse = |s: &str| compose_harden::engine::parse(s.to_string(), "edge.yml");
    let a = "x-a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n";
    let b = "x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n";
    let c = "x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n";
    let d = "x-d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n";
    // One level of aliases never passes 99 %: the alias nodes themselves are not expanded.
    let many: String = format!(
        "{a}x-b: [{}]\nservices: {{}}\n",
        vec!["*a"; 10_000].join(", ")
    );
    assert!(parse(&many).is_ok());
    // Two levels: 1,320 of 1,359 decoded nodes come from aliases (97.1 %): accepted.
    assert!(parse(&format!("{a}{b}{c}services: {{}}\n")).is_ok());
    // Three levels pass 99 %: refused, at the alias whose expansion crosses it.
    let Err(e) = parse(&format!("{a}{b}{c}{d}services: {{}}\n")) else {
        panic!("three levels of aliases are accepted");
    };
    let msg = e.to_string();
    assert!(msg.starts_with("edge.yml:4:"), "{msg}");
    assert!(msg.contains("excessive aliasing"), "{msg}");
}
