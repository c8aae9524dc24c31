//! `logging-limits`: container logs are bounded (`max-size`/`max-file` on the json-file
//! driver), so a chatty or attacked service cannot fill the host's disk.

use super::hardening::ServiceEdit;
use super::{Ctx, Finding, Inherit, Rule, RuleMeta, Severity};
use crate::profile::{LoggingScope, Profile};
use crate::yaml::{ops, Applicability, Change, Edit, Fix, NewNode, NodeId, NodeKind, Path, Yaml};

/// The rule.
pub struct LoggingLimits;

/// The rule id.
pub const ID: &str = "logging-limits";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "container logs are unbounded (json-file driver without `max-size`)",
    why: "Docker's default `json-file` log driver keeps everything a container prints, in one \
file that only grows. A service stuck in an error loop, a debug log level left on, or an \
attacker flooding an endpoint that logs each request fills the disk under /var/lib/docker, \
and then every container on the host fails (databases first). `max-size` and `max-file` \
make Docker rotate the file (the deployment guide this tool follows lists logging limits \
among the production checks).",
    fix: "A service whose `logging:` uses the json-file driver (or names no driver) and sets no \
`max-size` gets `max-size: 10m` and `max-file: \"3\"` (the profile's values) under \
`logging.options`. With `scope = \"all\"` (profiles `strict` and `production`) a service with \
no `logging:` at all gets `logging: {driver: json-file, options: {max-size: 10m, max-file: \
\"3\"}}`. A `logging:` shared through an anchor (`logging: *default-logging`, or merged with \
`<<`) is fixed once, in the anchor. Drivers that bound their files themselves (`local`) or \
send logs elsewhere (`syslog`, `journald`, `fluentd`, `gelf`, `awslogs`, `none`, …) are left \
alone.",
    breaks: "`docker logs` shows only the last ~30 MB (3 × 10m) per container; ship logs \
elsewhere if you need more history. Adding a whole `logging:` block (scope `all`) pins the \
driver to json-file: a host whose daemon.json sets another default driver (journald, local, \
a log shipper's) stops sending this service's logs there — set the limits in daemon.json \
(`log-opts`) instead and ignore the rule for such hosts. With no `driver:` named, the options \
go to the daemon's default driver; drivers other than json-file and local reject `max-size` \
and the container does not start.",
    applicability: Applicability::Review,
    severity: Severity::Medium,
    options: "[rules.logging-limits]\nenabled = true\nscope = \"declared\"   # or \"all\": also \
services without `logging:`\nmax-size = \"10m\"\nmax-file = 3\n\n[services.NAME]\nignore = \
[\"logging-limits\"]",
    before: "services:\n  api:\n    image: example/api:1.4\n    logging:\n      driver: json-file",
    after: "services:\n  api:\n    image: example/api:1.4\n    logging:\n      driver: json-file\n      options:\n        max-size: 10m\n        max-file: \"3\"",
};

/// The options to write: `max-size` and `max-file` with the profile's values.
fn option_nodes(profile: &Profile) -> Vec<(String, NewNode)> {
    let (_, size, files) = profile.logging_limits();
    vec![
        ("max-size".into(), NewNode::Str(size)),
        ("max-file".into(), NewNode::Str(files.to_string())),
    ]
}

/// The `logging:` block a new service gets when the profile bounds every service's logs
/// (`scope = "all"`), so services other rules add (a socket proxy) are already compliant.
pub fn block_for_new_service(profile: &Profile) -> Option<NewNode> {
    let (scope, _, _) = profile.logging_limits();
    (profile.rules.enabled(ID) == Some(true) && scope == LoggingScope::All).then(|| {
        NewNode::Map(vec![
            ("driver".into(), NewNode::Str("json-file".into())),
            ("options".into(), NewNode::Map(option_nodes(profile))),
        ])
    })
}

/// What a `logging:` mapping says about limits.
enum State {
    /// Bounded, or a driver this rule leaves alone.
    Fine,
    /// json-file (named or not) without `max-size`.
    Unbounded {
        /// Whether `driver:` names json-file (else the daemon default applies).
        named: bool,
    },
    /// The driver is interpolated or not a string.
    Unknown(String),
}

fn state(y: &Yaml, logging: NodeId) -> State {
    let driver = match y.get(logging, "driver") {
        None => None,
        Some(d) => match y.scalar(d) {
            Some(v) if v.contains('$') => {
                return State::Unknown(format!("the driver `{v}` is interpolated"))
            }
            Some(v) => Some(v.trim().to_ascii_lowercase()),
            None => return State::Unknown("`driver` is not a string".into()),
        },
    };
    if driver.as_deref().is_some_and(|d| d != "json-file") {
        return State::Fine;
    }
    let size = y
        .get(logging, "options")
        .and_then(|o| y.get(o, "max-size"))
        .and_then(|v| y.scalar(v));
    match size {
        Some(v) if v.trim() != "-1" && !v.trim().is_empty() => State::Fine,
        _ => State::Unbounded {
            named: driver.is_some(),
        },
    }
}

/// Edits that add the missing options to the `logging:` mapping `logging` at `path`.
fn plan(
    y: &Yaml,
    logging: NodeId,
    path: &Path,
    profile: &Profile,
) -> Result<(Vec<Edit>, Vec<Change>), String> {
    let wanted = option_nodes(profile);
    match y.get(logging, "options") {
        None => {
            let value = NewNode::Map(wanted);
            let edit = ops::insert_key(y, logging, "options", &value)?;
            Ok((
                vec![edit],
                vec![Change::InsertKey(
                    path.clone(),
                    "options".into(),
                    value.value(),
                )],
            ))
        }
        Some(o) if y.resolve(o) == o && matches!(y.node(o).kind, NodeKind::Map { .. }) => {
            let opath = path.key("options");
            let mut edits = Vec::new();
            let mut changes = Vec::new();
            let mut add = Vec::new();
            for (k, v) in wanted {
                match y.get(o, &k) {
                    None => add.push((k, v)),
                    Some(cur) if k == "max-size" => {
                        // `-1` or empty: unlimited; replace it.
                        let NewNode::Str(text) = &v else { continue };
                        edits.push(ops::replace_scalar(y, cur, text, ops::Quote::Keep)?);
                        changes.push(Change::Set(opath.key(&k), v.value()));
                    }
                    Some(_) => {}
                }
            }
            for (k, v) in &add {
                changes.push(Change::InsertKey(opath.clone(), k.clone(), v.value()));
            }
            if let Some(e) = ops::insert_keys(y, o, &add)? {
                edits.push(e);
            }
            Ok((edits, changes))
        }
        Some(_) => Err("`logging.options` is an alias, empty or not a mapping".into()),
    }
}

impl Rule for LoggingLimits {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let y = ctx.y;
        let (scope, size, files) = ctx.profile.logging_limits();
        let title = format!("Bound the logs: `max-size: {size}`, `max-file: \"{files}\"`");
        // Shared `logging:` nodes already fixed (or refused) through an earlier service.
        let mut shared_done: Vec<(NodeId, String)> = Vec::new();
        for svc in ctx.services(ID) {
            let mut finding = Finding {
                file: ctx.file,
                rule: ID,
                at: svc.at(y),
                message: format!("service `{}` has unbounded json-file logs", svc.name),
                severity: Severity::Warning,
                fix: None,
                note: None,
            };
            let Some(setting) = svc.get(y, "logging") else {
                if scope == LoggingScope::Declared {
                    continue;
                }
                finding.message = format!(
                    "service `{}` sets no logging limits (the default json-file driver keeps every line)",
                    svc.name
                );
                match ctx.inherits(svc, ID) {
                    Inherit::FromBase => continue,
                    Inherit::Unknown => {
                        finding.note = Some(
                            "it `extends` a service from another file; bound the logs there".into(),
                        );
                        out.push(finding);
                        continue;
                    }
                    Inherit::No => {}
                }
                let block = NewNode::Map(vec![
                    ("driver".into(), NewNode::Str("json-file".into())),
                    ("options".into(), NewNode::Map(option_nodes(ctx.profile))),
                ]);
                let planned = ServiceEdit::new(y, svc, ctx.prefers_flow()).and_then(|mut e| {
                    e.add_key("logging", block);
                    e.finish()
                });
                match planned {
                    Ok((edits, changes)) => {
                        finding.note = Some(
                            "review: pins the json-file driver; on a host whose daemon.json sets another default driver, set `log-opts` there instead".into(),
                        );
                        finding.fix = Some(Fix::new(
                            ID,
                            title.clone(),
                            Applicability::Review,
                            edits,
                            changes,
                            svc.at(y),
                        ));
                    }
                    Err(why) => finding.note = Some(format!("no automatic fix: {why}")),
                }
                out.push(finding);
                continue;
            };
            let node = setting.resolved;
            if !matches!(y.node(node).kind, NodeKind::Map { .. }) {
                continue;
            }
            let named = match state(y, node) {
                State::Fine => continue,
                State::Unknown(why) => {
                    finding.note = Some(format!("{why}; if it is json-file, add `max-size`"));
                    out.push(finding);
                    continue;
                }
                State::Unbounded { named } => named,
            };
            let applicability = if named {
                Applicability::Safe
            } else {
                finding.message = format!(
                    "service `{}` sets logging options without `max-size` (daemon default driver)",
                    svc.name
                );
                Applicability::Review
            };
            let shared = !setting.is_local() || svc.is_alias;
            if shared {
                if let Some((_, first)) = shared_done.iter().find(|(n, _)| *n == node) {
                    finding.note = Some(format!(
                        "`logging` is shared through an anchor; fixed there with `{first}`"
                    ));
                    out.push(finding);
                    continue;
                }
                shared_done.push((node, svc.name.clone()));
                if let Some(other) = ctx.compose.services.iter().find(|o| {
                    ctx.profile.service_ignores(&o.name, ID)
                        && o.get(y, "logging").is_some_and(|s| s.resolved == node)
                }) {
                    finding.note = Some(format!(
                        "`logging` is shared through an anchor with `{}`, which the profile ignores; add `max-size` there yourself",
                        other.name
                    ));
                    out.push(finding);
                    continue;
                }
            }
            let path = if shared {
                y.path_of(node)
            } else {
                svc.path.key("logging")
            };
            match plan(y, node, &path, ctx.profile) {
                Ok((edits, changes)) if !edits.is_empty() => {
                    if shared {
                        finding.note = Some(
                            "`logging` is shared through an anchor: the anchor is fixed, for every service using it".into(),
                        );
                    } else if !named {
                        finding.note = Some(
                            "review: the options go to the daemon's default driver (json-file and local accept them)".into(),
                        );
                    }
                    finding.fix = Some(Fix::new(
                        ID,
                        title.clone(),
                        applicability,
                        edits,
                        changes,
                        svc.at(y),
                    ));
                }
                Ok(_) => continue,
                Err(why) => finding.note = Some(format!("no automatic fix: {why}")),
            }
            out.push(finding);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(t: &str) -> &'static str {
        let y = Yaml::parse(t.to_string()).expect("parses");
        let root = y.docs[0].root;
        match state(&y, y.get(root, "logging").expect("logging")) {
            State::Fine => "fine",
            State::Unbounded { named: true } => "json-file",
            State::Unbounded { named: false } => "default",
            State::Unknown(_) => "unknown",
        }
    }

    #[test]
    fn states() {
        assert_eq!(st("logging: {driver: json-file}"), "json-file");
        assert_eq!(
            st("logging: {driver: json-file, options: {max-size: 1m}}"),
            "fine"
        );
        assert_eq!(
            st("logging: {driver: json-file, options: {max-size: '-1'}}"),
            "json-file"
        );
        assert_eq!(st("logging: {options: {tag: x}}"), "default");
        assert_eq!(st("logging: {driver: local}"), "fine");
        assert_eq!(st("logging: {driver: syslog}"), "fine");
        assert_eq!(st("logging: {driver: \"${D}\"}"), "unknown");
    }
}
