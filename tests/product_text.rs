//! Product text never says "seed": users do not have the documents the project was built from
//! (it names "the OpenBMP hardening checklist" instead). Checked over every rule's metadata,
//! every `--help`, the man page, the docs, README and the built-in profiles.

mod support;

fn assert_clean(what: &str, text: &str) {
    // `seed` in backticks is a name the tool matches (a database seed job), not the documents.
    let lower = text
        .to_lowercase()
        .replace("`seed`", "`....`")
        .replace("`seed(er)`", "`......`");
    if let Some(i) = lower.find("seed") {
        let start = lower[..i].rfind('\n').map_or(0, |n| n + 1);
        let end = lower[i..].find('\n').map_or(lower.len(), |n| i + n);
        panic!("{what} says \"seed\": {}", &text[start..end]);
    }
}

#[test]
fn no_product_text_says_seed() {
    for r in compose_harden::rules::all() {
        let m = r.meta();
        for t in [
            m.summary, m.why, m.fix, m.breaks, m.options, m.before, m.after,
        ] {
            assert_clean(m.id, t);
        }
        let (_, out, _) = support::run(&["explain", m.id]);
        assert_clean(&format!("explain {}", m.id), &out);
    }
    let (_, help, _) = support::run(&["--help"]);
    assert_clean("--help", &help);
    for cmd in [
        "diff",
        "check",
        "rules",
        "explain",
        "env",
        "apply",
        "rollback",
        "init",
        "completions",
        "man",
        "network-graph",
    ] {
        let (_, out, _) = support::run(&[cmd, "--help"]);
        assert!(out.contains("Usage"), "{cmd} --help");
        assert_clean(&format!("{cmd} --help"), &out);
    }
    let (_, man, _) = support::run(&["man"]);
    assert_clean("man", &man);
    let root = support::root();
    let mut files = vec![
        root.join("README.md"),
        root.join("examples/openbmp/README.md"),
    ];
    for dir in ["docs", "profiles"] {
        for e in std::fs::read_dir(root.join(dir)).expect("read dir") {
            let p = e.expect("entry").path();
            if p.extension()
                .is_some_and(|x| x == "md" || x == "toml" || x == "json")
            {
                files.push(p);
            }
        }
    }
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        assert_clean(&f.display().to_string(), &text);
    }
}
