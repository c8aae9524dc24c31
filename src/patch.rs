//! A strict unified-diff applier for `apply --patch`: every context and `-` line must match the
//! file exactly at the position the hunk header states (no fuzz, no offset search). Handles
//! `a/`/`b/` headers, `\ No newline at end of file` and CRLF lines (a `\r` is part of the line).

/// One line of a hunk; the text keeps its line ending (none for a last line without newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// ` text`: must match, kept.
    Context(String),
    /// `-text`: must match, removed.
    Remove(String),
    /// `+text`: added.
    Add(String),
}

/// One `@@ -a,b +c,d @@` hunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// First old line (1-based; the line before the change when `old_count` is 0).
    pub old_start: usize,
    /// Old line count.
    pub old_count: usize,
    /// First new line.
    pub new_start: usize,
    /// New line count.
    pub new_count: usize,
    /// Its lines.
    pub lines: Vec<Line>,
    /// Line of the `@@` header in the patch (1-based), for messages.
    pub at: usize,
}

/// The hunks for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePatch {
    /// The path after `a/` (as `diff` printed it).
    pub path: String,
    /// The hunks, in order.
    pub hunks: Vec<Hunk>,
}

/// A patch that cannot be parsed or applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PatchError {
    /// What is wrong, naming the file and hunk.
    pub message: String,
}

fn err(message: impl Into<String>) -> PatchError {
    PatchError {
        message: message.into(),
    }
}

fn header_path(rest: &str, prefix: &str) -> String {
    let rest = rest.trim_end_matches(['\n', '\r']);
    // A tab separates an optional timestamp.
    let rest = rest.split('\t').next().unwrap_or(rest);
    rest.strip_prefix(prefix).unwrap_or(rest).to_string()
}

fn parse_range(s: &str) -> Option<(usize, usize)> {
    match s.split_once(',') {
        Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
        None => Some((s.parse().ok()?, 1)),
    }
}

fn parse_header(line: &str) -> Option<(usize, usize, usize, usize)> {
    let rest = line.strip_prefix("@@ -")?;
    let (ranges, _) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    let (a, b) = parse_range(old)?;
    let (c, d) = parse_range(new)?;
    Some((a, b, c, d))
}

/// Parse a unified diff (text before the first `--- ` line is ignored, as `patch` does).
pub fn parse(text: &str) -> Result<Vec<FilePatch>, PatchError> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut files: Vec<FilePatch> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some(rest) = line.strip_prefix("--- ") {
            let next = lines.get(i + 1).copied().unwrap_or("");
            let Some(new_rest) = next.strip_prefix("+++ ") else {
                return Err(err(format!(
                    "patch line {}: `---` header without a `+++` line",
                    i + 1
                )));
            };
            let old = header_path(rest, "a/");
            let new = header_path(new_rest, "b/");
            if old == "/dev/null" || new == "/dev/null" {
                return Err(err(format!(
                    "patch line {}: creating or deleting files is not supported",
                    i + 1
                )));
            }
            if old != new {
                return Err(err(format!(
                    "patch line {}: renames are not supported (`{old}` -> `{new}`)",
                    i + 1
                )));
            }
            files.push(FilePatch {
                path: old,
                hunks: Vec::new(),
            });
            i += 2;
            continue;
        }
        if line.starts_with("@@") {
            let at = i + 1;
            let Some(file) = files.last_mut() else {
                return Err(err(format!(
                    "patch line {at}: hunk before any `---`/`+++` header"
                )));
            };
            let (old_start, old_count, new_start, new_count) = parse_header(line)
                .ok_or_else(|| err(format!("patch line {at}: malformed hunk header")))?;
            let (mut o, mut n) = (0usize, 0usize);
            let mut body: Vec<Line> = Vec::new();
            i += 1;
            while o < old_count || n < new_count {
                let Some(&l) = lines.get(i) else {
                    return Err(err(format!(
                        "{}: hunk at patch line {at} is truncated",
                        file.path
                    )));
                };
                let (tag, content) = match l.as_bytes().first() {
                    // An empty line stands for an empty context line (editors strip the space).
                    Some(b'\n') => (' ', l),
                    Some(b'\r') if l == "\r\n" => (' ', l),
                    Some(&b) => (b as char, &l[1..]),
                    None => (' ', l),
                };
                match tag {
                    ' ' => {
                        body.push(Line::Context(content.to_string()));
                        o += 1;
                        n += 1;
                    }
                    '-' => {
                        body.push(Line::Remove(content.to_string()));
                        o += 1;
                    }
                    '+' => {
                        body.push(Line::Add(content.to_string()));
                        n += 1;
                    }
                    '\\' => strip_newline(&mut body),
                    _ => {
                        return Err(err(format!(
                            "{}: hunk at patch line {at}: unexpected line {}",
                            file.path,
                            i + 1
                        )))
                    }
                }
                i += 1;
            }
            if o != old_count || n != new_count {
                return Err(err(format!(
                    "{}: hunk at patch line {at}: line counts do not match its header",
                    file.path
                )));
            }
            while lines.get(i).is_some_and(|l| l.starts_with('\\')) {
                strip_newline(&mut body);
                i += 1;
            }
            file.hunks.push(Hunk {
                old_start,
                old_count,
                new_start,
                new_count,
                lines: body,
                at,
            });
            continue;
        }
        i += 1;
    }
    if files.is_empty() {
        return Err(err("the patch has no `---`/`+++` file header"));
    }
    Ok(files)
}

fn strip_newline(body: &mut [Line]) {
    if let Some(Line::Context(s) | Line::Remove(s) | Line::Add(s)) = body.last_mut() {
        if s.ends_with('\n') {
            s.pop();
        }
    }
}

/// Apply `fp` to `old` strictly; the error names the file and the hunk.
pub fn apply(old: &str, fp: &FilePatch) -> Result<String, PatchError> {
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let mut out = String::with_capacity(old.len() + 256);
    // Only the old side is checked: a hand-edited diff may drop a hunk, which shifts the new
    // positions of the hunks after it.
    let mut cursor = 0usize;
    for (k, h) in fp.hunks.iter().enumerate() {
        let what = |m: &str| {
            err(format!(
                "{}: hunk {} (@@ -{},{} +{},{} @@, patch line {}): {m}",
                fp.path,
                k + 1,
                h.old_start,
                h.old_count,
                h.new_start,
                h.new_count,
                h.at
            ))
        };
        let start = if h.old_count == 0 {
            h.old_start
        } else {
            h.old_start
                .checked_sub(1)
                .ok_or_else(|| what("bad start"))?
        };
        if start < cursor {
            return Err(what("overlaps the previous hunk"));
        }
        if start > old_lines.len() {
            return Err(what("starts beyond the end of the file"));
        }
        for l in &old_lines[cursor..start] {
            out.push_str(l);
        }
        let mut pos = start;
        for line in &h.lines {
            match line {
                Line::Context(t) | Line::Remove(t) => {
                    let actual = old_lines.get(pos).copied();
                    if actual != Some(t.as_str()) {
                        return Err(what(&format!(
                            "line {} of the file does not match what the diff was made from",
                            pos + 1
                        )));
                    }
                    if matches!(line, Line::Context(_)) {
                        out.push_str(t);
                    }
                    pos += 1;
                }
                Line::Add(t) => out.push_str(t),
            }
        }
        cursor = pos;
    }
    for l in &old_lines[cursor..] {
        out.push_str(l);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::unified;

    fn round_trip(old: &str, new: &str) {
        let d = unified("f.yml", old, new);
        let p = parse(&d).expect("parse");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].path, "f.yml");
        assert_eq!(apply(old, &p[0]).expect("apply"), new, "{d}");
    }

    #[test]
    fn round_trips_diff_output() {
        round_trip("a\nb\nc\n", "a\nB\nc\n");
        round_trip("a\nb", "a\nb\nc");
        round_trip("a\nb\n", "a\nb");
        round_trip("", "a\n");
        round_trip("a\r\nb\r\nc\r\n", "a\r\nx\r\nc\r\n");
        let old: String = (0..40).map(|i| format!("l{i}\n")).collect();
        let new = old.replace("l3\n", "L3\nextra\n").replace("l30\n", "");
        round_trip(&old, &new);
    }

    #[test]
    fn refuses_mismatch_without_fuzz() {
        let old = "a\nb\nc\nd\n";
        let d = unified("f.yml", old, "a\nb\nC\nd\n");
        let p = parse(&d).expect("parse");
        let e = apply("a\nb2\nc\nd\n", &p[0]).expect_err("context changed");
        assert!(e.message.contains("f.yml: hunk 1"), "{}", e.message);
        // Same lines shifted down by one: no offset search.
        assert!(apply("z\na\nb\nc\nd\n", &p[0]).is_err());
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse("hello\n").is_err());
        assert!(parse("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n").is_err());
        assert!(parse("--- a/f\n+++ b/g\n").is_err());
    }
}
