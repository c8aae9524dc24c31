//! Rendering scalars: plain when that keeps the value a string, quoted otherwise.

use super::value::{resolve_plain, ScalarKind};

/// Whether `s` can be written as a plain scalar that reads back as the same string, in block
/// (`in_flow == false`) or flow context. Also refuses YAML 1.1 booleans (`yes`, `on`, …) and
/// base-60 lookalikes (`80:80`), which older parsers resolve to other types.
pub fn plain_ok(s: &str, in_flow: bool) -> bool {
    if s.is_empty() || s.trim() != s {
        return false;
    }
    if resolve_plain(s) != ScalarKind::Str || yaml11_special(s) {
        return false;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "#&*!|>'\"%@`,[]{}".contains(first) {
        return false;
    }
    if matches!(first, '-' | '?' | ':') {
        let second = s[1..].chars().next();
        if second.is_none_or(|c| c == ' ' || (in_flow && ",[]{}".contains(c))) {
            return false;
        }
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    if s.chars().any(|c| c.is_control() || c == '\u{feff}') {
        return false;
    }
    if in_flow && s.chars().any(|c| ",[]{}".contains(c)) {
        return false;
    }
    if s == "---" || s == "..." || s.starts_with("--- ") || s.starts_with("... ") {
        return false;
    }
    true
}

fn yaml11_special(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off"
    ) || base60(s)
}

fn base60(s: &str) -> bool {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    let mut parts = t.split(':');
    let Some(first) = parts.next() else {
        return false;
    };
    if !t.contains(':') || first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    parts.all(|p| {
        let p = p.split('.').next().unwrap_or("");
        !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit())
    })
}

/// `'…'` with inner quotes doubled. `None` when the value holds a line break or control
/// character (single quotes cannot escape them).
pub fn single_quoted(s: &str) -> Option<String> {
    if s.chars().any(|c| c.is_control()) {
        return None;
    }
    Some(format!("'{}'", s.replace('\'', "''")))
}

/// `"…"` with YAML escapes.
pub fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || c == '\u{feff}' => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Plain when safe, else double-quoted.
pub fn auto(s: &str, in_flow: bool) -> String {
    if plain_ok(s, in_flow) {
        s.to_string()
    } else {
        double_quoted(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_safety() {
        assert!(plain_ok("no-new-privileges:true", false));
        assert!(plain_ok("127.0.0.1:5432:5432", false));
        assert!(plain_ok("${X:?set in .env}", false));
        assert!(plain_ok(
            "POSTGRES_PASSWORD=${POSTGRES_PASSWORD:?set in .env}",
            false
        ));
        assert!(!plain_ok("8080:80", false));
        assert!(!plain_ok("80", false));
        assert!(!plain_ok("yes", false));
        assert!(!plain_ok("a: b", false));
        assert!(!plain_ok("a #b", false));
        assert!(!plain_ok("*x", false));
        assert!(!plain_ok("- x", false));
        assert!(!plain_ok("a,b", true));
        assert!(plain_ok("a,b", false));
        assert!(!plain_ok("", false));
        assert!(!plain_ok("true", false));
    }

    #[test]
    fn quoting() {
        assert_eq!(single_quoted("it's").as_deref(), Some("'it''s'"));
        assert_eq!(single_quoted("a\nb"), None);
        assert_eq!(double_quoted("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    }
}
