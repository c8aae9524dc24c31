//! The operator checklist printed after `apply`: the steps a Compose file cannot carry, filled
//! in from the (hardened) stack and the profile. Markdown; never holds a secret value.

use std::fmt::Write as _;

use crate::compose::ports::Exposure;
use crate::engine;
use crate::error::Error;
use crate::profile::Profile;
use crate::rules::public_port::{read_ports, PortKind};
use crate::yaml::{NodeKind, Yaml};

/// Placeholder shown when the profile names no source subnet.
pub const SUBNET_PLACEHOLDER: &str = "<router-mgmt-subnet>";

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
}

fn read_stack(texts: &[(String, String)]) -> Result<Stack, Error> {
    let mut st = Stack {
        services: Vec::new(),
        public: Vec::new(),
        unsure: Vec::new(),
    };
    for (display, text) in texts {
        let (y, c) = engine::parse(text.clone(), display)?;
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

/// Firewall rules (iptables and nftables, DOCKER-USER chain) for `p` from `subnets`.
pub fn firewall_rules(p: &PublicPort, subnets: &[String]) -> String {
    let placeholder = [SUBNET_PLACEHOLDER.to_string()];
    let subnets = if subnets.is_empty() {
        &placeholder[..]
    } else {
        subnets
    };
    let proto = p.protocol.as_str();
    let port = p.published.clone().unwrap_or_else(|| p.target.clone());
    // DOCKER-USER sees packets after DNAT: match the original destination port when the
    // published and container ports differ.
    let same = p.published.as_deref().is_none_or(|x| x == p.target);
    let ipt_port = port.replace('-', ":");
    let ipt_match = if same {
        format!("-p {proto} --dport {ipt_port}")
    } else {
        format!("-p {proto} -m conntrack --ctorigdstport {ipt_port} --ctdir ORIGINAL")
    };
    let nft_match = if same {
        format!("{proto} dport {port}")
    } else {
        format!("meta l4proto {proto} ct original proto-dst {port}")
    };
    let (v6, v4): (Vec<&String>, Vec<&String>) = subnets.iter().partition(|s| s.contains(':'));
    let mut s = String::new();
    s.push_str("```sh\n# iptables (Docker's DOCKER-USER chain; the DROP first, then the allowed sources above it)\n");
    let _ = writeln!(s, "iptables -I DOCKER-USER {ipt_match} -j DROP");
    for sub in v4.iter().rev() {
        let _ = writeln!(s, "iptables -I DOCKER-USER {ipt_match} -s {sub} -j RETURN");
    }
    if !v6.is_empty() {
        let _ = writeln!(s, "ip6tables -I DOCKER-USER {ipt_match} -j DROP");
        for sub in v6.iter().rev() {
            let _ = writeln!(s, "ip6tables -I DOCKER-USER {ipt_match} -s {sub} -j RETURN");
        }
    }
    s.push_str("```\n\n```sh\n# nftables (Docker with iptables-nft: table ip filter, chain DOCKER-USER; the drop first, then the return above it)\n");
    let join = |v: &[&String]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
    if !v4.is_empty() {
        let _ = writeln!(s, "nft insert rule ip filter DOCKER-USER {nft_match} drop");
        let _ = writeln!(
            s,
            "nft insert rule ip filter DOCKER-USER {nft_match} ip saddr {{ {} }} return",
            join(&v4)
        );
    }
    if !v6.is_empty() {
        let _ = writeln!(s, "nft insert rule ip6 filter DOCKER-USER {nft_match} drop");
        let _ = writeln!(
            s,
            "nft insert rule ip6 filter DOCKER-USER {nft_match} ip6 saddr {{ {} }} return",
            join(&v6)
        );
    }
    s.push_str("```\n");
    s
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
    let _ = facts;
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
        md.push_str("Docker's port publishing bypasses host firewalls such as ufw and the INPUT chain: restrict these ports by source in the `DOCKER-USER` chain.\n\n");
        let mut placeholder = false;
        for p in &st.public {
            let subnets = profile.allow_from(&p.service);
            placeholder |= subnets.is_empty();
            let port = p.published.as_deref().unwrap_or("(ephemeral)");
            let _ = writeln!(
                md,
                "### `{}`: port {port}/{} (`{}`{})\n",
                p.service,
                p.protocol,
                p.label,
                p.host_ip
                    .as_deref()
                    .map(|h| format!(", on {h}"))
                    .unwrap_or_default()
            );
            let _ = writeln!(
                md,
                "Allowed sources: {}.\n",
                if subnets.is_empty() {
                    format!("`{SUBNET_PLACEHOLDER}` (fill it in)")
                } else {
                    subnets
                        .iter()
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            );
            md.push_str(&firewall_rules(p, &subnets));
            md.push('\n');
        }
        if placeholder {
            let _ = writeln!(md, "Replace `{SUBNET_PLACEHOLDER}` with the networks that must reach the port (e.g. your router management subnets), or set `allow-from` in the profile (`[rules.public-port]` or `[services.NAME]`) and run `apply` again.\n");
        }
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
        for f in &profile.files {
            for (path, var) in &f.secrets {
                let _ = writeln!(
                    md,
                    "- `{}`: `{path}` reads `${var}` (Grafana expands environment variables); the service that mounts it gets `{var}` in its `environment:`.",
                    f.path
                );
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

    step(&mut md, "Bring the stack up, dependencies first");
    let order = start_order(&st.services);
    let _ = writeln!(
        md,
        "Start order (from `depends_on`): {}.\n\n```sh\ndocker compose{f_args} up -d --force-recreate   # Compose follows this order\ndocker compose{f_args} ps                        # every service running / healthy\n```\n\nIf a service fails to start, `docker compose{f_args} logs SERVICE`; `compose-harden rollback{f_args}` restores the previous files.",
        order
            .iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(" → ")
    );
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firewall_fills_port_and_subnets() {
        let p = PublicPort {
            service: "collector".into(),
            label: "5000:5000".into(),
            published: Some("5000".into()),
            target: "5000".into(),
            protocol: "tcp".into(),
            host_ip: None,
        };
        let r = firewall_rules(&p, &["10.100.0.0/24".into(), "10.100.1.0/24".into()]);
        assert!(
            r.contains("iptables -I DOCKER-USER -p tcp --dport 5000 -s 10.100.0.0/24 -j RETURN")
        );
        assert!(r.contains("iptables -I DOCKER-USER -p tcp --dport 5000 -j DROP"));
        assert!(r.contains("tcp dport 5000 ip saddr { 10.100.0.0/24, 10.100.1.0/24 } return"));
        let r = firewall_rules(&p, &[]);
        assert!(r.contains(SUBNET_PLACEHOLDER));
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
