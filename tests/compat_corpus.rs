//! Differential test: the tool and the real Docker Compose agree on which files are readable
//! YAML, over the corpus (`COMPOSE_HARDEN_CORPUS`) and variants generated from it with the
//! constructs Compose tolerates: every flow closer on its own line moved to column 0, one-line
//! flow values split over lines with items and closer at the key's column, comments
//! glued to the `]`, `}`, quote or `,` before them, a tab after each key's colon. Counts are
//! printed; any disagreement fails the test with the files that differ.

mod support;

use compose_harden::yaml::Yaml;

/// Lines that hold only a flow closer (`]`, `}`, `],`…) start at column 0.
fn closers_left(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|l| {
            let t = l.trim_start_matches(' ');
            if t.starts_with(']') || t.starts_with('}') {
                t.to_string()
            } else {
                l.to_string()
            }
        })
        .collect()
}

/// One-line flow values (`key: [a, b]`, `key: {a: b}`) split over lines, with the items and
/// the closer at the key's column (the getsentry construct).
fn flows_exploded_left(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|l| {
            let (body, eol) = match l.strip_suffix('\n') {
                Some(b) => (b.strip_suffix('\r').unwrap_or(b), &l[b.len()..]),
                None => (l, ""),
            };
            let indent = body.len() - body.trim_start_matches(' ').len();
            let t = &body[indent..];
            let Some(colon) = t.find(": ") else {
                return l.to_string();
            };
            let key = &t[..colon];
            let value = t[colon + 2..].trim_end();
            let simple_key = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
            let (open, close) = match value.as_bytes().first() {
                Some(b'[') => ('[', ']'),
                Some(b'{') => ('{', '}'),
                _ => return l.to_string(),
            };
            let inner = &value[1..value.len().saturating_sub(1)];
            if !simple_key
                || !value.ends_with(close)
                || inner.trim().is_empty()
                || inner.contains(['[', ']', '{', '}', '#'])
            {
                return l.to_string();
            }
            let pad = " ".repeat(indent);
            format!(
                "{pad}{key}: {open}{eol}{pad}{}{eol}{pad}{close}{eol}",
                inner.trim()
            )
        })
        .collect()
}

/// ` # comment` after a `]`, `}`, closing quote or `,` loses its space; such lines without a
/// comment get a glued one.
fn glue_comments(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|l| {
            let (body, eol) = match l.strip_suffix('\n') {
                Some(b) => (b.strip_suffix('\r').unwrap_or(b), &l[b.len()..]),
                None => (l, ""),
            };
            if body.trim_start().starts_with('#') {
                return l.to_string();
            }
            if let Some(i) = body.find(" #") {
                let before = body[..i].trim_end();
                if before.ends_with([']', '}', '"', '\'', ',']) {
                    return format!("{before}{}{eol}", &body[i + 1..]);
                }
                return l.to_string();
            }
            if body.trim_end().ends_with([']', '}', '"', '\'', ',']) {
                return format!("{}# glued{eol}", body.trim_end());
            }
            l.to_string()
        })
        .collect()
}

/// `key: value` lines (a plain key at the line start) get a tab instead of the space.
fn tabs_after_colons(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|l| {
            let t = l.trim_start_matches([' ', '-']);
            let key_ok = t
                .find(": ")
                .filter(|&i| {
                    i > 0
                        && t[..i]
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
                })
                .map(|i| l.len() - t.len() + i);
            match key_ok {
                Some(i) => format!("{}:\t{}", &l[..i], &l[i + 2..]),
                None => l.to_string(),
            }
        })
        .collect()
}

#[test]
fn tool_and_compose_agree_on_the_corpus_and_variants() {
    let Some(bin) = support::docker_compose() else {
        eprintln!("SKIPPED: COMPOSE_HARDEN_DOCKER_COMPOSE is not set: the differential test needs the real Docker Compose");
        return;
    };
    let files = support::corpus_files();
    if files.is_empty() {
        return;
    }
    type Variant = fn(&str) -> String;
    let variants: [(&str, Variant); 5] = [
        ("original", |t| t.to_string()),
        ("closers-left", closers_left),
        ("flows-exploded-left", flows_exploded_left),
        ("comments-glued", glue_comments),
        ("tabs-after-colons", tabs_after_colons),
    ];
    let mut differ = Vec::new();
    for (vname, make) in variants {
        let (mut n, mut both_read, mut both_refuse, mut changed) = (0, 0, 0, 0);
        for f in &files {
            let Ok(original) = std::fs::read_to_string(f) else {
                continue;
            };
            let text = make(&original);
            if vname != "original" && text == original {
                continue;
            }
            changed += usize::from(vname != "original");
            n += 1;
            let tool = Yaml::parse(text.clone()).is_ok();
            let compose = support::compose_reads_yaml(&bin, &text);
            match (tool, compose) {
                (true, true) => both_read += 1,
                (false, false) => both_refuse += 1,
                _ => differ.push(format!(
                    "{vname} {}: tool {}, Compose {}",
                    f.file_name().unwrap_or_default().to_string_lossy(),
                    if tool { "reads" } else { "refuses" },
                    if compose { "reads" } else { "refuses" },
                )),
            }
        }
        eprintln!(
            "differential {vname}: {n} files ({changed} changed by the variant): both read {both_read}, both refuse {both_refuse}"
        );
    }
    assert!(
        differ.is_empty(),
        "the tool and Docker Compose disagree on {} file(s):\n{}",
        differ.len(),
        differ.join("\n")
    );
}
