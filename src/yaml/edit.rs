//! Edits and fixes, and the one engine that applies a file's fixes in a single sorted pass and
//! verifies the result against the declared value changes.

use std::borrow::{Borrow, Cow};
use std::ops::Range;

use super::tree::Yaml;
use super::value::Change;
pub use super::verify::{verify, VerifyError};

/// Replace the bytes `range` of the input with `replacement` (an empty range inserts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Byte range of the input to replace.
    pub range: Range<usize>,
    /// The new text.
    pub replacement: String,
    /// For insertions: the text that separates this insertion from another one at the same
    /// point with the same separator (`", "` for entries added to an empty flow collection).
    pub separator: &'static str,
}

impl Edit {
    /// Insert `text` at byte `at`.
    pub fn insert(at: usize, text: impl Into<String>) -> Edit {
        Edit {
            range: at..at,
            replacement: text.into(),
            separator: "",
        }
    }
    /// Replace `range` with `text`.
    pub fn replace(range: Range<usize>, text: impl Into<String>) -> Edit {
        Edit {
            range,
            replacement: text.into(),
            separator: "",
        }
    }
    /// Delete `range`.
    pub fn delete(range: Range<usize>) -> Edit {
        Edit {
            range,
            replacement: String::new(),
            separator: "",
        }
    }
    /// This insertion, joined to other same-point insertions with `sep` between them.
    pub fn joined(mut self, sep: &'static str) -> Edit {
        self.separator = sep;
        self
    }
    fn key(&self) -> (usize, usize, &str) {
        (self.range.start, self.range.end, &self.replacement)
    }
    fn is_insert(&self) -> bool {
        self.range.is_empty()
    }
}

/// Whether a fix can be applied without a human looking at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Applicability {
    /// Keeps the stack's behaviour; apply freely.
    Safe,
    /// May change behaviour (a service might need what is removed); review the diff.
    Review,
}

impl Applicability {
    /// `safe` or `review`.
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::Review => "review",
        }
    }
}

/// A rule's proposed change: text edits plus the value change they are meant to make.
#[derive(Debug, Clone)]
pub struct Fix {
    /// Rule id that proposes it.
    pub rule: &'static str,
    /// Imperative one-line title (a static text where the rule can).
    pub title: Cow<'static, str>,
    /// Safe or needs review.
    pub applicability: Applicability,
    /// Byte edits, sorted.
    pub edits: Vec<Edit>,
    /// Declared value changes (verified after applying).
    pub changes: Vec<Change>,
    /// Byte offset the fix is about (for messages).
    pub at: usize,
    /// Which of the caller's texts the edits address (0 when there is one; a Compose project
    /// numbers its files).
    pub file: usize,
    /// Further parts of the same fix, possibly in other texts: applied together with this one,
    /// all or none (callers that hold several texts flatten them with [`Fix::flatten`]).
    pub parts: Vec<Fix>,
}

impl Fix {
    /// A fix with edits sorted.
    pub fn new(
        rule: &'static str,
        title: impl Into<Cow<'static, str>>,
        applicability: Applicability,
        mut edits: Vec<Edit>,
        changes: Vec<Change>,
        at: usize,
    ) -> Fix {
        edits.sort_by(|a, b| a.key().cmp(&b.key()));
        Fix {
            rule,
            title: title.into(),
            applicability,
            edits,
            changes,
            at,
            file: 0,
            parts: Vec::new(),
        }
    }

    /// This fix, addressing text `file`.
    pub fn in_file(mut self, file: usize) -> Fix {
        self.file = file;
        self
    }

    /// This fix with `part` applied together with it.
    pub fn with_part(mut self, part: Fix) -> Fix {
        self.parts.push(part);
        self
    }

    /// Every part (this one first), without their own `parts`.
    pub fn flatten(&self) -> Vec<Fix> {
        let mut out = Vec::new();
        let mut head = self.clone();
        let parts = std::mem::take(&mut head.parts);
        out.push(head);
        for p in &parts {
            out.extend(p.flatten());
        }
        out
    }

    /// The files (texts) this fix edits, in first-part order.
    pub fn files(&self) -> Vec<usize> {
        let mut v = Vec::new();
        for p in self.flatten() {
            if !v.contains(&p.file) {
                v.push(p.file);
            }
        }
        v
    }
    fn start(&self) -> usize {
        self.edits.first().map_or(usize::MAX, |e| e.range.start)
    }
}

/// Why a fix was not applied.
#[derive(Debug, Clone)]
pub struct Rejected {
    /// The fix's rule.
    pub rule: &'static str,
    /// Its title.
    pub title: Cow<'static, str>,
    /// Byte offset it was about.
    pub at: usize,
    /// Why it was held back.
    pub reason: String,
    /// Whether this is a tool bug (failed verification) rather than a conflict.
    pub is_error: bool,
}

/// The result of applying a file's fixes.
#[derive(Debug)]
pub struct Applied {
    /// The new text.
    pub output: String,
    /// Indices (into the input list) of fixes that were applied.
    pub applied: Vec<usize>,
    /// Fixes held back, with reasons.
    pub rejected: Vec<Rejected>,
    /// The edits applied, sorted in the order they were spliced (input byte offsets).
    pub edits: Vec<Edit>,
    /// For each of `edits`, the index (into the input list) of the fix it belongs to.
    pub owners: Vec<usize>,
}

fn conflicts(a: &Edit, b: &Edit) -> bool {
    match (a.is_insert(), b.is_insert()) {
        // Two insertions at one point compose (in fix order).
        (true, true) => false,
        // An insertion strictly inside a replaced range conflicts; at either end it composes
        // (the verification step checks the combined meaning).
        (true, false) => b.range.start < a.range.start && a.range.start < b.range.end,
        (false, true) => a.range.start < b.range.start && b.range.start < a.range.end,
        (false, false) => a.range.start < b.range.end && b.range.start < a.range.end,
    }
}

/// How strongly a block insertion continues the collection that ends where it is inserted:
/// deeper indentation first, and at equal indentation a sequence item (`- x`, which would
/// otherwise join a zero-indented list inserted before it) before a mapping entry. Same-point
/// insertions are ordered by this (descending), then by fix order, so that an item appended to a
/// service's trailing list lands in that list even when another fix adds a key after it.
fn continues(e: &Edit) -> (usize, bool) {
    if !e.is_insert() {
        return (0, false);
    }
    let t = e.replacement.as_str();
    let t = t
        .strip_prefix("\r\n")
        .or_else(|| t.strip_prefix('\n'))
        .unwrap_or(t);
    let body = t.trim_start_matches(' ');
    (t.len() - body.len(), body.starts_with("- ") || body == "-")
}

/// Splice `edits` (already checked to be non-overlapping) into `text` in one pass.
pub fn splice(text: &str, edits: &mut [(usize, &Edit)]) -> String {
    sort_for_splice(edits);
    splice_sorted(text, 0, text.len(), edits.iter().map(|(_, e)| *e))
}

/// Splice sorted, non-overlapping `edits` into `text[from..to]` (edit offsets are relative to
/// `text`). Consecutive insertions at one point that share a separator get it between them.
pub fn splice_sorted<'e>(
    text: &str,
    from: usize,
    to: usize,
    edits: impl Iterator<Item = &'e Edit>,
) -> String {
    let mut out = String::with_capacity(to - from);
    let mut pos = from;
    let mut prev: Option<&Edit> = None;
    for e in edits {
        out.push_str(&text[pos..e.range.start]);
        if let Some(p) = prev {
            if p.is_insert()
                && e.is_insert()
                && p.range.start == e.range.start
                && !e.separator.is_empty()
                && p.separator == e.separator
            {
                out.push_str(e.separator);
            }
        }
        out.push_str(&e.replacement);
        pos = e.range.end;
        prev = Some(e);
    }
    out.push_str(&text[pos..to]);
    out
}

/// Order edits for splicing: by start, insertions before a replacement at the same point, then
/// by fix order.
fn sort_for_splice<E: Borrow<Edit>>(edits: &mut [(usize, E)]) {
    edits.sort_by(|(fa, a), (fb, b)| {
        let (a, b) = (a.borrow(), b.borrow());
        (
            a.range.start,
            !a.is_insert(),
            continues(b),
            *fa,
            a.range.end,
        )
            .cmp(&(
                b.range.start,
                !b.is_insert(),
                continues(a),
                *fb,
                b.range.end,
            ))
    });
}

fn sorted_edits(fixes: &[&Fix], ids: &[usize]) -> (Vec<Edit>, Vec<usize>) {
    let mut edits: Vec<(usize, &Edit)> = ids
        .iter()
        .flat_map(|&i| fixes[i].edits.iter().map(move |e| (i, e)))
        .collect();
    sort_for_splice(&mut edits);
    edits.into_iter().map(|(i, e)| (e.clone(), i)).unzip()
}

/// Choose non-overlapping fixes: fixes are taken in order of their first edit (then their
/// order in `fixes`, which is registry order); a fix that overlaps an accepted one is held
/// back whole.
fn select(fixes: &[&Fix]) -> (Vec<usize>, Vec<Rejected>) {
    let mut order: Vec<usize> = (0..fixes.len()).collect();
    order.sort_by_key(|&i| (fixes[i].start(), i));
    let mut accepted: Vec<usize> = Vec::new();
    let mut taken: Vec<(Range<usize>, bool, usize)> = Vec::new(); // (range, is_insert, fix)
    let mut rejected = Vec::new();
    for i in order {
        let f = &fixes[i];
        let clash = f.edits.iter().find_map(|e| {
            // Edits are sorted and fixes mostly local: scan the accepted edits near `e`.
            // Accepted edits do not overlap, so sorting by start also sorts by end.
            let lo = taken.partition_point(|(r, _, _)| r.end < e.range.start);
            taken[lo..]
                .iter()
                .take_while(|(r, _, _)| r.start <= e.range.end)
                .find(|(r, ins, _)| {
                    conflicts(
                        e,
                        &Edit {
                            range: r.clone(),
                            replacement: if *ins { String::new() } else { "x".into() },
                            separator: "",
                        },
                    )
                })
                .map(|(_, _, j)| *j)
        });
        // Overlaps within one fix are a rule bug.
        let self_overlap = f
            .edits
            .windows(2)
            .any(|w| !w[0].is_insert() && w[1].range.start < w[0].range.end);
        if self_overlap {
            rejected.push(Rejected {
                rule: f.rule,
                title: f.title.clone(),
                at: f.at,
                reason: "its own edits overlap (a bug in the rule)".into(),
                is_error: true,
            });
            continue;
        }
        match clash {
            Some(j) => rejected.push(Rejected {
                rule: f.rule,
                title: f.title.clone(),
                at: f.at,
                reason: format!("held back: overlaps a fix of `{}`", fixes[j].rule),
                is_error: false,
            }),
            None => {
                for e in &f.edits {
                    let pos = taken.partition_point(|(r, _, _)| {
                        (r.start, r.end) <= (e.range.start, e.range.end)
                    });
                    taken.insert(pos, (e.range.clone(), e.is_insert(), i));
                }
                accepted.push(i);
            }
        }
    }
    accepted.sort();
    (accepted, rejected)
}

/// The verified result of applying a file's fixes, before the applied edits are collected.
struct Outcome {
    output: String,
    applied: Vec<usize>,
    rejected: Vec<Rejected>,
}

fn rejected(f: &Fix, reason: String, is_error: bool) -> Rejected {
    Rejected {
        rule: f.rule,
        title: f.title.clone(),
        at: f.at,
        reason,
        is_error,
    }
}

/// A file's fixes spliced in one pass, not yet verified.
#[derive(Debug)]
pub struct Spliced {
    /// The new text.
    pub output: String,
    /// Indices of the fixes spliced (the others overlap an earlier one, or themselves).
    pub accepted: Vec<usize>,
    /// Fixes held back, with reasons.
    pub rejected: Vec<Rejected>,
}

/// Choose the non-overlapping fixes and splice their edits into `y`'s text in one pass.
pub fn splice_fixes(y: &Yaml, fixes: &[&Fix]) -> Spliced {
    let (accepted, rejected) = select(fixes);
    let mut edits: Vec<(usize, &Edit)> = accepted
        .iter()
        .flat_map(|&i| fixes[i].edits.iter().map(move |e| (i, e)))
        .collect();
    Spliced {
        output: splice(&y.text, &mut edits),
        accepted,
        rejected,
    }
}

/// Select, splice and verify. Fixes that overlap are held back; if verification fails, each
/// fix is checked alone and those that fail are dropped with an error (the rest are applied
/// and verified again).
fn run(y: &Yaml, fixes: &[&Fix]) -> Outcome {
    let Spliced {
        output,
        accepted,
        rejected: mut rejected_fixes,
    } = splice_fixes(y, fixes);
    if accepted.is_empty() {
        return Outcome {
            output,
            applied: accepted,
            rejected: rejected_fixes,
        };
    }
    let changes: Vec<&Change> = accepted
        .iter()
        .flat_map(|&i| fixes[i].changes.iter())
        .collect();
    // Fast path: one streaming comparison of the output with the input plus every change.
    if verify(y, &output, &changes).is_ok() {
        return Outcome {
            output,
            applied: accepted,
            rejected: rejected_fixes,
        };
    }
    drop(output);
    let build = |ids: &[usize]| {
        let mut edits: Vec<(usize, &Edit)> = ids
            .iter()
            .flat_map(|&i| fixes[i].edits.iter().map(move |e| (i, e)))
            .collect();
        let changes: Vec<&Change> = ids.iter().flat_map(|&i| fixes[i].changes.iter()).collect();
        (splice(&y.text, &mut edits), changes)
    };
    // Slow path, taken only when something is wrong: find the culprits one by one.
    let mut good = Vec::new();
    for &i in &accepted {
        let (out, ch) = build(&[i]);
        match verify(y, &out, &ch) {
            Ok(()) => good.push(i),
            Err(e) => rejected_fixes.push(rejected(
                fixes[i],
                format!("verification failed: {e}"),
                true,
            )),
        }
    }
    let (output, changes) = build(&good);
    if let Err(e) = verify(y, &output, &changes) {
        for &i in &good {
            rejected_fixes.push(rejected(
                fixes[i],
                format!("verification failed in combination: {e}"),
                true,
            ));
        }
        return Outcome {
            output: y.text.clone(),
            applied: Vec::new(),
            rejected: rejected_fixes,
        };
    }
    Outcome {
        output,
        applied: good,
        rejected: rejected_fixes,
    }
}

/// Apply `fixes` to the file `y` in one pass and verify the result once (see [`run`]); the
/// applied edits are copied into [`Applied::edits`].
pub fn apply_fixes<F: Borrow<Fix>>(y: &Yaml, fixes: &[F]) -> Applied {
    let fixes: Vec<&Fix> = fixes.iter().map(|f| f.borrow()).collect();
    let o = run(y, &fixes);
    let (edits, owners) = sorted_edits(&fixes, &o.applied);
    Applied {
        edits,
        owners,
        output: o.output,
        applied: o.applied,
        rejected: o.rejected,
    }
}

/// [`apply_fixes`], moving the applied fixes' edits into [`Applied::edits`] instead of
/// copying them, and dropping every fix's declared changes once the result is verified (a
/// fix keeps its rule, title and applicability for reports; one not applied keeps its edits
/// as the suggestion reports show).
pub fn apply_fixes_taking(y: &Yaml, fixes: &mut [&mut Fix]) -> Applied {
    let o = {
        let view: Vec<&Fix> = fixes.iter().map(|f| &**f).collect();
        run(y, &view)
    };
    let mut edits: Vec<(usize, Edit)> = Vec::new();
    for &i in &o.applied {
        edits.extend(
            std::mem::take(&mut fixes[i].edits)
                .into_iter()
                .map(|e| (i, e)),
        );
    }
    sort_for_splice(&mut edits);
    for f in fixes.iter_mut() {
        f.changes = Vec::new();
    }
    let (owners, edits) = edits.into_iter().unzip();
    Applied {
        edits,
        owners,
        output: o.output,
        applied: o.applied,
        rejected: o.rejected,
    }
}
