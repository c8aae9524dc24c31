//! The value of a YAML document, independent of layout, and the declared changes a fix makes
//! to it. Verification compares `value(output)` with `value(input) + changes`.

use std::collections::HashMap;
use std::fmt;

use super::tree::{NodeId, NodeKind, ScalarStyle, Yaml};

/// How a scalar resolves under the YAML 1.2 core schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScalarKind {
    /// A string.
    Str,
    /// `null`, `~` or empty.
    Null,
    /// `true`/`false`.
    Bool,
    /// An integer.
    Int,
    /// A float.
    Float,
}

/// A document value. Aliases stay references (never expanded), so comparing values is linear
/// in the file size and a hostile alias graph cannot blow up.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// The anchor this node defines.
    pub anchor: Option<String>,
    /// Its explicit tag.
    pub tag: Option<String>,
    /// Its content.
    pub data: Data,
}

/// The content of a [`Value`].
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// A scalar: resolved kind and text.
    Scalar(ScalarKind, String),
    /// A sequence.
    Seq(Vec<Value>),
    /// A mapping in source order.
    Map(Vec<(Value, Value)>),
    /// A reference to an anchor.
    Alias(String),
}

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seg {
    /// A mapping key (scalar keys only).
    Key(String),
    /// A sequence index (in the input's numbering).
    Index(usize),
}

/// A path to a node: document index and steps.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Path {
    /// Index of the document in the stream.
    pub doc: usize,
    /// Steps from the document root.
    pub segs: Vec<Seg>,
}

impl Path {
    /// The root of document `doc`.
    pub fn root(doc: usize) -> Self {
        Path {
            doc,
            segs: Vec::new(),
        }
    }
    /// This path extended by a key.
    pub fn key(&self, k: &str) -> Path {
        let mut p = self.clone();
        p.segs.push(Seg::Key(k.to_string()));
        p
    }
    /// This path extended by an index.
    pub fn index(&self, i: usize) -> Path {
        let mut p = self.clone();
        p.segs.push(Seg::Index(i));
        p
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.doc > 0 {
            write!(f, "(document {})", self.doc + 1)?;
        }
        let mut first = true;
        for s in &self.segs {
            match s {
                Seg::Key(k) => {
                    if !first {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
            first = false;
        }
        if first && self.doc == 0 {
            f.write_str("(root)")?;
        }
        Ok(())
    }
}

/// A change a fix declares it makes to the document value.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Replace the node at the path.
    Set(Path, Value),
    /// Remove the mapping entry or sequence item at the path.
    Remove(Path),
    /// Append a key/value entry to the mapping at the path.
    InsertKey(Path, String, Value),
    /// Append an item to the sequence at the path.
    Append(Path, Value),
}

impl Change {
    /// The path the change addresses.
    pub fn path(&self) -> &Path {
        match self {
            Change::Set(p, _)
            | Change::Remove(p)
            | Change::InsertKey(p, _, _)
            | Change::Append(p, _) => p,
        }
    }
}

/// Resolve a plain scalar's kind under the YAML 1.2 core schema.
pub fn resolve_plain(s: &str) -> ScalarKind {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return ScalarKind::Null,
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => return ScalarKind::Bool,
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => return ScalarKind::Float,
        _ => {}
    }
    let b = s.as_bytes();
    let digits = |t: &[u8], f: fn(&u8) -> bool| !t.is_empty() && t.iter().all(f);
    if let Some(h) = s.strip_prefix("0x") {
        if digits(h.as_bytes(), u8::is_ascii_hexdigit) {
            return ScalarKind::Int;
        }
    }
    if let Some(o) = s.strip_prefix("0o") {
        if digits(o.as_bytes(), |c| (b'0'..=b'7').contains(c)) {
            return ScalarKind::Int;
        }
    }
    let unsigned = if matches!(b.first(), Some(b'-' | b'+')) {
        &b[1..]
    } else {
        b
    };
    if digits(unsigned, u8::is_ascii_digit) {
        return ScalarKind::Int;
    }
    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let mut i = 0;
    let n = unsigned.len();
    let mut int_digits = 0;
    while i < n && unsigned[i].is_ascii_digit() {
        i += 1;
        int_digits += 1;
    }
    let mut frac_digits = 0;
    if i < n && unsigned[i] == b'.' {
        i += 1;
        while i < n && unsigned[i].is_ascii_digit() {
            i += 1;
            frac_digits += 1;
        }
    } else if int_digits == 0 {
        return ScalarKind::Str;
    }
    if int_digits == 0 && frac_digits == 0 {
        return ScalarKind::Str;
    }
    if i < n && (unsigned[i] == b'e' || unsigned[i] == b'E') {
        i += 1;
        if i < n && (unsigned[i] == b'-' || unsigned[i] == b'+') {
            i += 1;
        }
        let exp_start = i;
        while i < n && unsigned[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return ScalarKind::Str;
        }
    }
    if i == n {
        ScalarKind::Float
    } else {
        ScalarKind::Str
    }
}

impl Value {
    /// A plain string value (no anchor, no tag).
    pub fn str(s: impl Into<String>) -> Value {
        Value {
            anchor: None,
            tag: None,
            data: Data::Scalar(ScalarKind::Str, s.into()),
        }
    }

    /// A scalar of the given kind.
    pub fn scalar(kind: ScalarKind, s: impl Into<String>) -> Value {
        Value {
            anchor: None,
            tag: None,
            data: Data::Scalar(kind, s.into()),
        }
    }

    /// A sequence of values.
    pub fn seq(items: Vec<Value>) -> Value {
        Value {
            anchor: None,
            tag: None,
            data: Data::Seq(items),
        }
    }

    /// A mapping of string keys to values.
    pub fn map(entries: Vec<(String, Value)>) -> Value {
        Value {
            anchor: None,
            tag: None,
            data: Data::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (Value::str(k), v))
                    .collect(),
            ),
        }
    }

    /// The value of node `id` of `y`.
    pub fn of(y: &Yaml, id: NodeId) -> Value {
        let n = y.node(id);
        let data = match n.kind {
            NodeKind::Scalar { .. } => {
                let kind = node_kind(y, id).unwrap_or(ScalarKind::Str);
                Data::Scalar(kind, y.scalar_value(id).unwrap_or_default().to_string())
            }
            NodeKind::Seq { items } => Data::Seq(items.iter().map(|&i| Value::of(y, i)).collect()),
            NodeKind::Map { entries } => Data::Map(
                entries
                    .iter()
                    .map(|e| (Value::of(y, e.key), Value::of(y, e.value)))
                    .collect(),
            ),
            NodeKind::Alias { name, .. } => Data::Alias(name.to_string()),
        };
        Value {
            anchor: n.anchor.map(str::to_string),
            tag: n.tag.map(str::to_string),
            data,
        }
    }

    /// The text of a scalar value.
    pub fn as_str(&self) -> Option<&str> {
        match &self.data {
            Data::Scalar(_, s) => Some(s),
            _ => None,
        }
    }

    fn key_matches(&self, k: &str) -> bool {
        matches!(&self.data, Data::Scalar(_, s) if s == k)
    }
}

pub(super) fn tag_kind(tag: &str) -> Option<ScalarKind> {
    Some(match tag {
        "!!str" => ScalarKind::Str,
        "!!int" => ScalarKind::Int,
        "!!bool" => ScalarKind::Bool,
        "!!float" => ScalarKind::Float,
        "!!null" => ScalarKind::Null,
        _ => return None,
    })
}

/// The values of every document of `y`.
pub fn documents(y: &Yaml) -> Vec<Value> {
    y.docs.iter().map(|d| Value::of(y, d.root)).collect()
}

/// Apply declared changes to document values. Fails (with the offending path) when a change
/// addresses something that does not exist. Linear in the size of the values plus the changes:
/// each mapping on a changed path is indexed once, however many changes go through it.
pub fn apply_changes<C: std::borrow::Borrow<Change>>(
    docs: &mut [Value],
    changes: &[C],
) -> Result<(), Path> {
    let mut per_doc: Vec<Pending<'_>> = vec![Vec::new(); docs.len()];
    for c in changes {
        let c: &Change = c.borrow();
        let p = c.path();
        per_doc
            .get_mut(p.doc)
            .ok_or_else(|| p.clone())?
            .push((&p.segs[..], c));
    }
    for (doc, items) in docs.iter_mut().zip(per_doc) {
        if !items.is_empty() {
            apply_node(doc, items)?;
        }
    }
    Ok(())
}

/// Changes still to apply below a node: remaining path steps and the change.
type Pending<'c> = Vec<(&'c [Seg], &'c Change)>;

fn apply_node(v: &mut Value, items: Pending<'_>) -> Result<(), Path> {
    let mut here = Vec::new();
    let mut removes: Vec<(&Seg, &Change)> = Vec::new();
    let mut deeper: Vec<(&Seg, Pending<'_>)> = Vec::new();
    let mut slot: HashMap<&Seg, usize> = HashMap::new();
    for (segs, c) in items {
        match (segs, c) {
            ([], _) => here.push(c),
            ([last], Change::Remove(_)) => removes.push((last, c)),
            ([first, rest @ ..], _) => {
                let i = *slot.entry(first).or_insert_with(|| {
                    deeper.push((first, Vec::new()));
                    deeper.len() - 1
                });
                deeper[i].1.push((rest, c));
            }
        }
    }
    if !deeper.is_empty() {
        match &mut v.data {
            Data::Map(entries) => {
                let mut index: HashMap<&str, usize> = HashMap::with_capacity(entries.len());
                for (i, (k, _)) in entries.iter().enumerate() {
                    if let Data::Scalar(_, s) = &k.data {
                        index.insert(s.as_str(), i);
                    }
                }
                let mut targets = Vec::with_capacity(deeper.len());
                for (seg, list) in deeper {
                    let i = match seg {
                        Seg::Key(k) => index.get(k.as_str()).copied(),
                        Seg::Index(_) => None,
                    };
                    match i {
                        Some(i) => targets.push((i, list)),
                        None => return Err(list[0].1.path().clone()),
                    }
                }
                drop(index);
                for (i, list) in targets {
                    apply_node(&mut entries[i].1, list)?;
                }
            }
            Data::Seq(items) => {
                for (seg, list) in deeper {
                    let item = match seg {
                        Seg::Index(i) => items.get_mut(*i),
                        Seg::Key(_) => None,
                    };
                    match item {
                        Some(item) => apply_node(item, list)?,
                        None => return Err(list[0].1.path().clone()),
                    }
                }
            }
            _ => return Err(deeper[0].1[0].1.path().clone()),
        }
    }
    if !removes.is_empty() {
        let mut idx: Vec<usize> = Vec::with_capacity(removes.len());
        for (seg, c) in &removes {
            let i = match (&v.data, seg) {
                (Data::Map(entries), Seg::Key(k)) => {
                    entries.iter().position(|(key, _)| key.key_matches(k))
                }
                (Data::Seq(items), Seg::Index(i)) => (*i < items.len()).then_some(*i),
                _ => None,
            };
            idx.push(i.ok_or_else(|| c.path().clone())?);
        }
        idx.sort_unstable();
        idx.dedup();
        match &mut v.data {
            Data::Map(entries) => {
                for i in idx.into_iter().rev() {
                    entries.remove(i);
                }
            }
            Data::Seq(items) => {
                for i in idx.into_iter().rev() {
                    items.remove(i);
                }
            }
            _ => {}
        }
    }
    for c in here {
        match c {
            Change::Set(_, new) => *v = new.clone(),
            Change::InsertKey(p, k, new) => match &mut v.data {
                Data::Map(entries) => entries.push((Value::str(k.clone()), new.clone())),
                _ => return Err(p.clone()),
            },
            Change::Append(p, new) => match &mut v.data {
                Data::Seq(items) => items.push(new.clone()),
                _ => return Err(p.clone()),
            },
            Change::Remove(p) => return Err(p.clone()),
        }
    }
    Ok(())
}

/// The first place where two document lists differ, as a path and a description.
pub fn first_difference(a: &[Value], b: &[Value]) -> Option<(Path, String)> {
    if a.len() != b.len() {
        return Some((
            Path::root(a.len().min(b.len())),
            format!("{} documents expected, {} found", a.len(), b.len()),
        ));
    }
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let mut path = Path::root(i);
        if let Some(d) = diff_value(x, y, &mut path) {
            return Some((path, d));
        }
    }
    None
}

/// The first place where `expected` differs from the documents of `y`, compared without
/// building `y`'s values.
pub fn first_difference_in(expected: &[Value], y: &Yaml) -> Option<(Path, String)> {
    if expected.len() != y.docs.len() {
        return Some((
            Path::root(expected.len().min(y.docs.len())),
            format!(
                "{} documents expected, {} found",
                expected.len(),
                y.docs.len()
            ),
        ));
    }
    for (i, (v, d)) in expected.iter().zip(&y.docs).enumerate() {
        let mut path = Path::root(i);
        if let Some(msg) = diff_node(v, y, d.root, &mut path) {
            return Some((path, msg));
        }
    }
    None
}

fn node_kind(y: &Yaml, id: NodeId) -> Option<ScalarKind> {
    let style = y.style(id)?;
    let value = y.scalar_value(id)?;
    Some(match (y.tag(id), style) {
        (Some(t), _) => tag_kind(t).unwrap_or(ScalarKind::Str),
        (None, ScalarStyle::Plain) => resolve_plain(value),
        _ => ScalarKind::Str,
    })
}

fn diff_node(v: &Value, y: &Yaml, id: NodeId, path: &mut Path) -> Option<String> {
    let n = y.node(id);
    if v.anchor.as_deref() != n.anchor || v.tag.as_deref() != n.tag {
        return Some("anchor or tag differs".into());
    }
    match (&v.data, n.kind) {
        (Data::Scalar(k, t), NodeKind::Scalar { .. }) => {
            let value = y.scalar_value(id).unwrap_or_default();
            let nk = node_kind(y, id).unwrap_or(ScalarKind::Str);
            (*k != nk || t != value)
                .then(|| format!("expected {}, found {nk:?} scalar {value:?}", describe(v)))
        }
        (Data::Alias(a), NodeKind::Alias { name, .. }) => {
            (a != name).then(|| format!("expected alias *{a}, found *{name}"))
        }
        (Data::Seq(x), NodeKind::Seq { items }) => {
            for (i, (u, &c)) in x.iter().zip(items).enumerate() {
                path.segs.push(Seg::Index(i));
                if let Some(d) = diff_node(u, y, c, path) {
                    return Some(d);
                }
                path.segs.pop();
            }
            (x.len() != items.len())
                .then(|| format!("expected {} items, found {}", x.len(), items.len()))
        }
        (Data::Map(x), NodeKind::Map { entries }) => {
            for ((k, val), e) in x.iter().zip(entries) {
                path.segs
                    .push(Seg::Key(k.as_str().unwrap_or("?").to_string()));
                if let Some(d) = diff_node(k, y, e.key, path) {
                    return Some(format!("key: {d}"));
                }
                if let Some(d) = diff_node(val, y, e.value, path) {
                    return Some(d);
                }
                path.segs.pop();
            }
            (x.len() != entries.len())
                .then(|| format!("expected {} entries, found {}", x.len(), entries.len()))
        }
        _ => Some(format!(
            "expected {}, found another kind of node",
            describe(v)
        )),
    }
}

fn describe(v: &Value) -> String {
    match &v.data {
        Data::Scalar(k, s) => format!("{k:?} scalar {s:?}"),
        Data::Seq(i) => format!("sequence of {}", i.len()),
        Data::Map(e) => format!("mapping of {}", e.len()),
        Data::Alias(a) => format!("alias *{a}"),
    }
}

fn diff_value(a: &Value, b: &Value, path: &mut Path) -> Option<String> {
    if a.anchor != b.anchor || a.tag != b.tag {
        return Some("anchor or tag differs".into());
    }
    match (&a.data, &b.data) {
        (Data::Seq(x), Data::Seq(y)) => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                path.segs.push(Seg::Index(i));
                if let Some(d) = diff_value(u, v, path) {
                    return Some(d);
                }
                path.segs.pop();
            }
            (x.len() != y.len()).then(|| format!("expected {} items, found {}", x.len(), y.len()))
        }
        (Data::Map(x), Data::Map(y)) => {
            for ((k1, v1), (k2, v2)) in x.iter().zip(y) {
                if k1 != k2 {
                    return Some(format!(
                        "expected key {}, found {}",
                        describe(k1),
                        describe(k2)
                    ));
                }
                path.segs
                    .push(Seg::Key(k1.as_str().unwrap_or("?").to_string()));
                if let Some(d) = diff_value(v1, v2, path) {
                    return Some(d);
                }
                path.segs.pop();
            }
            (x.len() != y.len()).then(|| format!("expected {} entries, found {}", x.len(), y.len()))
        }
        _ => (a != b).then(|| format!("expected {}, found {}", describe(a), describe(b))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_schema() {
        for (s, k) in [
            ("", ScalarKind::Null),
            ("~", ScalarKind::Null),
            ("true", ScalarKind::Bool),
            ("yes", ScalarKind::Str),
            ("12", ScalarKind::Int),
            ("-12", ScalarKind::Int),
            ("0x1F", ScalarKind::Int),
            ("0o17", ScalarKind::Int),
            ("1.5", ScalarKind::Float),
            ("1e3", ScalarKind::Float),
            (".5", ScalarKind::Float),
            ("1.", ScalarKind::Float),
            (".", ScalarKind::Str),
            ("8080:80", ScalarKind::Str),
            ("1e", ScalarKind::Str),
            (".inf", ScalarKind::Float),
            ("1_000", ScalarKind::Str),
        ] {
            assert_eq!(resolve_plain(s), k, "{s:?}");
        }
    }
}
