//! A spanned YAML tree built from saphyr-parser events: byte spans for every node and entry,
//! scalar styles, flow/block layout, anchors, tags and aliases.
//!
//! Nodes are compact (32 bytes, `u32` offsets): a scalar's value is a span of the text, or of
//! a side buffer only when its decoded value differs from what is written (escapes, folding,
//! block scalars); anchors and tags live in side tables; the items and entries of collections
//! in two shared arrays. [`Yaml::node`] returns a [`Node`] view built from them.

use std::ops::Range;

use saphyr_parser::ScanError;

use super::text::{self, LineIndex};
use super::walk::{self, EvKind, NodeEv, Role, Sink};

/// Index of a node of a [`Yaml`].
pub type NodeId = usize;

/// How a scalar is written in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarStyle {
    /// Unquoted.
    Plain,
    /// `'single quoted'`.
    SingleQuoted,
    /// `"double quoted"`.
    DoubleQuoted,
    /// `|` block scalar.
    Literal,
    /// `>` block scalar.
    Folded,
}

/// The children of a collection node: a slice of the tree's shared child arrays. It derefs to
/// a slice and iterates by reference however it is bound (`for e in entries`, `.iter()`).
#[derive(Debug, Clone, Copy)]
pub struct Children<'a, T>(&'a [T]);

impl<'a, T> Children<'a, T> {
    /// The children as a slice of the tree.
    pub fn as_slice(&self) -> &'a [T] {
        self.0
    }
}

impl<T> std::ops::Deref for Children<'_, T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.0
    }
}

impl<'a, T> IntoIterator for Children<'a, T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<'a, T> IntoIterator for &Children<'a, T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// What a node holds. Read a scalar's value with [`Yaml::scalar`].
#[derive(Debug, Clone, Copy)]
pub enum NodeKind<'a> {
    /// A scalar, with its source style.
    Scalar {
        /// How it is written.
        style: ScalarStyle,
    },
    /// A sequence of item nodes.
    Seq {
        /// The items in order.
        items: Children<'a, NodeId>,
    },
    /// A mapping of key/value node pairs in source order.
    Map {
        /// The entries in order.
        entries: Children<'a, Entry>,
    },
    /// `*name`: refers to the node that carries anchor `name` (defined before).
    Alias {
        /// The anchor name.
        name: &'a str,
        /// The anchored node.
        target: NodeId,
    },
}

/// One key/value pair of a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The key node.
    pub key: NodeId,
    /// The value node.
    pub value: NodeId,
}

/// A view of one node with its byte spans (built on demand by [`Yaml::node`]).
#[derive(Debug, Clone)]
pub struct Node<'a> {
    /// What the node holds.
    pub kind: NodeKind<'a>,
    /// Bytes of the node's content: a scalar's text with its quotes (a block scalar's text
    /// from its `|`/`>` indicator), a flow collection's brackets, a block collection from its
    /// first child (the `-` of its first item) to the end of its last child.
    pub span: Range<usize>,
    /// Where the node starts including its anchor and tag properties.
    pub full_start: usize,
    /// Whether the node is a flow collection (`[..]`, `{..}`).
    pub flow: bool,
    /// Whether the node sits inside a flow collection.
    pub in_flow: bool,
    /// The anchor name this node defines (`&name`).
    pub anchor: Option<&'a str>,
    /// The explicit tag, as written (e.g. `!!str`, `!reset`).
    pub tag: Option<&'a str>,
    /// The parent collection.
    pub parent: Option<NodeId>,
    /// For block scalars: the chomping indicator (`+`, `-` or none).
    pub chomp: Option<char>,
    /// Position in the parent: item index, or entry index for a key or value.
    pub slot: usize,
}

/// One YAML document of a stream.
#[derive(Debug, Clone)]
pub struct Document {
    /// The root node.
    pub root: NodeId,
}

/// A parse failure with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based character column.
    pub col: usize,
    /// What is wrong.
    pub message: String,
}

/// Limits that protect against hostile inputs. Aliases are limited as Docker Compose's YAML
/// library limits them (see [`super::aliases`]), which needs no setting.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Maximum collection nesting depth.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_depth: 256 }
    }
}

const NONE: u32 = u32::MAX;

const SCALAR: u8 = 0;
const SEQ: u8 = 1;
const MAP: u8 = 2;
const ALIAS: u8 = 3;

const FLOW: u8 = 1;
const IN_FLOW: u8 = 2;
const HAS_ANCHOR: u8 = 4;
const HAS_TAG: u8 = 8;
/// The scalar's value is in [`Yaml::decoded`], not in the text.
const DECODED: u8 = 16;

/// The stored form of a node: 32 bytes.
#[derive(Debug, Clone, Copy)]
struct Slot {
    start: u32,
    end: u32,
    full_start: u32,
    parent: u32,
    slot: u32,
    /// Scalar: start of the value (in the text, or in `decoded`); Seq/Map: first index in
    /// `items`/`entries`; Alias: the target node.
    a: u32,
    /// Scalar: length of the value; Seq/Map: number of children.
    b: u32,
    kind: u8,
    style: u8,
    flags: u8,
    chomp: u8,
}

const _: () = assert!(std::mem::size_of::<Slot>() == 32);

/// Bytes one node takes in the tree (plus 8 per sequence item and 16 per mapping entry in
/// the child arrays).
pub const NODE_BYTES: usize = std::mem::size_of::<Slot>();

fn style_code(s: ScalarStyle) -> u8 {
    match s {
        ScalarStyle::Plain => 0,
        ScalarStyle::SingleQuoted => 1,
        ScalarStyle::DoubleQuoted => 2,
        ScalarStyle::Literal => 3,
        ScalarStyle::Folded => 4,
    }
}

fn style_of(c: u8) -> ScalarStyle {
    match c {
        0 => ScalarStyle::Plain,
        1 => ScalarStyle::SingleQuoted,
        2 => ScalarStyle::DoubleQuoted,
        3 => ScalarStyle::Literal,
        _ => ScalarStyle::Folded,
    }
}

/// A node property (anchor or tag): node id and the byte range of its text.
type Prop = (u32, u32, u32);

/// A parsed YAML file: its text, nodes and documents.
#[derive(Debug, Clone)]
pub struct Yaml {
    /// The full source text (including a BOM if present).
    pub text: String,
    nodes: Vec<Slot>,
    items: Vec<NodeId>,
    entries: Vec<Entry>,
    /// Decoded scalar values that differ from their source text.
    decoded: String,
    anchors: Vec<Prop>,
    tags: Vec<Prop>,
    has_alias: bool,
    /// The documents in order.
    pub docs: Vec<Document>,
    /// Line index for positions.
    pub lines: LineIndex,
    /// The file's dominant line ending.
    pub eol: &'static str,
    /// Columns a block sequence's `-` sits right of its parent key (0 = indentless), as the
    /// file writes it.
    pub seq_indent: usize,
    /// Columns a nested mapping's keys sit right of their parent key.
    pub map_indent: usize,
}

/// Maps saphyr's char indices to byte offsets.
pub(super) struct CharToByte {
    base: usize,
    table: Option<Vec<u32>>,
}

impl CharToByte {
    pub(super) fn new(s: &str, base: usize) -> Self {
        if s.is_ascii() {
            return CharToByte { base, table: None };
        }
        let mut table = Vec::with_capacity(s.len() + 1);
        for (i, _) in s.char_indices() {
            table.push(i as u32);
        }
        table.push(s.len() as u32);
        CharToByte {
            base,
            table: Some(table),
        }
    }
    pub(super) fn get(&self, ci: usize) -> usize {
        self.base
            + match &self.table {
                None => ci,
                Some(t) => t[ci.min(t.len() - 1)] as usize,
            }
    }
}

impl Yaml {
    /// Parse `text` (every document) into a spanned tree.
    pub fn parse(text: String) -> Result<Yaml, ParseError> {
        Self::parse_with(text, Limits::default())
    }

    /// Parse with explicit limits.
    pub fn parse_with(text: String, limits: Limits) -> Result<Yaml, ParseError> {
        let mut y = Self::parse_unchecked(text, limits)?;
        if y.has_alias {
            super::aliases::check(&y)?;
        }
        y.detect_indentation();
        Ok(y)
    }

    /// Parse without the alias check and the indentation detection.
    pub(super) fn parse_unchecked(text: String, limits: Limits) -> Result<Yaml, ParseError> {
        let lines = LineIndex::new(&text);
        check_size(&text)?;
        // YAML reads a lone CR as a line break; edits here work with LF and CRLF files only.
        walk::check_line_endings(&text, &lines)?;
        let eol = text::dominant_eol(&text);
        let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
        let mut sink = TreeSink::new(&text);
        walk::walk(&text, bom, &lines, limits, &mut sink)?;
        let TreeSink {
            nodes,
            items,
            entries,
            decoded,
            anchors,
            tags,
            docs,
            has_alias,
            ..
        } = sink;
        Ok(Yaml {
            text,
            nodes,
            items,
            entries,
            decoded,
            anchors,
            tags,
            has_alias,
            docs,
            lines,
            eol,
            seq_indent: 2,
            map_indent: 2,
        })
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, pos: usize) -> (usize, usize) {
        self.lines.line_col(&self.text, pos)
    }

    /// Number of nodes in the file.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the file has no node at all (an empty stream).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Whether the file has an alias (`*name`) anywhere.
    pub fn has_alias(&self) -> bool {
        self.has_alias
    }

    /// Bytes the tree holds besides the text (nodes, child arrays, decoded values, side
    /// tables, line index), for measurements.
    pub fn tree_bytes(&self) -> usize {
        self.nodes.capacity() * NODE_BYTES
            + self.items.capacity() * std::mem::size_of::<NodeId>()
            + self.entries.capacity() * std::mem::size_of::<Entry>()
            + self.decoded.capacity()
            + (self.anchors.capacity() + self.tags.capacity()) * std::mem::size_of::<Prop>()
            + self.lines.len() * std::mem::size_of::<usize>()
    }

    /// A view of node `id`.
    pub fn node(&self, id: NodeId) -> Node<'_> {
        let s = &self.nodes[id];
        Node {
            kind: self.kind(id),
            span: s.start as usize..s.end as usize,
            full_start: s.full_start as usize,
            flow: s.flags & FLOW != 0,
            in_flow: s.flags & IN_FLOW != 0,
            anchor: self.anchor(id),
            tag: self.tag(id),
            parent: (s.parent != NONE).then_some(s.parent as usize),
            chomp: (s.chomp != 0).then_some(s.chomp as char),
            slot: s.slot as usize,
        }
    }

    /// What node `id` holds (without following aliases).
    pub fn kind(&self, id: NodeId) -> NodeKind<'_> {
        let s = &self.nodes[id];
        let (a, b) = (s.a as usize, s.b as usize);
        match s.kind {
            SCALAR => NodeKind::Scalar {
                style: style_of(s.style),
            },
            SEQ => NodeKind::Seq {
                items: Children(&self.items[a..a + b]),
            },
            MAP => NodeKind::Map {
                entries: Children(&self.entries[a..a + b]),
            },
            _ => NodeKind::Alias {
                name: self.alias_name(id),
                target: a,
            },
        }
    }

    /// The content span of node `id` (see [`Node::span`]).
    pub fn span(&self, id: NodeId) -> Range<usize> {
        let s = &self.nodes[id];
        s.start as usize..s.end as usize
    }

    /// Where node `id` starts including its properties.
    pub fn full_start(&self, id: NodeId) -> usize {
        self.nodes[id].full_start as usize
    }

    /// The anchor node `id` defines.
    pub fn anchor(&self, id: NodeId) -> Option<&str> {
        (self.nodes[id].flags & HAS_ANCHOR != 0)
            .then(|| self.prop(&self.anchors, id))
            .flatten()
    }

    /// The explicit tag of node `id`, as written.
    pub fn tag(&self, id: NodeId) -> Option<&str> {
        (self.nodes[id].flags & HAS_TAG != 0)
            .then(|| self.prop(&self.tags, id))
            .flatten()
    }

    /// The style of scalar node `id` (`None` for other nodes; aliases are not followed).
    pub fn style(&self, id: NodeId) -> Option<ScalarStyle> {
        let s = &self.nodes[id];
        (s.kind == SCALAR).then(|| style_of(s.style))
    }

    fn prop(&self, table: &[Prop], id: NodeId) -> Option<&str> {
        let i = table.binary_search_by_key(&(id as u32), |p| p.0).ok()?;
        let (_, a, b) = table[i];
        Some(&self.text[a as usize..b as usize])
    }

    fn alias_name(&self, id: NodeId) -> &str {
        self.text[self.span(id)].trim_start_matches('*').trim()
    }

    /// The decoded value of scalar node `id` itself (aliases are not followed).
    pub fn scalar_value(&self, id: NodeId) -> Option<&str> {
        let s = &self.nodes[id];
        if s.kind != SCALAR {
            return None;
        }
        let r = s.a as usize..(s.a + s.b) as usize;
        Some(if s.flags & DECODED != 0 {
            &self.decoded[r]
        } else {
            &self.text[r]
        })
    }

    /// The decoded values of every scalar node, in file order (aliases are not followed).
    pub fn scalars(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.nodes.len()).filter_map(|id| self.scalar_value(id))
    }

    /// Follow aliases to the node they refer to.
    pub fn resolve(&self, mut id: NodeId) -> NodeId {
        for _ in 0..64 {
            let s = &self.nodes[id];
            if s.kind != ALIAS {
                return id;
            }
            id = s.a as usize;
        }
        id
    }

    /// The decoded value of a scalar node (after following aliases).
    pub fn scalar(&self, id: NodeId) -> Option<&str> {
        self.scalar_value(self.resolve(id))
    }

    /// The entries of a mapping node (after following aliases).
    pub fn entries(&self, id: NodeId) -> Option<&[Entry]> {
        match self.kind(self.resolve(id)) {
            NodeKind::Map { entries } => Some(entries.as_slice()),
            _ => None,
        }
    }

    /// The items of a sequence node (after following aliases).
    pub fn items(&self, id: NodeId) -> Option<&[NodeId]> {
        match self.kind(self.resolve(id)) {
            NodeKind::Seq { items } => Some(items.as_slice()),
            _ => None,
        }
    }

    /// The value node of `key` in mapping `map` (own entries only; merge keys are not followed).
    pub fn get(&self, map: NodeId, key: &str) -> Option<NodeId> {
        self.entries(map)?
            .iter()
            .find(|e| self.scalar(e.key) == Some(key))
            .map(|e| e.value)
    }

    /// Index of the entry with `key` in mapping `map`.
    pub fn entry_index(&self, map: NodeId, key: &str) -> Option<usize> {
        self.entries(map)?
            .iter()
            .position(|e| self.scalar(e.key) == Some(key))
    }

    /// Whether the node is a null scalar (`~`, `null`, or empty plain).
    pub fn is_null(&self, id: NodeId) -> bool {
        self.style(id) == Some(ScalarStyle::Plain)
            && self.tag(id).is_none()
            && matches!(
                self.scalar_value(id),
                Some("" | "~" | "null" | "Null" | "NULL")
            )
    }

    /// The byte range from an entry's key (with properties) to the end of its value.
    pub fn entry_span(&self, e: &Entry) -> Range<usize> {
        self.full_start(e.key)..self.entry_end(e, 0)
    }

    fn entry_end(&self, e: &Entry, depth: usize) -> usize {
        let key = self.span(e.key);
        let value = self.span(e.value);
        let mut end = value.end.max(key.end);
        if value.is_empty() && self.full_start(e.value) == value.start {
            // An empty value sits right after its key: the entry still owns the `:`.
            let bytes = self.text.as_bytes();
            let mut p = end;
            while p < bytes.len() && (bytes[p] == b' ' || bytes[p] == b'\t') {
                p += 1;
            }
            if bytes.get(p) == Some(&b':') {
                end = p + 1;
            }
        }
        end.max(self.block_end(e.value, depth))
    }

    /// Where a block collection really ends: its span stops at its last child's value, which
    /// for an empty last value (`volumes:\n  data:`) lies before that entry's `:`.
    fn block_end(&self, id: NodeId, depth: usize) -> usize {
        let end = self.span(id).end;
        if self.nodes[id].flags & FLOW != 0 || depth > 64 {
            return end;
        }
        match self.kind(id) {
            NodeKind::Map { entries } => entries
                .last()
                .map_or(end, |e| end.max(self.entry_end(e, depth + 1))),
            NodeKind::Seq { items } => items
                .last()
                .map_or(end, |&i| end.max(self.block_end(i, depth + 1))),
            _ => end,
        }
    }

    /// The node at `path` (keys and indices, aliases followed on the way).
    pub fn at_path(&self, path: &super::value::Path) -> Option<NodeId> {
        let mut cur = self.docs.get(path.doc)?.root;
        for seg in &path.segs {
            cur = match seg {
                super::value::Seg::Key(k) => self.get(cur, k)?,
                super::value::Seg::Index(i) => *self.items(cur)?.get(*i)?,
            };
        }
        Some(cur)
    }

    /// The node at a dotted path in the first document, e.g. `services.psql.environment[3]`.
    pub fn lookup(&self, dotted: &str) -> Option<NodeId> {
        let mut path = super::value::Path::root(0);
        for part in dotted.split('.').filter(|p| !p.is_empty()) {
            let (key, mut rest) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            if !key.is_empty() {
                path = path.key(key);
            }
            while let Some(r) = rest.strip_prefix('[') {
                let close = r.find(']')?;
                path = path.index(r[..close].parse().ok()?);
                rest = &r[close + 1..];
            }
        }
        self.at_path(&path)
    }

    /// The comment (`# …`, without the line break) that follows node `id` on its last line.
    pub fn trailing_comment(&self, id: NodeId) -> Option<Range<usize>> {
        let end = self.span(id).end;
        if end > 0 && self.text.as_bytes().get(end - 1) == Some(&b'\n') {
            return None;
        }
        let le = text::line_end(&self.text, end);
        let rest = &self.text[end..le];
        let bytes = rest.as_bytes();
        let hash = (0..bytes.len()).find(|&i| {
            bytes[i] == b'#' && (i == 0 || bytes[i - 1] == b' ' || bytes[i - 1] == b'\t')
        })?;
        // Only whitespace (or flow punctuation) may sit between the node and its comment.
        rest[..hash]
            .chars()
            .all(|c| c == ' ' || c == '\t' || c == ',' || c == ']' || c == '}')
            .then(|| end + hash..le)
    }

    /// The comment lines directly above the line where node `id` starts (no blank line between).
    pub fn leading_comments(&self, id: NodeId) -> Range<usize> {
        let t = &self.text;
        let first = text::line_start(t, self.full_start(id));
        let mut start = first;
        while start > 0 {
            let prev = text::line_start(t, start - 1);
            if t[prev..text::line_end(t, prev)]
                .trim_start()
                .starts_with('#')
            {
                start = prev;
            } else {
                break;
            }
        }
        start..first
    }

    /// The path of node `id` (O(depth)).
    pub fn path_of(&self, id: NodeId) -> super::value::Path {
        let mut segs = Vec::new();
        let mut cur = id;
        while self.nodes[cur].parent != NONE {
            let p = self.nodes[cur].parent as usize;
            let slot = self.nodes[cur].slot as usize;
            match self.kind(p) {
                NodeKind::Seq { .. } => segs.push(super::value::Seg::Index(slot)),
                NodeKind::Map { entries } => {
                    let e = entries[slot];
                    segs.push(super::value::Seg::Key(
                        self.scalar(e.key).unwrap_or_default().to_string(),
                    ));
                }
                _ => {}
            }
            cur = p;
        }
        segs.reverse();
        let doc = self.docs.iter().position(|d| d.root == cur).unwrap_or(0);
        super::value::Path { doc, segs }
    }

    /// Byte offset of the `-` that introduces block-sequence item `item`, if any.
    pub fn dash_of(&self, item: NodeId) -> Option<usize> {
        let start = self.full_start(item);
        let bytes = self.text.as_bytes();
        let mut i = start;
        while i > 0 && matches!(bytes[i - 1], b' ' | b'\t' | b'\r' | b'\n') {
            i -= 1;
        }
        (i > 0 && bytes[i - 1] == b'-').then(|| i - 1)
    }

    fn detect_indentation(&mut self) {
        let mut seq_found = None;
        let mut map_found = None;
        for id in 0..self.nodes.len() {
            if seq_found.is_some() && map_found.is_some() {
                break;
            }
            if self.nodes[id].flags & FLOW != 0 {
                continue;
            }
            let NodeKind::Map { entries } = self.kind(id) else {
                continue;
            };
            for e in entries {
                let key_col = text::column(&self.text, self.span(e.key).start);
                if self.nodes[e.value].flags & FLOW != 0 {
                    continue;
                }
                match self.kind(e.value) {
                    NodeKind::Seq { items } if seq_found.is_none() => {
                        if let Some(d) = items.first().and_then(|&i| self.dash_of(i)) {
                            let dcol = text::column(&self.text, d);
                            if text::only_spaces_before(&self.text, d) && dcol >= key_col {
                                seq_found = Some(dcol - key_col);
                            }
                        }
                    }
                    NodeKind::Map { entries: inner } if map_found.is_none() => {
                        if let Some(first) = inner.first() {
                            let p = self.span(first.key).start;
                            let c = text::column(&self.text, p);
                            if text::only_spaces_before(&self.text, p) && c > key_col {
                                map_found = Some(c - key_col);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        self.seq_indent = seq_found.unwrap_or(2);
        self.map_indent = map_found.unwrap_or(2);
    }
}

/// Refuse texts whose offsets do not fit the compact node layout (2 GiB).
pub(super) fn check_size(text: &str) -> Result<(), ParseError> {
    if text.len() > walk::MAX_TEXT {
        return Err(ParseError {
            line: 1,
            col: 1,
            message: format!(
                "the text is {} bytes; YAML files above {} bytes are not supported",
                text.len(),
                walk::MAX_TEXT
            ),
        });
    }
    Ok(())
}

pub(super) fn scan_err(
    text: &str,
    lines: &LineIndex,
    c2b: &CharToByte,
    e: &ScanError,
) -> ParseError {
    let pos = c2b.get(e.marker().index());
    let (line, col) = lines.line_col(text, pos);
    let message = super::errors::explain(e.info());
    ParseError { line, col, message }
}

/// An open collection while the tree is built: where its children start in the pending
/// arrays, and a key waiting for its value.
struct Open {
    id: usize,
    base: usize,
    pending_key: usize,
}

/// Builds the compact tree from the walker's events.
struct TreeSink<'t> {
    text: &'t str,
    nodes: Vec<Slot>,
    items: Vec<NodeId>,
    entries: Vec<Entry>,
    decoded: String,
    anchors: Vec<Prop>,
    tags: Vec<Prop>,
    docs: Vec<Document>,
    has_alias: bool,
    open: Vec<Open>,
    pending_items: Vec<NodeId>,
    pending_entries: Vec<Entry>,
}

impl<'t> TreeSink<'t> {
    fn new(text: &'t str) -> Self {
        TreeSink {
            text,
            nodes: Vec::new(),
            items: Vec::new(),
            entries: Vec::new(),
            decoded: String::new(),
            anchors: Vec::new(),
            tags: Vec::new(),
            docs: Vec::new(),
            has_alias: false,
            open: Vec::new(),
            pending_items: Vec::new(),
            pending_entries: Vec::new(),
        }
    }

    /// Where a scalar's value is kept: the text when it is written as is, else `decoded`.
    fn value_at(&mut self, style: ScalarStyle, span: &Range<usize>, value: &str) -> (u32, u32, u8) {
        let t = self.text;
        let written = match style {
            ScalarStyle::Plain => Some(span.clone()),
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted if span.len() >= 2 => {
                Some(span.start + 1..span.end - 1)
            }
            _ => None,
        };
        if let Some(w) = written {
            if t.get(w.clone()) == Some(value) {
                return (w.start as u32, value.len() as u32, 0);
            }
        }
        let at = self.decoded.len();
        self.decoded.push_str(value);
        (at as u32, value.len() as u32, DECODED)
    }
}

impl Sink for TreeSink<'_> {
    fn node(&mut self, ev: &NodeEv<'_>) -> usize {
        let id = self.nodes.len();
        let mut flags = 0;
        if ev.flow {
            flags |= FLOW;
        }
        if ev.in_flow {
            flags |= IN_FLOW;
        }
        if let Some(r) = &ev.anchor {
            flags |= HAS_ANCHOR;
            self.anchors.push((id as u32, r.start as u32, r.end as u32));
        }
        if let Some(r) = &ev.tag {
            flags |= HAS_TAG;
            self.tags.push((id as u32, r.start as u32, r.end as u32));
        }
        let (kind, style, a, b) = match ev.kind {
            EvKind::Scalar(st, value) => {
                let (a, b, f) = self.value_at(st, &ev.span, value);
                flags |= f;
                (SCALAR, style_code(st), a, b)
            }
            EvKind::Seq => (SEQ, 0, 0, 0),
            EvKind::Map => (MAP, 0, 0, 0),
            EvKind::Alias { target, .. } => {
                self.has_alias = true;
                (ALIAS, 0, target as u32, 0)
            }
        };
        self.nodes.push(Slot {
            start: ev.span.start as u32,
            end: ev.span.end as u32,
            full_start: ev.full_start as u32,
            parent: ev.parent.map_or(NONE, |p| p as u32),
            slot: ev.slot as u32,
            a,
            b,
            kind,
            style,
            flags,
            chomp: ev.chomp.map_or(0, |c| c as u8),
        });
        match ev.role {
            Role::Root => {}
            Role::Item => self.pending_items.push(id),
            Role::Key => {
                if let Some(o) = self.open.last_mut() {
                    o.pending_key = id;
                }
            }
            Role::Value => {
                if let Some(o) = self.open.last() {
                    self.pending_entries.push(Entry {
                        key: o.pending_key,
                        value: id,
                    });
                }
            }
        }
        if kind == SEQ || kind == MAP {
            let base = if kind == SEQ {
                self.pending_items.len()
            } else {
                self.pending_entries.len()
            };
            self.open.push(Open {
                id,
                base,
                pending_key: 0,
            });
        }
        id
    }

    fn end(&mut self, id: usize, end: usize) {
        let Some(o) = self.open.pop() else {
            return;
        };
        debug_assert_eq!(o.id, id);
        let s = &mut self.nodes[id];
        s.end = end as u32;
        if s.kind == SEQ {
            s.a = self.items.len() as u32;
            s.b = (self.pending_items.len() - o.base) as u32;
            self.items.extend(self.pending_items.drain(o.base..));
        } else {
            s.a = self.entries.len() as u32;
            s.b = (self.pending_entries.len() - o.base) as u32;
            self.entries.extend(self.pending_entries.drain(o.base..));
        }
    }

    fn document(&mut self, root: usize) {
        self.docs.push(Document { root });
    }
}
