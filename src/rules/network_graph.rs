//! Who talks to whom in a Compose file: connections inferred from `depends_on`, `links`, and
//! service names (or `container_name`, `hostname`, network aliases) appearing in environment
//! values, URLs, commands and healthchecks; the network role of each image (database/broker
//! server, admin UI, HTTP front end) from `data/network-roles.toml`; and the services whose
//! connections cannot all be seen (configuration mounted from files, `env_file`, interpolated
//! hosts). Used by `network-segmentation` and the `network-graph` command.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::env_entries;
use super::hardening;
use crate::compose::{Compose, Service};
use crate::yaml::Yaml;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerRole {
    kind: String,
    images: Vec<String>,
    #[allow(dead_code)]
    source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminRole {
    images: Vec<String>,
    kinds: Vec<String>,
    #[allow(dead_code)]
    source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Roles {
    server: Vec<ServerRole>,
    admin: Vec<AdminRole>,
}

fn roles() -> &'static Roles {
    static R: OnceLock<Roles> = OnceLock::new();
    R.get_or_init(|| {
        toml::from_str(include_str!("../../data/network-roles.toml"))
            .expect("data/network-roles.toml is valid (checked by a unit test)")
    })
}

/// The server kinds of `data/network-roles.toml` with their image names (for docs and tests).
pub fn server_kinds() -> Vec<(&'static str, &'static [String])> {
    roles()
        .server
        .iter()
        .map(|s| (s.kind.as_str(), s.images.as_slice()))
        .collect()
}

/// Images whose mounted configuration routes HTTP to application services (not to databases),
/// so a configuration mount does not make them possible database clients.
const HTTP_FRONTENDS: &[&str] = &[
    "nginx",
    "openresty",
    "traefik",
    "caddy",
    "httpd",
    "nginx-unprivileged",
];

/// What an image is, network-wise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A database or broker of this kind.
    Server(String),
    /// An admin UI connecting to servers of these kinds chosen at run time.
    Admin(Vec<String>),
    /// Anything else.
    Other,
}

fn last_segment(image: &str) -> String {
    let repo = crate::compose::image::repository_any_registry(image);
    repo.rsplit('/').next().unwrap_or(&repo).to_string()
}

/// The role of `image`.
pub fn role(image: Option<&str>) -> Role {
    let Some(image) = image else {
        return Role::Other;
    };
    if image.contains("${") && !image.contains(":-") {
        return Role::Other;
    }
    let last = last_segment(image);
    if let Some(s) = roles().server.iter().find(|s| s.images.contains(&last)) {
        return Role::Server(s.kind.clone());
    }
    if let Some(a) = roles().admin.iter().find(|a| a.images.contains(&last)) {
        return Role::Admin(a.kinds.clone());
    }
    Role::Other
}

/// Why a service may connect to servers the file does not show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assumed {
    /// The server kinds it may reach (`None`: any).
    pub kinds: Option<Vec<String>>,
    /// Why.
    pub why: String,
}

/// One service as the graph sees it.
#[derive(Debug, Clone)]
pub struct Node {
    /// The service name.
    pub name: String,
    /// Its network role.
    pub role: Role,
    /// Whether it publishes ports.
    pub publishes: bool,
    /// Why it needs to reach hosts outside the stack, if it does.
    pub egress: Option<String>,
    /// Why it may connect to servers the file does not show.
    pub assumed: Option<Assumed>,
    /// Connections the profile declares for it (they replace the assumption).
    pub declared: Option<Vec<String>>,
    /// Its `network_mode`, if any.
    pub network_mode: Option<String>,
}

/// A connection from a client to a service, with the places that show it.
#[derive(Debug, Clone)]
pub struct Edge {
    /// The client.
    pub from: String,
    /// The service it connects to.
    pub to: String,
    /// Where the file (or the profile) shows it: `depends_on`, `environment DB_HOST`, ….
    pub evidence: Vec<String>,
}

/// The inferred graph of one document.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// Every service, in file order.
    pub nodes: Vec<Node>,
    /// Every connection found (no self-loops), sorted by client then target.
    pub edges: Vec<Edge>,
}

impl Graph {
    /// The node named `name`.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The services `name` connects to, as evidence shows.
    pub fn targets(&self, name: &str) -> Vec<&str> {
        self.edges
            .iter()
            .filter(|e| e.from == name)
            .map(|e| e.to.as_str())
            .collect()
    }

    /// Whether `client` may connect to server `server`: an edge, or an assumption covering
    /// the server's kind.
    pub fn reaches(&self, client: &str, server: &str) -> bool {
        if self
            .edges
            .iter()
            .any(|e| e.from == client && e.to == server)
        {
            return true;
        }
        let (Some(c), Some(s)) = (self.node(client), self.node(server)) else {
            return false;
        };
        match (&c.assumed, &s.role) {
            (Some(a), Role::Server(kind)) => a.kinds.as_ref().is_none_or(|k| k.contains(kind)),
            _ => false,
        }
    }
}

/// The words of a value that may be host names: split at characters that cannot be part of a
/// name, trimmed of `-` and `.` (so `${DB:-db}` gives `db`), lower-cased; each with whether it
/// is written as an address (`db:5432`, `user@db`, `scheme://db`).
fn host_words(text: &str) -> Vec<(String, bool)> {
    // Variable names (`$DB_HOST`, `${DB_HOST:-db}`) are not hosts: drop them first.
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' {
            plain.push(' ');
            if chars.peek() == Some(&'{') {
                chars.next();
            }
            while chars
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
            {
                chars.next();
            }
            continue;
        }
        plain.push(c);
    }
    let part = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    let b = plain.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !part(b[i] as char) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && part(b[i] as char) {
            i += 1;
        }
        let raw = &plain[start..i];
        let lead = raw.len() - raw.trim_start_matches(['-', '.']).len();
        let word = raw
            .trim_matches(|c| c == '-' || c == '.')
            .to_ascii_lowercase();
        if word.is_empty() {
            continue;
        }
        let s = start + lead;
        let before = &plain[..s];
        let after = plain[i..].trim_start_matches('}');
        let addressed = before.ends_with('@')
            || before.ends_with("//")
            || (after.starts_with(':') && after[1..].starts_with(|c: char| c.is_ascii_digit()));
        out.push((word, addressed));
    }
    out
}

/// Environment keys whose value names a host to connect to.
fn hostish_key(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    [
        "HOST",
        "URL",
        "URI",
        "ADDR",
        "DSN",
        "SERVER",
        "BROKER",
        "ENDPOINT",
        "BOOTSTRAP",
        "CONNECT",
        "NODES",
        "CLUSTER",
    ]
    .iter()
    .any(|w| k.contains(w))
}

/// The container paths and sources that look like configuration a service reads at start.
fn config_mount(y: &Yaml, svc: &Service) -> Option<String> {
    // Interpolated sources are read with their defaults: enough to tell a config directory.
    for m in hardening::bind_mounts(y, svc, &crate::compose::interp::Env::empty()) {
        let t = m.target.trim_end_matches('/');
        if t.is_empty() || t.ends_with(".sock") {
            continue;
        }
        let file = |p: &str| {
            let last = p.rsplit('/').next().unwrap_or(p);
            last.rsplit_once('.').is_some_and(|(_, ext)| {
                matches!(
                    ext.to_ascii_lowercase().as_str(),
                    "yml"
                        | "yaml"
                        | "json"
                        | "toml"
                        | "ini"
                        | "conf"
                        | "cfg"
                        | "cnf"
                        | "properties"
                        | "xml"
                        | "env"
                        | "js"
                        | "php"
                        | "py"
                        | "lua"
                        | "hcl"
                )
            })
        };
        let dir = t.split('/').any(|seg| {
            matches!(
                seg,
                "config" | "configs" | "conf" | "conf.d" | "provisioning" | "settings" | "cfg"
            )
        });
        let etc = t.starts_with("/etc/")
            && !matches!(
                t,
                "/etc/localtime" | "/etc/timezone" | "/etc/hosts" | "/etc/resolv.conf"
            )
            && !t.starts_with("/etc/ssl")
            && !t.starts_with("/etc/letsencrypt");
        if file(t) || file(&m.source) || dir || etc {
            return Some(format!("it mounts configuration (`{}`)", m.source));
        }
    }
    None
}

/// Connections of one document of `compose`, with `declared` (the profile's `connections`)
/// added.
pub fn infer(
    y: &Yaml,
    compose: &Compose,
    doc: usize,
    declared: Option<&BTreeMap<String, Vec<String>>>,
) -> Graph {
    let services: Vec<&Service> = compose.services.iter().filter(|s| s.doc == doc).collect();
    // Name (lower-case) -> service.
    let mut names: Vec<(String, String)> = Vec::new();
    for s in &services {
        names.push((s.name.to_ascii_lowercase(), s.name.clone()));
        for key in ["container_name", "hostname"] {
            if let Some(v) = s.scalar(y, key) {
                names.push((v.trim().to_ascii_lowercase(), s.name.clone()));
            }
        }
        if let Some(n) = s.get(y, "networks") {
            for e in y.entries(n.resolved).unwrap_or(&[]) {
                if let Some(al) = y.get(e.value, "aliases").and_then(|a| y.items(a)) {
                    for &a in al {
                        if let Some(a) = y.scalar(a) {
                            names.push((a.trim().to_ascii_lowercase(), s.name.clone()));
                        }
                    }
                }
            }
        }
    }
    let lookup =
        |w: &str| -> Option<&str> { names.iter().find(|(n, _)| n == w).map(|(_, s)| s.as_str()) };
    let mut edges: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut nodes = Vec::new();
    for s in &services {
        let mut add = |to: &str, why: String| {
            if to != s.name {
                let ev = edges.entry((s.name.clone(), to.to_string())).or_default();
                if !ev.contains(&why) {
                    ev.push(why);
                }
            }
        };
        if let Some(d) = s.get(y, "depends_on") {
            for n in crate::compose::model::names(y, d.resolved) {
                if services.iter().any(|o| o.name == n) {
                    add(&n, "depends_on".into());
                }
            }
        }
        if let Some(l) = s.get(y, "links") {
            for &it in y.items(l.resolved).unwrap_or(&[]) {
                if let Some(t) = y.scalar(it) {
                    let target = t.split(':').next().unwrap_or(t).trim();
                    if let Some(to) = lookup(&target.to_ascii_lowercase()) {
                        add(to, "links".into());
                    }
                }
            }
        }
        let role = role(s.image(y));
        let is_server = matches!(role, Role::Server(_));
        let mut unresolved: Option<String> = None;
        let mut egress: Option<String> = None;
        if let Some(env) = env_entries::environment(y, s) {
            for e in &env.entries {
                let Some(v) = e.value.as_deref() else {
                    continue;
                };
                let mut found = false;
                // A server's own settings (`POSTGRES_DB: app`) often repeat a client's name:
                // for servers only addresses or host-named keys count.
                let strict = is_server && !hostish_key(&e.key);
                for (w, addressed) in host_words(v) {
                    if strict && !addressed {
                        continue;
                    }
                    if let Some(to) = lookup(&w) {
                        if to != s.name {
                            found = true;
                        }
                        add(to, format!("environment {}", e.key));
                    }
                }
                if !found && hostish_key(&e.key) && v.contains('$') && unresolved.is_none() {
                    unresolved = Some(format!(
                        "`{}` is interpolated, so the host it names is not in the file",
                        e.key
                    ));
                }
                let listener = {
                    let k = e.key.to_ascii_uppercase();
                    k.contains("LISTENER") || k.contains("ADVERTISE")
                };
                if is_server && !listener && egress.is_none() {
                    if let Some(h) = external_url_host(v, &lookup) {
                        egress = Some(format!("`{}` names `{h}`, outside the stack", e.key));
                    }
                }
            }
        }
        for key in ["command", "entrypoint"] {
            if let Some(c) = s.get(y, key) {
                for text in scalars(y, c.resolved) {
                    for (w, addressed) in host_words(&text) {
                        if is_server && !addressed {
                            continue;
                        }
                        if let Some(to) = lookup(&w) {
                            add(to, key.to_string());
                        }
                    }
                }
            }
        }
        if let Some(t) = s
            .get(y, "healthcheck")
            .and_then(|h| y.get(h.resolved, "test"))
        {
            for text in scalars(y, t) {
                for (w, addressed) in host_words(&text) {
                    if is_server && !addressed {
                        continue;
                    }
                    if let Some(to) = lookup(&w) {
                        add(to, "healthcheck".into());
                    }
                }
            }
        }
        if is_server && egress.is_none() && s.get(y, "extra_hosts").is_some() {
            egress = Some("it sets `extra_hosts`".into());
        }
        let declared_here = declared.and_then(|d| d.get(&s.name)).cloned();
        if let Some(list) = &declared_here {
            for t in list {
                add(t, "declared in the profile".into());
            }
        }
        let assumed = if declared_here.is_some() {
            None
        } else if let Role::Admin(kinds) = &role {
            Some(Assumed {
                kinds: Some(kinds.clone()),
                why: "it is an admin UI that connects to servers chosen at run time".into(),
            })
        } else if is_server {
            None
        } else {
            let frontend = s
                .image(y)
                .is_some_and(|i| HTTP_FRONTENDS.contains(&last_segment(i).as_str()));
            let why = s
                .get(y, "env_file")
                .map(|_| "its `env_file` is not read here".to_string())
                .or(unresolved)
                .or_else(|| {
                    s.get(y, "configs")
                        .map(|_| "it reads Compose `configs:`".to_string())
                })
                .or_else(|| if frontend { None } else { config_mount(y, s) });
            why.map(|why| Assumed { kinds: None, why })
        };
        nodes.push(Node {
            name: s.name.clone(),
            role,
            publishes: s
                .get(y, "ports")
                .is_some_and(|p| y.items(p.resolved).is_some_and(|i| !i.is_empty())),
            egress,
            assumed,
            declared: declared_here,
            network_mode: s.scalar(y, "network_mode").map(|m| m.trim().to_string()),
        });
    }
    Graph {
        nodes,
        edges: edges
            .into_iter()
            .map(|((from, to), evidence)| Edge { from, to, evidence })
            .collect(),
    }
}

/// The scalar texts of a string or list node.
fn scalars(y: &Yaml, id: crate::yaml::NodeId) -> Vec<String> {
    if let Some(s) = y.scalar(id) {
        return vec![s.to_string()];
    }
    y.items(id)
        .unwrap_or(&[])
        .iter()
        .filter_map(|&i| y.scalar(i).map(str::to_string))
        .collect()
}

/// The host of the first `scheme://host` URL in `v` that is neither a service of the stack nor
/// local nor interpolated.
fn external_url_host<'a>(v: &str, lookup: &dyn Fn(&str) -> Option<&'a str>) -> Option<String> {
    let mut rest = v;
    while let Some(i) = rest.find("://") {
        let after = &rest[i + 3..];
        let authority = after.split(['/', '?', '#', ' ', ',']).next().unwrap_or("");
        let hostport = authority.rsplit('@').next().unwrap_or(authority);
        let host = if hostport.starts_with('[') {
            hostport
                .split(']')
                .next()
                .unwrap_or("")
                .trim_start_matches('[')
        } else {
            hostport.split(':').next().unwrap_or("")
        }
        .to_ascii_lowercase();
        let local = matches!(
            host.as_str(),
            "" | "localhost" | "127.0.0.1" | "0.0.0.0" | "::" | "::1"
        );
        if !local && !host.contains('$') && lookup(&host).is_none() {
            return Some(host);
        }
        rest = after;
    }
    None
}

/// The graph as a text table.
pub fn render_text(g: &Graph) -> String {
    let mut s = String::from("services:\n");
    let w = g.nodes.iter().map(|n| n.name.len()).max().unwrap_or(0);
    for n in &g.nodes {
        let role = match &n.role {
            Role::Server(k) => format!("server ({k})"),
            Role::Admin(k) => format!("admin UI ({})", k.join(", ")),
            Role::Other => "service".into(),
        };
        let mut extra = Vec::new();
        if n.publishes {
            extra.push("publishes ports".to_string());
        }
        if let Some(m) = &n.network_mode {
            extra.push(format!("network_mode: {m}"));
        }
        if let Some(e) = &n.egress {
            extra.push(format!("needs egress: {e}"));
        }
        s.push_str(&format!(
            "  {:<w$}  {role}{}\n",
            n.name,
            if extra.is_empty() {
                String::new()
            } else {
                format!("; {}", extra.join("; "))
            }
        ));
    }
    s.push_str("\nconnections (client -> service: evidence):\n");
    if g.edges.is_empty() {
        s.push_str("  (none found)\n");
    }
    for e in &g.edges {
        s.push_str(&format!(
            "  {} -> {}: {}\n",
            e.from,
            e.to,
            e.evidence.join(", ")
        ));
    }
    let assumed: Vec<&Node> = g.nodes.iter().filter(|n| n.assumed.is_some()).collect();
    if !assumed.is_empty() {
        s.push_str("\nassumed to reach servers the file does not show (declare them with [rules.network-segmentation] connections to narrow this):\n");
        for n in assumed {
            let a = n.assumed.as_ref().expect("filtered");
            let kinds = a.kinds.as_ref().map_or("any server".to_string(), |k| {
                format!("{} servers", k.join("/"))
            });
            s.push_str(&format!("  {} -> {kinds}: {}\n", n.name, a.why));
        }
    }
    s
}

fn dot_id(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The graph in Graphviz `dot` syntax (servers as boxes, assumed connections dashed).
pub fn render_dot(g: &Graph, networks: &[(String, bool, Vec<String>)]) -> String {
    let mut s = String::from("digraph compose {\n  rankdir=LR;\n  node [shape=ellipse];\n");
    for n in &g.nodes {
        let shape = match n.role {
            Role::Server(_) => " shape=box",
            Role::Admin(_) => " shape=hexagon",
            Role::Other => "",
        };
        s.push_str(&format!(
            "  {} [label={}{shape}];\n",
            dot_id(&n.name),
            dot_id(&n.name)
        ));
    }
    for e in &g.edges {
        s.push_str(&format!(
            "  {} -> {} [label={}];\n",
            dot_id(&e.from),
            dot_id(&e.to),
            dot_id(&e.evidence.join(", "))
        ));
    }
    for n in &g.nodes {
        if let Some(a) = &n.assumed {
            for t in &g.nodes {
                let covered = match (&t.role, &a.kinds) {
                    (Role::Server(_), None) => true,
                    (Role::Server(k), Some(ks)) => ks.contains(k),
                    _ => false,
                };
                if covered
                    && t.name != n.name
                    && !g.edges.iter().any(|e| e.from == n.name && e.to == t.name)
                {
                    s.push_str(&format!(
                        "  {} -> {} [style=dashed label={}];\n",
                        dot_id(&n.name),
                        dot_id(&t.name),
                        dot_id("assumed")
                    ));
                }
            }
        }
    }
    for (i, (net, internal, members)) in networks.iter().enumerate() {
        s.push_str(&format!(
            "  subgraph cluster_{i} {{\n    label={};\n    style=dashed;\n",
            dot_id(&format!(
                "{net}{}",
                if *internal { " (internal)" } else { "" }
            ))
        ));
        for m in members {
            s.push_str(&format!("    {};\n", dot_id(m)));
        }
        s.push_str("  }\n");
    }
    s.push_str("}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(t: &str) -> Graph {
        let y = Yaml::parse(t.to_string()).expect("parses");
        let c = Compose::load(&y).expect("compose");
        infer(&y, &c, 0, None)
    }

    #[test]
    fn roles_load() {
        assert_eq!(role(Some("postgres:16")), Role::Server("postgres".into()));
        assert_eq!(
            role(Some("bitnami/postgresql:16")),
            Role::Server("postgres".into())
        );
        assert_eq!(
            role(Some("confluentinc/cp-kafka:7.1.1")),
            Role::Server("kafka".into())
        );
        assert!(matches!(role(Some("adminer:4")), Role::Admin(_)));
        assert_eq!(role(Some("nginx:1.27")), Role::Other);
    }

    #[test]
    fn edges_from_every_place() {
        let g = graph(
            "services:\n  db:\n    image: postgres:16\n    container_name: pg\n  cache:\n    image: redis:7\n  \
             app:\n    image: x/app:1\n    depends_on: [cache]\n    environment:\n      DATABASE_URL: postgres://u:p@pg:5432/app\n      \
             MODE: ${MODE:-fast}\n    healthcheck:\n      test: [CMD, curl, -f, http://localhost/health]\n  \
             worker:\n    image: x/w:1\n    command: [\"--redis\", \"cache:6379\"]\n    environment:\n      DB_HOST: ${DB_HOST}\n",
        );
        let ev = |f: &str, t: &str| {
            g.edges
                .iter()
                .find(|e| e.from == f && e.to == t)
                .map(|e| e.evidence.join(", "))
        };
        assert_eq!(ev("app", "db").as_deref(), Some("environment DATABASE_URL"));
        assert_eq!(ev("app", "cache").as_deref(), Some("depends_on"));
        assert_eq!(ev("worker", "cache").as_deref(), Some("command"));
        assert!(g.node("worker").and_then(|n| n.assumed.as_ref()).is_some());
        assert!(g.node("app").and_then(|n| n.assumed.as_ref()).is_none());
        assert!(g.reaches("worker", "db"));
        assert!(!g.reaches("app", "nonexistent"));
    }

    #[test]
    fn words() {
        let w = |t: &str| -> Vec<(String, bool)> { host_words(t) };
        assert_eq!(
            w("${DB:-db}:5432"),
            [("db".into(), true), ("5432".into(), false)]
        );
        assert_eq!(
            w("PLAINTEXT://obmp-kafka:29092"),
            [
                ("plaintext".into(), false),
                ("obmp-kafka".into(), true),
                ("29092".into(), false)
            ]
        );
        assert_eq!(
            w("pg_isready -U app"),
            [
                ("pg_isready".into(), false),
                ("u".into(), false),
                ("app".into(), false)
            ]
        );
        assert_eq!(w("u:p@db/x")[2], ("db".into(), true));
    }
}
