//! `dangerous-cap-add`: a service adds a powerful capability (report only).

use super::cap_drop_all::same_cap;
use super::hardening;
use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::yaml::Applicability;

/// The rule.
pub struct DangerousCapAdd;

const ID: &str = "dangerous-cap-add";

/// Capabilities that amount to (or come close to) host root.
pub const DANGEROUS: &[&str] = &[
    "ALL",
    "SYS_ADMIN",
    "NET_ADMIN",
    "SYS_PTRACE",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_BOOT",
    "SYS_TIME",
    "DAC_READ_SEARCH",
    "BPF",
    "PERFMON",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "SYSLOG",
    "LINUX_IMMUTABLE",
    "SYS_RESOURCE",
];

static META: RuleMeta = RuleMeta {
    id: ID,
    summary:
        "service adds a dangerous capability (`SYS_ADMIN`, `NET_ADMIN`, `SYS_PTRACE`, `ALL`, …)",
    why: "`SYS_ADMIN` is close to full root (mounts, namespaces, many escape paths); \
`NET_ADMIN` reconfigures interfaces, routes and firewall rules of the container's network \
namespace (the host's with `network_mode: host`); `SYS_PTRACE` reads other processes' memory; \
`SYS_MODULE` loads kernel modules; `ALL` is `privileged` without the device access.",
    fix: "No automatic fix. What to do: find which operation needs it (`Operation not \
permitted` in the log after removing it) and replace it with the narrowest capability, or move \
that operation out of the long-running service (an init container, the host). If a service \
legitimately needs it — e.g. a packet generator that needs `NET_RAW`/`NET_ADMIN` for Scapy — \
accept it with a reason: `[services.traffic-gen] accept-cap-add = { NET_ADMIN = \"Scapy \
replays BMP into the lab network\" }`; it is then reported as `info` with that reason.",
    breaks: "Nothing (report only).",
    applicability: Applicability::Review,
    severity: Severity::High,
    options: "[rules.dangerous-cap-add]\nenabled = true\n\n[services.NAME]\naccept-cap-add = { \
NET_ADMIN = \"why this service needs it\" }",
    before: "services:\n  app:\n    cap_add:\n      - SYS_ADMIN",
    after: "services:\n  app:\n    cap_add:\n      - CHOWN   # the one it needs",
};

impl Rule for DangerousCapAdd {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn project_wide(&self) -> bool {
        true
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for svc in ctx.merged(ID) {
            let accepted = ctx.profile.service(&svc.name).map(|c| &c.accept_cap_add);
            for it in ctx.items(svc, "cap_add") {
                if !ctx.reports(svc, it.src, ID) {
                    continue;
                }
                let Some(cap) = ctx.text(it) else {
                    continue;
                };
                let cap = cap.as_str();
                if !DANGEROUS.iter().any(|d| same_cap(d, cap)) {
                    continue;
                }
                let reason = accepted.and_then(|a| {
                    a.iter()
                        .find(|(k, _)| hardening::norm_cap(k) == hardening::norm_cap(cap))
                        .map(|(_, r)| r.clone())
                });
                let (severity, note) = match reason {
                    Some(r) => (Severity::Info, format!("accepted by the profile: {r}")),
                    None => (
                        Severity::Warning,
                        format!(
                            "replace it with the narrowest capability, or accept it with \
`[services.{}] accept-cap-add = {{ {} = \"reason\" }}`",
                            svc.name,
                            hardening::norm_cap(cap)
                        ),
                    ),
                };
                let mut f = ctx.finding_at(
                    ID,
                    it.src,
                    Severity::Warning,
                    format!("service `{}` adds the capability `{cap}`", svc.name),
                );
                f.severity = severity;
                f.note = Some(note);
                out.push(f);
            }
        }
    }
}
