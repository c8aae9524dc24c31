//! `kafka-host-listener`: a Kafka broker advertises a listener for clients outside the Compose
//! network; remove it (with the `ports:` item that publishes it) or bind its port to loopback.

use std::collections::BTreeMap;

use super::public_port::{self, ItemEdit, PortItem};
use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::compose::kafka::{self, ListenerVar, Plan, PrunedListener};
use crate::compose::ports::Exposure;
use crate::compose::Service;
use crate::profile::KafkaAction;
use crate::yaml::{ops, Applicability, Change, Edit, Fix, NodeId, NodeKind, Path, Value, Yaml};

/// The rule.
pub struct KafkaHostListener;

/// The rule id.
pub const ID: &str = "kafka-host-listener";

const SASL_ADVICE: &str = "never publish a PLAINTEXT Kafka listener on an address that routes \
beyond the host: if outside consumers need it, use SASL_SSL on the external listener \
(`SASL_SSL://${HOST_IP}:9092`, `KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: ...,SASL_SSL:SASL_SSL`, \
`KAFKA_SASL_ENABLED_MECHANISMS: SCRAM-SHA-512`, keystore/truststore settings), and keep the \
internal PLAINTEXT listener for services on the Compose network";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "Kafka broker advertises a listener for clients outside the Compose network",
    why: "A listener advertised as `localhost`, an IP, `${HOST_IP}`, `host.docker.internal` or a \
name that is not a service, container_name, hostname or network alias of the file exists only \
for clients outside the Compose network. With its `ports:` mapping it makes the broker reachable \
from the network, usually as PLAINTEXT: anyone who can reach the port can read and write every \
topic (the OpenBMP hardening checklist, Priority 2). Services of the stack use the internal listener.",
    fix: "`drop` (default): remove the listener from KAFKA_LISTENERS, KAFKA_ADVERTISED_LISTENERS \
and KAFKA_LISTENER_SECURITY_PROTOCOL_MAP (and the bitnami KAFKA_CFG_ equivalents), keeping \
each value's separator style, and remove the `ports:` item that published it (the `ports` key \
too when it becomes empty). `loopback`: keep the listener and bind its published port to \
127.0.0.1. Inter-broker and controller listeners are never removed; a fix that would leave \
settings naming a missing listener, or a protocol map entry without listener, is refused.\n\
A broker with no host-facing listener that still publishes a port in 9092-9094 that no \
listener uses nor any setting names, while its protocol map keeps an entry for a listener that \
no longer exists (a host listener removed by hand, as in the OpenBMP stack), gets that port and \
the stale entry removed (`loopback`: the port bound to 127.0.0.1 instead).\n\
If a PLAINTEXT listener stays published beyond the host, use SASL_SSL on it: \
`SASL_SSL://${HOST_IP}:9092` with `SASL_SSL:SASL_SSL` in the protocol map, \
`KAFKA_SASL_ENABLED_MECHANISMS: SCRAM-SHA-512` and keystore/truststore settings.",
    breaks: "Consumers and producers outside the Compose network (tools on the host, other \
hosts) lose access to the broker. Services in the stack that use the internal listener are not \
affected.",
    applicability: Applicability::Review,
    options: "[rules.kafka-host-listener]\nenabled = true\naction = \"drop\"   # drop | loopback | keep",
    before: "  kafka:\n    ports:\n      - \"9092:9092\"\n    environment:\n      \
KAFKA_ADVERTISED_LISTENERS: PLAINTEXT://kafka:29092,PLAINTEXT_HOST://localhost:9092\n      \
KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT",
    after: "  kafka:\n    environment:\n      KAFKA_ADVERTISED_LISTENERS: PLAINTEXT://kafka:29092\n      \
KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: PLAINTEXT:PLAINTEXT",
};

/// One listener-related environment variable of a service.
struct EnvVar {
    var: ListenerVar,
    key: String,
    value: String,
    /// The scalar node holding it.
    node: NodeId,
    /// Its path.
    path: Path,
    /// `- KEY=value` (true) or `KEY: value` (false).
    list_form: bool,
    /// Written in place in the service's own mapping.
    editable: bool,
}

fn env_vars(y: &Yaml, svc: &Service) -> Vec<EnvVar> {
    let mut out = Vec::new();
    let Some(setting) = svc.get(y, "environment") else {
        return out;
    };
    let local = setting.is_local() && !svc.is_alias;
    let base = svc.path.key("environment");
    match &y.node(setting.resolved).kind {
        NodeKind::Seq { items } => {
            for (i, &raw) in items.iter().enumerate() {
                let node = y.resolve(raw);
                let Some(text) = y.scalar(node) else { continue };
                let Some((k, v)) = text.split_once('=') else {
                    continue;
                };
                if let Some(var) = kafka::classify_var(k) {
                    out.push(EnvVar {
                        var,
                        key: k.to_string(),
                        value: v.to_string(),
                        node,
                        path: base.index(i),
                        list_form: true,
                        editable: local && node == raw,
                    });
                }
            }
        }
        NodeKind::Map { entries } => {
            // Own entries first, then entries merged with `<<` (not editable here).
            let mut maps: Vec<(NodeId, bool)> = vec![(setting.resolved, local)];
            for e in entries {
                if y.scalar(e.key) != Some("<<") {
                    continue;
                }
                let v = y.resolve(e.value);
                match &y.node(v).kind {
                    NodeKind::Map { .. } => maps.push((v, false)),
                    NodeKind::Seq { items } => {
                        maps.extend(items.iter().map(|&i| (y.resolve(i), false)))
                    }
                    _ => {}
                }
            }
            let mut seen: Vec<String> = Vec::new();
            for (map, own) in maps {
                let Some(entries) = y.entries(map) else {
                    continue;
                };
                for e in entries {
                    let Some(k) = y.scalar(e.key) else { continue };
                    let Some(var) = kafka::classify_var(k) else {
                        continue;
                    };
                    if seen.iter().any(|s| s == k) {
                        continue;
                    }
                    seen.push(k.to_string());
                    let node = y.resolve(e.value);
                    if y.is_null(node) {
                        continue;
                    }
                    let Some(v) = y.scalar(node) else { continue };
                    out.push(EnvVar {
                        var,
                        key: k.to_string(),
                        value: v.to_string(),
                        node,
                        path: base.key(k),
                        list_form: false,
                        editable: own && node == e.value,
                    });
                }
            }
        }
        _ => {}
    }
    out
}

/// Names reachable only inside the Compose network: service names, container names, host
/// names, network aliases and static addresses of every service of the file (lower-cased).
fn internal_names(ctx: &Ctx<'_>) -> Vec<String> {
    let y = ctx.y;
    let mut names = Vec::new();
    for s in &ctx.compose.services {
        names.push(s.name.to_ascii_lowercase());
        for k in ["container_name", "hostname"] {
            if let Some(v) = s.scalar(y, k) {
                names.push(v.to_ascii_lowercase());
            }
        }
        if let (Some(h), Some(d)) = (s.scalar(y, "hostname"), s.scalar(y, "domainname")) {
            names.push(format!("{h}.{d}").to_ascii_lowercase());
        }
        if let Some(links) = s.get(y, "links").and_then(|l| y.items(l.resolved)) {
            for &l in links {
                if let Some(alias) = y.scalar(y.resolve(l)).and_then(|t| t.split(':').nth(1)) {
                    names.push(alias.to_ascii_lowercase());
                }
            }
        }
        let Some(nets) = s.get(y, "networks").and_then(|n| y.entries(n.resolved)) else {
            continue;
        };
        for e in nets {
            let v = y.resolve(e.value);
            if let Some(aliases) = y.get(v, "aliases").and_then(|a| y.items(y.resolve(a))) {
                for &a in aliases {
                    if let Some(t) = y.scalar(y.resolve(a)) {
                        names.push(t.to_ascii_lowercase());
                    }
                }
            }
            for k in ["ipv4_address", "ipv6_address"] {
                if let Some(t) = y.get(v, k).and_then(|n| y.scalar(y.resolve(n))) {
                    names.push(t.to_ascii_lowercase());
                }
            }
        }
    }
    names
}

/// What the rule decides for one broker service.
struct Analysis {
    finding: Finding,
    /// Port item indices the fix edits (empty when there is no fix).
    owned: Vec<usize>,
}

fn is_kafka(y: &Yaml, svc: &Service, vars: &[EnvVar]) -> bool {
    svc.image(y).is_some_and(kafka::is_kafka_image)
        || vars.iter().any(|v| {
            matches!(
                v.var,
                ListenerVar::Listeners | ListenerVar::AdvertisedListeners
            )
        })
}

/// The listeners' ports, for matching `ports:` items.
fn listener_ports(vars: &[(ListenerVar, &str)], names: &[String]) -> Plan {
    let mut plan = Plan::default();
    for name in names {
        let find = |which: ListenerVar| {
            vars.iter()
                .filter(|(v, _)| *v == which)
                .filter_map(|(_, s)| kafka::parse_listeners(s).ok())
                .flatten()
                .find(|l| l.name.eq_ignore_ascii_case(name))
        };
        let adv = find(ListenerVar::AdvertisedListeners);
        let bind = find(ListenerVar::Listeners);
        plan.pruned.push(PrunedListener {
            name: name.clone(),
            advertised_host: adv.as_ref().map(|l| l.host.clone()),
            advertised_port: adv.as_ref().and_then(|l| l.port.clone()),
            listener_port: bind
                .and_then(|l| l.port)
                .or_else(|| adv.and_then(|l| l.port)),
        });
    }
    plan
}

fn matching_ports(plan: &Plan, items: &[PortItem]) -> Vec<usize> {
    items
        .iter()
        .filter(|it| {
            it.published_target()
                .is_some_and(|(p, t)| plan.matches_port(p, t))
        })
        .map(|it| it.index)
        .collect()
}

fn analyze(ctx: &Ctx<'_>, svc: &Service) -> Option<Analysis> {
    let y = ctx.y;
    let vars = env_vars(y, svc);
    if !is_kafka(y, svc, &vars) {
        return None;
    }
    let tuples: Vec<(ListenerVar, &str)> = vars.iter().map(|v| (v.var, v.value.as_str())).collect();
    let internal = internal_names(ctx);
    let is_internal = |h: &str| {
        let h = h.trim().trim_start_matches('[').trim_end_matches(']');
        internal.iter().any(|n| n.eq_ignore_ascii_case(h))
    };
    let at = vars
        .iter()
        .find(|v| v.var == ListenerVar::AdvertisedListeners)
        .or_else(|| vars.first())
        .map_or(svc.at(y), |v| y.node(v.node).span.start);
    let mut finding = Finding {
        rule: ID,
        at,
        message: String::new(),
        severity: Severity::Warning,
        fix: None,
        note: None,
    };
    let facing = match kafka::host_facing_listeners(&tuples, &is_internal) {
        Ok(f) => f,
        Err(e) => {
            finding.message = format!(
                "Kafka service `{}`: listener settings not understood",
                svc.name
            );
            finding.note = Some(format!("no automatic fix: {e}"));
            return Some(Analysis {
                finding,
                owned: Vec::new(),
            });
        }
    };
    if facing.is_empty() {
        return unused_ports(ctx, svc, &vars, finding);
    }
    let mut names: Vec<String> = Vec::new();
    for l in &facing {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(&l.name)) {
            names.push(l.name.clone());
        }
    }
    let shown: Vec<String> = facing
        .iter()
        .map(|l| {
            format!(
                "{} ({}{})",
                l.name,
                l.host,
                l.port
                    .as_deref()
                    .map(|p| format!(":{p}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    finding.message = format!(
        "Kafka service `{}` advertises listener(s) for clients outside the Compose network: {}",
        svc.name,
        shown.join(", ")
    );
    let ports = public_port::read_ports(y, svc);
    let port_items: &[PortItem] = ports.as_ref().map_or(&[], |(_, v)| v.as_slice());
    let ports_plan = listener_ports(&tuples, &names);
    let published = matching_ports(&ports_plan, port_items);
    let beyond_host = published
        .iter()
        .any(|&i| !matches!(port_items[i].exposure(), Some(Exposure::Loopback)));
    let plaintext = kafka::plaintext_host_facing(&tuples, &is_internal).unwrap_or_default();
    let advice = |finding: &mut Finding, prefix: Option<String>| {
        let mut parts: Vec<String> = prefix.into_iter().collect();
        if beyond_host && !plaintext.is_empty() {
            let ls: Vec<&str> = plaintext.iter().map(|(l, _)| l.name.as_str()).collect();
            parts.push(format!(
                "listener {} uses PLAINTEXT and is published beyond the host: {SASL_ADVICE}",
                ls.join(", ")
            ));
        }
        if !parts.is_empty() {
            finding.note = Some(parts.join("; "));
        }
    };
    let refuse = |mut finding: Finding, why: String| {
        advice(&mut finding, Some(format!("no automatic fix: {why}")));
        Some(Analysis {
            finding,
            owned: Vec::new(),
        })
    };
    match ctx.profile.kafka_action() {
        KafkaAction::Keep => {
            if !beyond_host || plaintext.is_empty() {
                finding.severity = Severity::Info;
            }
            advice(&mut finding, Some("kept by the profile".into()));
            Some(Analysis {
                finding,
                owned: Vec::new(),
            })
        }
        KafkaAction::Loopback => {
            let todo: Vec<usize> = published
                .iter()
                .copied()
                .filter(|&i| port_items[i].exposure() == Some(Exposure::AllInterfaces))
                .collect();
            if todo.is_empty() {
                if !beyond_host {
                    return None;
                }
                return refuse(
                    finding,
                    "its published port has a specific or interpolated host IP".into(),
                );
            }
            let Some((setting, _)) = &ports else {
                return None;
            };
            let mut per_item = BTreeMap::new();
            for &i in &todo {
                let it = &port_items[i];
                if it.is_alias {
                    return refuse(finding, "the port item is an alias".into());
                }
                match public_port::loopback_edit(y, it, &svc.path.key("ports").index(i)) {
                    Ok(Some((e, c))) => {
                        per_item.insert(i, ItemEdit::Rewrite(e, c));
                    }
                    Ok(None) => {}
                    Err(why) => return refuse(finding, why),
                }
            }
            match public_port::list_edits(y, svc, setting, &per_item) {
                Ok((edits, changes)) => {
                    finding.fix = Some(Fix::new(
                        ID,
                        format!(
                            "Bind the published port of {} to 127.0.0.1",
                            names.join(", ")
                        ),
                        Applicability::Review,
                        edits,
                        changes,
                        finding.at,
                    ));
                    Some(Analysis {
                        finding,
                        owned: todo,
                    })
                }
                Err(why) => refuse(finding, why),
            }
        }
        KafkaAction::Drop => {
            let plan = match kafka::plan_prune(&tuples, &names) {
                Ok(p) => p,
                Err(e) => return refuse(finding, e.0),
            };
            if plan.is_empty() {
                let why = if plan.protected.is_empty() {
                    "nothing to remove".to_string()
                } else {
                    format!(
                        "{} is the inter-broker or a controller listener and is never removed",
                        plan.protected.join(", ")
                    )
                };
                return refuse(finding, why);
            }
            let (mut edits, mut changes) = match var_edits(y, &vars, &plan) {
                Ok(x) => x,
                Err(why) => return refuse(finding, why),
            };
            let pruned_names: Vec<String> = plan.pruned.iter().map(|p| p.name.clone()).collect();
            let owned = matching_ports(&plan, port_items);
            if let (Some((setting, _)), false) = (&ports, owned.is_empty()) {
                if owned.iter().any(|&i| port_items[i].is_alias) {
                    return refuse(finding, "the port item is an alias".into());
                }
                let per_item: BTreeMap<usize, ItemEdit> =
                    owned.iter().map(|&i| (i, ItemEdit::Drop)).collect();
                match public_port::list_edits(y, svc, setting, &per_item) {
                    Ok((e, c)) => {
                        edits.extend(e);
                        changes.extend(c);
                    }
                    Err(why) => return refuse(finding, why),
                }
            }
            let mut note = Vec::new();
            if !plan.protected.is_empty() {
                note.push(format!(
                    "{} kept: inter-broker or controller listener",
                    plan.protected.join(", ")
                ));
            }
            if !note.is_empty() {
                finding.note = Some(note.join("; "));
            }
            finding.fix = Some(Fix::new(
                ID,
                format!(
                    "Remove listener {}{}",
                    pruned_names.join(", "),
                    if owned.is_empty() {
                        ""
                    } else {
                        " and the port that publishes it"
                    }
                ),
                Applicability::Review,
                edits,
                changes,
                finding.at,
            ));
            Some(Analysis { finding, owned })
        }
    }
}

/// The edits and changes that give the variables of `vars` the values `plan` computed.
fn var_edits(y: &Yaml, vars: &[EnvVar], plan: &Plan) -> Result<(Vec<Edit>, Vec<Change>), String> {
    let mut edits = Vec::new();
    let mut changes = Vec::new();
    for ve in &plan.edits {
        let v = &vars[ve.index];
        if !v.editable {
            return Err(format!(
                "`{}` is shared through an anchor or alias; edit it there",
                v.key
            ));
        }
        let (e, c) = if v.list_form {
            let off = v.key.len() + 1;
            let e = ops::rewrite_in_scalar(y, v.node, off..off + ve.old.len(), &ve.new)?;
            let c = Change::Set(v.path.clone(), Value::str(format!("{}={}", v.key, ve.new)));
            (e, c)
        } else {
            let e = ops::replace_scalar(y, v.node, &ve.new, ops::Quote::Keep)?;
            (e, Change::Set(v.path.clone(), Value::str(ve.new.clone())))
        };
        edits.push(e);
        changes.push(c);
    }
    Ok((edits, changes))
}

/// A broker with no host-facing listener that still publishes a port no listener uses (the
/// OpenBMP stack after its host listener was commented out: `9092:9092` stays, and
/// `PLAINTEXT_HOST` survives only in the protocol map). The port publishes nothing the stack
/// needs: drop it (with the stale map entries) rather than bind it to loopback.
fn unused_ports(
    ctx: &Ctx<'_>,
    svc: &Service,
    vars: &[EnvVar],
    mut finding: Finding,
) -> Option<Analysis> {
    let y = ctx.y;
    let tuples: Vec<(ListenerVar, &str)> = vars.iter().map(|v| (v.var, v.value.as_str())).collect();
    let mut listeners = Vec::new();
    for (v, value) in &tuples {
        if matches!(v, ListenerVar::Listeners | ListenerVar::AdvertisedListeners) {
            listeners.extend(kafka::parse_listeners(value).ok()?);
        }
    }
    if listeners.is_empty() {
        return None;
    }
    let (setting, items) = public_port::read_ports(y, svc)?;
    // A port is used when a listener binds or advertises it, or any setting of the service
    // names it (JMX, metrics): only a port nothing mentions is dropped.
    let env_numbers: Vec<&str> = vars_values(y, svc);
    let unused: Vec<usize> = items
        .iter()
        .filter(|it| {
            matches!(
                it.exposure(),
                Some(Exposure::AllInterfaces | Exposure::SpecificIp)
            )
        })
        .filter(|it| {
            it.published_target().is_some_and(|(_, t)| {
                !listeners.iter().any(|l| l.port.as_deref() == Some(t)) && !env_numbers.contains(&t)
            })
        })
        .map(|it| it.index)
        .collect();
    if unused.is_empty() {
        return None;
    }
    let mut named: Vec<String> = Vec::new();
    for (v, value) in &tuples {
        if matches!(
            v,
            ListenerVar::InterBrokerName | ListenerVar::ControllerNames
        ) {
            named.extend(kafka::parse_names(value).ok()?);
        }
    }
    let mut stale: Vec<String> = Vec::new();
    for (v, value) in &tuples {
        if *v != ListenerVar::ProtocolMap {
            continue;
        }
        for e in kafka::parse_protocol_map(value).ok()? {
            let used = listeners
                .iter()
                .any(|l| l.name.eq_ignore_ascii_case(&e.name))
                || named.iter().any(|n| n.eq_ignore_ascii_case(&e.name));
            if !used && !stale.iter().any(|s| s.eq_ignore_ascii_case(&e.name)) {
                stale.push(e.name);
            }
        }
    }
    // Only the trace of a removed host listener: a protocol-map entry that names no listener,
    // and a port in the range host listeners use (9092-9094). Any other port may be a REST or
    // metrics endpoint this rule knows nothing of; public-port binds it to loopback.
    if stale.is_empty() {
        return None;
    }
    let unused: Vec<usize> = unused
        .into_iter()
        .filter(|&i| {
            items[i]
                .published_target()
                .and_then(|(_, t)| t.parse::<u16>().ok())
                .is_some_and(|t| (9092..=9094).contains(&t))
        })
        .collect();
    if unused.is_empty() {
        return None;
    }
    let labels: Vec<String> = unused.iter().map(|&i| items[i].label()).collect();
    finding.message = format!(
        "Kafka service `{}` publishes port(s) {} that no listener uses{}",
        svc.name,
        labels
            .iter()
            .map(|l| format!("`{l}`"))
            .collect::<Vec<_>>()
            .join(", "),
        if stale.is_empty() {
            String::new()
        } else {
            format!(" ({} is only in the protocol map)", stale.join(", "))
        }
    );
    finding.at = y.node(items[unused[0]].node).span.start;
    let refuse = |mut finding: Finding, why: String| {
        finding.note = Some(format!("no automatic fix: {why}"));
        Some(Analysis {
            finding,
            owned: Vec::new(),
        })
    };
    if unused.iter().any(|&i| items[i].is_alias) {
        return refuse(finding, "the port item is an alias".into());
    }
    match ctx.profile.kafka_action() {
        KafkaAction::Keep => {
            finding.severity = Severity::Info;
            finding.note = Some("kept by the profile".into());
            Some(Analysis {
                finding,
                owned: Vec::new(),
            })
        }
        KafkaAction::Loopback => {
            let mut per_item = BTreeMap::new();
            for &i in &unused {
                match public_port::loopback_edit(y, &items[i], &svc.path.key("ports").index(i)) {
                    Ok(Some((e, c))) => {
                        per_item.insert(i, ItemEdit::Rewrite(e, c));
                    }
                    Ok(None) => {}
                    Err(why) => return refuse(finding, why),
                }
            }
            if per_item.is_empty() {
                return None;
            }
            match public_port::list_edits(y, svc, &setting, &per_item) {
                Ok((edits, changes)) => {
                    finding.fix = Some(Fix::new(
                        ID,
                        "Bind the unused published port to 127.0.0.1".to_string(),
                        Applicability::Review,
                        edits,
                        changes,
                        finding.at,
                    ));
                    let owned = per_item.keys().copied().collect();
                    Some(Analysis { finding, owned })
                }
                Err(why) => refuse(finding, why),
            }
        }
        KafkaAction::Drop => {
            let plan = match kafka::plan_prune(&tuples, &stale) {
                Ok(p) => p,
                Err(e) => return refuse(finding, e.0),
            };
            let (mut edits, mut changes) = match var_edits(y, vars, &plan) {
                Ok(x) => x,
                Err(why) => return refuse(finding, why),
            };
            let per_item: BTreeMap<usize, ItemEdit> =
                unused.iter().map(|&i| (i, ItemEdit::Drop)).collect();
            match public_port::list_edits(y, svc, &setting, &per_item) {
                Ok((e, c)) => {
                    edits.extend(e);
                    changes.extend(c);
                }
                Err(why) => return refuse(finding, why),
            }
            let removed_map = !plan.edits.is_empty();
            finding.fix = Some(Fix::new(
                ID,
                format!(
                    "Remove the unused port {}{}",
                    labels.join(", "),
                    if removed_map {
                        format!(" and the stale protocol-map entry {}", stale.join(", "))
                    } else {
                        String::new()
                    }
                ),
                Applicability::Review,
                edits,
                changes,
                finding.at,
            ));
            Some(Analysis {
                finding,
                owned: unused,
            })
        }
    }
}

/// Every number that appears in the service's environment values (ports named by settings).
fn vars_values<'y>(y: &'y Yaml, svc: &Service) -> Vec<&'y str> {
    let mut out = Vec::new();
    let Some(setting) = svc.get(y, "environment") else {
        return out;
    };
    let mut push = |text: &'y str| {
        out.extend(
            text.split(|c: char| !c.is_ascii_digit())
                .filter(|t| !t.is_empty()),
        );
    };
    match &y.node(setting.resolved).kind {
        NodeKind::Seq { items } => {
            for &i in items {
                if let Some(t) = y.scalar(y.resolve(i)) {
                    if let Some((_, v)) = t.split_once('=') {
                        push(v);
                    }
                }
            }
        }
        NodeKind::Map { entries } => {
            for e in entries {
                if let Some(t) = y.scalar(y.resolve(e.value)) {
                    push(t);
                }
            }
        }
        _ => {}
    }
    out
}

/// The `ports:` items of `svc` that this rule's fix edits (removes or rebinds), so
/// `public-port` leaves them alone.
pub(crate) fn owned_ports(ctx: &Ctx<'_>, svc: &Service) -> Vec<usize> {
    match analyze(ctx, svc) {
        Some(a) if a.finding.fix.is_some() => a.owned,
        _ => Vec::new(),
    }
}

impl Rule for KafkaHostListener {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for svc in ctx.services(ID) {
            if let Some(a) = analyze(ctx, svc) {
                out.push(a.finding);
            }
        }
    }
}
