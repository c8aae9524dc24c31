//! Scanner and parser messages made to teach: each refusal names the construct and how to mend
//! it. (Constructs Docker Compose accepts are read, not refused: see docs/compatibility.md.)

/// The message for a saphyr-parser error, with a hint appended when one is known. The
/// original text stays first so that it can still be searched for.
pub fn explain(info: &str) -> String {
    let hint = HINTS
        .iter()
        .find(|(needle, _)| info.contains(needle))
        .map(|(_, hint)| *hint);
    match hint {
        Some(h) => format!("{info}: {h}"),
        None => info.to_string(),
    }
}

/// (part of the parser's message, what to do). First match wins.
const HINTS: &[(&str, &str)] = &[
    (
        "tabs disallowed within this context",
        "YAML indentation must use spaces, not tabs; replace the tab with spaces",
    ),
    (
        "invalid indentation",
        "this line is indented left of the block it continues; align it with its sibling keys or items (Docker Compose refuses it too)",
    ),
    (
        "did not find expected key",
        "a line is indented differently from its siblings, or a plain value contains `: `; align the keys, or quote the value",
    ),
    (
        "mapping values are not allowed in this context",
        "a plain value contains `: `; quote the value (`\"a: b\"`)",
    ),
    (
        "block sequence entries are not allowed in this context",
        "a `- ` item follows a value on the same key; put the list on the lines below the key, indented",
    ),
    (
        "while scanning a quoted scalar, found unexpected end of stream",
        "a quote is not closed; add the closing quote",
    ),
    (
        "while parsing a flow sequence",
        "a `[` list is not closed, or its items are not separated by `,`; close it with `]`",
    ),
    (
        "while parsing a flow mapping",
        "a `{` mapping is not closed, or its entries are not separated by `,`; close it with `}`",
    ),
    (
        "found unknown anchor",
        "an alias `*name` comes before (or without) its anchor `&name`; define the anchor first",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_keep_the_original_text_first() {
        let m = explain("invalid indentation");
        assert!(m.starts_with("invalid indentation: "), "{m}");
        assert_eq!(explain("something else"), "something else");
    }
}
