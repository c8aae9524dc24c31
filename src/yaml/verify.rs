//! Verification without a second tree: the edited text's parser events are compared, as they
//! stream, with the value the edit must produce — the input tree seen through an overlay of
//! the declared changes. Neither the output's tree nor an expected-value tree is built.
//!
//! The result is exactly that of comparing `value(output)` with `value(input) + changes`
//! ([`super::value::apply_changes`] and [`super::value::first_difference_in`], kept as the
//! reference the tests check this against): the same bad-change path, the same first
//! difference and message.

use std::borrow::{Borrow, Cow};
use std::collections::HashMap;

use super::aliases::{self, Doc, Shape};
use super::tree::{Entry, Limits, NodeId, NodeKind, ParseError, ScalarStyle, Yaml};
use super::value::{resolve_plain, tag_kind, Change, Data, Path, ScalarKind, Seg, Value};
use super::walk::{self, EvKind, NodeEv, Role, Sink};

const NONE: u32 = u32::MAX;

/// What the declared changes do to one input node.
#[derive(Debug, Default)]
struct Overlay<'c> {
    /// The node is replaced by this value (a `Set`, with later insertions folded in).
    set: Option<Cow<'c, Value>>,
    /// Child indices removed (sorted, unique).
    removed: Vec<usize>,
    /// Entries added after the mapping's last entry.
    inserted: Vec<(&'c str, &'c Value)>,
    /// Items added after the sequence's last item.
    appended: Vec<&'c Value>,
}

/// The value the edited file must have: the input tree plus the declared changes.
pub(super) struct Expected<'y, 'c> {
    y: &'y Yaml,
    /// Per input node: index into `overlays`, or `NONE` (empty when nothing changes).
    index: Vec<u32>,
    overlays: Vec<Overlay<'c>>,
    /// Nodes of the values the changes add (for the alias check's bound).
    added: u64,
    /// Whether a change value holds an alias.
    new_alias: bool,
}

/// Changes still to apply below a node: remaining path steps and the change.
type Pending<'c> = Vec<(&'c [Seg], &'c Change)>;

fn value_nodes(v: &Value, alias: &mut bool) -> u64 {
    match &v.data {
        Data::Scalar(..) => 1,
        Data::Alias(_) => {
            *alias = true;
            1
        }
        Data::Seq(items) => 1 + items.iter().map(|i| value_nodes(i, alias)).sum::<u64>(),
        Data::Map(e) => {
            1 + e
                .iter()
                .map(|(k, v)| value_nodes(k, alias) + value_nodes(v, alias))
                .sum::<u64>()
        }
    }
}

impl<'y, 'c> Expected<'y, 'c> {
    /// The expected value of `y` after `changes`; fails with the path of a change that
    /// addresses something that does not exist (as `apply_changes` does).
    pub(super) fn new(y: &'y Yaml, changes: &[&'c Change]) -> Result<Self, Path> {
        let mut per_doc: Vec<Pending<'c>> = vec![Vec::new(); y.docs.len()];
        let mut ex = Expected {
            y,
            index: Vec::new(),
            overlays: Vec::new(),
            added: 0,
            new_alias: false,
        };
        for &c in changes {
            let p = c.path();
            per_doc
                .get_mut(p.doc)
                .ok_or_else(|| p.clone())?
                .push((&p.segs[..], c));
            match c {
                Change::Set(_, v) | Change::InsertKey(_, _, v) | Change::Append(_, v) => {
                    ex.added += value_nodes(v, &mut ex.new_alias) + 1;
                }
                Change::Remove(_) => {}
            }
        }
        if !changes.is_empty() {
            ex.index = vec![NONE; y.len()];
        }
        for (d, items) in y.docs.iter().zip(per_doc) {
            if !items.is_empty() {
                ex.apply_node(d.root, items)?;
            }
        }
        Ok(ex)
    }

    fn overlay_mut(&mut self, n: NodeId) -> &mut Overlay<'c> {
        if self.index[n] == NONE {
            self.index[n] = self.overlays.len() as u32;
            self.overlays.push(Overlay::default());
        }
        &mut self.overlays[self.index[n] as usize]
    }

    fn overlay(&self, n: NodeId) -> Option<&Overlay<'c>> {
        match self.index.get(n) {
            Some(&i) if i != NONE => Some(&self.overlays[i as usize]),
            _ => None,
        }
    }

    /// The text of a scalar key as a value sees it (an alias key is no scalar).
    fn key_text(&self, key: NodeId) -> Option<&'y str> {
        self.y.scalar_value(key)
    }

    /// Mirror of `value::apply_node` on the input tree: the same order of checks and errors.
    fn apply_node(&mut self, n: NodeId, items: Pending<'c>) -> Result<(), Path> {
        let mut here = Vec::new();
        let mut removes: Vec<(&'c Seg, &'c Change)> = Vec::new();
        let mut deeper: Vec<(&'c Seg, Pending<'c>)> = Vec::new();
        let mut slot: HashMap<&'c Seg, usize> = HashMap::new();
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
        let y = self.y;
        if !deeper.is_empty() {
            match y.kind(n) {
                NodeKind::Map { entries } => {
                    let index: Option<HashMap<&str, usize>> = (entries.len() > 16).then(|| {
                        entries
                            .iter()
                            .enumerate()
                            .filter_map(|(i, e)| Some((self.key_text(e.key)?, i)))
                            .collect()
                    });
                    let find = |k: &str| match &index {
                        Some(ix) => ix.get(k).copied(),
                        None => entries.iter().position(|e| self.key_text(e.key) == Some(k)),
                    };
                    let mut targets = Vec::with_capacity(deeper.len());
                    for (seg, list) in deeper {
                        let i = match seg {
                            Seg::Key(k) => find(k),
                            Seg::Index(_) => None,
                        };
                        match i {
                            Some(i) => targets.push((entries[i].value, list)),
                            None => return Err(list[0].1.path().clone()),
                        }
                    }
                    for (child, list) in targets {
                        self.apply_node(child, list)?;
                    }
                }
                NodeKind::Seq { items } => {
                    for (seg, list) in deeper {
                        let item = match seg {
                            Seg::Index(i) => items.get(*i).copied(),
                            Seg::Key(_) => None,
                        };
                        match item {
                            Some(item) => self.apply_node(item, list)?,
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
                let i = match (y.kind(n), seg) {
                    (NodeKind::Map { entries }, Seg::Key(k)) => entries
                        .iter()
                        .position(|e| self.key_text(e.key) == Some(k.as_str())),
                    (NodeKind::Seq { items }, Seg::Index(i)) => (*i < items.len()).then_some(*i),
                    _ => None,
                };
                idx.push(i.ok_or_else(|| c.path().clone())?);
            }
            idx.sort_unstable();
            idx.dedup();
            self.overlay_mut(n).removed = idx;
        }
        if here.is_empty() {
            return Ok(());
        }
        let is_map = matches!(y.kind(n), NodeKind::Map { .. });
        let is_seq = matches!(y.kind(n), NodeKind::Seq { .. });
        let mut set: Option<Cow<'c, Value>> = None;
        let mut inserted = Vec::new();
        let mut appended = Vec::new();
        for c in here {
            match c {
                Change::Set(_, v) => set = Some(Cow::Borrowed(v)),
                Change::InsertKey(p, k, v) => match &mut set {
                    None if is_map => inserted.push((k.as_str(), v)),
                    Some(s) if matches!(s.data, Data::Map(_)) => {
                        if let Data::Map(e) = &mut s.to_mut().data {
                            e.push((Value::str(k.clone()), v.clone()));
                        }
                    }
                    _ => return Err(p.clone()),
                },
                Change::Append(p, v) => match &mut set {
                    None if is_seq => appended.push(v),
                    Some(s) if matches!(s.data, Data::Seq(_)) => {
                        if let Data::Seq(items) = &mut s.to_mut().data {
                            items.push(v.clone());
                        }
                    }
                    _ => return Err(p.clone()),
                },
                Change::Remove(p) => return Err(p.clone()),
            }
        }
        let o = self.overlay_mut(n);
        o.inserted.extend(inserted);
        o.appended.extend(appended);
        o.set = set;
        Ok(())
    }
}

/// A node of the expected value.
#[derive(Debug, Clone, Copy)]
pub(super) enum V<'e> {
    /// An input node (seen through its overlay).
    In(NodeId),
    /// A value a change writes.
    New(&'e Value),
    /// A key a change adds.
    Key(&'e str),
}

/// What the comparison needs of an expected node.
#[derive(Debug, Clone, Copy)]
enum Info<'e> {
    Scalar(ScalarKind, &'e str),
    Alias(&'e str),
    Seq(usize),
    Map(usize),
}

impl Info<'_> {
    fn describe(&self) -> String {
        match self {
            Info::Scalar(k, s) => format!("{k:?} scalar {s:?}"),
            Info::Seq(n) => format!("sequence of {n}"),
            Info::Map(n) => format!("mapping of {n}"),
            Info::Alias(a) => format!("alias *{a}"),
        }
    }
}

/// How a scalar resolves: its tag decides, else a plain scalar resolves by the core schema.
fn scalar_kind(tag: Option<&str>, style: ScalarStyle, value: &str) -> ScalarKind {
    match (tag, style) {
        (Some(t), _) => tag_kind(t).unwrap_or(ScalarKind::Str),
        (None, ScalarStyle::Plain) => resolve_plain(value),
        _ => ScalarKind::Str,
    }
}

/// One child of an expected collection: its key (for mapping entries) and its value.
type Kid<'e> = (Option<V<'e>>, V<'e>);

/// The children of an expected collection: input children not removed, then added ones.
pub(super) struct Kids<'e> {
    src: KidSrc<'e>,
    i: usize,
    r: usize,
    j: usize,
}

enum KidSrc<'e> {
    InSeq {
        items: &'e [NodeId],
        removed: &'e [usize],
        appended: &'e [&'e Value],
    },
    InMap {
        entries: &'e [Entry],
        removed: &'e [usize],
        inserted: &'e [(&'e str, &'e Value)],
    },
    NewSeq(&'e [Value]),
    NewMap(&'e [(Value, Value)]),
    Empty,
}

impl<'e> Iterator for Kids<'e> {
    type Item = Kid<'e>;
    fn next(&mut self) -> Option<Self::Item> {
        match &self.src {
            KidSrc::InSeq {
                items,
                removed,
                appended,
            } => {
                while self.i < items.len() {
                    let i = self.i;
                    self.i += 1;
                    if removed.get(self.r) == Some(&i) {
                        self.r += 1;
                        continue;
                    }
                    return Some((None, V::In(items[i])));
                }
                let v = appended.get(self.j)?;
                self.j += 1;
                Some((None, V::New(v)))
            }
            KidSrc::InMap {
                entries,
                removed,
                inserted,
            } => {
                while self.i < entries.len() {
                    let i = self.i;
                    self.i += 1;
                    if removed.get(self.r) == Some(&i) {
                        self.r += 1;
                        continue;
                    }
                    let e = entries[i];
                    return Some((Some(V::In(e.key)), V::In(e.value)));
                }
                let (k, v) = inserted.get(self.j)?;
                self.j += 1;
                Some((Some(V::Key(k)), V::New(v)))
            }
            KidSrc::NewSeq(items) => {
                let v = items.get(self.i)?;
                self.i += 1;
                Some((None, V::New(v)))
            }
            KidSrc::NewMap(entries) => {
                let (k, v) = entries.get(self.i)?;
                self.i += 1;
                Some((Some(V::New(k)), V::New(v)))
            }
            KidSrc::Empty => None,
        }
    }
}

impl<'y, 'c> Expected<'y, 'c> {
    /// `v` with a replacing overlay applied.
    fn view<'e>(&'e self, v: V<'e>) -> V<'e> {
        if let V::In(n) = v {
            if let Some(s) = self.overlay(n).and_then(|o| o.set.as_deref()) {
                return V::New(s);
            }
        }
        v
    }

    fn info<'e>(&'e self, v: V<'e>) -> (Info<'e>, Option<&'e str>, Option<&'e str>) {
        match self.view(v) {
            V::In(n) => {
                let y = self.y;
                let o = self.overlay(n);
                let delta = |len: usize| {
                    o.map_or(len, |o| {
                        len - o.removed.len() + o.inserted.len() + o.appended.len()
                    })
                };
                let info = match y.kind(n) {
                    NodeKind::Scalar { style } => {
                        let value = y.scalar_value(n).unwrap_or_default();
                        Info::Scalar(scalar_kind(y.tag(n), style, value), value)
                    }
                    NodeKind::Alias { name, .. } => Info::Alias(name),
                    NodeKind::Seq { items } => Info::Seq(delta(items.len())),
                    NodeKind::Map { entries } => Info::Map(delta(entries.len())),
                };
                (info, y.anchor(n), y.tag(n))
            }
            V::New(val) => {
                let info = match &val.data {
                    Data::Scalar(k, s) => Info::Scalar(*k, s),
                    Data::Alias(a) => Info::Alias(a),
                    Data::Seq(i) => Info::Seq(i.len()),
                    Data::Map(e) => Info::Map(e.len()),
                };
                (info, val.anchor.as_deref(), val.tag.as_deref())
            }
            V::Key(k) => (Info::Scalar(ScalarKind::Str, k), None, None),
        }
    }

    fn kids<'e>(&'e self, v: V<'e>) -> Kids<'e> {
        let src = match self.view(v) {
            V::In(n) => {
                let o = self.overlay(n);
                let removed: &[usize] = o.map_or(&[], |o| &o.removed);
                match self.y.kind(n) {
                    NodeKind::Seq { items } => KidSrc::InSeq {
                        items: items.as_slice(),
                        removed,
                        appended: o.map_or(&[], |o| &o.appended),
                    },
                    NodeKind::Map { entries } => KidSrc::InMap {
                        entries: entries.as_slice(),
                        removed,
                        inserted: o.map_or(&[], |o| &o.inserted),
                    },
                    _ => KidSrc::Empty,
                }
            }
            V::New(val) => match &val.data {
                Data::Seq(items) => KidSrc::NewSeq(items),
                Data::Map(e) => KidSrc::NewMap(e),
                _ => KidSrc::Empty,
            },
            V::Key(_) => KidSrc::Empty,
        };
        Kids {
            src,
            i: 0,
            r: 0,
            j: 0,
        }
    }

    /// Whether the expected value could trip the alias limit at all.
    fn has_alias(&self) -> bool {
        self.y.has_alias() || self.new_alias
    }
}

/// The expected value as a document for the alias check.
struct ExpDoc<'e, 'y, 'c>(&'e Expected<'y, 'c>);

impl<'e> Doc for ExpDoc<'e, '_, '_> {
    type N = V<'e>;
    type Items<'s>
        = std::iter::Map<Kids<'e>, fn(Kid<'e>) -> V<'e>>
    where
        Self: 's;
    type Entries<'s>
        = std::iter::FilterMap<Kids<'e>, fn(Kid<'e>) -> Option<(V<'e>, V<'e>)>>
    where
        Self: 's;

    fn roots(&self) -> Vec<V<'e>> {
        self.0.y.docs.iter().map(|d| V::In(d.root)).collect()
    }
    fn shape(&self, n: V<'e>) -> Shape<'_, V<'e>> {
        let ex = self.0;
        match ex.view(n) {
            V::In(id) => {
                let y = ex.y;
                match y.kind(id) {
                    NodeKind::Scalar { style } => {
                        let value = y.scalar_value(id).unwrap_or_default();
                        let tag = y.tag(id);
                        Shape::Scalar {
                            merge: aliases::is_merge_key(style, tag, value),
                            ident: aliases::key_ident(style, tag, value),
                        }
                    }
                    NodeKind::Alias { target, .. } => Shape::Alias(V::In(target)),
                    NodeKind::Seq { .. } => Shape::Seq,
                    NodeKind::Map { .. } => Shape::Map,
                }
            }
            V::New(val) => match &val.data {
                Data::Scalar(k, s) => Shape::Scalar {
                    merge: false,
                    ident: (*k, s),
                },
                // An alias a change writes is not followed (rules write none).
                Data::Alias(a) => Shape::Scalar {
                    merge: false,
                    ident: (ScalarKind::Str, a),
                },
                Data::Seq(_) => Shape::Seq,
                Data::Map(_) => Shape::Map,
            },
            V::Key(k) => Shape::Scalar {
                merge: false,
                ident: (ScalarKind::Str, k),
            },
        }
    }
    fn items(&self, n: V<'e>) -> Self::Items<'_> {
        let f: fn(Kid<'e>) -> V<'e> = |(_, v)| v;
        self.0.kids(n).map(f)
    }
    fn entries(&self, n: V<'e>) -> Self::Entries<'_> {
        let f: fn(Kid<'e>) -> Option<(V<'e>, V<'e>)> = |(k, v)| Some((k?, v));
        self.0.kids(n).filter_map(f)
    }
    fn memo_index(&self, n: V<'e>) -> Option<usize> {
        match self.0.view(n) {
            V::In(id) => Some(id),
            _ => None,
        }
    }
    fn memo_len(&self) -> usize {
        self.0.y.len()
    }
    fn position(&self, n: V<'e>) -> Option<usize> {
        match n {
            V::In(id) => Some(self.0.y.full_start(id)),
            _ => None,
        }
    }
    fn written(&self) -> u64 {
        self.0.y.len() as u64 + self.0.added
    }
}

/// Verification failure of a set of fixes.
#[derive(Debug, Clone)]
pub enum VerifyError {
    /// The output does not parse.
    Parse(ParseError),
    /// A declared change addresses a path that does not exist in the input.
    BadChange(Path),
    /// The output's value differs from the expected one.
    Mismatch(Path, String),
    /// Docker Compose would refuse the output for excessive aliasing (position in the input).
    Aliasing(ParseError),
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VerifyError::Parse(e) => write!(
                f,
                "the edited file does not parse ({}:{}: {})",
                e.line, e.col, e.message
            ),
            VerifyError::BadChange(p) => {
                write!(f, "a declared change addresses `{p}`, which does not exist")
            }
            VerifyError::Mismatch(p, d) => {
                write!(f, "the edited file's value differs at `{p}`: {d}")
            }
            VerifyError::Aliasing(e) => write!(
                f,
                "Docker Compose would refuse the edited file (near input {}:{}): {}",
                e.line, e.col, e.message
            ),
        }
    }
}

/// One open output collection.
enum Frame<'e> {
    /// Not compared (after the first difference, beyond the expected children, or a kind
    /// that differs).
    Skip,
    Cmp {
        kids: Kids<'e>,
        expected: usize,
        seen: usize,
        is_map: bool,
        /// The expected value for the output value that follows the current key (`None`:
        /// the entry is beyond the expected ones).
        value: Option<V<'e>>,
        /// How this collection sits in its parent (to undo its path step at its end).
        role: Role,
    },
}

/// Compares the output's node events with the expected value.
struct Compare<'e, 'y, 'c> {
    ex: &'e Expected<'y, 'c>,
    text: &'e str,
    frames: Vec<Frame<'e>>,
    path: Path,
    /// Open key subtrees (each prefixes a difference with `key: `).
    in_key: usize,
    docs: usize,
    next_id: usize,
    first: Option<(Path, String)>,
}

impl<'e> Compare<'e, '_, '_> {
    fn differ(&mut self, msg: String) {
        if self.first.is_none() {
            let msg = format!("{}{msg}", "key: ".repeat(self.in_key));
            self.first = Some((self.path.clone(), msg));
        }
    }

    /// The expected node at the position of a new output node, with the path step taken.
    fn expected_for(&mut self, ev: &NodeEv<'_>) -> Option<V<'e>> {
        if self.first.is_some() {
            return None;
        }
        match ev.role {
            Role::Root => {
                let root = self.ex.y.docs.get(self.docs)?.root;
                self.path = Path::root(self.docs);
                Some(V::In(root))
            }
            Role::Item => match self.frames.last_mut()? {
                Frame::Cmp { kids, seen, .. } => {
                    let (_, v) = kids.next()?;
                    self.path.segs.push(Seg::Index(*seen));
                    Some(v)
                }
                Frame::Skip => None,
            },
            Role::Key => match self.frames.last_mut()? {
                Frame::Cmp { kids, value, .. } => {
                    let Some((Some(k), v)) = kids.next() else {
                        *value = None;
                        return None;
                    };
                    *value = Some(v);
                    let seg = match self.ex.info(k).0 {
                        Info::Scalar(_, s) => s.to_string(),
                        _ => "?".to_string(),
                    };
                    self.path.segs.push(Seg::Key(seg));
                    self.in_key += 1;
                    Some(k)
                }
                Frame::Skip => None,
            },
            Role::Value => match self.frames.last_mut()? {
                Frame::Cmp { value, .. } => value.take(),
                Frame::Skip => None,
            },
        }
    }

    /// A compared node is complete: undo its path step.
    fn done(&mut self, role: Role) {
        if self.first.is_some() {
            return;
        }
        match role {
            Role::Root => {}
            Role::Item | Role::Value => {
                self.path.segs.pop();
            }
            Role::Key => self.in_key -= 1,
        }
    }

    /// Count a new output child in its parent frame.
    fn count(&mut self, role: Role) {
        if let Some(Frame::Cmp { seen, .. }) = self.frames.last_mut() {
            if matches!(role, Role::Item | Role::Key) {
                *seen += 1;
            }
        }
    }
}

impl Sink for Compare<'_, '_, '_> {
    fn node(&mut self, ev: &NodeEv<'_>) -> usize {
        let id = self.next_id;
        self.next_id += 1;
        let is_coll = matches!(ev.kind, EvKind::Seq | EvKind::Map);
        let expected = self.expected_for(ev);
        self.count(ev.role);
        let Some(v) = expected else {
            if is_coll {
                self.frames.push(Frame::Skip);
            }
            return id;
        };
        let (info, anchor, tag) = self.ex.info(v);
        let out_anchor = ev.anchor.clone().map(|r| &self.text[r]);
        let out_tag = ev.tag.clone().map(|r| &self.text[r]);
        let mut frame = Frame::Skip;
        if anchor != out_anchor || tag != out_tag {
            self.differ("anchor or tag differs".into());
        } else {
            match (info, ev.kind) {
                (Info::Scalar(k, t), EvKind::Scalar(style, value)) => {
                    let nk = scalar_kind(out_tag, style, value);
                    if k != nk || t != value {
                        self.differ(format!(
                            "expected {}, found {nk:?} scalar {value:?}",
                            info.describe()
                        ));
                    }
                }
                (Info::Alias(a), EvKind::Alias { name, .. }) => {
                    if a != name {
                        self.differ(format!("expected alias *{a}, found *{name}"));
                    }
                }
                (Info::Seq(n), EvKind::Seq) | (Info::Map(n), EvKind::Map) => {
                    frame = Frame::Cmp {
                        kids: self.ex.kids(v),
                        expected: n,
                        seen: 0,
                        is_map: matches!(ev.kind, EvKind::Map),
                        value: None,
                        role: ev.role,
                    };
                }
                _ => self.differ(format!(
                    "expected {}, found another kind of node",
                    info.describe()
                )),
            }
        }
        if is_coll {
            // After a difference in a collection's kind nothing below it is compared.
            self.frames.push(frame);
        } else {
            self.done(ev.role);
        }
        id
    }

    fn end(&mut self, _id: usize, _end: usize) {
        let Some(frame) = self.frames.pop() else {
            return;
        };
        if let Frame::Cmp {
            expected,
            seen,
            is_map,
            role,
            ..
        } = frame
        {
            if expected != seen {
                let what = if is_map { "entries" } else { "items" };
                self.differ(format!("expected {expected} {what}, found {seen}"));
            }
            self.done(role);
        }
    }

    fn document(&mut self, _root: usize) {
        self.docs += 1;
    }
}

/// Check that `output` parses and its value equals the value of `input` plus `changes`,
/// comparing as the output streams (no tree of the output, no expected-value tree).
pub fn verify<C: Borrow<Change>>(
    input: &Yaml,
    output: &str,
    changes: &[C],
) -> Result<(), VerifyError> {
    let changes: Vec<&Change> = changes.iter().map(Borrow::borrow).collect();
    let ex = Expected::new(input, &changes).map_err(VerifyError::BadChange)?;
    verify_expected(&ex, output)
}

fn verify_expected(ex: &Expected<'_, '_>, output: &str) -> Result<(), VerifyError> {
    let lines = super::text::LineIndex::new(output);
    let parse = |r: Result<(), ParseError>| r.map_err(VerifyError::Parse);
    parse(super::tree::check_size(output))?;
    parse(walk::check_line_endings(output, &lines))?;
    let bom = if output.starts_with('\u{feff}') { 3 } else { 0 };
    let mut cmp = Compare {
        ex,
        text: output,
        frames: Vec::new(),
        path: Path::root(0),
        in_key: 0,
        docs: 0,
        next_id: 0,
        first: None,
    };
    parse(walk::walk(output, bom, &lines, Limits::default(), &mut cmp))?;
    if ex.has_alias() {
        aliases::check_doc(&ExpDoc(ex))
            .map_err(|e| VerifyError::Aliasing(e.to_error(|p| ex.y.line_col(p))))?;
    }
    let expected_docs = ex.y.docs.len();
    if cmp.docs != expected_docs {
        return Err(VerifyError::Mismatch(
            Path::root(expected_docs.min(cmp.docs)),
            format!("{expected_docs} documents expected, {} found", cmp.docs),
        ));
    }
    match cmp.first {
        None => Ok(()),
        Some((p, d)) => Err(VerifyError::Mismatch(p, d)),
    }
}
