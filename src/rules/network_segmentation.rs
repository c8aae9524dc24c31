//! `network-segmentation`: databases and brokers sit on networks of their own that only their
//! clients join (`internal: true` when they publish nothing and need no egress), instead of the
//! default network every service shares. The connections come from [`network_graph`]; the
//! `network-graph` command prints them with the proposal.

use std::collections::BTreeMap;

use super::hardening::ServiceEdit;
use super::network_graph::{self, Graph, Role};
use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::yaml::{ops, Applicability, Change, Fix, NewNode, Path};

/// The rule.
pub struct NetworkSegmentation;

/// The rule id.
pub const ID: &str = "network-segmentation";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "database or broker shares the default network with every service",
    why: "Compose puts every service on one `default` network, so each container can open a \
connection to the database, the cache and the message broker — also the internet-facing ones \
and the ones that never need them. A compromised front end then attacks the database \
directly (lateral movement). Giving each database or broker a network of its own that only \
its clients join limits who can even try, and `internal: true` takes away its route to the \
internet. All three hardening guides this tool follows recommend it.",
    fix: "Infer who talks to whom (`depends_on`, `links`, service names, `container_name`s and \
hostnames in environment values, URLs, commands and healthchecks; see them with \
`compose-harden network-graph`) and, for each database or broker (images listed in \
`data/network-roles.toml`) with at least one client: add a network `<server>-backend` \
(`internal: true` unless the server publishes ports or reaches hosts outside the stack), put \
the server only on it (plus the backends of servers it uses itself), and add it to each \
client's `networks:` together with `default`, which a service leaves as soon as it lists \
networks. Services that may connect to servers the file does not show — an `env_file`, \
configuration mounted from files (HTTP front ends such as nginx and Traefik excepted), Compose \
`configs:`, an interpolated host variable, admin UIs such as Adminer — are assumed to reach \
every such server and join their networks; declare their real connections with \
`connections` to narrow that. No fix (a report saying why) when the inference is incomplete: \
`network_mode`, existing custom or external networks, `host.docker.internal`/`host-gateway`, \
`extends`, link aliases, several documents or `include:`, or (when `docker-socket` builds a \
socket proxy) a Docker socket mount.",
    breaks: "A client whose connection the file does not show and no assumption covers — a \
host typed into a UI, an address computed at run time, a service reaching a database by IP — \
can no longer reach it: read `compose-harden network-graph` and add such connections with \
`connections = { client = [\"server\"] }`. A server on an internal network cannot reach the \
internet (updates, telemetry, external replication) and ports it publishes do not work \
there (such servers get a non-internal network). Tools outside Compose that reach containers \
on the project's default network (`docker run --network <project>_default`) no longer see \
the servers.",
    applicability: Applicability::Review,
    severity: Severity::Medium,
    options: "[rules.network-segmentation]\nenabled = true\n# connections the file does not \
show (client = [servers]); a listed client is no longer assumed to reach every server\n\
connections = { grafana = [\"db\"], backup = [\"db\", \"cache\"] }\n\n[services.NAME]\nignore = \
[\"network-segmentation\"]   # keep this server (or client) as it is",
    before: "services:\n  web:\n    image: nginx:1.27\n    ports: [\"80:80\"]\n  app:\n    image: example/app:1.4\n    environment:\n      DATABASE_URL: postgres://app:${DB_PASSWORD:?}@db:5432/app\n  db:\n    image: postgres:16",
    after: "services:\n  web:\n    image: nginx:1.27\n    ports: [\"80:80\"]\n  app:\n    image: example/app:1.4\n    environment:\n      DATABASE_URL: postgres://app:${DB_PASSWORD:?}@db:5432/app\n    networks: [default, db-backend]\n  db:\n    image: postgres:16\n    networks: [db-backend]\nnetworks:\n  db-backend:\n    internal: true",
};

/// A server moved to a network of its own.
#[derive(Debug, Clone)]
pub struct Backend {
    /// The server.
    pub server: String,
    /// Its kind (`postgres`, `kafka`, …).
    pub kind: String,
    /// The new network.
    pub network: String,
    /// Whether the network is `internal: true`.
    pub internal: bool,
    /// Why it is not internal.
    pub open_why: Option<String>,
    /// Its clients.
    pub clients: Vec<String>,
}

/// What the rule proposes for one document.
#[derive(Debug, Clone)]
pub struct Proposal {
    /// The document.
    pub doc: usize,
    /// The inferred connections.
    pub graph: Graph,
    /// Why nothing is proposed for the whole file, if so.
    pub blocked: Option<String>,
    /// Servers that get a network of their own.
    pub backends: Vec<Backend>,
    /// Servers left on the default network, with the reason.
    pub kept: Vec<(String, String, String)>,
    /// The `networks:` list each edited service gets.
    pub networks_of: Vec<(String, Vec<String>)>,
}

fn file_blocker(ctx: &Ctx<'_>, doc: usize) -> Option<String> {
    let y = ctx.y;
    let root = y.docs[doc].root;
    let non_empty = y.docs.iter().filter(|d| !y.is_null(d.root)).count();
    if non_empty > 1 {
        return Some("the file holds several YAML documents".into());
    }
    if y.get(root, "include").is_some() {
        return Some("it `include`s other files, whose services are not visible here".into());
    }
    if y.get(root, "networks").is_some_and(|n| !y.is_null(n)) {
        return Some("the file already defines networks: its topology is left as designed".into());
    }
    if ctx.profile.docker_socket_fix() && ctx.profile.rules.enabled("docker-socket") == Some(true) {
        let socket = ctx.compose.services.iter().any(|s| {
            super::hardening::bind_mounts(y, s, &ctx.env)
                .iter()
                .any(|m| {
                    super::docker_socket::is_runtime_socket(&m.source)
                        || super::docker_socket::is_runtime_socket(&m.target)
                })
        });
        if socket {
            return Some("a service mounts the Docker socket: `docker-socket` puts it behind a proxy network first; segment the rest by hand".into());
        }
    }
    for s in ctx.compose.services.iter().filter(|s| s.doc == doc) {
        if let Some(why) = reaches_host(y, s) {
            return Some(format!(
                "service `{}` reaches the host ({why}): connections through published ports cannot be attributed",
                s.name
            ));
        }
    }
    for s in ctx.compose.services.iter().filter(|s| s.doc == doc) {
        if s.is_alias {
            return Some(format!("service `{}` is an alias of another node", s.name));
        }
        if s.get(y, "networks").is_some() {
            return Some(format!(
                "service `{}` already lists `networks:`: the topology is left as designed",
                s.name
            ));
        }
        if let Some(m) = s.scalar(y, "network_mode") {
            if m.trim() != "none" {
                return Some(format!(
                    "service `{}` uses `network_mode: {}`: its connections bypass Compose networks",
                    s.name,
                    m.trim()
                ));
            }
        }
        if s.extends.is_some() {
            return Some(format!(
                "service `{}` uses `extends`, which merges `networks:` from its base",
                s.name
            ));
        }
        if let Some(l) = s.get(y, "links") {
            if y.items(l.resolved)
                .unwrap_or(&[])
                .iter()
                .any(|&i| y.scalar(i).is_some_and(|t| t.contains(':')))
            {
                return Some(format!(
                    "service `{}` links a service under an alias",
                    s.name
                ));
            }
        }
    }
    None
}

/// Whether `svc` connects to the Docker host (`host.docker.internal`, `host-gateway`), and
/// where. A broker advertising such an address for outside clients (Kafka listener variables)
/// does not count: that is where others reach it, not a connection it makes.
fn reaches_host(y: &crate::yaml::Yaml, svc: &crate::compose::Service) -> Option<String> {
    let mentions = |t: &str| {
        let l = t.to_ascii_lowercase();
        l.contains("host.docker.internal") || l.contains("host-gateway")
    };
    if let Some(h) = svc.get(y, "extra_hosts") {
        let texts: Vec<String> = match y.items(h.resolved) {
            Some(items) => items
                .iter()
                .filter_map(|&i| y.scalar(i).map(str::to_string))
                .collect(),
            None => y
                .entries(h.resolved)
                .unwrap_or(&[])
                .iter()
                .filter_map(|e| Some(format!("{}:{}", y.scalar(e.key)?, y.scalar(e.value)?)))
                .collect(),
        };
        if texts.iter().any(|t| mentions(t)) {
            return Some("`extra_hosts`".into());
        }
    }
    if let Some(env) = super::env_entries::environment(y, svc) {
        for e in &env.entries {
            let k = e.key.to_ascii_uppercase();
            if k.contains("LISTENER") || k.contains("ADVERTISE") {
                continue;
            }
            if e.value.as_deref().is_some_and(mentions) {
                return Some(format!("`{}`", e.key));
            }
        }
    }
    for key in ["command", "entrypoint"] {
        if let Some(c) = svc.get(y, key) {
            let node = c.resolved;
            let hit = y.scalar(node).is_some_and(mentions)
                || y.items(node)
                    .unwrap_or(&[])
                    .iter()
                    .any(|&i| y.scalar(i).is_some_and(mentions));
            if hit {
                return Some(format!("`{key}`"));
            }
        }
    }
    None
}

/// The proposal for every document of the file that has services.
pub fn propose(ctx: &Ctx<'_>) -> Vec<Proposal> {
    let y = ctx.y;
    let mut docs: Vec<usize> = ctx.compose.services.iter().map(|s| s.doc).collect();
    docs.dedup();
    let declared = ctx.profile.declared_connections();
    docs.into_iter()
        .map(|doc| {
            let graph = network_graph::infer(y, ctx.compose, doc, declared);
            let blocked = file_blocker(ctx, doc);
            let mut p = Proposal {
                doc,
                graph,
                blocked,
                backends: Vec::new(),
                kept: Vec::new(),
                networks_of: Vec::new(),
            };
            if p.blocked.is_none() {
                plan(ctx, &mut p);
            }
            p
        })
        .collect()
}

fn plan(ctx: &Ctx<'_>, p: &mut Proposal) {
    let g = &p.graph;
    let ignored = |n: &str| ctx.profile.service_ignores(n, ID);
    // Candidates: servers with clients, none of them ignored.
    let mut cand: Vec<(String, String, Vec<String>)> = Vec::new();
    for n in &g.nodes {
        let Role::Server(kind) = &n.role else {
            continue;
        };
        if ignored(&n.name) {
            p.kept.push((
                n.name.clone(),
                kind.clone(),
                "the profile ignores it".into(),
            ));
            continue;
        }
        let clients: Vec<String> = g
            .nodes
            .iter()
            .filter(|c| c.name != n.name && g.reaches(&c.name, &n.name))
            .map(|c| c.name.clone())
            .collect();
        if clients.is_empty() {
            p.kept.push((
                n.name.clone(),
                kind.clone(),
                "no client found in the file; declare its clients with `connections` (or remove it if nothing uses it)".into(),
            ));
            continue;
        }
        if let Some(c) = clients.iter().find(|c| ignored(c)) {
            p.kept.push((
                n.name.clone(),
                kind.clone(),
                format!("its client `{c}` is ignored by the profile and would lose it"),
            ));
            continue;
        }
        cand.push((n.name.clone(), kind.clone(), clients));
    }
    // A server that itself uses a service staying on `default` must stay there too.
    loop {
        let names: Vec<String> = cand.iter().map(|(n, _, _)| n.clone()).collect();
        let before = cand.len();
        let mut dropped = Vec::new();
        cand.retain(|(n, kind, _)| {
            match g
                .targets(n)
                .into_iter()
                .find(|t| !names.iter().any(|x| x == t))
            {
                Some(t) => {
                    dropped.push((
                        n.clone(),
                        kind.clone(),
                        format!("it connects to `{t}`, which stays on the default network"),
                    ));
                    false
                }
                None => true,
            }
        });
        p.kept.extend(dropped);
        if cand.len() == before {
            break;
        }
    }
    for (server, kind, clients) in cand {
        let n = g.node(&server).expect("a node of the graph");
        let open_why = if n.publishes {
            Some("it publishes ports, which an internal network cannot forward".to_string())
        } else {
            n.egress.as_ref().map(|e| format!("it needs egress: {e}"))
        };
        p.backends.push(Backend {
            network: format!("{server}-backend"),
            internal: open_why.is_none(),
            open_why,
            server,
            kind,
            clients,
        });
    }
    if p.backends.is_empty() {
        return;
    }
    for n in &g.nodes {
        let own = p.backends.iter().find(|b| b.server == n.name);
        let mut nets: Vec<String> = match own {
            Some(b) => vec![b.network.clone()],
            None => vec!["default".into()],
        };
        for b in &p.backends {
            if b.server != n.name && b.clients.contains(&n.name) {
                nets.push(b.network.clone());
            }
        }
        if own.is_some() || nets.len() > 1 {
            p.networks_of.push((n.name.clone(), nets));
        }
    }
}

fn server_label(name: &str, kind: &str) -> String {
    format!("server `{name}` ({kind})")
}

impl Rule for NetworkSegmentation {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let y = ctx.y;
        for p in propose(ctx) {
            let at = |name: &str| ctx.compose.service(p.doc, name).map_or(0, |s| s.at(y));
            let servers: Vec<(&str, &str)> = p
                .graph
                .nodes
                .iter()
                .filter_map(|n| match &n.role {
                    Role::Server(k) => Some((n.name.as_str(), k.as_str())),
                    _ => None,
                })
                .collect();
            if let Some(why) = &p.blocked {
                for (name, kind) in servers {
                    out.push(Finding {
                        file: ctx.file,
                        rule: ID,
                        at: at(name),
                        message: format!(
                            "{} shares its network with every service",
                            server_label(name, kind)
                        ),
                        severity: Severity::Info,
                        fix: None,
                        note: Some(format!(
                            "no segmentation proposed: {why}; see `compose-harden network-graph`"
                        )),
                    });
                }
                continue;
            }
            for (name, kind, why) in &p.kept {
                out.push(Finding {
                    file: ctx.file,
                    rule: ID,
                    at: at(name),
                    message: format!(
                        "{} is reachable from every service on the default network",
                        server_label(name, kind)
                    ),
                    severity: Severity::Warning,
                    fix: None,
                    note: Some(format!("left on the default network: {why}")),
                });
            }
            let Some(first) = p.backends.first() else {
                continue;
            };
            let fix = build_fix(ctx, &p);
            for b in &p.backends {
                let mut f = Finding {
                    file: ctx.file,
                    rule: ID,
                    at: at(&b.server),
                    message: format!(
                        "{} is reachable from every service on the default network",
                        server_label(&b.server, &b.kind)
                    ),
                    severity: Severity::Warning,
                    fix: None,
                    note: None,
                };
                let net = format!(
                    "`{}`{}",
                    b.network,
                    match &b.open_why {
                        None => " (internal)".to_string(),
                        Some(w) => format!(" (not internal: {w})"),
                    }
                );
                if b.server == first.server {
                    match &fix {
                        Ok(fx) => {
                            f.note = Some(format!(
                                "review: only its clients ({}) join {net}; check the connections with `compose-harden network-graph`",
                                b.clients.join(", ")
                            ));
                            f.fix = Some(fx.clone());
                        }
                        Err(why) => f.note = Some(format!("no automatic fix: {why}")),
                    }
                } else {
                    f.note = Some(match &fix {
                        Ok(_) => format!(
                            "moved to {net} with its clients ({}) by the fix reported for `{}`",
                            b.clients.join(", "),
                            first.server
                        ),
                        Err(why) => format!("no automatic fix: {why}"),
                    });
                }
                out.push(f);
            }
        }
    }
}

fn build_fix(ctx: &Ctx<'_>, p: &Proposal) -> Result<Fix, String> {
    let y = ctx.y;
    let root = y.docs[p.doc].root;
    let mut edits = Vec::new();
    let mut changes = Vec::new();
    let nets = NewNode::Map(
        p.backends
            .iter()
            .map(|b| {
                (
                    b.network.clone(),
                    if b.internal {
                        NewNode::Map(vec![("internal".into(), NewNode::Raw("true".into()))])
                    } else {
                        NewNode::Map(Vec::new())
                    },
                )
            })
            .collect(),
    );
    edits.push(
        ops::insert_key(y, root, "networks", &nets)
            .map_err(|w| format!("cannot add top-level `networks`: {w}"))?,
    );
    changes.push(Change::InsertKey(
        Path::root(p.doc),
        "networks".into(),
        nets.value(),
    ));
    for (name, list) in &p.networks_of {
        let svc = ctx
            .compose
            .service(p.doc, name)
            .ok_or_else(|| format!("no service `{name}`"))?;
        let mut e = ServiceEdit::new(y, svc, ctx.prefers_flow())?;
        e.ensure_items("networks", list, |a, b| a == b)
            .map_err(|w| format!("service `{name}`: {w}"))?;
        let (ed, ch) = e.finish().map_err(|w| format!("service `{name}`: {w}"))?;
        edits.extend(ed);
        changes.extend(ch);
    }
    let title = p
        .backends
        .iter()
        .map(|b| format!("`{}` for {}", b.network, b.server))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Fix::new(
        ID,
        format!("Put databases and brokers on networks only their clients join: {title}"),
        Applicability::Review,
        edits,
        changes,
        p.backends
            .first()
            .and_then(|b| ctx.compose.service(p.doc, &b.server))
            .map_or(0, |s| s.at(y)),
    ))
}

/// `network-graph` output for one file: the inferred connections and the proposal, as a text
/// table or in Graphviz `dot` syntax.
pub fn report(ctx: &Ctx<'_>, dot: bool) -> String {
    let mut s = String::new();
    for p in propose(ctx) {
        let networks: Vec<(String, bool, Vec<String>)> = p
            .backends
            .iter()
            .map(|b| {
                let mut m = vec![b.server.clone()];
                m.extend(b.clients.iter().cloned());
                (b.network.clone(), b.internal, m)
            })
            .collect();
        if dot {
            s.push_str(&network_graph::render_dot(&p.graph, &networks));
            continue;
        }
        s.push_str(&network_graph::render_text(&p.graph));
        s.push_str("\nproposal (network-segmentation):\n");
        if let Some(why) = &p.blocked {
            s.push_str(&format!("  none: {why}\n"));
            continue;
        }
        for b in &p.backends {
            s.push_str(&format!(
                "  network {}{}: {} (server), {}\n",
                b.network,
                match &b.open_why {
                    None => " (internal)".to_string(),
                    Some(w) => format!(" (not internal: {w})"),
                },
                b.server,
                b.clients.join(", ")
            ));
        }
        for (name, _, why) in &p.kept {
            s.push_str(&format!("  {name} stays on default: {why}\n"));
        }
        if p.backends.is_empty() && p.kept.is_empty() {
            s.push_str("  nothing to do: no database or broker in the file\n");
        }
        let by: BTreeMap<&str, &Vec<String>> =
            p.networks_of.iter().map(|(n, l)| (n.as_str(), l)).collect();
        for (name, list) in by {
            s.push_str(&format!("  {name}: networks [{}]\n", list.join(", ")));
        }
    }
    s
}
