//! The declared MSRV (`rust-version` in Cargo.toml) is at least what every locked dependency
//! that is built for the tool (not dev-dependencies) declares, on the main desktop and server
//! targets. A dependency bump that needs a newer compiler fails here: raise `rust-version`.

use std::process::Command;

const TARGETS: &[&str] = &[
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
];

fn version(v: &str) -> Vec<u64> {
    let mut p: Vec<u64> = v.split('.').map(|x| x.parse().unwrap_or(0)).collect();
    p.resize(3, 0);
    p
}

fn metadata(target: &str) -> Option<serde_json::Value> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for offline in [true, false] {
        let mut c = Command::new(&cargo);
        c.current_dir(env!("CARGO_MANIFEST_DIR")).args([
            "metadata",
            "--locked",
            "--format-version",
            "1",
            "--filter-platform",
            target,
        ]);
        if offline {
            c.arg("--offline");
        }
        if let Ok(o) = c.output() {
            if o.status.success() {
                return serde_json::from_slice(&o.stdout).ok();
            }
        }
    }
    None
}

#[test]
fn declared_msrv_covers_the_locked_dependencies() {
    let manifest: toml::Table =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
            .expect("read Cargo.toml")
            .parse()
            .expect("Cargo.toml parses");
    let declared = manifest["package"]["rust-version"]
        .as_str()
        .expect("package.rust-version is declared");
    for target in TARGETS {
        let Some(m) = metadata(target) else {
            eprintln!("SKIPPED: cargo metadata failed for {target} (no registry access?)");
            continue;
        };
        let packages: std::collections::HashMap<&str, &serde_json::Value> = m["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["id"].as_str().unwrap(), p))
            .collect();
        let nodes: std::collections::HashMap<&str, &serde_json::Value> = m["resolve"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| (n["id"].as_str().unwrap(), n))
            .collect();
        let mut stack = vec![m["resolve"]["root"].as_str().unwrap()];
        let mut seen = std::collections::HashSet::new();
        let mut need: (Vec<u64>, String) = (version(declared), "compose-harden".into());
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            let p = packages[id];
            if let Some(rv) = p["rust_version"].as_str() {
                if version(rv) > need.0 {
                    need = (
                        version(rv),
                        format!("{} {} (rust-version {rv})", p["name"], p["version"]),
                    );
                }
            }
            for d in nodes[id]["deps"].as_array().unwrap() {
                let only_dev = d["dep_kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|k| k["kind"] == "dev");
                if !only_dev {
                    stack.push(d["pkg"].as_str().unwrap());
                }
            }
        }
        assert!(
            need.0 <= version(declared),
            "{target}: rust-version {declared} in Cargo.toml, but {} needs more: raise rust-version",
            need.1
        );
    }
}

#[test]
fn readme_states_the_declared_msrv() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest: toml::Table = std::fs::read_to_string(root.join("Cargo.toml"))
        .expect("Cargo.toml")
        .parse()
        .expect("Cargo.toml parses");
    let declared = manifest["package"]["rust-version"]
        .as_str()
        .expect("package.rust-version is declared");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    assert!(
        readme.contains(&format!("{declared} or newer")),
        "README.md's install section must say the toolchain it needs: `{declared} or newer`"
    );
}
