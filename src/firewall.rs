//! The firewall block of the operator checklist: one POSIX shell script that restricts the
//! ports a stack keeps public to their allowed sources, on the external interface only, for
//! IPv4 and IPv6.
//!
//! Made so that pasting it cannot half-apply: the variables an operator fills in come first;
//! everything else is one function (a subshell with `set -eu`) called on the last line, so a
//! truncated paste defines nothing and runs nothing, and a failure never closes the operator's
//! shell. The function checks everything first (root, the interface, every source, the
//! `DOCKER-USER` chain) and has the rules validated (`iptables-restore --test`, `nft -c`)
//! before any is installed; each family is then installed in one transaction
//! (`iptables-restore --noflush`, `nft -f`). The rules live in a chain (iptables) or table
//! (nft) of their own, rebuilt on every run: running it again replaces them, never duplicates.
//!
//! Docker DNATs a published port before the packet reaches `DOCKER-USER` (and the `forward`
//! hook), so the rules match the container port, plus the original destination port
//! (conntrack) when the published port differs.

use std::fmt::Write as _;

use crate::checklist::PublicPort;

/// A port kept public and the sources allowed to reach it.
#[derive(Debug, Clone)]
pub struct Opening {
    /// The port.
    pub port: PublicPort,
    /// Allowed sources (CIDR or addresses), empty when the profile names none.
    pub allow_from: Vec<String>,
}

/// A chain/table name from the Compose project name (letters, digits, `_`, `-`).
fn ident(project: &str, max: usize) -> String {
    let mut s: String = project
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        s.push_str("stack");
    }
    s.truncate(max);
    s
}

/// The variable holding the sources of `service` (one `ALLOW_FROM` when a single service has
/// public ports).
fn allow_var(service: &str, single: bool) -> String {
    if single {
        return "ALLOW_FROM".into();
    }
    let up: String = service
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("ALLOW_FROM_{up}")
}

/// iptables and nft matches for a port (after DNAT: the container port, and the original
/// destination port when it differs).
fn matches(p: &PublicPort) -> (String, String) {
    let proto = p.protocol.as_str();
    let target = p.target.replace('-', ":");
    let nft_target = p.target.clone();
    match p.published.as_deref().filter(|x| *x != p.target) {
        None => (
            format!("-p {proto} --dport {target}"),
            format!("{proto} dport {nft_target}"),
        ),
        Some(published) => (
            format!(
                "-p {proto} --dport {target} -m conntrack --ctorigdstport {} --ctdir ORIGINAL",
                published.replace('-', ":")
            ),
            format!("{proto} dport {nft_target} ct original proto-dst {published}"),
        ),
    }
}

/// The script for `openings` of the Compose project `project`; `ext_if` is the profile's
/// external interface (empty: the default route's, found when the script runs).
pub fn script(openings: &[Opening], project: &str, ext_if: Option<&str>) -> String {
    let mut services: Vec<(&str, &[String])> = Vec::new();
    for o in openings {
        if !services.iter().any(|(s, _)| *s == o.port.service) {
            services.push((o.port.service.as_str(), &o.allow_from));
        }
    }
    let single = services.len() == 1;
    let chain = format!("HARDEN-{}", ident(project, 21));
    let table = format!("harden_{}", ident(project, 40));
    let mut s = String::new();
    s.push_str("# Paste it whole, or save it and run `sh FILE`: nothing changes unless every check passes.\n");
    s.push_str("# Running it again replaces these rules (never duplicates them).\n");
    let _ = writeln!(
        s,
        "EXT_IF=\"{}\"   # the external interface; empty: the interface of the default route",
        ext_if.unwrap_or("")
    );
    for (svc, allow) in &services {
        let ports: Vec<String> = openings
            .iter()
            .filter(|o| o.port.service == *svc)
            .map(|o| {
                format!(
                    "{}/{}",
                    o.port.published.as_deref().unwrap_or(&o.port.target),
                    o.port.protocol
                )
            })
            .collect();
        let note = if allow.is_empty() {
            format!(
                "FILL IN: the networks that must reach {svc} {} (e.g. the router management subnets)",
                ports.join(", ")
            )
        } else {
            format!("sources allowed to reach {svc} {}", ports.join(", "))
        };
        let _ = writeln!(
            s,
            "{}=\"{}\"   # {note}",
            allow_var(svc, single),
            allow.join(" ")
        );
    }
    s.push_str("FIREWALL=\"iptables\"   # iptables: Docker's DOCKER-USER chain (IPv4 and IPv6); nft: one inet table\n");
    let _ = writeln!(s, "CHAIN=\"{chain}\" TABLE=\"{table}\"");
    s.push('\n');
    s.push_str("harden_firewall() (\n");
    s.push_str(
        r#"  set -euf
  fail() { echo "firewall: $*; nothing was changed" >&2; exit 1; }
  [ "$(id -u)" = 0 ] || fail "run it as root"
  if [ -z "$EXT_IF" ]; then
    EXT_IF=$(ip -o route show default 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
  fi
  [ -n "$EXT_IF" ] || fail "no default route: set EXT_IF to the external interface"
  [ -d "/sys/class/net/$EXT_IF" ] || fail "no interface $EXT_IF: set EXT_IF"
  sources() {  # NAME VALUE: refuse an empty or malformed list
    [ -n "$2" ] || fail "$1 is empty: set it to the networks that must reach the port"
    for s in $2; do
      case "$s" in *[!0-9A-Fa-f.:/]* | "") fail "$1: '$s' is not an address or subnet" ;; esac
    done
  }
  v4() { for s in $1; do case "$s" in *:*) ;; *) echo "$s" ;; esac; done; }
  v6() { for s in $1; do case "$s" in *:*) echo "$s" ;; esac; done; }
  joined() { out=""; for s in $1; do out="${out:+$out, }$s"; done; echo "$out"; }
"#,
    );
    for (svc, _) in &services {
        let v = allow_var(svc, single);
        let _ = writeln!(s, "  sources {v} \"${v}\"");
    }
    // iptables-restore input for family $1 (4 or 6); $2 = jump: add the jump from DOCKER-USER.
    s.push_str("  rules() {\n    echo \"*filter\"\n    echo \":$CHAIN - [0:0]\"\n");
    for o in openings {
        let (ipt, _) = matches(&o.port);
        let v = allow_var(&o.port.service, single);
        let _ = writeln!(
            s,
            "    for s in $(v$1 \"${v}\"); do echo \"-A $CHAIN -i $EXT_IF {ipt} -s $s -j RETURN\"; done\n    echo \"-A $CHAIN -i $EXT_IF {ipt} -j DROP\""
        );
    }
    s.push_str(
        r#"    if [ "$2" = jump ]; then echo "-I DOCKER-USER 1 -j $CHAIN"; fi
    echo "COMMIT"
  }
  nft_rules() {
    echo "table inet $TABLE"
    echo "delete table inet $TABLE"
    echo "table inet $TABLE {"
    echo "  chain forward {"
    echo "    type filter hook forward priority -1; policy accept;"
"#,
    );
    for o in openings {
        let (_, nft) = matches(&o.port);
        let v = allow_var(&o.port.service, single);
        let _ = writeln!(
            s,
            "    s4=$(joined \"$(v4 \"${v}\")\"); s6=$(joined \"$(v6 \"${v}\")\")\n    if [ -n \"$s4\" ]; then echo \"    iifname \\\"$EXT_IF\\\" {nft} ip saddr {{ $s4 }} return\"; fi\n    if [ -n \"$s6\" ]; then echo \"    iifname \\\"$EXT_IF\\\" {nft} ip6 saddr {{ $s6 }} return\"; fi\n    echo \"    iifname \\\"$EXT_IF\\\" {nft} drop\""
        );
    }
    s.push_str(
        r#"    echo "  }"
    echo "}"
  }
  case "$FIREWALL" in
    iptables)
      command -v iptables-restore >/dev/null || fail "iptables-restore not found (or set FIREWALL=nft)"
      iptables -n -L DOCKER-USER >/dev/null 2>&1 || fail "no DOCKER-USER chain: is Docker running with its iptables integration? (or set FIREWALL=nft)"
      j4=jump; if iptables -C DOCKER-USER -j "$CHAIN" 2>/dev/null; then j4=; fi
      rules 4 "$j4" | iptables-restore --noflush --test || fail "iptables-restore refused the IPv4 rules"
      six=""
      if command -v ip6tables-restore >/dev/null && ip6tables -n -L DOCKER-USER >/dev/null 2>&1; then
        six=yes
        j6=jump; if ip6tables -C DOCKER-USER -j "$CHAIN" 2>/dev/null; then j6=; fi
        rules 6 "$j6" | ip6tables-restore --noflush --test || fail "ip6tables-restore refused the IPv6 rules"
      else
        echo "firewall: no DOCKER-USER chain in ip6tables (Docker's IPv6 firewalling is off): check that these ports are not reachable over IPv6" >&2
      fi
      rules 4 "$j4" | iptables-restore --noflush
      if [ -n "$six" ]; then rules 6 "$j6" | ip6tables-restore --noflush; fi
      iptables -S "$CHAIN"
      if [ -n "$six" ]; then ip6tables -S "$CHAIN"; fi
      ;;
    nft)
      command -v nft >/dev/null || fail "nft not found (or set FIREWALL=iptables)"
      nft_rules | nft -c -f - || fail "nft refused the rules"
      nft_rules | nft -f -
      nft list table inet "$TABLE"
      ;;
    *) fail "FIREWALL must be iptables or nft" ;;
  esac
)
harden_firewall
"#,
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(published: Option<&str>, target: &str) -> PublicPort {
        PublicPort {
            service: "portal".into(),
            label: "x".into(),
            published: published.map(str::to_string),
            target: target.into(),
            protocol: "tcp".into(),
            host_ip: None,
        }
    }

    #[test]
    fn matches_use_the_container_port() {
        assert_eq!(
            matches(&port(Some("5000"), "5000")).0,
            "-p tcp --dport 5000"
        );
        let (ipt, nft) = matches(&port(Some("8080"), "80"));
        assert_eq!(
            ipt,
            "-p tcp --dport 80 -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL"
        );
        assert_eq!(nft, "tcp dport 80 ct original proto-dst 8080");
        assert_eq!(
            matches(&port(Some("9090-9091"), "9090-9091")).0,
            "-p tcp --dport 9090:9091"
        );
    }

    #[test]
    fn placeholder_is_an_empty_variable_checked_before_any_rule() {
        let s = script(
            &[Opening {
                port: port(Some("8080"), "80"),
                allow_from: Vec::new(),
            }],
            "my stack",
            None,
        );
        assert!(s.contains("ALLOW_FROM=\"\"   # FILL IN"), "{s}");
        assert!(s.contains("CHAIN=\"HARDEN-my_stack\""), "{s}");
        let check = s.find("sources ALLOW_FROM").expect("check");
        let install = s.find("iptables-restore --noflush\n").expect("install");
        assert!(check < install);
        assert!(s.trim_end().ends_with("\nharden_firewall"));
    }
}
