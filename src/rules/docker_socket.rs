//! `docker-socket`: a container runtime socket is mounted into a service; with `fix = true`
//! the Docker socket is replaced by a socket proxy (or made read-only where no proxy fits).

use super::hardening;
use super::socket_proxy;
use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::compose::Service;
use crate::yaml::{Applicability, Fix, Yaml};

/// The rule.
pub struct DockerSocket;

const ID: &str = "docker-socket";

// severity: critical (read-write Docker socket), info (a socket proxy mounting it)
static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "service mounts a container runtime socket (Docker, containerd, Podman, CRI-O)",
    why: "Whoever can talk to the runtime socket can start a privileged container that mounts \
the host's `/`: the socket is root on the host. Mounting it read-only (`:ro`) does not help — \
the API is reached by connecting to the socket, which a read-only bind still allows. The \
backup-tool hardening guide this tool follows recommends a socket proxy that exposes only the \
API sections the service needs.",
    fix: "Report only unless the profile sets `[rules.docker-socket] fix = true` (the \
`production` profile does). Then, for a client whose image is in the client knowledge \
(`data/socket-clients.toml`: Traefik, Dozzle, Watchtower, docker-gc, Baktainer, …), the Docker \
socket mount is replaced by a socket proxy: a new service `socket-proxy` (one per client, \
`<client>-socket-proxy`, when several need one) running `tecnativa/docker-socket-proxy:0.4.1` \
with only the API sections the client needs (e.g. `CONTAINERS: 1`; EVENTS, PING and VERSION \
are on by default; everything else, including POST, stays off), mounting the socket \
read-only, on a new `internal: true` network that only it and its client join; the client \
loses the mount, is pointed at `tcp://socket-proxy:2375` (`DOCKER_HOST`, or Traefik's \
`--providers.docker.endpoint` when its command configures the Docker provider), joins the \
proxy network (keeping `default` if it had no `networks:`) and starts after the proxy. The \
proxy gets `no-new-privileges`, `cap_drop: [ALL]` and a restart policy (and the profile's \
resource and log limits). Where the tool cannot know which sections the client needs, or \
cannot point it at the proxy (an unknown image, an endpoint in a configuration file, \
`network_mode`), the mount is made read-only (`:ro`) instead — which does not restrict the \
API; the finding says so and what to do. Clients that need the whole API (Portainer) are \
reported only. Containerd, Podman and CRI-O sockets are reported only.",
    breaks: "A client that needs an API section the table does not grant gets `403 Forbidden` \
from the proxy for those calls (e.g. Traefik in Swarm mode needs SERVICES, TASKS and NETWORKS; \
Dozzle's container actions need POST): add the section to the proxy's `environment`. A client \
that reads the socket path from its own configuration (not `DOCKER_HOST`) keeps looking for \
the removed socket. On SELinux or AppArmor hosts that confine socket access, the proxy may \
need the socket's `:z` label (copied from the client's mount) or `privileged: true`. `:ro` \
changes nothing for the API; an entrypoint that chowns the socket fails on a read-only \
mount.",
    applicability: Applicability::Review,
    severity: Severity::Critical,
    options: "[rules.docker-socket]\nenabled = true\nfix = false   # true: proxy (or :ro) fix, \
`review`\n\n[services.NAME]\nignore = [\"docker-socket\"]",
    before: "services:\n  traefik:\n    image: traefik:v3.1\n    command: [--providers.docker=true]\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock",
    after: "services:\n  traefik:\n    image: traefik:v3.1\n    command: [--providers.docker=true, \"--providers.docker.endpoint=tcp://socket-proxy:2375\"]\n    networks: [default, socket-proxy]\n    depends_on: [socket-proxy]\n  socket-proxy:\n    image: tecnativa/docker-socket-proxy:0.4.1\n    environment:\n      CONTAINERS: 1\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock:ro\n    networks:\n      - socket-proxy\n    restart: unless-stopped\n    security_opt:\n      - no-new-privileges:true\n    cap_drop:\n      - ALL\nnetworks:\n  socket-proxy:\n    internal: true",
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

/// Whether `path` is the Docker socket (the only one with an API proxy here).
pub fn is_docker_socket(path: &str) -> bool {
    let p = path.trim().trim_end_matches('/');
    p.ends_with("docker.sock") && !p.ends_with("cri-dockerd.sock")
}

impl Rule for DockerSocket {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let y = ctx.y;
        let fix = ctx.profile.docker_socket_fix();
        let mut mounts: Vec<(&Service, hardening::BindMount)> = Vec::new();
        for svc in ctx.services(ID) {
            for m in hardening::bind_mounts(y, svc, &ctx.env) {
                // An interpolated source (`${DOCKER_SOCK}:/var/run/docker.sock`) counts by target.
                if is_runtime_socket(&m.source)
                    || (m.source.starts_with('$') && is_runtime_socket(&m.target))
                {
                    mounts.push((svc, m));
                }
            }
        }
        let mut findings: Vec<Finding> = Vec::new();
        // Clients to move behind a proxy, per document: (finding index, move).
        let mut moves: Vec<(usize, socket_proxy::Move<'_>)> = Vec::new();
        for (svc, m) in &mounts {
            let image = svc.image(y).unwrap_or("");
            let mut f = Finding {
                file: ctx.file,
                rule: ID,
                at: y.node(m.node).span.start,
                message: format!(
                    "service `{}` mounts the runtime socket `{}`{}",
                    svc.name,
                    m.source,
                    if m.read_only {
                        " (read-only does not restrict the API)"
                    } else {
                        ""
                    }
                ),
                severity: Severity::Warning,
                fix: None,
                note: Some(
                    "use a socket proxy or accept it; see `compose-harden explain docker-socket`"
                        .into(),
                ),
            };
            if socket_proxy::is_proxy_image(image) {
                f.severity = Severity::Info;
                f.message = format!(
                    "service `{}` is a socket proxy and mounts `{}` (expected)",
                    svc.name, m.source
                );
                f.note = Some(
                    "keep its API sections to what its clients need and its network internal"
                        .into(),
                );
                findings.push(f);
                continue;
            }
            if !fix {
                findings.push(f);
                continue;
            }
            let docker = is_docker_socket(&m.source) || is_docker_socket(&m.target);
            let client = socket_proxy::client_of(image);
            let why_not =
                match client {
                    _ if !docker => Some("only the Docker socket has a proxy here".to_string()),
                    None => Some(format!(
                    "`{}` is not in the client knowledge: which API sections it needs is unknown",
                    if image.is_empty() { "(no image)" } else { image }
                )),
                    Some(c) if c.endpoint == socket_proxy::Endpoint::None => {
                        f.note = Some(format!("no proxy: {}", c.note));
                        findings.push(f);
                        continue;
                    }
                    Some(c) if c.endpoint == socket_proxy::Endpoint::Config => Some(format!(
                        "{} reads the endpoint from its configuration file: {}",
                        c.name, c.note
                    )),
                    Some(_) => None,
                };
            match (why_not, client) {
                (None, Some(c)) => {
                    findings.push(f);
                    moves.push((
                        findings.len() - 1,
                        socket_proxy::Move {
                            svc,
                            mount: m,
                            client: c,
                        },
                    ));
                }
                (why, _) => {
                    let why = why.unwrap_or_default();
                    read_only_fallback(y, svc, m, &why, &mut f);
                    findings.push(f);
                }
            }
        }
        // One fix per document moves every proxiable client of it (they share the new
        // top-level `networks:` entry and the `services:` insertion point).
        let mut docs: Vec<usize> = moves.iter().map(|(_, m)| m.svc.doc).collect();
        docs.dedup();
        for doc in docs {
            let mut group: Vec<&(usize, socket_proxy::Move<'_>)> = Vec::new();
            for mv in moves.iter().filter(|(_, m)| m.svc.doc == doc) {
                // Each client alone first: one that cannot move keeps its mount (read-only)
                // without holding the others back.
                let (i, m) = mv;
                let alone = socket_proxy::Move {
                    svc: m.svc,
                    mount: m.mount,
                    client: m.client,
                };
                match socket_proxy::plan(ctx, &[alone]) {
                    Ok(_) => group.push(mv),
                    Err(why) => {
                        read_only_fallback(
                            y,
                            m.svc,
                            m.mount,
                            &format!("no proxy: {why}"),
                            &mut findings[*i],
                        );
                    }
                }
            }
            if group.is_empty() {
                continue;
            }
            // A client that mounts the socket twice cannot be moved in one step.
            let twice = group
                .iter()
                .enumerate()
                .any(|(i, (_, a))| group[..i].iter().any(|(_, b)| b.svc.name == a.svc.name));
            let planned = if twice {
                Err("a client mounts the socket more than once".to_string())
            } else {
                let list: Vec<socket_proxy::Move<'_>> = group
                    .iter()
                    .map(|(_, m)| socket_proxy::Move {
                        svc: m.svc,
                        mount: m.mount,
                        client: m.client,
                    })
                    .collect();
                socket_proxy::plan(ctx, &list)
            };
            match planned {
                Ok((names, edits, changes)) => {
                    let (first, _) = group[0];
                    let sections: Vec<String> = group
                        .iter()
                        .zip(&names)
                        .map(|((_, m), n)| {
                            format!(
                                "`{}` → `{n}` ({})",
                                m.svc.name,
                                m.client.sections.join(", ")
                            )
                        })
                        .collect();
                    findings[*first].fix = Some(Fix::new(
                        ID,
                        format!(
                            "Replace the Docker socket mount with a socket proxy: {}",
                            sections.join("; ")
                        ),
                        Applicability::Review,
                        edits,
                        changes,
                        findings[*first].at,
                    ));
                    for ((i, m), n) in group.iter().zip(&names) {
                        findings[*i].note = Some(if *i == *first {
                            format!(
                                "review: {} reaches the API only through `{n}` ({}); {}",
                                m.client.name,
                                socket_proxy::url(n),
                                m.client.note
                            )
                        } else {
                            format!(
                                "moved behind `{n}` by the fix reported for `{}`; {}",
                                group[0].1.svc.name, m.client.note
                            )
                        });
                    }
                }
                Err(why) => {
                    for (i, m) in &group {
                        let f = &mut findings[*i];
                        read_only_fallback(y, m.svc, m.mount, &format!("no proxy: {why}"), f);
                    }
                }
            }
        }
        out.extend(findings);
    }
}

/// Offer `:ro` for a mount the proxy cannot replace, saying why and that `:ro` does not
/// restrict the API.
fn read_only_fallback(
    y: &Yaml,
    svc: &Service,
    m: &hardening::BindMount,
    why: &str,
    f: &mut Finding,
) {
    let what = "`:ro` does not restrict the API (connecting to a socket needs no write access): put a socket proxy in front by hand, see `compose-harden explain docker-socket`";
    match socket_proxy::read_only(y, svc, m) {
        Ok(Some((edit, change))) => {
            f.fix = Some(Fix::new(
                ID,
                "Mount the runtime socket read-only",
                Applicability::Review,
                vec![edit],
                vec![change],
                f.at,
            ));
            f.note = Some(format!("{why}; made read-only, but {what}"));
        }
        Ok(None) => f.note = Some(format!("{why}; {what}")),
        Err(e) => f.note = Some(format!("{why}; no automatic fix: {e}")),
    }
}
