//! `privileged`: `privileged: true` is replaced by `cap_drop: [ALL]` plus the capabilities the
//! profile or the built-in image table gives back.

use super::cap_drop_all::{is_privileged, plan_drop_all, source_note, wanted_caps};
use super::hardening::ServiceEdit;
use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::compose::Origin;
use crate::yaml::{Applicability, Fix};

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

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let y = ctx.y;
        let use_table = ctx.profile.rules.image_table(ID);
        let flow = ctx.prefers_flow();
        for svc in ctx.services(ID) {
            if !is_privileged(ctx, svc) {
                continue;
            }
            let Some(setting) = svc.get(y, "privileged") else {
                continue;
            };
            let mut finding = Finding {
                rule: ID,
                at: svc.at(y),
                message: format!("service `{}` runs privileged", svc.name),
                severity: Severity::Warning,
                fix: None,
                note: None,
            };
            let (caps, src) = wanted_caps(ctx, svc, use_table);
            let plan = (|| {
                let mut edit = ServiceEdit::new(y, svc, flow)?;
                if setting.origin == Origin::Own {
                    if !setting.is_local() {
                        return Err("`privileged` is an alias; no automatic fix".to_string());
                    }
                    edit.remove_own("privileged")?;
                } else {
                    // Merged from an anchor: override locally, leave the anchor alone.
                    edit.set_scalar("privileged", "false")?;
                }
                plan_drop_all(&mut edit, &caps)?;
                edit.finish()
            })();
            match plan {
                Ok((edits, changes)) => {
                    finding.note = Some(format!(
                        "{}; test the service as `compose-harden explain privileged` describes",
                        source_note(svc, svc.image(y), &caps, &src)
                    ));
                    finding.fix = Some(Fix::new(
                        ID,
                        "Replace `privileged: true` with `cap_drop: [ALL]` and a minimal `cap_add`",
                        Applicability::Review,
                        edits,
                        changes,
                        svc.at(y),
                    ));
                }
                Err(why) => finding.note = Some(format!("no automatic fix: {why}")),
            }
            out.push(finding);
        }
    }
}
