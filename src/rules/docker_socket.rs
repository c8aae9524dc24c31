//! `docker-socket`: a container runtime socket is mounted into a service (report only).

use super::merged;
use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::yaml::Applicability;

/// The rule.
pub struct DockerSocket;

const ID: &str = "docker-socket";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "service mounts a container runtime socket (Docker, containerd, Podman, CRI-O)",
    why: "Whoever can talk to the runtime socket can start a privileged container that mounts \
the host's `/`: the socket is root on the host. Mounting it read-only (`:ro`) does not help — \
the API is reached by connecting to the socket, which a read-only bind still allows.",
    fix: "No automatic fix (removing the mount breaks the service). What to do: if the service \
only reads container state (dashboards, log shippers, Traefik/Caddy discovery), put a socket \
proxy in front (e.g. `tecnativa/docker-socket-proxy` with only the API sections it needs, such \
as `CONTAINERS=1`, everything else 0) on an internal network, and point the service at \
`tcp://socket-proxy:2375` instead of mounting the socket. If it must manage containers (CI \
runners, Portainer), run it on a dedicated host or use rootless Docker, and treat the service \
as host-root. To accept it knowingly: `[services.NAME] ignore = [\"docker-socket\"]`.",
    breaks: "Nothing (report only).",
    applicability: Applicability::Review,
    options: "[rules.docker-socket]\nenabled = true\n\n[services.NAME]\nignore = [\"docker-socket\"]",
    before: "services:\n  traefik:\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock:ro",
    after: "services:\n  socket-proxy:\n    image: tecnativa/docker-socket-proxy:0.2\n    environment:\n      CONTAINERS: 1\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock:ro\n  traefik:\n    environment:\n      DOCKER_HOST: tcp://socket-proxy:2375",
};

/// Whether `path` is a container runtime socket.
pub fn is_runtime_socket(path: &str) -> bool {
    let p = path.trim().trim_end_matches('/');
    [
        "docker.sock",
        "containerd.sock",
        "podman.sock",
        "crio.sock",
        "cri-dockerd.sock",
    ]
    .iter()
    .any(|s| p.ends_with(s))
}

impl Rule for DockerSocket {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn project_wide(&self) -> bool {
        true
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for svc in ctx.merged(ID) {
            for m in merged::bind_mounts(ctx, svc) {
                if !is_runtime_socket(&m.source) || !ctx.reports(svc, m.src, ID) {
                    continue;
                }
                let mut f = ctx.finding_at(
                    ID,
                    m.src,
                    Severity::Warning,
                    format!(
                        "service `{}` mounts the runtime socket `{}`{}",
                        svc.name,
                        m.source,
                        if m.read_only {
                            " (read-only does not restrict the API)"
                        } else {
                            ""
                        }
                    ),
                );
                f.note = Some(
                    "use a socket proxy or accept it; see `compose-harden explain docker-socket`"
                        .into(),
                );
                out.push(f);
            }
        }
    }
}
