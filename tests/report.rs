//! `check` reports: a snapshot of each format on the OpenBMP example (UPDATE_GOLDEN=1 rewrites
//! them), JSON and SARIF validated against their schemas, no secret value in any format,
//! `--fail-on` exit codes per level, colour, and apply-then-check going green.

mod support;

use std::path::Path;

const EXAMPLE: &str = "examples/openbmp/docker-compose.yml";
/// Literal credentials of the example that must never reach a report.
const SECRETS: [&str; 2] = ["openbmp123", "openbmp-telemetry-token"];

fn snapshot(name: &str, got: &str) {
    let path = support::root().join("tests/snapshots/report").join(name);
    let got = got.replace(env!("CARGO_PKG_VERSION"), "[VERSION]");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, &got).expect("write snapshot");
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing {} (run with UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(
        got, want,
        "{name} differs from its snapshot (UPDATE_GOLDEN=1 to review)"
    );
}

fn check(args: &[&str]) -> (i32, String, String) {
    let mut full = vec!["check", "-f", EXAMPLE, "--profile", "openbmp"];
    full.extend_from_slice(args);
    support::run(&full)
}

fn validator(path: &Path) -> jsonschema::Validator {
    let text = std::fs::read_to_string(path).expect("read schema");
    let json: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::validator_for(&json).expect("schema compiles")
}

fn assert_valid(v: &jsonschema::Validator, doc: &serde_json::Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match its schema:\n{}",
        errors.join("\n")
    );
}

fn no_secrets(out: &str, what: &str) {
    for s in SECRETS {
        assert!(!out.contains(s), "{what} prints the secret value {s}");
    }
}

#[test]
fn text_snapshot() {
    let (code, out, err) = check(&[]);
    assert_eq!(code, 1, "{err}");
    no_secrets(&out, "text");
    snapshot("openbmp.txt", &format!("{out}--- stderr ---\n{err}"));
    // Every finding line is `file:line:col: severity rule message`.
    for line in out.lines().filter(|l| !l.starts_with(' ')) {
        let mut w = line.splitn(4, ' ');
        let (loc, sev, rule) = (w.next().unwrap(), w.next().unwrap(), w.next().unwrap());
        assert!(loc.starts_with(EXAMPLE) && loc.ends_with(':'), "{line}");
        assert!(
            compose_harden::rules::Severity::parse(sev).is_some(),
            "{line}"
        );
        assert!(compose_harden::rules::by_id(rule).is_some(), "{line}");
    }
    assert!(!out.contains('\u{1b}'), "no colour when not a terminal");
}

#[test]
fn json_snapshot_matches_its_schema() {
    let (code, out, err) = check(&["--format", "json"]);
    assert_eq!(code, 1, "{err}");
    no_secrets(&out, "json");
    snapshot("openbmp.json", &out);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json output parses");
    let v = validator(&support::root().join("docs/json-schema.json"));
    assert_valid(&v, &doc, "check --format json");
    let n = doc["findings"].as_array().expect("findings").len();
    let s = &doc["summary"];
    let total: u64 = ["critical", "high", "medium", "low", "info"]
        .iter()
        .map(|k| s[k].as_u64().expect("count"))
        .sum();
    assert_eq!(total as usize, n);
    // hardcoded-secret fixes replace literals with references, never with values.
    for f in doc["findings"].as_array().unwrap() {
        if f["rule"] == "hardcoded-secret" {
            for e in f["fix"]["edits"].as_array().into_iter().flatten() {
                assert!(e["replacement"].as_str().unwrap().contains("${"), "{e}");
            }
        }
    }
}

#[test]
fn sarif_snapshot_matches_the_sarif_schema() {
    let (code, out, err) = check(&["--format", "sarif"]);
    assert_eq!(code, 1, "{err}");
    no_secrets(&out, "sarif");
    snapshot("openbmp.sarif", &out);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("sarif output parses");
    let v = validator(&support::root().join("tests/data/sarif-schema-2.1.0.json"));
    assert_valid(&v, &doc, "check --format sarif");
    let run = &doc["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    // Every rule's metadata is there, and each result points at its rule.
    assert_eq!(rules.len(), compose_harden::rules::all().count());
    for r in run["results"].as_array().expect("results") {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
        assert!(r["locations"][0]["physicalLocation"]["region"]["startLine"].is_u64());
    }
    assert!(
        run["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["fixes"][0]["artifactChanges"][0]["replacements"].is_array()),
        "fixes[].artifactChanges"
    );
    multitool_validate(&out);
}

/// The SARIF Multitool's own validator (`.ci/run` installs it from npm and sets
/// COMPOSE_HARDEN_SARIF_MULTITOOL); skipped loudly when it is not there.
fn multitool_validate(sarif: &str) {
    let Some(bin) = std::env::var_os("COMPOSE_HARDEN_SARIF_MULTITOOL") else {
        eprintln!(
            "SKIPPED: SARIF Multitool validation (set COMPOSE_HARDEN_SARIF_MULTITOOL; .ci/run installs it)"
        );
        return;
    };
    let d = tempfile::tempdir().expect("tempdir");
    let file = d.path().join("openbmp.sarif");
    let report = d.path().join("validation.sarif");
    std::fs::write(&file, sarif).expect("write");
    let o = std::process::Command::new(bin)
        .arg("validate")
        .arg(&file)
        .arg("--output")
        .arg(&report)
        .args(["--log", "ForceOverwrite"])
        .env("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")
        .output()
        .expect("run the SARIF Multitool");
    let text = std::fs::read_to_string(&report).unwrap_or_default();
    let log: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let errors: Vec<String> = log["runs"][0]["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["level"] == "error")
        .map(|r| format!("{}: {}", r["ruleId"], r["message"]))
        .collect();
    assert!(
        o.status.success() && errors.is_empty(),
        "SARIF Multitool validate failed ({}):\n{}\n{}",
        o.status,
        errors.join("\n"),
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn github_snapshot() {
    let (code, out, err) = check(&["--format", "github"]);
    assert_eq!(code, 1, "{err}");
    no_secrets(&out, "github");
    snapshot("openbmp.github", &out);
    for line in out.lines() {
        assert!(
            line.starts_with("::error file=")
                || line.starts_with("::warning file=")
                || line.starts_with("::notice file="),
            "{line}"
        );
        assert!(!line.contains('\r'));
    }
    assert!(out.contains("::error file=examples/openbmp/docker-compose.yml,line=83,col=5,"));
}

/// One service per level; `--select` picks the rule that gives that level.
const LEVELS: &[(&str, &str, &str)] = &[
    (
        "critical",
        "privileged",
        "services:\n  app:\n    image: nginx:1.27\n    privileged: true\n",
    ),
    (
        "high",
        "host-namespace",
        "services:\n  app:\n    image: nginx:1.27\n    pid: host\n",
    ),
    (
        "medium",
        "no-new-privileges",
        "services:\n  app:\n    image: nginx:1.27\n",
    ),
    (
        "low",
        "unpinned-image",
        "services:\n  app:\n    image: nginx:latest\n",
    ),
];

#[test]
fn fail_on_exit_codes_per_level() {
    let d = tempfile::tempdir().expect("tempdir");
    let order = ["critical", "high", "medium", "low"];
    for (level, rule, yaml) in LEVELS {
        let f = d.path().join(format!("{level}.yml"));
        std::fs::write(&f, yaml).expect("write");
        let f = f.to_string_lossy().into_owned();
        let (code, out, err) =
            support::run(&["check", "-f", &f, "--select", rule, "--format", "json"]);
        let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
        let sevs: Vec<&str> = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["severity"].as_str().unwrap())
            .collect();
        assert!(
            !sevs.is_empty() && sevs.iter().all(|s| s == level),
            "{rule}: {sevs:?}"
        );
        assert_eq!(code, 1, "{rule}, default --fail-on low: {err}");
        let rank = order.iter().position(|l| l == level).unwrap();
        for (i, fail_on) in order.iter().enumerate() {
            let (code, _, err) =
                support::run(&["check", "-f", &f, "--select", rule, "--fail-on", fail_on]);
            let want = if rank <= i { 1 } else { 0 };
            assert_eq!(
                code, want,
                "{level} finding with --fail-on {fail_on}: {err}"
            );
        }
        let (code, _, _) =
            support::run(&["check", "-f", &f, "--select", rule, "--fail-on", "none"]);
        assert_eq!(code, 0, "--fail-on none");
    }
    // Info never fails: a port the profile keeps public.
    let f = d.path().join("info.yml");
    std::fs::write(
        &f,
        "services:\n  app:\n    image: nginx:1.27\n    ports:\n      - \"80:80\"\n",
    )
    .expect("write");
    let p = d.path().join("keep.toml");
    std::fs::write(
        &p,
        "extends = \"baseline\"\n[services.app]\nports = \"keep\"\n",
    )
    .expect("write");
    let f = f.to_string_lossy().into_owned();
    let p = p.to_string_lossy().into_owned();
    let (code, out, err) = support::run(&[
        "check",
        "-f",
        &f,
        "--select",
        "public-port",
        "--profile",
        &p,
    ]);
    assert!(out.contains(" info public-port "), "{out}{err}");
    assert_eq!(code, 0, "info never fails: {out}{err}");
    // A bad level is a usage error.
    let (code, _, err) = support::run(&["check", "-f", &f, "--fail-on", "info"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn color_always_and_never() {
    let (_, out, _) = check(&["--color", "always"]);
    assert!(out.contains("\u{1b}["), "--color always colours");
    let plain = anstream::adapter::strip_str(&out).to_string();
    let (_, never, _) = check(&["--color", "never"]);
    assert_eq!(plain, never, "colour only adds styles");
    let (_, diff, _) = support::run(&["diff", "-f", EXAMPLE, "--color", "always"]);
    assert!(diff.contains("\u{1b}["));
    let (_, plain_diff, _) = support::run(&["diff", "-f", EXAMPLE]);
    assert_eq!(anstream::adapter::strip_str(&diff).to_string(), plain_diff);
}

/// The acceptance test of the issue: after `apply --profile openbmp`, `check --profile openbmp`
/// exits 0, and what it still reports is info with a reason.
#[test]
fn apply_then_check_is_green_on_the_openbmp_example() {
    let d = tempfile::tempdir().expect("tempdir");
    let src = support::root().join("examples/openbmp");
    for rel in [
        "docker-compose.yml",
        "obmp-grafana/provisioning/datasources/openbmp-ds.yml",
    ] {
        let to = d.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).expect("mkdir");
        std::fs::copy(src.join(rel), &to).expect("copy");
    }
    let f = d.path().join("docker-compose.yml");
    let f = f.to_string_lossy().into_owned();
    let (code, _, err) = support::run(&["apply", "-f", &f, "--profile", "openbmp"]);
    assert_eq!(code, 0, "apply: {err}");
    let (code, out, err) = support::run(&[
        "check",
        "-f",
        &f,
        "--profile",
        "openbmp",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "check after apply: {out}\n{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    let left: Vec<(String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["severity"], "info", "{f}");
            assert!(f["note"].is_string(), "an info finding says why: {f}");
            (
                f["rule"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Exactly the profile's two deliberate decisions: the BMP port routers must reach, and the
    // traffic generator's NET_ADMIN.
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left
        .iter()
        .any(|(r, m)| r == "public-port" && m.contains("`5000:5000`")));
    assert!(left
        .iter()
        .any(|(r, m)| r == "dangerous-cap-add" && m.contains("NET_ADMIN")));
    // And the diff is empty: nothing left that the profile would fix.
    let (code, diff, err) = support::run(&["diff", "-f", &f, "--profile", "openbmp"]);
    assert_eq!((code, diff.as_str()), (0, ""), "{err}");
}

/// The validators used above do reject what their schemas forbid.
#[test]
fn schemas_reject_broken_documents() {
    let sarif = validator(&support::root().join("tests/data/sarif-schema-2.1.0.json"));
    let bad = serde_json::json!({ "version": "2.0.0", "runs": [] });
    assert!(!sarif.is_valid(&bad));
    let (_, out, _) = check(&["--format", "json"]);
    let mut doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    let json = validator(&support::root().join("docs/json-schema.json"));
    assert!(json.is_valid(&doc));
    doc["findings"][0]["severity"] = serde_json::json!("warning");
    assert!(!json.is_valid(&doc));
}

/// Every corpus file's JSON and SARIF reports match their schemas and never hold a literal the
/// file's hardcoded-secret findings are about (skipped loudly without the corpus).
#[test]
fn corpus_reports_match_their_schemas() {
    let files = support::corpus_files();
    if files.is_empty() {
        return;
    }
    let json = validator(&support::root().join("docs/json-schema.json"));
    let sarif = validator(&support::root().join("tests/data/sarif-schema-2.1.0.json"));
    let mut checked = 0;
    for f in &files {
        let f = f.to_string_lossy().into_owned();
        let (code, out, err) = support::run(&["check", "-f", &f, "--format", "json"]);
        if code == 2 {
            continue; // bad input: its own tests cover the error
        }
        let doc: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{f}: {e}\n{err}"));
        assert_valid(&json, &doc, &f);
        let (_, out, _) = support::run(&["check", "-f", &f, "--format", "sarif"]);
        let doc: serde_json::Value = serde_json::from_str(&out).expect("sarif");
        assert_valid(&sarif, &doc, &f);
        checked += 1;
    }
    assert!(
        checked > files.len() / 2,
        "only {checked} of {} files checked",
        files.len()
    );
}
