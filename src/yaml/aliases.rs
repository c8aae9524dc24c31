//! Alias limits as Docker Compose's YAML library sets them.
//!
//! Compose decodes with go-yaml v3, which counts every node it decodes and every node it
//! decodes inside an alias expansion, and refuses a document ("document contains excessive
//! aliasing") as soon as more than 100 of more than 1,000 decoded nodes came from aliases and
//! their share exceeds an allowed ratio: 99 % up to 400,000 decoded nodes, falling linearly to
//! 10 % at 4,000,000 (go-yaml `decode.go`, `allowedAliasRatio`). A "billion laughs" document is
//! refused early; a file that merges one anchor into each of 30,000 services is not.
//!
//! The same counts are computed here without expanding anything: the decode order is
//! go-yaml's (a mapping's merge key is decoded after its other entries, re-decoding the
//! mapping's keys, and keys the mapping already has shadow the merged ones), an alias
//! expansion costs the memoized size of its target, and the check runs after every written
//! node and after every expansion (within one expansion both counts grow together, so the
//! share only rises: checking at its end finds the same failure).

use std::collections::HashSet;

use super::tree::{NodeKind, ParseError, ScalarStyle, Yaml};
use super::value::{resolve_plain, ScalarKind};

/// go-yaml's `alias_ratio_range_low`.
const RANGE_LOW: u64 = 400_000;
/// go-yaml's `alias_ratio_range_high`.
const RANGE_HIGH: u64 = 4_000_000;

/// The share of decoded nodes that may come from aliases when `decoded` nodes are decoded
/// (go-yaml's `allowedAliasRatio`).
pub fn allowed_ratio(decoded: u64) -> f64 {
    if decoded <= RANGE_LOW {
        0.99
    } else if decoded >= RANGE_HIGH {
        0.10
    } else {
        0.99 - 0.89 * ((decoded - RANGE_LOW) as f64 / (RANGE_HIGH - RANGE_LOW) as f64)
    }
}

/// go-yaml's test: more than 100 aliased of more than 1,000 decoded nodes, over the ratio.
pub fn excessive(decoded: u64, aliased: u64) -> bool {
    aliased > 100 && decoded > 1000 && aliased as f64 / decoded as f64 > allowed_ratio(decoded)
}

/// What the check needs to know of a node.
pub(super) enum Shape<'a, N> {
    /// A scalar: whether it is a merge key (`<<`), and how it is identified as a key.
    Scalar {
        merge: bool,
        ident: (ScalarKind, &'a str),
    },
    /// An alias to a node.
    Alias(N),
    /// A sequence.
    Seq,
    /// A mapping.
    Map,
}

/// A document model the check walks: the parsed tree, or the value a verified edit must have.
pub(super) trait Doc {
    type N: Copy;
    type Items<'s>: Iterator<Item = Self::N>
    where
        Self: 's;
    type Entries<'s>: Iterator<Item = (Self::N, Self::N)>
    where
        Self: 's;
    /// The document roots.
    fn roots(&self) -> Vec<Self::N>;
    fn shape(&self, n: Self::N) -> Shape<'_, Self::N>;
    fn items(&self, n: Self::N) -> Self::Items<'_>;
    fn entries(&self, n: Self::N) -> Self::Entries<'_>;
    /// A dense index (below [`Doc::memo_len`]) for nodes whose size can be remembered.
    fn memo_index(&self, n: Self::N) -> Option<usize>;
    fn memo_len(&self) -> usize;
    /// Byte offset of the node in the text it was read from, if any.
    fn position(&self, n: Self::N) -> Option<usize>;
    /// Number of written nodes.
    fn written(&self) -> u64;
}

/// Whether `key` is a merge key as go-yaml reads it: a plain, untagged `<<` (or one tagged
/// `!!merge`).
pub(super) fn is_merge_key(style: ScalarStyle, tag: Option<&str>, value: &str) -> bool {
    value == "<<"
        && match tag {
            None | Some("!") => style == ScalarStyle::Plain,
            Some(t) => t == "!!merge" || t == "tag:yaml.org,2002:merge",
        }
}

/// How a scalar key is identified among merged keys (go-yaml compares decoded values).
pub(super) fn key_ident<'a>(
    style: ScalarStyle,
    tag: Option<&str>,
    value: &'a str,
) -> (ScalarKind, &'a str) {
    let kind = match (tag, style) {
        (Some("!!str"), _) => ScalarKind::Str,
        (None, ScalarStyle::Plain) => resolve_plain(value),
        (Some(_), ScalarStyle::Plain) => resolve_plain(value),
        _ => ScalarKind::Str,
    };
    (kind, value)
}

/// The document is refused: counts when it tripped, and where.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Excess {
    pub at: Option<usize>,
    pub decoded: u64,
    pub aliased: u64,
}

impl Excess {
    /// The parse error to report for it.
    pub(super) fn to_error(&self, y_lines: impl Fn(usize) -> (usize, usize)) -> ParseError {
        let (line, col) = self.at.map_or((1, 1), y_lines);
        let pct = |x: f64| (x * 1000.0).round() / 10.0;
        let share = if self.decoded == 0 {
            0.0
        } else {
            self.aliased as f64 / self.decoded as f64
        };
        ParseError {
            line,
            col,
            message: format!(
                "excessive aliasing: decoding reaches {} nodes, {} of them ({}%) through aliases, more than the {}% Docker Compose's YAML library accepts: refusing a \"billion laughs\" document (expand the aliases or reduce them)",
                self.decoded,
                self.aliased,
                pct(share),
                pct(allowed_ratio(self.decoded))
            ),
        }
    }
}

const UNKNOWN: u64 = u64::MAX;
/// Deepest recursion into alias targets whose size is not yet known.
const MAX_RECURSION: usize = 4096;

type Idents<'a> = HashSet<(ScalarKind, &'a str)>;

struct Sim<'d, D: Doc> {
    doc: &'d D,
    memo: Vec<u64>,
    decoded: u64,
    aliased: u64,
    /// Above this many decoded nodes in one computation, go-yaml certainly refuses.
    cap: u64,
}

/// A merge source still to decode: the node, and whether it may be a sequence of sources.
#[derive(Clone, Copy)]
struct Src<N> {
    node: N,
    seq_ok: bool,
}

impl<'d, D: Doc> Sim<'d, D> {
    fn excess(&self, at: D::N) -> Excess {
        Excess {
            at: self.doc.position(at),
            decoded: self.decoded,
            aliased: self.aliased,
        }
    }

    fn over_cap(&self, at: D::N, count: u64) -> Excess {
        Excess {
            at: self.doc.position(at),
            decoded: self.decoded.saturating_add(count),
            aliased: self.aliased.saturating_add(count),
        }
    }

    /// One node decoded outside any alias.
    fn step(&mut self, n: D::N) -> Result<(), Excess> {
        self.decoded += 1;
        if excessive(self.decoded, self.aliased) {
            return Err(self.excess(n));
        }
        Ok(())
    }

    /// `k` nodes decoded inside an alias expansion at `n`.
    fn expanded(&mut self, n: D::N, k: u64) -> Result<(), Excess> {
        self.decoded = self.decoded.saturating_add(k);
        self.aliased = self.aliased.saturating_add(k);
        if excessive(self.decoded, self.aliased) {
            return Err(self.excess(n));
        }
        Ok(())
    }

    fn remember(&mut self, n: D::N, count: u64) {
        if let Some(i) = self.doc.memo_index(n) {
            self.memo[i] = count;
        }
    }

    fn ident(&self, k: D::N) -> Option<(ScalarKind, &'d str)> {
        let mut k = k;
        // A key that is an alias decodes as its target.
        for _ in 0..2 {
            match self.doc.shape(k) {
                Shape::Scalar { ident, .. } => return Some(ident),
                Shape::Alias(t) => k = t,
                _ => return None,
            }
        }
        None
    }

    fn is_merge(&self, k: D::N) -> bool {
        matches!(self.doc.shape(k), Shape::Scalar { merge: true, .. })
    }

    /// Nodes decoded for `n` outside a merge (no counting toward the check).
    fn size(&mut self, n: D::N, depth: usize) -> Result<u64, Excess> {
        if let Some(i) = self.doc.memo_index(n) {
            if self.memo[i] != UNKNOWN {
                return Ok(self.memo[i]);
            }
        }
        if depth > MAX_RECURSION {
            return Err(self.over_cap(n, self.cap));
        }
        let count = match self.doc.shape(n) {
            Shape::Scalar { .. } => 1,
            Shape::Alias(t) => 1 + self.size(t, depth + 1)?,
            Shape::Seq => {
                let mut c = 1u64;
                for i in self.doc.items(n) {
                    c = c.saturating_add(self.size(i, depth + 1)?);
                }
                c
            }
            Shape::Map => {
                let mut c = 1u64;
                let mut merge = None;
                for (k, v) in self.doc.entries(n) {
                    if self.is_merge(k) {
                        merge = Some(v);
                        continue;
                    }
                    c = c
                        .saturating_add(self.size(k, depth + 1)?)
                        .saturating_add(self.size(v, depth + 1)?);
                }
                if let Some(m) = merge {
                    let mut seen = Idents::new();
                    for (k, _) in self.doc.entries(n) {
                        c = c.saturating_add(self.size(k, depth + 1)?);
                        if let Some(id) = self.ident(k) {
                            seen.insert(id);
                        }
                    }
                    c = c.saturating_add(self.merged(
                        Src {
                            node: m,
                            seq_ok: true,
                        },
                        &mut seen,
                        depth,
                    )?);
                }
                c
            }
        };
        if count > self.cap {
            return Err(self.over_cap(n, count));
        }
        self.remember(n, count);
        Ok(count)
    }

    /// Nodes decoded for merge source `src` into a mapping whose keys so far are `seen` (no
    /// counting toward the check; merge chains are followed without recursion).
    fn merged(
        &mut self,
        src: Src<D::N>,
        seen: &mut Idents<'d>,
        depth: usize,
    ) -> Result<u64, Excess> {
        let mut todo = vec![src];
        let mut c = 0u64;
        while let Some(Src { node, seq_ok }) = todo.pop() {
            match self.doc.shape(node) {
                Shape::Map => {
                    c = c.saturating_add(1);
                    let mut merge = None;
                    for (k, v) in self.doc.entries(node) {
                        if self.is_merge(k) {
                            merge = Some(v);
                            continue;
                        }
                        c = c.saturating_add(self.size(k, depth + 1)?);
                        if let Some(id) = self.ident(k) {
                            if !seen.insert(id) {
                                continue;
                            }
                        }
                        c = c.saturating_add(self.size(v, depth + 1)?);
                    }
                    if let Some(m) = merge {
                        todo.push(Src {
                            node: m,
                            seq_ok: true,
                        });
                    }
                }
                Shape::Alias(t) => {
                    c = c.saturating_add(1);
                    todo.push(Src {
                        node: t,
                        seq_ok: false,
                    });
                }
                Shape::Seq if seq_ok => {
                    let items: Vec<D::N> = self.doc.items(node).collect();
                    for i in items.into_iter().rev() {
                        todo.push(Src {
                            node: i,
                            seq_ok: false,
                        });
                    }
                }
                // Not a mapping: go-yaml refuses the merge itself.
                _ => {}
            }
            if c > self.cap {
                return Err(self.over_cap(src.node, c));
            }
        }
        Ok(c)
    }

    /// Decode `n` outside any alias, counting and checking node by node.
    fn decode(&mut self, n: D::N) -> Result<u64, Excess> {
        self.step(n)?;
        let count = match self.doc.shape(n) {
            Shape::Scalar { .. } => 1,
            Shape::Alias(t) => {
                let k = self.size(t, 0)?;
                self.expanded(n, k)?;
                1 + k
            }
            Shape::Seq => {
                let mut c = 1u64;
                for i in self.doc.items(n) {
                    c = c.saturating_add(self.decode(i)?);
                }
                c
            }
            Shape::Map => {
                let (c, merge) = self.decode_entries(n, None)?;
                match merge {
                    None => c,
                    Some(m) => {
                        let mut seen = Idents::new();
                        let mut c = c;
                        for (k, _) in self.doc.entries(n) {
                            c = c.saturating_add(self.decode(k)?);
                            if let Some(id) = self.ident(k) {
                                seen.insert(id);
                            }
                        }
                        c.saturating_add(self.decode_merge(m, &mut seen, true)?)
                    }
                }
            }
        };
        self.remember(n, count);
        Ok(count)
    }

    /// Decode a mapping's entries other than its merge key (after the mapping node itself),
    /// skipping the values of keys in `seen`; returns the count and the merge value.
    fn decode_entries(
        &mut self,
        n: D::N,
        mut seen: Option<&mut Idents<'d>>,
    ) -> Result<(u64, Option<D::N>), Excess> {
        let mut c = 1u64;
        let mut merge = None;
        for (k, v) in self.doc.entries(n) {
            if self.is_merge(k) {
                merge = Some(v);
                continue;
            }
            c = c.saturating_add(self.decode(k)?);
            if let (Some(seen), Some(id)) = (seen.as_deref_mut(), self.ident(k)) {
                if !seen.insert(id) {
                    continue;
                }
            }
            c = c.saturating_add(self.decode(v)?);
        }
        Ok((c, merge))
    }

    /// Decode merge source `m` outside any alias (its alias expansions count as aliased).
    fn decode_merge(
        &mut self,
        m: D::N,
        seen: &mut Idents<'d>,
        seq_ok: bool,
    ) -> Result<u64, Excess> {
        match self.doc.shape(m) {
            Shape::Map => {
                self.step(m)?;
                let (c, merge) = self.decode_entries(m, Some(seen))?;
                match merge {
                    None => Ok(c),
                    Some(m2) => Ok(c.saturating_add(self.decode_merge(m2, seen, true)?)),
                }
            }
            Shape::Alias(t) => {
                self.step(m)?;
                let k = self.merged(
                    Src {
                        node: t,
                        seq_ok: false,
                    },
                    seen,
                    0,
                )?;
                self.expanded(m, k)?;
                Ok(1 + k)
            }
            Shape::Seq if seq_ok => {
                let items: Vec<D::N> = self.doc.items(m).collect();
                let mut c = 0u64;
                for i in items {
                    c = c.saturating_add(self.decode_merge(i, seen, false)?);
                }
                Ok(c)
            }
            _ => Ok(0),
        }
    }
}

/// Refuse `doc` when go-yaml would refuse one of its documents for excessive aliasing.
pub(super) fn check_doc<D: Doc>(doc: &D) -> Result<(), Excess> {
    counts(doc).map(|_| ())
}

/// Per document: nodes go-yaml decodes, and how many of them through aliases.
pub(super) fn counts<D: Doc>(doc: &D) -> Result<Vec<(u64, u64)>, Excess> {
    let written = doc.written();
    let mut sim = Sim {
        doc,
        memo: vec![UNKNOWN; doc.memo_len()],
        decoded: 0,
        aliased: 0,
        cap: RANGE_HIGH.max(written.saturating_mul(20)),
    };
    let mut out = Vec::new();
    for root in doc.roots() {
        // go-yaml decodes each document with a fresh decoder.
        sim.decoded = 0;
        sim.aliased = 0;
        sim.decode(root)?;
        out.push((sim.decoded, sim.aliased));
    }
    Ok(out)
}

/// The parsed tree as a [`Doc`].
pub(super) struct TreeDoc<'y>(pub &'y Yaml);

impl Doc for TreeDoc<'_> {
    type N = usize;
    type Items<'s>
        = std::iter::Copied<std::slice::Iter<'s, usize>>
    where
        Self: 's;
    type Entries<'s>
        = std::iter::Map<
        std::slice::Iter<'s, super::tree::Entry>,
        fn(&super::tree::Entry) -> (usize, usize),
    >
    where
        Self: 's;

    fn roots(&self) -> Vec<usize> {
        self.0.docs.iter().map(|d| d.root).collect()
    }
    fn shape(&self, n: usize) -> Shape<'_, usize> {
        let y = self.0;
        match y.kind(n) {
            NodeKind::Scalar { style } => {
                let value = y.scalar_value(n).unwrap_or_default();
                let tag = y.tag(n);
                Shape::Scalar {
                    merge: is_merge_key(style, tag, value),
                    ident: key_ident(style, tag, value),
                }
            }
            NodeKind::Alias { target, .. } => Shape::Alias(target),
            NodeKind::Seq { .. } => Shape::Seq,
            NodeKind::Map { .. } => Shape::Map,
        }
    }
    fn items(&self, n: usize) -> Self::Items<'_> {
        match self.0.kind(n) {
            NodeKind::Seq { items } => items.as_slice().iter().copied(),
            _ => [].iter().copied(),
        }
    }
    fn entries(&self, n: usize) -> Self::Entries<'_> {
        let f: fn(&super::tree::Entry) -> (usize, usize) = |e| (e.key, e.value);
        match self.0.kind(n) {
            NodeKind::Map { entries } => entries.as_slice().iter().map(f),
            _ => [].iter().map(f),
        }
    }
    fn memo_index(&self, n: usize) -> Option<usize> {
        Some(n)
    }
    fn memo_len(&self) -> usize {
        self.0.len()
    }
    fn position(&self, n: usize) -> Option<usize> {
        Some(self.0.full_start(n))
    }
    fn written(&self) -> u64 {
        self.0.len() as u64
    }
}

/// Refuse the parsed file `y` when Docker Compose would refuse it for excessive aliasing.
pub(super) fn check(y: &Yaml) -> Result<(), ParseError> {
    check_doc(&TreeDoc(y)).map_err(|e| e.to_error(|p| y.line_col(p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// go-yaml's decoder, transcribed: walks every alias expansion node by node.
    struct Naive<'y> {
        doc: TreeDoc<'y>,
        decoded: u64,
        aliased: u64,
        depth: u32,
        merged: Option<Idents<'y>>,
    }

    impl<'y> Naive<'y> {
        fn unmarshal(&mut self, n: usize) -> Result<(), ()> {
            self.decoded += 1;
            if self.depth > 0 {
                self.aliased += 1;
            }
            if excessive(self.decoded, self.aliased) {
                return Err(());
            }
            match self.doc.shape(n) {
                Shape::Alias(t) => {
                    self.depth += 1;
                    self.unmarshal(t)?;
                    self.depth -= 1;
                }
                Shape::Scalar { .. } => {}
                Shape::Seq => {
                    for i in self.doc.items(n).collect::<Vec<_>>() {
                        self.unmarshal(i)?;
                    }
                }
                Shape::Map => self.mapping(n)?,
            }
            Ok(())
        }

        fn ident(&self, k: usize) -> Option<(ScalarKind, &'y str)> {
            let y: &'y Yaml = self.doc.0;
            let k = y.resolve(k);
            let style = y.style(k)?;
            Some(key_ident(style, y.tag(k), y.scalar_value(k)?))
        }

        fn is_merge(&self, k: usize) -> bool {
            matches!(self.doc.shape(k), Shape::Scalar { merge: true, .. })
        }

        fn mapping(&mut self, n: usize) -> Result<(), ()> {
            let mut fields = self.merged.take();
            let mut merge = None;
            for (k, v) in self.doc.entries(n).collect::<Vec<_>>() {
                if self.is_merge(k) {
                    merge = Some(v);
                    continue;
                }
                self.unmarshal(k)?;
                if let (Some(f), Some(id)) = (fields.as_mut(), self.ident(k)) {
                    if !f.insert(id) {
                        continue;
                    }
                }
                self.unmarshal(v)?;
            }
            self.merged = fields;
            if let Some(m) = merge {
                self.merge(n, m)?;
            }
            Ok(())
        }

        fn merge(&mut self, parent: usize, m: usize) -> Result<(), ()> {
            let outer_was_none = self.merged.is_none();
            if outer_was_none {
                let mut s = Idents::new();
                for (k, _) in self.doc.entries(parent).collect::<Vec<_>>() {
                    self.unmarshal(k)?;
                    if let Some(id) = self.ident(k) {
                        s.insert(id);
                    }
                }
                self.merged = Some(s);
            }
            match self.doc.shape(m) {
                Shape::Map => self.unmarshal(m)?,
                Shape::Alias(t) if matches!(self.doc.shape(t), Shape::Map) => self.unmarshal(m)?,
                Shape::Seq => {
                    for i in self.doc.items(m).collect::<Vec<_>>() {
                        let ok = match self.doc.shape(i) {
                            Shape::Map => true,
                            Shape::Alias(t) => matches!(self.doc.shape(t), Shape::Map),
                            _ => false,
                        };
                        if ok {
                            self.unmarshal(i)?;
                        }
                    }
                }
                _ => {}
            }
            if outer_was_none {
                self.merged = None;
            }
            Ok(())
        }
    }

    fn naive(y: &Yaml) -> Result<Vec<(u64, u64)>, ()> {
        let mut out = Vec::new();
        for d in &y.docs {
            let mut n = Naive {
                doc: TreeDoc(y),
                decoded: 0,
                aliased: 0,
                depth: 0,
                merged: None,
            };
            n.unmarshal(d.root)?;
            out.push((n.decoded, n.aliased));
        }
        Ok(out)
    }

    /// A small document of anchored mappings that alias and merge earlier ones, and a body
    /// that uses them, sized around go-yaml's thresholds.
    fn random_doc(seed: &mut u64) -> String {
        let mut next = |m: u64| {
            *seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (*seed >> 33) % m
        };
        let anchors = 2 + next(9) as usize;
        let mut s = String::new();
        for i in 0..anchors {
            s.push_str(&format!(
                "x{i}: &a{i}
"
            ));
            for k in 0..1 + next(7) {
                if i > 0 && next(2) == 0 {
                    s.push_str(&format!(
                        "  k{k}: *a{}
",
                        next(i as u64)
                    ));
                } else {
                    s.push_str(&format!(
                        "  k{k}: v{k}
"
                    ));
                }
            }
            if i > 0 && next(2) == 0 {
                let j = next(i as u64);
                if next(2) == 0 {
                    s.push_str(&format!(
                        "  <<: *a{j}
"
                    ));
                } else {
                    s.push_str(&format!(
                        "  <<: [*a{j}, *a{}]
",
                        next(i as u64)
                    ));
                }
            }
        }
        s.push_str(
            "body:
",
        );
        for r in 0..next(600) {
            let j = if next(2) == 0 {
                anchors as u64 - 1
            } else {
                next(anchors as u64)
            };
            match next(4) {
                0 => s.push_str(&format!(
                    "  - *a{j}
"
                )),
                1 => s.push_str(&format!(
                    "  - {{<<: *a{j}, k{}: w{r}}}
",
                    next(7)
                )),
                2 => s.push_str(&format!(
                    "  - [*a{j}, *a{}]
",
                    next(anchors as u64)
                )),
                _ => s.push_str(&format!(
                    "  - plain{r}
"
                )),
            }
        }
        s
    }

    #[test]
    fn counts_match_go_yaml_decoding_node_by_node() {
        let mut seed = 17u64;
        let (mut refused, mut accepted) = (0, 0);
        for case in 0..250 {
            let text = random_doc(&mut seed);
            // Parse without the check, then compare both ways of counting.
            let y = Yaml::parse_unchecked(text.clone(), Default::default()).expect("parses");
            let fast = counts(&TreeDoc(&y));
            let slow = naive(&y);
            match (&fast, &slow) {
                (Ok(f), Ok(s)) => {
                    assert_eq!(f, s, "case {case}:\n{text}");
                    accepted += 1;
                }
                (Err(_), Err(())) => refused += 1,
                _ => panic!("case {case}: {fast:?} vs {slow:?}\n{text}"),
            }
        }
        assert!(
            refused >= 10 && accepted >= 100,
            "{refused} refused, {accepted} accepted"
        );
    }

    #[test]
    fn ratio_follows_go_yaml() {
        assert_eq!(allowed_ratio(1000), 0.99);
        assert_eq!(allowed_ratio(400_000), 0.99);
        assert!((allowed_ratio(2_200_000) - 0.545).abs() < 1e-9);
        assert_eq!(allowed_ratio(4_000_000), 0.10);
        assert_eq!(allowed_ratio(9_000_000), 0.10);
        assert!(!excessive(1000, 999));
        assert!(!excessive(1001, 100));
        assert!(excessive(1001, 995));
        assert!(!excessive(1001, 990));
    }
}
