//! Compose compatibility, checked against the real Docker Compose in the test itself: for each
//! fixture in `tests/compat/`, where Compose accepts the file the tool accepts it, its fixes
//! verify, and Compose reads the patched file (`config --format json`) as the original plus
//! exactly the intended change (the fixture's `# expect:` lines); where Compose refuses it
//! the tool refuses it too, with an error that names the construct (`# refused:`).
//!
//! Fixture header lines: `# select: rule,…` (rules to run), `# expect: <json path> = <json>`
//! (`-` for "absent"), `# finding: rule` (must be reported), `# refused: <error text>`.
//! `json.json` (no comments in JSON) takes its header from [`JSON_HEADER`].

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

const JSON_HEADER: &str = "\
# select: privileged,no-new-privileges,public-port
# expect: services.web.privileged = -
# expect: services.web.cap_drop = [\"ALL\"]
# expect: services.web.cap_add = [\"CHOWN\", \"SETGID\", \"SETUID\", \"NET_BIND_SERVICE\"]
# expect: services.web.security_opt = [\"no-new-privileges:true\"]
# expect: services.web.ports[0].host_ip = \"127.0.0.1\"
";

#[derive(Default, Debug)]
struct Header {
    select: Vec<String>,
    expect: Vec<(Vec<Seg>, Option<Json>)>,
    findings: Vec<String>,
    refused: Option<String>,
}

#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

fn parse_path(p: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in p.split('.') {
        let (key, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        if !key.is_empty() {
            out.push(Seg::Key(key.to_string()));
        }
        while let Some(r) = rest.strip_prefix('[') {
            let close = r.find(']').expect("closing ]");
            out.push(Seg::Index(r[..close].parse().expect("index")));
            rest = &r[close + 1..];
        }
    }
    out
}

fn header(text: &str) -> Header {
    let mut h = Header::default();
    for line in text.lines().take_while(|l| l.starts_with('#')) {
        let line = line.trim_start_matches('#').trim();
        if let Some(v) = line.strip_prefix("select:") {
            h.select = v.split(',').map(|s| s.trim().to_string()).collect();
        } else if let Some(v) = line.strip_prefix("expect:") {
            let (path, value) = v.split_once(" = ").expect("`path = value`");
            let value = value.trim();
            let value = (value != "-").then(|| serde_json::from_str(value).expect("JSON value"));
            h.expect.push((parse_path(path.trim()), value));
        } else if let Some(v) = line.strip_prefix("finding:") {
            h.findings.push(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("refused:") {
            h.refused = Some(v.trim().to_string());
        }
    }
    h
}

/// Set (or remove, for `None`) the value at `path` of `doc`.
fn set(doc: &mut Json, path: &[Seg], value: Option<Json>) {
    let (last, parents) = path.split_last().expect("non-empty path");
    let mut cur = doc;
    for s in parents {
        cur = match s {
            Seg::Key(k) => cur
                .as_object_mut()
                .expect("object on the path")
                .entry(k.clone())
                .or_insert(Json::Null),
            Seg::Index(i) => &mut cur.as_array_mut().expect("array on the path")[*i],
        };
    }
    match (last, value) {
        (Seg::Key(k), Some(v)) => {
            if !cur.is_object() {
                *cur = Json::Object(Default::default());
            }
            cur.as_object_mut().expect("object").insert(k.clone(), v);
        }
        (Seg::Key(k), None) => {
            cur.as_object_mut().expect("object").remove(k);
        }
        (Seg::Index(i), Some(v)) => cur.as_array_mut().expect("array")[*i] = v,
        (Seg::Index(i), None) => {
            cur.as_array_mut().expect("array").remove(*i);
        }
    }
}

/// `docker compose config --format json` of `text` written as `name`: the model, or the error.
fn compose_json(bin: &Path, name: &str, text: &str) -> Result<Json, String> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(name), text).expect("write");
    let o = Command::new(bin)
        .current_dir(dir.path())
        .args(["-p", "compat", "-f", name, "config", "--format", "json"])
        .env_remove("COMPOSE_FILE")
        .env_remove("COMPOSE_PROJECT_NAME")
        .output()
        .expect("run docker compose");
    if !o.status.success() {
        return Err(String::from_utf8_lossy(&o.stderr).into_owned());
    }
    serde_json::from_slice(&o.stdout).map_err(|e| format!("compose printed no JSON: {e}"))
}

fn fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(support::root().join("tests/compat"))
        .expect("tests/compat")
        .map(|e| e.expect("entry").path())
        .collect();
    v.sort();
    v
}

#[test]
fn compose_compatible_fixtures() {
    let Some(bin) = support::docker_compose() else {
        eprintln!(
            "SKIPPED: COMPOSE_HARDEN_DOCKER_COMPOSE is not set: the compatibility fixtures need the real Docker Compose"
        );
        return;
    };
    let mut checked = 0;
    for path in fixtures() {
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&path).expect("read fixture");
        let h = if name.ends_with(".json") {
            header(JSON_HEADER)
        } else {
            header(&text)
        };
        let compose = compose_json(&bin, &name, &text);
        let profile = compose_harden::profile::Profile::load("baseline").expect("profile");
        let plan = compose_harden::engine::Plan::new(profile, &h.select, &[]).expect("plan");
        let tool = compose_harden::engine::process(&plan, &name, text.clone());
        if let Some(want) = &h.refused {
            let err = compose.expect_err(&format!("{name}: Docker Compose accepts it"));
            assert!(
                err.contains("yaml:"),
                "{name}: Compose refuses it for another reason: {err}"
            );
            let e = tool
                .err()
                .unwrap_or_else(|| panic!("{name}: Compose refuses it, the tool accepts it"));
            let msg = e.to_string();
            assert!(msg.contains(want), "{name}: error lacks {want:?}: {msg}");
            checked += 1;
            continue;
        }
        let before = compose.unwrap_or_else(|e| panic!("{name}: Docker Compose refuses it: {e}"));
        let r =
            tool.unwrap_or_else(|e| panic!("{name}: Compose accepts it, the tool refuses: {e}"));
        assert!(
            r.errors().is_empty(),
            "{name}: fixes failed verification: {:?}",
            r.errors()
        );
        for rule in &h.findings {
            assert!(
                r.findings.iter().any(|f| f.rule == rule),
                "{name}: no `{rule}` finding"
            );
        }
        let after = compose_json(&bin, &name, &r.output).unwrap_or_else(|e| {
            panic!(
                "{name}: Compose refuses the patched file: {e}\n{}",
                r.output
            )
        });
        let mut want = before.clone();
        for (p, v) in &h.expect {
            set(&mut want, p, v.clone());
        }
        assert_eq!(
            after, want,
            "{name}: Compose reads the patched file differently from the original plus the intended change\npatched:\n{}",
            r.output
        );
        if h.expect.is_empty() {
            assert_eq!(
                r.output, text,
                "{name}: nothing to change, yet the file changed"
            );
        }
        if name.ends_with(".json") {
            serde_json::from_str::<Json>(&r.output).unwrap_or_else(|e| {
                panic!(
                    "{name}: the patched file is no longer JSON: {e}\n{}",
                    r.output
                )
            });
        }
        // Idempotent: a second run changes nothing.
        let again = compose_harden::engine::process(&plan, &name, r.output.clone())
            .unwrap_or_else(|e| panic!("{name}: the patched file does not parse: {e}"));
        assert_eq!(
            again.output, r.output,
            "{name}: a second run changes the file again"
        );
        checked += 1;
    }
    eprintln!("compatibility fixtures checked against Docker Compose: {checked}");
    assert!(checked >= 15, "fixtures missing: {checked}");
}
