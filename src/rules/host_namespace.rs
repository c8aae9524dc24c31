//! `host-namespace`: a service shares a host namespace (report only).

use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::yaml::Applicability;

/// The rule.
pub struct HostNamespace;

const ID: &str = "host-namespace";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "service shares a host namespace (`network_mode: host`, `pid: host`, `ipc: host`, `userns_mode: host`, `uts: host`)",
    why: "`network_mode: host` puts the container on the host's network stack: every port it \
opens is public, it can reach services bound to the host's loopback, and Compose port mappings \
and network isolation no longer apply. `pid: host` lets it see and signal (with capabilities, \
ptrace) every host process; `ipc: host` shares host shared memory; `userns_mode: host` turns off \
user-namespace remapping, so root in the container is root on the host; `uts: host` lets it \
change the host name.",
    fix: "No automatic fix (the service may depend on it). What to do: remove the key and, for \
the network, publish the ports it needs with `ports:` (bound to 127.0.0.1 when only local \
clients use them). Network tools that need host mode (DHCP servers, some BGP/BMP speakers, \
node exporters) can often use a macvlan network or `cap_add: [NET_ADMIN]` on a bridge instead. \
For `pid: host` (monitoring agents), prefer the agent's container-aware mode. To accept it \
knowingly: `[services.NAME] ignore = [\"host-namespace\"]`.",
    breaks: "Nothing (report only).",
    applicability: Applicability::Review,
    severity: Severity::High,
    options: "[rules.host-namespace]\nenabled = true\n\n[services.NAME]\nignore = [\"host-namespace\"]",
    before: "services:\n  app:\n    network_mode: host",
    after: "services:\n  app:\n    ports:\n      - \"127.0.0.1:8080:8080\"",
};

impl Rule for HostNamespace {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn project_wide(&self) -> bool {
        true
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for svc in ctx.merged(ID) {
            for key in ["network_mode", "pid", "ipc", "userns_mode", "uts"] {
                let Some(e) = ctx.entry(svc, key) else {
                    continue;
                };
                // Interpolated values (`${NET:-host}`) are judged as Compose reads them.
                let Some((v, src)) = ctx.string_in(svc, key) else {
                    continue;
                };
                if v.trim() != "host" || !ctx.reports(svc, src, ID) {
                    continue;
                }
                let mut f = ctx.finding_at(
                    ID,
                    src,
                    Severity::Warning,
                    format!(
                        "service `{}` uses the host's namespace (`{key}: host`)",
                        svc.name
                    ),
                );
                f.at = ctx.yaml(src.file).node(e.winner().key).span.start;
                f.note = Some(format!("see `compose-harden explain {ID}`"));
                out.push(f);
            }
        }
    }
}
