//! The built-in image knowledge (`data/images.toml`): every entry is well-formed and does what
//! it says through the real rules (capabilities, tmpfs paths, low ports, non-root `user:`), an
//! unknown image keeps the user-switch set, profile `[images]` entries still win,
//! `docs/images.md` is generated from the file (UPDATE_DOCS=1 rewrites it), and the images most
//! used in the corpus are covered.

mod support;

use std::collections::{BTreeMap, HashSet};

use compose_harden::engine::{self, FileResult, Plan};
use compose_harden::profile::Profile;
use compose_harden::rules::images::{self, ImageInfo, DOCKER_DEFAULT_CAPS, USER_SWITCH_CAPS};

/// Every Linux capability name `cap_add` accepts (without `CAP_`).
const LINUX_CAPS: &[&str] = &[
    "AUDIT_CONTROL",
    "AUDIT_READ",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "BPF",
    "CHECKPOINT_RESTORE",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "PERFMON",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "SYSLOG",
    "WAKE_ALARM",
];

/// Generic base images: no entrypoint of their own to cite.
const BASE_IMAGES: &[&str] = &["alpine", "busybox", "debian", "ubuntu", "node", "python"];

/// A concrete repository a pattern matches (`ns/*` → `ns/example`, `ns/cp-*` → `ns/cp-example`).
fn concrete(pattern: &str) -> String {
    match pattern.strip_suffix('*') {
        Some(prefix) => format!("{prefix}example"),
        None => pattern.to_string(),
    }
}

fn harden(profile: &str, compose: &str) -> FileResult {
    let p = Profile::load(profile).expect("built-in profile");
    let plan = Plan::new(p, &[], &[]).expect("plan");
    let r = engine::process(&plan, "compose.yaml", compose.to_string()).expect("processes");
    assert!(r.errors().is_empty(), "{:?}", r.errors());
    r
}

fn harden_with(profile_toml: &str, compose: &str) -> FileResult {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("p.toml");
    std::fs::write(&path, profile_toml).expect("write profile");
    let p = Profile::load(path.to_str().expect("utf-8 path")).expect("profile loads");
    let plan = Plan::new(p, &[], &[]).expect("plan");
    engine::process(&plan, "compose.yaml", compose.to_string()).expect("processes")
}

/// The scalar items of `services.s.KEY` in the hardened output (`None`: no such key).
fn list(r: &FileResult, key: &str) -> Option<Vec<String>> {
    let (y, _) = engine::parse(r.output.clone(), "out").expect("output parses");
    let node = y.lookup(&format!("services.s.{key}"))?;
    Some(
        y.items(y.resolve(node))
            .expect("a list")
            .iter()
            .map(|&i| y.scalar(y.resolve(i)).expect("scalar item").to_string())
            .collect(),
    )
}

fn note(r: &FileResult, rule: &str) -> String {
    r.findings
        .iter()
        .filter(|f| f.rule == rule)
        .filter_map(|f| f.note.clone())
        .collect::<Vec<_>>()
        .join(" | ")
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn entries_are_well_formed() {
    let table = images::table();
    assert!(table.len() >= 25, "{} entries", table.len());
    let mut families = HashSet::new();
    let mut patterns: BTreeMap<&str, &str> = BTreeMap::new();
    for i in table {
        let f = i.family.as_str();
        assert!(families.insert(f), "duplicate family {f}");
        assert!(!i.repos.is_empty(), "{f}: no repos");
        for r in &i.repos {
            assert_eq!(r, &r.to_ascii_lowercase(), "{f}: {r} is not lower case");
            assert!(
                !r.contains(':') && !r.contains('@') && !r.starts_with("library/"),
                "{f}: `{r}` must be a repository without tag, digest or library/"
            );
            assert!(
                !r.contains('*') || r.ends_with('*') && r.contains('/'),
                "{f}: `{r}`: only a trailing * after a namespace"
            );
            if let Some(other) = patterns.insert(r, f) {
                panic!("`{r}` is in both {other} and {f}");
            }
        }
        for c in &i.caps {
            assert!(
                LINUX_CAPS.contains(&c.as_str()),
                "{f}: unknown capability {c}"
            );
        }
        let mut sorted = i.caps.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, i.caps, "{f}: caps sorted, without duplicates");
        for t in i.tmpfs.iter().flatten().chain(&i.volumes) {
            assert!(t.starts_with('/') && !t.ends_with('/'), "{f}: path `{t}`");
        }
        assert!(!i.user.trim().is_empty(), "{f}: no user");
        // The source note names the line that needs it: a quoted entrypoint or Dockerfile line.
        assert!(
            (i.source.contains('`') || i.repos.iter().any(|r| BASE_IMAGES.contains(&r.as_str())))
                && i.source.len() > 40
                && !i.source.contains('\n'),
            "{f}: the source note must name the entrypoint/Dockerfile line, on one line"
        );
        // Root-started entrypoints that switch user need SETUID and SETGID together.
        assert_eq!(
            i.caps.iter().any(|c| c == "SETUID"),
            i.caps.iter().any(|c| c == "SETGID"),
            "{f}: SETUID without SETGID (or the reverse)"
        );
        if !i.starts_as_root() {
            assert!(
                i.caps.is_empty(),
                "{f}: a non-root image gets no capabilities"
            );
        }
    }
    for c in USER_SWITCH_CAPS {
        assert!(DOCKER_DEFAULT_CAPS.contains(c));
    }
}

/// Every repository pattern of every entry resolves to that entry, with and without registry
/// host, `library/`, tag and digest.
#[test]
fn every_pattern_resolves_to_its_entry() {
    for i in images::table() {
        for p in &i.repos {
            let repo = concrete(p);
            let mut refs = vec![
                repo.clone(),
                format!("{repo}:1.2"),
                format!("docker.io/{repo}:latest"),
                format!("registry.example.com:5000/{repo}@sha256:0123"),
            ];
            if !repo.contains('/') {
                refs.push(format!("library/{repo}"));
                refs.push(format!("someone/{repo}:7"));
            }
            for r in refs {
                let got = images::lookup(&r).map(|e| e.family.as_str());
                assert_eq!(got, Some(i.family.as_str()), "{r}");
            }
        }
    }
}

/// What the rules make of one service of `info`'s image under the baseline profile: the
/// capabilities it gets back (with a high port and with port 80) and the read-only edit.
fn check_entry(info: &ImageInfo) {
    let f = &info.family;
    let repo = concrete(&info.repos[0]);
    let high = format!("services:\n  s:\n    image: {repo}:1\n    ports:\n      - \"127.0.0.1:8080:8080\"\n    volumes:\n      - data:/data\nvolumes:\n  data:\n");
    let r = harden("baseline", &high);
    assert_eq!(list(&r, "cap_drop"), Some(strings(&["ALL"])), "{f}");
    let want = (!info.caps.is_empty()).then(|| info.caps.clone());
    assert_eq!(list(&r, "cap_add"), want, "{f}: cap_add with a high port");
    let n = note(&r, "cap-drop-all");
    assert!(
        n.contains(&format!("built-in image table for {f} images")),
        "{f}: note `{n}`"
    );

    let low =
        format!("services:\n  s:\n    image: {repo}:1\n    ports:\n      - \"127.0.0.1:80:80\"\n");
    let r = harden("baseline", &low);
    let mut want = info.caps.clone();
    if info.low_port_cap {
        want.push("NET_BIND_SERVICE".into());
    }
    let want = (!want.is_empty()).then_some(want);
    assert_eq!(list(&r, "cap_add"), want, "{f}: cap_add with port 80");

    // read_only + tmpfs exactly when the entry knows the paths (and its data path is mounted).
    let mounts: String = info
        .volumes
        .iter()
        .map(|v| format!("      - ./data{}:{v}\n", v.replace('/', "-")))
        .collect();
    let with_mounts = if mounts.is_empty() {
        format!("services:\n  s:\n    image: {repo}:1\n")
    } else {
        format!("services:\n  s:\n    image: {repo}:1\n    volumes:\n{mounts}")
    };
    let r = harden("baseline", &with_mounts);
    let (y, _) = engine::parse(r.output.clone(), "out").expect("parses");
    let ro = y
        .lookup("services.s.read_only")
        .and_then(|n| y.scalar(n).map(str::to_string));
    match &info.tmpfs {
        Some(t) => {
            assert_eq!(ro.as_deref(), Some("true"), "{f}: read_only");
            let want = (!t.is_empty()).then(|| t.clone());
            assert_eq!(list(&r, "tmpfs"), want, "{f}: tmpfs");
        }
        None => {
            assert_eq!(ro, None, "{f}: unknown write paths: not edited");
            assert!(note(&r, "read-only-rootfs").contains("find the paths it writes"));
        }
    }
    if !info.volumes.is_empty() {
        let bare = format!("services:\n  s:\n    image: {repo}:1\n");
        let r = harden("baseline", &bare);
        assert!(
            !r.output.contains("read_only"),
            "{f}: no read_only without a volume at {:?}",
            info.volumes
        );
        assert!(
            note(&r, "read-only-rootfs").contains("mount a volume"),
            "{f}"
        );
    }

    // A non-root `user:` gets nothing back, whatever the image.
    let nonroot = format!("services:\n  s:\n    image: {repo}:1\n    user: \"1000:1000\"\n");
    let r = harden("baseline", &nonroot);
    assert_eq!(list(&r, "cap_drop"), Some(strings(&["ALL"])), "{f}");
    assert_eq!(list(&r, "cap_add"), None, "{f}: non-root user");
    assert!(note(&r, "cap-drop-all").contains("non-root `user: 1000:1000`"));
}

macro_rules! entry_tests {
    ($($name:ident => $family:literal,)*) => {
        $(
            #[test]
            fn $name() {
                let info = images::table()
                    .iter()
                    .find(|i| i.family == $family)
                    .expect(concat!("data/images.toml has ", $family));
                check_entry(info);
            }
        )*

        /// Every entry of the file has its own test above.
        #[test]
        fn every_entry_has_a_test() {
            let tested: &[&str] = &[$($family),*];
            for i in images::table() {
                assert!(
                    tested.contains(&i.family.as_str()),
                    "add `{} => \"{}\",` to entry_tests! in tests/images.rs",
                    i.family.replace(['-', ' '], "_"),
                    i.family
                );
            }
        }
    };
}

entry_tests! {
    postgres => "postgres",
    sameersbn_postgresql => "sameersbn-postgresql",
    mysql => "mysql",
    mariadb => "mariadb",
    mongo => "mongo",
    influxdb => "influxdb",
    azure_sql_edge => "azure-sql-edge",
    redis => "redis",
    valkey => "valkey",
    memcached => "memcached",
    rabbitmq => "rabbitmq",
    minio => "minio",
    nginx => "nginx",
    httpd => "httpd",
    traefik => "traefik",
    nextcloud => "nextcloud",
    nextcloud_aio => "nextcloud-aio",
    grafana => "grafana",
    grafana_loki => "grafana-loki",
    prometheus => "prometheus",
    telegraf => "telegraf",
    confluent => "confluent",
    bitnami => "bitnami",
    kafka_ui => "kafka-ui",
    flink => "flink",
    keycloak => "keycloak",
    netbox => "netbox",
    n8n => "n8n",
    mastodon => "mastodon",
    paperless_ngx => "paperless-ngx",
    sameersbn_gitlab => "sameersbn-gitlab",
    base_image => "base image",
}

#[test]
fn unknown_image_keeps_the_user_switch_set() {
    let r = harden(
        "baseline",
        "services:\n  s:\n    image: example.org/team/app:3\n",
    );
    assert_eq!(list(&r, "cap_drop"), Some(strings(&["ALL"])));
    assert_eq!(list(&r, "cap_add"), Some(strings(USER_SWITCH_CAPS)));
    let n = note(&r, "cap-drop-all");
    assert!(
        n.contains("not in the built-in image table and starts as root"),
        "{n}"
    );
    // Docker's other defaults stay dropped, and the note says so.
    for dropped in ["NET_RAW", "MKNOD", "SYS_CHROOT"] {
        assert!(!r.output.contains(&format!("- {dropped}")), "{dropped}");
        assert!(n.contains(dropped), "{n}");
    }

    // `user: root` and an interpolated user are taken as root; a non-root user gets nothing.
    for (user, says) in [
        ("root", "`user: root`"),
        ("\"${UID}:${GID}\"", "interpolated"),
    ] {
        let r = harden(
            "baseline",
            &format!("services:\n  s:\n    image: example/app\n    user: {user}\n"),
        );
        assert_eq!(
            list(&r, "cap_add"),
            Some(strings(USER_SWITCH_CAPS)),
            "{user}"
        );
        assert!(note(&r, "cap-drop-all").contains(says), "{user}");
    }
    let r = harden(
        "baseline",
        "services:\n  s:\n    image: example/app\n    user: app\n",
    );
    assert_eq!(list(&r, "cap_add"), None);

    // `privileged` replaced on an unknown image gets the same set.
    let r = harden(
        "baseline",
        "services:\n  s:\n    image: example/app\n    privileged: true\n",
    );
    assert_eq!(list(&r, "cap_add"), Some(strings(USER_SWITCH_CAPS)));

    // With the table off, known images are treated as unknown too.
    let r = harden_with(
        "extends = \"baseline\"\n[rules.cap-drop-all]\nimage-table = false\n",
        "services:\n  s:\n    image: grafana/grafana:11\n",
    );
    assert_eq!(list(&r, "cap_add"), Some(strings(USER_SWITCH_CAPS)));
}

#[test]
fn known_non_root_image_started_as_root_gets_the_user_switch_set() {
    let r = harden(
        "baseline",
        "services:\n  s:\n    image: grafana/grafana:11\n    user: \"0\"\n",
    );
    assert_eq!(list(&r, "cap_add"), Some(strings(USER_SWITCH_CAPS)));
    assert!(note(&r, "cap-drop-all").contains("normally run as grafana (472)"));
}

#[test]
fn profile_entries_replace_the_table() {
    let compose = "services:\n  s:\n    image: influxdb:2.7\n  t:\n    image: influxdb:2.7\n";
    let r = harden_with(
        "extends = \"baseline\"\n[images.\"influxdb\"]\ncap-add = [\"SETUID\", \"SETGID\"]\ntmpfs = [\"/var/tmp\"]\n\n[services.t]\ncap-add = [\"CHOWN\"]\n",
        compose,
    );
    assert!(r.errors().is_empty(), "{:?}", r.errors());
    assert_eq!(list(&r, "cap_add"), Some(strings(&["SETUID", "SETGID"])));
    assert_eq!(list(&r, "tmpfs"), Some(strings(&["/var/tmp"])));
    let (y, _) = engine::parse(r.output.clone(), "out").expect("parses");
    let t = y.lookup("services.t.cap_add").expect("t has cap_add");
    let items: Vec<&str> = y
        .items(t)
        .expect("list")
        .iter()
        .map(|&i| y.scalar(i).expect("scalar"))
        .collect();
    assert_eq!(items, ["CHOWN"]);
}

#[test]
fn docs_images_md_is_generated_from_the_data_file() {
    let out = images::markdown();
    let path = support::root().join("docs/images.md");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &out).expect("write docs/images.md");
    }
    let committed = std::fs::read_to_string(&path).expect("docs/images.md exists (UPDATE_DOCS=1)");
    assert_eq!(
        committed, out,
        "docs/images.md is stale: run UPDATE_DOCS=1 cargo test --test images"
    );
}

/// How many services of the corpus use each repository (and in how many files), ranked.
fn corpus_ranking() -> Vec<(String, usize, usize)> {
    let mut services: BTreeMap<String, (usize, HashSet<String>)> = BTreeMap::new();
    for f in support::corpus_files() {
        let d = f.to_string_lossy().into_owned();
        let Ok(text) = engine::read(&f, &d, u64::MAX) else {
            continue;
        };
        let Ok((y, c)) = engine::parse(text, &d) else {
            continue;
        };
        for s in &c.services {
            let Some(image) = s.image(&y) else { continue };
            let repo = compose_harden::compose::image::repository(image);
            let e = services.entry(repo).or_default();
            e.0 += 1;
            e.1.insert(d.clone());
        }
    }
    let mut v: Vec<(String, usize, usize)> = services
        .into_iter()
        .map(|(r, (n, files))| (r, n, files.len()))
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
    v
}

/// Corpus images among the most used whose entrypoint could not be read to write an entry:
/// they get the unknown-image set (which keeps a root-started, user-switching entrypoint
/// working). Each needs a real entry before it can leave this list.
const NOT_YET_IN_THE_TABLE: &[(&str, &str)] = &[
    (
        "conduktor/conduktor-console",
        "closed-source image: no entrypoint or Dockerfile to cite",
    ),
    (
        "fireflyiii/core",
        "built on a base image whose Dockerfile and entrypoint were not available to read",
    ),
];

/// The images the corpus uses most are in the table: of the 42 most used repositories whose
/// name is written out (not interpolated), ranked by services then files, at least 40 have an
/// entry and the others are listed in [`NOT_YET_IN_THE_TABLE`] with a reason.
#[test]
fn table_covers_the_images_most_used_in_the_corpus() {
    let ranking = corpus_ranking();
    if ranking.is_empty() {
        return;
    }
    let literal: Vec<&(String, usize, usize)> = ranking
        .iter()
        .filter(|(r, _, _)| !r.contains(['$', '{', '}']))
        .collect();
    let services: usize = ranking.iter().map(|r| r.1).sum();
    let covered: usize = literal
        .iter()
        .filter(|(r, _, _)| images::lookup(r).is_some())
        .map(|r| r.1)
        .sum();
    eprintln!(
        "corpus: {} repositories ({} written out) in {services} services; the table covers {} \
repositories, {covered} services",
        ranking.len(),
        literal.len(),
        literal
            .iter()
            .filter(|(r, _, _)| images::lookup(r).is_some())
            .count()
    );
    let (mut missing, mut covered_top) = (Vec::new(), 0);
    for (rank, (repo, n, files)) in literal.iter().take(42).enumerate() {
        let family = images::lookup(repo).map(|i| i.family.as_str());
        eprintln!(
            "{:>3}. {repo:<45} {n:>3} services {files:>3} files  {}",
            rank + 1,
            family.unwrap_or("NOT IN THE TABLE")
        );
        match family {
            Some(_) => covered_top += 1,
            None if NOT_YET_IN_THE_TABLE.iter().any(|(r, _)| r == repo) => {}
            None => missing.push(repo.clone()),
        }
    }
    assert!(
        missing.is_empty(),
        "top corpus images without a data/images.toml entry: {missing:?}"
    );
    assert!(
        covered_top >= 40,
        "only {covered_top} of the top 42 covered"
    );
    for (repo, _) in NOT_YET_IN_THE_TABLE {
        assert!(
            images::lookup(repo).is_none(),
            "{repo} has an entry now: remove it from NOT_YET_IN_THE_TABLE"
        );
    }
}
