//! saphyr-parser events → validated node events with byte spans. One walker serves both the
//! tree builder (`tree.rs`) and the streaming verifier (`verify.rs`), so the edited file is
//! read exactly as the input was: same spans, anchors, tags, duplicate-key and depth checks.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle as SaphyrStyle};

use super::text::{self, LineIndex};
use super::tree::{scan_err, CharToByte, Limits, ParseError, ScalarStyle};

/// Where a node sits in its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// A document's root.
    Root,
    /// A sequence item.
    Item,
    /// A mapping key.
    Key,
    /// A mapping value.
    Value,
}

/// What a node event holds.
#[derive(Debug, Clone, Copy)]
pub(super) enum EvKind<'a> {
    /// A complete scalar with its decoded value.
    Scalar(ScalarStyle, &'a str),
    /// A sequence starts (its items follow, then [`Sink::end`]).
    Seq,
    /// A mapping starts (keys and values alternate, then [`Sink::end`]).
    Map,
    /// `*name`, referring to the node the sink numbered `target`.
    Alias {
        /// The sink's id of the anchored node.
        target: usize,
        /// The anchor name.
        name: &'a str,
    },
}

/// One node, as the walker reads it.
#[derive(Debug, Clone)]
pub(super) struct NodeEv<'a> {
    pub kind: EvKind<'a>,
    /// Content span (see [`super::tree::Node::span`]); a collection's end comes with `end`.
    pub span: Range<usize>,
    pub full_start: usize,
    pub flow: bool,
    pub in_flow: bool,
    /// Byte range of the anchor name (after `&`).
    pub anchor: Option<Range<usize>>,
    /// Byte range of the tag as written (`!!str`, `!reset`).
    pub tag: Option<Range<usize>>,
    pub chomp: Option<char>,
    /// The sink's id of the parent collection.
    pub parent: Option<usize>,
    pub role: Role,
    /// Item index, or entry index for a key or value.
    pub slot: usize,
}

/// Receives the walker's node events; returns ids the walker uses for parents and aliases.
pub(super) trait Sink {
    /// A node starts (scalars and aliases are complete at once).
    fn node(&mut self, ev: &NodeEv<'_>) -> usize;
    /// Collection `id` ends at byte `end`.
    fn end(&mut self, id: usize, end: usize);
    /// A document is complete.
    fn document(&mut self, root: usize);
}

/// Refuse texts whose offsets do not fit the compact node layout.
pub(super) const MAX_TEXT: usize = (u32::MAX / 2) as usize;

/// The first lone CR (a line break YAML accepts but edits here do not), as a parse error.
pub(super) fn check_line_endings(text: &str, lines: &LineIndex) -> Result<(), ParseError> {
    let b = text.as_bytes();
    let Some(cr) = memchr_lone_cr(b) else {
        return Ok(());
    };
    let (line, col) = lines.line_col(text, cr);
    Err(ParseError {
        line,
        col,
        message: "carriage return without a line feed (old Mac line ending): convert the file to LF or CRLF line endings".into(),
    })
}

fn memchr_lone_cr(b: &[u8]) -> Option<usize> {
    b.iter()
        .enumerate()
        .position(|(i, &c)| c == b'\r' && b.get(i + 1) != Some(&b'\n'))
}

struct Frame {
    id: usize,
    is_map: bool,
    /// The collection is flow, or sits in one.
    flow_ctx: bool,
    flow: bool,
    role: Role,
    start: usize,
    /// Items, or entries completed so far.
    count: usize,
    /// A key was read and its value is pending.
    pending_key: bool,
    key_end: usize,
    last_child_end: Option<usize>,
    /// Index into `Keys::ends` where this mapping's scalar keys start.
    key_base: usize,
    /// Hashes of the keys, built only for large mappings (small ones are scanned).
    key_hashes: Option<HashSet<u64>>,
}

const SCAN_KEYS_UP_TO: usize = 16;

/// The scalar keys of the open mappings, for duplicate detection.
#[derive(Default)]
struct Keys {
    buf: String,
    ends: Vec<usize>,
}

impl Keys {
    fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.buf[start..self.ends[i]]
    }
    fn truncate(&mut self, base: usize) {
        self.ends.truncate(base);
        self.buf.truncate(self.ends.last().copied().unwrap_or(0));
    }
}

fn hash_key(k: &str) -> u64 {
    let mut h = DefaultHasher::new();
    k.hash(&mut h);
    h.finish()
}

/// Walk every event of `full` (which starts with a BOM when `bom` is 3), reporting nodes to
/// `sink`. Fails on scan errors, unknown or recursive aliases, duplicate scalar keys and
/// nesting deeper than the limit.
pub(super) fn walk(
    full: &str,
    bom: usize,
    lines: &LineIndex,
    limits: Limits,
    sink: &mut dyn Sink,
) -> Result<(), ParseError> {
    let src = &full[bom..];
    let c2b = CharToByte::new(src, bom);
    let err_at = |pos: usize, message: String| {
        let (line, col) = lines.line_col(full, pos);
        ParseError { line, col, message }
    };
    let mut stack: Vec<Frame> = Vec::new();
    let mut keys = Keys::default();
    let mut anchors: HashMap<usize, usize> = HashMap::new();
    let mut last_end = bom;
    let mut doc_root: Option<usize> = None;
    // Read like Docker Compose (yaml.v3): vendor/saphyr-parser/PATCHES.md.
    let parser = Parser::new_from_str(src).compose_compatible(true);
    for ev in parser {
        let (event, span) = ev.map_err(|e| scan_err(full, lines, &c2b, &e))?;
        let s = c2b.get(span.start.index());
        let e = c2b.get(span.end.index());
        let in_flow = stack.last().is_some_and(|f| f.flow_ctx);
        let (parent, role, slot) = match stack.last() {
            None => (None, Role::Root, 0),
            Some(f) if !f.is_map => (Some(f.id), Role::Item, f.count),
            Some(f) if f.pending_key => (Some(f.id), Role::Value, f.count),
            Some(f) => (Some(f.id), Role::Key, f.count),
        };
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
            Event::DocumentStart(_) => {
                doc_root = None;
                if e > s {
                    last_end = e;
                }
            }
            Event::DocumentEnd => {
                let root = match doc_root.take() {
                    Some(r) => r,
                    // An empty document: a null scalar.
                    None => sink.node(&NodeEv {
                        kind: EvKind::Scalar(ScalarStyle::Plain, ""),
                        span: s..s,
                        full_start: s,
                        flow: false,
                        in_flow: false,
                        anchor: None,
                        tag: None,
                        chomp: None,
                        parent: None,
                        role: Role::Root,
                        slot: 0,
                    }),
                };
                sink.document(root);
            }
            Event::Alias(aid) => {
                let target = *anchors
                    .get(&aid)
                    .ok_or_else(|| err_at(s, "alias to an unknown anchor".into()))?;
                if stack.iter().any(|f| f.id == target) {
                    return Err(err_at(
                        s,
                        "recursive alias: it refers to a node that contains it".into(),
                    ));
                }
                let name = full[s..e].trim_start_matches('*').trim();
                let id = sink.node(&NodeEv {
                    kind: EvKind::Alias { target, name },
                    span: s..e,
                    full_start: s,
                    flow: false,
                    in_flow,
                    anchor: None,
                    tag: None,
                    chomp: None,
                    parent,
                    role,
                    slot,
                });
                last_end = e;
                leaf_done(&mut stack, &mut doc_root, id, e);
            }
            Event::Scalar(value, style, anchor_id, tag) => {
                let content = skip_properties(full, s, e.max(s));
                let has_props = content > s;
                let anchor = (anchor_id != 0)
                    .then(|| anchor_range(full, s, content))
                    .flatten();
                let tag_r = tag.as_ref().and_then(|_| tag_range(full, s, content));
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
                if role == Role::Key {
                    check_duplicate(&mut stack, &mut keys, &value, span.start, &err_at)?;
                }
                let end = span.end;
                let id = sink.node(&NodeEv {
                    kind: EvKind::Scalar(style, &value),
                    span,
                    full_start,
                    flow: false,
                    in_flow,
                    anchor,
                    tag: tag_r,
                    chomp: chomp.filter(|c| *c != ' '),
                    parent,
                    role,
                    slot,
                });
                last_end = end.max(last_end);
                if anchor_id != 0 {
                    anchors.insert(anchor_id, id);
                }
                leaf_done(&mut stack, &mut doc_root, id, end);
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
                    .then(|| anchor_range(full, s, props_end.max(s)))
                    .flatten();
                let tag_r = tag
                    .as_ref()
                    .and_then(|_| tag_range(full, s, props_end.max(s)));
                let start = match bpos {
                    Some(b) => b,
                    None => {
                        let p = if has_props { props_end } else { s };
                        if is_seq {
                            block_seq_start(full, p)
                        } else {
                            p
                        }
                    }
                };
                let id = sink.node(&NodeEv {
                    kind: if is_seq { EvKind::Seq } else { EvKind::Map },
                    span: start..start,
                    full_start: if has_props { s } else { start },
                    flow,
                    in_flow,
                    anchor,
                    tag: tag_r,
                    chomp: None,
                    parent,
                    role,
                    slot,
                });
                if anchor_id != 0 {
                    anchors.insert(anchor_id, id);
                }
                last_end = if flow { start + 1 } else { start };
                stack.push(Frame {
                    id,
                    is_map: !is_seq,
                    flow_ctx: flow || in_flow,
                    flow,
                    role,
                    start,
                    count: 0,
                    pending_key: false,
                    key_end: 0,
                    last_child_end: None,
                    key_base: keys.ends.len(),
                    key_hashes: None,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let frame = stack
                    .pop()
                    .ok_or_else(|| err_at(s, "unbalanced collection end".into()))?;
                let end = if frame.flow {
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
                    frame.last_child_end.unwrap_or(frame.start)
                };
                if frame.is_map {
                    keys.truncate(frame.key_base);
                }
                sink.end(frame.id, end);
                last_end = end.max(last_end);
                child_done(&mut stack, frame.role, end);
                if stack.is_empty() {
                    doc_root = Some(frame.id);
                }
            }
        }
    }
    Ok(())
}

/// A scalar or alias is complete: it is a document root or a child of the top frame.
fn leaf_done(stack: &mut [Frame], doc_root: &mut Option<usize>, id: usize, end: usize) {
    match stack.last() {
        None => *doc_root = Some(id),
        Some(f) => {
            let role = if !f.is_map {
                Role::Item
            } else if f.pending_key {
                Role::Value
            } else {
                Role::Key
            };
            child_done(stack, role, end);
        }
    }
}

/// Record in the top frame that its child (in `role`) ended at `end`.
fn child_done(stack: &mut [Frame], role: Role, end: usize) {
    let Some(f) = stack.last_mut() else {
        return;
    };
    match role {
        Role::Root => {}
        Role::Item => {
            f.count += 1;
            f.last_child_end = Some(end);
        }
        Role::Key => {
            f.pending_key = true;
            f.key_end = end;
        }
        Role::Value => {
            f.pending_key = false;
            f.count += 1;
            f.last_child_end = Some(end.max(f.key_end));
        }
    }
}

/// Refuse a scalar key the top mapping already has; remember it otherwise.
fn check_duplicate(
    stack: &mut [Frame],
    keys: &mut Keys,
    key: &str,
    at: usize,
    err_at: &dyn Fn(usize, String) -> ParseError,
) -> Result<(), ParseError> {
    let Some(f) = stack.last_mut() else {
        return Ok(());
    };
    let n = keys.ends.len() - f.key_base;
    let scan = |keys: &Keys| (f.key_base..keys.ends.len()).any(|i| keys.get(i) == key);
    let dup = if n < SCAN_KEYS_UP_TO {
        scan(keys)
    } else {
        if f.key_hashes.is_none() {
            let set = (f.key_base..keys.ends.len())
                .map(|i| hash_key(keys.get(i)))
                .collect();
            f.key_hashes = Some(set);
        }
        let fresh = f
            .key_hashes
            .as_mut()
            .is_some_and(|h| h.insert(hash_key(key)));
        // A hash seen before is a duplicate unless it is a collision.
        !fresh && scan(keys)
    };
    if dup {
        return Err(err_at(at, format!("duplicate key `{key}` in a mapping")));
    }
    keys.buf.push_str(key);
    keys.ends.push(keys.buf.len());
    Ok(())
}

/// Block sequences start at the `-` of their first item.
fn block_seq_start(full: &str, p: usize) -> usize {
    let bytes = full.as_bytes();
    let mut i = p;
    if bytes.get(i) == Some(&b'-') {
        return i;
    }
    while i > 0 && bytes[i - 1] == b' ' {
        i -= 1;
    }
    if i > 0 && bytes[i - 1] == b'-' {
        i -= 1;
    }
    i
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

/// Byte range of the anchor name among the properties in `text[start..end]`.
fn anchor_range(text: &str, start: usize, end: usize) -> Option<Range<usize>> {
    let mut pos = start;
    loop {
        let rest = &text[pos..end];
        let trimmed = rest.trim_start();
        pos += rest.len() - trimmed.len();
        if let Some(r) = trimmed.strip_prefix('&') {
            let n = r
                .find(|c: char| c.is_whitespace() || c == '{' || c == '[')
                .unwrap_or(r.len());
            return Some(pos + 1..pos + 1 + n);
        } else if trimmed.starts_with('!') {
            pos += trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
        } else {
            return None;
        }
    }
}

/// Byte range of the tag among the properties in `text[start..end]`.
fn tag_range(text: &str, start: usize, end: usize) -> Option<Range<usize>> {
    let mut pos = start;
    loop {
        let rest = &text[pos..end];
        let trimmed = rest.trim_start();
        pos += rest.len() - trimmed.len();
        if trimmed.starts_with('&') {
            pos += trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
        } else if trimmed.starts_with('!') {
            let n = trimmed
                .find(|c: char| c.is_whitespace() || c == '{' || c == '[')
                .unwrap_or(trimmed.len());
            return Some(pos..pos + n);
        } else {
            return None;
        }
    }
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

/// The end (after it) of the closing `bracket` at or after `from`, past blanks, line breaks,
/// a trailing `,` and comments: saphyr's end event for `{A: 1,}` sits at the comma.
fn closing_bracket_after(text: &str, from: usize, bracket: u8) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = from;
    while i < b.len() {
        match b[i] {
            c if c == bracket => return Some(i + 1),
            b' ' | b'\t' | b'\r' | b'\n' | b',' => i += 1,
            b'#' => i = super::text::next_line_start(text, i),
            _ => return None,
        }
    }
    None
}
