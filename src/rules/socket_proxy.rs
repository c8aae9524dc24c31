//! The `docker-socket` fix: the knowledge of Docker API clients (`data/socket-clients.toml`)
//! and the planning of a socket-proxy service (tecnativa/docker-socket-proxy) on an internal
//! network that replaces a client's socket mount, or of a read-only mount where no proxy fits.

use std::sync::OnceLock;

use serde::Deserialize;

use super::env_entries;
use super::hardening::{BindMount, ServiceEdit};
use super::{logging_limits, Ctx};
use crate::compose::Service;
use crate::yaml::{ops, Change, Edit, NewNode, NodeId, NodeKind, Path, Yaml};

/// The proxy image, pinned to a released tag (tags follow the git releases; see the project's
/// "Image tags" section).
pub const PROXY_IMAGE: &str = "tecnativa/docker-socket-proxy:0.4.1";

/// The port the proxy listens on.
pub const PROXY_PORT: u16 = 2375;

/// Images that are socket proxies themselves (they are meant to mount the socket).
const PROXY_REPOSITORIES: &[&str] = &[
    "tecnativa/docker-socket-proxy",
    "linuxserver/socket-proxy",
    "wollomatic/socket-proxy",
    "fluencelabs/docker-socket-proxy",
    "11notes/socket-proxy",
];

/// How a client is pointed at the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Endpoint {
    /// An environment variable (`DOCKER_HOST`, …) holds the endpoint.
    Env,
    /// A command-line flag holds it.
    Flag,
    /// A configuration file holds it (not editable here).
    Config,
    /// The client needs the whole API: no proxy.
    None,
}

/// One entry of `data/socket-clients.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Client {
    /// Shown in findings.
    pub name: String,
    /// Repositories of the client's images.
    pub repositories: Vec<String>,
    /// Proxy variables set to 1.
    pub sections: Vec<String>,
    /// How it is pointed at the proxy.
    pub endpoint: Endpoint,
    /// The environment variable (`endpoint = "env"`).
    pub variable: Option<String>,
    /// The flag (`endpoint = "flag"`).
    pub flag: Option<String>,
    /// The argument prefix the command must already have (`endpoint = "flag"`).
    pub requires: Option<String>,
    /// Where the behaviour is documented.
    pub source: String,
    /// What the proxy still allows.
    pub note: String,
}

#[derive(Deserialize)]
struct File {
    client: Vec<Client>,
}

/// The entries of `data/socket-clients.toml`.
pub fn clients() -> &'static [Client] {
    static T: OnceLock<Vec<Client>> = OnceLock::new();
    T.get_or_init(|| {
        let f: File = toml::from_str(include_str!("../../data/socket-clients.toml"))
            .expect("data/socket-clients.toml is valid (checked by a unit test)");
        f.client
    })
}

/// The client entry for `image`.
pub fn client_of(image: &str) -> Option<&'static Client> {
    let repo = crate::compose::image::repository(image);
    clients().iter().find(|c| c.repositories.contains(&repo))
}

/// Whether `image` is a socket proxy.
pub fn is_proxy_image(image: &str) -> bool {
    let repo = crate::compose::image::repository(image);
    PROXY_REPOSITORIES.contains(&repo.as_str())
}

/// One client to move behind its own proxy.
pub struct Move<'a> {
    /// The client service.
    pub svc: &'a Service,
    /// Its socket mount.
    pub mount: &'a BindMount,
    /// What is known about it.
    pub client: &'static Client,
}

/// A planned move: the proxy name chosen for each client (in order), the edits and the
/// declared changes.
pub type Planned = (Vec<String>, Vec<Edit>, Vec<Change>);

/// The proxy name chosen for each move (in order) and the fix's edits and changes; all moves
/// must be in one document.
pub fn plan(ctx: &Ctx<'_>, moves: &[Move<'_>]) -> Result<Planned, String> {
    let y = ctx.y;
    let doc = moves.first().ok_or("nothing to move")?.svc.doc;
    let root = y.docs[doc].root;
    let root_path = Path::root(doc);
    let services = y.get(root, "services").ok_or("no `services`")?;
    if y.resolve(services) != services {
        return Err("`services` is an alias".into());
    }
    let networks = y.get(root, "networks");
    let mut taken: Vec<String> = ctx
        .compose
        .services
        .iter()
        .filter(|s| s.doc == doc)
        .map(|s| s.name.clone())
        .collect();
    if let Some(n) = networks {
        taken.extend(crate::compose::model::names(y, n));
    }
    let mut names = Vec::new();
    for m in moves {
        let base = if moves.len() == 1 {
            "socket-proxy".to_string()
        } else {
            format!("{}-socket-proxy", m.svc.name)
        };
        let mut name = base.clone();
        let mut n = 2;
        while taken.contains(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        taken.push(name.clone());
        names.push(name);
    }
    let mut edits = Vec::new();
    let mut changes = Vec::new();

    // The proxies, as new services.
    let proxies: Vec<(String, NewNode)> = moves
        .iter()
        .zip(&names)
        .map(|(m, name)| (name.clone(), proxy_service(ctx, m, name)))
        .collect();
    for (k, v) in &proxies {
        changes.push(Change::InsertKey(
            root_path.key("services"),
            k.clone(),
            v.value(),
        ));
    }
    edits.extend(
        ops::insert_keys(y, services, &proxies)
            .map_err(|w| format!("cannot add the proxy service: {w}"))?,
    );

    // Their internal networks.
    let nets: Vec<(String, NewNode)> = names
        .iter()
        .map(|n| {
            (
                n.clone(),
                NewNode::Map(vec![("internal".into(), NewNode::Raw("true".into()))]),
            )
        })
        .collect();
    match networks {
        None => {
            let value = NewNode::Map(nets);
            edits.push(
                ops::insert_key(y, root, "networks", &value)
                    .map_err(|w| format!("cannot add top-level `networks`: {w}"))?,
            );
            changes.push(Change::InsertKey(
                root_path.clone(),
                "networks".into(),
                value.value(),
            ));
        }
        Some(n) if y.resolve(n) == n && matches!(y.node(n).kind, NodeKind::Map { .. }) => {
            for (k, v) in &nets {
                changes.push(Change::InsertKey(
                    root_path.key("networks"),
                    k.clone(),
                    v.value(),
                ));
            }
            edits.extend(
                ops::insert_keys(y, n, &nets)
                    .map_err(|w| format!("cannot add to top-level `networks`: {w}"))?,
            );
        }
        Some(_) => return Err("top-level `networks` is empty, an alias or not a mapping".into()),
    }

    // The clients: no socket, pointed at their proxy, on its network, started after it.
    for (m, name) in moves.iter().zip(&names) {
        let (e, c) =
            move_client(ctx, m, name).map_err(|w| format!("service `{}`: {w}", m.svc.name))?;
        edits.extend(e);
        changes.extend(c);
    }
    Ok((names, edits, changes))
}

/// The endpoint URL of proxy `name`.
pub fn url(name: &str) -> String {
    format!("tcp://{name}:{PROXY_PORT}")
}

/// Mount options of the client's socket mount worth keeping on the proxy's (SELinux labels).
fn label_options(y: &Yaml, m: &BindMount) -> String {
    y.scalar(m.node)
        .and_then(|t| t.splitn(3, ':').nth(2))
        .map(|opts| {
            opts.split(',')
                .filter(|o| matches!(o.trim(), "z" | "Z"))
                .map(|o| format!(",{}", o.trim()))
                .collect()
        })
        .unwrap_or_default()
}

fn proxy_service(ctx: &Ctx<'_>, m: &Move<'_>, name: &str) -> NewNode {
    let y = ctx.y;
    let mut env: Vec<(String, NewNode)> = m
        .client
        .sections
        .iter()
        .map(|s| (s.clone(), NewNode::Raw("1".into())))
        .collect();
    if env.is_empty() {
        env.push(("PING".into(), NewNode::Raw("1".into())));
    }
    let mount = format!(
        "{}:/var/run/docker.sock:ro{}",
        m.mount.source,
        label_options(y, m.mount)
    );
    let mut keys: Vec<(String, NewNode)> = vec![
        ("image".into(), NewNode::Str(PROXY_IMAGE.into())),
        ("environment".into(), NewNode::Map(env)),
        ("volumes".into(), NewNode::Seq(vec![NewNode::Str(mount)])),
        (
            "networks".into(),
            NewNode::Seq(vec![NewNode::Str(name.into())]),
        ),
        (
            "restart".into(),
            NewNode::Raw(ctx.profile.restart_policy().into()),
        ),
        (
            "security_opt".into(),
            NewNode::Seq(vec![NewNode::Str("no-new-privileges:true".into())]),
        ),
        (
            "cap_drop".into(),
            NewNode::Seq(vec![NewNode::Str("ALL".into())]),
        ),
    ];
    // What other rules of the profile would add to a new service, so a second run is quiet.
    if ctx.profile.rules.enabled("resource-limits") == Some(true) {
        if let Some(o) = ctx.profile.rules.resource_limits.as_ref() {
            if let Some(c) = o.cpus {
                keys.push(("cpus".into(), NewNode::Raw(format!("{c:?}"))));
            }
            if let Some(mem) = &o.mem_limit {
                keys.push(("mem_limit".into(), NewNode::Str(mem.clone())));
            }
            if let Some(p) = o.pids_limit {
                keys.push(("pids_limit".into(), NewNode::Raw(p.to_string())));
            }
        }
    }
    if let Some(block) = logging_limits::block_for_new_service(ctx.profile) {
        keys.push(("logging".into(), block));
    }
    NewNode::Map(keys)
}

/// The command words of `svc` and the node holding them.
fn command(y: &Yaml, svc: &Service) -> Option<(NodeId, Vec<String>)> {
    let c = svc.get(y, "command")?;
    if !c.is_local() {
        return None;
    }
    if let Some(s) = y.scalar(c.resolved) {
        return Some((
            c.resolved,
            s.split_whitespace().map(str::to_string).collect(),
        ));
    }
    let items = y.items(c.resolved)?;
    Some((
        c.resolved,
        items
            .iter()
            .filter_map(|&i| y.scalar(i).map(str::to_string))
            .collect(),
    ))
}

/// Edits that move one client behind proxy `name`.
fn move_client(
    ctx: &Ctx<'_>,
    m: &Move<'_>,
    name: &str,
) -> Result<(Vec<Edit>, Vec<Change>), String> {
    let y = ctx.y;
    let svc = m.svc;
    if svc.get(y, "network_mode").is_some() {
        return Err("it sets `network_mode`, so it cannot join the proxy's network".into());
    }
    let mut e = ServiceEdit::new(y, svc, ctx.prefers_flow())?;

    // 1. No socket mount.
    let vols = svc.get(y, "volumes").ok_or("no `volumes`")?;
    if !vols.is_local() {
        return Err("`volumes` comes from an anchor or alias".into());
    }
    let items = y.items(vols.resolved).ok_or("`volumes` is not a list")?;
    let index = items
        .iter()
        .position(|&i| i == m.mount.node)
        .ok_or("the socket mount is an alias")?;
    if items.len() == 1 {
        e.remove_own("volumes")?;
    } else {
        e.push_raw(
            ops::remove_item(y, vols.resolved, index)?,
            Change::Remove(svc.path.key("volumes").index(index)),
        );
    }

    // 2. Pointed at the proxy.
    let endpoint = url(name);
    match m.client.endpoint {
        Endpoint::Env => {
            let var = m
                .client
                .variable
                .as_deref()
                .ok_or("no variable in the client table")?;
            if env_entries::environment(y, svc).is_some_and(|env| env.get(var).is_some()) {
                return Err(format!("it already sets `{var}`"));
            }
            match env_entries::add(y, svc, var, &endpoint)? {
                env_entries::Add::Edit(edit, change) => e.push_raw(edit, change),
                env_entries::Add::NewKey(node) => e.add_key("environment", node),
            }
        }
        Endpoint::Flag => {
            let flag = m
                .client
                .flag
                .as_deref()
                .ok_or("no flag in the client table")?;
            let requires = m.client.requires.as_deref().unwrap_or(flag);
            let (node, words) = command(y, svc).ok_or(if svc.get(y, "command").is_none() {
                "it has no `command:`, so its endpoint is set in its configuration file"
            } else {
                "its `command:` is shared through an anchor or not a string or list"
            })?;
            if !words.iter().any(|w| w.starts_with(requires)) {
                return Err(format!(
                    "its command has no `{requires}…` flag (configured in a file?)"
                ));
            }
            if words.iter().any(|w| w.starts_with(flag)) {
                return Err(format!("its command already sets `{flag}`"));
            }
            let arg = format!("{flag}={endpoint}");
            let path = svc.path.key("command");
            if let Some(text) = y.scalar(node) {
                let new = format!("{text} {arg}");
                let edit =
                    ops::rewrite_in_scalar(y, node, text.len()..text.len(), &format!(" {arg}"))?;
                e.push_raw(edit, Change::Set(path, NewNode::Str(new).value()));
            } else {
                let item = NewNode::Str(arg);
                e.push_raw(
                    ops::append_item(y, node, &item)?,
                    Change::Append(path, item.value()),
                );
            }
        }
        Endpoint::Config | Endpoint::None => {
            return Err("the client cannot be pointed at a proxy from the Compose file".into())
        }
    }

    // 3. On the proxy's network (keeping `default` when it had no `networks:`).
    match svc.get(y, "networks") {
        None => {
            e.ensure_items(
                "networks",
                &["default".to_string(), name.to_string()],
                |a, b| a == b,
            )?;
        }
        Some(s) if y.items(s.resolved).is_some() => {
            e.ensure_items("networks", &[name.to_string()], |a, b| a == b)?;
        }
        Some(s) if s.is_local() && matches!(y.node(s.resolved).kind, NodeKind::Map { .. }) => {
            let v = NewNode::Map(Vec::new());
            e.push_raw(
                ops::insert_key(y, s.resolved, name, &v)?,
                Change::InsertKey(svc.path.key("networks"), name.to_string(), v.value()),
            );
        }
        Some(_) => return Err("`networks` is empty, shared or not a list or mapping".into()),
    }

    // 4. Started after the proxy.
    match svc.get(y, "depends_on") {
        None => {
            e.ensure_items("depends_on", &[name.to_string()], |a, b| a == b)?;
        }
        Some(s) if y.items(s.resolved).is_some() => {
            e.ensure_items("depends_on", &[name.to_string()], |a, b| a == b)?;
        }
        Some(s) if s.is_local() && matches!(y.node(s.resolved).kind, NodeKind::Map { .. }) => {
            let v = NewNode::Map(vec![(
                "condition".into(),
                NewNode::Str("service_started".into()),
            )]);
            e.push_raw(
                ops::insert_key(y, s.resolved, name, &v)?,
                Change::InsertKey(svc.path.key("depends_on"), name.to_string(), v.value()),
            );
        }
        Some(_) => return Err("`depends_on` is empty, shared or not a list or mapping".into()),
    }
    e.finish()
}

/// The edit that makes socket mount `m` of `svc` read-only (`None` when it already is).
pub fn read_only(y: &Yaml, svc: &Service, m: &BindMount) -> Result<Option<(Edit, Change)>, String> {
    if m.read_only {
        return Ok(None);
    }
    let vols = svc.get(y, "volumes").ok_or("no `volumes`")?;
    if !vols.is_local() || svc.is_alias {
        return Err("`volumes` comes from an anchor or alias".into());
    }
    let items = y.items(vols.resolved).ok_or("`volumes` is not a list")?;
    let index = items
        .iter()
        .position(|&i| i == m.node)
        .ok_or("the socket mount is an alias")?;
    let path = svc.path.key("volumes").index(index);
    if let Some(text) = y.scalar(m.node) {
        let parts: Vec<&str> = text.splitn(3, ':').collect();
        let new = match parts.as_slice() {
            [_, _] => format!("{text}:ro"),
            [a, b, opts] => {
                let mut o: Vec<String> = opts
                    .split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| x != "rw" && !x.is_empty())
                    .collect();
                o.push("ro".into());
                format!("{a}:{b}:{}", o.join(","))
            }
            _ => return Err("unexpected short volume syntax".into()),
        };
        let edit = ops::replace_scalar(y, m.node, &new, ops::Quote::Keep)?;
        return Ok(Some((edit, Change::Set(path, NewNode::Str(new).value()))));
    }
    match y.get(m.node, "read_only") {
        None => {
            let v = NewNode::Raw("true".into());
            let edit = ops::insert_key(y, m.node, "read_only", &v)?;
            Ok(Some((
                edit,
                Change::InsertKey(path, "read_only".into(), v.value()),
            )))
        }
        Some(n) => {
            let (edit, value) = super::hardening::replace_raw(y, n, "true")?;
            Ok(Some((edit, Change::Set(path.key("read_only"), value))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_table_is_complete() {
        let t = clients();
        assert!(t.len() >= 5);
        for c in t {
            assert!(
                !c.source.trim().is_empty() && !c.note.trim().is_empty(),
                "{}",
                c.name
            );
            assert!(!c.repositories.is_empty(), "{}", c.name);
            match c.endpoint {
                Endpoint::Env => assert!(c.variable.is_some(), "{}", c.name),
                Endpoint::Flag => assert!(c.flag.is_some() && c.requires.is_some(), "{}", c.name),
                Endpoint::Config | Endpoint::None => {}
            }
            for s in &c.sections {
                assert!(
                    [
                        "CONTAINERS",
                        "IMAGES",
                        "NETWORKS",
                        "POST",
                        "INFO",
                        "EXEC",
                        "VOLUMES",
                        "SERVICES",
                        "TASKS",
                        "SYSTEM",
                        "ALLOW_START",
                        "ALLOW_STOP",
                        "ALLOW_RESTARTS",
                        "DISTRIBUTION"
                    ]
                    .contains(&s.as_str()),
                    "{}: unknown proxy section {s}",
                    c.name
                );
            }
        }
        assert_eq!(
            client_of("traefik:v3.1").map(|c| c.name.as_str()),
            Some("Traefik")
        );
        assert!(client_of("ghcr.io/containrrr/watchtower:1.7").is_some());
        assert!(is_proxy_image("tecnativa/docker-socket-proxy:latest"));
    }
}
