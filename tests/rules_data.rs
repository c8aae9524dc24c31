//! The knowledge files of the issue-16 rules (`data/image-users.toml`,
//! `data/socket-clients.toml`, `data/network-roles.toml`) are documented: every entry appears
//! in `docs/profiles.md`, so the tables there cannot silently fall behind the data.

mod support;

use compose_harden::rules::{network_graph, non_root_user, socket_proxy};

fn docs() -> String {
    std::fs::read_to_string(support::root().join("docs/profiles.md")).expect("docs/profiles.md")
}

#[test]
fn image_users_are_documented() {
    let d = docs();
    for e in non_root_user::table() {
        assert!(
            d.contains(&e.family),
            "docs/profiles.md does not mention family {}",
            e.family
        );
        if let Some(u) = &e.user {
            for r in &e.repositories {
                assert!(
                    d.contains(r.as_str()),
                    "{}: repository {r} undocumented",
                    e.family
                );
            }
            assert!(
                d.contains(&format!("| {u} |")),
                "{}: user {u} undocumented",
                e.family
            );
        }
    }
}

#[test]
fn socket_clients_are_documented() {
    let d = docs();
    for c in socket_proxy::clients() {
        assert!(
            d.contains(&format!("| {} |", c.name)),
            "client {} undocumented",
            c.name
        );
        assert!(
            d.contains(&c.sections.join(", ")) || c.sections.is_empty(),
            "{}: sections {:?} undocumented",
            c.name,
            c.sections
        );
    }
    assert!(d.contains(socket_proxy::PROXY_IMAGE));
}

#[test]
fn network_roles_are_documented() {
    let d = docs().to_ascii_lowercase();
    for (kind, _) in network_graph::server_kinds() {
        let k = match kind {
            "mysql" => "mysql/mariadb",
            "redis" => "redis/valkey",
            "postgres" => "postgres family",
            "mongo" => "mongodb",
            "kafka" => "kafka/redpanda",
            "elasticsearch" => "elasticsearch/opensearch",
            "cassandra" => "cassandra/scylla",
            other => other,
        };
        assert!(d.contains(k), "server kind {kind} undocumented");
    }
}
