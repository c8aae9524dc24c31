//! Compose interpolation, as compose-go's `template` package reads it: `$VAR`, `${VAR}`,
//! `${VAR:-default}` / `${VAR-default}`, `${VAR:?error}` / `${VAR?error}`,
//! `${VAR:+replacement}` / `${VAR+replacement}`, `$$` for a literal `$`, and interpolation nested
//! in defaults (`${A:-${B:-x}}`).
//!
//! Rules judge a value by what Compose would run: [`evaluate`] substitutes the variables the
//! operator's `.env` sets (an [`Env`]), else the defaults written in the file. A variable with
//! neither is *unresolved*: Compose would substitute an empty string (or stop, for `:?`), so a
//! caller should not decide on such a value. This module knows nothing of Compose files.

use std::collections::HashMap;
use std::ops::Range;

/// Variables available to interpolation (the operator's `.env`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    /// No variables: every reference takes its default.
    pub fn empty() -> Env {
        Env::default()
    }

    /// Variables from `(name, value)` pairs.
    pub fn from_pairs<I, K, V>(pairs: I) -> Env
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// Whether no variable is set.
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }
}

/// What a `${VAR<op>arg}` does when the variable is unset (or, with `:`, empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `${VAR}` or `$VAR`.
    Plain,
    /// `:-` (unset or empty) / `-` (unset): use the argument.
    Default {
        /// `:-` rather than `-`.
        colon: bool,
    },
    /// `:?` / `?`: Compose stops with the argument as error.
    Required {
        /// `:?` rather than `?`.
        colon: bool,
    },
    /// `:+` / `+`: the argument when set (and, with `:`, non-empty), else empty.
    Alternate {
        /// `:+` rather than `+`.
        colon: bool,
    },
}

/// One piece of a string with interpolation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text (byte range of the source; `$$` is a literal `$`).
    Text(Range<usize>),
    /// `$$`: a literal `$`.
    Dollar(Range<usize>),
    /// A variable reference.
    Var {
        /// The whole reference, `${` to `}` (or `$NAME`).
        range: Range<usize>,
        /// The variable name.
        name: String,
        /// The operator.
        op: Op,
        /// The argument's byte range (default, error or replacement text), itself a string
        /// with interpolation; empty for [`Op::Plain`].
        arg: Range<usize>,
    },
}

/// A malformed interpolation (Compose refuses the file: "invalid interpolation format").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid interpolation format for {text:?} at byte {at}: {reason}")]
pub struct InterpError {
    /// The text.
    pub text: String,
    /// Byte offset of the problem.
    pub at: usize,
    /// What is wrong.
    pub reason: &'static str,
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Split `s` into literal text and variable references (top level only; parse an
/// argument again with [`parse_range`] to see nested references).
pub fn parse(s: &str) -> Result<Vec<Piece>, InterpError> {
    parse_range(s, 0..s.len())
}

/// [`parse`] for the bytes `range` of `s` (ranges in the result index `s`).
pub fn parse_range(s: &str, range: Range<usize>) -> Result<Vec<Piece>, InterpError> {
    let b = s.as_bytes();
    let err = |at: usize, reason: &'static str| InterpError {
        text: s[range.clone()].to_string(),
        at,
        reason,
    };
    let mut out = Vec::new();
    let mut i = range.start;
    let mut lit = i;
    while i < range.end {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        if lit < i {
            out.push(Piece::Text(lit..i));
        }
        let next = b.get(i + 1).copied().filter(|_| i + 1 < range.end);
        match next {
            Some(b'$') => {
                out.push(Piece::Dollar(i..i + 2));
                i += 2;
            }
            Some(b'{') => {
                let start = i;
                let mut j = i + 2;
                let name_start = j;
                while j < range.end && is_name(b[j]) {
                    j += 1;
                }
                if j == name_start || !is_name_start(b[name_start]) {
                    return Err(err(start, "a variable name must follow `${`"));
                }
                let name = s[name_start..j].to_string();
                let colon = j < range.end && b[j] == b':';
                let k = if colon { j + 1 } else { j };
                let op = match b.get(k).filter(|_| k < range.end) {
                    Some(b'}') if !colon => Op::Plain,
                    Some(b'-') => Op::Default { colon },
                    Some(b'?') => Op::Required { colon },
                    Some(b'+') => Op::Alternate { colon },
                    _ => return Err(err(j, "expected `}`, `:-`, `-`, `:?`, `?`, `:+` or `+`")),
                };
                let arg_start = if op == Op::Plain { k } else { k + 1 };
                // The argument runs to the matching `}` (nested `${…}` count).
                let mut depth = 0usize;
                let mut m = arg_start;
                let end = loop {
                    if m >= range.end {
                        return Err(err(start, "`${` is not closed by `}`"));
                    }
                    match b[m] {
                        b'$' if b.get(m + 1) == Some(&b'$') => m += 2,
                        b'$' if b.get(m + 1) == Some(&b'{') => {
                            depth += 1;
                            m += 2;
                        }
                        b'}' if depth == 0 => break m,
                        b'}' => {
                            depth -= 1;
                            m += 1;
                        }
                        _ => m += 1,
                    }
                };
                out.push(Piece::Var {
                    range: start..end + 1,
                    name,
                    op,
                    arg: arg_start..end,
                });
                i = end + 1;
            }
            Some(c) if is_name_start(c) => {
                let mut j = i + 1;
                while j < range.end && is_name(b[j]) {
                    j += 1;
                }
                out.push(Piece::Var {
                    range: i..j,
                    name: s[i + 1..j].to_string(),
                    op: Op::Plain,
                    arg: j..j,
                });
                i = j;
            }
            // A lone `$` (before a non-name character or at the end) stays literal.
            _ => {
                out.push(Piece::Text(i..i + 1));
                i += 1;
            }
        }
        lit = i;
    }
    if lit < range.end {
        out.push(Piece::Text(lit..range.end));
    }
    Ok(out)
}

/// The value Compose would read, as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluated {
    /// The text after substitution (unresolved variables read as empty, as Compose does).
    pub value: String,
    /// Variables referenced with neither a value in the [`Env`] nor a default (including
    /// `${VAR:?…}` without a value): the value is not known.
    pub unresolved: Vec<String>,
}

impl Evaluated {
    /// The value when every variable was resolved.
    pub fn known(&self) -> Option<&str> {
        self.unresolved.is_empty().then_some(self.value.as_str())
    }
}

/// Evaluate `s` with `env` (else the defaults written in `s`).
pub fn evaluate(s: &str, env: &Env) -> Result<Evaluated, InterpError> {
    let mut out = Evaluated {
        value: String::new(),
        unresolved: Vec::new(),
    };
    eval_into(s, 0..s.len(), env, &mut out, 0)?;
    Ok(out)
}

fn eval_into(
    s: &str,
    range: Range<usize>,
    env: &Env,
    out: &mut Evaluated,
    depth: usize,
) -> Result<(), InterpError> {
    if depth > 32 {
        return Err(InterpError {
            text: s[range].to_string(),
            at: 0,
            reason: "interpolation nested more than 32 levels",
        });
    }
    for piece in parse_range(s, range)? {
        match piece {
            Piece::Text(r) => out.value.push_str(&s[r]),
            Piece::Dollar(_) => out.value.push('$'),
            Piece::Var { name, op, arg, .. } => {
                let val = env.get(&name);
                let empty = val.is_none_or(str::is_empty);
                match op {
                    Op::Plain => match val {
                        Some(v) => out.value.push_str(v),
                        None => out.unresolved.push(name),
                    },
                    Op::Default { colon } => {
                        if (colon && empty) || val.is_none() {
                            eval_into(s, arg, env, out, depth + 1)?;
                        } else if let Some(v) = val {
                            out.value.push_str(v);
                        }
                    }
                    Op::Required { colon } => {
                        if (colon && empty) || val.is_none() {
                            out.unresolved.push(name);
                        } else if let Some(v) = val {
                            out.value.push_str(v);
                        }
                    }
                    Op::Alternate { colon } => {
                        let set = if colon { !empty } else { val.is_some() };
                        if set {
                            eval_into(s, arg, env, out, depth + 1)?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Whether `s` contains a variable reference (not just `$$`).
pub fn has_variables(s: &str) -> bool {
    parse(s).map_or(s.contains('$'), |p| {
        p.iter().any(|x| matches!(x, Piece::Var { .. }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(s: &str, env: &Env) -> (String, Vec<String>) {
        let e = evaluate(s, env).expect("valid");
        (e.value, e.unresolved)
    }

    #[test]
    fn operators_as_compose_reads_them() {
        let none = Env::empty();
        let set = Env::from_pairs([("A", "x"), ("E", "")]);
        assert_eq!(ev("${A:-d}", &none).0, "d");
        assert_eq!(ev("${A:-d}", &set).0, "x");
        assert_eq!(ev("${E:-d}", &set).0, "d");
        assert_eq!(ev("${E-d}", &set).0, "");
        assert_eq!(ev("${Z-d}", &set).0, "d");
        assert_eq!(ev("${A:+r}", &set).0, "r");
        assert_eq!(ev("${E:+r}", &set).0, "");
        assert_eq!(ev("${E+r}", &set).0, "r");
        assert_eq!(ev("${Z+r}", &set).0, "");
        assert_eq!(ev("$$A", &set).0, "$A");
        assert_eq!(ev("$A-$A", &set).0, "x-x");
        assert_eq!(ev("a$", &none).0, "a$");
        assert_eq!(ev("${A:?set it}", &set).0, "x");
        assert_eq!(ev("${E:?set it}", &set).1, vec!["E".to_string()]);
        assert_eq!(ev("${E?set it}", &set).1, Vec::<String>::new());
        assert_eq!(ev("${Z}", &none).1, vec!["Z".to_string()]);
    }

    #[test]
    fn nested_defaults() {
        let none = Env::empty();
        assert_eq!(
            ev("${SQL_PORT:-127.0.0.1:13306}:3306", &none).0,
            "127.0.0.1:13306:3306"
        );
        assert_eq!(ev("${A:-${B:-in}}", &none).0, "in");
        let b = Env::from_pairs([("B", "b")]);
        assert_eq!(ev("${A:-${B:-in}}x", &b).0, "bx");
        assert_eq!(ev("${A:-{x}}", &none).0, "{x}");
    }

    #[test]
    fn malformed() {
        assert!(evaluate("${", &Env::empty()).is_err());
        assert!(evaluate("${A", &Env::empty()).is_err());
        assert!(evaluate("${1A}", &Env::empty()).is_err());
        assert!(evaluate("${A!}", &Env::empty()).is_err());
    }

    #[test]
    fn pieces_carry_ranges() {
        let s = "${P:-127.0.0.1:80}:80";
        let p = parse(s).expect("valid");
        match &p[0] {
            Piece::Var {
                range,
                name,
                op,
                arg,
            } => {
                assert_eq!(&s[range.clone()], "${P:-127.0.0.1:80}");
                assert_eq!(name, "P");
                assert_eq!(*op, Op::Default { colon: true });
                assert_eq!(&s[arg.clone()], "127.0.0.1:80");
            }
            other => panic!("{other:?}"),
        }
        assert!(has_variables(s));
        assert!(!has_variables("a$$b"));
    }
}
