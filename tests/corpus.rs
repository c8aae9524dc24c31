//! The corpus gate: every rule of the `baseline` (and every other built-in) profile over every
//! real-world project of the shared corpus (a repository directory's default file plus its
//! override when both exist, else each file alone, with the files beside it so `extends` files
//! are found), checking the properties the tool promises. Prints one line per property with
//! counts and fails on any miss. Skips (loudly) without a corpus.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use compose_harden::cli;
use compose_harden::engine::{self, Plan};
use compose_harden::profile::{Profile, BUILTINS};
use compose_harden::rules::REGISTRY;

/// Rules that only report (their findings never carry a fix).
const REPORT_ONLY: &[&str] = &[
    "project-file",
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

/// A corpus project: its files copied into a directory under their original names, the main
/// files (a default file plus its override when both exist, else one file) and the label.
struct CorpusProject {
    dir: tempfile::TempDir,
    main: Vec<String>,
    label: String,
}

/// The corpus as projects: files of one repository directory are copied together (so an
/// `extends` file beside them is found); a default file with its override sibling is one
/// project, every other file is a project of its own.
fn corpus_projects() -> Vec<CorpusProject> {
    let files = support::corpus_files();
    let Some(dir) = support::corpus() else {
        return Vec::new();
    };
    let sources = std::fs::read_to_string(dir.join("SOURCES.tsv")).unwrap_or_default();
    // corpus file name -> (repo, directory, original base name), for the canonical copy of
    // each original path (variants at other commits are projects of their own).
    let mut origin: BTreeMap<String, (String, String, String)> = BTreeMap::new();
    for line in sources.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 3 {
            continue;
        }
        let (name, repo, path) = (cols[0], cols[1], cols[2]);
        let canonical = format!("{}__{}", repo.replace('/', "__"), path.replace('/', "__"));
        if name != canonical {
            continue;
        }
        let (d, base) = match path.rsplit_once('/') {
            Some((d, b)) => (d.to_string(), b.to_string()),
            None => (String::new(), path.to_string()),
        };
        origin.insert(name.to_string(), (repo.to_string(), d, base));
    }
    let mut groups: BTreeMap<(String, String), Vec<(PathBuf, String)>> = BTreeMap::new();
    let mut singles: Vec<(PathBuf, String)> = Vec::new();
    for f in &files {
        let name = f.file_name().expect("name").to_string_lossy().into_owned();
        match origin.get(&name) {
            Some((repo, d, base)) => groups
                .entry((repo.clone(), d.clone()))
                .or_default()
                .push((f.clone(), base.clone())),
            None => singles.push((f.clone(), name)),
        }
    }
    let copy = |members: &[(PathBuf, String)]| {
        let t = tempfile::tempdir().expect("tempdir");
        for (src, base) in members {
            std::fs::copy(src, t.path().join(base)).expect("copy");
        }
        t
    };
    let mut out = Vec::new();
    for ((repo, d), members) in &groups {
        let base_of = |names: &[&str]| {
            names
                .iter()
                .find(|n| members.iter().any(|(_, b)| b == *n))
                .map(|n| n.to_string())
        };
        let default = base_of(&cli::DEFAULT_NAMES);
        let over = base_of(&cli::OVERRIDE_NAMES);
        let mut mains: Vec<Vec<String>> = Vec::new();
        if let (Some(df), Some(ov)) = (&default, &over) {
            mains.push(vec![df.clone(), ov.clone()]);
        }
        for (_, b) in members {
            if default.is_some() && over.as_ref() == Some(b) {
                continue;
            }
            if over.is_some() && default.as_ref() == Some(b) {
                continue;
            }
            mains.push(vec![b.clone()]);
        }
        for main in mains {
            out.push(CorpusProject {
                dir: copy(members),
                label: format!(
                    "{repo}/{}{}",
                    if d.is_empty() { "" } else { d },
                    if d.is_empty() {
                        main.join("+")
                    } else {
                        format!("/{}", main.join("+"))
                    }
                ),
                main,
            });
        }
    }
    for (f, name) in singles {
        out.push(CorpusProject {
            dir: copy(&[(f, name.clone())]),
            label: name.clone(),
            main: vec![name],
        });
    }
    out
}

#[test]
fn corpus_gate() {
    let projects = corpus_projects();
    if projects.is_empty() {
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
    let multi = projects.iter().filter(|p| p.main.len() > 1).count();
    for (name, _) in BUILTINS {
        let plan = plan(name, false);
        for cp in &projects {
            let label = format!("{name}:{}", cp.label);
            let paths: Vec<PathBuf> = cp.main.iter().map(|m| cp.dir.path().join(m)).collect();
            let load = || engine::load_project(&paths, plan.max_size);

            // 1. Nothing applies: byte-identical.
            if *name == "baseline" {
                let r = engine::process_project(&nothing, load().expect("loads"));
                t.check(
                    "round-trip",
                    r.files.iter().all(|f| f.output == f.input()),
                    || label.clone(),
                );
            }

            // 2. Fixes verify (the engine re-parses and compares values); no fix fails.
            let start = Instant::now();
            let project = match load() {
                Ok(p) => p,
                Err(e) => {
                    t.check("parses", false, || format!("{label}: {e}"));
                    continue;
                }
            };
            let rels: Vec<String> = project
                .files
                .iter()
                .map(|f| {
                    f.path
                        .strip_prefix(cp.dir.path())
                        .unwrap_or(&f.path)
                        .to_string_lossy()
                        .into_owned()
                })
                .collect();
            let r = engine::process_project(&plan, project);
            let secs = start.elapsed().as_secs_f64();
            if secs > slowest.0 {
                slowest = (secs, label.clone());
            }
            // A finding without a fix is a deliberate refusal or a report-only rule: it must say
            // why (a note) or be a rule that never fixes.
            let unexplained: Vec<String> = r
                .files
                .iter()
                .flat_map(|f| &f.findings)
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
                r.files
                    .iter()
                    .all(|f| compose_harden::yaml::Yaml::parse(f.output.clone()).is_ok()),
                || label.clone(),
            );
            let changed = r.files.iter().any(|f| f.output != f.input());
            if r.files.iter().filter(|f| f.output != f.input()).count() > 1 {
                t.check("multi-file diff", true, String::new);
            }

            // 3. Converges: a second run gives no diff, and no finding with a fix remains (6).
            let out_dir = tempfile::tempdir().expect("tempdir");
            for e in std::fs::read_dir(cp.dir.path()).expect("read dir") {
                let p = e.expect("entry").path();
                std::fs::copy(&p, out_dir.path().join(p.file_name().expect("name"))).expect("copy");
            }
            for (f, rel) in r.files.iter().zip(&rels) {
                std::fs::write(out_dir.path().join(rel), &f.output).expect("write");
            }
            let out_paths: Vec<PathBuf> = cp.main.iter().map(|m| out_dir.path().join(m)).collect();
            let again = engine::process_project(
                &plan,
                engine::load_project(&out_paths, plan.max_size).expect("output loads"),
            );
            t.check(
                "converges",
                again.files.iter().all(|f| f.output == f.input()),
                || {
                    format!(
                        "{label}:\n{}",
                        again
                            .files
                            .iter()
                            .map(|f| compose_harden::diff::unified(&f.path, f.input(), &f.output))
                            .collect::<String>()
                    )
                },
            );
            let left: Vec<String> = again
                .files
                .iter()
                .flat_map(|f| &f.findings)
                .filter(|f| f.fix.is_some())
                .map(|f| format!("{} {}", f.rule, f.message))
                .collect();
            t.check("fixed-rules-quiet", left.is_empty(), || {
                format!("{label}: {left:?}")
            });

            // 5a. The output validates against the Compose schema wherever the input did (no
            // error the input did not already have).
            if let Some(v) = &validator {
                for f in &r.files {
                    let before = support::schema::schema_errors(v, f.input());
                    let after = support::schema::schema_errors(v, &f.output);
                    let new: Vec<&String> = after.difference(&before).collect();
                    t.check("schema", new.is_empty(), || format!("{label}: {new:?}"));
                }
            }

            // 4. The project's diff (every file, each with its headers and hash) reproduces the
            // output through patch -p1 and git apply.
            if changed {
                let diff: String = r
                    .files
                    .iter()
                    .zip(&rels)
                    .map(|(f, rel)| compose_harden::diff::from_edits(rel, f.input(), &f.edits))
                    .collect();
                for tool in ["patch", "git-apply"] {
                    let dir = tempfile::tempdir().expect("tempdir");
                    for (f, rel) in r.files.iter().zip(&rels) {
                        let p = dir.path().join(rel);
                        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
                        std::fs::write(&p, f.input()).expect("write");
                    }
                    if tool == "patch" {
                        support::patch_p1(dir.path(), &diff);
                    } else {
                        support::git_apply(dir.path(), &diff);
                    }
                    let same = r.files.iter().zip(&rels).all(|(f, rel)| {
                        std::fs::read_to_string(dir.path().join(rel)).expect("read") == f.output
                    });
                    t.check(
                        if tool == "patch" {
                            "patch -p1"
                        } else {
                            "git apply"
                        },
                        same,
                        || label.clone(),
                    );
                }
            }

            // 5. Real Docker Compose: accepted input => accepted output.
            if let Some(bin) = &compose_bin {
                let files: Vec<&Path> = cp.main.iter().map(Path::new).collect();
                let (in_ok, _) = support::compose_config_files(bin, cp.dir.path(), &files, &[]);
                if in_ok {
                    // The .env that `env` produces from the original files goes beside them.
                    let mut args = vec!["env".to_string()];
                    for p in &paths {
                        args.push("-f".into());
                        args.push(p.to_string_lossy().into_owned());
                    }
                    args.extend(["--profile".to_string(), name.to_string()]);
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    let (code, _, err) = support::run(&args);
                    t.check("env", code == 0, || format!("{label}: {err}"));
                    let env = cp.dir.path().join(".env");
                    if env.exists() {
                        std::fs::copy(&env, out_dir.path().join(".env")).expect("copy .env");
                        let _ = std::fs::remove_file(&env);
                    }
                    let (out_ok, err) =
                        support::compose_config_files(bin, out_dir.path(), &files, &[]);
                    t.check("compose config", out_ok, || format!("{label}: {err}"));
                }
            }
        }
    }
    eprintln!(
        "corpus: {} projects ({multi} of several main files) x {} profiles",
        projects.len(),
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
