//! Credential classification: key names, values, and rotation hints.
//!
//! Everything here works on plain `&str` keys and values (already decoded
//! from YAML by the caller). Three questions are answered:
//!
//! 1. [`is_secret_key`]: does an environment variable *name* denote a
//!    credential (`POSTGRES_PASSWORD`, `JWT_SECRET`) as opposed to a setting
//!    about one (`POSTGRES_PASSWORD_FILE`, `GF_AUTH_PROXY_ENABLED`)?
//! 2. [`analyze_value`]: is the *value* a hard-coded literal, a Compose
//!    `${VAR}` reference, a placeholder meaning "none", a boolean/number
//!    setting, or a URL / connection string carrying a password
//!    ([`find_url_password`], [`find_connstring_password`] also work on their
//!    own for any variable, e.g. `DATABASE_URL`).
//! 3. [`is_init_only`]: is the variable only read when a database volume is
//!    first initialised, so that changing it needs a manual step
//!    ([`RotationHint`])?

use std::ops::Range;

// ---------------------------------------------------------------------------
// Key names
// ---------------------------------------------------------------------------

/// Single words that name a credential wherever they appear in a key.
const SECRET_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWORDS",
    "PASSWD",
    "PASS",
    "PWD",
    "PASSPHRASE",
    "SECRET",
    "SECRETS",
    "TOKEN",
    "TOKENS",
    "APIKEY",
    "CREDENTIAL",
    "CREDENTIALS",
    "CREDS",
    "PRIVATEKEY",
    "ACCESSKEY",
    "SECRETKEY",
];

/// Multi-word phrases (already split into words) that name a credential.
/// Phrases that contain a [`SECRET_WORDS`] entry (`SECRET_KEY_BASE`,
/// `CLIENT_SECRET`) need no entry here; they are listed only when a phrase
/// ends in a word that would otherwise look like a setting (`SECRET_ID`).
const SECRET_PHRASES: &[&[&str]] = &[
    &["API", "KEY"],
    &["PRIVATE", "KEY"],
    &["ACCESS", "KEY"],
    &["SECRET", "KEY"],
    &["SECRET", "KEY", "BASE"],
    &["CLIENT", "SECRET"],
    &["SECRET", "ID"],
    &["ENCRYPTION", "KEY"],
    &["SIGNING", "KEY"],
    &["MASTER", "KEY"],
    &["LICENSE", "KEY"],
    &["APP", "KEY"],
    &["AUTH", "KEY"],
    &["SESSION", "KEY"],
    &["HMAC", "KEY"],
    &["SHARED", "KEY"],
    &["ERLANG", "COOKIE"],
];

/// Words that are credentials only as the *last* word of a key: `REDIS_AUTH`
/// is a password, `GF_AUTH_PROXY_ENABLED` / `AUTH_TYPE` are settings.
/// (`AUTH_TOKEN`, `AUTH_KEY`, `AUTH_PASSWORD` match through their other word.)
const LAST_ONLY_WORDS: &[&str] = &["AUTH"];

/// Phrases in which a secret word does not mean a credential
/// (nginx-style `PROXY_PASS` is an upstream URL).
const FALSE_FRIENDS: &[&[&str]] = &[&["PROXY", "PASS"], &["PASS", "THROUGH"]];

/// When a key's last word is one of these, the key configures a credential
/// rather than holding one: `POSTGRES_PASSWORD_FILE`, `REDIS_PASSWORD_LENGTH`,
/// `TOKEN_TTL`, `KAFKA_SSL_KEYSTORE_TYPE`. A secret phrase that itself ends
/// the key wins over this list (`VAULT_SECRET_ID`).
const SETTING_SUFFIXES: &[&str] = &[
    "FILE",
    "FILES",
    "FILENAME",
    "PATH",
    "DIR",
    "DIRECTORY",
    "LOCATION",
    "LENGTH",
    "LEN",
    "SIZE",
    "MIN",
    "MAX",
    "COUNT",
    "EXPIRY",
    "EXPIRE",
    "EXPIRES",
    "EXPIRATION",
    "TTL",
    "TIMEOUT",
    "LIFETIME",
    "INTERVAL",
    "ENABLED",
    "ENABLE",
    "DISABLED",
    "DISABLE",
    "REQUIRED",
    "USER",
    "USERNAME",
    "HOST",
    "HOSTNAME",
    "PORT",
    "URL",
    "URI",
    "ENDPOINT",
    "ADDR",
    "ADDRESS",
    "DOMAIN",
    "TYPE",
    "KIND",
    "METHOD",
    "MODE",
    "PROVIDER",
    "ALGORITHM",
    "ALG",
    "NAME",
    "ID",
    "HEADER",
    "POLICY",
    "COMPLEXITY",
    "STRENGTH",
    "ENCRYPTION",
    "HASHING",
    "HASHER",
    "FORMAT",
    "VERSION",
    "LEVEL",
    "STRATEGY",
    "BACKEND",
    "AUDIENCE",
    "ISSUER",
    "SCOPE",
    "SCOPES",
    "PREFIX",
    "REGEX",
    "PATTERN",
    "ENV",
    "VAR",
    "FIELD",
    "PARAM",
    "FLAG",
];

/// Splits an environment key into upper-cased words.
///
/// Separators are `_`, `-`, `.` (and any other non-alphanumeric character);
/// camelCase boundaries split too (`apiKey` → `API`, `KEY`; `APIKey` → `API`,
/// `KEY`). Digits stay attached to the preceding word (`S3`, `OAUTH2`).
pub fn split_words(key: &str) -> Vec<String> {
    let chars: Vec<char> = key.chars().collect();
    let mut words = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            // fooBar | FOOBar (acronym followed by a capitalised word)
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                words.push(std::mem::take(&mut cur));
            }
        }
        cur.extend(c.to_uppercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

fn phrase_at(words: &[String], at: usize, phrase: &[&str]) -> bool {
    at + phrase.len() <= words.len()
        && phrase
            .iter()
            .zip(&words[at..])
            .all(|(p, w)| w.as_str() == *p)
}

fn inside_false_friend(words: &[String], range: Range<usize>) -> bool {
    FALSE_FRIENDS.iter().any(|ff| {
        (0..words.len())
            .any(|s| phrase_at(words, s, ff) && s <= range.start && range.end <= s + ff.len())
    })
}

/// Case-insensitive glob with `*` (any run of characters) and `?` (one).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().flat_map(char::to_uppercase).collect();
    let t: Vec<char> = text.chars().flat_map(char::to_uppercase).collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Whether the environment variable name `key` denotes a credential.
///
/// The key is split into words (see [`split_words`]). It is a credential when
/// a secret word (`PASSWORD`, `PASSWD`, `PASS`, `PWD`, `SECRET`, `TOKEN`,
/// `APIKEY`, `CREDENTIALS`, ...) or phrase (`API_KEY`, `PRIVATE_KEY`,
/// `ACCESS_KEY`, `CLIENT_SECRET`, `ERLANG_COOKIE`, ...) occurs in it, unless
/// the key's last word marks a setting about the credential (`_FILE`,
/// `_PATH`, `_LENGTH`, `_TTL`, `_ENABLED`, `_USER`, `_HOST`, `_URL`, `_TYPE`,
/// `_ID`, ...). A phrase that ends the key always counts (`VAULT_SECRET_ID`).
/// `AUTH` counts only as the last word (`REDIS_AUTH`, not `GF_AUTH_*`), and
/// a key that is exactly `PWD` is the shell's working directory.
/// URLs with embedded passwords (`DATABASE_URL`) are found by value, not here.
///
/// `extra_patterns` come from the user's profile. A pattern containing `*` or
/// `?` is a case-insensitive glob over the whole key and always wins (even
/// over the setting suffixes). Any other pattern is a word or phrase
/// (`SEED`, `BIND_DN_CREDENTIAL`), split like keys and matched on whole words
/// with the same rules as the built-in vocabulary.
pub fn is_secret_key(key: &str, extra_patterns: &[String]) -> bool {
    if extra_patterns
        .iter()
        .any(|p| (p.contains('*') || p.contains('?')) && glob_match(p, key))
    {
        return true;
    }
    let words = split_words(key);
    if words.is_empty() || (words.len() == 1 && words[0] == "PWD") {
        return false;
    }
    let last_is_setting = SETTING_SUFFIXES.contains(&words[words.len() - 1].as_str());

    let extra: Vec<Vec<String>> = extra_patterns
        .iter()
        .filter(|p| !p.contains('*') && !p.contains('?'))
        .map(|p| split_words(p))
        .filter(|w| !w.is_empty())
        .collect();
    let extra_refs: Vec<Vec<&str>> = extra
        .iter()
        .map(|w| w.iter().map(String::as_str).collect())
        .collect();

    let singles = SECRET_WORDS.iter().map(std::slice::from_ref);
    let phrases = SECRET_PHRASES.iter().copied();
    let extras = extra_refs.iter().map(Vec::as_slice);
    for phrase in singles.chain(phrases).chain(extras) {
        for at in 0..words.len() {
            if !phrase_at(&words, at, phrase) {
                continue;
            }
            let end = at + phrase.len();
            if inside_false_friend(&words, at..end) {
                continue;
            }
            if end == words.len() || !last_is_setting {
                return true;
            }
        }
    }
    LAST_ONLY_WORDS.contains(&words[words.len() - 1].as_str())
}

// ---------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------

/// What an environment value holds, as far as secrets are concerned.
///
/// Categories, in the order [`analyze_value`] decides them:
///
/// 1. Values containing Compose interpolation (`$VAR`, `${VAR...}`; `$$` is
///    an escaped literal `$`, not a reference):
///    - the value is one `${VAR:-lit}` / `${VAR-lit}` with a non-empty
///      default that is not itself a pure reference → [`DefaultLiteral`];
///    - a URL / connection string whose password is literal text (the host
///      may be a reference) → [`UrlCredential`] / [`ConnStringCredential`];
///    - the value is made only of references, optionally joined by
///      punctuation or spaces (`${A}${B}`, `${USER}:${PASS}`,
///      `${HOST}/${DB}`) → [`Required`]: nothing is hard-coded;
///    - references mixed with literal letters or digits
///      (`${PREFIX}hunter2`, `Bearer ${TOKEN}`, `x${A:-lit}`) → [`Mixed`]:
///      part of the value may be hard-coded, but moving the whole value to
///      `.env` would change its meaning, so callers should report and not
///      auto-fix.
/// 2. Literal values:
///    - URL / connection string with a password → [`UrlCredential`] /
///      [`ConnStringCredential`];
///    - empty, whitespace, `none`, `null`, `nil`, `~` → [`Placeholder`];
///    - `true`/`false`/`yes`/`no`/`on`/`off` and integers of at most three
///      digits → [`Setting`];
///    - anything else (including weak "placeholders" such as `changeme` or
///      `<long-random-string>`, which the service *will* use) → [`Literal`].
///
/// [`DefaultLiteral`]: SecretValue::DefaultLiteral
/// [`UrlCredential`]: SecretValue::UrlCredential
/// [`ConnStringCredential`]: SecretValue::ConnStringCredential
/// [`Required`]: SecretValue::Required
/// [`Mixed`]: SecretValue::Mixed
/// [`Placeholder`]: SecretValue::Placeholder
/// [`Setting`]: SecretValue::Setting
/// [`Literal`]: SecretValue::Literal
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretValue {
    /// Only references (`${VAR}`, `${VAR:?msg}`, `${VAR?msg}`, `$VAR`,
    /// `${VAR:-}`, `${A}:${B}`): the secret lives outside the Compose file.
    Required,
    /// `${VAR:-default}` or `${VAR-default}` with a literal, non-empty default:
    /// the default is a hard-coded fallback secret.
    DefaultLiteral {
        /// The referenced variable name.
        var: String,
        /// The default text exactly as written (`$$` not unescaped).
        default: String,
    },
    /// References mixed with literal letters/digits; see the type docs.
    Mixed,
    /// A value meaning "no value": empty, `none`, `null`, `nil`, `~`.
    Placeholder,
    /// A boolean word or a small integer (at most three digits, optional
    /// sign): a setting, not a credential.
    Setting,
    /// A hard-coded literal (possibly a weak default such as `changeme`).
    Literal,
    /// A URL `scheme://user:password@host...` with a literal password.
    UrlCredential {
        /// Byte range of the password inside the value.
        password: Range<usize>,
    },
    /// A `Key=Value;` connection string with a literal `Password=`/`Pwd=`.
    ConnStringCredential {
        /// Byte range of the password inside the value.
        password: Range<usize>,
    },
}

/// One piece of a value split by Compose interpolation syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// Literal text (byte range in the value); `$$` yields a literal piece.
    Lit(Range<usize>),
    /// A reference: variable name, operator (`""`, `:-`, `-`, `:?`, `?`,
    /// `:+`, `+`) and the operand's byte range (empty when there is no operator).
    Ref {
        var: String,
        op: &'static str,
        arg: Range<usize>,
    },
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Finds the `}` closing a `${` whose body starts at `from`, honouring nested
/// `${...}` in defaults.
fn closing_brace(bytes: &[u8], from: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'$') => i += 1,
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// Splits `value` into literal and reference pieces (Compose syntax).
/// Malformed syntax (`${` without `}`, `$` before a non-name) is literal.
fn pieces(value: &str) -> Vec<Piece> {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut lit_start = 0;
    let mut i = 0;
    let flush = |out: &mut Vec<Piece>, from: usize, to: usize| {
        if to > from {
            out.push(Piece::Lit(from..to));
        }
    };
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'$') => {
                // `$$` → literal `$`; keep it inside the literal run.
                i += 2;
            }
            Some(b'{') => {
                let body = i + 2;
                let mut j = body;
                while j < bytes.len() && is_name_char(bytes[j]) {
                    j += 1;
                }
                let Some(close) = closing_brace(bytes, body) else {
                    i += 1;
                    continue;
                };
                if j == body || !is_name_start(bytes[body]) || j > close {
                    i += 1;
                    continue;
                }
                let rest = &value[j..close];
                let op = ["}", ":-", ":?", ":+", "-", "?", "+"]
                    .into_iter()
                    .find(|op| *op == "}" && rest.is_empty() || *op != "}" && rest.starts_with(op));
                let Some(op) = op else {
                    i += 1;
                    continue;
                };
                let (op, arg) = if op == "}" {
                    ("", close..close)
                } else {
                    (op, j + op.len()..close)
                };
                flush(&mut out, lit_start, i);
                out.push(Piece::Ref {
                    var: value[body..j].to_string(),
                    op,
                    arg,
                });
                i = close + 1;
                lit_start = i;
            }
            Some(&b) if is_name_start(b) => {
                let mut j = i + 1;
                while j < bytes.len() && is_name_char(bytes[j]) {
                    j += 1;
                }
                flush(&mut out, lit_start, i);
                out.push(Piece::Ref {
                    var: value[i + 1..j].to_string(),
                    op: "",
                    arg: j..j,
                });
                i = j;
                lit_start = i;
            }
            _ => i += 1,
        }
    }
    flush(&mut out, lit_start, bytes.len());
    out
}

/// True when `text` consists only of references (and at least one).
fn is_pure_reference(text: &str) -> bool {
    let p = pieces(text);
    !p.is_empty() && p.iter().all(|p| matches!(p, Piece::Ref { .. }))
}

/// True when a reference's operand contributes literal text to the value.
fn ref_has_literal(value: &str, op: &str, arg: &Range<usize>) -> bool {
    matches!(op, ":-" | "-" | ":+" | "+") && {
        let a = &value[arg.clone()];
        !a.is_empty() && !is_pure_reference(a)
    }
}

fn is_placeholder(v: &str) -> bool {
    let t = v.trim();
    t.is_empty()
        || ["none", "null", "nil", "~"]
            .iter()
            .any(|p| t.eq_ignore_ascii_case(p))
}

fn is_setting(v: &str) -> bool {
    let t = v.trim();
    if ["true", "false", "yes", "no", "on", "off"]
        .iter()
        .any(|w| t.eq_ignore_ascii_case(w))
    {
        return true;
    }
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    !digits.is_empty() && digits.len() <= 3 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Classifies an environment value; see [`SecretValue`] for the categories
/// and the order in which they are decided. `$$` is an escaped `$`.
pub fn analyze_value(value: &str) -> SecretValue {
    let ps = pieces(value);
    let has_ref = ps.iter().any(|p| matches!(p, Piece::Ref { .. }));

    if has_ref {
        if let [Piece::Ref { var, op, arg, .. }] = ps.as_slice() {
            if matches!(*op, ":-" | "-") && ref_has_literal(value, op, arg) {
                return SecretValue::DefaultLiteral {
                    var: var.clone(),
                    default: value[arg.clone()].to_string(),
                };
            }
        }
    }
    if let Some(password) = find_url_password(value) {
        return SecretValue::UrlCredential { password };
    }
    if let Some(password) = find_connstring_password(value) {
        return SecretValue::ConnStringCredential { password };
    }
    if has_ref {
        let literal_alnum = ps.iter().any(|p| match p {
            Piece::Lit(r) => value[r.clone()].chars().any(char::is_alphanumeric),
            Piece::Ref { op, arg, .. } => ref_has_literal(value, op, arg),
        });
        if literal_alnum && !url_password_is_reference(value) {
            return SecretValue::Mixed;
        }
        return SecretValue::Required;
    }
    if is_placeholder(value) {
        SecretValue::Placeholder
    } else if is_setting(value) {
        SecretValue::Setting
    } else {
        SecretValue::Literal
    }
}

// ---------------------------------------------------------------------------
// URLs and connection strings
// ---------------------------------------------------------------------------

fn is_scheme_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-')
}

/// Finds the password part of every `scheme://user:password@host` in
/// `value`, whether literal or a reference.
fn url_password_spans(value: &str) -> Vec<Range<usize>> {
    let bytes = value.as_bytes();
    let mut found = Vec::new();
    let mut search = 0;
    while let Some(rel) = value[search..].find("://") {
        let sep = search + rel;
        search = sep + 3;
        // The scheme: letters, digits, + . - ; must start with a letter.
        let mut s = sep;
        while s > 0 && is_scheme_char(bytes[s - 1]) {
            s -= 1;
        }
        while s < sep && !bytes[s].is_ascii_alphabetic() {
            s += 1;
        }
        if s == sep {
            continue;
        }
        let start = sep + 3;
        let end = value[start..]
            .find(char::is_whitespace)
            .map_or(value.len(), |e| start + e);
        let rest = &value[start..end];
        let first_delim = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        // Prefer the last `@` before the path; if the password itself holds
        // a `/`, fall back to the last `@` anywhere in the URL.
        let (at, fallback) = match rest[..first_delim].rfind('@') {
            Some(at) => (at, false),
            None => match rest.rfind('@') {
                Some(at) => (at, true),
                None => continue,
            },
        };
        let userinfo = &rest[..at];
        let host = &rest[at + 1..];
        if host.is_empty() || host.starts_with(['/', '?', '#']) {
            continue;
        }
        let Some(colon) = userinfo.find(':') else {
            continue;
        };
        let user = &userinfo[..colon];
        let pass = &userinfo[colon + 1..];
        if pass.is_empty() || user.contains(['/', '?', '#']) {
            continue;
        }
        if fallback {
            // `host:8080/path@x` is a port and a path, not a password.
            let head = pass.split(['/', '?', '#']).next().unwrap_or("");
            if !head.is_empty() && head.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
        }
        let p_start = start + colon + 1;
        found.push(p_start..p_start + pass.len());
    }
    found
}

fn url_password_is_reference(value: &str) -> bool {
    let spans = url_password_spans(value);
    !spans.is_empty() && spans.iter().all(|r| is_pure_reference(&value[r.clone()]))
}

/// The variables `value` references, each with its operator (`""`, `:-`, `-`, `:?`, `?`, `:+`,
/// `+`), in order. References nested in a default (`${A:-${B}}`) are not listed.
pub fn references(value: &str) -> Vec<(String, &'static str)> {
    pieces(value)
        .into_iter()
        .filter_map(|p| match p {
            Piece::Ref { var, op, .. } => Some((var, op)),
            Piece::Lit(_) => None,
        })
        .collect()
}

/// Byte range of a literal password in a URL of the form
/// `scheme://user:password@host[:port][/path]` anywhere in `value`
/// (`postgres://`, `redis://:pw@host`, `amqp://`, `mongodb+srv://`, ...).
///
/// The userinfo ends at the last `@` before the path; when the password
/// contains `/` (not valid in a URL, but common) the last `@` in the URL is
/// used instead, unless what precedes it looks like `host:port/path`.
/// Passwords that are entirely Compose references (`${DB_PASSWORD}`) are not
/// literal and yield `None`; so do URLs without a password.
pub fn find_url_password(value: &str) -> Option<Range<usize>> {
    url_password_spans(value)
        .into_iter()
        .find(|r| !is_pure_reference(&value[r.clone()]))
}

/// Byte range of a literal password in an ADO.NET/ODBC/JDBC-style
/// connection string: `;`-separated `Key=Value` pairs where the key is
/// `Password` or `Pwd` (case-insensitive, surrounding spaces allowed), e.g.
/// `Server=db;User Id=sa;Password=x;`. Values may be quoted with `"`, `'`
/// or ODBC braces `{...}`; the range then excludes the quotes. Requires at
/// least one other `Key=Value` pair so that a lone `password=x` is not taken
/// for a connection string. References (`${PW}`) and empty passwords yield
/// `None`.
pub fn find_connstring_password(value: &str) -> Option<Range<usize>> {
    let mut pairs = 0usize;
    let mut found: Option<Range<usize>> = None;
    let bytes = value.as_bytes();
    let mut pos = 0;
    while pos < bytes.len() {
        let seg_end = value[pos..].find(';').map_or(value.len(), |e| pos + e);
        let seg = &value[pos..seg_end];
        let mut next = seg_end + 1;
        if let Some(eq) = seg.find('=') {
            let key = seg[..eq].trim();
            let is_key = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '_' | '-' | '.'));
            if is_key {
                pairs += 1;
                if key.eq_ignore_ascii_case("password") || key.eq_ignore_ascii_case("pwd") {
                    let vstart = pos + eq + 1;
                    let lead = value[vstart..].len() - value[vstart..].trim_start().len();
                    let vs = vstart + lead;
                    let (range, after) = match bytes.get(vs) {
                        Some(&q @ (b'"' | b'\'' | b'{')) => {
                            let close = if q == b'{' { b'}' } else { q };
                            quoted_span(bytes, vs, close)?
                        }
                        _ => {
                            let v = value[vs..seg_end].trim_end();
                            (vs..vs + v.len(), seg_end)
                        }
                    };
                    next = value[after..].find(';').map_or(value.len(), |e| after + e) + 1;
                    if found.is_none() && !range.is_empty() {
                        found = Some(range);
                    }
                }
            }
        }
        pos = next;
    }
    let r = found?;
    (pairs >= 2 && !is_pure_reference(&value[r.clone()])).then_some(r)
}

/// Span inside a quoted connection-string value starting at `open`; a
/// doubled closing character is an escaped one. Returns the inner range and
/// the index after the closing quote.
fn quoted_span(bytes: &[u8], open: usize, close: u8) -> Option<(Range<usize>, usize)> {
    let mut i = open + 1;
    while i < bytes.len() {
        if bytes[i] == close {
            if bytes.get(i + 1) == Some(&close) {
                i += 2;
                continue;
            }
            return Some((open + 1..i, i + 1));
        }
        i += 1;
    }
    None
}

// ---------------------------------------------------------------------------
// Init-only credentials and rotation runbooks
// ---------------------------------------------------------------------------

/// How to rotate a credential that an image only reads when its data volume
/// is first initialised (changing the value in `.env` alone does nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationHint {
    /// Human name of the database or broker, e.g. `PostgreSQL`.
    pub engine: &'static str,
    /// Whether a value generated by this tool can be used as-is. `false`
    /// when the server creates the value itself (InfluxDB tokens): the
    /// runbook then says which value to put in the `.env` file instead.
    pub generated_value_usable: bool,
    /// Runbook text with placeholders `{service}` (Compose service name),
    /// `{key}` (the variable) and `{env_file}` (path of the `.env` file).
    /// Commands never put the new secret on a command line: they prompt for
    /// it or read it from the `.env` file through a pipe.
    pub template: &'static str,
}

impl RotationHint {
    /// The runbook with its placeholders filled in.
    pub fn render(&self, service: &str, key: &str, env_file: &str) -> String {
        self.template
            .replace("{service}", service)
            .replace("{key}", key)
            .replace("{env_file}", env_file)
    }
}

/// Shared first sentence of the runbooks.
macro_rules! preamble {
    () => {
        "{key} is only read when the {service} data volume is first initialised; \
changing it in {env_file} does not change the existing credential. Rotate it on the running server first"
    };
}

const POSTGRES: RotationHint = RotationHint {
    engine: "PostgreSQL",
    generated_value_usable: true,
    template: concat!(preamble!(), ":\n",
"\
  1. docker compose exec {service} sh -c 'psql -U \"${POSTGRES_USER:-postgres}\" -d \"${POSTGRES_DB:-${POSTGRES_USER:-postgres}}\"'\n\
  2. At the psql prompt run \\password and paste the new {key} value from {env_file} twice, then \\q.\n\
     (\\password hashes the password client-side: it never reaches a command line, shell history or the server log.)\n\
  3. docker compose up -d   # recreate the clients so they pick up the new value\n"),
};

const MYSQL_ROOT: RotationHint = RotationHint {
    engine: "MySQL",
    generated_value_usable: true,
    template: concat!(preamble!(), ":\n",
"\
  1. docker compose exec {service} mysql -uroot -p   # type the OLD password at the hidden prompt\n\
  2. ALTER USER 'root'@'localhost' IDENTIFIED BY '<new value from {env_file}>';\n\
     ALTER USER 'root'@'%' IDENTIFIED BY '<new value from {env_file}>';   -- skip if root@'%' does not exist (MYSQL_ROOT_HOST)\n\
     (the mysql client keeps statements matching *IDENTIFIED*/*PASSWORD* out of its history file)\n\
  3. docker compose up -d\n"),
};

const MYSQL_USER: RotationHint = RotationHint {
    engine: "MySQL",
    generated_value_usable: true,
    template: concat!(
        preamble!(),
        ":\n",
        "\
  1. docker compose exec {service} mysql -uroot -p   # root password at the hidden prompt\n\
  2. ALTER USER '<value of MYSQL_USER>'@'%' IDENTIFIED BY '<new value from {env_file}>';\n\
  3. docker compose up -d\n"
    ),
};

const MARIADB_ROOT: RotationHint = RotationHint {
    engine: "MariaDB",
    generated_value_usable: true,
    template: concat!(preamble!(), ":\n",
"\
  1. docker compose exec {service} mariadb -uroot -p   # OLD password at the hidden prompt (older images: mysql)\n\
  2. ALTER USER 'root'@'localhost' IDENTIFIED BY '<new value from {env_file}>';\n\
     ALTER USER 'root'@'%' IDENTIFIED BY '<new value from {env_file}>';   -- skip if root@'%' does not exist\n\
  3. docker compose up -d\n"),
};

const MARIADB_USER: RotationHint = RotationHint {
    engine: "MariaDB",
    generated_value_usable: true,
    template: concat!(preamble!(), ":\n",
"\
  1. docker compose exec {service} mariadb -uroot -p   # root password at the hidden prompt (older images: mysql)\n\
  2. ALTER USER '<value of MARIADB_USER>'@'%' IDENTIFIED BY '<new value from {env_file}>';\n\
  3. docker compose up -d\n"),
};

const MONGO: RotationHint = RotationHint {
    engine: "MongoDB",
    generated_value_usable: true,
    template: concat!(preamble!(), ":\n",
"\
  1. docker compose exec {service} sh -c 'mongosh --authenticationDatabase admin -u \"$MONGO_INITDB_ROOT_USERNAME\" -p'   # OLD password at the prompt\n\
  2. db.getSiblingDB(\"admin\").changeUserPassword(\"<value of MONGO_INITDB_ROOT_USERNAME>\", passwordPrompt())\n\
     (passwordPrompt() asks for the new value from {env_file} without echoing it)\n\
  3. docker compose up -d\n"),
};

const INFLUX_PASSWORD: RotationHint = RotationHint {
    engine: "InfluxDB 2",
    generated_value_usable: true,
    template: concat!(preamble!(), ":\n",
"\
  1. docker compose exec {service} sh -c 'influx user password -n \"$DOCKER_INFLUXDB_INIT_USERNAME\"'\n\
     (prompts for the new value from {env_file}; the CLI inside the container is already authenticated)\n\
  2. docker compose up -d\n"),
};

const INFLUX_TOKEN: RotationHint = RotationHint {
    engine: "InfluxDB 2",
    generated_value_usable: false,
    template: "{key} is only read when the {service} data volume is first initialised, and InfluxDB \
generates token values itself: a value generated by compose-harden cannot be installed as a token.\n\
  1. docker compose exec {service} influx auth list --json   # note the ID of the old operator token\n\
  2. docker compose exec {service} influx auth create --operator --json   # prints the new token\n\
  3. Put the printed token into {env_file} as {key} (replacing the generated value) and update every client.\n\
  4. docker compose up -d\n\
  5. docker compose exec {service} influx auth delete --id <old token ID>\n\
     (then refresh the container's CLI config: influx config set --active --token <new token>)\n",
};

const RABBITMQ: RotationHint = RotationHint {
    engine: "RabbitMQ",
    generated_value_usable: true,
    template: concat!(preamble!(), " \
(RabbitMQ 3.8+ reads the password from standard input, so it never appears on a command line):\n\
  1. grep -m1 '^{key}=' {env_file} | cut -d= -f2- | docker compose exec -T {service} sh -c 'rabbitmqctl change_password \"${RABBITMQ_DEFAULT_USER:-guest}\"'\n\
     (works for values written by compose-harden, which are never quoted)\n\
  2. docker compose up -d\n"),
};

/// Image repositories (registry and tag stripped, `library/` dropped).
const POSTGRES_IMAGES: &[&str] = &[
    "postgres",
    "openbmp/postgres",
    "timescale/timescaledb",
    "timescale/timescaledb-ha",
    "postgis/postgis",
    "pgvector/pgvector",
];
const MYSQL_IMAGES: &[&str] = &[
    "mysql",
    "mysql/mysql-server",
    "percona",
    "percona/percona-server",
];
const MARIADB_IMAGES: &[&str] = &["mariadb"];
const MONGO_IMAGES: &[&str] = &["mongo"];
const INFLUX_IMAGES: &[&str] = &["influxdb"];
const RABBITMQ_IMAGES: &[&str] = &["rabbitmq"];

/// The init-only table: variable, image family, hint.
const INIT_ONLY: &[(&str, &[&str], &RotationHint)] = &[
    ("POSTGRES_PASSWORD", POSTGRES_IMAGES, &POSTGRES),
    ("MYSQL_ROOT_PASSWORD", MYSQL_IMAGES, &MYSQL_ROOT),
    ("MYSQL_PASSWORD", MYSQL_IMAGES, &MYSQL_USER),
    ("MARIADB_ROOT_PASSWORD", MARIADB_IMAGES, &MARIADB_ROOT),
    ("MARIADB_PASSWORD", MARIADB_IMAGES, &MARIADB_USER),
    // The mariadb image also honours the MYSQL_* names.
    ("MYSQL_ROOT_PASSWORD", MARIADB_IMAGES, &MARIADB_ROOT),
    ("MYSQL_PASSWORD", MARIADB_IMAGES, &MARIADB_USER),
    ("MONGO_INITDB_ROOT_PASSWORD", MONGO_IMAGES, &MONGO),
    (
        "DOCKER_INFLUXDB_INIT_PASSWORD",
        INFLUX_IMAGES,
        &INFLUX_PASSWORD,
    ),
    (
        "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN",
        INFLUX_IMAGES,
        &INFLUX_TOKEN,
    ),
    ("RABBITMQ_DEFAULT_PASS", RABBITMQ_IMAGES, &RABBITMQ),
];

/// The rotation runbook when `key` is an init-only credential of `image`
/// (e.g. `POSTGRES_PASSWORD` on `postgres`, `timescale/timescaledb`,
/// `postgis/postgis`, `openbmp/postgres`). Returns `None` for other keys,
/// for images outside the table (the same variable on a client container
/// such as an app connecting to Postgres is an ordinary secret) and when
/// `image` is `None` (a locally built service: the base image is unknown).
pub fn is_init_only(key: &str, image: Option<&str>) -> Option<RotationHint> {
    let repo = crate::compose::image::repository_any_registry(image?);
    INIT_ONLY
        .iter()
        .find(|(k, images, _)| *k == key && images.contains(&repo.as_str()))
        .map(|(_, _, hint)| **hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_start_with_preamble() {
        for (_, _, hint) in INIT_ONLY {
            if hint.generated_value_usable {
                assert!(hint.template.starts_with(preamble!()), "{}", hint.engine);
            }
        }
    }

    #[test]
    fn words() {
        let cases: &[(&str, &[&str])] = &[
            ("POSTGRES_PASSWORD", &["POSTGRES", "PASSWORD"]),
            ("apiKey", &["API", "KEY"]),
            ("APIKey", &["API", "KEY"]),
            ("clientSecret", &["CLIENT", "SECRET"]),
            ("db.password", &["DB", "PASSWORD"]),
            ("x-auth-token", &["X", "AUTH", "TOKEN"]),
            ("S3_SECRET", &["S3", "SECRET"]),
            ("oauth2Token", &["OAUTH2", "TOKEN"]),
            ("__", &[]),
        ];
        for (key, want) in cases {
            assert_eq!(split_words(key), *want, "{key}");
        }
    }

    #[test]
    fn secret_keys() {
        let cases: &[(&str, bool)] = &[
            ("POSTGRES_PASSWORD", true),
            ("GF_SECURITY_ADMIN_PASSWORD", true),
            ("DOCKER_INFLUXDB_INIT_ADMIN_TOKEN", true),
            ("DOCKER_INFLUXDB_INIT_PASSWORD", true),
            ("GF_AUTH_PROXY_ENABLED", false),
            ("GF_AUTH_PROXY_HEADER_NAME", false),
            ("GF_AUTH_ANONYMOUS_ENABLED", false),
            ("GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET", true),
            ("POSTGRES_USER", false),
            ("POSTGRES_DB", false),
            ("JWT_SECRET", true),
            ("SECRET_KEY_BASE", true),
            ("SECRET_KEY", true),
            ("KAFKA_SSL_KEYSTORE_PASSWORD", true),
            ("KAFKA_SSL_KEY_PASSWORD", true),
            ("KAFKA_SSL_KEYSTORE_LOCATION", false),
            ("KAFKA_SSL_KEYSTORE_TYPE", false),
            ("POSTGRES_PASSWORD_FILE", false),
            ("MYSQL_ROOT_PASSWORD_FILE", false),
            ("REDIS_PASSWORD_LENGTH", false),
            ("REDIS_AUTH", true),
            ("AUTH_TOKEN", true),
            ("AUTH_TYPE", false),
            ("AUTH", true),
            ("AUTHELIA_JWT_SECRET", true),
            ("RABBITMQ_DEFAULT_PASS", true),
            ("RABBITMQ_DEFAULT_USER", false),
            ("RABBITMQ_ERLANG_COOKIE", true),
            ("MONGO_INITDB_ROOT_PASSWORD", true),
            ("MONGO_INITDB_ROOT_USERNAME", false),
            ("DB_PWD", true),
            ("PWD", false),
            ("OLDPWD", false),
            ("AWS_SECRET_ACCESS_KEY", true),
            ("AWS_ACCESS_KEY_ID", false),
            ("VAULT_SECRET_ID", true),
            ("STRIPE_API_KEY", true),
            ("apiKey", true),
            ("MEILI_MASTER_KEY", true),
            ("APP_KEY", true),
            ("GITHUB_TOKEN", true),
            ("TOKEN_TTL", false),
            ("JWT_TOKEN_EXPIRY", false),
            ("PASSWORD_MIN_LENGTH", false),
            ("OIDC_TOKEN_URL", false),
            ("SECRET_NAME", false),
            ("CLIENT_ID", false),
            ("PROXY_PASS", false),
            ("NGINX_PROXY_PASS", false),
            ("PASSTHROUGH", false),
            ("BYPASS_CACHE", false),
            ("DATABASE_URL", false),
            ("KEYCLOAK_ADMIN_PASSWORD", true),
            ("LDAP_BIND_CREDENTIALS", true),
            ("SSL_KEY", false),
            ("HOSTNAME", false),
            ("", false),
        ];
        for (key, want) in cases {
            assert_eq!(is_secret_key(key, &[]), *want, "{key}");
        }
    }

    #[test]
    fn extra_patterns() {
        let extra = vec![
            "seed".to_string(),
            "BIND_DN_CREDENTIAL".to_string(),
            "*_PRIVATE_PATH".to_string(),
            "MYAPP_?IN".to_string(),
        ];
        let cases: &[(&str, bool)] = &[
            ("WALLET_SEED", true),
            ("SEED_FILE", false),
            ("SEEDLING", false),
            ("LDAP_BIND_DN_CREDENTIAL", true),
            ("BIND_DN", false),
            ("SSH_PRIVATE_PATH", true),
            ("MYAPP_PIN", true),
            ("MYAPP_SPIN", false),
            ("POSTGRES_PASSWORD", true),
        ];
        for (key, want) in cases {
            assert_eq!(is_secret_key(key, &extra), *want, "{key}");
        }
    }

    #[test]
    fn globs() {
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b", "aXXbY"));
        assert!(glob_match("*_seed", "WALLET_SEED"));
        assert!(!glob_match("?", ""));
    }

    fn url(password: Range<usize>) -> SecretValue {
        SecretValue::UrlCredential { password }
    }

    #[test]
    fn values() {
        use SecretValue::*;
        let dl = |var: &str, default: &str| DefaultLiteral {
            var: var.into(),
            default: default.into(),
        };
        let cases: Vec<(&str, SecretValue)> = vec![
            ("${POSTGRES_PASSWORD}", Required),
            ("${POSTGRES_PASSWORD:?set in .env}", Required),
            ("${POSTGRES_PASSWORD?missing}", Required),
            ("$POSTGRES_PASSWORD", Required),
            ("${A}${B}", Required),
            ("${USER}:${PASS}", Required),
            ("${A:-}", Required),
            ("${A:-${B}}", Required),
            ("${A-$B}", Required),
            ("${PW:-openbmp}", dl("PW", "openbmp")),
            ("${PW-openbmp}", dl("PW", "openbmp")),
            ("${PW:-${X}abc}", dl("PW", "${X}abc")),
            ("${PW:-a}b", Mixed),
            ("prefix-${A}", Mixed),
            ("Bearer ${TOKEN}", Mixed),
            ("${PW:+on}", Mixed),
            ("openbmp", Literal),
            ("openbmp123", Literal),
            ("openbmp-telemetry-token", Literal),
            ("changeme", Literal),
            ("<long-random-string>", Literal),
            ("$$ecret", Literal),
            ("$${NOT_A_REF}", Literal),
            ("a$", Literal),
            ("${unterminated", Literal),
            ("1234", Literal),
            ("", Placeholder),
            ("  ", Placeholder),
            ("None", Placeholder),
            ("null", Placeholder),
            ("~", Placeholder),
            ("true", Setting),
            ("FALSE", Setting),
            ("yes", Setting),
            ("off", Setting),
            ("0", Setting),
            ("16", Setting),
            ("-1", Setting),
            ("postgres://u:secret@db:5432/app", url(13..19)),
            ("redis://:pw@redis:6379", url(9..11)),
            ("postgres://u:${DB_PW}@db/app", Required),
            ("postgres://${U}:${DB_PW}@${H}/app", Required),
            ("postgres://u:lit@${HOST}/app", url(13..16)),
            ("postgres://db/app", Literal),
            (
                "Server=db;User Id=sa;Password=x1;",
                ConnStringCredential { password: 30..32 },
            ),
        ];
        for (value, want) in cases {
            assert_eq!(analyze_value(value), want, "{value:?}");
        }
    }

    #[test]
    fn url_passwords() {
        let cases: &[(&str, Option<&str>)] = &[
            ("postgres://user:pass@host:5432/db", Some("pass")),
            (
                "postgresql://openbmp:openbmp@obmp-psql/openbmp",
                Some("openbmp"),
            ),
            (
                "mongodb+srv://admin:s3cr3t@cluster0.example.net/?retryWrites=true",
                Some("s3cr3t"),
            ),
            ("amqp://guest:guest@rabbitmq:5672/", Some("guest")),
            ("redis://:hunter2@redis:6379/0", Some("hunter2")),
            ("postgres://user:p@ss@host/db", Some("p@ss")),
            ("postgres://user:pa/ss@host/db", Some("pa/ss")),
            // Ambiguous (`@` and `/` in the password look like a path): the
            // `@` before the first `/` wins. Percent-encode such passwords.
            ("postgres://user:p@s/s@host/db", Some("p")),
            ("postgres://user:pass@host/path@x", Some("pass")),
            ("http://host:8080/path@x", None),
            ("https://registry:4873/@scope/pkg", None),
            ("https://registry.npmjs.org/@scope/pkg", None),
            ("postgres://user@host/db", None),
            ("postgres://user:@host/db", None),
            ("postgres://host:5432/db", None),
            ("postgres://u:${PW}@host/db", None),
            ("postgres://u:$PW@host/db", None),
            ("postgres://u:x${PW}@host/db", Some("x${PW}")),
            (
                "--dsn=mysql://root:rootpw@db:3306/x --verbose",
                Some("rootpw"),
            ),
            ("http://a/ then ftp://u:p@h", Some("p")),
            ("://u:p@h", None),
            ("no url here", None),
            ("mongodb://u:p@h1:27017,h2:27017/db", Some("p")),
        ];
        for (value, want) in cases {
            let got = find_url_password(value).map(|r| &value[r]);
            assert_eq!(got, *want, "{value:?}");
        }
    }

    #[test]
    fn connstring_passwords() {
        let cases: &[(&str, Option<&str>)] = &[
            ("Server=db;User Id=sa;Password=x;", Some("x")),
            (
                "Server=db;Database=app;User Id=sa;Pwd=Str0ng!;",
                Some("Str0ng!"),
            ),
            (
                "server=db; user id=sa; password = spaced out ;",
                Some("spaced out"),
            ),
            ("Server=db;PASSWORD=\"a;b\";Encrypt=true", Some("a;b")),
            ("Driver={ODBC};Server=db;PWD={x}}y;z};", Some("x}}y;z")),
            ("Server=db;Password='q';", Some("q")),
            ("Server=db;Password=${DB_PW};", None),
            ("Server=db;Password=;", None),
            ("Password=lonely", None),
            ("Server=db;User=sa", None),
            ("Server=db;Password=\"unterminated", None),
            ("a=b;password=x=y", Some("x=y")),
        ];
        for (value, want) in cases {
            let got = find_connstring_password(value).map(|r| &value[r]);
            assert_eq!(got, *want, "{value:?}");
        }
    }

    #[test]
    fn init_only() {
        let cases: &[(&str, Option<&str>, Option<&str>)] = &[
            ("POSTGRES_PASSWORD", Some("postgres:16"), Some("PostgreSQL")),
            (
                "POSTGRES_PASSWORD",
                Some("openbmp/postgres:2.2.1"),
                Some("PostgreSQL"),
            ),
            (
                "POSTGRES_PASSWORD",
                Some("timescale/timescaledb:2.14.2-pg16"),
                Some("PostgreSQL"),
            ),
            (
                "POSTGRES_PASSWORD",
                Some("postgis/postgis:16-3.4"),
                Some("PostgreSQL"),
            ),
            ("POSTGRES_PASSWORD", Some("openbmp/psql-app:2.2.2"), None),
            ("POSTGRES_PASSWORD", None, None),
            ("POSTGRES_USER", Some("postgres"), None),
            ("MYSQL_ROOT_PASSWORD", Some("mysql:8"), Some("MySQL")),
            ("MYSQL_PASSWORD", Some("mysql:8"), Some("MySQL")),
            ("MYSQL_ROOT_PASSWORD", Some("mariadb:11"), Some("MariaDB")),
            ("MARIADB_ROOT_PASSWORD", Some("mariadb:11"), Some("MariaDB")),
            ("MARIADB_PASSWORD", Some("mariadb"), Some("MariaDB")),
            (
                "MONGO_INITDB_ROOT_PASSWORD",
                Some("mongo:7"),
                Some("MongoDB"),
            ),
            (
                "DOCKER_INFLUXDB_INIT_PASSWORD",
                Some("influxdb:2.7"),
                Some("InfluxDB 2"),
            ),
            (
                "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN",
                Some("influxdb:2.7"),
                Some("InfluxDB 2"),
            ),
            (
                "RABBITMQ_DEFAULT_PASS",
                Some("rabbitmq:3-management"),
                Some("RabbitMQ"),
            ),
            (
                "GF_SECURITY_ADMIN_PASSWORD",
                Some("grafana/grafana:9.1.7"),
                None,
            ),
        ];
        for (key, image, want) in cases {
            let got = is_init_only(key, *image).map(|h| h.engine);
            assert_eq!(got, *want, "{key} on {image:?}");
        }
        let token = is_init_only("DOCKER_INFLUXDB_INIT_ADMIN_TOKEN", Some("influxdb"));
        assert!(!token.expect("in table").generated_value_usable);
    }

    #[test]
    fn runbook_rendering() {
        let hint = is_init_only("POSTGRES_PASSWORD", Some("openbmp/postgres:2.2.1")).expect("hint");
        let text = hint.render("psql", "POSTGRES_PASSWORD", ".env");
        assert!(text.contains("docker compose exec psql "));
        assert!(text.contains("\\password"));
        assert!(
            !text.contains("{service}") && !text.contains("{key}") && !text.contains("{env_file}")
        );
        let rabbit = is_init_only("RABBITMQ_DEFAULT_PASS", Some("rabbitmq")).expect("hint");
        let text = rabbit.render("mq", "RABBITMQ_DEFAULT_PASS", "stack/.env");
        assert!(text.contains("grep -m1 '^RABBITMQ_DEFAULT_PASS=' stack/.env"));
        assert!(text.contains("exec -T mq "));
    }
}
