//! The corpus gate: every rule of the `baseline` (and every other built-in) profile over every
//! real-world file of the shared corpus, checking the properties the tool promises. Prints one
//! line per property with counts and fails on any miss. Skips (loudly) without a corpus.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use compose_harden::engine::{self, Plan};
use compose_harden::profile::{Profile, BUILTINS};
use compose_harden::rules::REGISTRY;

/// Rules that only report (their findings never carry a fix).
const REPORT_ONLY: &[&str] = &[
    "docker-socket",
    "host-namespace",
    "unpinned-image",
    "sensitive-mount",
    "dangerous-cap-add",
    "unconfined",
];

#[derive(Default)]
struct Tally {
    pass: BTreeMap<&'static str, usize>,
    total: BTreeMap<&'static str, usize>,
    misses: Vec<String>,
}

impl Tally {
    fn check(&mut self, prop: &'static str, ok: bool, what: impl FnOnce() -> String) {
        *self.total.entry(prop).or_default() += 1;
        if ok {
            *self.pass.entry(prop).or_default() += 1;
        } else {
            self.misses.push(format!("{prop}: {}", what()));
        }
    }
}

fn plan(profile: &str, none: bool) -> Plan {
    let p = Profile::load(profile).expect("built-in profile");
    let all: Vec<String> = REGISTRY.iter().map(|r| r.meta().id.to_string()).collect();
    if none {
        Plan::new(p, &[], &all).expect("plan")
    } else {
        Plan::new(p, &[], &[]).expect("plan")
    }
}

#[test]
fn corpus_gate() {
    let files = support::corpus_files();
    if files.is_empty() {
        return;
    }
    let compose_bin = support::docker_compose();
    if compose_bin.is_none() {
        eprintln!("SKIPPED (part): real Docker Compose not installed (COMPOSE_HARDEN_DOCKER_COMPOSE unset); `config -q` property not checked");
    }
    let mut t = Tally::default();
    let mut slowest = (0.0f64, String::new());
    let nothing = plan("baseline", true);
    let validator = support::schema::schema();
    if validator.is_none() {
        eprintln!("SKIPPED (part): no Compose JSON schema at ../shared/spec/compose-spec.json; schema property not checked");
    }
    for (name, _) in BUILTINS {
        let plan = plan(name, false);
        for f in &files {
            let d = f.to_string_lossy().into_owned();
            let short = f.file_name().expect("name").to_string_lossy().into_owned();
            let label = format!("{name}:{short}");
            let text = engine::read(f, &d, plan.max_size).expect("corpus file readable");

            // 1. Nothing applies: byte-identical.
            if *name == "baseline" {
                let r = engine::process(&nothing, &d, text.clone()).expect("parses");
                t.check("round-trip", r.output == text, || label.clone());
            }

            // 2. Fixes verify (the engine re-parses and compares values); no fix fails.
            let start = Instant::now();
            let r = match engine::process(&plan, &d, text.clone()) {
                Ok(r) => r,
                Err(e) => {
                    t.check("parses", false, || format!("{label}: {e}"));
                    continue;
                }
            };
            let secs = start.elapsed().as_secs_f64();
            if secs > slowest.0 {
                slowest = (secs, label.clone());
            }
            // A finding without a fix is a deliberate refusal or a report-only rule: it must say
            // why (a note) or be a rule that never fixes.
            let unexplained: Vec<String> = r
                .findings
                .iter()
                .filter(|f| f.fix.is_none() && f.note.is_none())
                .filter(|f| {
                    compose_harden::rules::by_id(f.rule)
                        .is_some_and(|rule| REPORT_ONLY.iter().all(|id| *id != rule.meta().id))
                })
                .map(|f| format!("{} {}", f.rule, f.message))
                .collect();
            t.check("refusals-explained", unexplained.is_empty(), || {
                format!("{label}: {unexplained:?}")
            });
            let errors = r.errors();
            t.check("verified", errors.is_empty(), || {
                format!("{label}: {errors:?}")
            });
            t.check(
                "reparses",
                compose_harden::yaml::Yaml::parse(r.output.clone()).is_ok(),
                || label.clone(),
            );

            // 3. Converges: a second run gives no diff, and no finding with a fix remains (6).
            let again = engine::process(&plan, &d, r.output.clone()).expect("output parses");
            t.check("converges", again.output == r.output, || {
                format!(
                    "{label}:\n{}",
                    compose_harden::diff::unified(&d, &r.output, &again.output)
                )
            });
            let left: Vec<String> = again
                .findings
                .iter()
                .filter(|f| f.fix.is_some())
                .map(|f| format!("{} {}", f.rule, f.message))
                .collect();
            t.check("fixed-rules-quiet", left.is_empty(), || {
                format!("{label}: {left:?}")
            });

            // 5a. The output validates against the Compose schema wherever the input did (no
            // error the input did not already have).
            if let Some(v) = &validator {
                let before = support::schema::schema_errors(v, &text);
                let after = support::schema::schema_errors(v, &r.output);
                let new: Vec<&String> = after.difference(&before).collect();
                t.check("schema", new.is_empty(), || format!("{label}: {new:?}"));
            }

            // 4. The diff reproduces the output through patch -p1 and git apply.
            if r.output != text {
                let diff = compose_harden::diff::from_edits(&short, &text, &r.edits);
                for tool in ["patch", "git-apply"] {
                    let dir = tempfile::tempdir().expect("tempdir");
                    let p = dir.path().join(&short);
                    std::fs::write(&p, &text).expect("write");
                    if tool == "patch" {
                        support::patch_p1(dir.path(), &diff);
                    } else {
                        support::git_apply(dir.path(), &diff);
                    }
                    let got = std::fs::read_to_string(&p).expect("read");
                    t.check(
                        if tool == "patch" {
                            "patch -p1"
                        } else {
                            "git apply"
                        },
                        got == r.output,
                        || label.clone(),
                    );
                }
            }

            // 5. Real Docker Compose: accepted input => accepted output.
            if let Some(bin) = &compose_bin {
                let dir = tempfile::tempdir().expect("tempdir");
                let p = dir.path().join("compose.yaml");
                std::fs::write(&p, &text).expect("write");
                let (in_ok, _) =
                    support::compose_config(bin, dir.path(), Path::new("compose.yaml"), &[]);
                if in_ok {
                    // The .env that `env` produces from the original file goes beside it.
                    let ps = p.to_string_lossy().into_owned();
                    let (code, _, err) = support::run(&["env", "-f", &ps, "--profile", name]);
                    t.check("env", code == 0, || format!("{label}: {err}"));
                    std::fs::write(&p, &r.output).expect("write");
                    let (out_ok, err) =
                        support::compose_config(bin, dir.path(), Path::new("compose.yaml"), &[]);
                    t.check("compose config", out_ok, || format!("{label}: {err}"));
                }
            }
        }
    }
    eprintln!(
        "corpus: {} files x {} profiles",
        files.len(),
        BUILTINS.len()
    );
    for (prop, total) in &t.total {
        eprintln!(
            "{prop:<20} {}/{}",
            t.pass.get(prop).copied().unwrap_or(0),
            total
        );
    }
    eprintln!("slowest file: {:.1} ms ({})", slowest.0 * 1000.0, slowest.1);
    assert!(
        t.misses.is_empty(),
        "{} miss(es):\n{}",
        t.misses.len(),
        t.misses.join("\n")
    );
}
