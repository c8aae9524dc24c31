//! `privileged`: `privileged: true` is replaced by `cap_drop: [ALL]` plus the capabilities the
//! profile or the built-in image table gives back.

use super::cap_drop_all::{
    image_label, is_privileged_merged, plan_drop_all, source_note, wanted_caps,
};
use super::merged::MergedEdit;
use super::{Ctx, Finding, Reach, Rule, RuleMeta, Severity};
use crate::yaml::Applicability;

/// The rule.
pub struct Privileged;

const ID: &str = "privileged";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "service runs with `privileged: true`",
    why: "`privileged: true` gives the container every Linux capability, disables seccomp and \
AppArmor/SELinux confinement and exposes all host devices. A compromise of that process is a \
near-complete host compromise (the OpenBMP hardening checklist, Priority 4). It is often a leftover: `shm_size` and \
namespaced `sysctls` (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*) are applied by \
Docker without privileged mode.",
    fix: "Remove `privileged: true` (a service that merges it from an anchor gets a local \
`privileged: false`; the anchor is not edited) and add `cap_drop: [ALL]` plus a `cap_add` list: \
the profile's `[services.NAME] cap-add` or `[images.\"REPO\"] cap-add`, else the built-in image \
table's list (docs/images.md; postgres family: CHOWN, DAC_OVERRIDE, FOWNER, SETGID, SETUID), \
else, for an image started as root, the user-switch set (CHOWN, DAC_OVERRIDE, FOWNER, SETGID, \
SETUID), and nothing for a non-root `user:`. \
`shm_size` and `sysctls` stay. This rule owns `cap_drop`/`cap_add` of privileged services; \
`cap-drop-all` leaves them alone.\n\n\
Test procedure (the OpenBMP hardening checklist, Priority 4), in a maintenance window:\n\
1. apply the diff and start the service: docker compose up -d SERVICE\n\
2. confirm it starts and stays healthy: docker compose ps; docker compose logs SERVICE\n\
3. confirm the namespaced sysctls apply: docker exec CONTAINER sysctl net.ipv4.tcp_keepalive_time\n\
4. confirm shared memory is honoured: docker exec CONTAINER cat /proc/meminfo | grep Shmem, and \
watch the log for `could not resize shared memory segment`\n\
5. if something fails with `Operation not permitted`, add only that capability with \
`[services.NAME] cap-add` — never go back to privileged.",
    breaks: "Services that really manage host devices, mount filesystems, load kernel modules or \
run nested containers (Docker-in-Docker, some VPN and monitoring agents). Those need a \
specific `cap_add`, `devices:` entry or a redesign; the diff is marked `review`.",
    applicability: Applicability::Review,
    severity: Severity::Critical,
    options: "[rules.privileged]\nenabled = true\nimage-table = true   # add back the built-in \
table's capabilities for known images\n\n[services.psql]\ncap-add = [\"CHOWN\", \"SETUID\", \
\"SETGID\", \"DAC_OVERRIDE\"]",
    before: "services:\n  psql:\n    image: postgres:16\n    privileged: true\n    shm_size: 1536m",
    after: "services:\n  psql:\n    image: postgres:16\n    shm_size: 1536m\n    cap_drop:\n      - ALL\n    cap_add:\n      - CHOWN\n      - DAC_OVERRIDE\n      - FOWNER\n      - SETGID\n      - SETUID",
};

impl Rule for Privileged {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn project_wide(&self) -> bool {
        true
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let use_table = ctx.profile.rules.image_table(ID);
        for ms in ctx.merged(ID) {
            if !is_privileged_merged(ctx, ms) {
                continue;
            }
            let mut edit = MergedEdit::new(ctx, ms, ID);
            let defs = edit.flag_defs("privileged");
            if defs.iter().all(|(_, r)| *r == Reach::Covered) {
                // Only a service it extends sets it; that one's own fix removes it.
                continue;
            }
            // The finding points at the `privileged: true` that wins (in whichever file).
            let Some((_, winner)) = ctx.scalar(ms, "privileged") else {
                continue;
            };
            let (_, svc) = ctx.layer(ms, winner.layer);
            let mut finding = if ctx.reach(ms, winner.layer, ID) == Reach::Here {
                let y = ctx.yaml(winner.file);
                let key = svc.get(y, "privileged").map_or(svc.key, |s| s.key);
                let mut f = ctx.finding_at(
                    ID,
                    winner,
                    Severity::Warning,
                    format!("service `{}` runs privileged", ms.name),
                );
                f.at = y.node(key).span.start;
                f
            } else {
                ctx.finding(
                    ID,
                    ms,
                    Severity::Warning,
                    format!("service `{}` runs privileged", ms.name),
                )
            };
            if let Some(why) = ctx.unseen(ms) {
                finding.note = Some(format!("no automatic fix: {why}"));
                out.push(finding);
                continue;
            }
            let (caps, src) = wanted_caps(ctx, ms, use_table);
            let plan = (|| {
                edit.unset_flag("privileged")?;
                plan_drop_all(&mut edit, &caps)?;
                edit.finish(
                    "Replace `privileged: true` with `cap_drop: [ALL]` and a minimal `cap_add`",
                    Applicability::Review,
                    finding.file,
                    finding.at,
                )
            })();
            let shared = defs.iter().find_map(|(_, r)| match r {
                Reach::Refused(why) => Some(why.trim_end_matches("; edit it there").to_string()),
                _ => None,
            });
            match plan {
                Ok(fix) => {
                    let image = image_label(ctx, ms, finding.file);
                    let overridden = shared
                        .map(|why| format!("`privileged: true` {why}: overridden with `privileged: false` in this service; "))
                        .unwrap_or_default();
                    finding.note = Some(format!(
                        "{overridden}{}; test the service as `compose-harden explain privileged` describes",
                        source_note(&ms.name, image.as_deref(), &caps, &src)
                    ));
                    finding.fix = fix;
                }
                Err(why) => finding.note = Some(format!("no automatic fix: {why}")),
            }
            out.push(finding);
        }
    }
}
