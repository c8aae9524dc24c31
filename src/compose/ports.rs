//! Short-syntax `ports:` parsing and loopback rewriting.
//!
//! This module is pure string logic: it never sees YAML. The caller hands it
//! the *scalar value* of one `ports:` item (an integer item such as `80` is
//! passed as its text, `"80"`) and gets back a [`PortSpec`] carrying the byte
//! ranges of every field, so an edit can be spliced into the original text.
//!
//! The grammar mirrors `docker/go-connections` `nat.ParsePortSpec` as used by
//! compose-go's `ParsePortConfig`:
//!
//! ```text
//! [[host_ip:][published]:]target[/protocol]
//! ```
//!
//! * The protocol is split off at the last `/`.
//! * The rest is split on `:`; the last field is the container port, the one
//!   before it the published (host) port, and *everything* before that is the
//!   host IP. So an unbracketed IPv6 address works (`::1:8080:80` has host IP
//!   `::1`), and so does a bracketed one (`[::1]:8080:80`).
//! * Unlike Docker, which sees the text after interpolation, this parser sees
//!   the raw file, so `${...}` spans are opaque: a `:`, `/` or `,` inside
//!   `${VAR:-a:b}` never splits a field. A field containing `$` is not
//!   validated as a number or IP; it is reported as interpolated.

use std::net::IpAddr;
use std::ops::Range;

/// Why a short-syntax port string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid port mapping {input:?}: {reason}")]
pub struct PortError {
    /// The text that was being parsed.
    pub input: String,
    /// Human-readable reason, e.g. `published port 70000 is out of range 0-65535`.
    pub reason: String,
}

/// The host-IP field of a port mapping, classified.
///
/// Every variant keeps the original text of the field exactly as written,
/// including brackets (`[::]`), so reports can quote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostIp {
    /// A wildcard address: `0.0.0.0`, `::`, `[::]` (and other spellings of
    /// the unspecified address). Published on every interface.
    Any(String),
    /// A loopback address: `127.x.x.x`, `::1`, `[::1]`, `::ffff:127.0.0.1`.
    Loopback(String),
    /// Any other literal IP address (a LAN or public interface).
    Specific(String),
    /// The field contains `$` interpolation (`${HOST_IP}`, `${BIND:-}`); its
    /// runtime value is unknown.
    Interpolated(String),
}

impl HostIp {
    /// The original text of the host-IP field (brackets included).
    pub fn text(&self) -> &str {
        match self {
            HostIp::Any(t)
            | HostIp::Loopback(t)
            | HostIp::Specific(t)
            | HostIp::Interpolated(t) => t,
        }
    }

    /// True when the field is an IPv6 literal (bracketed or not).
    pub fn is_ipv6(&self) -> bool {
        match self {
            HostIp::Interpolated(_) => false,
            other => other.text().contains(':'),
        }
    }

    /// Classifies a host-IP text. Brackets around IPv6 are accepted.
    ///
    /// Returns `None` for the empty string (no host IP: all interfaces) and
    /// `Err(reason)` for text that is neither interpolated nor an IP literal
    /// (Docker rejects host names such as `localhost` here).
    pub fn classify(text: &str) -> Result<Option<HostIp>, String> {
        if text.is_empty() {
            return Ok(None);
        }
        if text.contains('$') {
            return Ok(Some(HostIp::Interpolated(text.to_string())));
        }
        let bare = strip_brackets(text)?;
        let ip: IpAddr = bare
            .parse()
            .map_err(|_| format!("invalid IP address {text:?}"))?;
        let owned = text.to_string();
        Ok(Some(if is_unspecified(ip) {
            HostIp::Any(owned)
        } else if is_loopback(ip) {
            HostIp::Loopback(owned)
        } else {
            HostIp::Specific(owned)
        }))
    }
}

/// How widely a published port is reachable from the host's networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exposure {
    /// Published on every host interface: no host IP, a wildcard host IP,
    /// or a container-only spelling such as `"80"` (Compose publishes it on
    /// an ephemeral host port on all interfaces).
    AllInterfaces,
    /// Published on loopback only.
    Loopback,
    /// Published on one specific non-loopback address.
    SpecificIp,
    /// Cannot be decided statically: the host IP is interpolated, or the
    /// whole mapping is a single interpolated field (`${HTTP_PORT}`) that
    /// could expand to `ip:host:container`.
    Interpolated,
}

/// One parsed short-syntax port mapping.
///
/// The `*_range` fields are byte ranges into the string given to
/// [`parse_short`]. A range is `Some(empty range)` when the field is present
/// but empty (`:8080:80`, `127.0.0.1::80`) and `None` when the field is absent
/// (`8080:80` has no host-IP field, `80` has neither host IP nor published).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    /// The classified host IP; `None` when absent or empty.
    pub host_ip: Option<HostIp>,
    /// Byte range of the host-IP field (brackets included).
    pub host_ip_range: Option<Range<usize>>,
    /// Published host port or range (`"8080"`, `"9090-9091"`, or
    /// interpolation text); `None` when absent or empty (ephemeral port).
    pub published: Option<String>,
    /// Byte range of the published field.
    pub published_range: Option<Range<usize>>,
    /// Container port or range (`"80"`, `"8080-8081"`, or interpolation text).
    pub target: String,
    /// Byte range of the target field.
    pub target_range: Range<usize>,
    /// Protocol as written after `/` (`"udp"`); `None` when absent or empty
    /// (Docker defaults to tcp).
    pub protocol: Option<String>,
}

/// Parses one short-syntax port mapping (see the module docs for grammar).
///
/// ```
/// use compose_harden::compose::ports::{parse_short, Exposure};
/// let p = parse_short("127.0.0.1:8080:80/udp").unwrap();
/// assert_eq!(p.published.as_deref(), Some("8080"));
/// assert_eq!(p.exposure(), Exposure::Loopback);
/// ```
pub fn parse_short(s: &str) -> Result<PortSpec, PortError> {
    let err = |reason: String| PortError {
        input: s.to_string(),
        reason,
    };
    if s.is_empty() {
        return Err(err("empty port mapping".into()));
    }
    let mask = top_level_mask(s).map_err(err)?;

    // Protocol: split at '/' outside interpolation.
    let slashes = positions(s, &mask, b'/');
    let (addr_end, protocol) = match slashes.as_slice() {
        [] => (s.len(), None),
        [p] => {
            let proto = &s[p + 1..];
            if !proto.is_empty() && !proto.contains('$') {
                let lower = proto.to_ascii_lowercase();
                if !matches!(lower.as_str(), "tcp" | "udp" | "sctp") {
                    return Err(err(format!(
                        "unknown protocol {proto:?} (expected tcp, udp or sctp)"
                    )));
                }
            }
            (*p, (!proto.is_empty()).then(|| proto.to_string()))
        }
        _ => return Err(err("more than one '/'".into())),
    };

    // Fields: split on ':' outside interpolation, within [0, addr_end).
    let mut bounds = vec![0usize];
    for c in positions(&s[..addr_end], &mask[..addr_end], b':') {
        bounds.push(c + 1);
    }
    // fields[i] = bounds[i] .. (bounds[i+1]-1 or addr_end)
    let fields: Vec<Range<usize>> = (0..bounds.len())
        .map(|i| {
            let end = bounds.get(i + 1).map_or(addr_end, |b| b - 1);
            bounds[i]..end
        })
        .collect();
    let n = fields.len();
    let target_range = fields[n - 1].clone();
    let published_range = (n >= 2).then(|| fields[n - 2].clone());
    let host_ip_range = (n >= 3).then(|| fields[0].start..fields[n - 3].end);

    let target = &s[target_range.clone()];
    if target.is_empty() {
        return Err(err("missing container port".into()));
    }
    let target_span = check_port_field(target, "container port", 1).map_err(err)?;

    let published = match &published_range {
        Some(r) if !r.is_empty() => {
            let text = &s[r.clone()];
            let span = check_port_field(text, "published port", 0).map_err(err)?;
            if let (Some(t), Some(p)) = (target_span, span) {
                if t > 0 && t != p {
                    return Err(err(format!(
                        "container port range {target} and published range {text} differ in size"
                    )));
                }
            }
            Some(text.to_string())
        }
        _ => None,
    };

    let host_ip = match &host_ip_range {
        Some(r) => HostIp::classify(&s[r.clone()]).map_err(err)?,
        None => None,
    };

    Ok(PortSpec {
        host_ip,
        host_ip_range,
        published,
        published_range,
        target: target.to_string(),
        target_range,
        protocol,
    })
}

impl PortSpec {
    /// How widely this mapping is published (see [`Exposure`]).
    ///
    /// A mapping with no host IP, including the container-only `"80"`, is
    /// [`Exposure::AllInterfaces`]. A mapping with an interpolated published
    /// port but a literal container port (`${PORT}:5432`) is assumed to
    /// interpolate a port number and is also `AllInterfaces`; only a mapping
    /// that is a single interpolated field (`${HTTP_PORT}`) is `Interpolated`
    /// because it could expand to a full `ip:host:container` triple.
    pub fn exposure(&self) -> Exposure {
        match &self.host_ip {
            Some(HostIp::Any(_)) => Exposure::AllInterfaces,
            Some(HostIp::Loopback(_)) => Exposure::Loopback,
            Some(HostIp::Specific(_)) => Exposure::SpecificIp,
            Some(HostIp::Interpolated(_)) => Exposure::Interpolated,
            None => {
                if self.host_ip_range.is_none()
                    && self.published_range.is_none()
                    && self.target.contains('$')
                {
                    Exposure::Interpolated
                } else {
                    Exposure::AllInterfaces
                }
            }
        }
    }

    /// True when any field (host IP, published, target, protocol) uses `$`.
    pub fn has_interpolation(&self) -> bool {
        matches!(self.host_ip, Some(HostIp::Interpolated(_)))
            || self.published.as_deref().is_some_and(|p| p.contains('$'))
            || self.target.contains('$')
            || self.protocol.as_deref().is_some_and(|p| p.contains('$'))
    }

    /// Rewrites the mapping so it is published on loopback only.
    ///
    /// `original` must be the exact string passed to [`parse_short`]; the
    /// result is that string with only the host-IP part spliced, so ranges,
    /// protocol suffixes and interpolations of the other fields are kept
    /// verbatim. Examples: `5432:5432` → `127.0.0.1:5432:5432`, `80` →
    /// `127.0.0.1::80`, `0.0.0.0:x:y` → `127.0.0.1:x:y`, `[::]:x:y` and
    /// `:::x:y` → `[::1]:x:y`, `:8080:80` → `127.0.0.1:8080:80`.
    /// A specific (non-loopback) IP is replaced too (IPv6 → `[::1]`); callers
    /// wanting to leave deliberate LAN bindings alone should check
    /// [`PortSpec::exposure`] first.
    ///
    /// Returns `None` when the mapping is already loopback, when its exposure
    /// is [`Exposure::Interpolated`] (refused: report for review instead), or
    /// when `original` does not match the parsed ranges.
    ///
    /// The returned text is a bare scalar value: the caller re-quotes it for
    /// YAML (it always contains `:`; keep the original quote style or use
    /// double quotes).
    pub fn to_loopback(&self, original: &str) -> Option<String> {
        if original.len() < self.target_range.end
            || !original.is_char_boundary(self.target_range.end)
        {
            return None;
        }
        if self.exposure() == Exposure::Interpolated {
            return None;
        }
        let (range, replacement) = match (&self.host_ip, &self.host_ip_range) {
            (Some(HostIp::Loopback(_)) | Some(HostIp::Interpolated(_)), _) => return None,
            (Some(ip @ (HostIp::Any(_) | HostIp::Specific(_))), Some(r)) => {
                let rep = if ip.is_ipv6() { "[::1]" } else { "127.0.0.1" };
                (r.clone(), rep)
            }
            (Some(_), None) => return None,
            (None, Some(r)) => (r.clone(), "127.0.0.1"),
            (None, None) => match &self.published_range {
                Some(r) => (r.start..r.start, "127.0.0.1:"),
                None => (
                    self.target_range.start..self.target_range.start,
                    "127.0.0.1::",
                ),
            },
        };
        let head = original.get(..range.start)?;
        let tail = original.get(range.end..)?;
        Some(format!("{head}{replacement}{tail}"))
    }
}

/// A short mapping with interpolation, judged as Compose reads it (see [`judge_interpolated`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    /// The mapping after interpolation (the operator's `.env`, else the defaults).
    pub evaluated: String,
    /// Its exposure.
    pub exposure: Exposure,
    /// When public: the raw text rebound to loopback, keeping every `${…}` (a prefix for
    /// `${PORT:-8080}:80`, inside the default for `${SQL_PORT:-0.0.0.0:13306}:3306`).
    pub rebind: Option<String>,
    /// When public and no rebind is correct: why.
    pub reason: Option<String>,
}

/// Judge a short mapping `raw` that uses interpolation by what Compose would publish: evaluate
/// it with `env` (else its defaults). `None` when `raw` has no variable, or a variable has
/// neither a value nor a default (then only the raw text can be judged).
///
/// A variable whose value spans several fields (`"${SQL_PORT:-127.0.0.1:13306}:3306"`) is
/// judged by its value: already loopback means nothing to do; a public default is rebound
/// inside the default; a public value from `env` is reported (the edit belongs in `.env`).
pub fn judge_interpolated(raw: &str, env: &super::interp::Env) -> Option<Judged> {
    use super::interp::{self, Op, Piece};
    if !interp::has_variables(raw) {
        return None;
    }
    let evaluated = interp::evaluate(raw, env).ok()?.known()?.to_string();
    let espec = parse_short(&evaluated).ok()?;
    let exposure = espec.exposure();
    let mut judged = Judged {
        evaluated: evaluated.clone(),
        exposure,
        rebind: None,
        reason: None,
    };
    if exposure != Exposure::AllInterfaces {
        return Some(judged);
    }
    let rspec = parse_short(raw).ok();
    // Same shape and a literal (or absent) host IP: the plain prefix/replace is right.
    if let Some(r) = &rspec {
        let same_shape = r.host_ip_range.is_some() == espec.host_ip_range.is_some()
            && r.published_range.is_some() == espec.published_range.is_some();
        let host_literal = r
            .host_ip_range
            .as_ref()
            .is_none_or(|h| !raw[h.clone()].contains('$'));
        // The prefix is right only if the defaults read with the same shape too (a `.env`
        // value `13306` for `${SQL_PORT:-127.0.0.1:13306}` must not get a second host IP).
        let defaults_same = super::interp::evaluate(raw, &super::interp::Env::empty())
            .ok()
            .and_then(|e| e.known().map(str::to_string))
            .and_then(|d| parse_short(&d).ok())
            .is_none_or(|d| {
                d.host_ip_range.is_some() == espec.host_ip_range.is_some()
                    && d.published_range.is_some() == espec.published_range.is_some()
            });
        if same_shape && host_literal && defaults_same && r.exposure() != Exposure::Interpolated {
            judged.rebind = r.to_loopback(raw);
            return Some(judged);
        }
    }
    // A variable supplies the host IP: rebind inside the default it takes.
    let pieces = interp::parse(raw).ok()?;
    let mut set_var: Option<(String, String)> = None;
    for p in &pieces {
        let Piece::Var { name, op, arg, .. } = p else {
            continue;
        };
        let Op::Default { colon } = *op else {
            continue;
        };
        let value = env.get(name);
        let uses_default = value.is_none() || (colon && value.is_some_and(str::is_empty));
        if !uses_default {
            if set_var.is_none() {
                set_var = Some((name.clone(), value.unwrap_or_default().to_string()));
            }
            continue;
        }
        let default = &raw[arg.clone()];
        let Some(new_default) = rebind_host(default) else {
            continue;
        };
        let candidate = format!("{}{}{}", &raw[..arg.start], new_default, &raw[arg.end..]);
        let ok = interp::evaluate(&candidate, env)
            .ok()
            .and_then(|e| e.known().map(str::to_string))
            .and_then(|e| parse_short(&e).ok())
            .is_some_and(|c| {
                c.exposure() == Exposure::Loopback
                    && c.published == espec.published
                    && c.target == espec.target
                    && c.protocol == espec.protocol
            });
        if ok {
            judged.rebind = Some(candidate);
            return Some(judged);
        }
    }
    judged.reason = Some(match set_var {
        Some((name, v)) => format!(
            "`{name}` is set in .env to `{v}`, so it reads as `{evaluated}` (all interfaces); bind it to 127.0.0.1 in .env"
        ),
        None => format!(
            "it reads as `{evaluated}`; no single edit inside the interpolation binds it to loopback: write the host IP yourself"
        ),
    });
    Some(judged)
}

/// `ip:port` or a bare IP with its host part replaced by loopback (`[::1]` for IPv6);
/// `None` when `text` has no host part to replace.
fn rebind_host(text: &str) -> Option<String> {
    if text.contains('$') {
        return None;
    }
    if let Ok(ip) = strip_brackets(text).unwrap_or(text).parse::<IpAddr>() {
        return Some(if ip.is_ipv6() { "[::1]" } else { "127.0.0.1" }.to_string());
    }
    let (host, port) = text.rsplit_once(':')?;
    let rep = match HostIp::classify(host).ok()? {
        None => "127.0.0.1",
        Some(ip @ (HostIp::Any(_) | HostIp::Specific(_))) if ip.is_ipv6() => "[::1]",
        Some(HostIp::Any(_) | HostIp::Specific(_)) => "127.0.0.1",
        Some(_) => return None,
    };
    Some(format!("{rep}:{port}"))
}

/// Exposure of a long-syntax port (`ports: - target: 80 host_ip: ...`).
///
/// `None` or an empty string means all interfaces. Text containing `$` is
/// [`Exposure::Interpolated`]. Text that is not an IP literal is reported as
/// [`Exposure::SpecificIp`] (Docker would reject it at deploy time).
pub fn long_form_exposure(host_ip: Option<&str>) -> Exposure {
    match host_ip.map(HostIp::classify) {
        None | Some(Ok(None)) => Exposure::AllInterfaces,
        Some(Ok(Some(HostIp::Any(_)))) => Exposure::AllInterfaces,
        Some(Ok(Some(HostIp::Loopback(_)))) => Exposure::Loopback,
        Some(Ok(Some(HostIp::Specific(_)))) => Exposure::SpecificIp,
        Some(Ok(Some(HostIp::Interpolated(_)))) => Exposure::Interpolated,
        Some(Err(_)) => Exposure::SpecificIp,
    }
}

/// The loopback `host_ip` value to write into a long-syntax port.
///
/// Returns `"::1"` when the current value is an IPv6 literal (long syntax
/// takes the address unbracketed), `"127.0.0.1"` otherwise, and `None` when
/// no change should be made: already loopback, or interpolated.
pub fn loopback_for_host_ip(host_ip: Option<&str>) -> Option<&'static str> {
    match host_ip.map(HostIp::classify) {
        None | Some(Ok(None)) => Some("127.0.0.1"),
        Some(Ok(Some(HostIp::Loopback(_) | HostIp::Interpolated(_)))) => None,
        Some(Ok(Some(ip))) => Some(if ip.is_ipv6() { "::1" } else { "127.0.0.1" }),
        Some(Err(_)) => {
            if host_ip.is_some_and(|t| t.contains(':')) {
                Some("::1")
            } else {
                Some("127.0.0.1")
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Helpers shared with `kafka.rs`.
// ---------------------------------------------------------------------------

/// Marks, per byte of `s`, whether it lies outside every `${...}`
/// interpolation. The `$`, `{` and `}` delimiters of an interpolation are
/// marked `false`; `$$` (an escaped dollar) is literal text and stays `true`.
/// Nested `${A:-${B}}` is handled. An unterminated `${` is an error.
pub(crate) fn top_level_mask(s: &str) -> Result<Vec<bool>, String> {
    let b = s.as_bytes();
    let mut mask = vec![true; b.len()];
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' && b.get(i + 1) == Some(&b'$') {
            if depth > 0 {
                mask[i] = false;
                mask[i + 1] = false;
            }
            i += 2;
            continue;
        }
        if b[i] == b'$' && b.get(i + 1) == Some(&b'{') {
            depth += 1;
            mask[i] = false;
            mask[i + 1] = false;
            i += 2;
            continue;
        }
        if depth > 0 {
            mask[i] = false;
            if b[i] == b'}' {
                depth -= 1;
            }
        }
        i += 1;
    }
    if depth > 0 {
        return Err("unterminated ${ interpolation".into());
    }
    Ok(mask)
}

/// Byte positions of `byte` in `s` that lie outside interpolation.
pub(crate) fn positions(s: &str, mask: &[bool], byte: u8) -> Vec<usize> {
    s.bytes()
        .enumerate()
        .filter(|&(i, c)| c == byte && mask.get(i).copied().unwrap_or(false))
        .map(|(i, _)| i)
        .collect()
}

fn strip_brackets(text: &str) -> Result<&str, String> {
    match (text.strip_prefix('['), text.ends_with(']')) {
        (Some(rest), true) => Ok(&rest[..rest.len() - 1]),
        (None, false) => Ok(text),
        _ => Err(format!("unbalanced brackets in IP address {text:?}")),
    }
}

fn is_unspecified(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_unspecified(),
        IpAddr::V6(v6) => {
            v6.is_unspecified() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_unspecified())
        }
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Validates a port or `start-end` range. Interpolated text is accepted
/// unchecked. Returns the range span (`end - start`) for literal text, `None`
/// for interpolated text.
fn check_port_field(text: &str, what: &str, min: u32) -> Result<Option<u32>, String> {
    if text.contains('$') {
        return Ok(None);
    }
    let (a, b) = match text.split_once('-') {
        Some((a, b)) => (a, Some(b)),
        None => (text, None),
    };
    let parse = |t: &str| -> Result<u32, String> {
        if t.is_empty() || !t.bytes().all(|c| c.is_ascii_digit()) || t.len() > 6 {
            return Err(format!("{what} {text:?} is not a number or range"));
        }
        let v: u32 = t
            .parse()
            .map_err(|_| format!("{what} {text:?} is not a number or range"))?;
        if v < min || v > 65535 {
            return Err(format!("{what} {v} is out of range {min}-65535"));
        }
        Ok(v)
    };
    let start = parse(a)?;
    let end = match b {
        Some(b) => parse(b)?,
        None => start,
    };
    if end < start {
        return Err(format!("{what} range {text:?} ends before it starts"));
    }
    Ok(Some(end - start))
}

#[cfg(test)]
mod tests {
    use super::*;

    type Row = (
        &'static str,         // input
        Option<&'static str>, // host ip text
        Option<&'static str>, // published
        &'static str,         // target
        Option<&'static str>, // protocol
        Exposure,
        Option<&'static str>, // to_loopback
    );

    const AI: Exposure = Exposure::AllInterfaces;
    const LO: Exposure = Exposure::Loopback;
    const SP: Exposure = Exposure::SpecificIp;
    const IN: Exposure = Exposure::Interpolated;

    const ROWS: &[Row] = &[
        ("80", None, None, "80", None, AI, Some("127.0.0.1::80")),
        (
            "8080:80",
            None,
            Some("8080"),
            "80",
            None,
            AI,
            Some("127.0.0.1:8080:80"),
        ),
        (
            "5432:5432",
            None,
            Some("5432"),
            "5432",
            None,
            AI,
            Some("127.0.0.1:5432:5432"),
        ),
        (
            "8080:80/udp",
            None,
            Some("8080"),
            "80",
            Some("udp"),
            AI,
            Some("127.0.0.1:8080:80/udp"),
        ),
        (
            "50000:50000/tcp",
            None,
            Some("50000"),
            "50000",
            Some("tcp"),
            AI,
            Some("127.0.0.1:50000:50000/tcp"),
        ),
        (
            "80/sctp",
            None,
            None,
            "80",
            Some("sctp"),
            AI,
            Some("127.0.0.1::80/sctp"),
        ),
        ("80/", None, None, "80", None, AI, Some("127.0.0.1::80/")),
        (
            "127.0.0.1:8080:80",
            Some("127.0.0.1"),
            Some("8080"),
            "80",
            None,
            LO,
            None,
        ),
        (
            "127.1.2.3:8080:80",
            Some("127.1.2.3"),
            Some("8080"),
            "80",
            None,
            LO,
            None,
        ),
        (
            "0.0.0.0:8080:80",
            Some("0.0.0.0"),
            Some("8080"),
            "80",
            None,
            AI,
            Some("127.0.0.1:8080:80"),
        ),
        (
            "0.0.0.0:53:53/udp",
            Some("0.0.0.0"),
            Some("53"),
            "53",
            Some("udp"),
            AI,
            Some("127.0.0.1:53:53/udp"),
        ),
        (
            "[::1]:8080:80",
            Some("[::1]"),
            Some("8080"),
            "80",
            None,
            LO,
            None,
        ),
        (
            "::1:8080:80",
            Some("::1"),
            Some("8080"),
            "80",
            None,
            LO,
            None,
        ),
        (
            "[::]:80:80",
            Some("[::]"),
            Some("80"),
            "80",
            None,
            AI,
            Some("[::1]:80:80"),
        ),
        (
            ":::80:80",
            Some("::"),
            Some("80"),
            "80",
            None,
            AI,
            Some("[::1]:80:80"),
        ),
        (
            "::ffff:127.0.0.1:80:80",
            Some("::ffff:127.0.0.1"),
            Some("80"),
            "80",
            None,
            LO,
            None,
        ),
        (
            "[2001:db8::5]:443:443",
            Some("[2001:db8::5]"),
            Some("443"),
            "443",
            None,
            SP,
            Some("[::1]:443:443"),
        ),
        (
            "192.168.1.10:5432:5432",
            Some("192.168.1.10"),
            Some("5432"),
            "5432",
            None,
            SP,
            Some("127.0.0.1:5432:5432"),
        ),
        (
            "9090-9091:8080-8081",
            None,
            Some("9090-9091"),
            "8080-8081",
            None,
            AI,
            Some("127.0.0.1:9090-9091:8080-8081"),
        ),
        (
            "8000-8010:80",
            None,
            Some("8000-8010"),
            "80",
            None,
            AI,
            Some("127.0.0.1:8000-8010:80"),
        ),
        (
            "3000-3005",
            None,
            None,
            "3000-3005",
            None,
            AI,
            Some("127.0.0.1::3000-3005"),
        ),
        (
            "127.0.0.1::80",
            Some("127.0.0.1"),
            None,
            "80",
            None,
            LO,
            None,
        ),
        (
            "0.0.0.0::80",
            Some("0.0.0.0"),
            None,
            "80",
            None,
            AI,
            Some("127.0.0.1::80"),
        ),
        (
            ":8080:80",
            None,
            Some("8080"),
            "80",
            None,
            AI,
            Some("127.0.0.1:8080:80"),
        ),
        (":80", None, None, "80", None, AI, Some("127.0.0.1::80")),
        (
            "${BIND:-}:${PORT:-443}:443",
            Some("${BIND:-}"),
            Some("${PORT:-443}"),
            "443",
            None,
            IN,
            None,
        ),
        (
            "${HOST_IP}:9092:9092",
            Some("${HOST_IP}"),
            Some("9092"),
            "9092",
            None,
            IN,
            None,
        ),
        (
            "${BIND:-0.0.0.0}:80:80",
            Some("${BIND:-0.0.0.0}"),
            Some("80"),
            "80",
            None,
            IN,
            None,
        ),
        (
            "${BIND:-[::]}:80:80",
            Some("${BIND:-[::]}"),
            Some("80"),
            "80",
            None,
            IN,
            None,
        ),
        (
            "${POSTGRES_PORT}:5432",
            None,
            Some("${POSTGRES_PORT}"),
            "5432",
            None,
            AI,
            Some("127.0.0.1:${POSTGRES_PORT}:5432"),
        ),
        (
            "${KONG_HTTP_PORT}:8000/tcp",
            None,
            Some("${KONG_HTTP_PORT}"),
            "8000",
            Some("tcp"),
            AI,
            Some("127.0.0.1:${KONG_HTTP_PORT}:8000/tcp"),
        ),
        (
            "${_APP_HTTP_PORT:-80}:80",
            None,
            Some("${_APP_HTTP_PORT:-80}"),
            "80",
            None,
            AI,
            Some("127.0.0.1:${_APP_HTTP_PORT:-80}:80"),
        ),
        (
            "${JVB_PORT:-10000}:${JVB_PORT:-10000}/udp",
            None,
            Some("${JVB_PORT:-10000}"),
            "${JVB_PORT:-10000}",
            Some("udp"),
            AI,
            Some("127.0.0.1:${JVB_PORT:-10000}:${JVB_PORT:-10000}/udp"),
        ),
        (
            "127.0.0.1:${JICOFO_REST_PORT:-8888}:8888",
            Some("127.0.0.1"),
            Some("${JICOFO_REST_PORT:-8888}"),
            "8888",
            None,
            LO,
            None,
        ),
        ("${HTTPS_PORT}", None, None, "${HTTPS_PORT}", None, IN, None),
        (
            "${P:-a/b}:80",
            None,
            Some("${P:-a/b}"),
            "80",
            None,
            AI,
            Some("127.0.0.1:${P:-a/b}:80"),
        ),
        (
            "${A:-${B:-1:2}}:80",
            None,
            Some("${A:-${B:-1:2}}"),
            "80",
            None,
            AI,
            Some("127.0.0.1:${A:-${B:-1:2}}:80"),
        ),
        (
            "0:80",
            None,
            Some("0"),
            "80",
            None,
            AI,
            Some("127.0.0.1:0:80"),
        ),
        (
            "65535:65535",
            None,
            Some("65535"),
            "65535",
            None,
            AI,
            Some("127.0.0.1:65535:65535"),
        ),
        (
            "8080:80/UDP",
            None,
            Some("8080"),
            "80",
            Some("UDP"),
            AI,
            Some("127.0.0.1:8080:80/UDP"),
        ),
    ];

    #[test]
    fn table_valid() {
        for &(input, ip, published, target, protocol, exposure, loopback) in ROWS {
            let p = parse_short(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(p.host_ip.as_ref().map(HostIp::text), ip, "{input}: host ip");
            if let (Some(ip), Some(r)) = (ip, &p.host_ip_range) {
                assert_eq!(&input[r.clone()], ip, "{input}: host ip range");
            }
            assert_eq!(p.published.as_deref(), published, "{input}: published");
            if let (Some(pu), Some(r)) = (published, &p.published_range) {
                assert_eq!(&input[r.clone()], pu, "{input}: published range");
            }
            assert_eq!(p.target, target, "{input}: target");
            assert_eq!(
                &input[p.target_range.clone()],
                target,
                "{input}: target range"
            );
            assert_eq!(p.protocol.as_deref(), protocol, "{input}: protocol");
            assert_eq!(p.exposure(), exposure, "{input}: exposure");
            let rewritten = p.to_loopback(input);
            assert_eq!(rewritten.as_deref(), loopback, "{input}: to_loopback");
            if let Some(r) = rewritten {
                let q = parse_short(&r).unwrap_or_else(|e| panic!("{r}: {e}"));
                assert_eq!(q.exposure(), Exposure::Loopback, "{r}: rewritten exposure");
                assert_eq!(q.published, p.published, "{r}: published kept");
                assert_eq!(q.target, p.target, "{r}: target kept");
                assert_eq!(q.protocol, p.protocol, "{r}: protocol kept");
                assert_eq!(q.to_loopback(&r), None, "{r}: idempotent");
            }
        }
    }

    #[test]
    fn table_invalid() {
        let rows: &[(&str, &str)] = &[
            ("", "empty"),
            ("abc", "not a number"),
            ("1:2:3:4:5x", "not a number"),
            ("1:2:3:4:5", "invalid IP"),
            ("70000:80", "out of range"),
            ("80:70000", "out of range"),
            ("8080:0", "out of range"),
            ("8080:", "missing container port"),
            (":", "missing container port"),
            ("localhost:8080:80", "invalid IP"),
            ("999.0.0.1:80:80", "invalid IP"),
            ("[::1:8080:80", "brackets"),
            ("8080:80/http", "unknown protocol"),
            ("8080:80/tcp/udp", "more than one"),
            ("80-79:80-79", "ends before"),
            ("9090-9092:8080-8081", "differ in size"),
            ("8080:8080-8081", "differ in size"),
            ("${UNTERMINATED:80", "unterminated"),
            (" 80", "not a number"),
            ("80 ", "not a number"),
            ("-80", "not a number"),
            ("+80", "not a number"),
            ("1234567:80", "not a number"),
        ];
        for &(input, needle) in rows {
            match parse_short(input) {
                Ok(p) => panic!("{input:?} parsed as {p:?}"),
                Err(e) => {
                    let msg = e.to_string();
                    assert!(msg.contains(needle), "{input:?}: {msg:?} lacks {needle:?}");
                }
            }
        }
    }

    #[test]
    fn integer_text_is_a_port() {
        let p = parse_short(&80.to_string()).expect("80");
        assert_eq!(p.target, "80");
        assert_eq!(p.exposure(), Exposure::AllInterfaces);
    }

    #[test]
    fn to_loopback_rejects_mismatched_original() {
        let p = parse_short("8080:80").expect("parse");
        assert_eq!(p.to_loopback("80"), None);
    }

    #[test]
    fn long_form() {
        let rows: &[(Option<&str>, Exposure, Option<&str>)] = &[
            (None, AI, Some("127.0.0.1")),
            (Some(""), AI, Some("127.0.0.1")),
            (Some("0.0.0.0"), AI, Some("127.0.0.1")),
            (Some("::"), AI, Some("::1")),
            (Some("[::]"), AI, Some("::1")),
            (Some("127.0.0.1"), LO, None),
            (Some("::1"), LO, None),
            (Some("10.0.0.5"), SP, Some("127.0.0.1")),
            (Some("fe80::1"), SP, Some("::1")),
            (Some("${HOST_IP}"), IN, None),
            (Some("${HOST_IP:-0.0.0.0}"), IN, None),
            (Some("localhost"), SP, Some("127.0.0.1")),
        ];
        for &(ip, exposure, lo) in rows {
            assert_eq!(long_form_exposure(ip), exposure, "{ip:?}");
            assert_eq!(loopback_for_host_ip(ip), lo, "{ip:?}");
        }
    }

    #[test]
    fn mask_handles_escapes_and_nesting() {
        let s = "$${A:-${B}}:x";
        let m = top_level_mask(s).expect("mask");
        // "$$" literal, then "{A:-" is literal text too (the $ was escaped).
        assert!(m[0] && m[1] && m[2]);
        let s = "${A:-${B}}:x";
        let m = top_level_mask(s).expect("mask");
        assert_eq!(positions(s, &m, b':'), vec![10]);
    }

    #[test]
    fn interpolated_defaults_are_judged() {
        use crate::compose::interp::Env;
        let none = Env::empty();
        // mailcow: the default is already loopback.
        let j = judge_interpolated("${SQL_PORT:-127.0.0.1:13306}:3306", &none).expect("judged");
        assert_eq!(j.exposure, Exposure::Loopback);
        assert_eq!(j.rebind, None);
        // A public default is rebound inside the default.
        let j = judge_interpolated("${SQL_PORT:-0.0.0.0:13306}:3306", &none).expect("judged");
        assert_eq!(j.exposure, Exposure::AllInterfaces);
        assert_eq!(
            j.rebind.as_deref(),
            Some("${SQL_PORT:-127.0.0.1:13306}:3306")
        );
        let j = judge_interpolated("${BIND:-0.0.0.0}:80:80", &none).expect("judged");
        assert_eq!(j.rebind.as_deref(), Some("${BIND:-127.0.0.1}:80:80"));
        // The variable holds only the published port: prefix the host IP.
        let j = judge_interpolated("${PORT:-8080}:80", &none).expect("judged");
        assert_eq!(j.rebind.as_deref(), Some("127.0.0.1:${PORT:-8080}:80"));
        // `.env` decides when it sets the variable.
        let env = Env::from_pairs([("SQL_PORT", "13306")]);
        let j = judge_interpolated("${SQL_PORT:-127.0.0.1:13306}:3306", &env).expect("judged");
        assert_eq!(j.exposure, Exposure::AllInterfaces);
        assert_eq!(j.rebind, None);
        assert!(j.reason.is_some());
        let env = Env::from_pairs([("SQL_PORT", "127.0.0.1:13306")]);
        let j = judge_interpolated("${SQL_PORT:-13306}:3306", &env).expect("judged");
        assert_eq!(j.exposure, Exposure::Loopback);
        // No default, no value: not judged here.
        assert_eq!(judge_interpolated("${HTTP_PORT}", &none), None);
        assert_eq!(judge_interpolated("8080:80", &none), None);
    }
}
