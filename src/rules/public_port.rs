//! `public-port`: a port published on all host interfaces is bound to loopback, dropped, or
//! kept on purpose, as the profile says.

use std::collections::BTreeMap;

use super::{Ctx, Finding, Reach, Rule, RuleMeta, Severity};
use crate::compose::merge::{MergedService, Src};
use crate::compose::ports::{self, Exposure, PortSpec};
use crate::compose::{Service, Setting};
use crate::profile::PortAction;
use crate::yaml::{
    ops, Applicability, Change, Edit, Fix, NewNode, NodeId, NodeKind, Path, Value, Yaml,
};

/// The rule.
pub struct PublicPort;

const ID: &str = "public-port";

/// The firewall advice for ports kept public (the OpenBMP hardening checklist, §1.1). `PORT`
/// is the **container** port: Docker DNATs a published port before the packet reaches
/// DOCKER-USER, so the published port matches nothing there.
pub const FIREWALL_ADVICE: &str = "kept public by the profile: restrict it by source with the \
host firewall, in the DOCKER-USER chain so Docker does not bypass it, on the external \
interface only, for IPv4 and IPv6: insert the DROP first, then the allowed sources above it \
(`-A` could land after the chain's final RETURN), matching the container port (Docker DNATs \
before DOCKER-USER), e.g. `iptables -I DOCKER-USER -i EXT_IF -p tcp --dport PORT -j DROP` then \
`iptables -I DOCKER-USER -i EXT_IF -p tcp --dport PORT -s 10.100.0.0/24 -j RETURN`, and the \
same with ip6tables; `compose-harden apply` prints a script that installs them";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "port published on all host interfaces",
    why: "A `ports:` item without a host IP (or with `0.0.0.0`, `::`, `[::]`) publishes the port \
on every interface of the host, and Docker's iptables rules bypass host firewalls such as ufw. \
Databases, brokers and admin UIs reached only by other services of the stack or by an operator \
on the host should not be reachable from the network (the OpenBMP hardening checklist, §1.2). A container-only \
item (`\"80\"`) is published on an ephemeral port on all interfaces too. `network_mode: host` \
puts every listening port of the service on the host's interfaces.",
    fix: "By profile, per service or per port: `loopback` (default) binds the port to \
127.0.0.1 (`\"5432:5432\"` -> `\"127.0.0.1:5432:5432\"`, IPv6 `[::]` -> `[::1]`, long form \
gets `host_ip: 127.0.0.1`); `drop` removes the item with its comment lines (and an emptied \
`ports:` key); `keep` leaves it public and reports it as info with the firewall advice: \
restrict it by source in the DOCKER-USER chain, on the external interface, for IPv4 and \
IPv6 (insert the DROP first, then the allowed sources above it; an appended rule could land \
after the chain's final RETURN), matching the container port since Docker DNATs before \
DOCKER-USER (`8080:80` -> `--dport 80`), e.g.\n\
  iptables -I DOCKER-USER -i eth0 -p tcp --dport 5000 -j DROP\n\
  iptables -I DOCKER-USER -i eth0 -p tcp --dport 5000 -s 10.100.0.0/24 -j RETURN\n\
`apply` prints a script with these rules for every kept port (iptables for IPv4 and IPv6, or \
one nft inet table) that installs all of them or none.\n\
Interpolated host IPs (`${BIND}:80:80`) and `network_mode: host` are reported for review, not \
rewritten. A port that `kafka-host-listener` removes or rebinds is left to it when that rule \
runs too (not with `--select public-port` alone, nor when it is ignored).",
    breaks: "Clients outside the host (other machines, routers, a reverse proxy on another \
host) can no longer connect. Use `keep` for ports that must stay reachable and firewall them.",
    applicability: Applicability::Review,
    severity: Severity::Medium,
    options:
        "[rules.public-port]\nenabled = true\naction = \"loopback\"   # loopback | drop | keep\n\n\
[services.NAME]\nports = \"drop\"                        # every port of the service\n\
port-actions = { \"5000\" = \"keep\" }     # by published port (or container port)",
    before: "services:\n  db:\n    image: postgres:16\n    ports:\n      - \"5432:5432\"",
    after: "services:\n  db:\n    image: postgres:16\n    ports:\n      - \"127.0.0.1:5432:5432\"",
};

/// One `ports:` item as read.
#[derive(Debug, Clone)]
pub(crate) struct PortItem {
    /// Index in the sequence.
    pub index: usize,
    /// The item node (aliases followed).
    pub node: NodeId,
    /// Whether the item is an alias (edits would be shared).
    pub is_alias: bool,
    /// What it says.
    pub kind: PortKind,
}

/// The syntax of a port item.
#[derive(Debug, Clone)]
pub(crate) enum PortKind {
    /// `"8080:80"`, `80`.
    Short { text: String, spec: PortSpec },
    /// `target: 80` ….
    Long {
        host_ip: Option<(NodeId, String)>,
        published: Option<String>,
        target: String,
        protocol: Option<String>,
    },
    /// Not understood (reason).
    Bad(String),
}

impl PortItem {
    /// How widely it is published.
    pub fn exposure(&self) -> Option<Exposure> {
        match &self.kind {
            PortKind::Short { spec, .. } => Some(spec.exposure()),
            PortKind::Long { host_ip, .. } => Some(ports::long_form_exposure(
                host_ip.as_ref().map(|(_, t)| t.as_str()),
            )),
            PortKind::Bad(_) => None,
        }
    }

    /// Published and container port text.
    pub fn published_target(&self) -> Option<(Option<&str>, &str)> {
        match &self.kind {
            PortKind::Short { spec, .. } => Some((spec.published.as_deref(), &spec.target)),
            PortKind::Long {
                published, target, ..
            } => Some((published.as_deref(), target)),
            PortKind::Bad(_) => None,
        }
    }

    fn protocol(&self) -> Option<&str> {
        match &self.kind {
            PortKind::Short { spec, .. } => spec.protocol.as_deref(),
            PortKind::Long { protocol, .. } => protocol.as_deref(),
            PortKind::Bad(_) => None,
        }
    }

    /// `8080:80/udp`-style label for messages.
    pub fn label(&self) -> String {
        match &self.kind {
            PortKind::Short { text, .. } => text.clone(),
            PortKind::Long {
                host_ip,
                published,
                target,
                protocol,
            } => {
                let mut s = String::new();
                if let Some((_, ip)) = host_ip {
                    s.push_str(ip);
                    s.push(':');
                }
                if let Some(p) = published {
                    s.push_str(p);
                    s.push(':');
                }
                s.push_str(target);
                if let Some(p) = protocol {
                    s.push('/');
                    s.push_str(p);
                }
                s
            }
            PortKind::Bad(t) => t.clone(),
        }
    }
}

/// The `ports:` setting of a service and its items.
pub(crate) fn read_ports(y: &Yaml, svc: &Service) -> Option<(Setting, Vec<PortItem>)> {
    let setting = svc.get(y, "ports")?;
    if crate::compose::values::is_reset(y, setting.value) {
        // `ports: !reset []`: Compose publishes nothing.
        return None;
    }
    let items = y.items(setting.resolved)?;
    let mut out = Vec::new();
    for (index, &raw) in items.iter().enumerate() {
        let node = y.resolve(raw);
        let kind = match y.node(node).kind {
            NodeKind::Scalar { .. } => match ports::parse_short(y.scalar(node).unwrap_or_default())
            {
                Ok(spec) => PortKind::Short {
                    text: y.scalar(node).unwrap_or_default().to_string(),
                    spec,
                },
                Err(e) => PortKind::Bad(e.to_string()),
            },
            NodeKind::Map { .. } => {
                let field = |k: &str| {
                    y.get(node, k)
                        .map(|n| y.resolve(n))
                        .and_then(|n| y.scalar(n).map(|s| (n, s.to_string())))
                };
                match field("target") {
                    Some((_, target)) => PortKind::Long {
                        host_ip: field("host_ip"),
                        published: field("published").map(|(_, s)| s).filter(|s| !s.is_empty()),
                        target,
                        protocol: field("protocol").map(|(_, s)| s),
                    },
                    None => PortKind::Bad("long-form port without `target`".into()),
                }
            }
            _ => PortKind::Bad("port item is neither a string nor a mapping".into()),
        };
        out.push(PortItem {
            index,
            node,
            is_alias: node != raw,
            kind,
        });
    }
    Some((setting, out))
}

/// What to do to one item of a `ports:` list.
#[derive(Debug, Clone)]
pub(crate) enum ItemEdit {
    /// Remove it.
    Drop,
    /// Bind it to loopback with this edit (inside the item) and change.
    Rewrite(Edit, Change),
}

/// The loopback edit for `item` at `path`, `Ok(None)` when there is nothing to change.
pub(crate) fn loopback_edit(
    y: &Yaml,
    item: &PortItem,
    path: &Path,
) -> Result<Option<(Edit, Change)>, String> {
    match &item.kind {
        PortKind::Short { text, spec } => {
            let Some(new) = spec.to_loopback(text) else {
                return Ok(None);
            };
            let edit = ops::replace_scalar(y, item.node, &new, ops::Quote::Force)?;
            Ok(Some((edit, Change::Set(path.clone(), Value::str(new)))))
        }
        PortKind::Long { host_ip, .. } => {
            let Some(ip) = ports::loopback_for_host_ip(host_ip.as_ref().map(|(_, t)| t.as_str()))
            else {
                return Ok(None);
            };
            match host_ip {
                Some((n, _)) => {
                    let edit = ops::replace_scalar(y, *n, ip, ops::Quote::Keep)?;
                    Ok(Some((
                        edit,
                        Change::Set(path.key("host_ip"), Value::str(ip)),
                    )))
                }
                None => {
                    let edit = ops::insert_key(y, item.node, "host_ip", &NewNode::Str(ip.into()))?;
                    Ok(Some((
                        edit,
                        Change::InsertKey(path.clone(), "host_ip".into(), Value::str(ip)),
                    )))
                }
            }
        }
        PortKind::Bad(_) => Ok(None),
    }
}

/// Whether `per_item` removes several items of a flow list: their removals must be one fix
/// (separate fixes' deletions of neighbouring items would overlap).
pub(crate) fn needs_flow_rewrite(
    y: &Yaml,
    seq: NodeId,
    per_item: &BTreeMap<usize, ItemEdit>,
) -> bool {
    y.node(seq).flow
        && per_item
            .values()
            .filter(|e| matches!(e, ItemEdit::Drop))
            .count()
            > 1
}

/// Edits and changes that apply `per_item` to the `ports:` list of `svc`: item removals and
/// rewrites, or removal of the whole `ports` key when every item is dropped.
pub(crate) fn list_edits(
    y: &Yaml,
    svc: &Service,
    setting: &Setting,
    per_item: &BTreeMap<usize, ItemEdit>,
) -> Result<(Vec<Edit>, Vec<Change>), String> {
    if svc.is_alias || !setting.is_local() {
        return Err("`ports` is shared through an anchor or alias; edit it there".into());
    }
    let seq = setting.resolved;
    let items = y.items(seq).ok_or("`ports` is not a list")?;
    let ports_path = svc.path.key("ports");
    let all_dropped = !items.is_empty()
        && (0..items.len()).all(|i| matches!(per_item.get(&i), Some(ItemEdit::Drop)));
    if all_dropped {
        let edit = ops::remove_entry(y, svc.node, setting.index)?;
        return Ok((vec![edit], vec![Change::Remove(ports_path)]));
    }
    let mut edits = Vec::new();
    let mut changes = Vec::new();
    for (&i, e) in per_item {
        match e {
            ItemEdit::Drop => changes.push(Change::Remove(ports_path.index(i))),
            ItemEdit::Rewrite(_, c) => changes.push(c.clone()),
        }
    }
    let flow_several = needs_flow_rewrite(y, seq, per_item);
    if flow_several {
        let span = |i: usize| y.node(items[i]).full_start..y.node(items[i]).span.end;
        if y.text[span(0).start..span(items.len() - 1).end].contains('#') {
            return Err("the flow list has comments between its items".into());
        }
    }
    // Removals through the edit helpers (neighbouring flow items as one deletion), rewrites
    // inside their items: none of the edits overlap.
    let drops: Vec<usize> = per_item
        .iter()
        .filter(|(_, e)| matches!(e, ItemEdit::Drop))
        .map(|(&i, _)| i)
        .collect();
    edits.extend(ops::remove_items(y, seq, &drops)?);
    for e in per_item.values() {
        if let ItemEdit::Rewrite(edit, _) = e {
            edits.push(edit.clone());
        }
    }
    Ok((edits, changes))
}

fn action_word(a: PortAction) -> &'static str {
    match a {
        PortAction::Loopback => "bind to 127.0.0.1",
        PortAction::Drop => "remove",
        PortAction::Keep => "keep",
    }
}

impl Rule for PublicPort {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn project_wide(&self) -> bool {
        true
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        // The plan's profile says whether kafka-host-listener runs in this run (not only
        // whether the profile enables it): never defer to a rule that is not selected.
        let kafka_on = ctx.profile.rules.enabled(super::kafka_host_listener::ID) == Some(true);
        for ms in ctx.merged(ID) {
            if let Some((mode, src)) = ctx.string_in(ms, "network_mode") {
                if mode.trim() == "host" && ctx.reports(ms, src, ID) {
                    let mut f = ctx.finding_at(
                        ID,
                        src,
                        Severity::Warning,
                        format!(
                            "service `{}` uses `network_mode: host`: every port it listens on is public",
                            ms.name
                        ),
                    );
                    f.note = Some(
                        "no automatic fix: use a bridge network with loopback-bound `ports:`, or make the service listen on 127.0.0.1".into(),
                    );
                    out.push(f);
                }
            }
            let Some(entry) = ctx.entry(ms, "ports") else {
                continue;
            };
            let kafka_owned: Vec<Src> = if kafka_on
                && !ctx
                    .profile
                    .service_ignores(&ms.name, super::kafka_host_listener::ID)
            {
                super::kafka_host_listener::owned_ports(ctx, ms)
            } else {
                Vec::new()
            };
            // Compose merges every definition's `ports` (one binding per address): each
            // definition's public items are fixed where they are written.
            for def in &entry.defs {
                let layer = def.src.layer;
                let refused = match ctx.reach(ms, layer, ID) {
                    Reach::Covered => continue,
                    Reach::Refused(why) => Some(why),
                    Reach::Here => None,
                };
                let (y, svc) = ctx.layer(ms, layer);
                let file = def.src.file;
                check_list(ctx, ms, (y, svc, file), refused, &kafka_owned, out);
            }
        }
    }
}

/// The findings and fixes for the `ports:` list of one definition `(y, svc, file)` of `ms`.
fn check_list(
    ctx: &Ctx<'_>,
    ms: &MergedService,
    (y, svc, file): (&Yaml, &Service, usize),
    refused: Option<String>,
    kafka_owned: &[Src],
    out: &mut Vec<Finding>,
) {
    let Some((setting, items)) = read_ports(y, svc) else {
        return;
    };
    let ports_path = svc.path.key("ports");
    // (finding index in `out`, item index) of findings that want an edit.
    let mut wanting: Vec<(usize, usize)> = Vec::new();
    let mut per_item: BTreeMap<usize, ItemEdit> = BTreeMap::new();
    for item in &items {
        let at = y.node(item.node).span.start;
        let mut finding = Finding {
            rule: ID,
            at,
            message: String::new(),
            severity: Severity::Warning,
            fix: None,
            note: None,
            file,
        };
        // Interpolated short mappings are judged by the value Compose reads (the operator's
        // `.env`, else the defaults): `${SQL_PORT:-127.0.0.1:13306}:3306`.
        let judged = match &item.kind {
            PortKind::Short { text, .. } => ports::judge_interpolated(text, &ctx.env),
            _ => None,
        };
        let exposure = match (&item.kind, item.exposure()) {
            (_, _) if judged.is_some() => {
                judged.as_ref().map_or(Exposure::Loopback, |j| j.exposure)
            }
            (PortKind::Bad(why), _) => {
                finding.message = format!("service `{}`: port item not understood", ms.name);
                finding.note = Some(format!("no automatic fix: {why}"));
                out.push(finding);
                continue;
            }
            (_, Some(e)) => e,
            (_, None) => continue,
        };
        let label = item.label();
        let reads = match &judged {
            Some(j) if j.evaluated != label => format!(" (reads as `{}`)", j.evaluated),
            _ => String::new(),
        };
        match exposure {
            Exposure::Loopback | Exposure::SpecificIp => continue,
            Exposure::Interpolated => {
                finding.message = format!(
                    "service `{}`: port `{label}`{reads} has an interpolated host IP; it may be public",
                    ms.name
                );
                finding.note = Some(
                            "no automatic fix: check the variable's value; set it to 127.0.0.1 unless the port must be reachable from other hosts".into(),
                        );
                out.push(finding);
                continue;
            }
            Exposure::AllInterfaces => {}
        }
        finding.message = format!(
            "service `{}` publishes port `{label}`{reads} on all host interfaces",
            ms.name
        );
        if kafka_owned
            .iter()
            .any(|k| k.file == file && k.node == item.node)
        {
            finding.severity = Severity::Info;
            finding.note = Some(
                        "handled by kafka-host-listener (enabled in the profile), which removes or rebinds this port with its listener".into(),
                    );
            out.push(finding);
            continue;
        }
        let (published, target) = item.published_target().unwrap_or((None, ""));
        let action = ctx
            .profile
            .port_action(&ms.name, published, target, item.protocol());
        if action == PortAction::Keep {
            finding.severity = Severity::Info;
            finding.message = format!(
                        "service `{}` publishes port `{label}`{reads} on all host interfaces (kept by the profile)",
                        ms.name
                    );
            // DOCKER-USER sees the packet after DNAT: the container port.
            let port = if target.is_empty() {
                published.unwrap_or(target)
            } else {
                target
            };
            finding.note = Some(FIREWALL_ADVICE.replace("PORT", &port.replace('-', ":")));
            out.push(finding);
            continue;
        }
        if let Some(why) = &refused {
            finding.note = Some(format!("no automatic fix: {why}"));
            out.push(finding);
            continue;
        }
        if item.is_alias {
            finding.note = Some(
                "the port item is an alias shared with other services; edit the anchor".into(),
            );
            out.push(finding);
            continue;
        }
        let rebound = judged.as_ref().map(|j| match (&j.rebind, &j.reason) {
            (Some(new), _) => ops::replace_scalar(y, item.node, new, ops::Quote::Force).map(|e| {
                Some((
                    e,
                    Change::Set(ports_path.index(item.index), Value::str(new.clone())),
                ))
            }),
            (None, Some(why)) => Err(why.clone()),
            (None, None) => Ok(None),
        });
        match action {
            PortAction::Drop => {
                per_item.insert(item.index, ItemEdit::Drop);
            }
            _ => match rebound
                .unwrap_or_else(|| loopback_edit(y, item, &ports_path.index(item.index)))
            {
                Ok(Some((e, c))) => {
                    per_item.insert(item.index, ItemEdit::Rewrite(e, c));
                }
                Ok(None) => continue,
                Err(why) => {
                    finding.note = Some(format!("no automatic fix: {why}"));
                    out.push(finding);
                    continue;
                }
            },
        }
        wanting.push((out.len(), item.index));
        out.push(finding);
    }
    if wanting.is_empty() {
        return;
    }
    let all_dropped = (0..items.len()).all(|i| matches!(per_item.get(&i), Some(ItemEdit::Drop)));
    let combined = all_dropped || needs_flow_rewrite(y, setting.resolved, &per_item);
    if !svc.is_alias && setting.is_local() && !combined {
        // Block list: one independent fix per item.
        for &(fi, ii) in &wanting {
            let mut one = BTreeMap::new();
            one.insert(ii, per_item[&ii].clone());
            let action = if matches!(per_item[&ii], ItemEdit::Drop) {
                PortAction::Drop
            } else {
                PortAction::Loopback
            };
            match list_edits(y, svc, &setting, &one) {
                Ok((edits, changes)) => {
                    out[fi].fix = Some(
                        Fix::new(
                            ID,
                            format!(
                                "{} port `{}`",
                                capitalize(action_word(action)),
                                items[ii].label()
                            ),
                            Applicability::Review,
                            edits,
                            changes,
                            out[fi].at,
                        )
                        .in_file(file),
                    )
                }
                Err(why) => out[fi].note = Some(format!("no automatic fix: {why}")),
            }
        }
        return;
    }
    match list_edits(y, svc, &setting, &per_item) {
        Ok((edits, changes)) => {
            let (fi, _) = wanting[0];
            let title = if all_dropped {
                format!("Remove `ports` of service `{}`", ms.name)
            } else {
                format!("Bind or remove public ports of service `{}`", ms.name)
            };
            out[fi].fix = Some(
                Fix::new(ID, title, Applicability::Review, edits, changes, out[fi].at)
                    .in_file(file),
            );
            let first_label = items[wanting[0].1].label();
            for &(fj, _) in &wanting[1..] {
                out[fj].note = Some(format!(
                    "fixed together with port `{first_label}` (one edit of the `ports` list)"
                ));
            }
        }
        Err(why) => {
            for &(fj, _) in &wanting {
                out[fj].note = Some(format!("no automatic fix: {why}"));
            }
        }
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
