//! Rule metadata stays complete and in step: ids unique and kebab-case, every section filled,
//! `explain` works for each, fixing rules have golden fixtures, the baseline profile decides
//! every rule, and `docs/rules.md` equals `rules --markdown` (UPDATE_DOCS=1 rewrites it).

mod support;

use std::collections::HashSet;

use compose_harden::rules::REGISTRY;
use compose_harden::yaml::Applicability;

#[test]
fn rule_metadata_is_complete() {
    let mut ids = HashSet::new();
    for r in REGISTRY {
        let m = r.meta();
        assert!(ids.insert(m.id), "duplicate id {}", m.id);
        assert!(
            m.id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "{}: ids are kebab-case",
            m.id
        );
        for (what, text) in [
            ("summary", m.summary),
            ("why", m.why),
            ("fix", m.fix),
            ("breaks", m.breaks),
            ("options", m.options),
        ] {
            assert!(!text.trim().is_empty(), "{}: empty {what}", m.id);
        }
        let (code, out, err) = support::run(&["explain", m.id]);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains(m.summary) && out.contains("What may break"),
            "{}",
            m.id
        );
        // A rule whose fix edits files has golden fixtures.
        let dir = support::root().join("tests/fixtures").join(m.id);
        if m.applicability == Applicability::Safe || dir.exists() {
            assert!(
                dir.is_dir(),
                "{}: no tests/fixtures/{} directory",
                m.id,
                m.id
            );
        }
    }
    let (code, _, err) = support::run(&["explain", "no-such-rule"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown rule"), "{err}");
}

#[test]
fn docs_rules_md_is_generated_from_the_code() {
    let (code, out, _) = support::run(&["rules", "--markdown"]);
    assert_eq!(code, 0);
    let path = support::root().join("docs/rules.md");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &out).expect("write docs/rules.md");
    }
    let committed = std::fs::read_to_string(&path).expect("docs/rules.md exists (UPDATE_DOCS=1)");
    assert_eq!(
        committed, out,
        "docs/rules.md is stale: run UPDATE_DOCS=1 cargo test --test meta"
    );
}
