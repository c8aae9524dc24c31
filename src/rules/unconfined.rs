//! `unconfined`: a service turns off seccomp, AppArmor or SELinux confinement.

use super::{Ctx, Finding, Reach, Rule, RuleMeta, Severity};
use crate::yaml::{ops, Applicability, Change, Fix};

/// The rule.
pub struct Unconfined;

const ID: &str = "unconfined";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "service disables seccomp, AppArmor or SELinux (`seccomp:unconfined`, `apparmor:unconfined`, `label:disable`)",
    why: "Docker's default seccomp profile blocks about 50 rarely needed, dangerous system calls \
(kernel keyring, `mount`, `unshare`, module loading…); the default AppArmor/SELinux policy \
confines file and mount access. Turning them off removes the layers that stop many container \
escapes.",
    fix: "Report by default. With `[rules.unconfined] fix = true` the `security_opt` item is \
removed as a `review` fix (only when it is the service's own list and other items — not counting \
`no-new-privileges` — remain, so the list never becomes empty). What \
to do by hand: remove the item and start the service; if a system call is then denied \
(`Operation not permitted`, `auditd`/`dmesg` shows the seccomp or AppArmor denial), write a \
custom profile that allows just that call — start from Docker's default `profile.json` — and \
use `seccomp=/path/profile.json` instead of `unconfined`.",
    breaks: "Services that really need a blocked system call (some debuggers, Chrome/Puppeteer \
sandboxes, nested containers). They fail at start; give them a custom profile.",
    applicability: Applicability::Review,
    severity: Severity::High,
    options: "[rules.unconfined]\nenabled = true\nfix = false   # true: offer the removal as a review fix",
    before: "services:\n  app:\n    security_opt:\n      - seccomp:unconfined\n      - no-new-privileges:true",
    after: "services:\n  app:\n    security_opt:\n      - no-new-privileges:true",
};

/// Whether a `security_opt` item turns confinement off.
pub fn is_unconfined(opt: &str) -> bool {
    let o = opt.trim().replace('=', ":").to_ascii_lowercase();
    matches!(
        o.as_str(),
        "seccomp:unconfined" | "apparmor:unconfined" | "label:disable" | "systempaths:unconfined"
    )
}

impl Rule for Unconfined {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn project_wide(&self) -> bool {
        true
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let offer = ctx
            .profile
            .rules
            .unconfined
            .as_ref()
            .and_then(|o| o.fix)
            .unwrap_or(false);
        for svc in ctx.merged(ID) {
            let Some(entry) = ctx.entry(svc, "security_opt") else {
                continue;
            };
            // Compose appends every definition's list (no de-duplication): judge each.
            for def in &entry.defs {
                if !ctx.reports(svc, def.src, ID) {
                    continue;
                }
                let y = ctx.yaml(def.src.file);
                let list = def.src.node;
                let Some(items) = y.items(list) else {
                    continue;
                };
                let bad: Vec<usize> = items
                    .iter()
                    .enumerate()
                    .filter(|(_, &i)| y.scalar(y.resolve(i)).is_some_and(is_unconfined))
                    .map(|(n, _)| n)
                    .collect();
                // Items that stay after the removal, not counting `no-new-privileges` (which
                // that rule may add in the same run): the fix is offered only when the list keeps a
                // real entry, so the decision is the same before and after the other rule's fix.
                let others = items
                    .iter()
                    .enumerate()
                    .filter(|(n, &i)| {
                        !bad.contains(n)
                            && !y
                                .scalar(y.resolve(i))
                                .is_some_and(|v| v.trim().starts_with("no-new-privileges"))
                    })
                    .count();
                let (_, layer_svc) = ctx.layer(svc, def.src.layer);
                for &n in &bad {
                    let it = items[n];
                    let opt = y.scalar(y.resolve(it)).unwrap_or_default();
                    let src = crate::compose::merge::Src {
                        node: it,
                        ..def.src
                    };
                    let mut finding = ctx.finding_at(
                        ID,
                        src,
                        Severity::Warning,
                        format!("service `{}` sets `{opt}`", svc.name),
                    );
                    finding.note = Some(format!("see `compose-harden explain {ID}`"));
                    if offer {
                        if def.shared || layer_svc.is_alias || y.resolve(it) != it {
                            finding.note = Some(
                                "`security_opt` is shared through an anchor or alias; edit it there"
                                    .into(),
                            );
                        } else if let Reach::Refused(why) = ctx.reach(svc, def.src.layer, ID) {
                            finding.note = Some(format!("no automatic fix: {why}"));
                        } else if others == 0 {
                            finding.note = Some(
                                "no other `security_opt` entry would remain; remove the item by hand"
                                    .into(),
                            );
                        } else {
                            match ops::remove_item(y, list, n) {
                                Ok(e) => {
                                    finding.fix = Some(
                                        Fix::new(
                                            ID,
                                            format!("Remove `{opt}` from `security_opt`"),
                                            Applicability::Review,
                                            vec![e],
                                            vec![Change::Remove(y.path_of(list).index(n))],
                                            finding.at,
                                        )
                                        .in_file(def.src.file),
                                    );
                                }
                                Err(why) => finding.note = Some(format!("no automatic fix: {why}")),
                            }
                        }
                    }
                    out.push(finding);
                }
            }
        }
    }
}
