//! The rules added for issue 16 over the shared corpus (`COMPOSE_HARDEN_CORPUS`) with the
//! `production` profile: per rule, how many files and findings, how many findings carry a
//! fix and how many fixes were applied (the counts are printed for the record; the corpus
//! gate checks the properties). Also checks what must hold whatever the counts: no
//! verification error, a note on every finding without a fix, every network a service lists
//! in the output declared at the top level (or `default`), and every `tcp://NAME:2375` Docker
//! endpoint in the output naming a socket-proxy service of the file.

mod support;

use std::collections::BTreeMap;

use compose_harden::compose::{model, Compose};
use compose_harden::engine::{self, Plan};
use compose_harden::profile::Profile;
use compose_harden::yaml::Yaml;

/// What a file must satisfy for the stack to start and reach its proxies.
fn output_problems(d: &str, output: &str) -> Vec<String> {
    let mut out = Vec::new();
    let y = Yaml::parse(output.to_string()).expect("output parses");
    let c = Compose::load(&y).expect("output is a Compose file");
    for (doc, dd) in y.docs.iter().enumerate() {
        let declared: Vec<String> = y
            .get(dd.root, "networks")
            .map(|n| model::names(&y, n))
            .unwrap_or_default();
        for s in c.services.iter().filter(|s| s.doc == doc) {
            if let Some(n) = s.get(&y, "networks") {
                for name in model::names(&y, n.resolved) {
                    if name != "default" && !declared.contains(&name) && !name.contains('$') {
                        out.push(format!(
                            "{d}: service `{}` lists undeclared network `{name}`",
                            s.name
                        ));
                    }
                }
            }
            let text = &y.text[y.node(s.node).span.clone()];
            for part in text.split("tcp://").skip(1) {
                let host: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect();
                if !part[host.len()..].starts_with(":2375") {
                    continue;
                }
                let proxy = c
                    .service(doc, &host)
                    .and_then(|p| p.image(&y))
                    .is_some_and(|i| i.starts_with("tecnativa/docker-socket-proxy"));
                let preexisting = c.service(doc, &host).is_some();
                if !proxy && !preexisting {
                    out.push(format!(
                        "{d}: service `{}` points at `{host}:2375`, which is not a service",
                        s.name
                    ));
                }
            }
        }
    }
    out
}

const RULES: &[&str] = &[
    "postgres-trust-auth",
    "dev-root-token",
    "non-root-user",
    "logging-limits",
    "restart-policy",
    "docker-socket",
    "network-segmentation",
];

#[derive(Default, Debug)]
struct Count {
    files: usize,
    findings: usize,
    with_fix: usize,
    applied: usize,
}

#[test]
fn counts_over_the_corpus() {
    let files = support::corpus_files();
    if files.is_empty() {
        return;
    }
    let plan = Plan::new(Profile::load("production").expect("profile"), &[], &[]).expect("plan");
    let mut counts: BTreeMap<&str, Count> = RULES.iter().map(|r| (*r, Count::default())).collect();
    let mut problems = Vec::new();
    for f in &files {
        let d = f.to_string_lossy().into_owned();
        let text = engine::read(f, &d, plan.max_size).expect("readable");
        let Ok(r) = engine::process(&plan, &d, text) else {
            continue;
        };
        if !r.errors().is_empty() {
            problems.push(format!("{d}: {:?}", r.errors()));
        }
        // Only what the run introduced (override files reference networks of their base file).
        let before = output_problems(&d, r.input());
        problems.extend(
            output_problems(&d, &r.output)
                .into_iter()
                .filter(|p| !before.contains(p)),
        );
        for rule in RULES {
            let mine: Vec<usize> = (0..r.findings.len())
                .filter(|&i| r.findings[i].rule == *rule)
                .collect();
            let c = counts.get_mut(rule).expect("listed");
            if !mine.is_empty() {
                c.files += 1;
            }
            c.findings += mine.len();
            c.with_fix += mine
                .iter()
                .filter(|&&i| r.findings[i].fix.is_some())
                .count();
            c.applied += mine.iter().filter(|i| r.applied.contains(i)).count();
            for &i in &mine {
                let x = &r.findings[i];
                if x.fix.is_none() && x.note.is_none() {
                    problems.push(format!("{d}: {rule}: no fix and no note: {}", x.message));
                }
            }
        }
    }
    eprintln!(
        "{:<22} {:>5} {:>8} {:>8} {:>8}",
        "rule (production)", "files", "findings", "with fix", "applied"
    );
    for (rule, c) in &counts {
        eprintln!(
            "{rule:<22} {:>5} {:>8} {:>8} {:>8}",
            c.files, c.findings, c.with_fix, c.applied
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
