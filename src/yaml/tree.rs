//! A spanned YAML tree built from saphyr-parser events: byte spans for every node and entry,
//! scalar styles, flow/block layout, anchors, tags and aliases.

use std::collections::HashMap;
use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle as SaphyrStyle, ScanError};

use super::text::{self, LineIndex};

/// Index of a node in [`Yaml::nodes`].
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

/// What a node holds.
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// A scalar with its decoded value and source style.
    Scalar {
        /// The decoded value.
        value: String,
        /// How it is written.
        style: ScalarStyle,
    },
    /// A sequence of item nodes.
    Seq {
        /// The items in order.
        items: Vec<NodeId>,
    },
    /// A mapping of key/value node pairs in source order.
    Map {
        /// The entries in order.
        entries: Vec<Entry>,
    },
    /// `*name`: refers to the node that carries anchor `name` (if defined before).
    Alias {
        /// The anchor name.
        name: String,
        /// The anchored node.
        target: NodeId,
    },
}

/// One key/value pair of a mapping.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// The key node.
    pub key: NodeId,
    /// The value node.
    pub value: NodeId,
}

/// A node with its byte spans.
#[derive(Debug, Clone)]
pub struct Node {
    /// What the node holds.
    pub kind: NodeKind,
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
    pub anchor: Option<String>,
    /// The explicit tag, as written (e.g. `!!str`, `!reset`).
    pub tag: Option<String>,
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

/// Limits that protect against hostile inputs.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Maximum collection nesting depth.
    pub max_depth: usize,
    /// Maximum number of alias nodes in a file.
    pub max_aliases: usize,
    /// Maximum number of nodes the file would have with every alias expanded (when that is
    /// also more than 100 times its written node count): a guard against "billion laughs".
    pub max_expanded: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 256,
            max_aliases: 10_000,
            max_expanded: 1_000_000,
        }
    }
}

/// A parsed YAML file: its text, nodes and documents.
#[derive(Debug, Clone)]
pub struct Yaml {
    /// The full source text (including a BOM if present).
    pub text: String,
    /// Every node of every document.
    pub nodes: Vec<Node>,
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

struct Frame {
    node: NodeId,
    pending_key: Option<NodeId>,
    /// Scalar keys seen so far, built only for large mappings (small ones are scanned).
    keys: Option<HashMap<String, ()>>,
}

const SCAN_KEYS_UP_TO: usize = 16;

/// Maps saphyr's char indices to byte offsets.
struct CharToByte {
    base: usize,
    table: Option<Vec<u32>>,
}

impl CharToByte {
    fn new(s: &str, base: usize) -> Self {
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
    fn get(&self, ci: usize) -> usize {
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
        let lines = LineIndex::new(&text);
        // YAML reads a lone CR as a line break; edits here work with LF and CRLF files only.
        if let Some(cr) = text
            .as_bytes()
            .iter()
            .enumerate()
            .position(|(i, &b)| b == b'\r' && text.as_bytes().get(i + 1) != Some(&b'\n'))
        {
            let (line, col) = lines.line_col(&text, cr);
            return Err(ParseError {
                line,
                col,
                message: "carriage return without a line feed (old Mac line ending): convert the file to LF or CRLF line endings".into(),
            });
        }
        let eol = text::dominant_eol(&text);
        let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
        let mut y = Yaml {
            nodes: Vec::new(),
            docs: Vec::new(),
            lines,
            eol,
            seq_indent: 2,
            map_indent: 2,
            text: String::new(),
        };
        let result = build(&text, bom, &mut y, limits);
        y.text = text;
        result?;
        y.check_expansion(limits)?;
        y.detect_indentation();
        Ok(y)
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, pos: usize) -> (usize, usize) {
        self.lines.line_col(&self.text, pos)
    }

    /// The node with id `id`.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// Follow aliases to the node they refer to.
    pub fn resolve(&self, mut id: NodeId) -> NodeId {
        for _ in 0..64 {
            match &self.nodes[id].kind {
                NodeKind::Alias { target, .. } => id = *target,
                _ => return id,
            }
        }
        id
    }

    /// The decoded value of a scalar node (after following aliases).
    pub fn scalar(&self, id: NodeId) -> Option<&str> {
        match &self.nodes[self.resolve(id)].kind {
            NodeKind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The entries of a mapping node (after following aliases).
    pub fn entries(&self, id: NodeId) -> Option<&[Entry]> {
        match &self.nodes[self.resolve(id)].kind {
            NodeKind::Map { entries } => Some(entries),
            _ => None,
        }
    }

    /// The items of a sequence node (after following aliases).
    pub fn items(&self, id: NodeId) -> Option<&[NodeId]> {
        match &self.nodes[self.resolve(id)].kind {
            NodeKind::Seq { items } => Some(items),
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
        match &self.nodes[id].kind {
            NodeKind::Scalar { value, style } => {
                *style == ScalarStyle::Plain
                    && self.nodes[id].tag.is_none()
                    && matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL")
            }
            _ => false,
        }
    }

    /// The byte range from an entry's key (with properties) to the end of its value.
    pub fn entry_span(&self, e: &Entry) -> Range<usize> {
        self.nodes[e.key].full_start..self.entry_end(e, 0)
    }

    fn entry_end(&self, e: &Entry, depth: usize) -> usize {
        let key = &self.nodes[e.key];
        let value = &self.nodes[e.value];
        let mut end = value.span.end.max(key.span.end);
        if value.span.is_empty() && value.full_start == value.span.start {
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
        let n = &self.nodes[id];
        if n.flow || depth > 64 {
            return n.span.end;
        }
        match &n.kind {
            NodeKind::Map { entries } => entries
                .last()
                .map_or(n.span.end, |e| n.span.end.max(self.entry_end(e, depth + 1))),
            NodeKind::Seq { items } => items.last().map_or(n.span.end, |&i| {
                n.span.end.max(self.block_end(i, depth + 1))
            }),
            _ => n.span.end,
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
        let end = self.nodes[id].span.end;
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
        let first = text::line_start(t, self.nodes[id].full_start);
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
        while let Some(p) = self.nodes[cur].parent {
            match &self.nodes[p].kind {
                NodeKind::Seq { .. } => segs.push(super::value::Seg::Index(self.nodes[cur].slot)),
                NodeKind::Map { entries } => {
                    let e = entries[self.nodes[cur].slot];
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
        let start = self.nodes[item].full_start;
        let bytes = self.text.as_bytes();
        let mut i = start;
        while i > 0 && matches!(bytes[i - 1], b' ' | b'\t' | b'\r' | b'\n') {
            i -= 1;
        }
        (i > 0 && bytes[i - 1] == b'-').then(|| i - 1)
    }

    /// Refuse documents whose aliases would expand to a huge tree (without expanding them).
    fn check_expansion(&self, limits: Limits) -> Result<(), ParseError> {
        let has_alias = self
            .nodes
            .iter()
            .any(|n| matches!(n.kind, NodeKind::Alias { .. }));
        if !has_alias {
            return Ok(());
        }
        // Children are created after their parents and aliases point backwards, so a reverse
        // pass sees every child and alias target... except targets, which come earlier; do a
        // forward pass over completed sizes in post-order instead.
        let mut size = vec![0u64; self.nodes.len()];
        let mut order: Vec<(NodeId, bool)> =
            self.docs.iter().rev().map(|d| (d.root, false)).collect();
        let mut total: u64 = 0;
        while let Some((id, done)) = order.pop() {
            if done {
                size[id] = 1 + match &self.nodes[id].kind {
                    NodeKind::Scalar { .. } => 0,
                    NodeKind::Alias { target, .. } => size[*target].saturating_sub(1),
                    NodeKind::Seq { items } => {
                        items.iter().fold(0u64, |a, &i| a.saturating_add(size[i]))
                    }
                    NodeKind::Map { entries } => entries.iter().fold(0u64, |a, e| {
                        a.saturating_add(size[e.key]).saturating_add(size[e.value])
                    }),
                };
                if self.nodes[id].parent.is_none() {
                    total = total.saturating_add(size[id]);
                }
                continue;
            }
            order.push((id, true));
            match &self.nodes[id].kind {
                NodeKind::Seq { items } => order.extend(items.iter().rev().map(|&i| (i, false))),
                NodeKind::Map { entries } => {
                    for e in entries.iter().rev() {
                        order.push((e.value, false));
                        order.push((e.key, false));
                    }
                }
                _ => {}
            }
        }
        if total > limits.max_expanded && total > 100 * self.nodes.len() as u64 {
            return Err(ParseError {
                line: 1,
                col: 1,
                message: format!(
                    "aliases would expand this file to {total} nodes (written: {}): refusing a \"billion laughs\" document",
                    self.nodes.len()
                ),
            });
        }
        Ok(())
    }

    fn detect_indentation(&mut self) {
        let mut seq_found = None;
        let mut map_found = None;
        for node in &self.nodes {
            if seq_found.is_some() && map_found.is_some() {
                break;
            }
            let NodeKind::Map { entries } = &node.kind else {
                continue;
            };
            if node.flow {
                continue;
            }
            for e in entries {
                let key_col = text::column(&self.text, self.nodes[e.key].span.start);
                let v = &self.nodes[e.value];
                if v.flow {
                    continue;
                }
                match &v.kind {
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
                            let p = self.nodes[first.key].span.start;
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

fn scan_err(text: &str, lines: &LineIndex, c2b: &CharToByte, e: &ScanError) -> ParseError {
    let pos = c2b.get(e.marker().index());
    let (line, col) = lines.line_col(text, pos);
    let message = super::errors::explain(e.info());
    ParseError { line, col, message }
}

/// Skip `&anchor` and `!tag` properties (and the spaces after them) at `pos`.
fn skip_properties(text: &str, mut pos: usize, end: usize) -> usize {
    let bytes = text.as_bytes();
    loop {
        if pos < end && (bytes[pos] == b'&' || bytes[pos] == b'!') {
            while pos < end && !matches!(bytes[pos], b' ' | b'\t' | b'\r' | b'\n') {
                pos += 1;
            }
            while pos < end && matches!(bytes[pos], b' ' | b'\t' | b'\r' | b'\n') {
                pos += 1;
            }
        } else {
            return pos;
        }
    }
}

/// End (exclusive) of a quoted scalar starting at `start` (the opening quote).
fn quoted_end(text: &str, start: usize, quote: u8) -> usize {
    let bytes = text.as_bytes();
    let mut i = start + 1;
    while i < bytes.len() {
        let b = bytes[i];
        if quote == b'"' && b == b'\\' {
            i += 2;
            continue;
        }
        if b == quote {
            if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

fn anchor_name(text: &str, start: usize, end: usize) -> Option<String> {
    let s = &text[start..end];
    let mut rest = s;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix('&') {
            let n = r
                .find(|c: char| c.is_whitespace() || c == '{' || c == '[')
                .unwrap_or(r.len());
            return Some(r[..n].to_string());
        } else if rest.starts_with('!') {
            let n = rest.find(char::is_whitespace).unwrap_or(rest.len());
            rest = &rest[n..];
        } else {
            return None;
        }
    }
}

fn tag_text(text: &str, start: usize, end: usize) -> Option<String> {
    let s = &text[start..end];
    let mut rest = s;
    loop {
        rest = rest.trim_start();
        if rest.starts_with('&') {
            let n = rest.find(char::is_whitespace).unwrap_or(rest.len());
            rest = &rest[n..];
        } else if rest.starts_with('!') {
            let n = rest
                .find(|c: char| c.is_whitespace() || c == '{' || c == '[')
                .unwrap_or(rest.len());
            return Some(rest[..n].to_string());
        } else {
            return None;
        }
    }
}

fn build(full: &str, bom: usize, y: &mut Yaml, limits: Limits) -> Result<(), ParseError> {
    let src = &full[bom..];
    let c2b = CharToByte::new(src, bom);
    let lines = y.lines.clone();
    let err_at = |pos: usize, message: String| {
        let (line, col) = lines.line_col(full, pos);
        ParseError { line, col, message }
    };
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, NodeId> = HashMap::new();
    let mut last_end = bom;
    let mut alias_count = 0usize;
    let mut doc_root: Option<NodeId> = None;
    // Read like Docker Compose (yaml.v3): vendor/saphyr-parser/PATCHES.md.
    let parser = Parser::new_from_str(src).compose_compatible(true);
    for ev in parser {
        let (event, span) = ev.map_err(|e| scan_err(full, &lines, &c2b, &e))?;
        let s = c2b.get(span.start.index());
        let e = c2b.get(span.end.index());
        let in_flow = stack.last().is_some_and(|f| {
            let n = &y.nodes[f.node];
            n.flow || n.in_flow
        });
        let parent = stack.last().map(|f| f.node);
        let new_node: Option<NodeId> = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => None,
            Event::DocumentStart(_) => {
                doc_root = None;
                if e > s {
                    last_end = e;
                }
                None
            }
            Event::DocumentEnd => {
                let root = match doc_root.take() {
                    Some(r) => r,
                    None => {
                        // An empty document: represent it as a null scalar.
                        y.nodes.push(Node {
                            kind: NodeKind::Scalar {
                                value: String::new(),
                                style: ScalarStyle::Plain,
                            },
                            span: s..s,
                            full_start: s,
                            flow: false,
                            in_flow: false,
                            anchor: None,
                            tag: None,
                            parent: None,
                            chomp: None,
                            slot: 0,
                        });
                        y.nodes.len() - 1
                    }
                };
                y.docs.push(Document { root });
                None
            }
            Event::Alias(id) => {
                alias_count += 1;
                if alias_count > limits.max_aliases {
                    return Err(err_at(
                        s,
                        format!(
                            "more than {} aliases: refusing a document that may expand exponentially",
                            limits.max_aliases
                        ),
                    ));
                }
                let target = *anchors
                    .get(&id)
                    .ok_or_else(|| err_at(s, "alias to an unknown anchor".into()))?;
                if stack.iter().any(|f| f.node == target) {
                    return Err(err_at(
                        s,
                        "recursive alias: it refers to a node that contains it".into(),
                    ));
                }
                let name = full[s..e].trim_start_matches('*').trim().to_string();
                y.nodes.push(Node {
                    kind: NodeKind::Alias { name, target },
                    span: s..e,
                    full_start: s,
                    flow: false,
                    in_flow,
                    anchor: None,
                    tag: None,
                    parent,
                    chomp: None,
                    slot: 0,
                });
                last_end = e;
                Some(y.nodes.len() - 1)
            }
            Event::Scalar(value, style, anchor_id, tag) => {
                let content = skip_properties(full, s, e.max(s));
                let has_props = content > s;
                let anchor = (anchor_id != 0)
                    .then(|| anchor_name(full, s, content))
                    .flatten();
                let tag_s = tag.as_ref().and_then(|_| tag_text(full, s, content));
                let (style, span, chomp) = match style {
                    SaphyrStyle::Plain => {
                        if e == s || (content >= e && has_props) {
                            // Empty (null) scalar: saphyr places it right after its key or its
                            // `- ` (never at the next token).
                            let p = if has_props { e } else { s.max(bom) };
                            (ScalarStyle::Plain, p..p, None)
                        } else {
                            (ScalarStyle::Plain, content..e, None)
                        }
                    }
                    SaphyrStyle::SingleQuoted => (
                        ScalarStyle::SingleQuoted,
                        content..quoted_end(full, content, b'\''),
                        None,
                    ),
                    SaphyrStyle::DoubleQuoted => (
                        ScalarStyle::DoubleQuoted,
                        content..quoted_end(full, content, b'"'),
                        None,
                    ),
                    SaphyrStyle::Literal | SaphyrStyle::Folded => {
                        let st = if matches!(style, SaphyrStyle::Literal) {
                            ScalarStyle::Literal
                        } else {
                            ScalarStyle::Folded
                        };
                        let (start, chomp) = block_header(full, last_end, s);
                        let end = block_end(full, start, e, chomp);
                        (st, start..end, Some(chomp))
                    }
                };
                let full_start = if has_props { s } else { span.start };
                y.nodes.push(Node {
                    kind: NodeKind::Scalar {
                        value: value.into_owned(),
                        style,
                    },
                    span: span.clone(),
                    full_start,
                    flow: false,
                    in_flow,
                    anchor,
                    tag: tag_s,
                    parent,
                    chomp: chomp.filter(|c| *c != ' '),
                    slot: 0,
                });
                last_end = span.end.max(last_end);
                let id = y.nodes.len() - 1;
                if anchor_id != 0 {
                    anchors.insert(anchor_id, id);
                }
                Some(id)
            }
            Event::SequenceStart(anchor_id, ref tag) | Event::MappingStart(anchor_id, ref tag) => {
                let is_seq = matches!(event, Event::SequenceStart(..));
                if stack.len() >= limits.max_depth {
                    return Err(err_at(
                        s,
                        format!(
                            "nesting deeper than {} levels: compose-harden's limit (Docker Compose allows 10,000; no Compose file needs this many), which keeps verification within memory and stack limits; flatten the structure",
                            limits.max_depth
                        ),
                    ));
                }
                let bracket = if is_seq { b'[' } else { b'{' };
                let seg = &full.as_bytes()[s..e.max(s)];
                let bpos = seg.iter().position(|&b| b == bracket).map(|i| s + i);
                let flow = bpos.is_some();
                let props_end = bpos.unwrap_or_else(|| skip_properties(full, s, e.max(s)));
                let has_props = anchor_id != 0 || tag.is_some();
                let anchor = (anchor_id != 0)
                    .then(|| anchor_name(full, s, props_end.max(s)))
                    .flatten();
                let tag_s = tag
                    .as_ref()
                    .and_then(|_| tag_text(full, s, props_end.max(s)));
                let start = match bpos {
                    Some(b) => b,
                    None => {
                        let p = if has_props { props_end } else { s };
                        if is_seq {
                            // Block sequences start at the `-` of their first item.
                            let bytes = full.as_bytes();
                            let mut i = p;
                            if bytes.get(i) == Some(&b'-') {
                                i
                            } else {
                                while i > 0 && bytes[i - 1] == b' ' {
                                    i -= 1;
                                }
                                if i > 0 && bytes[i - 1] == b'-' {
                                    i -= 1;
                                }
                                i
                            }
                        } else {
                            p
                        }
                    }
                };
                y.nodes.push(Node {
                    kind: if is_seq {
                        NodeKind::Seq { items: Vec::new() }
                    } else {
                        NodeKind::Map {
                            entries: Vec::new(),
                        }
                    },
                    span: start..start,
                    full_start: if has_props { s } else { start },
                    flow,
                    in_flow,
                    anchor,
                    tag: tag_s,
                    parent,
                    chomp: None,
                    slot: 0,
                });
                let id = y.nodes.len() - 1;
                if anchor_id != 0 {
                    anchors.insert(anchor_id, id);
                }
                last_end = if flow { start + 1 } else { start };
                attach(y, &mut stack, id, &err_at)?;
                stack.push(Frame {
                    node: id,
                    pending_key: None,
                    keys: None,
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let frame = stack
                    .pop()
                    .ok_or_else(|| err_at(s, "unbalanced collection end".into()))?;
                let node = &y.nodes[frame.node];
                let end = if node.flow {
                    let bracket = if matches!(event, Event::SequenceEnd) {
                        b']'
                    } else {
                        b'}'
                    };
                    let seg = &full.as_bytes()[s..e.max(s)];
                    seg.iter()
                        .position(|&b| b == bracket)
                        .map(|i| s + i + 1)
                        .or_else(|| closing_bracket_after(full, s, bracket))
                        .unwrap_or(e)
                } else {
                    last_child_end(y, frame.node).unwrap_or(node.span.start)
                };
                y.nodes[frame.node].span.end = end;
                last_end = end.max(last_end);
                if stack.is_empty() {
                    doc_root = Some(frame.node);
                }
                None
            }
        };
        if let Some(id) = new_node {
            if stack.is_empty() {
                doc_root = Some(id);
            } else {
                attach(y, &mut stack, id, &err_at)?;
            }
        }
    }
    Ok(())
}

/// The end (after it) of the closing `bracket` at or after `from`, past blanks, line breaks,
/// a trailing `,` and comments: saphyr's end event for `{A: 1,}` sits at the comma.
fn closing_bracket_after(text: &str, from: usize, bracket: u8) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = from;
    while i < b.len() {
        match b[i] {
            c if c == bracket => return Some(i + 1),
            b' ' | b'\t' | b'\r' | b'\n' | b',' => i += 1,
            b'#' => i = text::next_line_start(text, i),
            _ => return None,
        }
    }
    None
}

fn last_child_end(y: &Yaml, id: NodeId) -> Option<usize> {
    match &y.nodes[id].kind {
        NodeKind::Seq { items } => items.last().map(|&i| y.nodes[i].span.end),
        NodeKind::Map { entries } => entries
            .last()
            .map(|e| y.nodes[e.value].span.end.max(y.nodes[e.key].span.end)),
        _ => None,
    }
}

/// Attach node `id` to the collection on top of the stack (a key, a value or an item).
fn attach(
    y: &mut Yaml,
    stack: &mut [Frame],
    id: NodeId,
    err_at: &dyn Fn(usize, String) -> ParseError,
) -> Result<(), ParseError> {
    let Some(frame) = stack.last_mut() else {
        return Ok(());
    };
    y.nodes[id].parent = Some(frame.node);
    let is_map = matches!(y.nodes[frame.node].kind, NodeKind::Map { .. });
    if !is_map {
        if let NodeKind::Seq { items } = &mut y.nodes[frame.node].kind {
            items.push(id);
            let slot = items.len() - 1;
            y.nodes[id].slot = slot;
        }
        return Ok(());
    }
    match frame.pending_key.take() {
        None => {
            if let NodeKind::Scalar { value, .. } = &y.nodes[id].kind {
                let entries: &[Entry] = match &y.nodes[frame.node].kind {
                    NodeKind::Map { entries } => entries,
                    _ => &[],
                };
                let dup = if entries.len() < SCAN_KEYS_UP_TO {
                    entries.iter().any(|e| {
                        matches!(&y.nodes[e.key].kind, NodeKind::Scalar { value: v, .. } if v == value)
                    })
                } else {
                    let keys = frame.keys.get_or_insert_with(|| {
                        entries
                            .iter()
                            .filter_map(|e| match &y.nodes[e.key].kind {
                                NodeKind::Scalar { value, .. } => Some((value.clone(), ())),
                                _ => None,
                            })
                            .collect()
                    });
                    keys.insert(value.clone(), ()).is_some()
                };
                if dup {
                    return Err(err_at(
                        y.nodes[id].span.start,
                        format!("duplicate key `{value}` in a mapping"),
                    ));
                }
            }
            frame.pending_key = Some(id);
        }
        Some(key) => {
            if let NodeKind::Map { entries } = &mut y.nodes[frame.node].kind {
                entries.push(Entry { key, value: id });
                let slot = entries.len() - 1;
                y.nodes[id].slot = slot;
                y.nodes[key].slot = slot;
            }
        }
    }
    Ok(())
}

/// Find a block scalar's `|`/`>` indicator after `from` and its chomping indicator.
fn block_header(text: &str, from: usize, content: usize) -> (usize, char) {
    let bytes = text.as_bytes();
    let mut i = from.min(content);
    while i < content {
        let b = bytes[i];
        if b == b'#' {
            // Skip a comment up to the end of its line.
            i = text::next_line_start(text, i);
            continue;
        }
        if b == b'|' || b == b'>' {
            let mut chomp = ' ';
            let mut j = i + 1;
            while j < bytes.len()
                && (bytes[j] == b'+' || bytes[j] == b'-' || bytes[j].is_ascii_digit())
            {
                if bytes[j] == b'+' || bytes[j] == b'-' {
                    chomp = bytes[j] as char;
                }
                j += 1;
            }
            return (i, chomp);
        }
        i += 1;
    }
    (content, ' ')
}

/// End of a block scalar's text: the end of its last content line, or for `|+` the end of its
/// kept trailing blank lines.
fn block_end(text: &str, header: usize, end: usize, chomp: char) -> usize {
    let bytes = text.as_bytes();
    let mut e = end.min(bytes.len());
    // Drop the indentation of the following line that saphyr includes.
    while e > header && bytes[e - 1] == b' ' {
        e -= 1;
    }
    if chomp == '+' {
        return e;
    }
    while e > header && matches!(bytes[e - 1], b' ' | b'\t' | b'\r' | b'\n') {
        e -= 1;
    }
    e.max(text::line_end(text, header))
}
