//! The whole-process output of `diff` stays byte-identical: for every file of the corpus and the
//! example under each built-in profile, the SHA-256 of stdout and of stderr (with the exit code)
//! must equal the row committed in `tests/output_hashes.tsv`.
//!
//! The table records the behaviour the tool had when it was generated; internal work (faster
//! parsing, verification, memory) must not change a byte. When a change of behaviour is
//! intended, regenerate it and commit the new table with the change that explains it:
//! `UPDATE_OUTPUTS=1 cargo test --test output_hashes` (with `COMPOSE_HARDEN_CORPUS` set, or
//! the corpus rows are kept as they are).

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

const PROFILES: [&str; 3] = ["baseline", "openbmp", "strict"];
const TABLE: &str = "tests/output_hashes.tsv";
const HEADER: &str = "# set\tfile\tprofile\texit\tstdout_sha256\tstderr_sha256";

/// One run: (exit code, stdout hash, stderr hash).
type Outcome = (i32, String, String);

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `compose-harden diff -f NAME --profile P`, run in the file's directory so that the paths in
/// the output are the same on every machine.
fn run(dir: &Path, name: &str, profile: &str) -> Outcome {
    let o = Command::new(env!("CARGO_BIN_EXE_compose-harden"))
        .current_dir(dir)
        .args(["diff", "-f", name, "--profile", profile])
        .env_remove("COMPOSE_FILE")
        .env_remove("COMPOSE_PATH_SEPARATOR")
        .env_remove("COMPOSE_PROJECT_NAME")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .expect("run compose-harden");
    (
        o.status.code().unwrap_or(-1),
        sha(&o.stdout),
        sha(&o.stderr),
    )
}

/// Every (set, file) to run: the example, then the corpus when available.
fn inputs() -> Vec<(&'static str, PathBuf, String)> {
    let mut v = vec![(
        "example",
        support::root().join("examples/openbmp"),
        "docker-compose.yml".to_string(),
    )];
    for f in support::corpus_files() {
        let dir = f.parent().expect("corpus dir").to_path_buf();
        let name = f
            .file_name()
            .expect("file name")
            .to_string_lossy()
            .into_owned();
        v.push(("corpus", dir, name));
    }
    v
}

type Table = BTreeMap<(String, String, String), Outcome>;

fn read_table(path: &Path) -> Table {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut t = Table::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let c: Vec<&str> = line.split('\t').collect();
        assert_eq!(c.len(), 6, "{TABLE}: malformed row {line:?}");
        t.insert(
            (c[0].into(), c[1].into(), c[2].into()),
            (c[3].parse().expect("exit code"), c[4].into(), c[5].into()),
        );
    }
    t
}

fn write_table(path: &Path, t: &Table) {
    let mut s = String::from(HEADER);
    s.push('\n');
    for ((set, file, profile), (code, out, err)) in t {
        s.push_str(&format!("{set}\t{file}\t{profile}\t{code}\t{out}\t{err}\n"));
    }
    std::fs::write(path, s).expect("write table");
}

#[test]
fn diff_output_is_byte_identical_to_the_recorded_table() {
    let path = support::root().join(TABLE);
    let committed = read_table(&path);
    let inputs = inputs();
    let have_corpus = inputs.iter().any(|(set, _, _)| *set == "corpus");
    let mut now = Table::new();
    for (set, dir, name) in &inputs {
        for p in PROFILES {
            now.insert(
                (set.to_string(), name.clone(), p.to_string()),
                run(dir, name, p),
            );
        }
    }
    if std::env::var_os("UPDATE_OUTPUTS").is_some() {
        let mut t = now.clone();
        if !have_corpus {
            // Keep the corpus rows: this machine cannot regenerate them.
            t.extend(
                committed
                    .iter()
                    .filter(|((set, _, _), _)| set == "corpus")
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
        }
        write_table(&path, &t);
        return;
    }
    assert!(
        !committed.is_empty(),
        "{TABLE} is missing: run UPDATE_OUTPUTS=1 cargo test --test output_hashes"
    );
    let mut problems = Vec::new();
    for (k, v) in &now {
        match committed.get(k) {
            None => problems.push(format!(
                "{} {} --profile {}: no recorded row",
                k.0, k.1, k.2
            )),
            Some(c) if c != v => {
                let what = [
                    (c.0 != v.0).then(|| format!("exit {} (was {})", v.0, c.0)),
                    (c.1 != v.1).then(|| "stdout differs".to_string()),
                    (c.2 != v.2).then(|| "stderr differs".to_string()),
                ];
                let what: Vec<String> = what.into_iter().flatten().collect();
                problems.push(format!(
                    "{} {} --profile {}: {}",
                    k.0,
                    k.1,
                    k.2,
                    what.join(", ")
                ));
            }
            Some(_) => {}
        }
    }
    for k in committed.keys() {
        if !now.contains_key(k) && (k.0 != "corpus" || have_corpus) {
            problems.push(format!("{} {} --profile {}: no longer run", k.0, k.1, k.2));
        }
    }
    if !have_corpus {
        eprintln!("SKIPPED: corpus rows of {TABLE} (set COMPOSE_HARDEN_CORPUS)");
    }
    assert!(
        problems.is_empty(),
        "diff output changed for {} run(s):\n  {}\nIf the change is intended, regenerate the table \
         with UPDATE_OUTPUTS=1 cargo test --test output_hashes and commit it with the change.",
        problems.len(),
        problems.join("\n  ")
    );
}
