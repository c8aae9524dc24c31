//! Projects as Docker Compose loads them (`tests/projects/<case>/`): an override file, `-f`
//! base + prod, `include:`, `extends` with its file present and absent, a profile-gated service.
//! For each, the diff applies with plain `git apply`, a second run is empty, every setting the
//! fixes add appears once, and — with real Docker Compose — `config --format json` of the
//! hardened project equals the original model plus exactly the intended changes.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

fn bin(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_compose-harden"))
        .args(args)
        .current_dir(dir)
        .env_remove("COMPOSE_FILE")
        .output()
        .expect("run compose-harden");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn copy_case(name: &str) -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for e in std::fs::read_dir(from).expect("read dir") {
            let p = e.expect("entry").path();
            let t = to.join(p.file_name().expect("name"));
            if p.is_dir() {
                copy(&p, &t);
            } else {
                std::fs::copy(&p, &t).expect("copy");
            }
        }
    }
    let d = tempfile::Builder::new()
        .prefix("project")
        .tempdir()
        .expect("tempdir");
    copy(&support::root().join("tests/projects").join(name), d.path());
    d
}

/// `git apply` (no `--unsafe-paths`: every path of the diff must stay inside the directory).
fn git_apply(dir: &Path, diff: &str) {
    use std::io::Write;
    let mut c = Command::new("git")
        .args(["apply", "-"])
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn git");
    c.stdin
        .take()
        .expect("stdin")
        .write_all(diff.as_bytes())
        .expect("write");
    let o = c.wait_with_output().expect("wait");
    assert!(
        o.status.success(),
        "git apply failed: {}\n{diff}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `docker compose [files] [extra] config --format json` in `dir`.
fn compose_json(compose: &Path, dir: &Path, files: &[&str], extra: &[&str]) -> Value {
    let mut c = Command::new(compose);
    c.current_dir(dir)
        .env_remove("COMPOSE_FILE")
        .env_remove("COMPOSE_PROFILES")
        .env_remove("COMPOSE_PROJECT_NAME");
    for f in files {
        c.args(["-f", f]);
    }
    c.args(["-p", "chtest"])
        .args(extra)
        .args(["config", "--format", "json"]);
    let o = c.output().expect("run docker compose");
    assert!(
        o.status.success(),
        "docker compose config failed in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("compose json")
}

/// The node at `path` (`a.b.0.c`), created as objects on the way.
fn at<'v>(v: &'v mut Value, path: &str) -> &'v mut Value {
    let mut cur = v;
    for seg in path.split('.') {
        cur = match seg.parse::<usize>() {
            Ok(i) => &mut cur[i],
            Err(_) => {
                if !cur.is_object() {
                    *cur = json!({});
                }
                cur.as_object_mut()
                    .expect("object")
                    .entry(seg.to_string())
                    .or_insert(Value::Null)
            }
        };
    }
    cur
}

fn set(v: &mut Value, path: &str, x: Value) {
    *at(v, path) = x;
}

fn remove(v: &mut Value, path: &str) {
    let (parent, key) = path.rsplit_once('.').expect("dotted path");
    let removed = at(v, parent).as_object_mut().expect("object").remove(key);
    assert!(removed.is_some(), "{path} was not in the model");
}

/// What the built-in image table gives an nginx service listening on port 80 (and, with
/// `nnp`, the no-new-privileges option).
fn nginx_hardened(v: &mut Value, svc: &str, nnp: bool) {
    set(v, &format!("{svc}.cap_drop"), json!(["ALL"]));
    set(
        v,
        &format!("{svc}.cap_add"),
        json!(["CHOWN", "SETGID", "SETUID", "NET_BIND_SERVICE"]),
    );
    if nnp {
        set(
            v,
            &format!("{svc}.security_opt"),
            json!(["no-new-privileges:true"]),
        );
    }
    set(v, &format!("{svc}.read_only"), json!(true));
    set(
        v,
        &format!("{svc}.tmpfs"),
        json!(["/tmp", "/var/cache/nginx", "/var/run"]),
    );
}

struct Case {
    /// Directory under tests/projects.
    dir: &'static str,
    /// Files given on the command line (empty: found like `docker compose`).
    files: &'static [&'static str],
    /// Extra `docker compose` arguments (e.g. `--profile debug`).
    compose: &'static [&'static str],
    /// Files the diff must change, exactly.
    touched: &'static [&'static str],
    /// (text, count) over every file of the hardened project: each setting appears once.
    once: &'static [(&'static str, usize)],
    /// The intended changes, on the original Compose model.
    expect: fn(&mut Value),
    /// Written after the diff is made, before Compose reads the project (a missing file).
    later: &'static [(&'static str, &'static str)],
}

const CASES: &[Case] = &[
    Case {
        dir: "override",
        files: &[],
        compose: &[],
        touched: &["compose.override.yaml"],
        once: &[
            ("cap_drop:", 1),
            ("ALL", 1),
            ("privileged:", 0),
            ("5432:5432", 1),
        ],
        expect: |v| {
            set(v, "services.db.ports.0.host_ip", json!("127.0.0.1"));
            remove(v, "services.db.privileged");
        },
        later: &[],
    },
    Case {
        dir: "prod",
        files: &["base.yml", "prod.yml"],
        compose: &[],
        touched: &["base.yml"],
        once: &[
            ("cap_drop:", 1),
            ("cap_add:", 1),
            ("no-new-privileges:true", 1),
            ("read_only:", 1),
            ("tmpfs:", 1),
        ],
        expect: |v| {
            nginx_hardened(v, "services.web", true);
        },
        later: &[],
    },
    Case {
        dir: "include",
        files: &[],
        compose: &[],
        touched: &["compose.yaml", "db/compose.yaml"],
        once: &[
            ("cap_drop:", 2),
            ("no-new-privileges:true", 2),
            ("read_only:", 2),
            ("5432:5432", 1),
        ],
        expect: |v| {
            nginx_hardened(v, "services.web", false);
            let d = "services.db";
            set(v, &format!("{d}.ports.0.host_ip"), json!("127.0.0.1"));
            set(v, &format!("{d}.cap_drop"), json!(["ALL"]));
            set(
                v,
                &format!("{d}.cap_add"),
                json!(["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"]),
            );
            set(
                v,
                &format!("{d}.security_opt"),
                json!(["no-new-privileges:true"]),
            );
            set(v, &format!("{d}.read_only"), json!(true));
            set(
                v,
                &format!("{d}.tmpfs"),
                json!(["/tmp", "/var/run/postgresql"]),
            );
        },
        later: &[],
    },
    Case {
        dir: "extends-file",
        files: &[],
        compose: &[],
        touched: &["compose.yaml", "common.yml"],
        once: &[
            ("privileged:", 0),
            ("cap_drop:", 1),
            ("no-new-privileges:true", 1),
            ("read_only:", 1),
        ],
        expect: |v| {
            let c = "services.cache";
            remove(v, &format!("{c}.privileged"));
            set(v, &format!("{c}.ports.0.host_ip"), json!("127.0.0.1"));
            set(v, &format!("{c}.cap_drop"), json!(["ALL"]));
            set(
                v,
                &format!("{c}.cap_add"),
                json!(["CHOWN", "SETGID", "SETUID"]),
            );
            set(v, &format!("{c}.read_only"), json!(true));
            set(v, &format!("{c}.tmpfs"), json!(["/tmp"]));
        },
        later: &[],
    },
    Case {
        dir: "extends-missing",
        files: &[],
        compose: &[],
        touched: &["compose.yaml"],
        // `app` gets only what does not depend on its unseen base: its port.
        once: &[
            ("cap_drop:", 1),
            ("no-new-privileges:true", 1),
            ("read_only:", 1),
        ],
        expect: |v| {
            set(v, "services.app.ports.0.host_ip", json!("127.0.0.1"));
            nginx_hardened(v, "services.web", true);
        },
        // Docker Compose refuses the project without it; it is not part of the hardening.
        later: &[("gone.yml", "services:\n  base:\n    image: alpine:3.20\n")],
    },
    Case {
        dir: "extends-shared",
        files: &[],
        compose: &[],
        touched: &["compose.yaml"],
        once: &[
            ("privileged: true", 1),
            ("privileged: false", 2),
            ("cap_drop:", 2),
        ],
        expect: |v| {
            for s in ["a", "b"] {
                let p = format!("services.{s}");
                // Compose's model omits a false flag.
                remove(v, &format!("{p}.privileged"));
                set(v, &format!("{p}.cap_drop"), json!(["ALL"]));
                set(
                    v,
                    &format!("{p}.cap_add"),
                    json!(["CHOWN", "SETGID", "SETUID"]),
                );
            }
        },
        later: &[],
    },
    Case {
        dir: "profiles",
        files: &[],
        compose: &["--profile", "debug"],
        touched: &["compose.yaml"],
        once: &[
            ("privileged:", 0),
            ("no-new-privileges:true", 2),
            ("cap_drop:", 2),
        ],
        expect: |v| {
            nginx_hardened(v, "services.web", false);
            let d = "services.debug";
            remove(v, &format!("{d}.privileged"));
            set(v, &format!("{d}.cap_drop"), json!(["ALL"]));
            // An image outside the table that starts as root: the user-switch set.
            set(
                v,
                &format!("{d}.cap_add"),
                json!(["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"]),
            );
            set(
                v,
                &format!("{d}.security_opt"),
                json!(["no-new-privileges:true"]),
            );
        },
        later: &[],
    },
];

fn project_texts(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                let t = std::fs::read_to_string(&p).expect("read");
                out.push((p, t));
            }
        }
    }
    out
}

#[test]
fn projects_harden_as_compose_merges_them() {
    let compose = support::docker_compose();
    if compose.is_none() {
        eprintln!("SKIPPED (part): real Docker Compose not installed (COMPOSE_HARDEN_DOCKER_COMPOSE unset); the `config --format json` comparison is not made");
    }
    for case in CASES {
        let d = copy_case(case.dir);
        let mut args = vec!["diff"];
        for f in case.files {
            args.extend(["-f", f]);
        }
        let (code, diff, err) = bin(d.path(), &args);
        assert_eq!(code, 0, "{}: {err}", case.dir);
        let touched: Vec<&str> = diff
            .lines()
            .filter_map(|l| l.strip_prefix("+++ b/"))
            .collect();
        assert_eq!(
            touched, case.touched,
            "{}: files in the diff\n{diff}",
            case.dir
        );
        assert_eq!(
            diff.matches("# compose-harden: sha256 ").count(),
            case.touched.len(),
            "{}: one hash line per file",
            case.dir
        );
        // The original project's model (from a copy, with the files Compose needs).
        let orig = copy_case(case.dir);
        for (name, text) in case.later {
            std::fs::write(orig.path().join(name), text).expect("write");
        }
        let before = compose
            .as_ref()
            .map(|c| compose_json(c, orig.path(), case.files, case.compose));
        git_apply(d.path(), &diff);
        // Converges.
        let (code, again, err) = bin(d.path(), &args);
        assert_eq!(
            (code, again.as_str()),
            (0, ""),
            "{}: second run: {err}",
            case.dir
        );
        for (name, text) in case.later {
            std::fs::write(d.path().join(name), text).expect("write");
        }
        // Every setting the fixes add appears once in the project.
        let texts = project_texts(d.path());
        for (needle, want) in case.once {
            let n: usize = texts.iter().map(|(_, t)| t.matches(needle).count()).sum();
            assert_eq!(n, *want, "{}: `{needle}` appears {n} times", case.dir);
        }
        if let (Some(c), Some(mut want)) = (&compose, before) {
            let after = compose_json(c, d.path(), case.files, case.compose);
            (case.expect)(&mut want);
            assert_eq!(
                after,
                want,
                "{}: Docker Compose's model of the hardened project is not the original plus the intended changes",
                case.dir
            );
        }
    }
}

/// Whether `check` reported rule `rule` at `loc` (`file:line:col`).
fn reported(out: &str, loc: &str, rule: &str) -> bool {
    out.lines()
        .any(|l| l.starts_with(&format!("{loc}: ")) && l.contains(&format!(" {rule} ")))
}

#[test]
fn check_names_the_file_and_position_of_the_weak_definition() {
    let d = copy_case("override");
    let (code, out, _) = bin(d.path(), &["check"]);
    assert_eq!(code, 1);
    assert!(
        reported(&out, "compose.override.yaml:5:9", "public-port")
            && reported(&out, "compose.override.yaml:6:5", "privileged"),
        "{out}"
    );
    assert!(!out.contains("compose.yaml:"), "{out}");
    // Positional paths work like -f.
    let d = copy_case("prod");
    let (_, pos, _) = bin(d.path(), &["check", "base.yml", "prod.yml"]);
    let (_, f, _) = bin(d.path(), &["check", "-f", "base.yml", "-f", "prod.yml"]);
    assert_eq!(pos, f);
    assert!(
        reported(&pos, "base.yml:3:3", "cap-drop-all") && !pos.contains("prod.yml:"),
        "{pos}"
    );
    // A service in a profile says so.
    let d = copy_case("profiles");
    let (_, out, _) = bin(d.path(), &["check"]);
    assert!(
        out.contains("privileged service `debug` runs privileged (profile `debug`)"),
        "{out}"
    );
    // A missing extends file: a finding at the reference; no guess about what it inherits.
    let d = copy_case("extends-missing");
    let (_, out, _) = bin(d.path(), &["check"]);
    assert!(reported(&out, "compose.yaml:6:13", "project-file"), "{out}");
    // The finding's line, and its note on the next one.
    let lines: Vec<&str> = out.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.contains("cap-drop-all") && l.contains("`app`"))
        .expect("app cap-drop-all finding");
    let app_cap = lines[i..(i + 2).min(lines.len())].join("\n");
    assert!(
        app_cap.contains("no automatic fix") && app_cap.contains("gone.yml"),
        "{app_cap}"
    );
}

#[test]
fn a_file_without_compose_keys_is_a_warning() {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        d.path().join("notes.yml"),
        "service:\n  web:\n    image: nginx\n",
    )
    .expect("write");
    let (code, out, _) = bin(d.path(), &["check", "notes.yml"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        reported(&out, "notes.yml:1:1", "project-file") && out.contains("`service`"),
        "{out}"
    );
    let (code, out, err) = bin(d.path(), &["diff", "notes.yml"]);
    assert_eq!((code, out.as_str()), (0, ""));
    assert!(err.contains("warning: notes.yml:1:1:"), "{err}");
}

#[test]
fn apply_patch_takes_a_multi_file_diff_all_or_none() {
    let d = copy_case("include");
    let (_, diff, _) = bin(d.path(), &["diff"]);
    std::fs::write(d.path().join("h.diff"), &diff).expect("write");
    let before = project_texts(d.path());
    // One of the two files changed since the diff was made: nothing is written.
    let db = d.path().join("db/compose.yaml");
    let changed = format!("{}# edited\n", std::fs::read_to_string(&db).expect("read"));
    std::fs::write(&db, &changed).expect("write");
    let (code, _, err) = bin(d.path(), &["apply", "--patch", "h.diff", "--no-env"]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        std::fs::read_to_string(d.path().join("compose.yaml")).expect("read"),
        before
            .iter()
            .find(|(p, _)| p.ends_with("compose.yaml") && !p.to_string_lossy().contains("/db/"))
            .expect("main")
            .1
    );
    // Restored: both files are written.
    let orig = &before
        .iter()
        .find(|(p, _)| p.to_string_lossy().contains("/db/"))
        .expect("db")
        .1;
    std::fs::write(&db, orig).expect("write");
    let (code, _, err) = bin(d.path(), &["apply", "--patch", "h.diff", "--no-env"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("wrote compose.yaml") && err.contains("wrote db/compose.yaml"),
        "{err}"
    );
    let (_, again, _) = bin(d.path(), &["diff"]);
    assert_eq!(again, "");
}
