//! Unified diffs that `patch -p1` and `git apply` reproduce byte for byte.

use similar::{Algorithm, TextDiff};

/// The unified diff from `old` to `new` for `path` (as given on the command line), with
/// `a/`/`b/` prefixes and 3 lines of context. Empty when nothing changed.
pub fn unified(path: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    // Patience anchors on unique lines (service names), keeping large files near-linear.
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .diff_lines(old, new);
    diff.unified_diff()
        .context_radius(3)
        .missing_newline_hint(true)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}
