//! The checklist's firewall block: valid shell, and run inside a network namespace made for the
//! test it installs the intended rules, in the intended order, for IPv4 and IPv6 (iptables)
//! and in one inet table (nft); an unfilled source list installs nothing; a second run
//! replaces the rules instead of duplicating them. Needs root, iproute2 and iptables (nft for
//! the nft case): `.ci/run` installs them; without them the namespace tests say so and skip.

use std::process::{Command, Stdio};

use compose_harden::checklist::PublicPort;
use compose_harden::firewall::{script, Opening};

fn port(service: &str, published: &str, target: &str) -> PublicPort {
    PublicPort {
        service: service.into(),
        label: format!("{published}:{target}"),
        published: Some(published.into()),
        target: target.into(),
        protocol: "tcp".into(),
        host_ip: None,
    }
}

fn openings(collector_from: &[&str]) -> Vec<Opening> {
    vec![
        Opening {
            port: port("collector", "5000", "5000"),
            allow_from: collector_from.iter().map(|s| s.to_string()).collect(),
        },
        Opening {
            port: port("portal", "8080", "80"),
            allow_from: vec!["10.200.0.0/16".into()],
        },
    ]
}

fn run(cmd: &str, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    use std::io::Write;
    let mut c = Command::new(cmd);
    c.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let Ok(mut child) = c.spawn() else {
        return (false, String::new(), format!("{cmd}: not found"));
    };
    if let Some(text) = stdin {
        let _ = child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes());
    }
    let o = child.wait_with_output().expect("wait");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn the_block_is_valid_shell() {
    let s = script(
        &openings(&["10.100.0.0/24", "10.100.1.0/24", "2001:db8::/32"]),
        "openbmp",
        None,
    );
    for sh in ["bash", "dash"] {
        let (ok, _, err) = run(sh, &["-n"], Some(&s));
        if err.contains("not found") {
            eprintln!("SKIPPED: {sh} is not installed");
            continue;
        }
        assert!(ok, "{sh} -n: {err}\n{s}");
    }
}

/// A network namespace for one test, removed on drop.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Option<Netns> {
        let is_root = run("id", &["-u"], None).1.trim() == "0";
        if !is_root {
            eprintln!("SKIPPED: not root: cannot create a network namespace");
            return None;
        }
        for tool in ["ip", "iptables", "ip6tables", "iptables-restore"] {
            if !run("sh", &["-c", &format!("command -v {tool}")], None).0 {
                eprintln!(
                    "SKIPPED: {tool} is not installed (.ci/run installs iproute2 and iptables)"
                );
                return None;
            }
        }
        let name = format!("ch-{tag}-{}", std::process::id());
        let (ok, _, err) = run("ip", &["netns", "add", &name], None);
        if !ok {
            eprintln!("SKIPPED: ip netns add failed: {err}");
            return None;
        }
        let ns = Netns(name);
        // An external interface with a default route, and the chains Docker would create.
        ns.sh(
            "ip link add ext0 type veth peer name ext0p && ip link set ext0 up && ip link set ext0p up && ip link set lo up \
             && ip addr add 192.0.2.1/24 dev ext0 && ip route add default via 192.0.2.254 dev ext0 \
             && iptables -N DOCKER-USER && iptables -A DOCKER-USER -j RETURN \
             && ip6tables -N DOCKER-USER && ip6tables -A DOCKER-USER -j RETURN",
        )
        .expect("set up the namespace");
        Some(ns)
    }

    fn sh(&self, script: &str) -> Result<String, String> {
        let (ok, out, err) = run("ip", &["netns", "exec", &self.0, "sh", "-c", script], None);
        if ok {
            Ok(out)
        } else {
            Err(format!("{out}{err}"))
        }
    }

    fn run_block(&self, block: &str) -> Result<String, String> {
        let (ok, out, err) = run("ip", &["netns", "exec", &self.0, "sh"], Some(block));
        if ok {
            Ok(out + &err)
        } else {
            Err(out + &err)
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = run("ip", &["netns", "delete", &self.0], None);
    }
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

#[test]
fn iptables_rules_are_installed_in_order_for_ipv4_and_ipv6_and_replaced_on_rerun() {
    let Some(ns) = Netns::new("ipt") else { return };
    let block = script(
        &openings(&["10.100.0.0/24", "10.100.1.0/24", "2001:db8::/32"]),
        "openbmp",
        None,
    );
    ns.run_block(&block).expect("the block runs");
    // Run it again: the rules are replaced, not duplicated.
    ns.run_block(&block).expect("the block runs twice");
    let docker_user = ns.sh("iptables -S DOCKER-USER").expect("list");
    assert_eq!(
        lines(&docker_user),
        [
            "-N DOCKER-USER",
            "-A DOCKER-USER -j HARDEN-openbmp",
            "-A DOCKER-USER -j RETURN"
        ]
    );
    let chain = ns.sh("iptables -S HARDEN-openbmp").expect("list");
    assert_eq!(
        lines(&chain),
        [
            "-N HARDEN-openbmp",
            "-A HARDEN-openbmp -s 10.100.0.0/24 -i ext0 -p tcp -m tcp --dport 5000 -j RETURN",
            "-A HARDEN-openbmp -s 10.100.1.0/24 -i ext0 -p tcp -m tcp --dport 5000 -j RETURN",
            "-A HARDEN-openbmp -i ext0 -p tcp -m tcp --dport 5000 -j DROP",
            "-A HARDEN-openbmp -s 10.200.0.0/16 -i ext0 -p tcp -m tcp --dport 80 -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j RETURN",
            "-A HARDEN-openbmp -i ext0 -p tcp -m tcp --dport 80 -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j DROP",
        ]
    );
    let v6 = ns.sh("ip6tables -S HARDEN-openbmp").expect("list");
    assert_eq!(
        lines(&v6),
        [
            "-N HARDEN-openbmp",
            "-A HARDEN-openbmp -s 2001:db8::/32 -i ext0 -p tcp -m tcp --dport 5000 -j RETURN",
            "-A HARDEN-openbmp -i ext0 -p tcp -m tcp --dport 5000 -j DROP",
            "-A HARDEN-openbmp -i ext0 -p tcp -m tcp --dport 80 -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j DROP",
        ]
    );
    let j6 = ns.sh("ip6tables -S DOCKER-USER").expect("list");
    assert_eq!(lines(&j6)[1], "-A DOCKER-USER -j HARDEN-openbmp");
}

#[test]
fn an_unfilled_source_list_or_a_bad_interface_installs_nothing() {
    let Some(ns) = Netns::new("empty") else {
        return;
    };
    let block = script(&openings(&[]), "openbmp", None);
    let e = ns.run_block(&block).expect_err("refused");
    assert!(e.contains("ALLOW_FROM_COLLECTOR is empty"), "{e}");
    assert!(e.contains("nothing was changed"), "{e}");
    let bad = script(&openings(&["10.100.0.0/24"]), "openbmp", Some("nosuch0"));
    let e = ns.run_block(&bad).expect_err("refused");
    assert!(e.contains("no interface nosuch0"), "{e}");
    // A source iptables itself rejects (passes the character check): refused by the test run.
    let invalid = script(&openings(&["10.100.0.0/99"]), "openbmp", None);
    let e = ns.run_block(&invalid).expect_err("refused");
    assert!(e.contains("refused the IPv4 rules"), "{e}");
    let docker_user = ns.sh("iptables -S").expect("list");
    assert!(!docker_user.contains("HARDEN"), "{docker_user}");
    assert!(ns
        .sh("ip6tables -S")
        .expect("list")
        .lines()
        .all(|l| !l.contains("HARDEN")));
}

#[test]
fn nft_rules_are_one_inet_table_in_order() {
    let Some(ns) = Netns::new("nft") else { return };
    if ns.sh("command -v nft").is_err() {
        eprintln!("SKIPPED: nft is not installed (.ci/run installs nftables)");
        return;
    }
    let block = script(
        &openings(&["10.100.0.0/24", "2001:db8::/32"]),
        "openbmp",
        Some("ext0"),
    )
    .replace("FIREWALL=\"iptables\"", "FIREWALL=\"nft\"");
    ns.run_block(&block).expect("the block runs");
    ns.run_block(&block).expect("twice");
    let t = ns.sh("nft list table inet harden_openbmp").expect("list");
    let rules: Vec<&str> = t
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("iifname"))
        .collect();
    assert_eq!(
        rules,
        [
            "iifname \"ext0\" tcp dport 5000 ip saddr 10.100.0.0/24 return",
            "iifname \"ext0\" tcp dport 5000 ip6 saddr 2001:db8::/32 return",
            "iifname \"ext0\" tcp dport 5000 drop",
            "iifname \"ext0\" tcp dport 80 ct original proto-dst 8080 ip saddr 10.200.0.0/16 return",
            "iifname \"ext0\" tcp dport 80 ct original proto-dst 8080 drop",
        ],
        "{t}"
    );
    assert!(t.contains("hook forward priority"), "{t}");
}
