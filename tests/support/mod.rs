//! Shared helpers for the integration tests.
#![allow(dead_code)]

pub mod schema;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Run the CLI in-process; returns (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut full = vec!["compose-harden"];
    full.extend_from_slice(args);
    let code = compose_harden::cli::run(full, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).expect("utf-8 stdout"),
        String::from_utf8(err).expect("utf-8 stderr"),
    )
}

/// The package root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared corpus directory, if available (`COMPOSE_HARDEN_CORPUS`, else `../shared/corpus`).
pub fn corpus() -> Option<PathBuf> {
    let p = std::env::var_os("COMPOSE_HARDEN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/corpus"));
    p.is_dir().then_some(p)
}

/// Every compose file of the corpus, sorted.
pub fn corpus_files() -> Vec<PathBuf> {
    let Some(dir) = corpus() else {
        eprintln!("SKIPPED: no corpus (set COMPOSE_HARDEN_CORPUS or put it at ../shared/corpus)");
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read corpus dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    v.sort();
    v
}

/// The real Docker Compose binary for `config -q`, if `.ci/run` installed it.
pub fn docker_compose() -> Option<PathBuf> {
    let p = std::env::var_os("COMPOSE_HARDEN_DOCKER_COMPOSE").map(PathBuf::from)?;
    p.is_file().then_some(p)
}

/// `docker compose -f FILE config -q` in `dir`, with extra environment; returns success and stderr.
pub fn compose_config(bin: &Path, dir: &Path, file: &Path, env: &[(&str, &str)]) -> (bool, String) {
    let mut c = Command::new(bin);
    c.current_dir(dir)
        .arg("-f")
        .arg(file)
        .args(["config", "-q"])
        .env_remove("COMPOSE_FILE")
        .env_remove("COMPOSE_PROJECT_NAME");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("run docker compose");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `docker compose -f F1 -f F2 … config -q` in `dir`; returns success and stderr.
pub fn compose_config_files(
    bin: &Path,
    dir: &Path,
    files: &[&Path],
    env: &[(&str, &str)],
) -> (bool, String) {
    let mut c = Command::new(bin);
    c.current_dir(dir)
        .env_remove("COMPOSE_FILE")
        .env_remove("COMPOSE_PROJECT_NAME");
    for f in files {
        c.arg("-f").arg(f);
    }
    c.args(["config", "-q"]);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("run docker compose");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Whether Docker Compose's YAML layer reads `text` (written as `compose.yaml` in a fresh
/// directory). Its errors for unreadable YAML carry `yaml: [line N: ]<message>`; anything else
/// (schema, shape, missing env files or variables, decoding into Compose types: `yaml:
/// unmarshal errors`) comes after a successful parse. Duplicate keys count as unreadable.
pub fn compose_reads_yaml(bin: &Path, text: &str) -> bool {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("compose.yaml"), text).expect("write");
    let o = Command::new(bin)
        .current_dir(dir.path())
        .args(["-p", "yamlcheck", "-f", "compose.yaml", "config", "-q"])
        .env_remove("COMPOSE_FILE")
        .env_remove("COMPOSE_PROJECT_NAME")
        .output()
        .expect("run docker compose");
    let err = String::from_utf8_lossy(&o.stderr);
    !err.lines().any(|l| {
        ((l.starts_with("yaml: ") || l.contains(": yaml: "))
            && !l.contains("yaml: unmarshal errors"))
            || l.contains("already defined at line")
    })
}

/// Feed `diff` to `program args…` in `dir`; panics with its stderr when it fails.
fn feed(dir: &Path, program: &str, args: &[&str], diff: &str) {
    use std::io::Write;
    let mut child = Command::new(program)
        .current_dir(dir)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {program}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(diff.as_bytes())
        .expect("write diff");
    let o = child.wait_with_output().expect("wait");
    assert!(
        o.status.success(),
        "{program} {} failed: {}\n{diff}",
        args.join(" "),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Apply `diff` (a/ b/ prefixed) with `patch -p1` in `dir`; panics on failure.
pub fn patch_p1(dir: &Path, diff: &str) {
    feed(
        dir,
        "patch",
        &["-p1", "--quiet", "--no-backup-if-mismatch", "--binary"],
        diff,
    );
}

/// Apply `diff` with `git apply` in `dir`; panics on failure.
pub fn git_apply(dir: &Path, diff: &str) {
    feed(dir, "git", &["apply", "--unsafe-paths", "-"], diff);
}

/// Run the engine on `path` with `profile` and `select`; returns (input, output).
pub fn harden(path: &Path, profile: &str, select: &[&str]) -> (String, String) {
    let profile = compose_harden::profile::Profile::load(profile).expect("profile");
    let select: Vec<String> = select.iter().map(|s| s.to_string()).collect();
    let plan = compose_harden::engine::Plan::new(profile, &select, &[]).expect("plan");
    let d = path.to_string_lossy();
    let text = compose_harden::engine::read(path, &d, plan.max_size).expect("read");
    let r = compose_harden::engine::process(&plan, &d, text).expect("process");
    assert!(r.errors().is_empty(), "{}: {:?}", d, r.errors());
    (r.input().to_string(), r.output)
}
