//! `resource-limits`: services have CPU, memory and process limits (`cpus`, `mem_limit`,
//! `pids_limit`, or `deploy.resources.limits` when the file uses that).

use super::hardening::{self, ServiceEdit};
use super::{Ctx, Finding, Reach, Rule, RuleMeta, Severity};
use crate::compose::merge::{MergedService, Src};
use crate::compose::{Origin, Service};
use crate::yaml::{Applicability, Change, Edit, Fix, NewNode, NodeId, Yaml};

/// The rule.
pub struct ResourceLimits;

const ID: &str = "resource-limits";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "service has no CPU, memory or process limit",
    why: "Without limits, a runaway query, an ingest burst, a memory leak or a fork bomb in one \
container starves the host and every other service (local denial of service; the OpenBMP hardening \
checklist, §5.5).",
    fix: "Add the limits the profile sets (`[rules.resource-limits]` defaults, \
`[services.NAME]` values) that the service lacks: top-level `cpus`, `mem_limit` and \
`pids_limit`, or keys under `deploy.resources.limits` (`cpus`, `memory`, `pids`) when the \
service — or, for a service with no limits at all, most of the file — already uses that form. \
Existing limits are never loosened: a finite limit is kept (a per-service profile value \
smaller than it replaces it); `-1` and `0` count as unlimited and are replaced.",
    breaks: "A limit below the service's real peak: the kernel OOM-kills it (memory), throttles \
it (cpus) or makes fork/thread creation fail (pids). Size limits from observed peaks \
(`docker stats`) with headroom. A `cpus` value above the CPU count of the host that runs \
the stack makes `docker compose up` fail (\"Range of CPUs is from 0.01 to 2.00\"): compare \
each with `nproc` there (`apply`'s checklist does it for the host it runs on).",
    applicability: Applicability::Review,
    severity: Severity::Low,
    options: "[rules.resource-limits]\nenabled = true\ncpus = 1.0          # defaults for every \
service\nmem-limit = \"512m\"\npids-limit = 512\n\n[services.kafka]\ncpus = 2.0\nmem-limit = \
\"2g\"\npids-limit = 4096",
    before: "services:\n  web:\n    image: nginx:1.27\n    mem_limit: 256m",
    after: "services:\n  web:\n    image: nginx:1.27\n    mem_limit: 256m\n    cpus: 1.0\n    pids_limit: 512",
};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Cpus,
    Mem,
    Pids,
}

impl Kind {
    fn top(self) -> &'static str {
        match self {
            Kind::Cpus => "cpus",
            Kind::Mem => "mem_limit",
            Kind::Pids => "pids_limit",
        }
    }
    fn deploy(self) -> &'static str {
        match self {
            Kind::Cpus => "cpus",
            Kind::Mem => "memory",
            Kind::Pids => "pids",
        }
    }
    /// The numeric size of a value (`None`: unparseable, e.g. interpolated).
    fn amount(self, v: &str) -> Option<f64> {
        let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
        match self {
            Kind::Cpus | Kind::Pids => v.parse::<f64>().ok(),
            Kind::Mem => {
                let l = v.to_ascii_lowercase();
                let l = l.strip_suffix('b').unwrap_or(&l);
                let (num, mul) = match l.chars().last() {
                    Some('k') => (&l[..l.len() - 1], 1024f64),
                    Some('m') => (&l[..l.len() - 1], 1024f64 * 1024.0),
                    Some('g') => (&l[..l.len() - 1], 1024f64 * 1024.0 * 1024.0),
                    Some('t') => (&l[..l.len() - 1], 1024f64.powi(4)),
                    _ => (l, 1.0),
                };
                num.trim().parse::<f64>().ok().map(|n| n * mul)
            }
        }
    }
}

fn cpus_text(c: f64) -> String {
    if c.fract() == 0.0 {
        format!("{c:.1}")
    } else {
        format!("{c}")
    }
}

/// The deploy.resources.limits mapping of a service, if any, and whether it is the service's own.
fn deploy_limits(y: &Yaml, svc: &Service) -> Option<(NodeId, bool)> {
    let d = svc.get(y, "deploy")?;
    let own = d.is_local();
    let r = y.get(d.resolved, "resources")?;
    let own = own && y.resolve(r) == r;
    let r = y.resolve(r);
    let l = y.get(r, "limits")?;
    let own = own && y.resolve(l) == l;
    let l = y.resolve(l);
    y.entries(l).map(|_| (l, own))
}

/// A limit to write: kind, value, and the existing value to replace (with whether it is shared
/// through an anchor or alias).
type Todo = (Kind, String, Option<(Src, bool)>);

/// The merged `deploy.resources.limits` of `ms`, if any.
fn merged_limits(ms: &MergedService) -> Option<&crate::compose::merge::MMap> {
    ms.map
        .get("deploy")?
        .value
        .map()?
        .get("resources")?
        .value
        .map()?
        .get("limits")?
        .value
        .map()
}

fn has_top_limits(y: &Yaml, svc: &Service) -> bool {
    ["cpus", "mem_limit", "pids_limit"]
        .iter()
        .any(|k| svc.get(y, k).is_some())
}

impl Rule for ResourceLimits {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn project_wide(&self) -> bool {
        true
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let opts = ctx
            .profile
            .rules
            .resource_limits
            .clone()
            .unwrap_or_default();
        // Per file: whether most of its services write limits under `deploy` (computed once).
        let mut file_deploy: Vec<Option<bool>> = vec![None; ctx.files.len()];
        for ms in ctx.merged(ID) {
            let (y, svc) = ctx.layer(ms, ms.home);
            let hf = ms.layers[ms.home].file;
            let file_deploy = *file_deploy[hf].get_or_insert_with(|| {
                let (mut deploy_n, mut top_n) = (0, 0);
                for s in &ctx.files[hf].compose.services {
                    if deploy_limits(y, s).is_some() {
                        deploy_n += 1;
                    } else if has_top_limits(y, s) {
                        top_n += 1;
                    }
                }
                deploy_n > top_n
            });
            let cfg = ctx.profile.service(&svc.name);
            let want: Vec<(Kind, String, bool)> = [
                (
                    Kind::Cpus,
                    cfg.and_then(|c| c.cpus)
                        .map(|c| (cpus_text(c), true))
                        .or_else(|| opts.cpus.map(|c| (cpus_text(c), false))),
                ),
                (
                    Kind::Mem,
                    cfg.and_then(|c| c.mem_limit.clone())
                        .map(|c| (c, true))
                        .or_else(|| opts.mem_limit.clone().map(|c| (c, false))),
                ),
                (
                    Kind::Pids,
                    cfg.and_then(|c| c.pids_limit)
                        .map(|c| (c.to_string(), true))
                        .or_else(|| opts.pids_limit.map(|c| (c.to_string(), false))),
                ),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|(v, explicit)| (k, v, explicit)))
            .collect();
            if want.is_empty() {
                continue;
            }
            if cfg.is_none()
                && ctx
                    .inherits_from(ms, ID, &["cpus", "mem_limit", "pids_limit", "deploy"])
                    .is_some()
            {
                // The service it extends gets the default limits; Compose merges them.
                continue;
            }
            // The home definition's own `deploy.resources.limits` (where nested keys are added).
            let limits = deploy_limits(y, svc);
            let merged_limits = merged_limits(ms);
            let merged_top = ["cpus", "mem_limit", "pids_limit"]
                .iter()
                .any(|k| ms.map.get(k).is_some());
            let use_deploy = merged_limits.is_some() || (!merged_top && file_deploy);
            // What needs writing: (kind, value, existing value to replace and whether it is
            // shared through an anchor or alias).
            let mut todo: Vec<Todo> = Vec::new();
            for (kind, value, explicit) in &want {
                let top = ms.map.get(kind.top());
                let dep = merged_limits.and_then(|m| m.get(kind.deploy()));
                let existing = top
                    .or(dep)
                    .and_then(|e| e.value.scalar().map(|s| (s, e.winner().shared)));
                let text = |s: Src| ctx.yaml(s.file).scalar(s.node).map(|v| kind.amount(v));
                match existing.map(|e| (e, text(e.0))) {
                    None => todo.push((*kind, value.clone(), None)),
                    Some((e, Some(Some(cur)))) => {
                        let new = kind.amount(value);
                        let unlimited = cur <= 0.0;
                        let tighter = *explicit && new.is_some_and(|v| v > 0.0 && v < cur);
                        if unlimited || tighter {
                            todo.push((*kind, value.clone(), Some(e)));
                        }
                    }
                    // Interpolated or not a scalar: keep it.
                    Some(_) => {}
                }
            }
            if todo.is_empty() {
                continue;
            }
            let names: Vec<&str> = todo
                .iter()
                .map(|(k, _, _)| if use_deploy { k.deploy() } else { k.top() })
                .collect();
            let mut finding = ctx.finding(
                ID,
                ms,
                Severity::Warning,
                format!(
                    "service `{}` lacks resource limits ({})",
                    ms.name,
                    names.join(", ")
                ),
            );
            if let Some(why) = ctx.unseen(ms) {
                finding.note = Some(format!("no automatic fix: {why}"));
                out.push(finding);
                continue;
            }
            // Replacements in other definitions than the home one: (file, edit, change).
            let mut elsewhere: Vec<(usize, Edit, Change)> = Vec::new();
            let plan = (|| -> Result<_, String> {
                let mut edit = ServiceEdit::new(y, svc, false)?;
                let mut nested: Vec<(String, NewNode, crate::yaml::Value)> = Vec::new();
                for (kind, value, existing) in &todo {
                    let node = NewNode::Raw(value.clone());
                    if let Some((src, shared)) = existing {
                        // Replace an unlimited (or looser, per-service) value where it is.
                        match ctx.reach(ms, src.layer, ID) {
                            Reach::Here => {}
                            Reach::Covered => {
                                return Err("the limit comes from a service it extends".into())
                            }
                            Reach::Refused(why) => return Err(why),
                        }
                        let (ly, lsvc) = ctx.layer(ms, src.layer);
                        let n = src.node;
                        if *shared || ly.path_of(n).segs.len() < lsvc.path.segs.len() {
                            return Err("the limit is shared through an anchor or alias".into());
                        }
                        let path = ly.path_of(n);
                        if !path.segs.starts_with(&lsvc.path.segs) || path.doc != lsvc.path.doc {
                            return Err("the limit comes from a merged anchor".into());
                        }
                        let (e, v) = hardening::replace_raw(ly, n, value)?;
                        if src.layer == ms.home {
                            edit.push_raw(e, Change::Set(path, v));
                        } else {
                            elsewhere.push((src.file, e, Change::Set(path, v)));
                        }
                    } else if use_deploy {
                        let v = node.value();
                        nested.push((kind.deploy().to_string(), node, v));
                    } else {
                        edit.add_key(kind.top(), node);
                    }
                }
                if !nested.is_empty() {
                    match limits {
                        Some((l, true)) => {
                            let (e, ch) = hardening::insert_keys(y, l, &y.path_of(l), nested)?;
                            for c in ch {
                                edit.push_raw(e.clone(), c);
                            }
                        }
                        Some((_, false)) => {
                            return Err(
                                "`deploy.resources.limits` is shared through an anchor or alias"
                                    .into(),
                            )
                        }
                        None => {
                            let limits =
                                NewNode::Map(nested.into_iter().map(|(k, n, _)| (k, n)).collect());
                            match svc.get(y, "deploy") {
                                None => edit.add_key(
                                    "deploy",
                                    NewNode::Map(vec![(
                                        "resources".into(),
                                        NewNode::Map(vec![("limits".into(), limits)]),
                                    )]),
                                ),
                                Some(d) if d.is_local() && d.origin == Origin::Own => {
                                    let r = y.get(d.resolved, "resources");
                                    let (map, key, node) = match r {
                                        None => (
                                            d.resolved,
                                            "resources",
                                            NewNode::Map(vec![("limits".into(), limits)]),
                                        ),
                                        Some(r) if y.resolve(r) == r && y.entries(r).is_some() => {
                                            (r, "limits", limits)
                                        }
                                        Some(_) => {
                                            return Err(
                                                "`deploy.resources` is not a plain mapping".into()
                                            )
                                        }
                                    };
                                    let v = node.value();
                                    let (e, ch) = hardening::insert_keys(
                                        y,
                                        map,
                                        &y.path_of(map),
                                        vec![(key.to_string(), node, v)],
                                    )?;
                                    for c in ch {
                                        edit.push_raw(e.clone(), c);
                                    }
                                }
                                Some(_) => return Err("`deploy` comes from a merged anchor".into()),
                            }
                        }
                    }
                }
                edit.finish()
            })();
            match plan {
                Ok((mut edits, changes)) => {
                    edits.dedup();
                    let title = format!("Add resource limits ({})", names.join(", "));
                    let part = |file: usize, edits: Vec<Edit>, changes: Vec<Change>, at: usize| {
                        Fix::new(ID, title.clone(), Applicability::Review, edits, changes, at)
                            .in_file(file)
                    };
                    let mut fix = part(finding.file, edits, changes, finding.at);
                    for (file, e, c) in elsewhere {
                        let at = e.range.start;
                        fix = fix.with_part(part(file, vec![e], vec![c], at));
                    }
                    finding.fix = Some(fix);
                }
                Err(why) => finding.note = Some(format!("no automatic fix: {why}")),
            }
            out.push(finding);
        }
    }
}
