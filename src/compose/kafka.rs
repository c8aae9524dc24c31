//! Kafka listener analysis for the `kafka-host-listener` rule.
//!
//! Pure string logic over the *values* of a broker service's environment
//! variables; the YAML layer finds the variables and splices the new values.
//!
//! # Which variable decides what
//!
//! * `KAFKA_ADVERTISED_LISTENERS` decides whether a listener is
//!   **host-facing**: it is the address clients are told to dial. A listener
//!   advertised as `localhost`, an IP literal, `${HOST_IP}`,
//!   `host.docker.internal` or a name that is not a Compose service / alias is
//!   meant for clients outside the Compose network.
//! * `KAFKA_LISTENERS` is the *bind* address. An empty host
//!   (`PLAINTEXT://:9092`) or `0.0.0.0` means "bind on every interface of the
//!   container", which says nothing about who the listener is for. It is only
//!   used to decide host-facing-ness when no advertised variable exists
//!   (Kafka then advertises the listeners verbatim), and then a wildcard or
//!   empty bind host counts as internal.
//! * When a listener is pruned it is removed by **name** from both variables
//!   and from `KAFKA_LISTENER_SECURITY_PROTOCOL_MAP`, so the three stay
//!   consistent.
//!
//! Listener names are compared ASCII case-insensitively, as Kafka
//! upper-cases them (`ListenerName.normalised`).

use std::ops::Range;

use super::ports::{positions, top_level_mask};

/// An error from parsing a listener-related value or from planning a prune.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KafkaError(pub String);

/// Image repositories (last one or two path components, tag and digest
/// stripped) known to be Kafka brokers configured through `KAFKA_*` env vars.
const KAFKA_IMAGES: &[&str] = &[
    "confluentinc/cp-kafka",
    "confluentinc/cp-server",
    "confluentinc/cp-enterprise-kafka",
    "confluentinc/confluent-local",
    "bitnami/kafka",
    "bitnamilegacy/kafka",
    "bitnamisecure/kafka",
    "apache/kafka",
    "apache/kafka-native",
    "wurstmeister/kafka",
    "ubuntu/kafka",
];

/// True when `image` names a Kafka broker image we understand.
///
/// Accepts registry prefixes (`docker.io/bitnami/kafka`,
/// `registry.example.com:5000/mirror/confluentinc/cp-kafka`), tags (including
/// interpolated ones, `cp-kafka:${CP_VERSION:-7.5.0}`) and digests. Related
/// but different images such as `confluentinc/cp-kafka-rest`,
/// `confluentinc/cp-kafka-connect` or `provectuslabs/kafka-ui` do not match.
pub fn is_kafka_image(image: &str) -> bool {
    // Match the last two path segments (owner/name), so mirrors and registry prefixes work.
    let repo = super::image::repository(image);
    let mut segs = repo.rsplit('/');
    let (Some(name), Some(owner)) = (segs.next(), segs.next()) else {
        return false;
    };
    KAFKA_IMAGES.contains(&format!("{owner}/{name}").as_str())
}

/// The listener-related broker settings the rule reads and edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListenerVar {
    /// `KAFKA_LISTENERS` / `KAFKA_CFG_LISTENERS` (bind addresses).
    Listeners,
    /// `KAFKA_ADVERTISED_LISTENERS` / `KAFKA_CFG_ADVERTISED_LISTENERS`.
    AdvertisedListeners,
    /// `KAFKA_LISTENER_SECURITY_PROTOCOL_MAP` (and `KAFKA_CFG_` spelling).
    ProtocolMap,
    /// `KAFKA_INTER_BROKER_LISTENER_NAME` (and `KAFKA_CFG_` spelling).
    InterBrokerName,
    /// `KAFKA_CONTROLLER_LISTENER_NAMES` (and `KAFKA_CFG_` spelling).
    ControllerNames,
}

/// Classifies an environment variable name; `None` for unrelated keys.
///
/// Both the Confluent/Apache spelling (`KAFKA_LISTENERS`) and the Bitnami
/// spelling (`KAFKA_CFG_LISTENERS`) are recognised. Matching is exact and
/// case-sensitive, like environment variables.
pub fn classify_var(key: &str) -> Option<ListenerVar> {
    let rest = key
        .strip_prefix("KAFKA_CFG_")
        .or_else(|| key.strip_prefix("KAFKA_"))?;
    Some(match rest {
        "LISTENERS" => ListenerVar::Listeners,
        "ADVERTISED_LISTENERS" => ListenerVar::AdvertisedListeners,
        "LISTENER_SECURITY_PROTOCOL_MAP" => ListenerVar::ProtocolMap,
        "INTER_BROKER_LISTENER_NAME" => ListenerVar::InterBrokerName,
        "CONTROLLER_LISTENER_NAMES" => ListenerVar::ControllerNames,
        _ => return None,
    })
}

/// One `NAME://host:port` item of a listener list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// Listener name as written (`PLAINTEXT_HOST`).
    pub name: String,
    /// Host as written, without IPv6 brackets; empty for `NAME://:9092`.
    pub host: String,
    /// Port text (digits or interpolation); `None` when the part after
    /// `://` has no top-level `:` (e.g. `NAME://${ADDR}`).
    pub port: Option<String>,
    /// Byte range of the whole item (whitespace excluded) in the value.
    pub range: Range<usize>,
}

/// One `NAME:PROTOCOL` entry of `KAFKA_LISTENER_SECURITY_PROTOCOL_MAP`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapEntry {
    /// Listener name as written.
    pub name: String,
    /// Security protocol as written (`PLAINTEXT`, `SASL_SSL`, ...).
    pub protocol: String,
    /// Byte range of the whole entry in the value.
    pub range: Range<usize>,
}

/// Byte ranges of the non-empty, whitespace-trimmed items of a
/// comma-separated value. Commas inside `${...}` do not split.
fn split_list(value: &str) -> Result<Vec<Range<usize>>, KafkaError> {
    let mask = top_level_mask(value).map_err(|e| KafkaError(format!("{value:?}: {e}")))?;
    let mut items = Vec::new();
    let mut start = 0;
    let mut cuts = positions(value, &mask, b',');
    cuts.push(value.len());
    for cut in cuts {
        let raw = &value[start..cut];
        let lead = raw.len() - raw.trim_start().len();
        let trimmed = raw.trim();
        if !trimmed.is_empty() {
            let s = start + lead;
            items.push(s..s + trimmed.len());
        }
        start = cut + 1;
    }
    Ok(items)
}

/// Parses a listener list such as
/// `PLAINTEXT://obmp-kafka:29092,PLAINTEXT_HOST://${HOST_IP}:9092`.
///
/// Items are separated by `,` (surrounding whitespace ignored, empty items
/// skipped); `${...}` spans are opaque, so `${X:-a,b}` and
/// `${DOCKER_HOST_IP:-127.0.0.1}` stay inside one item/host. `[::1]:9092`
/// yields host `::1`. An item without `://` (e.g. a bare `${EXTRA}`) or with
/// an empty name is an error: the caller should refuse to edit the value.
pub fn parse_listeners(value: &str) -> Result<Vec<Listener>, KafkaError> {
    let mask = top_level_mask(value).map_err(|e| KafkaError(format!("{value:?}: {e}")))?;
    let mut out = Vec::new();
    for range in split_list(value)? {
        let item = &value[range.clone()];
        let m = &mask[range.clone()];
        let sep = (0..item.len().saturating_sub(2))
            .find(|&i| item.as_bytes()[i..].starts_with(b"://") && m[i] && m[i + 1] && m[i + 2])
            .ok_or_else(|| {
                KafkaError(format!(
                    "listener {item:?} is not of the form NAME://host:port"
                ))
            })?;
        let name = &item[..sep];
        if name.is_empty() {
            return Err(KafkaError(format!("listener {item:?} has an empty name")));
        }
        let rest = &item[sep + 3..];
        let rest_mask = &m[sep + 3..];
        let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
            let close = inner
                .find(']')
                .ok_or_else(|| KafkaError(format!("listener {item:?}: unclosed '['")))?;
            let after = &inner[close + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => {
                    return Err(KafkaError(format!(
                        "listener {item:?}: unexpected text after ']'"
                    )))
                }
            };
            (&inner[..close], port)
        } else {
            match positions(rest, rest_mask, b':').last() {
                Some(&c) => (&rest[..c], Some(&rest[c + 1..])),
                None => (rest, None),
            }
        };
        if let Some(p) = port {
            let ok = p.contains('$') || (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            if !ok {
                return Err(KafkaError(format!(
                    "listener {item:?}: port {p:?} is not a number"
                )));
            }
        }
        out.push(Listener {
            name: name.to_string(),
            host: host.to_string(),
            port: port.map(str::to_string),
            range,
        });
    }
    Ok(out)
}

/// Parses `KAFKA_LISTENER_SECURITY_PROTOCOL_MAP`
/// (`PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT`).
///
/// Returns an error (instead of silently skipping) for an entry that is not
/// `NAME:PROTOCOL`, so the caller never edits a value it did not understand.
pub fn parse_protocol_map(value: &str) -> Result<Vec<MapEntry>, KafkaError> {
    let mask = top_level_mask(value).map_err(|e| KafkaError(format!("{value:?}: {e}")))?;
    let mut out = Vec::new();
    for range in split_list(value)? {
        let item = &value[range.clone()];
        let colon = positions(item, &mask[range.clone()], b':');
        let (name, protocol) = match colon.as_slice() {
            [c] => (item[..*c].trim(), item[c + 1..].trim()),
            _ => {
                return Err(KafkaError(format!(
                    "protocol map entry {item:?} is not NAME:PROTOCOL"
                )))
            }
        };
        if name.is_empty() || protocol.is_empty() {
            return Err(KafkaError(format!(
                "protocol map entry {item:?} is not NAME:PROTOCOL"
            )));
        }
        out.push(MapEntry {
            name: name.to_string(),
            protocol: protocol.to_string(),
            range,
        });
    }
    Ok(out)
}

/// Splits a name list (`KAFKA_CONTROLLER_LISTENER_NAMES=CONTROLLER,CTRL2`,
/// or the single `KAFKA_INTER_BROKER_LISTENER_NAME`) into trimmed names.
pub fn parse_names(value: &str) -> Result<Vec<String>, KafkaError> {
    Ok(split_list(value)?
        .into_iter()
        .map(|r| value[r].to_string())
        .collect())
}

/// Removes the list items whose byte ranges are given, keeping the value's
/// own separator style.
///
/// `ranges` must be item ranges as returned by [`parse_listeners`] /
/// [`parse_protocol_map`] for this same `value`; ranges that do not match an
/// item are ignored. Kept items are joined by the separator that followed
/// the previous kept item in the original (so `A, B, C` minus `B` is
/// `A, C` and `A,B,C` minus `A` is `B,C`); leading and trailing whitespace
/// of the value is kept and no leading/trailing comma is left. Removing every
/// item yields the value's outer whitespace only (usually `""`).
pub fn remove_items(value: &str, ranges: &[Range<usize>]) -> String {
    let Ok(items) = split_list(value) else {
        return value.to_string();
    };
    let (Some(first), Some(last)) = (items.first(), items.last()) else {
        return value.to_string();
    };
    let kept: Vec<&Range<usize>> = items.iter().filter(|r| !ranges.contains(r)).collect();
    let mut out = String::from(&value[..first.start]);
    for (i, r) in kept.iter().enumerate() {
        out.push_str(&value[(*r).clone()]);
        if let Some(next) = kept.get(i + 1) {
            // The separator originally following this kept item.
            let idx = items.iter().position(|x| x == *r).unwrap_or(0);
            let after = items.get(idx + 1).map_or(next.start, |x| x.start);
            out.push_str(&value[r.end..after]);
        }
    }
    out.push_str(&value[last.end..]);
    out
}

/// Decides whether an advertised host is meant for clients outside the
/// Compose network.
///
/// Host-facing: `localhost` (and `localhost.localdomain`, `ip6-localhost`),
/// any text containing `$` (`${HOST_IP}`, `${DOCKER_HOST_IP:-127.0.0.1}`),
/// `host.docker.internal` / `gateway.docker.internal` /
/// `host.containers.internal`, any IP literal the callback does not claim,
/// and any other name the callback does not recognise.
///
/// `internal_names(host)` should return true for service names,
/// `container_name`s, `hostname`s, network aliases and static container IPs
/// (`ipv4_address`) of the project; compare case-insensitively, DNS is.
/// It is consulted for IP literals too, so a broker advertising its own
/// static container address is internal.
///
/// An empty host is **not** host-facing: in an advertised listener Kafka
/// substitutes the container's canonical host name (internal); in a bind
/// listener it means "all container interfaces", which is about binding,
/// not audience.
pub fn is_host_facing(host: &str, internal_names: &dyn Fn(&str) -> bool) -> bool {
    let h = host.trim().trim_end_matches('.');
    if h.is_empty() {
        return false;
    }
    if h.contains('$') {
        return true;
    }
    let lower = h.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "localhost"
            | "localhost.localdomain"
            | "ip6-localhost"
            | "ip6-loopback"
            | "host.docker.internal"
            | "gateway.docker.internal"
            | "host.containers.internal"
    ) {
        return true;
    }
    let bare = h.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        if ip.is_loopback() {
            return true;
        }
        return !internal_names(h);
    }
    !internal_names(h)
}

/// True for a bind host meaning "every interface": empty, `0.0.0.0`, `::`.
fn is_wildcard_bind(host: &str) -> bool {
    matches!(host.trim(), "" | "0.0.0.0" | "::" | "[::]")
}

/// The listeners of a broker that are host-facing, decided from
/// `ADVERTISED_LISTENERS` (all such variables present), or, when there is
/// none, from `LISTENERS` with wildcard/empty bind hosts treated as internal.
/// See [`is_host_facing`] for the callback.
pub fn host_facing_listeners(
    vars: &[(ListenerVar, &str)],
    internal_names: &dyn Fn(&str) -> bool,
) -> Result<Vec<Listener>, KafkaError> {
    let advertised: Vec<&str> = values_of(vars, ListenerVar::AdvertisedListeners);
    let (source, from_bind) = if advertised.is_empty() {
        (values_of(vars, ListenerVar::Listeners), true)
    } else {
        (advertised, false)
    };
    let mut out = Vec::new();
    for value in source {
        for l in parse_listeners(value)? {
            if from_bind && is_wildcard_bind(&l.host) {
                continue;
            }
            if is_host_facing(&l.host, internal_names) {
                out.push(l);
            }
        }
    }
    Ok(out)
}

/// Security protocols Kafka maps to themselves when no protocol map is set.
const PROTOCOLS: &[&str] = &["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];

/// The security protocol of listener `name`: looked up in `map` when a
/// protocol-map variable exists, otherwise Kafka's default identity map
/// (a listener named `SSL` uses SSL). `None` when unknown.
pub fn protocol_of(name: &str, map: Option<&[MapEntry]>) -> Option<String> {
    match map {
        Some(entries) => entries
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(name))
            .map(|e| e.protocol.to_ascii_uppercase()),
        None => PROTOCOLS
            .iter()
            .find(|p| p.eq_ignore_ascii_case(name))
            .map(|p| p.to_string()),
    }
}

/// Host-facing listeners that carry no TLS (`PLAINTEXT` or
/// `SASL_PLAINTEXT`), returned with their protocol, for the "use SASL_SSL
/// on the external listener" advice. Run it on the values that remain after
/// a prune (or when the rule decides not to prune). Listeners whose protocol
/// cannot be resolved are not reported.
pub fn plaintext_host_facing(
    vars: &[(ListenerVar, &str)],
    internal_names: &dyn Fn(&str) -> bool,
) -> Result<Vec<(Listener, String)>, KafkaError> {
    let map = merged_map(vars)?;
    let mut out = Vec::new();
    for l in host_facing_listeners(vars, internal_names)? {
        if let Some(p) = protocol_of(&l.name, map.as_deref()) {
            if p == "PLAINTEXT" || p == "SASL_PLAINTEXT" {
                out.push((l, p));
            }
        }
    }
    Ok(out)
}

/// A new value for one of the input variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarEdit {
    /// Index into the `vars` slice given to [`plan_prune`].
    pub index: usize,
    /// Which variable this is.
    pub var: ListenerVar,
    /// The value before the edit.
    pub old: String,
    /// The value after the edit (bare text: the caller re-quotes).
    pub new: String,
}

/// A listener removed by [`plan_prune`], with the ports the caller uses to
/// find the matching `ports:` item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrunedListener {
    /// Listener name as first written.
    pub name: String,
    /// Host of the advertised item, if there was one.
    pub advertised_host: Option<String>,
    /// Port of the advertised item: usually the **published** (host) port.
    pub advertised_port: Option<String>,
    /// Port of the bind (`LISTENERS`) item: the **container** port. Falls back
    /// to the advertised port when there is no bind item.
    pub listener_port: Option<String>,
}

/// The result of [`plan_prune`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Changed variables only, in input order.
    pub edits: Vec<VarEdit>,
    /// Listeners that were removed.
    pub pruned: Vec<PrunedListener>,
    /// Requested names that were kept because they are the inter-broker or a
    /// controller listener (report these for review).
    pub protected: Vec<String>,
}

impl Plan {
    /// True when the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// True when a `ports:` mapping with published port `published` (may be
    /// `None` for ephemeral) and container port `target` belongs to a pruned
    /// listener: the container port equals a pruned listener's bind port, and
    /// the published port, when both are known, equals its advertised port.
    pub fn matches_port(&self, published: Option<&str>, target: &str) -> bool {
        self.pruned.iter().any(|p| {
            p.listener_port.as_deref() == Some(target)
                && match (published, p.advertised_port.as_deref()) {
                    (Some(pub_), Some(adv)) => pub_ == adv || pub_ == target,
                    _ => true,
                }
        })
    }
}

fn values_of<'a>(vars: &[(ListenerVar, &'a str)], which: ListenerVar) -> Vec<&'a str> {
    vars.iter()
        .filter(|(v, _)| *v == which)
        .map(|(_, s)| *s)
        .collect()
}

fn merged_map(vars: &[(ListenerVar, &str)]) -> Result<Option<Vec<MapEntry>>, KafkaError> {
    let values = values_of(vars, ListenerVar::ProtocolMap);
    if values.is_empty() {
        return Ok(None);
    }
    let mut all = Vec::new();
    for v in values {
        all.extend(parse_protocol_map(v)?);
    }
    Ok(Some(all))
}

fn upper(s: &str) -> String {
    s.to_ascii_uppercase()
}

/// Configuration problems of a set of listener values, as sorted strings.
/// Used to refuse any edit that introduces a problem not present before.
fn problems(vars: &[(ListenerVar, String)]) -> Result<Vec<String>, KafkaError> {
    let borrowed: Vec<(ListenerVar, &str)> = vars.iter().map(|(v, s)| (*v, s.as_str())).collect();
    let mut listeners_present = false;
    let mut advertised_present = false;
    let mut bind_names = Vec::new();
    let mut adv_names = Vec::new();
    let mut out = Vec::new();
    for (var, value) in &borrowed {
        match var {
            ListenerVar::Listeners => {
                listeners_present = true;
                let ls = parse_listeners(value)?;
                if ls.is_empty() {
                    out.push("LISTENERS would be empty".to_string());
                }
                bind_names.extend(ls.into_iter().map(|l| upper(&l.name)));
            }
            ListenerVar::AdvertisedListeners => {
                advertised_present = true;
                let ls = parse_listeners(value)?;
                if ls.is_empty() {
                    out.push("ADVERTISED_LISTENERS would be empty".to_string());
                }
                adv_names.extend(ls.into_iter().map(|l| upper(&l.name)));
            }
            _ => {}
        }
    }
    let map = merged_map(&borrowed)?;
    for name in bind_names.iter().chain(adv_names.iter()) {
        if protocol_of(name, map.as_deref()).is_none() {
            out.push(format!(
                "listener {name} has no entry in LISTENER_SECURITY_PROTOCOL_MAP"
            ));
        }
    }
    if listeners_present && advertised_present {
        for name in &adv_names {
            if !bind_names.contains(name) {
                out.push(format!("advertised listener {name} is not in LISTENERS"));
            }
        }
    }
    let reachable = if advertised_present {
        &adv_names
    } else {
        &bind_names
    };
    for v in values_of(&borrowed, ListenerVar::InterBrokerName) {
        for name in parse_names(v)? {
            if (advertised_present || listeners_present) && !reachable.contains(&upper(&name)) {
                out.push(format!(
                    "INTER_BROKER_LISTENER_NAME {name} names no remaining listener"
                ));
            }
        }
    }
    for v in values_of(&borrowed, ListenerVar::ControllerNames) {
        for name in parse_names(v)? {
            if listeners_present && !bind_names.contains(&upper(&name)) {
                out.push(format!(
                    "CONTROLLER_LISTENER_NAMES {name} names no remaining listener"
                ));
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Plans the removal of the listeners named in `host_facing_names` (usually
/// the names from [`host_facing_listeners`]) from a broker's settings.
///
/// `vars` holds every listener-related variable of the service with its
/// value (several entries of the same kind, e.g. both `KAFKA_LISTENERS` and
/// `KAFKA_CFG_LISTENERS`, are all edited). The plan:
///
/// * removes the named items from every `LISTENERS` and
///   `ADVERTISED_LISTENERS` value, keeping separator style;
/// * removes protocol-map entries of pruned names (they no longer exist
///   anywhere); other entries, even unused ones, are left alone;
/// * never removes the inter-broker listener or a controller listener: such
///   names go to [`Plan::protected`]. When `INTER_BROKER_LISTENER_NAME` is
///   not set, Kafka's default inter-broker listener `PLAINTEXT` is protected;
/// * refuses (`Err`) when the edited values would have a problem the
///   originals did not: an empty listener list, an inter-broker/controller
///   name with no listener, a listener without a protocol-map entry, or an
///   advertised name missing from `LISTENERS`. Unparseable values are also
///   refused.
///
/// Returns the changed values and the pruned listeners' ports so the caller
/// can drop the matching `ports:` item (see [`Plan::matches_port`]).
pub fn plan_prune(
    vars: &[(ListenerVar, &str)],
    host_facing_names: &[String],
) -> Result<Plan, KafkaError> {
    let mut protected_names: Vec<String> = Vec::new();
    let inter = values_of(vars, ListenerVar::InterBrokerName);
    if inter.is_empty() {
        protected_names.push("PLAINTEXT".to_string());
    }
    for v in inter
        .iter()
        .chain(values_of(vars, ListenerVar::ControllerNames).iter())
    {
        protected_names.extend(parse_names(v)?.iter().map(|n| upper(n)));
    }

    let mut plan = Plan::default();
    let mut prune: Vec<String> = Vec::new();
    for n in host_facing_names {
        let u = upper(n.trim());
        if protected_names.contains(&u) {
            if !plan.protected.iter().any(|p| p.eq_ignore_ascii_case(n)) {
                plan.protected.push(n.clone());
            }
        } else if !prune.contains(&u) {
            prune.push(u);
        }
    }
    if prune.is_empty() {
        return Ok(plan);
    }

    let mut new_vars: Vec<(ListenerVar, String)> = Vec::with_capacity(vars.len());
    let mut advertised: Vec<Listener> = Vec::new();
    let mut bound: Vec<Listener> = Vec::new();
    for (index, (var, value)) in vars.iter().enumerate() {
        let ranges: Vec<Range<usize>> = match var {
            ListenerVar::Listeners | ListenerVar::AdvertisedListeners => {
                let ls = parse_listeners(value)?;
                let mut rs = Vec::new();
                for l in ls {
                    if prune.contains(&upper(&l.name)) {
                        rs.push(l.range.clone());
                        if *var == ListenerVar::Listeners {
                            bound.push(l);
                        } else {
                            advertised.push(l);
                        }
                    }
                }
                rs
            }
            ListenerVar::ProtocolMap => parse_protocol_map(value)?
                .into_iter()
                .filter(|e| prune.contains(&upper(&e.name)))
                .map(|e| e.range)
                .collect(),
            _ => Vec::new(),
        };
        let new = if ranges.is_empty() {
            value.to_string()
        } else {
            remove_items(value, &ranges)
        };
        if new != *value {
            plan.edits.push(VarEdit {
                index,
                var: *var,
                old: value.to_string(),
                new: new.clone(),
            });
        }
        new_vars.push((*var, new));
    }

    let old_vars: Vec<(ListenerVar, String)> =
        vars.iter().map(|(v, s)| (*v, s.to_string())).collect();
    let before = problems(&old_vars)?;
    let after = problems(&new_vars)?;
    let introduced: Vec<&String> = after.iter().filter(|p| !before.contains(p)).collect();
    if !introduced.is_empty() {
        let list: Vec<&str> = introduced.iter().map(|s| s.as_str()).collect();
        return Err(KafkaError(format!(
            "refusing to remove listener(s) {}: {}",
            prune.join(", "),
            list.join("; ")
        )));
    }

    for name in &prune {
        let adv = advertised.iter().find(|l| upper(&l.name) == *name);
        let bind = bound.iter().find(|l| upper(&l.name) == *name);
        if adv.is_none() && bind.is_none() {
            continue;
        }
        let shown = adv.or(bind).map_or(name.clone(), |l| l.name.clone());
        plan.pruned.push(PrunedListener {
            name: shown,
            advertised_host: adv.map(|l| l.host.clone()),
            advertised_port: adv.and_then(|l| l.port.clone()),
            listener_port: bind
                .and_then(|l| l.port.clone())
                .or_else(|| adv.and_then(|l| l.port.clone())),
        });
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ListenerVar::*;

    fn internal<'a>(names: &'a [&'a str]) -> impl Fn(&str) -> bool + 'a {
        move |h: &str| names.iter().any(|n| n.eq_ignore_ascii_case(h))
    }

    #[test]
    fn images() {
        let yes = [
            "confluentinc/cp-kafka:7.8.0",
            "confluentinc/cp-kafka",
            "confluentinc/cp-server:7.3.0",
            "bitnami/kafka:latest",
            "docker.io/bitnami/kafka:3.7",
            "apache/kafka:3.8.0",
            "apache/kafka-native:3.8.0",
            "wurstmeister/kafka",
            "ubuntu/kafka:3.1-22.04_beta",
            "registry.example.com:5000/mirror/confluentinc/cp-kafka:7.5.0",
            "confluentinc/cp-kafka:${CP_VERSION:-7.5.0}",
            "confluentinc/cp-kafka@sha256:0123abcd",
            "bitnami/kafka:3.7@sha256:0123abcd",
            "Bitnami/Kafka",
        ];
        let no = [
            "confluentinc/cp-kafka-rest:7.3.0",
            "confluentinc/cp-kafka-connect:7.8.0",
            "provectuslabs/kafka-ui:latest",
            "cnfldemos/flink-kafka:1.16.0",
            "confluentinc/cp-zookeeper:7.3.0",
            "etl-kafka",
            "kafka",
            "",
            "bitnami/kafka-exporter",
        ];
        for i in yes {
            assert!(is_kafka_image(i), "{i}");
        }
        for i in no {
            assert!(!is_kafka_image(i), "{i}");
        }
    }

    #[test]
    fn vars() {
        let rows = [
            ("KAFKA_LISTENERS", Some(Listeners)),
            ("KAFKA_CFG_LISTENERS", Some(Listeners)),
            ("KAFKA_ADVERTISED_LISTENERS", Some(AdvertisedListeners)),
            ("KAFKA_CFG_ADVERTISED_LISTENERS", Some(AdvertisedListeners)),
            ("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", Some(ProtocolMap)),
            (
                "KAFKA_CFG_LISTENER_SECURITY_PROTOCOL_MAP",
                Some(ProtocolMap),
            ),
            ("KAFKA_INTER_BROKER_LISTENER_NAME", Some(InterBrokerName)),
            (
                "KAFKA_CFG_INTER_BROKER_LISTENER_NAME",
                Some(InterBrokerName),
            ),
            ("KAFKA_CONTROLLER_LISTENER_NAMES", Some(ControllerNames)),
            ("KAFKA_CFG_CONTROLLER_LISTENER_NAMES", Some(ControllerNames)),
            ("KAFKA_REST_LISTENERS", None),
            ("KAFKA_CONFLUENT_METADATA_SERVER_LISTENERS", None),
            ("KAFKA_LISTENER_NAME_EXTERNAL_SASL_ENABLED_MECHANISMS", None),
            ("kafka_listeners", None),
            ("LISTENERS", None),
        ];
        for (k, want) in rows {
            assert_eq!(classify_var(k), want, "{k}");
        }
    }

    #[test]
    fn listeners_table() {
        type Row = (
            &'static str,
            &'static [(&'static str, &'static str, Option<&'static str>)],
        );
        let rows: &[Row] = &[
            (
                "PLAINTEXT://obmp-kafka:29092,PLAINTEXT_HOST://${HOST_IP}:9092",
                &[
                    ("PLAINTEXT", "obmp-kafka", Some("29092")),
                    ("PLAINTEXT_HOST", "${HOST_IP}", Some("9092")),
                ],
            ),
            (
                "PLAINTEXT://:9092,CONTROLLER://:9093,EXTERNAL://:9094",
                &[
                    ("PLAINTEXT", "", Some("9092")),
                    ("CONTROLLER", "", Some("9093")),
                    ("EXTERNAL", "", Some("9094")),
                ],
            ),
            (
                "INTERNAL://kafka1:19092,EXTERNAL://${DOCKER_HOST_IP:-127.0.0.1}:9092,DOCKER://host.docker.internal:29092",
                &[
                    ("INTERNAL", "kafka1", Some("19092")),
                    ("EXTERNAL", "${DOCKER_HOST_IP:-127.0.0.1}", Some("9092")),
                    ("DOCKER", "host.docker.internal", Some("29092")),
                ],
            ),
            (
                " A://[::1]:9092 , B://0.0.0.0:9093,",
                &[("A", "::1", Some("9092")), ("B", "0.0.0.0", Some("9093"))],
            ),
            (
                "X://${H:-a,b}:1,Y://${ADDR}",
                &[("X", "${H:-a,b}", Some("1")), ("Y", "${ADDR}", None)],
            ),
            ("P://h:${PORT:-9092}", &[("P", "h", Some("${PORT:-9092}"))]),
            ("", &[]),
        ];
        for (value, want) in rows {
            let got = parse_listeners(value).unwrap_or_else(|e| panic!("{value}: {e}"));
            assert_eq!(got.len(), want.len(), "{value}");
            for (l, (n, h, p)) in got.iter().zip(want.iter()) {
                assert_eq!(
                    (l.name.as_str(), l.host.as_str(), l.port.as_deref()),
                    (*n, *h, *p)
                );
                assert!(value[l.range.clone()].starts_with(n), "{value}: range");
            }
        }
        for bad in [
            "kafka:9092",
            "://h:1",
            "P://h:abc",
            "P://[::1",
            "${EXTRA}",
            "P://${H:1",
        ] {
            assert!(parse_listeners(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn protocol_map() {
        let v = "PLAINTEXT:PLAINTEXT, PLAINTEXT_HOST:PLAINTEXT";
        let m = parse_protocol_map(v).expect("map");
        assert_eq!(m.len(), 2);
        assert_eq!(
            (m[1].name.as_str(), m[1].protocol.as_str()),
            ("PLAINTEXT_HOST", "PLAINTEXT")
        );
        assert_eq!(&v[m[1].range.clone()], "PLAINTEXT_HOST:PLAINTEXT");
        assert!(parse_protocol_map("A").is_err());
        assert!(parse_protocol_map("A:B:C").is_err());
        assert!(parse_protocol_map("A:").is_err());
        assert_eq!(
            protocol_of("plaintext_host", Some(&m)).as_deref(),
            Some("PLAINTEXT")
        );
        assert_eq!(protocol_of("OTHER", Some(&m)), None);
        assert_eq!(protocol_of("SSL", None).as_deref(), Some("SSL"));
        assert_eq!(protocol_of("EXTERNAL", None), None);
    }

    #[test]
    fn remove_items_table() {
        let rows: &[(&str, &[usize], &str)] = &[
            ("A,B,C", &[1], "A,C"),
            ("A,B,C", &[0], "B,C"),
            ("A,B,C", &[2], "A,B"),
            ("A, B, C", &[1], "A, C"),
            ("A, B, C", &[2], "A, B"),
            ("A, B, C", &[0, 2], "B"),
            ("A,B", &[0, 1], ""),
            ("A,B", &[], "A,B"),
            (" A , B ", &[1], " A "),
            ("A,${X:-p,q},C", &[1], "A,C"),
        ];
        for (value, idx, want) in rows {
            let items = split_list(value).expect("split");
            let ranges: Vec<_> = idx.iter().map(|&i| items[i].clone()).collect();
            assert_eq!(remove_items(value, &ranges), *want, "{value} minus {idx:?}");
        }
    }

    #[test]
    fn host_facing_table() {
        let names = ["obmp-kafka", "broker", "kafka", "kafka1", "172.20.0.5"];
        let f = internal(&names);
        let rows = [
            ("obmp-kafka", false),
            ("Broker", false),
            ("", false),
            ("localhost", true),
            ("127.0.0.1", true),
            ("::1", true),
            ("[::1]", true),
            ("10.1.2.3", true),
            ("172.20.0.5", false),
            ("0.0.0.0", true),
            ("${HOST_IP}", true),
            ("${DOCKER_HOST_IP:-127.0.0.1}", true),
            ("host.docker.internal", true),
            ("kafka.example.com", true),
            ("some-other-host", true),
        ];
        for (h, want) in rows {
            assert_eq!(is_host_facing(h, &f), want, "{h:?}");
        }
    }

    struct Case {
        title: &'static str,
        vars: &'static [(ListenerVar, &'static str)],
        internal: &'static [&'static str],
        host_facing: &'static [&'static str],
        /// Names to prune when not all detected ones (empty: all detected).
        prune_only: &'static [&'static str],
        /// Expected new values, per input index (only changed ones).
        edits: &'static [(usize, &'static str)],
        /// (name, advertised_port, listener_port)
        pruned: &'static [(&'static str, Option<&'static str>, Option<&'static str>)],
        protected: &'static [&'static str],
        plaintext_after: &'static [&'static str],
    }

    const CASES: &[Case] = &[
        Case {
            title: "openbmp checklist",
            vars: &[
                (
                    AdvertisedListeners,
                    "PLAINTEXT://obmp-kafka:29092,PLAINTEXT_HOST://${HOST_IP}:9092",
                ),
                (ProtocolMap, "PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT"),
                (InterBrokerName, "PLAINTEXT"),
            ],
            internal: &["obmp-kafka", "kafka"],
            host_facing: &["PLAINTEXT_HOST"],
            prune_only: &[],
            edits: &[(0, "PLAINTEXT://obmp-kafka:29092"), (1, "PLAINTEXT:PLAINTEXT")],
            pruned: &[("PLAINTEXT_HOST", Some("9092"), Some("9092"))],
            protected: &[],
            plaintext_after: &[],
        },
        Case {
            title: "cp-all-in-one kraft",
            vars: &[
                (
                    ProtocolMap,
                    "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT",
                ),
                (
                    AdvertisedListeners,
                    "PLAINTEXT://broker:29092,PLAINTEXT_HOST://localhost:9092",
                ),
                (InterBrokerName, "PLAINTEXT"),
                (ControllerNames, "CONTROLLER"),
                (
                    Listeners,
                    "PLAINTEXT://broker:29092,CONTROLLER://broker:29093,PLAINTEXT_HOST://0.0.0.0:9092",
                ),
            ],
            internal: &["broker"],
            host_facing: &["PLAINTEXT_HOST"],
            prune_only: &[],
            edits: &[
                (0, "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"),
                (1, "PLAINTEXT://broker:29092"),
                (4, "PLAINTEXT://broker:29092,CONTROLLER://broker:29093"),
            ],
            pruned: &[("PLAINTEXT_HOST", Some("9092"), Some("9092"))],
            protected: &[],
            plaintext_after: &[],
        },
        Case {
            title: "bitnami external",
            vars: &[
                (Listeners, "PLAINTEXT://:9092,CONTROLLER://:9093,EXTERNAL://:9094"),
                (
                    AdvertisedListeners,
                    "PLAINTEXT://kafka:9092,EXTERNAL://localhost:9094",
                ),
                (
                    ProtocolMap,
                    "CONTROLLER:PLAINTEXT,EXTERNAL:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                ),
                (ControllerNames, "CONTROLLER"),
                (InterBrokerName, "PLAINTEXT"),
            ],
            internal: &["kafka"],
            host_facing: &["EXTERNAL"],
            prune_only: &[],
            edits: &[
                (0, "PLAINTEXT://:9092,CONTROLLER://:9093"),
                (1, "PLAINTEXT://kafka:9092"),
                (2, "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"),
            ],
            pruned: &[("EXTERNAL", Some("9094"), Some("9094"))],
            protected: &[],
            plaintext_after: &[],
        },
        Case {
            title: "conduktor zk-single-kafka-single: two host-facing listeners",
            vars: &[
                (
                    AdvertisedListeners,
                    "INTERNAL://kafka1:19092,EXTERNAL://${DOCKER_HOST_IP:-127.0.0.1}:9092,DOCKER://host.docker.internal:29092",
                ),
                (
                    ProtocolMap,
                    "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,DOCKER:PLAINTEXT",
                ),
                (InterBrokerName, "INTERNAL"),
            ],
            internal: &["kafka1"],
            host_facing: &["EXTERNAL", "DOCKER"],
            prune_only: &[],
            edits: &[
                (0, "INTERNAL://kafka1:19092"),
                (1, "INTERNAL:PLAINTEXT"),
            ],
            pruned: &[
                ("EXTERNAL", Some("9092"), Some("9092")),
                ("DOCKER", Some("29092"), Some("29092")),
            ],
            protected: &[],
            plaintext_after: &[],
        },
        Case {
            title: "conduktor kraft with bind listeners and controller",
            vars: &[
                (
                    Listeners,
                    "INTERNAL://0.0.0.0:19092,EXTERNAL://0.0.0.0:9092,DOCKER://0.0.0.0:29092,CONTROLLER://0.0.0.0:9099",
                ),
                (
                    AdvertisedListeners,
                    "INTERNAL://kafka1:19092,EXTERNAL://${DOCKER_HOST_IP:-127.0.0.1}:9092,DOCKER://host.docker.internal:29092",
                ),
                (
                    ProtocolMap,
                    "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,DOCKER:PLAINTEXT,CONTROLLER:PLAINTEXT",
                ),
                (InterBrokerName, "INTERNAL"),
                (ControllerNames, "CONTROLLER"),
            ],
            internal: &["kafka1"],
            host_facing: &["EXTERNAL", "DOCKER"],
            prune_only: &["EXTERNAL"],
            edits: &[
                (0, "INTERNAL://0.0.0.0:19092,DOCKER://0.0.0.0:29092,CONTROLLER://0.0.0.0:9099"),
                (1, "INTERNAL://kafka1:19092,DOCKER://host.docker.internal:29092"),
                (2, "INTERNAL:PLAINTEXT,DOCKER:PLAINTEXT,CONTROLLER:PLAINTEXT"),
            ],
            pruned: &[("EXTERNAL", Some("9092"), Some("9092"))],
            protected: &[],
            plaintext_after: &["DOCKER"],
        },
        Case {
            title: "cp-all-in-one security: SSL inter-broker, PLAINTEXT_HOST pruned",
            vars: &[
                (
                    Listeners,
                    "SSL://kafka:29092,CONTROLLER://kafka:29093,PLAINTEXT_HOST://0.0.0.0:9092",
                ),
                (AdvertisedListeners, "SSL://kafka:29092,PLAINTEXT_HOST://localhost:9092"),
                (
                    ProtocolMap,
                    "CONTROLLER:PLAINTEXT,SSL:SSL,PLAINTEXT_HOST:PLAINTEXT",
                ),
                (InterBrokerName, "SSL"),
                (ControllerNames, "CONTROLLER"),
            ],
            internal: &["kafka"],
            host_facing: &["PLAINTEXT_HOST"],
            prune_only: &[],
            edits: &[
                (0, "SSL://kafka:29092,CONTROLLER://kafka:29093"),
                (1, "SSL://kafka:29092"),
                (2, "CONTROLLER:PLAINTEXT,SSL:SSL"),
            ],
            pruned: &[("PLAINTEXT_HOST", Some("9092"), Some("9092"))],
            protected: &[],
            plaintext_after: &[],
        },
        Case {
            title: "single host-facing listener is inter-broker: protected, no edit",
            vars: &[
                (AdvertisedListeners, "PLAINTEXT://localhost:9092"),
                (Listeners, "PLAINTEXT://0.0.0.0:9092"),
            ],
            internal: &["kafka"],
            host_facing: &["PLAINTEXT"],
            prune_only: &[],
            edits: &[],
            pruned: &[],
            protected: &["PLAINTEXT"],
            plaintext_after: &["PLAINTEXT"],
        },
        Case {
            title: "spaces after commas are kept",
            vars: &[
                (AdvertisedListeners, "PLAINTEXT://kafka:29092, PLAINTEXT_HOST://localhost:9092"),
                (ProtocolMap, "PLAINTEXT:PLAINTEXT, PLAINTEXT_HOST:PLAINTEXT"),
            ],
            internal: &["kafka"],
            host_facing: &["plaintext_host"],
            prune_only: &[],
            edits: &[(0, "PLAINTEXT://kafka:29092"), (1, "PLAINTEXT:PLAINTEXT")],
            pruned: &[("PLAINTEXT_HOST", Some("9092"), Some("9092"))],
            protected: &[],
            plaintext_after: &[],
        },
        Case {
            title: "bitnami kraft cluster: nothing host-facing",
            vars: &[
                (Listeners, "PLAINTEXT://:9092,CONTROLLER://:9093"),
                (AdvertisedListeners, "PLAINTEXT://:9092"),
                (ProtocolMap, "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"),
                (InterBrokerName, "PLAINTEXT"),
                (ControllerNames, "CONTROLLER"),
            ],
            internal: &["kafka-0"],
            host_facing: &[],
            prune_only: &[],
            edits: &[],
            pruned: &[],
            protected: &[],
            plaintext_after: &[],
        },
    ];

    #[test]
    fn plan_table() {
        for c in CASES {
            let f = internal(c.internal);
            let hf: Vec<String> = host_facing_listeners(c.vars, &f)
                .unwrap_or_else(|e| panic!("{}: {e}", c.title))
                .into_iter()
                .map(|l| l.name)
                .collect();
            let want_hf: Vec<String> = c
                .host_facing
                .iter()
                .map(|s| s.to_ascii_uppercase())
                .collect();
            let hf_upper: Vec<String> = hf.iter().map(|s| s.to_ascii_uppercase()).collect();
            assert_eq!(hf_upper, want_hf, "{}: host-facing", c.title);

            let chosen = if c.prune_only.is_empty() {
                c.host_facing
            } else {
                c.prune_only
            };
            let names: Vec<String> = chosen.iter().map(|s| s.to_string()).collect();
            let plan = plan_prune(c.vars, &names).unwrap_or_else(|e| panic!("{}: {e}", c.title));
            let edits: Vec<(usize, &str)> = plan
                .edits
                .iter()
                .map(|e| (e.index, e.new.as_str()))
                .collect();
            assert_eq!(edits, c.edits, "{}: edits", c.title);
            for e in &plan.edits {
                assert_eq!(e.var, c.vars[e.index].0, "{}: var kind", c.title);
                assert_eq!(e.old, c.vars[e.index].1, "{}: old", c.title);
            }
            let pruned: Vec<(&str, Option<&str>, Option<&str>)> = plan
                .pruned
                .iter()
                .map(|p| {
                    (
                        p.name.as_str(),
                        p.advertised_port.as_deref(),
                        p.listener_port.as_deref(),
                    )
                })
                .collect();
            assert_eq!(pruned, c.pruned, "{}: pruned", c.title);
            assert_eq!(plan.protected, c.protected, "{}: protected", c.title);
            assert_eq!(plan.is_empty(), c.edits.is_empty());

            // Apply and look at what stays host-facing in plaintext.
            let mut after: Vec<(ListenerVar, String)> =
                c.vars.iter().map(|(v, s)| (*v, s.to_string())).collect();
            for e in &plan.edits {
                after[e.index].1 = e.new.clone();
            }
            let after_ref: Vec<(ListenerVar, &str)> =
                after.iter().map(|(v, s)| (*v, s.as_str())).collect();
            let pt: Vec<String> = plaintext_host_facing(&after_ref, &f)
                .unwrap_or_else(|e| panic!("{}: {e}", c.title))
                .into_iter()
                .map(|(l, _)| l.name)
                .collect();
            assert_eq!(pt, c.plaintext_after, "{}: plaintext after", c.title);
            // Idempotent: re-planning finds nothing more to prune.
            let again =
                plan_prune(&after_ref, &names).unwrap_or_else(|e| panic!("{}: {e}", c.title));
            assert!(again.edits.is_empty(), "{}: idempotent", c.title);
        }
    }

    #[test]
    fn plaintext_before_prune() {
        let vars = [
            (
                AdvertisedListeners,
                "PLAINTEXT://obmp-kafka:29092,PLAINTEXT_HOST://${HOST_IP}:9092",
            ),
            (ProtocolMap, "PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT"),
        ];
        let f = internal(&["obmp-kafka"]);
        let pt = plaintext_host_facing(&vars, &f).expect("ok");
        assert_eq!(pt.len(), 1);
        assert_eq!(
            (pt[0].0.name.as_str(), pt[0].1.as_str()),
            ("PLAINTEXT_HOST", "PLAINTEXT")
        );
        // The secure variant from the OpenBMP checklist is host-facing but not plaintext.
        let vars = [
            (
                AdvertisedListeners,
                "PLAINTEXT://obmp-kafka:29092,SASL_SSL://${HOST_IP}:9092",
            ),
            (ProtocolMap, "PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL"),
        ];
        assert!(plaintext_host_facing(&vars, &f).expect("ok").is_empty());
    }

    #[test]
    fn refusals() {
        // Pruning the only advertised listener leaves nothing.
        let vars = [
            (AdvertisedListeners, "EXTERNAL://localhost:9092"),
            (InterBrokerName, "INTERNAL"),
            (ProtocolMap, "EXTERNAL:PLAINTEXT"),
        ];
        let err = plan_prune(&vars, &["EXTERNAL".to_string()]).expect_err("refuse");
        assert!(
            err.0.contains("ADVERTISED_LISTENERS would be empty"),
            "{err}"
        );

        // Controller listener requested: protected, not removed.
        let vars = [
            (Listeners, "PLAINTEXT://:9092,CONTROLLER://localhost:9093"),
            (ControllerNames, "CONTROLLER"),
            (InterBrokerName, "PLAINTEXT"),
        ];
        let plan = plan_prune(&vars, &["controller".to_string()]).expect("ok");
        assert!(plan.is_empty());
        assert_eq!(plan.protected, vec!["controller".to_string()]);

        // Unparseable value: refused.
        let vars = [(AdvertisedListeners, "PLAINTEXT://kafka:9092,${EXTRA}")];
        assert!(plan_prune(&vars, &["X".to_string()]).is_err());

        // Pre-existing problems are not blamed on the edit.
        let vars = [
            (
                AdvertisedListeners,
                "A://kafka:1,B://localhost:2,C://kafka:3",
            ),
            (ProtocolMap, "A:PLAINTEXT,B:PLAINTEXT"),
            (InterBrokerName, "A"),
        ];
        let plan = plan_prune(&vars, &["B".to_string()]).expect("ok");
        assert_eq!(plan.edits.len(), 2);
    }

    #[test]
    fn matches_port() {
        let vars = [
            (Listeners, "PLAINTEXT://:29092,EXTERNAL://0.0.0.0:9094"),
            (
                AdvertisedListeners,
                "PLAINTEXT://kafka:29092,EXTERNAL://localhost:19094",
            ),
            (ProtocolMap, "PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT"),
            (InterBrokerName, "PLAINTEXT"),
        ];
        let plan = plan_prune(&vars, &["EXTERNAL".to_string()]).expect("ok");
        assert!(plan.matches_port(Some("19094"), "9094"));
        assert!(plan.matches_port(None, "9094"));
        assert!(!plan.matches_port(Some("29092"), "29092"));
        assert!(!plan.matches_port(Some("19094"), "29092"));
    }
}
