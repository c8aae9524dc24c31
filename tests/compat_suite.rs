//! The yaml-test-suite against the YAML layer: every case the suite marks invalid must still be
//! refused after the Compose-compatible scanner changes (vendor/saphyr-parser/PATCHES.md); the
//! valid cases accepted are counted. The suite is not vendored: point `YAML_TEST_SUITE_DIR` at a
//! checkout of its `data` branch (one directory per case with `in.yaml`, and an `error` file for
//! invalid ones). docs/compatibility.md records the measured counts.

mod support;

use std::path::{Path, PathBuf};

use compose_harden::yaml::Yaml;

/// Invalid suite cases that Docker Compose's parser (yaml.v3) reads, so the Compose-compatible
/// scanner reads them too (checked against the real binary when `COMPOSE_HARDEN_DOCKER_COMPOSE`
/// is set): a `#` glued after `]`, `,`, a quote, a block indicator or a directive; flow content
/// and quoted continuation lines left of the block indentation; the `\'` escape.
const INVALID_BUT_COMPOSE_READS: &[&str] = &[
    "9C9N", "9JBA", "CVW2", "DK95/01", "HRE5", "MUS6/00", "QB6E", "SU5Z", "X4QW", "Y79Y/003",
];

/// Valid suite cases the Compose-compatible scanner refuses because yaml.v3 refuses them too:
/// tabs where yaml.v3 sees indentation (after `-`, at a line start, after an explicit key's `:`)
/// implicit flow keys split over lines, the `\/` escape. (2JQS: duplicate empty keys, refused
/// by the tree.)
const VALID_BUT_COMPOSE_REFUSES: &[&str] = &[
    "2JQS", "3UYS", "4MUZ/00", "4MUZ/01", "4MUZ/02", "5MUD", "6BCT", "6CA3", "9SA2", "A2M4",
    "DK95/00", "DK95/03", "DK95/04", "K3WX", "NJ66", "Q5MG", "UT92", "VJP3/01", "Y79Y/010",
];

fn cases(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        // The `name/` and `tags/` indexes are symlinks to the case directories.
        let link = std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink());
        if !link && p.is_dir() {
            if p.join("in.yaml").is_file() {
                out.push(p.clone());
            }
            cases(&p, out);
        }
    }
}

fn id(root: &Path, case: &Path) -> String {
    case.strip_prefix(root)
        .unwrap_or(case)
        .to_string_lossy()
        .into_owned()
}

struct Case {
    id: String,
    text: String,
    invalid: bool,
}

fn load(root: &Path) -> Vec<Case> {
    let mut dirs = Vec::new();
    cases(root, &mut dirs);
    dirs.iter()
        .filter_map(|d| {
            // Every in.yaml of the suite is UTF-8.
            let text = String::from_utf8(std::fs::read(d.join("in.yaml")).ok()?).ok()?;
            Some(Case {
                id: id(root, d),
                text,
                invalid: d.join("error").exists(),
            })
        })
        .collect()
}

/// Whether the upstream (strict YAML 1.2) scanner reads the whole stream.
fn strict_parses(text: &str) -> bool {
    saphyr_parser::Parser::new_from_str(text).all(|ev| ev.is_ok())
}

#[test]
fn yaml_test_suite_refusals() {
    let Some(root) = std::env::var_os("YAML_TEST_SUITE_DIR").map(PathBuf::from) else {
        eprintln!(
            "SKIPPED: YAML_TEST_SUITE_DIR is not set (a checkout of the yaml-test-suite `data` branch); no registry ships the suite"
        );
        return;
    };
    let all = load(&root);
    assert!(
        !all.is_empty(),
        "YAML_TEST_SUITE_DIR={} holds no case directories",
        root.display()
    );
    let valid = all.iter().filter(|c| !c.invalid).count();
    let invalid = all.len() - valid;

    // Strict mode (upstream behaviour): every invalid case is refused.
    let strict_accepted: Vec<&str> = all
        .iter()
        .filter(|c| c.invalid && strict_parses(&c.text))
        .map(|c| c.id.as_str())
        .collect();
    let strict_valid_ok = all
        .iter()
        .filter(|c| !c.invalid && strict_parses(&c.text))
        .count();

    // Compose mode, through the tree the tool uses.
    let (mut valid_ok, mut invalid_refused) = (0, 0);
    let mut accepted_invalid = Vec::new();
    let mut refused_valid = Vec::new();
    for c in &all {
        let ok = Yaml::parse(c.text.clone()).is_ok();
        match (c.invalid, ok) {
            (true, true) => accepted_invalid.push(c.id.as_str()),
            (true, false) => invalid_refused += 1,
            (false, true) => valid_ok += 1,
            (false, false) => refused_valid.push(c.id.as_str()),
        }
    }
    eprintln!(
        "yaml-test-suite ({} cases): strict scanner: valid accepted {strict_valid_ok}/{valid}, invalid refused {}/{invalid}",
        all.len(),
        invalid - strict_accepted.len()
    );
    eprintln!(
        "yaml-test-suite: Compose-compatible tree: valid accepted {valid_ok}/{valid}, invalid refused {invalid_refused}/{invalid}"
    );
    eprintln!("  invalid but read (as yaml.v3 reads them): {accepted_invalid:?}");
    eprintln!("  valid but refused (as yaml.v3 refuses them): {refused_valid:?}");
    assert!(
        strict_accepted.is_empty(),
        "the strict scanner accepts invalid cases: {strict_accepted:?}"
    );
    assert_eq!(
        accepted_invalid, INVALID_BUT_COMPOSE_READS,
        "invalid cases read beyond what Docker Compose reads"
    );
    assert_eq!(
        refused_valid, VALID_BUT_COMPOSE_REFUSES,
        "valid cases refused beyond what Docker Compose refuses"
    );
    match std::env::var_os("COMPOSE_HARDEN_DOCKER_COMPOSE").map(PathBuf::from) {
        Some(bin) if bin.is_file() => {
            let by_id = |id: &str| &all.iter().find(|c| c.id == id).expect("case").text;
            for id in INVALID_BUT_COMPOSE_READS {
                assert!(
                    support::compose_reads_yaml(&bin, by_id(id)),
                    "{id}: Docker Compose does not read it, the tool must not either"
                );
            }
            for id in VALID_BUT_COMPOSE_REFUSES {
                assert!(
                    !support::compose_reads_yaml(&bin, by_id(id)),
                    "{id}: Docker Compose reads it, the tool must too"
                );
            }
            eprintln!("  both lists confirmed with real Docker Compose");
            if std::env::var_os("COMPAT_SUITE_ALL").is_some() {
                let (mut tool_only, mut compose_only) = (Vec::new(), Vec::new());
                for c in &all {
                    match (Yaml::parse(c.text.clone()).is_ok(), support::compose_reads_yaml(&bin, &c.text)) {
                        (true, false) => tool_only.push(c.id.as_str()),
                        (false, true) => compose_only.push(c.id.as_str()),
                        _ => {}
                    }
                }
                eprintln!(
                    "  every case: only the tool reads {}: {tool_only:?}",
                    tool_only.len()
                );
                eprintln!(
                    "  every case: only Docker Compose reads {}: {compose_only:?}",
                    compose_only.len()
                );
            }
        }
        _ => eprintln!(
            "SKIPPED (part): COMPOSE_HARDEN_DOCKER_COMPOSE unset: the lists are not re-checked against Docker Compose"
        ),
    }
}
