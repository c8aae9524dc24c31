//! Scalar values read the way compose-go reads them, for rules' decisions.
//!
//! - Booleans: compose-go casts a string in a boolean field (`privileged`, `read_only`, `init`,
//!   `tty`, `stdin_open`, `oom_kill_disable`, `healthcheck.disable`, `external`, …) with
//!   `toBoolean`, case-insensitively: `true`/`y`/`yes`/`on` and `false`/`n`/`no`/`off`
//!   (YAML 1.1 spellings), quoted or not, after interpolation. So `privileged: yes`,
//!   `privileged: "ON"` and `privileged: ${P:-yes}` all run privileged.
//! - Tags: `!reset` makes a value absent (compose-go drops the key, even one a `<<` merge would
//!   bring in); `!override` makes it replace what it would otherwise be merged with (another
//!   file, an `extends:` base). These helpers only read the tag; merging is the caller's.
//!
//! Nothing here loads files: the caller passes the [`Env`] (the operator's `.env`, or none).

use super::interp::{self, Env};
use crate::yaml::{NodeId, Yaml};

/// compose-go's `toBoolean`: the boolean a string in a boolean field reads as, or `None` when
/// Compose would refuse it ("invalid boolean").
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "y" | "yes" | "on" => Some(true),
        "false" | "n" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Whether node `id` carries the `!reset` tag (aliases followed): the value counts as absent.
pub fn is_reset(y: &Yaml, id: NodeId) -> bool {
    tag_is(y, id, "!reset")
}

/// Whether node `id` carries the `!override` tag (aliases followed): the value replaces,
/// rather than merges with, the value it overrides.
pub fn is_override(y: &Yaml, id: NodeId) -> bool {
    tag_is(y, id, "!override")
}

fn tag_is(y: &Yaml, id: NodeId, tag: &str) -> bool {
    y.node(id).tag.as_deref() == Some(tag) || y.node(y.resolve(id)).tag.as_deref() == Some(tag)
}

/// The string Compose reads from scalar `id` after interpolation with `env` (else the file's
/// defaults). `None` when the node is not a scalar, is `!reset`, is malformed, or uses a
/// variable with neither a value nor a default.
pub fn string(y: &Yaml, id: NodeId, env: &Env) -> Option<String> {
    if is_reset(y, id) {
        return None;
    }
    let raw = y.scalar(id)?;
    let e = interp::evaluate(raw, env).ok()?;
    e.known().map(str::to_string)
}

/// The boolean Compose reads from a boolean field's node `id`: `Some(true)` for `true`, `yes`,
/// `on`, `y` (any case, quoted or not, interpolated or not), `Some(false)` for their opposites,
/// `None` when absent (`!reset`), unknown (an unset variable) or not a boolean.
pub fn boolean(y: &Yaml, id: NodeId, env: &Env) -> Option<bool> {
    parse_bool(string(y, id, env)?.trim())
}

/// Whether a boolean field's node `id` reads as true.
pub fn is_true(y: &Yaml, id: NodeId, env: &Env) -> bool {
    boolean(y, id, env) == Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn val(src: &str, env: &Env) -> Option<bool> {
        let y = Yaml::parse(src.to_string()).expect("parses");
        let id = y.lookup("a").expect("a");
        boolean(&y, id, env)
    }

    #[test]
    fn yaml_11_booleans_as_compose_go_reads_them() {
        let e = Env::empty();
        for t in [
            "true", "yes", "Yes", "YES", "on", "ON", "y", "Y", "\"yes\"", "'on'", "tRuE",
        ] {
            assert_eq!(val(&format!("a: {t}\n"), &e), Some(true), "{t}");
        }
        for f in ["false", "no", "off", "n", "N", "\"off\""] {
            assert_eq!(val(&format!("a: {f}\n"), &e), Some(false), "{f}");
        }
        assert_eq!(val("a: 1\n", &e), None);
        assert_eq!(val("a: enabled\n", &e), None);
    }

    #[test]
    fn interpolated_and_reset() {
        let e = Env::empty();
        assert_eq!(val("a: ${P:-yes}\n", &e), Some(true));
        assert_eq!(val("a: ${P}\n", &e), None);
        let set = Env::from_pairs([("P", "off")]);
        assert_eq!(val("a: ${P:-yes}\n", &set), Some(false));
        assert_eq!(val("a: !reset true\n", &e), None);
        let y = Yaml::parse("a: !override [x]\nb: !reset []\n".into()).expect("parses");
        assert!(is_override(&y, y.lookup("a").expect("a")));
        assert!(is_reset(&y, y.lookup("b").expect("b")));
        assert!(!is_reset(&y, y.lookup("a").expect("a")));
    }
}
