//! Edit helpers that rules use: insert a key, append an item, remove an entry or item, replace
//! a scalar in its own quoting, rewrite part of a string scalar. Each returns an [`Edit`] that
//! matches the file's layout (indentation, sequence style, line ending), or a refusal reason
//! when no single correct edit exists.

use std::ops::Range;

use super::edit::Edit;
use super::render;
use super::text;
use super::tree::{NodeId, NodeKind, ScalarStyle, Yaml};

/// Why a helper could not produce an edit.
pub type Refusal = String;

/// A value to write into the file.
#[derive(Debug, Clone, PartialEq)]
pub enum NewNode {
    /// A string scalar (quoted only when plain would change its meaning).
    Str(String),
    /// A scalar written exactly as given (e.g. `true`, `2`, `512m`).
    Raw(String),
    /// A sequence.
    Seq(Vec<NewNode>),
    /// A sequence written `[a, b]`, also where block style would be used.
    FlowSeq(Vec<NewNode>),
    /// A mapping.
    Map(Vec<(String, NewNode)>),
}

impl NewNode {
    /// The declared value of this node, for verification.
    pub fn value(&self) -> super::value::Value {
        use super::value::{resolve_plain, Value};
        match self {
            NewNode::Str(s) => Value::str(s.clone()),
            NewNode::Raw(s) => Value::scalar(resolve_plain(s), s.clone()),
            NewNode::Seq(items) | NewNode::FlowSeq(items) => {
                Value::seq(items.iter().map(NewNode::value).collect())
            }
            NewNode::Map(e) => Value::map(e.iter().map(|(k, v)| (k.clone(), v.value())).collect()),
        }
    }

    /// Flow text; in a JSON file (`json`) strings and keys are double-quoted so the file stays
    /// JSON.
    fn flow(&self, json: bool) -> String {
        match self {
            NewNode::Str(s) => flow_str(s, json),
            NewNode::Raw(s) => s.clone(),
            NewNode::Seq(items) | NewNode::FlowSeq(items) => {
                format!(
                    "[{}]",
                    items
                        .iter()
                        .map(|i| i.flow(json))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
            NewNode::Map(e) => format!(
                "{{{}}}",
                e.iter()
                    .map(|(k, v)| format!("{}: {}", flow_str(k, json), v.flow(json)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// Render as the value part after `key:` for a key at column `col` (block style).
    fn block_after_key(&self, y: &Yaml, col: usize) -> String {
        match self {
            NewNode::Str(_) | NewNode::Raw(_) | NewNode::FlowSeq(_) => {
                format!(" {}", self.flow(false))
            }
            NewNode::Seq(items) if items.is_empty() => " []".into(),
            NewNode::Map(e) if e.is_empty() => " {}".into(),
            NewNode::Seq(items) => {
                let dash = " ".repeat(col + y.seq_indent);
                let mut out = String::new();
                for it in items {
                    out.push_str(y.eol);
                    out.push_str(&dash);
                    out.push_str("- ");
                    out.push_str(&it.block_item(y, col + y.seq_indent + 2));
                }
                out
            }
            NewNode::Map(e) => {
                let c = col + y.map_indent;
                let mut out = String::new();
                for (k, v) in e {
                    out.push_str(y.eol);
                    out.push_str(&" ".repeat(c));
                    out.push_str(&render::auto(k, false));
                    out.push(':');
                    out.push_str(&v.block_after_key(y, c));
                }
                out
            }
        }
    }

    /// Render as a sequence item's content (after `- `) whose content column is `col`.
    fn block_item(&self, y: &Yaml, col: usize) -> String {
        match self {
            NewNode::Str(s) => render::auto(s, false),
            NewNode::Map(e) if !e.is_empty() => {
                let mut out = String::new();
                for (i, (k, v)) in e.iter().enumerate() {
                    if i > 0 {
                        out.push_str(y.eol);
                        out.push_str(&" ".repeat(col));
                    }
                    out.push_str(&render::auto(k, false));
                    out.push(':');
                    out.push_str(&v.block_after_key(y, col));
                }
                out
            }
            other => other.flow(false),
        }
    }
}

/// Where the content of node `id` really ends: a block collection ends with its last entry or
/// item including an empty value's `:` (`SES_REGION:`), which the node span stops before.
fn content_end(y: &Yaml, id: NodeId) -> usize {
    let n = y.node(id);
    if n.flow {
        return n.span.end;
    }
    match &n.kind {
        NodeKind::Map { entries } => entries
            .last()
            .map_or(n.span.end, |e| entry_end(y, e).max(n.span.end)),
        NodeKind::Seq { items } => items
            .last()
            .map_or(n.span.end, |&i| content_end(y, i).max(n.span.end)),
        _ => n.span.end,
    }
}

fn entry_end(y: &Yaml, e: &super::tree::Entry) -> usize {
    y.entry_span(e).end.max(content_end(y, e.value))
}

fn flow_str(s: &str, json: bool) -> String {
    if json {
        render::double_quoted(s)
    } else {
        render::auto(s, true)
    }
}

/// Whether the file is written as JSON (its first document is a flow mapping with
/// double-quoted keys): new keys and strings are then double-quoted, so it stays JSON.
pub fn json_style(y: &Yaml) -> bool {
    let Some(doc) = y.docs.first() else {
        return false;
    };
    let root = y.node(doc.root);
    root.flow
        && y.entries(doc.root).is_some_and(|e| {
            e.first().is_some_and(|e| {
                matches!(
                    y.node(e.key).kind,
                    NodeKind::Scalar {
                        style: ScalarStyle::DoubleQuoted,
                        ..
                    }
                )
            })
        })
}

/// Text that goes before a new entry or item of a flow collection after `last_start` (the
/// start of its current last entry or item): `, ` on one line; on a multi-line collection
/// whose last entry starts its own line, `,` then a line break and that line's indentation.
fn flow_separator(y: &Yaml, last_start: usize) -> String {
    if text::only_spaces_before(&y.text, last_start) {
        let col = text::column(&y.text, last_start);
        format!(",{}{}", y.eol, spaces(col))
    } else {
        ", ".to_string()
    }
}

fn spaces(n: usize) -> String {
    " ".repeat(n)
}

/// Where new lines go after node content ending at `end`, and whether they need a leading line
/// break (the file has no final newline there).
fn line_insertion_point(y: &Yaml, end: usize) -> (usize, bool) {
    let at = text::after_line(&y.text, end);
    let missing_nl = at == y.text.len() && !y.text.ends_with('\n');
    (at, missing_nl)
}

fn lines_edit(y: &Yaml, at: usize, missing_nl: bool, body: &str) -> Edit {
    if missing_nl {
        // Keep a missing final newline missing: the break goes before the new lines.
        Edit::insert(at, format!("{}{}", y.eol, body))
    } else {
        Edit::insert(at, format!("{}{}", body, y.eol))
    }
}

/// Insert `key: value` as the last entry of mapping `map`.
pub fn insert_key(y: &Yaml, map: NodeId, key: &str, value: &NewNode) -> Result<Edit, Refusal> {
    let node = y.node(map);
    let NodeKind::Map { entries } = &node.kind else {
        return Err("not a mapping".into());
    };
    if node.flow {
        let json = json_style(y);
        let kv = format!("{}: {}", flow_str(key, json), value.flow(json));
        return Ok(match entries.last() {
            // Several keys may be added to one empty `{}`: they are joined with `, `.
            None => Edit::insert(node.span.start + 1, kv).joined(", "),
            Some(e) => {
                let sep = flow_separator(y, y.node(e.key).full_start);
                Edit::insert(y.entry_span(e).end, format!("{sep}{kv}"))
            }
        });
    }
    let first = entries.first().ok_or("empty block mapping")?;
    let last = entries.last().ok_or("empty block mapping")?;
    let key_pos = y.node(first.key).full_start;
    let col = text::column(&y.text, key_pos);
    let end = entry_end(y, last);
    if !text::rest_is_blank_or_comment(&y.text, end) {
        return Err("the mapping's last entry shares its line with other content".into());
    }
    let (at, missing_nl) = line_insertion_point(y, end);
    let body = format!(
        "{}{}:{}",
        spaces(col),
        render::auto(key, false),
        value.block_after_key(y, col)
    );
    Ok(lines_edit(y, at, missing_nl, &body))
}

/// Join same-point insertions into one edit; in an empty flow collection they are separated
/// (and joined to other fixes' insertions there) with `, `.
fn combine(edits: Vec<Edit>, empty_flow: bool) -> Option<Edit> {
    let at = edits.first()?.range.start;
    let sep = if empty_flow { ", " } else { "" };
    let text: Vec<&str> = edits.iter().map(|e| e.replacement.as_str()).collect();
    let edit = Edit::insert(at, text.join(sep));
    Some(if empty_flow { edit.joined(sep) } else { edit })
}

/// Insert several `key: value` entries, in order, after the last entry of mapping `map`, as
/// one edit (`None` when `entries` is empty). A refusal names the key.
pub fn insert_keys(
    y: &Yaml,
    map: NodeId,
    entries: &[(String, NewNode)],
) -> Result<Option<Edit>, Refusal> {
    let empty_flow = y.node(map).flow && y.entries(map).is_some_and(<[_]>::is_empty);
    let edits = entries
        .iter()
        .map(|(k, v)| insert_key(y, map, k, v).map_err(|w| format!("cannot add `{k}`: {w}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(combine(edits, empty_flow))
}

/// Append several items, in order, to sequence `seq`, as one edit (`None` when `new` is empty).
pub fn append_items(y: &Yaml, seq: NodeId, new: &[NewNode]) -> Result<Option<Edit>, Refusal> {
    let empty_flow = y.node(seq).flow && y.items(seq).is_some_and(<[_]>::is_empty);
    let edits = new
        .iter()
        .map(|item| append_item(y, seq, item))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(combine(edits, empty_flow))
}

/// Append `item` to sequence `seq`.
pub fn append_item(y: &Yaml, seq: NodeId, item: &NewNode) -> Result<Edit, Refusal> {
    let node = y.node(seq);
    let NodeKind::Seq { items } = &node.kind else {
        return Err("not a sequence".into());
    };
    if node.flow {
        let json = json_style(y);
        return Ok(match items.last() {
            None => Edit::insert(node.span.start + 1, item.flow(json)).joined(", "),
            Some(&l) => {
                let sep = flow_separator(y, y.node(l).full_start);
                Edit::insert(y.node(l).span.end, format!("{sep}{}", item.flow(json)))
            }
        });
    }
    let &last = items.last().ok_or("empty block sequence")?;
    let dash = y.dash_of(last).ok_or("sequence item without a dash")?;
    if !text::only_spaces_before(&y.text, dash) {
        return Err("the sequence shares its line with other content".into());
    }
    let col = text::column(&y.text, dash);
    let end = content_end(y, last);
    if !text::rest_is_blank_or_comment(&y.text, end) {
        return Err("the sequence's last item shares its line with other content".into());
    }
    let (at, missing_nl) = line_insertion_point(y, end);
    let body = format!("{}- {}", spaces(col), item.block_item(y, col + 2));
    Ok(lines_edit(y, at, missing_nl, &body))
}

/// The lines `[start, end)` occupied by a block entry or item starting at `start_pos` and
/// ending at `end_pos`, plus comment lines directly above it at the same column.
fn owned_lines(y: &Yaml, start_pos: usize, end_pos: usize) -> Result<Range<usize>, Refusal> {
    let t = &y.text;
    if !text::only_spaces_before(t, start_pos) {
        return Err("it shares its first line with other content".into());
    }
    if !text::rest_is_blank_or_comment(t, end_pos) {
        return Err("it shares its last line with other content".into());
    }
    let col = text::column(t, start_pos);
    let mut start = text::line_start(t, start_pos);
    // Comment lines right above, at the same column, belong to it.
    while start > 0 {
        let prev = text::line_start(t, start - 1);
        let line = &t[prev..text::line_end(t, prev)];
        let trimmed = line.trim_start_matches(' ');
        if trimmed.starts_with('#') && line.len() - trimmed.len() == col {
            start = prev;
        } else {
            break;
        }
    }
    let mut end = text::after_line(t, end_pos);
    if end == t.len() && !t.ends_with('\n') && start > 0 {
        // Removing the last line of a file without a final newline: take the line break
        // before it instead, so the file still ends without one.
        let prev_end = text::line_end(t, start - 1);
        return Ok(prev_end..end);
    }
    if end < start {
        end = start;
    }
    Ok(start..end)
}

/// Remove entry `index` of mapping `map` (with its line and trailing comment).
pub fn remove_entry(y: &Yaml, map: NodeId, index: usize) -> Result<Edit, Refusal> {
    let node = y.node(map);
    let NodeKind::Map { entries } = &node.kind else {
        return Err("not a mapping".into());
    };
    let e = entries.get(index).ok_or("no such entry")?;
    let span = y.entry_span(e);
    if node.flow {
        return Ok(Edit::delete(flow_item_range(
            y,
            &entries.iter().map(|e| y.entry_span(e)).collect::<Vec<_>>(),
            index,
        )));
    }
    Ok(Edit::delete(owned_lines(y, span.start, span.end)?))
}

/// Remove item `index` of sequence `seq` (with its line and trailing comment).
pub fn remove_item(y: &Yaml, seq: NodeId, index: usize) -> Result<Edit, Refusal> {
    let node = y.node(seq);
    let NodeKind::Seq { items } = &node.kind else {
        return Err("not a sequence".into());
    };
    let &it = items.get(index).ok_or("no such item")?;
    if node.flow {
        let spans: Vec<Range<usize>> = items
            .iter()
            .map(|&i| y.node(i).full_start..y.node(i).span.end)
            .collect();
        return Ok(Edit::delete(flow_item_range(y, &spans, index)));
    }
    let dash = y.dash_of(it).ok_or("sequence item without a dash")?;
    Ok(Edit::delete(owned_lines(y, dash, y.node(it).span.end)?))
}

/// Remove several items of sequence `seq` (input indices, any order) with edits that do not
/// overlap: block items each with their own lines; in a flow list each run of neighbouring
/// items as one deletion, so the list keeps its own separators.
pub fn remove_items(y: &Yaml, seq: NodeId, indices: &[usize]) -> Result<Vec<Edit>, Refusal> {
    let node = y.node(seq);
    let NodeKind::Seq { items } = &node.kind else {
        return Err("not a sequence".into());
    };
    let mut idx = indices.to_vec();
    idx.sort_unstable();
    idx.dedup();
    if idx.last().is_some_and(|&i| i >= items.len()) {
        return Err("no such item".into());
    }
    if !node.flow {
        return idx.iter().map(|&i| remove_item(y, seq, i)).collect();
    }
    let spans: Vec<Range<usize>> = items
        .iter()
        .map(|&i| y.node(i).full_start..y.node(i).span.end)
        .collect();
    let mut edits = Vec::new();
    let mut k = 0;
    while k < idx.len() {
        // The run idx[k]..=idx[j] of neighbouring items.
        let mut j = k;
        while j + 1 < idx.len() && idx[j + 1] == idx[j] + 1 {
            j += 1;
        }
        let (a, b) = (idx[k], idx[j]);
        let range = if b + 1 < spans.len() {
            spans[a].start..spans[b + 1].start
        } else if a > 0 {
            spans[a - 1].end..spans[b].end
        } else {
            spans[a].start..spans[b].end
        };
        edits.push(Edit::delete(range));
        k = j + 1;
    }
    Ok(edits)
}

fn flow_item_range(_y: &Yaml, spans: &[Range<usize>], index: usize) -> Range<usize> {
    let cur = &spans[index];
    if spans.len() == 1 {
        cur.clone()
    } else if index + 1 < spans.len() {
        cur.start..spans[index + 1].start
    } else {
        spans[index - 1].end..cur.end
    }
}

/// Replace node `node` (a scalar or a flow collection, with its tag and anchor) by `text`,
/// written as is (e.g. `!override [a, b]`). Block collections are refused: their extent is
/// lines, not a span.
pub fn replace_node(y: &Yaml, node: NodeId, text: &str) -> Result<Edit, Refusal> {
    let n = y.node(node);
    if n.anchor.is_some() {
        return Err("the value defines an anchor that other nodes may use".into());
    }
    match &n.kind {
        NodeKind::Scalar {
            style: ScalarStyle::Literal | ScalarStyle::Folded,
            ..
        } => Err("block scalars (`|`, `>`) are not rewritten".into()),
        NodeKind::Scalar { .. } => Ok(Edit::replace(n.full_start..n.span.end, text)),
        NodeKind::Seq { .. } | NodeKind::Map { .. } if n.flow => {
            Ok(Edit::replace(n.full_start..n.span.end, text))
        }
        _ => Err("a block collection is not replaced in place".into()),
    }
}

/// How [`replace_scalar`] may quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    /// Keep the scalar's own style; a plain scalar is quoted only if plain would change it.
    Keep,
    /// Keep quoted styles; quote a plain scalar with double quotes.
    Force,
}

/// Replace scalar `node` with `value`, written in the scalar's own quoting style.
pub fn replace_scalar(y: &Yaml, node: NodeId, value: &str, quote: Quote) -> Result<Edit, Refusal> {
    let n = y.node(node);
    let NodeKind::Scalar { style, .. } = &n.kind else {
        return Err("not a scalar".into());
    };
    let rendered = match style {
        ScalarStyle::Plain if quote == Quote::Keep && render::plain_ok(value, n.in_flow) => {
            value.to_string()
        }
        ScalarStyle::Plain | ScalarStyle::DoubleQuoted => render::double_quoted(value),
        ScalarStyle::SingleQuoted => {
            render::single_quoted(value).unwrap_or_else(|| render::double_quoted(value))
        }
        ScalarStyle::Literal | ScalarStyle::Folded => {
            return Err("block scalars (`|`, `>`) are not rewritten".into())
        }
    };
    if n.span.is_empty() {
        // An empty value (`key:` or `-`): write after the indicator.
        let t = y.text.as_bytes();
        let mut p = n.span.start;
        while p < t.len() && t[p] == b' ' {
            p += 1;
        }
        let at = if t.get(p) == Some(&b':') {
            p + 1
        } else {
            n.span.start
        };
        return Ok(Edit::insert(at, format!(" {rendered}")));
    }
    Ok(Edit::replace(n.span.clone(), rendered))
}

/// Replace the bytes `range` of scalar `node`'s decoded value with `replacement`. The edit is
/// as narrow as the scalar's writing allows; otherwise the whole scalar is re-rendered.
pub fn rewrite_in_scalar(
    y: &Yaml,
    node: NodeId,
    range: Range<usize>,
    replacement: &str,
) -> Result<Edit, Refusal> {
    let n = y.node(node);
    let NodeKind::Scalar { value, style } = &n.kind else {
        return Err("not a scalar".into());
    };
    if range.end > value.len()
        || !value.is_char_boundary(range.start)
        || !value.is_char_boundary(range.end)
    {
        return Err("range outside the scalar".into());
    }
    let new_value = format!(
        "{}{}{}",
        &value[..range.start],
        replacement,
        &value[range.end..]
    );
    let raw = &y.text[n.span.clone()];
    let (inner_off, inner) = match style {
        ScalarStyle::Plain => (0, raw),
        ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted if raw.len() >= 2 => {
            (1, &raw[1..raw.len() - 1])
        }
        _ => return replace_scalar(y, node, &new_value, Quote::Keep),
    };
    let narrow_ok = inner == value
        && match style {
            ScalarStyle::Plain => render::plain_ok(&new_value, n.in_flow),
            ScalarStyle::SingleQuoted => {
                !replacement.contains('\'') && !replacement.chars().any(char::is_control)
            }
            _ => !replacement.contains(['"', '\\']) && !replacement.chars().any(char::is_control),
        };
    if narrow_ok {
        let s = n.span.start + inner_off;
        return Ok(Edit::replace(s + range.start..s + range.end, replacement));
    }
    replace_scalar(y, node, &new_value, Quote::Keep)
}
