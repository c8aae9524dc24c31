//! The operator checklist of the OpenBMP example, hardened with the `openbmp` profile, against
//! `examples/openbmp/expected/checklist.md` (set `UPDATE_GOLDEN=1` to rewrite it, then review
//! it). One test in this binary: it changes the working directory, as an operator's shell
//! would be in the stack's directory.

mod support;

use compose_harden::checklist::{build_with, ExtraState, Facts};

const DS: &str = "obmp-grafana/provisioning/datasources/openbmp-ds.yml";

#[test]
fn openbmp_example_checklist_matches_the_golden_file() {
    let d = tempfile::tempdir().expect("tempdir");
    let dir = d.path().join("openbmp");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::copy(
        support::root().join("examples/openbmp/docker-compose.yml"),
        dir.join("docker-compose.yml"),
    )
    .expect("copy");
    std::env::set_current_dir(&dir).expect("cd");
    let (_, hardened) = support::harden(std::path::Path::new("docker-compose.yml"), "openbmp", &[]);
    let profile = compose_harden::profile::Profile::load("openbmp").expect("profile");
    // A host smaller than the one the profile's cpus limits were sized for.
    let facts = Facts {
        cpus: Some(2),
        active_profiles: Vec::new(),
        extra_files: vec![(DS.to_string(), ExtraState::Rewritten)],
    };
    let md = build_with(
        &profile,
        &[("docker-compose.yml".into(), hardened)],
        ".env",
        &facts,
    )
    .expect("checklist");
    let golden = support::root().join("examples/openbmp/expected/checklist.md");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &md).expect("write golden");
    }
    let want = std::fs::read_to_string(&golden).expect("golden (run with UPDATE_GOLDEN=1)");
    assert_eq!(md, want, "checklist differs from {}", golden.display());
    // What the golden file must say, whoever regenerates it.
    for must in [
        "ALLOW_FROM=\"10.100.0.0/24 10.100.1.0/24\"",
        "harden_firewall() (",
        "Kafka `kafka`",
        "SASL_SSL",
        "Authelia `authelia`",
        "two_factor",
        "AUTHELIA_SESSION_SECRET_FILE",
        "Remote-User",
        "trivy image --severity HIGH,CRITICAL grafana/grafana:9.1.7",
        "`grafana/grafana:9.1.7` is pinned but old",
        "`psql` has `cpus: 4` but this host has 2 CPU(s)",
        "now reads `$POSTGRES_PASSWORD`",
        "Not started by `up -d`",
    ] {
        assert!(md.contains(must), "missing {must:?}");
    }
    let order = md.find("Start order").expect("start order");
    let line = &md[order..md[order..].find('\n').map_or(md.len(), |e| order + e)];
    assert!(
        !line.contains("authelia") && !line.contains("traffic-gen"),
        "{line}"
    );
}
