//! The operator checklist printed after `apply`: the steps a Compose file cannot carry, filled
//! in from the (hardened) stack and the profile. Markdown; never holds a secret value.

use std::fmt::Write as _;

use crate::compose::ports::Exposure;
use crate::engine;
use crate::error::Error;
use crate::profile::Profile;
use crate::rules::public_port::{read_ports, PortKind};
use crate::yaml::{NodeKind, Yaml};

/// A port that stays reachable from the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicPort {
    /// The service.
    pub service: String,
    /// The item as written (`"5000:5000"`).
    pub label: String,
    /// Published port or range (`None`: ephemeral).
    pub published: Option<String>,
    /// Container port or range.
    pub target: String,
    /// `tcp` or `udp`.
    pub protocol: String,
    /// Host address when bound to one specific address.
    pub host_ip: Option<String>,
}

#[derive(Debug, Clone, Default)]
struct Svc {
    name: String,
    image: String,
    container: Option<String>,
    depends_on: Vec<String>,
    env: Vec<(String, String)>,
    volumes: Vec<String>,
    host_network: bool,
    hostname: Option<String>,
    /// `profiles:` (the service starts only when one is active).
    profiles: Vec<String>,
    /// `cpus` or `deploy.resources.limits.cpus`.
    cpus: Option<f64>,
}

fn environment(y: &Yaml, id: crate::yaml::NodeId) -> Vec<(String, String)> {
    match &y.node(y.resolve(id)).kind {
        NodeKind::Seq { items } => items
            .iter()
            .filter_map(|&i| y.scalar(y.resolve(i)))
            .map(|s| match s.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (s.to_string(), String::new()),
            })
            .collect(),
        NodeKind::Map { entries } => entries
            .iter()
            .filter_map(|e| {
                let k = y.scalar(e.key)?;
                let v = y.scalar(y.resolve(e.value)).unwrap_or("");
                Some((k.to_string(), v.to_string()))
            })
            .collect(),
        _ => Vec::new(),
    }
}

struct Stack {
    services: Vec<Svc>,
    public: Vec<PublicPort>,
    unsure: Vec<String>,
    /// The Compose project name (`name:`, else the first file's directory name).
    project: String,
}

fn cpus_limit(y: &Yaml, s: &crate::compose::Service) -> Option<f64> {
    let num = |t: &str| t.trim().trim_matches('"').parse::<f64>().ok();
    if let Some(c) = s.scalar(y, "cpus").and_then(num) {
        return Some(c);
    }
    let deploy = s.get(y, "deploy")?.resolved;
    let limits = y.get(y.get(deploy, "resources")?, "limits")?;
    y.get(limits, "cpus")
        .and_then(|n| y.scalar(y.resolve(n)))
        .and_then(num)
}

fn project_name(y: &Yaml, first: &str) -> String {
    if let Some(n) = y
        .docs
        .first()
        .and_then(|d| y.get(d.root, "name"))
        .and_then(|n| y.scalar(y.resolve(n)))
        .filter(|n| !n.contains('$'))
    {
        return n.to_string();
    }
    let dir = std::path::Path::new(first)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    std::fs::canonicalize(dir)
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "stack".into())
}

fn read_stack(texts: &[(String, String)]) -> Result<Stack, Error> {
    let mut st = Stack {
        services: Vec::new(),
        public: Vec::new(),
        unsure: Vec::new(),
        project: String::new(),
    };
    for (display, text) in texts {
        let (y, c) = engine::parse(text.clone(), display)?;
        if st.project.is_empty() {
            st.project = project_name(&y, display);
        }
        for s in &c.services {
            let get = |k: &str| s.get(&y, k).map(|v| v.resolved);
            let svc = Svc {
                name: s.name.clone(),
                image: s.image(&y).unwrap_or("").to_string(),
                container: s.scalar(&y, "container_name").map(str::to_string),
                depends_on: get("depends_on")
                    .map(|n| crate::compose::model::names(&y, n))
                    .unwrap_or_default(),
                env: get("environment")
                    .map(|n| environment(&y, n))
                    .unwrap_or_default(),
                volumes: get("volumes")
                    .map(|n| crate::compose::model::names(&y, n))
                    .unwrap_or_default(),
                host_network: s.scalar(&y, "network_mode") == Some("host"),
                hostname: s.scalar(&y, "hostname").map(str::to_string),
                profiles: get("profiles")
                    .map(|n| crate::compose::model::names(&y, n))
                    .unwrap_or_default(),
                cpus: cpus_limit(&y, s),
            };
            if svc.host_network {
                st.unsure.push(format!(
                    "`{}` uses `network_mode: host`: every port it listens on is on the host's interfaces; firewall them by hand",
                    s.name
                ));
            }
            if let Some((_, items)) = read_ports(&y, s) {
                for it in items {
                    let (exposure, host_ip) = match &it.kind {
                        PortKind::Short { spec, .. } => (
                            spec.exposure(),
                            spec.host_ip.as_ref().map(|h| h.text().to_string()),
                        ),
                        PortKind::Long { host_ip, .. } => (
                            crate::compose::ports::long_form_exposure(
                                host_ip.as_ref().map(|(_, t)| t.as_str()),
                            ),
                            host_ip.as_ref().map(|(_, t)| t.clone()),
                        ),
                        PortKind::Bad(_) => continue,
                    };
                    let Some((published, target)) = it.published_target() else {
                        continue;
                    };
                    let protocol = match &it.kind {
                        PortKind::Short { spec, .. } => spec.protocol.clone(),
                        PortKind::Long { protocol, .. } => protocol.clone(),
                        PortKind::Bad(_) => None,
                    }
                    .unwrap_or_else(|| "tcp".into())
                    .to_ascii_lowercase();
                    match exposure {
                        Exposure::Loopback => {}
                        Exposure::Interpolated => st.unsure.push(format!(
                            "`{}` port `{}`: its host address is interpolated; check where it is published",
                            s.name,
                            it.label()
                        )),
                        Exposure::AllInterfaces | Exposure::SpecificIp => {
                            st.public.push(PublicPort {
                                service: s.name.clone(),
                                label: it.label(),
                                published: published.map(str::to_string),
                                target: target.to_string(),
                                protocol,
                                host_ip: (exposure == Exposure::SpecificIp)
                                    .then_some(host_ip)
                                    .flatten(),
                            })
                        }
                    }
                }
            }
            st.services.push(svc);
        }
    }
    Ok(st)
}

/// Ports that stay reachable from the network in `texts` (display name, text).
pub fn public_ports(texts: &[(String, String)]) -> Result<Vec<PublicPort>, Error> {
    Ok(read_stack(texts)?.public)
}

fn is_postgres(image: &str) -> bool {
    let repo = crate::compose::image::repository(image);
    repo.contains("postgres") || repo.contains("postgis") || repo.contains("timescaledb")
}

fn is_grafana(image: &str) -> bool {
    crate::compose::image::repository(image).ends_with("grafana")
}

/// Services in start order (dependencies first; file order among equals).
fn start_order(services: &[Svc]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    fn visit(name: &str, services: &[Svc], out: &mut Vec<String>, stack: &mut Vec<String>) {
        if out.iter().any(|o| o == name) || stack.iter().any(|s| s == name) {
            return;
        }
        let Some(s) = services.iter().find(|s| s.name == name) else {
            return;
        };
        stack.push(name.to_string());
        for d in &s.depends_on {
            visit(d, services, out, stack);
        }
        stack.pop();
        out.push(name.to_string());
    }
    for s in services {
        visit(&s.name, services, &mut out, &mut Vec::new());
    }
    out
}

/// What happened to a profile `[[files]]` entry (so the checklist claims only edits that were
/// made).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtraState {
    /// This run rewrote its secrets to `$VAR`.
    Rewritten,
    /// It already reads every variable (`$VAR`): nothing to do.
    AlreadyReads,
    /// It was not found: skipped.
    NotFound,
    /// Found but not changed by this run (e.g. a `--patch` that does not cover it).
    Unchanged,
}

/// Facts about the host and the run that the checklist reports against.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// CPUs this host has (`nproc`); `None` when unknown.
    pub cpus: Option<usize>,
    /// Compose profiles that are active (`COMPOSE_PROFILES`).
    pub active_profiles: Vec<String>,
    /// The profile's `[[files]]` entries (path as in the profile) and what happened to them;
    /// empty when unknown (every entry is then described as what the profile asks for).
    pub extra_files: Vec<(String, ExtraState)>,
}

impl Facts {
    /// This host's CPU count and the active Compose profiles from the environment.
    pub fn detect() -> Facts {
        Facts {
            cpus: std::thread::available_parallelism().ok().map(|n| n.get()),
            active_profiles: std::env::var("COMPOSE_PROFILES")
                .unwrap_or_default()
                .split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect(),
            extra_files: Vec::new(),
        }
    }
}

/// The checklist for the hardened files `texts` (display name, text) under `profile`, with the
/// `.env` at `env_file`, for this host.
pub fn build(
    profile: &Profile,
    texts: &[(String, String)],
    env_file: &str,
) -> Result<String, Error> {
    build_with(profile, texts, env_file, &Facts::detect())
}

/// [`build`] against given [`Facts`] (tests pin the host's CPU count).
pub fn build_with(
    profile: &Profile,
    texts: &[(String, String)],
    env_file: &str,
    facts: &Facts,
) -> Result<String, Error> {
    let st = read_stack(texts)?;
    let files: Vec<&str> = texts.iter().map(|(d, _)| d.as_str()).collect();
    let f_args: String = files.iter().map(|f| format!(" -f {f}")).collect();
    let mut md = String::from("# Operator checklist\n\nThe steps a Compose file cannot carry, filled in from this stack. Secret values are never shown here: they are in ");
    let _ = writeln!(md, "`{env_file}` (mode 0600; never commit it).\n");

    let mut n = 0;
    let mut step = |md: &mut String, title: &str| {
        n += 1;
        let _ = writeln!(md, "## {n}. {title}\n");
    };

    step(&mut md, "Validate the result first");
    let _ = writeln!(
        md,
        "```sh\ndocker compose{f_args} config -q   # must print nothing: every ${{VAR:?…}} is set in {env_file}\ndocker compose{f_args} config      # review the effective configuration\n```\n"
    );

    step(
        &mut md,
        "Firewall the ports kept public (DOCKER-USER chain)",
    );
    if st.public.is_empty() {
        md.push_str("No port stays published on a non-loopback address.\n\n");
    } else {
        md.push_str("Docker's port publishing bypasses host firewalls such as ufw and the INPUT chain: restrict these ports by source, on the external interface, in Docker's `DOCKER-USER` chain (IPv4 and IPv6) or one nftables `inet` table.\n\n");
        let mut placeholder = false;
        let mut openings = Vec::new();
        for p in &st.public {
            let subnets = profile.allow_from(&p.service);
            placeholder |= subnets.is_empty();
            let port = p.published.as_deref().unwrap_or("(ephemeral)");
            let _ = writeln!(
                md,
                "- `{}`: port {port}/{} (`{}`{}), allowed from {}",
                p.service,
                p.protocol,
                p.label,
                p.host_ip
                    .as_deref()
                    .map(|h| format!(", on {h}"))
                    .unwrap_or_default(),
                if subnets.is_empty() {
                    "— (fill it in)".to_string()
                } else {
                    subnets
                        .iter()
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            );
            openings.push(crate::firewall::Opening {
                port: p.clone(),
                allow_from: subnets,
            });
        }
        md.push('\n');
        if placeholder {
            md.push_str("Fill in the empty `ALLOW_FROM…` variable(s) first with the networks that must reach the port (e.g. your router management subnets), or set `allow-from` in the profile (`[rules.public-port]` or `[services.NAME]`) and run `apply` again: the script refuses to run while one is empty.\n\n");
        }
        let ext_if = profile
            .rules
            .public_port
            .as_ref()
            .and_then(|o| o.external_interface.as_deref());
        let _ = writeln!(
            md,
            "```sh\n{}```\n",
            crate::firewall::script(&openings, &st.project, ext_if)
        );
        md.push_str("Make the rules persistent (`netfilter-persistent save`, or your `/etc/nftables.conf`) and check them with `iptables -L DOCKER-USER -n --line-numbers`.\n\n");
    }
    for u in &st.unsure {
        let _ = writeln!(md, "- {u}");
    }
    if !st.unsure.is_empty() {
        md.push('\n');
    }

    // Rotation runbooks for init-only passwords (names only).
    let mut quiet = profile.clone();
    quiet
        .rules
        .hardcoded_secret
        .get_or_insert_with(Default::default)
        .enabled = Some(false);
    let needs = crate::env::needs(&quiet, texts)?;
    step(&mut md, "Secrets: init-only passwords and rotation");
    if needs.vars.is_empty() {
        md.push_str("The files reference no required variable.\n\n");
    } else {
        let _ = writeln!(
            md,
            "Variables the stack needs from `{env_file}`: {}.\n",
            needs
                .vars
                .iter()
                .map(|v| format!("`{}`", v.var))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut any = false;
        for v in &needs.vars {
            if let Some(r) = crate::env::runbook(&needs, v, env_file) {
                any = true;
                let _ = writeln!(md, "```text\n{}```\n", r);
            }
        }
        if !any {
            md.push_str("None of them is read only at initialisation: a new value takes effect when the service is recreated.\n\n");
        } else {
            md.push_str("A new value of an init-only variable does not change the credential already stored in the data volume: rotate it on the running server first (above), then recreate the services.\n\n");
        }
    }

    // Grafana datasource passwords (the OpenBMP hardening checklist, §0.3).
    let grafanas: Vec<&Svc> = st
        .services
        .iter()
        .filter(|s| is_grafana(&s.image))
        .collect();
    if !grafanas.is_empty() || !profile.files.is_empty() {
        step(&mut md, "Grafana datasource password (provisioning)");
        let mut handled = false;
        for f in &profile.files {
            let state = facts
                .extra_files
                .iter()
                .find(|(p, _)| p == &f.path)
                .map(|(_, s)| *s);
            for (path, var) in &f.secrets {
                let line = match state {
                    Some(ExtraState::Rewritten) => {
                        handled = true;
                        format!("`{}`: `{path}` now reads `${var}` (Grafana expands environment variables); the service that mounts it gets `{var}` in its `environment:`.", f.path)
                    }
                    Some(ExtraState::AlreadyReads) => {
                        handled = true;
                        format!("`{}`: `{path}` already reads `${var}`: nothing to do.", f.path)
                    }
                    Some(ExtraState::NotFound) => format!("`{}` was **not found**, so it was not edited: if your datasource file lives elsewhere, set `{path}` in it to `${var}` by hand (or fix the path in the profile's `[[files]]` and run `apply` again).", f.path),
                    Some(ExtraState::Unchanged) => format!("`{}` was **not changed** by this run (the applied diff does not cover it): `{path}` still holds a literal; set it to `${var}`.", f.path),
                    None => format!("`{}`: the profile turns `{path}` into `${var}` (Grafana expands environment variables) and gives the service that mounts it `{var}`.", f.path),
                };
                let _ = writeln!(md, "- {line}");
            }
        }
        for g in &grafanas {
            let prov: Vec<&String> = g
                .volumes
                .iter()
                .filter(|v| v.contains("provisioning"))
                .collect();
            let where_ = prov
                .first()
                .and_then(|v| v.split(':').next())
                .map(|h| format!("`{h}/datasources/*.yml`"))
                .unwrap_or_else(|| "the provisioning datasources files".into());
            if handled {
                let _ = writeln!(
                    md,
                    "- `{}`: the datasource password is read at start: when the database password changes, run `docker compose restart {}`.",
                    g.name, g.name
                );
            } else {
                let _ = writeln!(
                    md,
                    "- `{}`: the datasource passwords in {where_} (`secureJsonData.password`) are read at start and are not in the Compose file. Set them to `$POSTGRES_PASSWORD` (or `$__file{{/run/secrets/…}}`), give `{}` that variable, and when the database password changes update them in lockstep and run `docker compose restart {}`.{}",
                    g.name,
                    g.name,
                    g.name,
                    if profile.files.is_empty() {
                        " A profile `[[files]]` entry lets compose-harden make this edit."
                    } else {
                        ""
                    }
                );
            }
        }
        md.push('\n');
    }

    // PostgreSQL.
    for p in st.services.iter().filter(|s| is_postgres(&s.image)) {
        let user = p
            .env
            .iter()
            .find(|(k, _)| k == "POSTGRES_USER")
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty() && !v.contains('$'))
            .unwrap_or("postgres");
        let db = p
            .env
            .iter()
            .find(|(k, _)| k == "POSTGRES_DB")
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty() && !v.contains('$'))
            .unwrap_or(user);
        let exec = format!(
            "docker compose{f_args} exec {} psql -U {user} -d {db}",
            p.name
        );
        let readers: Vec<&str> = st
            .services
            .iter()
            .filter(|s| s.depends_on.contains(&p.name))
            .map(|s| s.name.as_str())
            .collect();
        step(
            &mut md,
            &format!(
                "PostgreSQL `{}`{}",
                p.name,
                p.container
                    .as_deref()
                    .map(|c| format!(" (container `{c}`)"))
                    .unwrap_or_default()
            ),
        );
        let _ = writeln!(md, "- **pg_hba.conf**: allow only the stack's network and `scram-sha-256`; find the subnet with `docker network inspect <project>_default`, then e.g.\n  ```text\n  local   all   all                      scram-sha-256\n  host    {db}  {user}  <compose-subnet>  scram-sha-256\n  host    all   all     0.0.0.0/0        reject\n  ```\n  Set `password_encryption = scram-sha-256` in `postgresql.conf` first (passwords must be set again after it), and reload: `{exec} -c \"SELECT pg_reload_conf();\"`.");
        let _ = writeln!(md, "- **TLS**: `ssl = on`, `ssl_cert_file`/`ssl_key_file` in the data directory (`openssl req -new -x509 -days 825 -nodes -out server.crt -keyout server.key -subj \"/CN={}\"`, `chmod 600 server.key`); move clients to `sslmode=verify-full` once a CA chain is in place.", p.container.as_deref().unwrap_or(&p.name));
        let _ = writeln!(md, "- **Least privilege**: readers (Grafana) get their own read-only role: `CREATE ROLE grafana_ro LOGIN PASSWORD '…'; GRANT CONNECT ON DATABASE {db} TO grafana_ro; GRANT USAGE ON SCHEMA public TO grafana_ro; GRANT SELECT ON ALL TABLES IN SCHEMA public TO grafana_ro; ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO grafana_ro;` and point the datasource at it.");
        let _ = writeln!(md, "- **listen_addresses**: keep it scoped (not `*`) if the server must accept remote connections; otherwise keep the port unpublished.");
        if !readers.is_empty() {
            let _ = writeln!(
                md,
                "- Services that depend on it: {}.",
                readers
                    .iter()
                    .map(|r| format!("`{r}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        md.push('\n');
    }

    kafka_steps(&mut md, &mut step, &st);
    authelia_steps(&mut md, &mut step, &st, facts);
    image_steps(&mut md, &mut step, &st);
    cpu_steps(&mut md, &mut step, &st, facts);

    step(&mut md, "Bring the stack up, dependencies first");
    let active = |s: &Svc| {
        s.profiles.is_empty() || s.profiles.iter().any(|p| facts.active_profiles.contains(p))
    };
    let started: Vec<Svc> = st.services.iter().filter(|s| active(s)).cloned().collect();
    let order = start_order(&started);
    let _ = writeln!(
        md,
        "Start order (from `depends_on`): {}.\n",
        order
            .iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(" → ")
    );
    let gated: Vec<String> = st
        .services
        .iter()
        .filter(|s| !active(s))
        .map(|s| {
            format!(
                "`{}` (`--profile {}`)",
                s.name,
                s.profiles.join("`/`--profile ")
            )
        })
        .collect();
    if !gated.is_empty() {
        let _ = writeln!(
            md,
            "Not started by `up -d` (Compose profiles that are not active): {}.\n",
            gated.join(", ")
        );
    }
    let _ = writeln!(
        md,
        "```sh\ndocker compose{f_args} up -d --force-recreate   # Compose follows this order\ndocker compose{f_args} ps                        # every service running / healthy\n```\n\nIf a service fails to start, `docker compose{f_args} logs SERVICE`; `compose-harden rollback{f_args}` restores every file this apply wrote (and refuses if one changed since)."
    );
    Ok(md)
}

type StepFn<'a> = dyn FnMut(&mut String, &str) + 'a;

/// Names reachable only on the Compose network (services, container names, host names).
fn internal_names(st: &Stack) -> Vec<String> {
    let mut v = Vec::new();
    for s in &st.services {
        v.push(s.name.to_ascii_lowercase());
        v.extend(s.container.iter().map(|c| c.to_ascii_lowercase()));
        v.extend(s.hostname.iter().map(|c| c.to_ascii_lowercase()));
    }
    v
}

/// Kafka: what stays reachable, and SASL_SSL for an external listener that is kept.
fn kafka_steps(md: &mut String, step: &mut StepFn<'_>, st: &Stack) {
    use crate::compose::kafka::{self, ListenerVar};
    let internal = internal_names(st);
    let is_internal = |h: &str| {
        internal
            .iter()
            .any(|n| n.eq_ignore_ascii_case(h.trim_matches(['[', ']'])))
    };
    for s in &st.services {
        let vars: Vec<(ListenerVar, &str)> = s
            .env
            .iter()
            .filter_map(|(k, v)| kafka::classify_var(k).map(|c| (c, v.as_str())))
            .collect();
        let has_listeners = vars
            .iter()
            .any(|(v, _)| matches!(v, ListenerVar::Listeners | ListenerVar::AdvertisedListeners));
        if !has_listeners && !kafka::is_kafka_image(&s.image) {
            continue;
        }
        step(md, &format!("Kafka `{}`", s.name));
        let facing = kafka::host_facing_listeners(&vars, &is_internal).unwrap_or_default();
        let plaintext = kafka::plaintext_host_facing(&vars, &is_internal).unwrap_or_default();
        let public: Vec<&PublicPort> = st.public.iter().filter(|p| p.service == s.name).collect();
        if facing.is_empty() {
            let _ = writeln!(md, "- Every listener is for the Compose network only: clients outside the stack cannot reach the broker{}.", if public.is_empty() { "" } else { " (but it still publishes a port: check it above)" });
        } else {
            let names: Vec<String> = facing
                .iter()
                .map(|l| {
                    format!(
                        "`{}` ({}{})",
                        l.name,
                        l.host,
                        l.port
                            .as_deref()
                            .map(|p| format!(":{p}"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            let _ = writeln!(
                md,
                "- Listener(s) for clients outside the Compose network are kept: {}.",
                names.join(", ")
            );
            if !plaintext.is_empty() {
                let _ = writeln!(md, "- **{} carries no TLS.** Never publish a PLAINTEXT listener on an address that routes beyond the host: switch the external listener to SASL_SSL and keep the internal PLAINTEXT listener for the services of the stack.", plaintext.iter().map(|(l, p)| format!("`{}` ({p})", l.name)).collect::<Vec<_>>().join(", "));
            }
        }
        let _ = writeln!(md, "- If consumers outside the Compose network need this broker, give them a SASL_SSL listener (never PLAINTEXT), e.g.\n  ```yaml\n  KAFKA_ADVERTISED_LISTENERS: PLAINTEXT://{}:29092,SASL_SSL://${{HOST_IP}}:9092\n  KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL\n  KAFKA_SASL_ENABLED_MECHANISMS: SCRAM-SHA-512\n  KAFKA_SSL_KEYSTORE_LOCATION: /etc/kafka/secrets/kafka.keystore.jks\n  KAFKA_SSL_KEYSTORE_PASSWORD: ${{KAFKA_KEYSTORE_PASSWORD:?set in .env}}\n  KAFKA_SSL_TRUSTSTORE_LOCATION: /etc/kafka/secrets/kafka.truststore.jks\n  KAFKA_SSL_TRUSTSTORE_PASSWORD: ${{KAFKA_TRUSTSTORE_PASSWORD:?set in .env}}\n  ```\n  and firewall its port like the ones above.\n", s.container.as_deref().unwrap_or(&s.name));
    }
}

fn is_authelia(image: &str) -> bool {
    crate::compose::image::repository(image).ends_with("authelia")
}

/// Authelia: second factor, sessions, its own secrets, and the `Remote-User` trust.
fn authelia_steps(md: &mut String, step: &mut StepFn<'_>, st: &Stack, facts: &Facts) {
    for a in st.services.iter().filter(|s| is_authelia(&s.image)) {
        step(md, &format!("Authelia `{}`", a.name));
        if !a.profiles.is_empty() && !a.profiles.iter().any(|p| facts.active_profiles.contains(p)) {
            let _ = writeln!(
                md,
                "- It runs only with `--profile {}`: until then nothing authenticates in front of the services it protects.",
                a.profiles.join("`/`--profile ")
            );
        }
        md.push_str("- **Second factor**: `default_policy: deny` and `policy: two_factor` (TOTP) for every protected domain (Grafana included) in `configuration.yml`; no `one_factor` rule for them.\n");
        md.push_str("- **Sessions**: short `session.expiration` (e.g. `1h`) and `session.inactivity` (e.g. `5m`).\n");
        md.push_str("- **Its own secrets**: `jwt_secret`, `session.secret` and `storage.encryption_key` must be long random values kept out of `configuration.yml`: generate each with `openssl rand -hex 64` into a file (`chmod 600`), mount it, and point Authelia at it with `AUTHELIA_JWT_SECRET_FILE` (4.38+: `AUTHELIA_IDENTITY_VALIDATION_RESET_PASSWORD_JWT_SECRET_FILE`), `AUTHELIA_SESSION_SECRET_FILE`, `AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE`. Changing `storage.encryption_key` later needs `authelia storage encryption change-key`.\n");
        md.push_str("- **Remote-User**: the reverse proxy in front must drop any `Remote-User` header the client sends and set it only from Authelia's answer; otherwise anyone can claim to be any user.\n");
        for g in st.services.iter().filter(|s| {
            s.env
                .iter()
                .any(|(k, v)| k == "GF_AUTH_PROXY_ENABLED" && v.trim().eq_ignore_ascii_case("true"))
        }) {
            let header = g
                .env
                .iter()
                .find(|(k, _)| k == "GF_AUTH_PROXY_HEADER_NAME")
                .map_or("X-WEBAUTH-USER", |(_, v)| v.as_str());
            let public = st.public.iter().any(|p| p.service == g.name);
            let _ = writeln!(
                md,
                "- `{}` trusts the `{header}` header (`GF_AUTH_PROXY_ENABLED=true`): whoever reaches its port directly can log in as anyone. It must be reachable only through the proxy{}.",
                g.name,
                if public {
                    ": its port is still public (see the firewall step)"
                } else {
                    " (no port of it is public now; anyone on the host can still reach a loopback-bound one: dropping it and proxying over the Compose network is tighter)"
                }
            );
        }
        md.push('\n');
    }
}

/// Knowledge: image releases older than what upstream still patches.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Support {
    repository: String,
    /// The oldest `major.minor` upstream still ships security fixes for.
    supported_from: String,
    note: String,
    /// Where the support policy is stated (read by the test that keeps every entry sourced).
    #[cfg_attr(not(test), allow(dead_code))]
    source: String,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SupportFile {
    image: Vec<Support>,
}

fn support_table() -> Vec<Support> {
    toml::from_str::<SupportFile>(include_str!("../data/image-support.toml"))
        .map(|f| f.image)
        .unwrap_or_default()
}

/// `9.1.7` -> (9, 1); `None` for tags that are not versions.
fn version(tag: &str) -> Option<(u64, u64)> {
    let t = tag.trim_start_matches('v');
    let mut parts = t.split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

/// Image scanning, and an upgrade plan for pinned but old images.
fn image_steps(md: &mut String, step: &mut StepFn<'_>, st: &Stack) {
    let mut images: Vec<&str> = Vec::new();
    for s in &st.services {
        if !s.image.is_empty() && !s.image.contains('$') && !images.contains(&s.image.as_str()) {
            images.push(&s.image);
        }
    }
    if images.is_empty() {
        return;
    }
    step(md, "Scan the images and plan upgrades");
    md.push_str("Scan every image for known vulnerabilities (now, and on a schedule):\n\n```sh\n");
    for i in &images {
        let _ = writeln!(md, "trivy image --severity HIGH,CRITICAL {i}");
    }
    md.push_str("```\n\n");
    let table = support_table();
    for i in &images {
        let repo = crate::compose::image::repository(i);
        let tag = i
            .rsplit_once(':')
            .map(|(_, t)| t)
            .filter(|t| !t.contains('/'));
        let Some(entry) = table.iter().find(|e| repo.ends_with(e.repository.as_str())) else {
            continue;
        };
        let (Some(have), Some(want)) = (tag.and_then(version), version(&entry.supported_from))
        else {
            continue;
        };
        if have < want {
            let _ = writeln!(
                md,
                "- `{i}` is pinned but old: {} (older than {}). Read the upstream security advisories and plan an upgrade; pinning keeps it reproducible, not patched.",
                entry.note, entry.supported_from
            );
        }
    }
    for i in &images {
        let tag = i
            .rsplit_once(':')
            .map(|(_, t)| t)
            .filter(|t| !t.contains('/'));
        if tag.is_none_or(|t| t == "latest" || version(t).is_none()) && !i.contains('@') {
            let _ = writeln!(md, "- `{i}` is not pinned to a version: pin it (tag and digest) so a restart cannot change what runs.");
        }
    }
    md.push('\n');
}

/// A `cpus` limit above the host's CPU count: Docker refuses to start the container.
fn cpu_steps(md: &mut String, step: &mut StepFn<'_>, st: &Stack, facts: &Facts) {
    let Some(n) = facts.cpus else {
        return;
    };
    let over: Vec<&Svc> = st
        .services
        .iter()
        .filter(|s| s.cpus.is_some_and(|c| c > n as f64))
        .collect();
    if over.is_empty() {
        return;
    }
    step(md, "CPU limits above this host's CPU count");
    for s in over {
        let _ = writeln!(
            md,
            "- `{}` has `cpus: {}` but this host has {n} CPU(s) (`nproc`): Docker refuses to start it (\"range of CPUs is from 0.01 to {n}.00\"). Lower it in the profile (`[services.{}] cpus`) or run the stack on the production host it was sized for.",
            s.name,
            s.cpus.unwrap_or_default(),
            s.name
        );
    }
    md.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_support_table_parses_with_a_source_per_entry() {
        let t = support_table();
        assert!(t.len() >= 3);
        for e in &t {
            assert!(
                !e.source.is_empty() && version(&e.supported_from).is_some(),
                "{e:?}"
            );
        }
        assert_eq!(version("9.1.7"), Some((9, 1)));
        assert_eq!(version("alpine"), None);
    }

    #[test]
    fn start_order_puts_dependencies_first() {
        let s = |n: &str, d: &[&str]| Svc {
            name: n.into(),
            depends_on: d.iter().map(|x| x.to_string()).collect(),
            ..Svc::default()
        };
        let order = start_order(&[
            s("app", &["db", "cache"]),
            s("db", &[]),
            s("cache", &["db"]),
        ]);
        assert_eq!(order, ["db", "cache", "app"]);
    }
}
