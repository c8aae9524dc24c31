//! `apply`, `apply --patch`, `rollback` and the operator checklist, on temporary copies of
//! `examples/openbmp`.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use compose_harden::apply::{self, ApplyOptions, Stage};
use compose_harden::engine::Plan;
use compose_harden::profile::Profile;

const BIN: &str = env!("CARGO_BIN_EXE_compose-harden");

/// A temporary copy of the OpenBMP example (`docker-compose.yml`, mode 0640).
fn stack() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().expect("tempdir");
    let f = d.path().join("docker-compose.yml");
    fs::copy(
        support::root().join("examples/openbmp/docker-compose.yml"),
        &f,
    )
    .expect("copy");
    set_mode(&f, 0o640);
    (d, f)
}

#[cfg(unix)]
fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).expect("chmod");
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).expect("meta").permissions().mode() & 0o7777
}

/// Run the binary in `dir`; returns (code, stdout, stderr).
fn cli(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let o = Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .env_remove("COMPOSE_FILE")
        .output()
        .expect("run compose-harden");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8(o.stdout).expect("utf-8"),
        String::from_utf8(o.stderr).expect("utf-8"),
    )
}

/// Every file name in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn env_values(dir: &Path) -> Vec<String> {
    fs::read_to_string(dir.join(".env"))
        .expect(".env")
        .lines()
        .filter_map(|l| l.split_once('=').map(|(_, v)| v.to_string()))
        .filter(|v| v.len() >= 16)
        .collect()
}

fn openbmp_output(f: &Path) -> String {
    support::harden(f, "openbmp", &[]).1
}

#[test]
fn reviewed_patch_lands_exactly_with_env_backup_and_checklist() {
    let (d, f) = stack();
    let dir = d.path();
    let original = fs::read_to_string(&f).expect("read");
    let expected = openbmp_output(&f);
    let (code, diff, _) = cli(dir, &["diff", "--profile", "openbmp"]);
    assert_eq!(code, 0);
    fs::write(dir.join("reviewed.diff"), &diff).expect("write diff");

    let (code, out, err) = cli(
        dir,
        &[
            "apply",
            "--profile",
            "openbmp",
            "--patch",
            "reviewed.diff",
            "--checklist",
            "checklist.md",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("matches the diff computed now"), "{err}");
    assert_eq!(fs::read_to_string(&f).expect("read"), expected);
    assert_eq!(mode(&f), 0o640, "mode kept");
    assert_eq!(mode(&dir.join(".env")), 0o600);
    let backups = apply::backups(&f, None);
    assert_eq!(backups.len(), 1);
    assert_eq!(fs::read_to_string(&backups[0]).expect("backup"), original);
    assert_eq!(mode(&backups[0]), 0o640);
    // Converged; nothing secret printed.
    let (_, again, _) = cli(dir, &["diff", "--profile", "openbmp"]);
    assert_eq!(again, "");
    for v in env_values(dir) {
        assert!(!out.contains(&v) && !err.contains(&v), "a value leaked");
    }
    // The checklist (stdout and file) names port 5000 with the rules filled in.
    let md = fs::read_to_string(dir.join("checklist.md")).expect("checklist");
    assert_eq!(md, out);
    assert!(md.contains("port 5000/tcp"), "{md}");
    assert!(
        md.contains("ALLOW_FROM=\"10.100.0.0/24 10.100.1.0/24\""),
        "{md}"
    );
    assert!(md.contains("-A $CHAIN -i $EXT_IF -p tcp --dport 5000 -s $s -j RETURN"));
    assert!(md.contains("-A $CHAIN -i $EXT_IF -p tcp --dport 5000 -j DROP"));
    assert!(md.contains("ip saddr { $s4 } return"));
    assert!(!md.contains("FILL IN"));
    assert!(md.contains("docker compose -f docker-compose.yml config"));
    assert!(
        md.find("config -q").expect("config") < md.find("DOCKER-USER").expect("fw"),
        "config comes first"
    );
    assert!(md.contains("pg_hba.conf") && md.contains("grafana_ro"));
    assert!(md.contains("rotation: POSTGRES_PASSWORD"));
    assert!(md.contains("secureJsonData.password"));
    // This copy has no provisioning file: the checklist says it was not edited.
    assert!(
        md.contains("openbmp-ds.yml` was **not found**, so it was not edited"),
        "{md}"
    );
    assert!(md.contains("`zookeeper` → `kafka`"), "start order");
    // Only 5000 stays public.
    assert!(!md.contains("port 5432/"), "{md}");
}

#[test]
fn changed_byte_refuses_and_writes_nothing() {
    let (d, f) = stack();
    let dir = d.path();
    let (_, diff, _) = cli(dir, &["diff", "--profile", "openbmp"]);
    fs::write(dir.join("reviewed.diff"), &diff).expect("write diff");
    let text = fs::read_to_string(&f).expect("read");
    let changed = text.replacen("\"5432:5432\"", "\"5433:5432\"", 1);
    assert_eq!(changed.len(), text.len());
    fs::write(&f, &changed).expect("write");
    let before = listing(dir);
    let (code, out, err) = cli(
        dir,
        &["apply", "--profile", "openbmp", "--patch", "reviewed.diff"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("changed since the diff was made"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(out, "");
    assert_eq!(fs::read_to_string(&f).expect("read"), changed);
    assert_eq!(listing(dir), before, "no .env, backup or temp file");
}

#[test]
fn changed_byte_outside_every_hunk_refuses_too() {
    let (d, f) = stack();
    let dir = d.path();
    let (_, diff, _) = cli(dir, &["diff", "--profile", "openbmp"]);
    fs::write(dir.join("reviewed.diff"), &diff).expect("write diff");
    let text = fs::read_to_string(&f).expect("read");
    // The first line is a comment no hunk covers.
    assert!(
        text.starts_with("# OpenBMP"),
        "fixture starts with its comment"
    );
    let changed = text.replacen("# OpenBMP", "# OpenBMQ", 1);
    fs::write(&f, &changed).expect("write");
    let before = listing(dir);
    let (code, _, err) = cli(
        dir,
        &["apply", "--profile", "openbmp", "--patch", "reviewed.diff"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("changed since the diff was made"), "{err}");
    assert_eq!(fs::read_to_string(&f).expect("read"), changed);
    assert_eq!(listing(dir), before);
}

#[test]
fn hand_edited_patch_applies_when_clean_and_valid() {
    let (d, f) = stack();
    let dir = d.path();
    let (_, diff, _) = cli(dir, &["diff", "--profile", "openbmp"]);
    // Drop the hunk that binds Grafana's port 3000 to loopback.
    let mut hunks: Vec<&str> = diff.split_inclusive('\n').collect();
    let at = hunks
        .iter()
        .position(|l| l.contains("-      - \"3000:3000\""))
        .expect("3000 line");
    let start = (0..at)
        .rev()
        .find(|&i| hunks[i].starts_with("@@"))
        .expect("hunk");
    let end = (at..hunks.len())
        .find(|&i| hunks[i].starts_with("@@"))
        .unwrap_or(hunks.len());
    hunks.drain(start..end);
    let edited: String = hunks.concat();
    fs::write(dir.join("edited.diff"), &edited).expect("write");
    let (code, _, err) = cli(
        dir,
        &["apply", "--profile", "openbmp", "--patch", "edited.diff"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("differs from the diff computed now"), "{err}");
    let now = fs::read_to_string(&f).expect("read");
    assert!(
        now.contains("- \"3000:3000\""),
        "the dropped hunk is not applied"
    );
    assert!(now.contains("127.0.0.1:5432:5432"));

    // A hand edit that breaks the YAML is refused.
    let (d2, f2) = stack();
    let (_, diff2, _) = cli(d2.path(), &["diff", "--profile", "openbmp"]);
    let broken = diff2.replacen("+      - \"127.0.0.1:5432:5432\"", "+      - [unclosed", 1);
    assert_ne!(broken, diff2);
    fs::write(d2.path().join("broken.diff"), broken).expect("write");
    let orig = fs::read_to_string(&f2).expect("read");
    let (code, _, err) = cli(
        d2.path(),
        &["apply", "--profile", "openbmp", "--patch", "broken.diff"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a valid Compose file"), "{err}");
    assert_eq!(fs::read_to_string(&f2).expect("read"), orig);
}

#[test]
fn apply_then_rollback_restores_the_newest_backup() {
    let (d, f) = stack();
    let dir = d.path();
    let original = fs::read_to_string(&f).expect("read");
    let (code, _, err) = cli(dir, &["apply", "--profile", "openbmp"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(fs::read_to_string(&f).expect("read"), openbmp_output(&f));
    let (code, _, err) = cli(dir, &["rollback"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("restored docker-compose.yml from docker-compose.yml.bak-"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&f).expect("read"), original);
    assert_eq!(mode(&f), 0o640);
    // The .env the apply created is moved aside, not deleted: its values stay readable.
    assert!(!dir.join(".env").exists());
    assert!(
        err.contains("removed .env (the apply created it), moved to ./.env.bak-"),
        "{err}"
    );
    let aside: Vec<String> = listing(dir)
        .into_iter()
        .filter(|n| n.starts_with(".env.bak-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(mode(&dir.join(&aside[0])), 0o600);
    // A second apply is idempotent on .env (values kept).
    let (code, _, err) = cli(dir, &["apply", "--profile", "openbmp"]);
    assert_eq!(code, 0, "{err}");
    let env1 = fs::read_to_string(dir.join(".env")).expect("env");
    let (code, _, err) = cli(dir, &["apply", "--profile", "openbmp"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("nothing to write"), "{err}");
    assert_eq!(fs::read_to_string(dir.join(".env")).expect("env"), env1);
}

#[test]
fn backup_dir_and_no_env() {
    let (d, f) = stack();
    let dir = d.path();
    let (code, _, err) = cli(
        dir,
        &[
            "apply",
            "--profile",
            "openbmp",
            "--no-env",
            "--backup-dir",
            "backups",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(!dir.join(".env").exists());
    assert_eq!(apply::backups(&f, Some(&dir.join("backups"))).len(), 1);
    assert!(apply::backups(&f, None).is_empty());
    let (code, _, err) = cli(dir, &["rollback", "--backup-dir", "backups"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn dry_run_writes_nothing_and_shows_no_secret() {
    let (d, _f) = stack();
    let dir = d.path();
    let before = listing(dir);
    let (code, out, err) = cli(dir, &["apply", "--profile", "openbmp", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(listing(dir), before);
    assert!(out.contains("would write .env ("), "{out}");
    assert!(out.contains("values not shown"), "{out}");
    assert!(out.contains("would write docker-compose.yml ("), "{out}");
    assert!(out.contains("backup ./docker-compose.yml.bak-"), "{out}");
}

fn plan(profile: &str) -> Plan {
    Plan::new(Profile::load(profile).expect("profile"), &[], &[]).expect("plan")
}

/// Two Compose files, both changed by the fixes.
fn two_files() -> (tempfile::TempDir, Vec<PathBuf>, Vec<String>) {
    let (d, f) = stack();
    let g = d.path().join("extra.yml");
    fs::write(
        &g,
        "services:\n  web:\n    image: nginx:1.25\n    ports:\n      - \"8080:80\"\n",
    )
    .expect("write");
    let files = vec![f, g];
    let texts = files
        .iter()
        .map(|p| fs::read_to_string(p).expect("read"))
        .collect();
    (d, files, texts)
}

#[test]
fn failure_between_staging_and_rename_leaves_every_file_intact() {
    for fail_at in [
        Stage::Staged,
        Stage::BeforeRename(0),
        Stage::BeforeRename(2),
    ] {
        let (d, files, texts) = two_files();
        let before = listing(d.path());
        let opts = ApplyOptions {
            files: files.clone(),
            env: true,
            ..ApplyOptions::default()
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let r = apply::run_with_hook(&plan("openbmp"), &opts, &mut out, &mut err, &mut |s| {
            if s == fail_at {
                Err("injected".into())
            } else {
                Ok(())
            }
        });
        assert!(r.is_err(), "{fail_at:?}");
        for (f, t) in files.iter().zip(&texts) {
            assert_eq!(&fs::read_to_string(f).expect("read"), t, "{fail_at:?}");
        }
        assert_eq!(
            listing(d.path()),
            before,
            "{fail_at:?}: nothing left behind"
        );
    }
    // Without a failure both files (and .env first) are written.
    let (d, files, texts) = two_files();
    let opts = ApplyOptions {
        files: files.clone(),
        env: true,
        ..ApplyOptions::default()
    };
    let mut order = Vec::new();
    apply::run_with_hook(
        &plan("openbmp"),
        &opts,
        &mut Vec::new(),
        &mut Vec::new(),
        &mut |s| {
            order.push(s);
            Ok(())
        },
    )
    .expect("apply");
    assert_eq!(
        order,
        [
            Stage::Staged,
            Stage::BeforeRename(0),
            Stage::BeforeRename(1),
            Stage::BeforeRename(2)
        ]
    );
    for (f, t) in files.iter().zip(&texts) {
        assert_ne!(&fs::read_to_string(f).expect("read"), t);
    }
    assert!(d.path().join(".env").exists());
}

#[test]
fn checklist_placeholder_without_allow_from() {
    let (d, _f) = stack();
    let dir = d.path();
    fs::write(
        dir.join("p.toml"),
        "extends = \"baseline\"\n[rules.public-port]\nenabled = true\n[services.collector]\nport-actions = { \"5000\" = \"keep\" }\n",
    )
    .expect("profile");
    let (code, out, err) = cli(dir, &["apply", "--profile", "./p.toml", "--no-env"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "ALLOW_FROM=\"\"   # FILL IN: the networks that must reach collector 5000/tcp"
        ),
        "{out}"
    );
    assert!(
        out.contains("the script refuses to run while one is empty"),
        "{out}"
    );
}

#[cfg(unix)]
#[test]
fn refuses_a_symlinked_compose_file() {
    let (d, f) = stack();
    let link = d.path().join("compose.yaml");
    std::os::unix::fs::symlink(&f, &link).expect("symlink");
    let (code, _, err) = cli(d.path(), &["apply", "-f", "compose.yaml", "--no-env"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("symlink"), "{err}");
    assert_eq!(
        fs::read_to_string(&f).expect("read"),
        fs::read_to_string(support::root().join("examples/openbmp/docker-compose.yml"))
            .expect("read")
    );
}

#[test]
fn rollback_without_backup_is_an_error() {
    let (d, _f) = stack();
    let (code, _, err) = cli(d.path(), &["rollback"]);
    assert_eq!(code, 2);
    assert!(err.contains("no backup found"), "{err}");
}

const DATASOURCE: &str = "apiVersion: 1\n\ndatasources:\n  - name: PostgreSQL\n    type: postgres\n    url: obmp-psql:5432\n    user: openbmp\n    secureJsonData:\n      password: openbmp   # seed 0.3\n    jsonData:\n      sslmode: \"require\"\n";

#[test]
fn provisioning_file_is_diffed_applied_and_its_service_gets_the_variable() {
    let (d, f) = stack();
    let dir = d.path();
    let ds_dir = dir.join("obmp-grafana/provisioning/datasources");
    fs::create_dir_all(&ds_dir).expect("mkdir");
    let ds = ds_dir.join("openbmp-ds.yml");
    fs::write(&ds, DATASOURCE).expect("write");
    let (code, diff, err) = cli(dir, &["diff", "--profile", "openbmp"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        diff.contains("--- a/obmp-grafana/provisioning/datasources/openbmp-ds.yml"),
        "{diff}"
    );
    assert!(
        diff.contains("+      password: $POSTGRES_PASSWORD   # seed 0.3"),
        "{diff}"
    );
    assert!(
        diff.contains("+      - POSTGRES_PASSWORD=${POSTGRES_PASSWORD:?set in .env}"),
        "grafana gets the variable:\n{diff}"
    );
    fs::write(dir.join("reviewed.diff"), &diff).expect("write");
    let (code, out, err) = cli(
        dir,
        &["apply", "--profile", "openbmp", "--patch", "reviewed.diff"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("matches the diff computed now"), "{err}");
    assert_eq!(
        fs::read_to_string(&ds).expect("read"),
        DATASOURCE.replace("password: openbmp", "password: $POSTGRES_PASSWORD")
    );
    assert_eq!(apply::backups(&ds, None).len(), 1);
    assert!(out.contains("openbmp-ds.yml"), "checklist mentions it");
    let (_, again, _) = cli(dir, &["diff", "--profile", "openbmp"]);
    assert_eq!(again, "", "converged");
    // `rollback` restores the Compose file (the datasource keeps its own `.bak-` file).
    let (code, _, err) = cli(dir, &["rollback"]);
    assert_eq!(code, 0, "{err}");
    assert!(fs::read_to_string(&f)
        .expect("read")
        .contains("GF_SECURITY_ADMIN_PASSWORD=openbmp"));
}
