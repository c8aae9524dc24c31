//! Inline suppressions: `# compose-harden: ignore[rule-id] reason` on the line, on the line
//! above, or on the service key; without a reason it is itself a finding and suppresses
//! nothing; a suppressed finding is never fixed and is listed as suppressed in JSON and SARIF.

mod support;

fn json(args: &[&str]) -> (i32, serde_json::Value) {
    let mut full = vec!["check", "--format", "json"];
    full.extend_from_slice(args);
    let (code, out, err) = support::run(&full);
    (
        code,
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}")),
    )
}

fn rules_of(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|f| f["rule"].as_str().expect("rule").to_string())
        .collect()
}

fn write(dir: &std::path::Path, yaml: &str) -> String {
    let f = dir.join("compose.yml");
    std::fs::write(&f, yaml).expect("write");
    f.to_string_lossy().into_owned()
}

#[test]
fn with_a_reason_the_finding_is_suppressed_and_not_fixed() {
    let d = tempfile::tempdir().expect("tempdir");
    let f = write(
        d.path(),
        "services:\n  db:\n    image: postgres:16\n    privileged: true  # compose-harden: ignore[privileged] lab host, tracked in OPS-12\n",
    );
    let (code, doc) = json(&["-f", &f, "--select", "privileged"]);
    assert_eq!(code, 0, "{doc}");
    assert!(rules_of(&doc["findings"]).is_empty(), "{doc}");
    let s = &doc["suppressed"][0];
    assert_eq!(s["rule"], "privileged");
    assert_eq!(s["suppression"]["reason"], "lab host, tracked in OPS-12");
    assert_eq!(s["suppression"]["line"], 4);
    assert_eq!(doc["summary"]["suppressed"], 1);
    // Never fixed: the diff leaves `privileged` alone.
    let (code, diff, err) = support::run(&["diff", "-f", &f, "--select", "privileged"]);
    assert_eq!((code, diff.as_str()), (0, ""), "{err}");
    // SARIF: the result carries `suppressions` and no fix.
    let (_, out, _) = support::run(&[
        "check",
        "-f",
        &f,
        "--select",
        "privileged",
        "--format",
        "sarif",
    ]);
    let sarif: serde_json::Value = serde_json::from_str(&out).expect("sarif");
    let r = &sarif["runs"][0]["results"][0];
    assert_eq!(r["suppressions"][0]["kind"], "inSource");
    assert_eq!(
        r["suppressions"][0]["justification"],
        "lab host, tracked in OPS-12"
    );
    assert!(r.get("fixes").is_none(), "{r}");
    // Text: the summary counts it.
    let (_, out, err) = support::run(&["check", "-f", &f, "--select", "privileged"]);
    assert_eq!(out, "");
    assert!(err.contains("1 suppressed"), "{err}");
}

#[test]
fn without_a_reason_it_suppresses_nothing_and_is_a_finding() {
    let d = tempfile::tempdir().expect("tempdir");
    let f = write(
        d.path(),
        "services:\n  db:\n    image: postgres:16\n    privileged: true  # compose-harden: ignore[privileged]\n",
    );
    let (code, doc) = json(&["-f", &f, "--select", "privileged"]);
    assert_eq!(code, 1);
    assert_eq!(
        rules_of(&doc["findings"]),
        ["privileged", "invalid-suppression"]
    );
    let bad = &doc["findings"][1];
    assert_eq!(bad["severity"], "low");
    assert_eq!(
        (bad["line"].as_u64(), bad["column"].as_u64()),
        (Some(4), Some(23))
    );
    assert!(
        bad["message"].as_str().unwrap().contains("no reason"),
        "{bad}"
    );
    assert!(rules_of(&doc["suppressed"]).is_empty());
    // It is still fixed, as if the comment were not there.
    let (_, diff, _) = support::run(&["diff", "-f", &f, "--select", "privileged"]);
    assert!(diff.contains("-    privileged: true"), "{diff}");
}

#[test]
fn unknown_rules_and_other_directives_are_findings() {
    let d = tempfile::tempdir().expect("tempdir");
    let f = write(
        d.path(),
        "services:\n  web:  # compose-harden: ignore[privileges] typo\n    image: nginx:1.27\n    # compose-harden: skip this\n    ports: [\"80:80\"]\n",
    );
    let (_, doc) = json(&["-f", &f, "--select", "no-new-privileges"]);
    let msgs: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "invalid-suppression")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(msgs.len(), 2, "{doc}");
    assert!(msgs[0].contains("unknown rule `privileges`"), "{msgs:?}");
    assert!(msgs[1].contains("not a suppression"), "{msgs:?}");
}

#[test]
fn service_key_covers_the_service_and_own_line_covers_the_next_line() {
    let d = tempfile::tempdir().expect("tempdir");
    let f = write(
        d.path(),
        "services:\n  # compose-harden: ignore[no-new-privileges] the entrypoint uses su-exec\n  db:\n    image: postgres:16\n  web:  # compose-harden: ignore[cap-drop-all, no-new-privileges] vendor image, see ADR-7\n    image: nginx:1.27\n    ports:\n      # compose-harden: ignore[public-port] the reverse proxy\n      - \"80:80\"\n      - \"443:443\"\n",
    );
    let (_, doc) = json(&[
        "-f",
        &f,
        "--select",
        "no-new-privileges,cap-drop-all,public-port",
    ]);
    let active: Vec<(String, u64)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().into(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        active,
        [
            ("cap-drop-all".to_string(), 3),
            ("public-port".to_string(), 10)
        ],
        "{doc}"
    );
    let mut sup: Vec<(String, u64)> = doc["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().into(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    sup.sort();
    assert_eq!(
        sup,
        [
            ("cap-drop-all".to_string(), 5),
            ("no-new-privileges".to_string(), 3),
            ("no-new-privileges".to_string(), 5),
            ("public-port".to_string(), 9),
        ]
    );
}

#[test]
fn a_hash_inside_a_string_is_not_a_comment() {
    let d = tempfile::tempdir().expect("tempdir");
    let f = write(
        d.path(),
        "services:\n  web:\n    image: nginx:1.27\n    command: \"echo # compose-harden: ignore[no-new-privileges] not a comment\"\n",
    );
    let (code, doc) = json(&["-f", &f, "--select", "no-new-privileges"]);
    assert_eq!(code, 1);
    assert_eq!(rules_of(&doc["findings"]), ["no-new-privileges"]);
}

/// Suppressing one place of a credential must not leave the others replaced by a variable that
/// gets a fresh value: they keep their finding but lose their fix.
#[test]
fn a_suppressed_credential_is_not_half_replaced() {
    let d = tempfile::tempdir().expect("tempdir");
    let f = write(
        d.path(),
        "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: s3cr3t-Passw0rd  # compose-harden: ignore[hardcoded-secret] rotated by the vault agent\n  app:\n    image: example/app:1.0\n    environment:\n      POSTGRES_PASSWORD: s3cr3t-Passw0rd\n",
    );
    let (_, doc) = json(&["-f", &f, "--select", "hardcoded-secret"]);
    assert_eq!(rules_of(&doc["suppressed"]), ["hardcoded-secret"], "{doc}");
    let app = &doc["findings"][0];
    assert_eq!(app["rule"], "hardcoded-secret");
    assert!(app["fix"].is_null(), "{app}");
    assert!(app["note"].as_str().unwrap().contains("line 5"), "{app}");
    let (_, diff, _) = support::run(&["diff", "-f", &f, "--select", "hardcoded-secret"]);
    assert_eq!(diff, "");
}
