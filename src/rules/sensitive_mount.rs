//! `sensitive-mount`: a sensitive host path is bind-mounted into a service (report only).

use super::docker_socket::is_runtime_socket;
use super::merged;
use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::yaml::Applicability;

/// The rule.
pub struct SensitiveMount;

const ID: &str = "sensitive-mount";

/// Host paths reported when mounted as a whole.
const EXACT: &[&str] = &[
    "/",
    "/etc",
    "/proc",
    "/sys",
    "/var/run",
    "/run",
    "/root",
    "/boot",
    "/dev",
    "/home",
    "/lib/modules",
    "/usr",
    "/var/lib",
    "/etc/ssh",
    "/etc/shadow",
    "/etc/sudoers",
    "/etc/docker",
    "/etc/kubernetes",
    "/var/log",
];

/// Host paths reported with anything below them.
const PREFIX: &[&str] = &[
    "/proc/",
    "/sys/",
    "/var/lib/docker",
    "/var/lib/kubelet",
    "/root/",
    "/boot/",
    "/etc/ssh/",
];

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "service bind-mounts a sensitive host path (`/`, `/etc`, `/proc`, `/sys`, `/var/run`, `/root`, …)",
    why: "These host paths hold credentials (`/etc/shadow`, `/root/.ssh`), kernel interfaces \
(`/proc`, `/sys`, `/dev`), runtime sockets (`/var/run`, `/run`) and other containers' data \
(`/var/lib/docker`). A compromised container that can read — let alone write — them can take \
over the host. Read-only mounts reduce but do not remove the risk (secrets are still readable).",
    fix: "No automatic fix (the service may need part of it). What to do: mount only the file \
or subdirectory it needs (e.g. `/etc/localtime:/etc/localtime:ro` instead of `/etc`), add \
`:ro`, or use a named volume. Monitoring agents that need `/proc` and `/sys` should mount them \
read-only under a different path (`/host/proc:ro`). To accept a mount knowingly: \
`[services.NAME] ignore = [\"sensitive-mount\"]`. Runtime sockets are reported by \
`docker-socket`.",
    breaks: "Nothing (report only).",
    applicability: Applicability::Review,
    severity: Severity::High,
    options: "[rules.sensitive-mount]\nenabled = true\n\n[services.NAME]\nignore = [\"sensitive-mount\"]",
    before: "services:\n  agent:\n    volumes:\n      - /etc:/host/etc",
    after: "services:\n  agent:\n    volumes:\n      - /etc/localtime:/etc/localtime:ro",
};

/// Whether `source` is a sensitive host path.
pub fn is_sensitive(source: &str) -> bool {
    let s = source.trim();
    let t = if s.len() > 1 {
        s.trim_end_matches('/')
    } else {
        s
    };
    let t = if t.is_empty() { "/" } else { t };
    EXACT.contains(&t)
        || PREFIX
            .iter()
            .any(|p| t.starts_with(p) || format!("{t}/") == *p)
}

impl Rule for SensitiveMount {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn project_wide(&self) -> bool {
        true
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for svc in ctx.merged(ID) {
            for m in merged::bind_mounts(ctx, svc) {
                if is_runtime_socket(&m.source)
                    || !is_sensitive(&m.source)
                    || !ctx.reports(svc, m.src, ID)
                {
                    continue;
                }
                let mut f = ctx.finding_at(
                    ID,
                    m.src,
                    Severity::Warning,
                    format!(
                        "service `{}` mounts the host path `{}`{}",
                        svc.name,
                        m.source,
                        if m.read_only {
                            " (read-only)"
                        } else {
                            " read-write"
                        }
                    ),
                );
                f.note = Some("mount only what the service needs, read-only".into());
                out.push(f);
            }
        }
    }
}
