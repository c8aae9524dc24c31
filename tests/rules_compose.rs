//! Real Docker Compose accepts the output of every fixture of the rules added for issue 16 and
//! of the end-to-end stacks in `tests/e2e-stacks/`
//! (`config -q` on the hardened file, with a value for every variable it references); skipped
//! loudly without `COMPOSE_HARDEN_DOCKER_COMPOSE`. Also runs every such fixture with the
//! `production` profile (all rules together) and checks that the output converges.

mod support;

use std::path::{Path, PathBuf};

const RULES: &[&str] = &[
    "postgres-trust-auth",
    "dev-root-token",
    "non-root-user",
    "logging-limits",
    "restart-policy",
    "docker-socket",
    "network-segmentation",
];

fn fixtures() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    // The end-to-end stacks (tests/e2e-stacks/<stack>/compose.yaml) with the rule they prove.
    for (stack, rule) in [
        ("network-segmentation", "network-segmentation"),
        ("socket-proxy", "docker-socket"),
    ] {
        out.push((
            rule.to_string(),
            support::root()
                .join("tests/e2e-stacks")
                .join(stack)
                .join("compose.yaml"),
        ));
    }
    for rule in RULES {
        let dir = support::root().join("tests/fixtures").join(rule);
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "yml"))
            .collect();
        files.sort();
        out.extend(files.into_iter().map(|f| (rule.to_string(), f)));
    }
    out
}

/// Every `${NAME…}` the text references, with a harmless value.
fn vars(text: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        rest = &rest[i + 2..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && !v.iter().any(|(n, _)| *n == name) {
            v.push((name, "/tmp".into()));
        }
    }
    v
}

fn accepted(bin: &Path, text: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("compose.yaml"), text).expect("write");
    let vs = vars(text);
    let env: Vec<(&str, &str)> = vs.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    support::compose_config(bin, dir.path(), Path::new("compose.yaml"), &env)
}

#[test]
fn real_compose_accepts_every_output() {
    let Some(bin) = support::docker_compose() else {
        eprintln!("SKIPPED: real Docker Compose not installed (set COMPOSE_HARDEN_DOCKER_COMPOSE); outputs not validated");
        return;
    };
    let mut checked = 0;
    for (rule, f) in fixtures() {
        let input = std::fs::read_to_string(&f).expect("read");
        let (in_ok, in_err) = accepted(&bin, &input);
        assert!(
            in_ok,
            "{}: the fixture itself is rejected: {in_err}",
            f.display()
        );
        let profile = f.with_extension("toml");
        let profile = if profile.exists() {
            profile.to_string_lossy().into_owned()
        } else if f.starts_with(support::root().join("tests/e2e-stacks")) {
            "production".into()
        } else {
            "baseline".into()
        };
        for (p, select) in [
            (profile.as_str(), vec![rule.as_str()]),
            ("production", vec![]),
        ] {
            let (_, output) = support::harden(&f, p, &select);
            let (ok, err) = accepted(&bin, &output);
            assert!(
                ok,
                "{} ({p}): Compose rejects the output: {err}\n{output}",
                f.display()
            );
            checked += 1;
        }
    }
    eprintln!("{checked} outputs accepted by real Docker Compose");
}

#[test]
fn production_profile_converges_on_every_fixture() {
    for (_, f) in fixtures() {
        let (_, output) = support::harden(&f, "production", &[]);
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("compose.yaml");
        std::fs::write(&p, &output).expect("write");
        let (_, again) = support::harden(&p, "production", &[]);
        assert_eq!(
            again,
            output,
            "{}: a second production run changes the file",
            f.display()
        );
    }
}
