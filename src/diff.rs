//! Unified diffs that `patch -p1` and `git apply` reproduce byte for byte.
//!
//! The engine knows exactly which bytes it changed, so hunks are built from the applied edits
//! (linear in the file size); `similar` diffs the lines inside each changed region.

use similar::{ChangeTag, TextDiff};

use crate::yaml::Edit;

const CONTEXT: usize = 3;

/// The unified diff from `old` to `new` for `path` (as given on the command line), with
/// `a/`/`b/` prefixes and 3 lines of context. Empty when nothing changed.
pub fn unified(path: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    // One edit replacing everything between the common prefix and suffix.
    let prefix = old
        .bytes()
        .zip(new.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let max_suffix = old.len().min(new.len()) - prefix;
    let suffix = old
        .bytes()
        .rev()
        .zip(new.bytes().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    let (mut p, mut s) = (prefix, suffix);
    while !old.is_char_boundary(p) || !new.is_char_boundary(p) {
        p -= 1;
    }
    while !old.is_char_boundary(old.len() - s) || !new.is_char_boundary(new.len() - s) {
        s -= 1;
    }
    let edit = Edit::replace(p..old.len() - s, &new[p..new.len() - s]);
    from_edits(path, old, &[edit])
}

/// The prefix of the line that records the original file's hash before each file's headers.
/// `patch` and `git apply` skip it (text before a `---` header); `apply --patch` uses it to
/// refuse a file that changed anywhere since the diff was made.
pub const HASH_PREFIX: &str = "# compose-harden: sha256 ";

/// SHA-256 of `text`, in hex.
pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

fn hash_line(path: &str, old: &str) -> String {
    format!("{HASH_PREFIX}{} a/{path}\n", sha256_hex(old))
}

/// The recorded original hashes of a diff: (path after `a/`, hex hash).
pub fn recorded_hashes(diff: &str) -> Vec<(String, String)> {
    diff.lines()
        .filter_map(|l| l.strip_prefix(HASH_PREFIX))
        .filter_map(|rest| {
            let (hash, path) = rest.split_once(' ')?;
            let path = path.trim_end_matches('\r').strip_prefix("a/")?;
            Some((path.to_string(), hash.to_string()))
        })
        .collect()
}

/// The prefix of the line that records the profile a diff was made with (before the first
/// file): `# compose-harden: profile SPEC sha256 HEX`, then optional `select`/`ignore` lines.
pub const PROFILE_PREFIX: &str = "# compose-harden: profile ";
const SELECT_PREFIX: &str = "# compose-harden: select ";
const IGNORE_PREFIX: &str = "# compose-harden: ignore ";

/// The header lines that record `source` and the rule selection (`--select`, `--ignore`).
pub fn profile_header(
    source: &crate::profile::ProfileSource,
    select: &[String],
    ignore: &[String],
) -> String {
    let mut h = format!("{PROFILE_PREFIX}{} sha256 {}\n", source.spec, source.sha256);
    if !select.is_empty() {
        h.push_str(&format!("{SELECT_PREFIX}{}\n", select.join(",")));
    }
    if !ignore.is_empty() {
        h.push_str(&format!("{IGNORE_PREFIX}{}\n", ignore.join(",")));
    }
    h
}

/// The profile and rule selection a diff records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordedProfile {
    /// The profile as given to `diff`.
    pub spec: String,
    /// Its sha256 then.
    pub sha256: String,
    /// `--select` then.
    pub select: Vec<String>,
    /// `--ignore` then.
    pub ignore: Vec<String>,
}

/// What the header of `diff` records, `None` for a diff without one (older, or by hand).
pub fn recorded_profile(diff: &str) -> Option<RecordedProfile> {
    let mut r: Option<RecordedProfile> = None;
    let list = |s: &str| -> Vec<String> {
        s.split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    };
    for l in diff.lines() {
        if l.starts_with("--- ") {
            break;
        }
        let l = l.trim_end_matches('\r');
        if let Some(rest) = l.strip_prefix(PROFILE_PREFIX) {
            let (spec, hash) = rest.rsplit_once(" sha256 ")?;
            r = Some(RecordedProfile {
                spec: spec.to_string(),
                sha256: hash.trim().to_string(),
                ..RecordedProfile::default()
            });
        } else if let (Some(rest), Some(r)) = (l.strip_prefix(SELECT_PREFIX), r.as_mut()) {
            r.select = list(rest);
        } else if let (Some(rest), Some(r)) = (l.strip_prefix(IGNORE_PREFIX), r.as_mut()) {
            r.ignore = list(rest);
        }
    }
    r
}

/// `diff` without its profile/selection header lines (to compare two diffs' content).
pub fn strip_header(diff: &str) -> String {
    diff.split_inclusive('\n')
        .filter(|l| {
            !(l.starts_with(PROFILE_PREFIX)
                || l.starts_with(SELECT_PREFIX)
                || l.starts_with(IGNORE_PREFIX))
        })
        .collect()
}

/// Byte offsets where each line of `text` starts.
fn line_starts(text: &str) -> Vec<usize> {
    let mut v = vec![0];
    v.extend(
        text.bytes()
            .enumerate()
            .filter(|(_, b)| *b == b'\n')
            .map(|(i, _)| i + 1)
            .filter(|&i| i < text.len()),
    );
    if text.is_empty() {
        v.clear();
    }
    v
}

struct Cluster<'e> {
    a: usize,
    b: usize,
    edits: Vec<&'e Edit>,
    /// The new text of old lines `a..b` (filled once the clusters are final).
    new: String,
}

/// The unified diff of applying `edits` (sorted, non-overlapping, in `old`'s byte offsets) to
/// `old`.
pub fn from_edits(path: &str, old: &str, edits: &[Edit]) -> String {
    let edits: Vec<&Edit> = edits
        .iter()
        .filter(|e| !(e.range.is_empty() && e.replacement.is_empty()))
        .filter(|e| old[e.range.clone()] != e.replacement)
        .collect();
    if edits.is_empty() {
        return String::new();
    }
    let starts = line_starts(old);
    let n = starts.len();
    let line_of = |pos: usize| starts.partition_point(|&s| s <= pos).saturating_sub(1);
    let ends_nl = old.is_empty() || old.ends_with('\n');
    let at_line_start =
        |pos: usize| (pos == old.len() && ends_nl) || starts.binary_search(&pos).is_ok();
    let start_of = |line: usize| if line < n { starts[line] } else { old.len() };

    // Old-line spans [a, b) that each edit touches, merged into clusters.
    let mut clusters: Vec<Cluster> = Vec::new();
    for e in edits {
        let (s, t) = (e.range.start, e.range.end);
        let a = if s == old.len() && at_line_start(s) {
            n
        } else {
            line_of(s)
        };
        let mut b = if t > s {
            line_of(t - 1) + 1
        } else if at_line_start(s) {
            a
        } else {
            a + 1
        };
        // A change that ends at a line start but whose new text does not end a line joins the
        // next line.
        if at_line_start(t)
            && t < old.len()
            && !e.replacement.is_empty()
            && !e.replacement.ends_with('\n')
        {
            b = b.max(line_of(t) + 1);
        }
        match clusters.last_mut() {
            Some(c) if a <= c.b => {
                c.b = c.b.max(b);
                c.edits.push(e);
            }
            _ => clusters.push(Cluster {
                a,
                b,
                edits: vec![e],
                new: String::new(),
            }),
        }
    }
    // Edits that cancel out (delete a line break, insert it again) change nothing: no hunk.
    for c in &mut clusters {
        c.new = crate::yaml::edit::splice_sorted(
            old,
            start_of(c.a),
            start_of(c.b),
            c.edits.iter().copied(),
        );
    }
    clusters.retain(|c| c.new != old[start_of(c.a)..start_of(c.b)]);
    if clusters.is_empty() {
        return String::new();
    }

    let mut out = format!("{}--- a/{path}\n+++ b/{path}\n", hash_line(path, old));
    let mut delta_before: isize = 0;
    let mut i = 0;
    while i < clusters.len() {
        // Clusters whose contexts touch form one hunk.
        let mut j = i;
        while j + 1 < clusters.len() && clusters[j + 1].a <= clusters[j].b + 2 * CONTEXT {
            j += 1;
        }
        let ctx_start = clusters[i].a.saturating_sub(CONTEXT);
        let ctx_end = (clusters[j].b + CONTEXT).min(n);
        let mut body = String::new();
        let (mut old_count, mut new_count) = (0usize, 0usize);
        let emit = |body: &mut String, tag: char, line: &str| {
            body.push(tag);
            body.push_str(line);
            if !line.ends_with('\n') {
                body.push_str("\n\\ No newline at end of file\n");
            }
        };
        let mut cursor = ctx_start;
        let mut hunk_delta: isize = 0;
        for c in &clusters[i..=j] {
            for l in cursor..c.a {
                emit(&mut body, ' ', &old[start_of(l)..start_of(l + 1)]);
                old_count += 1;
                new_count += 1;
            }
            let (seg_start, seg_end) = (start_of(c.a), start_of(c.b));
            let new_seg = &c.new;
            let old_seg = &old[seg_start..seg_end];
            let d = TextDiff::from_lines(old_seg, new_seg.as_str());
            for ch in d.iter_all_changes() {
                let (tag, counts) = match ch.tag() {
                    ChangeTag::Equal => (' ', (1, 1)),
                    ChangeTag::Delete => ('-', (1, 0)),
                    ChangeTag::Insert => ('+', (0, 1)),
                };
                emit(&mut body, tag, ch.value());
                old_count += counts.0;
                new_count += counts.1;
            }
            hunk_delta += new_seg.split_inclusive('\n').count() as isize - (c.b - c.a) as isize;
            cursor = c.b;
        }
        for l in cursor..ctx_end {
            emit(&mut body, ' ', &old[start_of(l)..start_of(l + 1)]);
            old_count += 1;
            new_count += 1;
        }
        let old_start = if old_count == 0 {
            ctx_start
        } else {
            ctx_start + 1
        };
        let new_first = ctx_start as isize + delta_before;
        let new_start = if new_count == 0 {
            new_first
        } else {
            new_first + 1
        };
        out.push_str(&format!(
            "@@ -{old_start},{old_count} +{new_start},{new_count} @@\n"
        ));
        out.push_str(&body);
        delta_before += hunk_delta;
        i = j + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_header_round_trips() {
        let src = crate::profile::ProfileSource {
            spec: "./my profile.toml".into(),
            builtin: false,
            sha256: "ab".repeat(32),
        };
        let h = profile_header(&src, &["public-port".into()], &[]);
        let d = format!("{h}{}", unified("f", "a\n", "b\n"));
        let r = recorded_profile(&d).expect("recorded");
        assert_eq!(r.spec, "./my profile.toml");
        assert_eq!(r.sha256, src.sha256);
        assert_eq!(r.select, ["public-port"]);
        assert!(r.ignore.is_empty());
        assert_eq!(strip_header(&d), unified("f", "a\n", "b\n"));
        assert!(recorded_profile(&unified("f", "a\n", "b\n")).is_none());
    }

    #[test]
    fn insertion_in_the_middle() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let d = from_edits("f.yml", old, &[Edit::insert(4, "x\n")]);
        assert_eq!(
            recorded_hashes(&d),
            vec![("f.yml".to_string(), sha256_hex(old))]
        );
        let d = d.split_once('\n').expect("hash line").1;
        assert_eq!(
            d,
            "--- a/f.yml\n+++ b/f.yml\n@@ -1,5 +1,6 @@\n a\n b\n+x\n c\n d\n e\n"
        );
    }

    #[test]
    fn edits_that_cancel_out_give_no_diff() {
        // Found by the proptest property: delete a line break, then insert it back.
        let old = "\n#Yd";
        let edits = [Edit::replace(0..1, ""), Edit::insert(1, "\n")];
        assert_eq!(from_edits("f.yml", old, &edits), "");
    }

    #[test]
    fn missing_final_newline() {
        let d = unified("f", "a\nb", "a\nb\nc");
        let d = d.split_once('\n').expect("hash line").1;
        assert_eq!(d, "--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n a\n-b\n\\ No newline at end of file\n+b\n+c\n\\ No newline at end of file\n");
    }

    #[test]
    fn empty_old_file() {
        let d = unified("f", "", "a\n");
        let d = d.split_once('\n').expect("hash line").1;
        assert_eq!(d, "--- a/f\n+++ b/f\n@@ -0,0 +1,1 @@\n+a\n");
    }

    #[test]
    fn distant_edits_make_two_hunks() {
        let old: String = (0..30).map(|i| format!("l{i}\n")).collect();
        let p1 = old.find("l2\n").unwrap();
        let p2 = old.find("l25\n").unwrap();
        let d = from_edits(
            "f",
            &old,
            &[Edit::replace(p1..p1 + 2, "L2"), Edit::delete(p2..p2 + 4)],
        );
        assert_eq!(d.matches("@@ -").count(), 2, "{d}");
        assert!(d.contains("@@ -23,7 +23,6 @@"), "{d}");
    }
}
