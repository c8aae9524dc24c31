//! `init` writes a starter profile that loads and drives `diff`; it never overwrites without
//! --force. `completions` and `man` print what their tools expect.

mod support;

#[test]
fn init_writes_a_profile_that_loads_and_never_overwrites() {
    let d = tempfile::tempdir().expect("tempdir");
    let f = d.path().join("docker-compose.yml");
    std::fs::copy(
        support::root().join("examples/openbmp/docker-compose.yml"),
        &f,
    )
    .expect("copy");
    let f = f.to_string_lossy().into_owned();
    let (code, _, err) = support::run(&["init", "-f", &f]);
    assert_eq!(code, 0, "{err}");
    let p = d.path().join("compose-harden.toml");
    let text = std::fs::read_to_string(&p).expect("profile written");
    // Ports as loopback candidates (the Kafka port goes with its listener), known images' caps
    // and tmpfs, unknown images as commented questions.
    assert!(text.contains("[services.psql]\n"), "{text}");
    assert!(
        text.contains("port-actions = { \"5432\" = \"loopback\" }"),
        "{text}"
    );
    assert!(text
        .contains("cap-add = [\"CHOWN\", \"DAC_OVERRIDE\", \"FOWNER\", \"SETGID\", \"SETUID\"]"));
    assert!(
        text.contains("tmpfs = [\"/tmp\", \"/var/cache/nginx\", \"/var/run\"]"),
        "{text}"
    );
    assert!(text.contains("# `openbmp/collector:2.2.3` is not in the built-in image table"));
    assert!(!text.contains("\"9092\""), "{text}");
    let ps = p.to_string_lossy().into_owned();
    compose_harden::profile::Profile::load(&ps).expect("the starter profile loads");
    let (code, diff, err) = support::run(&["diff", "-f", &f, "--profile", &ps]);
    assert_eq!(code, 0, "{err}");
    assert!(diff.contains("127.0.0.1:5432:5432"), "{diff}");
    // Never overwritten without --force.
    std::fs::write(&p, "# mine\n").expect("write");
    let (code, _, err) = support::run(&["init", "-f", &f]);
    assert_eq!(code, 2);
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "# mine\n");
    let (code, _, err) = support::run(&["init", "-f", &f, "--force"]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read_to_string(&p)
        .unwrap()
        .starts_with("# compose-harden profile"));
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (code, out, err) = support::run(&["completions", shell]);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains("compose-harden") && out.contains("fail-on"),
            "{shell}"
        );
    }
    let (code, out, _) = support::run(&["man"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with(".ie") || out.contains(".TH compose-harden 1"),
        "{out}"
    );
    assert!(out.contains("check") && out.contains("init"), "{out}");
}

/// The pre-commit entry checks each file given and exits with the worst result.
#[test]
fn pre_commit_entry_checks_each_file() {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_compose-harden"));
    let path = format!(
        "{}:{}",
        bin.parent().expect("bin dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(d.path().join("a")).expect("mkdir");
    std::fs::write(
        d.path().join("a/compose.yml"),
        "services:\n  web:\n    image: nginx:1.27\n    read_only: true\n    tmpfs: [/tmp]\n    cap_drop: [ALL]\n    security_opt: [no-new-privileges:true]\n",
    )
    .expect("write");
    std::fs::write(
        d.path().join("docker-compose.yml"),
        "services:\n  db:\n    image: postgres:16\n    privileged: true\n",
    )
    .expect("write");
    let hook = support::root().join("scripts/pre-commit-check.sh");
    let run = |args: &[&str]| {
        std::process::Command::new("bash")
            .arg(&hook)
            .args(args)
            .current_dir(d.path())
            .env("PATH", &path)
            .env_remove("COMPOSE_FILE")
            .output()
            .expect("run hook")
    };
    let o = run(&["--color=never", "a/compose.yml"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = run(&["a/compose.yml", "docker-compose.yml"]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("docker-compose.yml:4:5: critical privileged"),
        "{out}"
    );
    let o = run(&["--fail-on=none", "a/compose.yml", "docker-compose.yml"]);
    assert_eq!(o.status.code(), Some(0));
    let yaml = std::fs::read_to_string(support::root().join(".pre-commit-hooks.yaml")).unwrap();
    assert!(yaml.contains("entry: scripts/pre-commit-check.sh"));
}
