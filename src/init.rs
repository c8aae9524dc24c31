//! `compose-harden init`: a commented starter profile written from the current findings —
//! published ports as `keep`/`loopback` candidates, the capabilities each image needs, and
//! read-only candidates with their tmpfs paths — for the operator to review and adjust.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::engine::FileResult;
use crate::rules::hardening;
use crate::yaml::NodeKind;

/// What one service needs a decision on.
#[derive(Debug, Default)]
struct Decisions {
    image: Option<String>,
    /// Published port keys (`"5432"`, `"514/udp"`) with the mapping as written.
    ports: Vec<(String, String)>,
    caps: bool,
    read_only: bool,
}

fn port_key(fr: &FileResult, at: usize) -> Option<(String, String)> {
    let y = &fr.yaml;
    let node = y.nodes.iter().position(|n| n.span.start == at)?;
    let node = y.resolve(node);
    if let Some(text) = y.scalar(node) {
        if matches!(y.node(node).kind, NodeKind::Scalar { .. }) {
            let p = crate::compose::ports::parse_short(text).ok()?;
            let mut key = p.published.clone().unwrap_or_else(|| p.target.clone());
            if let Some(proto) = p.protocol.filter(|p| p != "tcp") {
                key = format!("{key}/{proto}");
            }
            return Some((key, text.to_string()));
        }
    }
    // Long syntax: `published` (or `target`) and `protocol` keys.
    let get = |k: &str| y.get(node, k).and_then(|v| y.scalar(v)).map(str::to_string);
    let mut key = get("published").or_else(|| get("target"))?;
    if let Some(proto) = get("protocol").filter(|p| p != "tcp") {
        key = format!("{key}/{proto}");
    }
    Some((key.clone(), format!("published {key}")))
}

/// The starter profile for the checked files (`results`), as TOML text.
pub fn starter_profile(results: &[FileResult]) -> String {
    let mut services: BTreeMap<String, Decisions> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for fr in results {
        for svc in &fr.compose.services {
            let key = svc.at(&fr.yaml);
            let span = key..fr.yaml.node(svc.node).span.end;
            // An alias service's mapping lies elsewhere: only findings at its key are its own.
            let own = |at: usize| at == key || (!svc.is_alias && span.contains(&at));
            for f in fr.findings.iter().filter(|f| own(f.at)) {
                if !order.contains(&svc.name) {
                    order.push(svc.name.clone());
                }
                let d = services.entry(svc.name.clone()).or_default();
                d.image = svc.image(&fr.yaml).map(str::to_string);
                match f.rule {
                    // Info: kept by the profile, or handled with its Kafka listener.
                    "public-port" if f.severity == crate::rules::Severity::Info => {}
                    "public-port" => {
                        if let Some(p) = port_key(fr, f.at) {
                            if !d.ports.contains(&p) {
                                d.ports.push(p);
                            }
                        }
                    }
                    "cap-drop-all" | "privileged" => d.caps = true,
                    "read-only-rootfs" => d.read_only = true,
                    _ => {}
                }
            }
        }
    }
    let mut s = String::from(
        "# compose-harden profile written by `compose-harden init` from the current findings.\n\
# Every decision below is a starting point: review each one, then run\n\
#   compose-harden diff --profile ./compose-harden.toml\n\
# and test the stack. Reference: `compose-harden explain RULE`, docs/profiles.md.\n\
extends = \"baseline\"\n",
    );
    for name in &order {
        let d = &services[name];
        if d.ports.is_empty() && !d.caps && !d.read_only {
            continue;
        }
        let _ = write!(s, "\n[services.{}]\n", toml_key(name));
        let image = d.image.as_deref().unwrap_or("(no image)");
        let known = d.image.as_deref().and_then(hardening::lookup);
        if !d.ports.is_empty() {
            s.push_str(
                "# Published on all host interfaces. \"loopback\" binds to 127.0.0.1 (what the\n\
# baseline does), \"keep\" leaves it public (then restrict it by source: allow-from =\n\
# [\"10.0.0.0/24\"] and the host firewall), \"drop\" removes the mapping.\n",
            );
            for (key, written) in &d.ports {
                let _ = writeln!(s, "#   {key}: `{written}`");
            }
            let list: Vec<String> = d
                .ports
                .iter()
                .map(|(k, _)| format!("\"{k}\" = \"loopback\""))
                .collect();
            let _ = writeln!(s, "port-actions = {{ {} }}", list.join(", "));
        }
        if d.caps {
            match known {
                Some(i) => {
                    let caps: Vec<String> = i.caps.iter().map(|c| format!("\"{c}\"")).collect();
                    let _ = writeln!(
                        s,
                        "# Capabilities `{image}` gets back after cap_drop: [ALL] (built-in table for\n\
# {} images); remove those the service does not need.\ncap-add = [{}]",
                        i.family,
                        caps.join(", ")
                    );
                }
                None => {
                    let _ = writeln!(
                        s,
                        "# `{image}` is not in the built-in image table: it gets cap_drop: [ALL] with the\n\
# set a root-started, user-switching entrypoint needs ({}). Narrow it once you\n\
# know what the image needs, e.g.:\n# cap-add = [\"SETUID\", \"SETGID\"]",
                        crate::rules::images::USER_SWITCH_CAPS.join(", ")
                    );
                }
            }
        }
        if d.read_only {
            match known.and_then(|i| i.tmpfs.as_ref().map(|t| (i.family.as_str(), t))) {
                Some((family, t)) => {
                    let paths: Vec<String> = t.iter().map(|p| format!("\"{p}\"")).collect();
                    let _ = writeln!(
                        s,
                        "# Read-only root filesystem candidate: tmpfs paths {family} images write.\n\
read-only = true\ntmpfs = [{}]",
                        paths.join(", ")
                    );
                }
                None => {
                    let _ = writeln!(
                        s,
                        "# Read-only root filesystem: find the paths `{image}` writes outside its volumes\n\
# (run it with read_only: true and read the log, or `docker diff`), then:\n\
# read-only = true\n# tmpfs = [\"/tmp\"]\n# or accept a writable root filesystem:\n# read-only = false"
                    );
                }
            }
        }
    }
    s
}

/// A TOML key: bare when it can be, quoted otherwise.
fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        k.to_string()
    } else {
        format!("\"{}\"", k.replace('\\', "\\\\").replace('"', "\\\""))
    }
}
