//! `no-new-privileges`: every service runs with `security_opt: [no-new-privileges:true]`.

use super::hardening;
use super::{Ctx, Finding, Inherit, Rule, RuleMeta, Severity};
use crate::compose::{values, Origin};
use crate::yaml::{ops, Applicability, Change, Fix, NewNode, NodeKind};

/// The rule.
pub struct NoNewPrivileges;

const ID: &str = "no-new-privileges";
const OPT: &str = "no-new-privileges:true";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "service can gain privileges through setuid binaries (no-new-privileges not set)",
    why: "Without `no-new-privileges`, a process in the container can gain privileges by running a \
setuid or setgid binary or one with file capabilities. Setting it closes that path for every \
process of the container (the OpenBMP hardening checklist, §5.1).",
    fix: "Add `no-new-privileges:true` to the service's `security_opt`: appended to an existing \
list in that list's style, or as a new `security_opt` key after the service's last entry. A \
service whose `security_opt` comes only from a merged anchor (`<<: *common`) gets a local list \
that keeps the anchor's entries.",
    breaks: "Almost never: only images that rely on setuid binaries at run time (e.g. `sudo` or \
`su` inside the container, some old entrypoints that switch user with a setuid helper).",
    applicability: Applicability::Safe,
    severity: Severity::Medium,
    options: "[rules.no-new-privileges]\nenabled = true   # run the rule\n\n\
[services.NAME]\nignore = [\"no-new-privileges\"]   # skip one service",
    before: "services:\n  web:\n    image: nginx:1.27",
    after: "services:\n  web:\n    image: nginx:1.27\n    security_opt:\n      - no-new-privileges:true",
};

fn is_set(v: &str) -> bool {
    let v = v.trim();
    matches!(
        v,
        "no-new-privileges" | "no-new-privileges:true" | "no-new-privileges=true"
    )
}

impl Rule for NoNewPrivileges {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let y = ctx.y;
        for svc in ctx.services(ID) {
            let setting = svc.get(y, "security_opt");
            // `security_opt: !override [..]` (or `!reset`) replaces the base's list instead of
            // being concatenated with it: the base's option does not reach this service.
            let replaces_base = setting
                .is_some_and(|s| values::is_override(y, s.value) || values::is_reset(y, s.value));
            match ctx.inherits(svc, ID) {
                // The base gets the option (or has it); Compose concatenates `security_opt`.
                Inherit::FromBase if !replaces_base => continue,
                Inherit::Unknown if setting.is_none() => {
                    out.push(Finding {
                        rule: ID,
                        at: svc.at(y),
                        message: format!("service `{}` may not set no-new-privileges", svc.name),
                        severity: Severity::Warning,
                        fix: None,
                        note: Some("it `extends` a service from another file; harden that one (adding it here could duplicate the option)".into()),
                    });
                    continue;
                }
                _ => {}
            }
            let mut finding = Finding {
                rule: ID,
                at: svc.at(y),
                message: format!("service `{}` does not set no-new-privileges", svc.name),
                severity: Severity::Warning,
                fix: None,
                note: None,
            };
            let new_list = |items: Vec<NewNode>| {
                let value = NewNode::Seq(items);
                ops::insert_key(y, svc.node, "security_opt", &value).map(|edit| {
                    Fix::new(
                        ID,
                        "Add `security_opt: [no-new-privileges:true]`",
                        Applicability::Safe,
                        vec![edit],
                        vec![Change::InsertKey(
                            svc.path.clone(),
                            "security_opt".into(),
                            value.value(),
                        )],
                        svc.at(y),
                    )
                })
            };
            match setting {
                None => match new_list(vec![NewNode::Str(OPT.into())]) {
                    Ok(fix) if !svc.is_alias => finding.fix = Some(fix),
                    Ok(_) => {
                        finding.note =
                            Some("the service is an alias of another node; harden that node".into())
                    }
                    Err(why) => finding.note = Some(format!("no automatic fix: {why}")),
                },
                Some(s) if values::is_reset(y, s.value) => {
                    // `security_opt: !reset []` reads as absent: replace it (an append would
                    // stay reset).
                    let opt = [OPT.to_string()];
                    match hardening::replace_reset(y, &s, "security_opt", &opt) {
                        Ok((edit, value)) if !svc.is_alias => {
                            finding.fix = Some(Fix::new(
                                ID,
                                "Replace `security_opt: !reset` with `!override [no-new-privileges:true]`",
                                Applicability::Safe,
                                vec![edit],
                                vec![Change::Set(svc.path.key("security_opt"), value)],
                                svc.at(y),
                            ));
                        }
                        Ok(_) => {
                            finding.note = Some(
                                "the service is an alias of another node; harden that node".into(),
                            )
                        }
                        Err(why) => finding.note = Some(format!("no automatic fix: {why}")),
                    }
                }
                Some(s) => {
                    let NodeKind::Seq { items } = &y.node(s.resolved).kind else {
                        finding.note =
                            Some("`security_opt` is not a list; no automatic fix".into());
                        out.push(finding);
                        continue;
                    };
                    let values: Vec<Option<&str>> = items.iter().map(|&i| y.scalar(i)).collect();
                    if values.iter().flatten().any(|v| is_set(v)) {
                        continue;
                    }
                    if let Some(pos) = values
                        .iter()
                        .position(|v| v.is_some_and(|v| v.trim().starts_with("no-new-privileges")))
                    {
                        // Explicitly disabled (`no-new-privileges:false`): turn it on.
                        let item = items[pos];
                        finding.message =
                            format!("service `{}` disables no-new-privileges", svc.name);
                        if s.is_local() && !svc.is_alias && y.resolve(item) == item {
                            if let Ok(edit) = ops::replace_scalar(y, item, OPT, ops::Quote::Keep) {
                                finding.fix = Some(Fix::new(
                                    ID,
                                    "Set `no-new-privileges:true`",
                                    Applicability::Safe,
                                    vec![edit],
                                    vec![Change::Set(
                                        svc.path.key("security_opt").index(pos),
                                        NewNode::Str(OPT.into()).value(),
                                    )],
                                    svc.at(y),
                                ));
                            }
                        }
                        if finding.fix.is_none() {
                            finding.note = Some(
                                "the setting is shared through an anchor; edit it there".into(),
                            );
                        }
                        out.push(finding);
                        continue;
                    }
                    if svc.is_alias {
                        finding.note = Some(
                            "the service is an alias of another node; harden that node".into(),
                        );
                    } else if s.is_local() {
                        match ops::append_item(y, s.resolved, &NewNode::Str(OPT.into())) {
                            Ok(edit) => {
                                finding.fix = Some(Fix::new(
                                    ID,
                                    "Append `no-new-privileges:true` to `security_opt`",
                                    Applicability::Safe,
                                    vec![edit],
                                    vec![Change::Append(
                                        svc.path.key("security_opt"),
                                        NewNode::Str(OPT.into()).value(),
                                    )],
                                    svc.at(y),
                                ))
                            }
                            Err(why) => finding.note = Some(format!("no automatic fix: {why}")),
                        }
                    } else if matches!(s.origin, Origin::Merged { .. }) || s.origin == Origin::Own {
                        // Shared list (merged anchor or alias): give the service its own copy.
                        if values.iter().all(Option::is_some) {
                            let mut list: Vec<NewNode> = values
                                .iter()
                                .flatten()
                                .map(|v| NewNode::Str((*v).to_string()))
                                .collect();
                            list.push(NewNode::Str(OPT.into()));
                            if s.origin == Origin::Own {
                                // `security_opt: *alias` — replace the alias with a local list.
                                finding.note = Some(
                                    "`security_opt` is an alias shared with other services; no automatic fix".into(),
                                );
                            } else {
                                match new_list(list) {
                                    Ok(mut fix) => {
                                        fix.title = "Add a local `security_opt` with the anchor's entries and `no-new-privileges:true`".into();
                                        finding.fix = Some(fix);
                                    }
                                    Err(why) => {
                                        finding.note = Some(format!("no automatic fix: {why}"))
                                    }
                                }
                            }
                        } else {
                            finding.note = Some(
                                "`security_opt` holds non-scalar items; no automatic fix".into(),
                            );
                        }
                    }
                }
            }
            out.push(finding);
        }
    }
}
