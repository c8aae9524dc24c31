//! The command line as a user meets it: file discovery like `docker compose`, exit codes, and
//! where output goes.

use std::path::Path;
use std::process::Command;

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_compose-harden"));
    c.args(args).current_dir(dir).env_remove("COMPOSE_FILE");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("run binary");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

const WEAK: &str = "services:\n  web:\n    image: nginx:1.27\n";
const HARDENED: &str =
    "services:\n  web:\n    image: nginx:1.27\n    security_opt: [no-new-privileges:true]\n";

#[test]
fn finds_files_like_docker_compose() {
    let d = tempfile::tempdir().expect("tempdir");
    // Precedence: compose.yaml before docker-compose.yml.
    std::fs::write(d.path().join("docker-compose.yml"), WEAK).expect("write");
    std::fs::write(d.path().join("compose.yaml"), WEAK).expect("write");
    let (code, out, _) = run(d.path(), &["diff", "--select", "no-new-privileges"], &[]);
    assert_eq!(code, 0);
    assert!(out.contains("--- a/compose.yaml"), "{out}");
    assert!(!out.contains("docker-compose.yml"), "{out}");
    // COMPOSE_FILE wins, split on ':' (one project: each file's own service fixed in it).
    std::fs::write(d.path().join("one.yml"), WEAK).expect("write");
    std::fs::write(
        d.path().join("two.yml"),
        "services:\n  api:\n    image: redis:7\n",
    )
    .expect("write");
    let (code, out, _) = run(
        d.path(),
        &["diff", "--select", "no-new-privileges"],
        &[("COMPOSE_FILE", "one.yml:two.yml")],
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("--- a/one.yml") && out.contains("--- a/two.yml"),
        "{out}"
    );
    assert!(!out.contains("compose.yaml"), "{out}");
    // -f wins over COMPOSE_FILE.
    let (_, out, _) = run(
        d.path(),
        &["diff", "-f", "two.yml", "--select", "no-new-privileges"],
        &[("COMPOSE_FILE", "one.yml")],
    );
    assert!(
        out.contains("--- a/two.yml") && !out.contains("one.yml"),
        "{out}"
    );
}

#[test]
fn exit_codes_and_streams() {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::write(d.path().join("weak.yml"), WEAK).expect("write");
    std::fs::write(d.path().join("ok.yml"), HARDENED).expect("write");
    let sel = ["--select", "no-new-privileges"];
    // check: 1 with findings (on stdout, file:line:col), 0 when clean.
    let (code, out, _) = run(
        d.path(),
        &[&["check", "-f", "weak.yml"][..], &sel].concat(),
        &[],
    );
    assert_eq!(code, 1);
    assert!(
        out.starts_with("weak.yml:2:3: medium no-new-privileges"),
        "{out}"
    );
    assert!(out.contains("fix: safe"), "{out}");
    let (code, out, _) = run(
        d.path(),
        &[&["check", "-f", "ok.yml"][..], &sel].concat(),
        &[],
    );
    assert_eq!((code, out.as_str()), (0, ""));
    // diff: 0 with or without changes; the diff alone on stdout, the summary on stderr.
    let (code, out, err) = run(
        d.path(),
        &[&["diff", "-f", "weak.yml"][..], &sel].concat(),
        &[],
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("+++ b/weak.yml") && !out.contains("fix(es)"),
        "{out}"
    );
    assert!(err.contains("1 fix(es) in the diff"), "{err}");
    let (code, out, _) = run(
        d.path(),
        &[&["diff", "-f", "ok.yml"][..], &sel].concat(),
        &[],
    );
    assert_eq!((code, out.as_str()), (0, ""));
    // Nothing was written by either.
    assert_eq!(
        std::fs::read_to_string(d.path().join("weak.yml")).expect("read"),
        WEAK
    );
    // rules lists every rule; usage errors exit 2.
    let (code, out, _) = run(d.path(), &["rules"], &[]);
    assert_eq!(code, 0);
    for r in compose_harden::rules::REGISTRY {
        assert!(out.contains(r.meta().id), "{}", r.meta().id);
    }
    let (code, _, err) = run(d.path(), &["diff", "--bogus"], &[]);
    assert_eq!(code, 2, "{err}");
}
