//! Byte-level text helpers: line index, line boundaries and the file's line ending.

/// Maps byte offsets to 1-based line and column numbers (columns count characters).
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Index the line starts of `text`.
    pub fn new(text: &str) -> Self {
        let mut starts = Vec::with_capacity(text.len() / 32 + 1);
        starts.push(0);
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                starts.push(i + 1);
            }
        }
        LineIndex { starts }
    }

    /// 1-based line and 1-based character column of byte offset `pos`.
    pub fn line_col(&self, text: &str, pos: usize) -> (usize, usize) {
        let pos = pos.min(text.len());
        let line = match self.starts.binary_search(&pos) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.starts[line];
        let col = text
            .get(start..pos)
            .map(|s| s.chars().count())
            .unwrap_or(pos - start);
        (line + 1, col + 1)
    }

    /// Number of lines (a final line without a newline counts).
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Whether the index holds no line at all (never true: an empty text has one empty line).
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }
}

/// The dominant line ending of `text`: `"\r\n"` when most lines end with CRLF, else `"\n"`.
pub fn dominant_eol(text: &str) -> &'static str {
    let lf = text.bytes().filter(|&b| b == b'\n').count();
    let crlf = text.as_bytes().windows(2).filter(|w| w == b"\r\n").count();
    if crlf * 2 > lf {
        "\r\n"
    } else {
        "\n"
    }
}

/// Byte offset of the start of the line holding `pos`.
pub fn line_start(text: &str, pos: usize) -> usize {
    text.as_bytes()[..pos.min(text.len())]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1)
}

/// Byte offset of the end of the line holding `pos`, before its `\r\n` or `\n`.
pub fn line_end(text: &str, pos: usize) -> usize {
    let bytes = text.as_bytes();
    let nl = bytes[pos.min(bytes.len())..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| pos + i);
    // The `\r` of a CRLF belongs to the line break (also when `pos` is on the `\n` itself).
    if nl > 0 && nl <= bytes.len() && bytes[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    }
}

/// Byte offset of the start of the line after the one holding `pos` (the text length on the
/// last line).
pub fn next_line_start(text: &str, pos: usize) -> usize {
    let bytes = text.as_bytes();
    bytes[pos.min(bytes.len())..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| pos + i + 1)
}

/// `pos` itself when it already starts a line, else the start of the next line.
pub fn after_line(text: &str, pos: usize) -> usize {
    if pos == 0 || text.as_bytes().get(pos - 1) == Some(&b'\n') {
        pos
    } else {
        next_line_start(text, pos)
    }
}

/// Whether only spaces precede `pos` on its line.
pub fn only_spaces_before(text: &str, pos: usize) -> bool {
    let ls = line_start(text, pos);
    text.as_bytes()[ls..pos].iter().all(|&b| b == b' ')
}

/// Whether the rest of the line after `pos` is blank or a comment (true at a line start, where
/// a node such as a `|+` block scalar ended with its line break).
pub fn rest_is_blank_or_comment(text: &str, pos: usize) -> bool {
    if pos > 0 && text.as_bytes().get(pos - 1) == Some(&b'\n') {
        return true;
    }
    let le = line_end(text, pos);
    let rest = text[pos..le].trim_start_matches([' ', '\t']);
    rest.is_empty() || rest.starts_with('#')
}

/// Character column (0-based) of `pos` in its line.
pub fn column(text: &str, pos: usize) -> usize {
    text[line_start(text, pos)..pos].chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let t = "a: 1\r\nbé: 2\nc";
        let idx = LineIndex::new(t);
        assert_eq!(idx.line_col(t, 0), (1, 1));
        assert_eq!(idx.line_col(t, 6), (2, 1));
        assert_eq!(idx.line_col(t, 9), (2, 3));
        assert_eq!(idx.line_col(t, t.len()), (3, 2));
        assert_eq!(line_end(t, 0), 4);
        assert_eq!(next_line_start(t, 0), 6);
        assert_eq!(line_end(t, 13), 14);
        assert_eq!(next_line_start(t, 13), t.len());
        assert_eq!(after_line(t, 6), 6);
        assert_eq!(dominant_eol(t), "\n");
        assert_eq!(dominant_eol("a\r\nb\r\n"), "\r\n");
    }
}
