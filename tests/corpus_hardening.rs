//! The container-hardening rules over the shared corpus (`COMPOSE_HARDEN_CORPUS`, else
//! `../shared/corpus`): with the `strict` and `baseline` profiles every file's fixes verify,
//! the output converges (a second run changes nothing and leaves no fixable finding), and the
//! output validates against the Compose JSON schema wherever the input did (checked on the
//! un-merged document: `<<` keys are left as they are, so files using them already have the
//! same schema errors in input and output).

mod support;

use std::collections::{BTreeSet, HashMap};

use compose_harden::engine;
use compose_harden::profile::Profile;
use compose_harden::yaml::value::{documents, Data, ScalarKind};
use compose_harden::yaml::{Value, Yaml};

const RULES: &[&str] = &[
    "privileged",
    "cap-drop-all",
    "no-new-privileges",
    "read-only-rootfs",
    "resource-limits",
    "unconfined",
];

fn schema() -> Option<jsonschema::Validator> {
    let p = support::root().join("../shared/spec/compose-spec.json");
    let p = std::env::var_os("COMPOSE_HARDEN_SCHEMA").map_or(p, std::path::PathBuf::from);
    let text = std::fs::read_to_string(&p).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    Some(jsonschema::validator_for(&json).expect("schema compiles"))
}

/// A document value as JSON. Aliases are replaced by their anchor's value; merge keys stay.
fn to_json(v: &Value, anchors: &mut HashMap<String, serde_json::Value>) -> serde_json::Value {
    use serde_json::Value as J;
    let out = match &v.data {
        Data::Scalar(kind, s) => match kind {
            ScalarKind::Null => J::Null,
            ScalarKind::Bool => J::Bool(s.eq_ignore_ascii_case("true")),
            ScalarKind::Int => {
                let parsed = if let Some(h) = s.strip_prefix("0x") {
                    i64::from_str_radix(h, 16).ok()
                } else if let Some(o) = s.strip_prefix("0o") {
                    i64::from_str_radix(o, 8).ok()
                } else {
                    s.parse::<i64>().ok()
                };
                parsed.map_or_else(|| J::String(s.clone()), J::from)
            }
            ScalarKind::Float => s
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or_else(|| J::String(s.clone()), J::Number),
            ScalarKind::Str => J::String(s.clone()),
        },
        Data::Seq(items) => J::Array(items.iter().map(|i| to_json(i, anchors)).collect()),
        Data::Map(entries) => {
            let mut m = serde_json::Map::new();
            for (k, val) in entries {
                let key = match to_json(k, anchors) {
                    J::String(s) => s,
                    other => other.to_string(),
                };
                let val = to_json(val, anchors);
                m.insert(key, val);
            }
            J::Object(m)
        }
        Data::Alias(name) => anchors.get(name).cloned().unwrap_or(J::Null),
    };
    if let Some(a) = &v.anchor {
        anchors.insert(a.clone(), out.clone());
    }
    out
}

fn schema_errors(v: &jsonschema::Validator, text: &str) -> BTreeSet<String> {
    let y = Yaml::parse(text.to_string()).expect("parses");
    let mut errs = BTreeSet::new();
    for (i, d) in documents(&y).iter().enumerate() {
        let j = to_json(d, &mut HashMap::new());
        if j.is_null() {
            continue;
        }
        for e in v.iter_errors(&j) {
            errs.insert(format!("doc {i} {}", e.instance_path()));
        }
    }
    errs
}

#[test]
fn hardening_over_corpus() {
    let files = support::corpus_files();
    if files.is_empty() {
        return;
    }
    let validator = schema();
    match &validator {
        None => eprintln!("SKIPPED schema checks: no compose-spec.json"),
        Some(v) => {
            // The converter and schema do catch a wrong shape.
            let bad = "services:\n  a:\n    image: x\n    cap_drop: ALL\n    bogus: 1\n";
            assert_eq!(
                schema_errors(v, bad).len(),
                2,
                "{:?}",
                schema_errors(v, bad)
            );
            let good = "services:\n  a:\n    image: x\n    cap_drop: [ALL]\n    cpus: 1.0\n    read_only: true\n    x-note: 1\n";
            assert!(
                schema_errors(v, good).is_empty(),
                "{:?}",
                schema_errors(v, good)
            );
        }
    }
    let (mut checked, mut fixed, mut schema_checked) = (0, 0, 0);
    for profile in ["strict", "baseline"] {
        let select: Vec<String> = Vec::new();
        let p = Profile::load(profile).expect("profile");
        let plan = engine::Plan::new(p, &select, &[]).expect("plan");
        for f in &files {
            let d = f.to_string_lossy().into_owned();
            let Ok(text) = engine::read(f, &d, plan.max_size) else {
                continue;
            };
            let Ok(r) = engine::process(&plan, &d, text) else {
                continue; // not a compose file (reported by the CLI tests)
            };
            assert!(r.errors().is_empty(), "{d} ({profile}): {:?}", r.errors());
            checked += 1;
            if r.output == r.input() {
                continue;
            }
            fixed += 1;
            let again = engine::process(&plan, &d, r.output.clone()).expect("output parses");
            assert!(
                again.errors().is_empty(),
                "{d} ({profile}) second run: {:?}",
                again.errors()
            );
            assert!(
                again.output == r.output,
                "{d} ({profile}): second run changes the file:\n{}",
                compose_harden::diff::unified(&d, &r.output, &again.output)
            );
            let left: Vec<String> = again
                .findings
                .iter()
                .filter(|x| x.fix.is_some() && RULES.contains(&x.rule))
                .map(|x| format!("{}: {}", x.rule, x.message))
                .collect();
            assert!(
                left.is_empty(),
                "{d} ({profile}): fixable findings remain: {left:?}"
            );
            if let Some(v) = &validator {
                let before = schema_errors(v, r.input());
                let after = schema_errors(v, &r.output);
                let new: Vec<&String> = after.difference(&before).collect();
                assert!(
                    new.is_empty(),
                    "{d} ({profile}): output breaks the schema at {new:?}"
                );
                schema_checked += 1;
            }
        }
    }
    eprintln!("{checked} corpus runs, {fixed} with fixes, {schema_checked} schema-checked");
    assert!(
        fixed > 0,
        "the corpus gave the hardening rules nothing to do"
    );
}
