//! The container-hardening rules over the shared corpus (`COMPOSE_HARDEN_CORPUS`, else
//! `../shared/corpus`): with the `strict` and `baseline` profiles every file's fixes verify,
//! the output converges (a second run changes nothing and leaves no fixable finding), and the
//! output validates against the Compose JSON schema wherever the input did (checked on the
//! un-merged document: `<<` keys are left as they are, so files using them already have the
//! same schema errors in input and output).

mod support;

use compose_harden::engine;
use compose_harden::profile::Profile;

const RULES: &[&str] = &[
    "privileged",
    "cap-drop-all",
    "no-new-privileges",
    "read-only-rootfs",
    "resource-limits",
    "unconfined",
];

use support::schema::{schema, schema_errors};

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
