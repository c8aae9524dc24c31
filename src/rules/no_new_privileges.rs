//! `no-new-privileges`: every service runs with `security_opt: [no-new-privileges:true]`.

use super::merged::MergedEdit;
use super::{Ctx, Finding, Reach, Rule, RuleMeta, Severity};
use crate::yaml::{ops, Applicability, Change, Fix, NewNode};

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

fn same_opt(a: &str, b: &str) -> bool {
    is_set(a) && is_set(b)
}

impl Rule for NoNewPrivileges {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn project_wide(&self) -> bool {
        true
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for ms in ctx.merged(ID) {
            if ctx.inherits_from(ms, ID, &["security_opt"]).is_some() {
                // The base gets the option (or has it); Compose appends `security_opt`.
                continue;
            }
            let items = ctx.items(ms, "security_opt");
            let values: Vec<Option<String>> = items.iter().map(|i| ctx.text(i)).collect();
            if values.iter().flatten().any(|v| is_set(v)) {
                continue;
            }
            let mut finding = ctx.finding(
                ID,
                ms,
                Severity::Warning,
                format!("service `{}` does not set no-new-privileges", ms.name),
            );
            if let Some(pos) = values.iter().position(|v| {
                v.as_deref()
                    .is_some_and(|v| v.trim().starts_with("no-new-privileges"))
            }) {
                // Explicitly disabled (`no-new-privileges:false`): turn it on where it is set.
                let item = items[pos];
                finding.message = format!("service `{}` disables no-new-privileges", ms.name);
                let y = ctx.yaml(item.src.file);
                let reach = ctx.reach(ms, item.src.layer, ID);
                if reach == Reach::Covered {
                    continue;
                }
                if !item.shared && item.key.is_none() && reach == Reach::Here {
                    if let Ok(edit) = ops::replace_scalar(y, item.src.node, OPT, ops::Quote::Keep) {
                        finding.fix = Some(
                            Fix::new(
                                ID,
                                "Set `no-new-privileges:true`",
                                Applicability::Safe,
                                vec![edit],
                                vec![Change::Set(
                                    y.path_of(item.src.node),
                                    NewNode::Str(OPT.into()).value(),
                                )],
                                finding.at,
                            )
                            .in_file(item.src.file),
                        );
                    }
                }
                if finding.fix.is_none() {
                    finding.note = Some(match reach {
                        Reach::Refused(why) => format!("no automatic fix: {why}"),
                        _ => "the setting is shared through an anchor; edit it there".into(),
                    });
                }
                out.push(finding);
                continue;
            }
            if let Some(why) = ctx.unseen(ms) {
                finding.message = format!("service `{}` may not set no-new-privileges", ms.name);
                finding.note = Some(format!(
                    "no automatic fix: {why} (adding it here could duplicate the option)"
                ));
                out.push(finding);
                continue;
            }
            let title = if items.is_empty() {
                "Add `security_opt: [no-new-privileges:true]`"
            } else {
                "Append `no-new-privileges:true` to `security_opt`"
            };
            let mut edit = MergedEdit::new(ctx, ms, ID).with_flow(false);
            let plan = edit
                .ensure_items("security_opt", &[OPT.to_string()], same_opt)
                .and_then(|_| edit.finish(title, Applicability::Safe, finding.file, finding.at));
            match plan {
                Ok(fix) => finding.fix = fix,
                Err(why) => finding.note = Some(format!("no automatic fix: {why}")),
            }
            out.push(finding);
        }
    }
}
