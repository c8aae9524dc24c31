//! `kafka-host-listener`: a Kafka broker advertises a listener for clients outside the Compose
//! network; remove it (with the `ports:` item that publishes it) or bind its port to loopback.

use std::collections::BTreeMap;

use super::merged::{fix_from_parts, FilePart};
use super::public_port::{self, ItemEdit, PortItem};
use super::{Ctx, Finding, Reach, Rule, RuleMeta, Severity};
use crate::compose::kafka::{self, ListenerVar, Plan, PrunedListener};
use crate::compose::merge::{MergedService, Src};
use crate::compose::ports::Exposure;
use crate::compose::{Service, Setting};
use crate::profile::KafkaAction;
use crate::yaml::{ops, Applicability, Change, NodeId, Path, Value, Yaml};

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
    severity: Severity::High,
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
    /// The file that sets it.
    file: usize,
    /// The scalar node holding it.
    node: NodeId,
    /// Its path in that file.
    path: Path,
    /// `- KEY=value` (true) or `KEY: value` (false).
    list_form: bool,
    /// Written in place in a definition this rule may edit (not shared through an anchor).
    editable: bool,
}

/// The listener variables of the merged `environment` of `ms` (the value Compose uses for
/// each: the last definition's).
fn env_vars(ctx: &Ctx<'_>, ms: &MergedService) -> Vec<EnvVar> {
    let mut out = Vec::new();
    for it in ctx.items(ms, "environment") {
        let y = ctx.yaml(it.src.file);
        let (k, v) = match it.key {
            Some(k) => {
                if y.is_null(it.src.node) {
                    continue;
                }
                let (Some(k), Some(v)) = (y.scalar(k), y.scalar(it.src.node)) else {
                    continue;
                };
                (k.to_string(), v.to_string())
            }
            None => {
                let Some(text) = y.scalar(it.src.node) else {
                    continue;
                };
                let Some((k, v)) = text.split_once('=') else {
                    continue;
                };
                (k.to_string(), v.to_string())
            }
        };
        let Some(var) = kafka::classify_var(&k) else {
            continue;
        };
        out.push(EnvVar {
            var,
            key: k,
            value: v,
            file: it.src.file,
            node: it.src.node,
            path: y.path_of(it.src.node),
            list_form: it.key.is_none(),
            editable: !it.shared && ctx.reach(ms, it.src.layer, ID) == Reach::Here,
        });
    }
    out
}

/// Names reachable only inside the Compose network: service names, container names, host
/// names, network aliases and static addresses of every service of the project (lower-cased).
fn internal_names(ctx: &Ctx<'_>) -> Vec<String> {
    let mut names = Vec::new();
    let text = |src: crate::compose::merge::Src| ctx.yaml(src.file).scalar(src.node);
    for s in &ctx.model().services {
        names.push(s.name.to_ascii_lowercase());
        for k in ["container_name", "hostname"] {
            if let Some((v, _)) = ctx.scalar(s, k) {
                names.push(v.to_ascii_lowercase());
            }
        }
        if let (Some((h, _)), Some((d, _))) =
            (ctx.scalar(s, "hostname"), ctx.scalar(s, "domainname"))
        {
            names.push(format!("{h}.{d}").to_ascii_lowercase());
        }
        for l in ctx.items(s, "links") {
            if let Some(alias) = ctx
                .text(l)
                .and_then(|t| t.split(':').nth(1).map(str::to_string))
            {
                names.push(alias.to_ascii_lowercase());
            }
        }
        let Some(nets) = ctx.entry(s, "networks").and_then(|n| n.value.map()) else {
            continue;
        };
        for e in &nets.entries {
            let Some(net) = e.value.map() else { continue };
            if let Some(aliases) = net.get("aliases") {
                for a in aliases.value.items() {
                    if let Some(t) = ctx.text(a) {
                        names.push(t.to_ascii_lowercase());
                    }
                }
            }
            for k in ["ipv4_address", "ipv6_address"] {
                if let Some(t) = net.get(k).and_then(|v| v.value.scalar()).and_then(text) {
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
    /// Port items the fix edits (empty when there is no fix).
    owned: Vec<Src>,
}

fn is_kafka(ctx: &Ctx<'_>, ms: &MergedService, vars: &[EnvVar]) -> bool {
    ctx.image(ms).is_some_and(|(i, _)| kafka::is_kafka_image(i))
        || vars.iter().any(|v| {
            matches!(
                v.var,
                ListenerVar::Listeners | ListenerVar::AdvertisedListeners
            )
        })
}

/// The `ports:` list of one definition of a service.
struct PortList<'a> {
    file: usize,
    y: &'a Yaml,
    svc: &'a Service,
    setting: Setting,
    items: Vec<PortItem>,
    /// Why this rule may not edit it, if it may not.
    refused: Option<String>,
}

/// The `ports:` lists Compose merges for `ms` (those another service's own fix covers left
/// out).
fn port_lists<'a>(ctx: &Ctx<'a>, ms: &MergedService) -> Vec<PortList<'a>> {
    let Some(e) = ctx.entry(ms, "ports") else {
        return Vec::new();
    };
    e.defs
        .iter()
        .filter_map(|d| {
            let refused = match ctx.reach(ms, d.src.layer, ID) {
                Reach::Covered => return None,
                Reach::Refused(why) => Some(why),
                Reach::Here => None,
            };
            let (y, svc) = ctx.layer(ms, d.src.layer);
            let (setting, items) = public_port::read_ports(y, svc)?;
            Some(PortList {
                file: d.src.file,
                y,
                svc,
                setting,
                items,
                refused,
            })
        })
        .collect()
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

/// (list, item) positions of the port items that publish a listener of `plan`.
fn matching_ports(plan: &Plan, lists: &[PortList<'_>]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (l, list) in lists.iter().enumerate() {
        for (i, it) in list.items.iter().enumerate() {
            if it
                .published_target()
                .is_some_and(|(p, t)| plan.matches_port(p, t))
            {
                out.push((l, i));
            }
        }
    }
    out
}

/// Edits applying `per_item` to each list; (file, edits, changes) per list edited.
fn lists_edits(
    lists: &[PortList<'_>],
    per_item: &BTreeMap<(usize, usize), ItemEdit>,
) -> Result<Vec<FilePart>, String> {
    let mut out = Vec::new();
    for (l, list) in lists.iter().enumerate() {
        let mine: BTreeMap<usize, ItemEdit> = per_item
            .iter()
            .filter(|((x, _), _)| *x == l)
            .map(|((_, i), e)| (list.items[*i].index, e.clone()))
            .collect();
        if mine.is_empty() {
            continue;
        }
        if let Some(why) = &list.refused {
            return Err(why.clone());
        }
        let (e, c) = public_port::list_edits(list.y, list.svc, &list.setting, &mine)?;
        out.push((list.file, e, c));
    }
    Ok(out)
}

fn analyze(ctx: &Ctx<'_>, ms: &MergedService) -> Option<Analysis> {
    let vars = env_vars(ctx, ms);
    if !is_kafka(ctx, ms, &vars) {
        return None;
    }
    let tuples: Vec<(ListenerVar, &str)> = vars.iter().map(|v| (v.var, v.value.as_str())).collect();
    let internal = internal_names(ctx);
    let is_internal = |h: &str| {
        let h = h.trim().trim_start_matches('[').trim_end_matches(']');
        internal.iter().any(|n| n.eq_ignore_ascii_case(h))
    };
    let mut finding = match vars
        .iter()
        .find(|v| v.var == ListenerVar::AdvertisedListeners)
        .or_else(|| vars.first())
    {
        Some(v) => Finding {
            rule: ID,
            at: ctx.yaml(v.file).node(v.node).span.start,
            message: String::new(),
            severity: Severity::Warning,
            fix: None,
            note: None,
            file: v.file,
        },
        None => ctx.finding(ID, ms, Severity::Warning, String::new()),
    };
    let svc = ms;
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
    let lists = port_lists(ctx, ms);
    let item = |(l, i): (usize, usize)| &lists[l].items[i];
    let ports_plan = listener_ports(&tuples, &names);
    let published = matching_ports(&ports_plan, &lists);
    let beyond_host = published
        .iter()
        .any(|&p| !matches!(item(p).exposure(), Some(Exposure::Loopback)));
    let src_of = |(l, i): (usize, usize)| Src {
        file: lists[l].file,
        layer: 0,
        node: lists[l].items[i].node,
    };
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
            let todo: Vec<(usize, usize)> = published
                .iter()
                .copied()
                .filter(|&p| item(p).exposure() == Some(Exposure::AllInterfaces))
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
            let mut per_item = BTreeMap::new();
            for &p in &todo {
                let it = item(p);
                if it.is_alias {
                    return refuse(finding, "the port item is an alias".into());
                }
                let list = &lists[p.0];
                let path = list.svc.path.key("ports").index(it.index);
                match public_port::loopback_edit(list.y, it, &path) {
                    Ok(Some((e, c))) => {
                        per_item.insert(p, ItemEdit::Rewrite(e, c));
                    }
                    Ok(None) => {}
                    Err(why) => return refuse(finding, why),
                }
            }
            match lists_edits(&lists, &per_item) {
                Ok(parts) => {
                    finding.fix = fix_from_parts(
                        ID,
                        &format!(
                            "Bind the published port of {} to 127.0.0.1",
                            names.join(", ")
                        ),
                        Applicability::Review,
                        finding.file,
                        finding.at,
                        parts,
                    );
                    Some(Analysis {
                        finding,
                        owned: todo.into_iter().map(src_of).collect(),
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
            let mut parts = match var_edits(ctx, &vars, &plan) {
                Ok(x) => x,
                Err(why) => return refuse(finding, why),
            };
            let pruned_names: Vec<String> = plan.pruned.iter().map(|p| p.name.clone()).collect();
            let owned = matching_ports(&plan, &lists);
            if !owned.is_empty() {
                if owned.iter().any(|&p| item(p).is_alias) {
                    return refuse(finding, "the port item is an alias".into());
                }
                let per_item: BTreeMap<(usize, usize), ItemEdit> =
                    owned.iter().map(|&p| (p, ItemEdit::Drop)).collect();
                match lists_edits(&lists, &per_item) {
                    Ok(p) => parts.extend(p),
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
            finding.fix = fix_from_parts(
                ID,
                &format!(
                    "Remove listener {}{}",
                    pruned_names.join(", "),
                    if owned.is_empty() {
                        ""
                    } else {
                        " and the port that publishes it"
                    }
                ),
                Applicability::Review,
                finding.file,
                finding.at,
                parts,
            );
            Some(Analysis {
                finding,
                owned: owned.into_iter().map(src_of).collect(),
            })
        }
    }
}

/// The edits that give the variables of `vars` the values `plan` computed: (file, edits,
/// changes) per variable.
fn var_edits(ctx: &Ctx<'_>, vars: &[EnvVar], plan: &Plan) -> Result<Vec<FilePart>, String> {
    let mut parts = Vec::new();
    for ve in &plan.edits {
        let v = &vars[ve.index];
        if !v.editable {
            return Err(format!(
                "`{}` is shared through an anchor or alias; edit it there",
                v.key
            ));
        }
        let y = ctx.yaml(v.file);
        let (e, c) = if v.list_form {
            let off = v.key.len() + 1;
            let e = ops::rewrite_in_scalar(y, v.node, off..off + ve.old.len(), &ve.new)?;
            let c = Change::Set(v.path.clone(), Value::str(format!("{}={}", v.key, ve.new)));
            (e, c)
        } else {
            let e = ops::replace_scalar(y, v.node, &ve.new, ops::Quote::Keep)?;
            (e, Change::Set(v.path.clone(), Value::str(ve.new.clone())))
        };
        parts.push((v.file, vec![e], vec![c]));
    }
    Ok(parts)
}

/// A broker with no host-facing listener that still publishes a port no listener uses (the
/// OpenBMP stack after its host listener was commented out: `9092:9092` stays, and
/// `PLAINTEXT_HOST` survives only in the protocol map). The port publishes nothing the stack
/// needs: drop it (with the stale map entries) rather than bind it to loopback.
fn unused_ports(
    ctx: &Ctx<'_>,
    ms: &MergedService,
    vars: &[EnvVar],
    mut finding: Finding,
) -> Option<Analysis> {
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
    let lists = port_lists(ctx, ms);
    let item = |(l, i): (usize, usize)| &lists[l].items[i];
    // A port is used when a listener binds or advertises it, or any setting of the service
    // names it (JMX, metrics): only a port nothing mentions is dropped.
    let env_numbers: Vec<String> = vars_values(ctx, ms);
    let mut unused: Vec<(usize, usize)> = Vec::new();
    for (l, list) in lists.iter().enumerate() {
        for (i, it) in list.items.iter().enumerate() {
            let public = matches!(
                it.exposure(),
                Some(Exposure::AllInterfaces | Exposure::SpecificIp)
            );
            let free = it.published_target().is_some_and(|(_, t)| {
                !listeners.iter().any(|l| l.port.as_deref() == Some(t))
                    && !env_numbers.iter().any(|n| n == t)
            });
            if public && free {
                unused.push((l, i));
            }
        }
    }
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
    let unused: Vec<(usize, usize)> = unused
        .into_iter()
        .filter(|&p| {
            item(p)
                .published_target()
                .and_then(|(_, t)| t.parse::<u16>().ok())
                .is_some_and(|t| (9092..=9094).contains(&t))
        })
        .collect();
    if unused.is_empty() {
        return None;
    }
    let labels: Vec<String> = unused.iter().map(|&p| item(p).label()).collect();
    finding.message = format!(
        "Kafka service `{}` publishes port(s) {} that no listener uses{}",
        ms.name,
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
    let first = &lists[unused[0].0];
    finding.file = first.file;
    finding.at = first.y.node(item(unused[0]).node).span.start;
    let src_of = |(l, i): (usize, usize)| Src {
        file: lists[l].file,
        layer: 0,
        node: lists[l].items[i].node,
    };
    let refuse = |mut finding: Finding, why: String| {
        finding.note = Some(format!("no automatic fix: {why}"));
        Some(Analysis {
            finding,
            owned: Vec::new(),
        })
    };
    if unused.iter().any(|&p| item(p).is_alias) {
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
            for &p in &unused {
                let list = &lists[p.0];
                let path = list.svc.path.key("ports").index(item(p).index);
                match public_port::loopback_edit(list.y, item(p), &path) {
                    Ok(Some((e, c))) => {
                        per_item.insert(p, ItemEdit::Rewrite(e, c));
                    }
                    Ok(None) => {}
                    Err(why) => return refuse(finding, why),
                }
            }
            if per_item.is_empty() {
                return None;
            }
            match lists_edits(&lists, &per_item) {
                Ok(parts) => {
                    finding.fix = fix_from_parts(
                        ID,
                        "Bind the unused published port to 127.0.0.1",
                        Applicability::Review,
                        finding.file,
                        finding.at,
                        parts,
                    );
                    let owned = per_item.keys().copied().map(src_of).collect();
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
            let mut parts = match var_edits(ctx, vars, &plan) {
                Ok(x) => x,
                Err(why) => return refuse(finding, why),
            };
            let per_item: BTreeMap<(usize, usize), ItemEdit> =
                unused.iter().map(|&p| (p, ItemEdit::Drop)).collect();
            match lists_edits(&lists, &per_item) {
                Ok(p) => parts.extend(p),
                Err(why) => return refuse(finding, why),
            }
            let removed_map = !plan.edits.is_empty();
            finding.fix = fix_from_parts(
                ID,
                &format!(
                    "Remove the unused port {}{}",
                    labels.join(", "),
                    if removed_map {
                        format!(" and the stale protocol-map entry {}", stale.join(", "))
                    } else {
                        String::new()
                    }
                ),
                Applicability::Review,
                finding.file,
                finding.at,
                parts,
            );
            Some(Analysis {
                finding,
                owned: unused.into_iter().map(src_of).collect(),
            })
        }
    }
}

/// Every number that appears in the values of the merged environment of `ms` (ports named
/// by settings).
fn vars_values(ctx: &Ctx<'_>, ms: &MergedService) -> Vec<String> {
    let mut out = Vec::new();
    for it in ctx.items(ms, "environment") {
        let Some(text) = ctx.text(it) else { continue };
        let Some((_, v)) = text.split_once('=') else {
            continue;
        };
        out.extend(
            v.split(|c: char| !c.is_ascii_digit())
                .filter(|t| !t.is_empty())
                .map(str::to_string),
        );
    }
    out
}

/// The `ports:` items of `ms` that this rule's fix edits (removes or rebinds), so
/// `public-port` leaves them alone (file and node of each; `layer` is not set).
pub(crate) fn owned_ports(ctx: &Ctx<'_>, ms: &MergedService) -> Vec<Src> {
    match analyze(ctx, ms) {
        Some(a) if a.finding.fix.is_some() => a.owned,
        _ => Vec::new(),
    }
}

impl Rule for KafkaHostListener {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn project_wide(&self) -> bool {
        true
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for ms in ctx.merged(ID) {
            if let Some(a) = analyze(ctx, ms) {
                out.push(a.finding);
            }
        }
    }
}
