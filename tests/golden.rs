//! Golden tests: each `tests/fixtures/<rule-id>/<case>.yml` run with `--select <rule-id>` (and
//! `<case>.toml` as profile when present) must print exactly `<case>.diff`; each
//! `examples/<stack>/expected/<profile>.diff` is the diff of `examples/<stack>/docker-compose.yml`
//! with that built-in profile. The outputs also converge and round-trip through `patch -p1` and
//! `git apply`. Set `UPDATE_GOLDEN=1` to rewrite the expected files (then review them). The
//! `# compose-harden: profile …` header line is left out of the comparison.

mod support;

use std::path::{Path, PathBuf};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let p = e.expect("entry").path();
        let t = to.join(p.file_name().expect("name"));
        if p.is_dir() {
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).expect("copy");
        }
    }
}

fn check_case(args: &[&str], rel_input: &str, expected: &Path) {
    let (code, out, err) = support::run(args);
    assert_eq!(code, 0, "{rel_input}: exit {code}\n{err}");
    // The header records the profile's sha256, which changes with every edit of a built-in
    // profile: tests/window.rs checks it; the goldens hold the diff itself.
    let out = compose_harden::diff::strip_header(&out);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(expected, &out).expect("write golden");
    }
    let want = std::fs::read_to_string(expected)
        .unwrap_or_else(|_| panic!("missing {} (run with UPDATE_GOLDEN=1)", expected.display()));
    assert_eq!(
        out,
        want,
        "{rel_input}: diff differs from {}",
        expected.display()
    );
    if out.is_empty() {
        return;
    }
    // Round trip: the diff applied by patch -p1 and by git apply gives the tool's output.
    let input = std::fs::read_to_string(support::root().join(rel_input)).expect("read input");
    for tool in ["patch", "git"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join(rel_input);
        // Copy the input's whole directory: a diff may cover files next to it (provisioning).
        let src_dir = support::root().join(rel_input);
        let src_dir = src_dir.parent().expect("parent");
        copy_dir(src_dir, dest.parent().expect("parent"));
        std::fs::write(&dest, &input).expect("write");
        if tool == "patch" {
            support::patch_p1(dir.path(), &out);
        } else {
            support::git_apply(dir.path(), &out);
        }
        let patched = std::fs::read_to_string(&dest).expect("read patched");
        // Converges: the patched file yields no further diff.
        let mut again: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let fpos = again.iter().position(|a| a == "-f").expect("-f") + 1;
        again[fpos] = dest.to_string_lossy().into_owned();
        let again_ref: Vec<&str> = again.iter().map(String::as_str).collect();
        let (code2, out2, err2) = support::run(&again_ref);
        assert_eq!(code2, 0, "{rel_input}: second run failed: {err2}");
        assert_eq!(out2, "", "{rel_input}: second run is not empty");
        // The patched file equals the engine's output byte for byte.
        let profile = args
            .iter()
            .position(|a| *a == "--profile")
            .map_or("baseline", |i| args[i + 1]);
        let select: Vec<&str> = args
            .iter()
            .position(|a| *a == "--select")
            .map(|i| args[i + 1].split(',').collect())
            .unwrap_or_default();
        let (_, output) = support::harden(&support::root().join(rel_input), profile, &select);
        assert_eq!(
            patched, output,
            "{rel_input}: {tool} result differs from the tool's output"
        );
    }
}

#[test]
fn rule_fixtures() {
    let dir = support::root().join("tests/fixtures");
    let mut cases = 0;
    let mut rules: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    rules.sort();
    for rule_dir in rules {
        let rule = rule_dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let mut inputs: Vec<PathBuf> = std::fs::read_dir(&rule_dir)
            .expect("rule dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
            .collect();
        inputs.sort();
        for input in inputs {
            let rel = input
                .strip_prefix(support::root())
                .expect("under root")
                .to_string_lossy()
                .into_owned();
            let profile = input.with_extension("toml");
            let profile_s = profile.to_string_lossy().into_owned();
            let mut args = vec!["diff", "-f", rel.as_str(), "--select", rule.as_str()];
            if profile.exists() {
                args.extend(["--profile", profile_s.as_str()]);
            }
            check_case(&args, &rel, &input.with_extension("diff"));
            cases += 1;
        }
    }
    assert!(cases > 0, "no fixtures found");
    eprintln!("{cases} golden fixture(s) checked");
}

#[test]
fn examples() {
    let mut cases = 0;
    for stack in std::fs::read_dir(support::root().join("examples")).expect("examples") {
        let stack = stack.expect("entry").path();
        let expected_dir = stack.join("expected");
        if !expected_dir.is_dir() {
            continue;
        }
        let input = stack.join("docker-compose.yml");
        let rel = input
            .strip_prefix(support::root())
            .expect("under root")
            .to_string_lossy()
            .into_owned();
        for e in std::fs::read_dir(&expected_dir).expect("expected dir") {
            let p = e.expect("entry").path();
            if p.extension().is_none_or(|x| x != "diff") {
                continue;
            }
            let profile = p.file_stem().expect("stem").to_string_lossy().into_owned();
            let profile_arg = match stack.join(format!("{profile}.toml")) {
                local if local.exists() => local.to_string_lossy().into_owned(),
                _ => profile,
            };
            check_case(&["diff", "-f", &rel, "--profile", &profile_arg], &rel, &p);
            cases += 1;
        }
    }
    assert!(cases > 0, "no example has an expected/ diff");
}
