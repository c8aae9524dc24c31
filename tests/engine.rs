//! Engine unit tests: every edit helper on block, flow, quoted, CRLF, BOM, no-final-newline,
//! anchor/merge, indentless-sequence and `|+` inputs; each result must also verify against its
//! declared value change, and a wrong declaration must be refused.

use compose_harden::yaml::edit::verify;
use compose_harden::yaml::value::documents;
use compose_harden::yaml::{
    apply_fixes, ops, Applicability, Change, Edit, Fix, NewNode, Path, Quote, Value, Yaml,
};

fn parse(s: &str) -> Yaml {
    Yaml::parse(s.to_string()).expect("test input parses")
}

/// Node at `path` (keys and indices) from document 0.
fn at(y: &Yaml, path: &[&str]) -> usize {
    let mut cur = y.docs[0].root;
    for seg in path {
        cur = match seg.parse::<usize>() {
            Ok(i) => y.items(cur).expect("sequence")[i],
            Err(_) => y.get(cur, seg).unwrap_or_else(|| panic!("no key {seg}")),
        };
    }
    cur
}

fn p(path: &[&str]) -> Path {
    let mut r = Path::root(0);
    for seg in path {
        r = match seg.parse::<usize>() {
            Ok(i) => r.index(i),
            Err(_) => r.key(seg),
        };
    }
    r
}

/// Apply one edit with its declared change through the engine; return the output.
fn run(y: &Yaml, edit: Edit, changes: Vec<Change>) -> String {
    let fix = Fix::new("test", "test", Applicability::Safe, vec![edit], changes, 0);
    let a = apply_fixes(y, &[fix]);
    assert!(a.rejected.is_empty(), "rejected: {:?}", a.rejected);
    a.output
}

fn seq(items: &[&str]) -> NewNode {
    NewNode::Seq(items.iter().map(|s| NewNode::Str(s.to_string())).collect())
}

#[test]
fn insert_key_block_indented_sequences() {
    let t = "services:\n  web:\n    image: nginx\n    ports:\n      - \"80:80\"\n  db:\n    image: pg\n";
    let y = parse(t);
    let v = seq(&["no-new-privileges:true"]);
    let out = run(
        &y,
        ops::insert_key(&y, at(&y, &["services", "web"]), "security_opt", &v).unwrap(),
        vec![Change::InsertKey(
            p(&["services", "web"]),
            "security_opt".into(),
            v.value(),
        )],
    );
    assert_eq!(out, "services:\n  web:\n    image: nginx\n    ports:\n      - \"80:80\"\n    security_opt:\n      - no-new-privileges:true\n  db:\n    image: pg\n");
}

#[test]
fn insert_key_indentless_crlf_no_final_newline() {
    let t = "services:\r\n  web:\r\n    ports:\r\n    - 80:80\r\n    image: nginx";
    let y = parse(t);
    let v = seq(&["ALL"]);
    let out = run(
        &y,
        ops::insert_key(&y, at(&y, &["services", "web"]), "cap_drop", &v).unwrap(),
        vec![Change::InsertKey(
            p(&["services", "web"]),
            "cap_drop".into(),
            v.value(),
        )],
    );
    assert_eq!(out, "services:\r\n  web:\r\n    ports:\r\n    - 80:80\r\n    image: nginx\r\n    cap_drop:\r\n    - ALL");
}

#[test]
fn insert_key_flow_mapping_and_empty_flow() {
    let t = "services:\n  a: {image: x}\n  b: {}\n";
    let y = parse(t);
    let v = NewNode::Raw("true".into());
    let e1 = ops::insert_key(&y, at(&y, &["services", "a"]), "read_only", &v).unwrap();
    let e2 = ops::insert_key(&y, at(&y, &["services", "b"]), "read_only", &v).unwrap();
    let fixes = vec![
        Fix::new(
            "t",
            "t",
            Applicability::Safe,
            vec![e1],
            vec![Change::InsertKey(
                p(&["services", "a"]),
                "read_only".into(),
                v.value(),
            )],
            0,
        ),
        Fix::new(
            "t",
            "t",
            Applicability::Safe,
            vec![e2],
            vec![Change::InsertKey(
                p(&["services", "b"]),
                "read_only".into(),
                v.value(),
            )],
            0,
        ),
    ];
    let a = apply_fixes(&y, &fixes);
    assert!(a.rejected.is_empty(), "{:?}", a.rejected);
    assert_eq!(
        a.output,
        "services:\n  a: {image: x, read_only: true}\n  b: {read_only: true}\n"
    );
}

#[test]
fn insert_after_keep_block_scalar_keeps_its_blank_lines() {
    let t = "a:\n  cmd: |+\n    hi\n\n  next: 1\nz: 2\n";
    let y = parse(t);
    let v = NewNode::Str("x".into());
    // `a` ends with `next: 1`; insert into the inner map whose last entry is `next`.
    let out = run(
        &y,
        ops::insert_key(&y, at(&y, &["a"]), "k", &v).unwrap(),
        vec![Change::InsertKey(p(&["a"]), "k".into(), v.value())],
    );
    assert_eq!(out, "a:\n  cmd: |+\n    hi\n\n  next: 1\n  k: x\nz: 2\n");
    // Directly after the `|+` scalar when it is last.
    let t2 = "a:\n  cmd: |+\n    hi\n\nz: 2\n";
    let y2 = parse(t2);
    let out2 = run(
        &y2,
        ops::insert_key(&y2, at(&y2, &["a"]), "k", &v).unwrap(),
        vec![Change::InsertKey(p(&["a"]), "k".into(), v.value())],
    );
    assert_eq!(out2, "a:\n  cmd: |+\n    hi\n\n  k: x\nz: 2\n");
}

#[test]
fn append_item_block_flow_and_empty_flow() {
    let t = "s:\n  - a   # c\n  - b\nf: [x, y]\ne: []\n";
    let y = parse(t);
    let item = NewNode::Str("w".into());
    let edits = [
        (
            ops::append_item(&y, at(&y, &["s"]), &item).unwrap(),
            p(&["s"]),
        ),
        (
            ops::append_item(&y, at(&y, &["f"]), &item).unwrap(),
            p(&["f"]),
        ),
        (
            ops::append_item(&y, at(&y, &["e"]), &item).unwrap(),
            p(&["e"]),
        ),
    ];
    let fixes: Vec<Fix> = edits
        .into_iter()
        .map(|(e, path)| {
            Fix::new(
                "t",
                "t",
                Applicability::Safe,
                vec![e],
                vec![Change::Append(path, item.value())],
                0,
            )
        })
        .collect();
    let a = apply_fixes(&y, &fixes);
    assert!(a.rejected.is_empty(), "{:?}", a.rejected);
    assert_eq!(
        a.output,
        "s:\n  - a   # c\n  - b\n  - w\nf: [x, y, w]\ne: [w]\n"
    );
}

#[test]
fn remove_item_with_comment_line_and_trailing_comment() {
    let t = "ports:\n  # public on purpose\n  - \"5000:5000\"  # bmp\n  - \"80:80\"\n";
    let y = parse(t);
    let out = run(
        &y,
        ops::remove_item(&y, at(&y, &["ports"]), 0).unwrap(),
        vec![Change::Remove(p(&["ports", "0"]))],
    );
    assert_eq!(out, "ports:\n  - \"80:80\"\n");
}

#[test]
fn remove_last_item_without_final_newline_keeps_it_missing() {
    let t = "ports:\n  - a\n  - b";
    let y = parse(t);
    let out = run(
        &y,
        ops::remove_item(&y, at(&y, &["ports"]), 1).unwrap(),
        vec![Change::Remove(p(&["ports", "1"]))],
    );
    assert_eq!(out, "ports:\n  - a");
}

#[test]
fn remove_flow_items_and_entries() {
    let t = "a: [x, y, z]\nb: {k: 1, l: 2}\n";
    let y = parse(t);
    let f1 = Fix::new(
        "t",
        "t",
        Applicability::Safe,
        vec![ops::remove_item(&y, at(&y, &["a"]), 2).unwrap()],
        vec![Change::Remove(p(&["a", "2"]))],
        0,
    );
    let f2 = Fix::new(
        "t",
        "t",
        Applicability::Safe,
        vec![ops::remove_entry(&y, at(&y, &["b"]), 0).unwrap()],
        vec![Change::Remove(p(&["b", "k"]))],
        0,
    );
    let a = apply_fixes(&y, &[f1, f2]);
    assert!(a.rejected.is_empty(), "{:?}", a.rejected);
    assert_eq!(a.output, "a: [x, y]\nb: {l: 2}\n");
}

#[test]
fn remove_block_entry_crlf() {
    let t = "svc:\r\n  privileged: true # why\r\n  image: x\r\n";
    let y = parse(t);
    let out = run(
        &y,
        ops::remove_entry(&y, at(&y, &["svc"]), 0).unwrap(),
        vec![Change::Remove(p(&["svc", "privileged"]))],
    );
    assert_eq!(out, "svc:\r\n  image: x\r\n");
}

#[test]
fn replace_scalar_keeps_quoting_and_quotes_when_needed() {
    let t = "a: 'x'\nb: \"y\"\nc: plain\nd: 8080\ne:\n";
    let y = parse(t);
    let cases = [
        ("a", "it's", "'it''s'"),
        ("b", "q\"", "\"q\\\"\""),
        ("c", "127.0.0.1:80:80", "127.0.0.1:80:80"),
        ("d", "127.0.0.1::8080", "127.0.0.1::8080"),
    ];
    for (k, v, want) in cases {
        let e = ops::replace_scalar(&y, at(&y, &[k]), v, Quote::Keep).unwrap();
        assert_eq!(e.replacement, want, "{k}");
        run(&y, e, vec![Change::Set(p(&[k]), Value::str(v))]);
    }
    // Plain that would change type or read as base-60 gets quoted.
    let e = ops::replace_scalar(&y, at(&y, &["c"]), "80:80", Quote::Keep).unwrap();
    assert_eq!(e.replacement, "\"80:80\"");
    let e = ops::replace_scalar(&y, at(&y, &["c"]), "true", Quote::Keep).unwrap();
    assert_eq!(e.replacement, "\"true\"");
    let e = ops::replace_scalar(&y, at(&y, &["c"]), "x", Quote::Force).unwrap();
    assert_eq!(e.replacement, "\"x\"");
    // An empty value gets written after the colon.
    let out = run(
        &y,
        ops::replace_scalar(&y, at(&y, &["e"]), "v", Quote::Keep).unwrap(),
        vec![Change::Set(p(&["e"]), Value::str("v"))],
    );
    assert!(out.ends_with("e: v\n"), "{out}");
}

#[test]
fn replace_in_flow_context_quotes_commas() {
    let t = "a: [x, y]\n";
    let y = parse(t);
    let e = ops::replace_scalar(&y, at(&y, &["a", "0"]), "p,q", Quote::Keep).unwrap();
    assert_eq!(e.replacement, "\"p,q\"");
    run(&y, e, vec![Change::Set(p(&["a", "0"]), Value::str("p,q"))]);
}

#[test]
fn rewrite_part_of_scalar_narrow_and_wide() {
    let t = "env:\n  - KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://k:29092,PLAINTEXT_HOST://${HOST_IP}:9092\n  - \"URL=postgres://u:pw@db/x\"\n";
    let y = parse(t);
    let n0 = at(&y, &["env", "0"]);
    let v0 = y.scalar(n0).unwrap().to_string();
    let cut = v0.find(",PLAINTEXT_HOST").unwrap();
    let e = ops::rewrite_in_scalar(&y, n0, cut..v0.len(), "").unwrap();
    assert!(e.range.len() < v0.len(), "narrow edit");
    let new0 = v0[..cut].to_string();
    let n1 = at(&y, &["env", "1"]);
    let v1 = y.scalar(n1).unwrap().to_string();
    let pw = v1.find("pw").unwrap();
    let e1 = ops::rewrite_in_scalar(&y, n1, pw..pw + 2, "${DB_PW:?set in .env}").unwrap();
    let new1 = format!("{}${{DB_PW:?set in .env}}{}", &v1[..pw], &v1[pw + 2..]);
    let fixes = vec![
        Fix::new(
            "t",
            "t",
            Applicability::Review,
            vec![e],
            vec![Change::Set(p(&["env", "0"]), Value::str(new0))],
            0,
        ),
        Fix::new(
            "t",
            "t",
            Applicability::Review,
            vec![e1],
            vec![Change::Set(p(&["env", "1"]), Value::str(new1))],
            0,
        ),
    ];
    let a = apply_fixes(&y, &fixes);
    assert!(a.rejected.is_empty(), "{:?}", a.rejected);
    assert_eq!(a.output, "env:\n  - KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://k:29092\n  - \"URL=postgres://u:${DB_PW:?set in .env}@db/x\"\n");
}

#[test]
fn bom_is_kept_and_spans_are_bytes() {
    let t = "\u{feff}a:\n  b: é\n  c: x\n";
    let y = parse(t);
    let e = ops::replace_scalar(&y, at(&y, &["a", "c"]), "ü", Quote::Keep).unwrap();
    let out = run(&y, e, vec![Change::Set(p(&["a", "c"]), Value::str("ü"))]);
    assert_eq!(out, "\u{feff}a:\n  b: é\n  c: ü\n");
}

#[test]
fn anchors_and_merges_stay_references() {
    let t = "x: &base\n  k: 1\ns:\n  <<: *base\n  j: 2\n";
    let y = parse(t);
    let v = NewNode::Str("v".into());
    let out = run(
        &y,
        ops::insert_key(&y, at(&y, &["s"]), "m", &v).unwrap(),
        vec![Change::InsertKey(p(&["s"]), "m".into(), v.value())],
    );
    assert_eq!(out, "x: &base\n  k: 1\ns:\n  <<: *base\n  j: 2\n  m: v\n");
    // YAML 1.1 booleans (`n`, `yes`, `on`) are quoted so older parsers read strings.
    let e = ops::insert_key(&y, at(&y, &["s"]), "n", &v).unwrap();
    assert_eq!(e.replacement, "  \"n\": v\n");
}

#[test]
fn verification_refuses_a_wrong_declaration() {
    let y = parse("a: 1\nb: 2\n");
    // The edit changes `a` but the fix declares a change to `b`.
    let e = ops::replace_scalar(&y, at(&y, &["a"]), "x", Quote::Keep).unwrap();
    let fix = Fix::new(
        "liar",
        "t",
        Applicability::Safe,
        vec![e],
        vec![Change::Set(p(&["b"]), Value::str("x"))],
        0,
    );
    let a = apply_fixes(&y, &[fix]);
    assert_eq!(a.output, y.text, "nothing applied");
    assert_eq!(a.rejected.len(), 1);
    assert!(
        a.rejected[0].is_error && a.rejected[0].reason.contains("verification failed"),
        "{:?}",
        a.rejected
    );
}

#[test]
fn verification_catches_an_edit_that_breaks_syntax() {
    let y = parse("a: 1\n");
    let fix = Fix::new(
        "bad",
        "t",
        Applicability::Safe,
        vec![Edit::insert(0, "[")],
        vec![],
        0,
    );
    let a = apply_fixes(&y, &[fix]);
    assert_eq!(a.output, y.text);
    assert!(
        a.rejected[0].reason.contains("does not parse"),
        "{:?}",
        a.rejected
    );
}

#[test]
fn overlapping_fixes_hold_back_the_later_one() {
    let y = parse("a: 1\nb: 2\n");
    let n = at(&y, &["a"]);
    let f1 = Fix::new(
        "r1",
        "t",
        Applicability::Safe,
        vec![ops::replace_scalar(&y, n, "x", Quote::Keep).unwrap()],
        vec![Change::Set(p(&["a"]), Value::str("x"))],
        0,
    );
    let f2 = Fix::new(
        "r2",
        "t",
        Applicability::Safe,
        vec![ops::replace_scalar(&y, n, "z", Quote::Keep).unwrap()],
        vec![Change::Set(p(&["a"]), Value::str("z"))],
        0,
    );
    let a = apply_fixes(&y, &[f1, f2]);
    assert_eq!(a.output, "a: x\nb: 2\n");
    assert_eq!(a.rejected.len(), 1);
    assert!(
        a.rejected[0].reason.contains("overlaps a fix of `r1`"),
        "{:?}",
        a.rejected
    );
}

#[test]
fn value_of_multi_document_stream() {
    let y = parse("---\na: 1\n---\nb: [1, 2]\n...\n");
    let docs = documents(&y);
    assert_eq!(docs.len(), 2);
    verify::<Change>(&y, &y.text, &[]).expect("identity verifies");
}

#[test]
fn duplicate_keys_tabs_and_garbage_are_parse_errors_with_positions() {
    let e = Yaml::parse("a: 1\nb: 2\na: 3\n".into()).unwrap_err();
    assert_eq!((e.line, e.col), (3, 1));
    assert!(e.message.contains("duplicate key `a`"));
    let e = Yaml::parse("a:\n\tb: 1\n".into()).unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.message.contains("tabs"), "{}", e.message);
    let e = Yaml::parse("a: [1, 2\n".into()).unwrap_err();
    assert!(e.line >= 1);
}

#[test]
fn remove_last_item_crlf_without_final_newline() {
    // Found by the insert-then-remove property: the `\r` of the previous line must go too.
    let t = "ports:\r\n  - a\r\n  - b";
    let y = parse(t);
    let out = run(
        &y,
        ops::remove_item(&y, at(&y, &["ports"]), 1).unwrap(),
        vec![Change::Remove(p(&["ports", "1"]))],
    );
    assert_eq!(out, "ports:\r\n  - a");
}

#[test]
fn paths_index_and_comments() {
    let t = "# top\nservices:\n  # the database\n  psql:\n    environment:\n      - A=1\n      - B=2   # second\n    ports: [\"5432:5432\"] # public\n";
    let y = parse(t);
    let n = y.lookup("services.psql.environment[1]").expect("path");
    assert_eq!(y.scalar(n), Some("B=2"));
    assert_eq!(y.path_of(n).to_string(), "services.psql.environment[1]");
    let c = y.trailing_comment(n).expect("comment");
    assert_eq!(&y.text[c], "# second");
    let ports = y.lookup("services.psql.ports").expect("ports");
    assert_eq!(
        &y.text[y.trailing_comment(ports).expect("comment")],
        "# public"
    );
    let psql_key = y.entries(y.lookup("services").unwrap()).unwrap()[0].key;
    assert_eq!(&y.text[y.leading_comments(psql_key)], "  # the database\n");
    assert!(y.lookup("services.nope").is_none());
}

/// Every helper on every layout: each edit must verify against its declared change (the
/// engine re-parses and compares values), keep the file's line ending, BOM and final-newline
/// state, and leave the bytes before the edit untouched.
#[test]
fn every_helper_on_every_layout() {
    // (name, text, mapping path, sequence path, scalar path)
    let layouts: &[(&str, &str, &str, &str, &str)] = &[
        ("block", "svc:\n  image: x\n  ports:\n    - \"80:80\"\n    - \"81\"\n  name: a\n", "svc", "svc.ports", "svc.name"),
        ("flow", "svc: {image: x, ports: [\"80:80\", \"81\"], name: a}\n", "svc", "svc.ports", "svc.name"),
        ("quoted", "svc:\n  image: 'x'\n  ports:\n    - '80:80'\n    - '81'\n  name: \"a\"\n", "svc", "svc.ports", "svc.name"),
        ("crlf", "svc:\r\n  image: x\r\n  ports:\r\n    - \"80:80\"\r\n    - \"81\"\r\n  name: a\r\n", "svc", "svc.ports", "svc.name"),
        ("bom", "\u{feff}svc:\n  image: x\n  ports:\n    - \"80:80\"\n    - \"81\"\n  name: a\n", "svc", "svc.ports", "svc.name"),
        ("no-final-newline", "svc:\n  image: x\n  ports:\n    - \"80:80\"\n    - \"81\"\n  name: a", "svc", "svc.ports", "svc.name"),
        ("anchor-merge", "x-base: &base\n  restart: always\nsvc:\n  <<: *base\n  ports: &p\n    - \"80:80\"\n    - \"81\"\n  name: a\n", "svc", "svc.ports", "svc.name"),
        ("indentless", "svc:\n  ports:\n  - \"80:80\"\n  - \"81\"\n  name: a\n", "svc", "svc.ports", "svc.name"),
        ("keep-block", "svc:\n  ports:\n    - \"80:80\"\n    - \"81\"\n  name: a\n  cmd: |+\n    run\n\nother: 1\n", "svc", "svc.ports", "svc.name"),
        ("multi-doc", "---\nsvc:\n  ports: [\"80:80\", \"81\"]\n  name: a\n...\n---\nb: 1\n", "svc", "svc.ports", "svc.name"),
    ];
    for (name, text, map, seq, scalar) in layouts {
        let y = parse(text);
        let path_of = |dotted: &str| {
            y.path_of(
                y.lookup(dotted)
                    .unwrap_or_else(|| panic!("{name}: {dotted}")),
            )
        };
        let m = y.lookup(map).expect("map");
        let s = y.lookup(seq).expect("seq");
        let c = y.lookup(scalar).expect("scalar");
        let v = NewNode::Seq(vec![NewNode::Str("no-new-privileges:true".into())]);
        let item = NewNode::Str("127.0.0.1:9000:9000".into());
        let n_items = y.items(s).expect("items").len();
        let cases: Vec<(&str, Edit, Vec<Change>)> = vec![
            (
                "insert_key",
                ops::insert_key(&y, m, "security_opt", &v).unwrap(),
                vec![Change::InsertKey(
                    path_of(map),
                    "security_opt".into(),
                    v.value(),
                )],
            ),
            (
                "append_item",
                ops::append_item(&y, s, &item).unwrap(),
                vec![Change::Append(path_of(seq), item.value())],
            ),
            (
                "remove_item",
                ops::remove_item(&y, s, 0).unwrap(),
                vec![Change::Remove(path_of(seq).index(0))],
            ),
            (
                "remove_entry",
                ops::remove_entry(&y, m, y.entry_index(m, "name").unwrap()).unwrap(),
                vec![Change::Remove(path_of(map).key("name"))],
            ),
            (
                "replace_scalar",
                ops::replace_scalar(&y, c, "b: c", Quote::Keep).unwrap(),
                vec![Change::Set(path_of(scalar), Value::str("b: c"))],
            ),
            (
                "rewrite_in_scalar",
                ops::rewrite_in_scalar(&y, c, 0..1, "zz").unwrap(),
                vec![Change::Set(path_of(scalar), Value::str("zz"))],
            ),
        ];
        for (helper, edit, changes) in cases {
            assert!(
                n_items >= 2,
                "{name}: a list of one would become null when emptied"
            );
            let start = edit.range.start;
            let out = run(&y, edit, changes);
            assert_ne!(&out, text, "{name}/{helper}: no change");
            assert_eq!(
                &out[..start.min(out.len())],
                &text[..start],
                "{name}/{helper}: bytes before the edit changed"
            );
            assert_eq!(
                out.starts_with('\u{feff}'),
                text.starts_with('\u{feff}'),
                "{name}/{helper}: BOM"
            );
            assert_eq!(
                out.ends_with('\n'),
                text.ends_with('\n'),
                "{name}/{helper}: final newline"
            );
            if text.contains("\r\n") {
                assert_eq!(
                    out.matches('\n').count(),
                    out.matches("\r\n").count(),
                    "{name}/{helper}: CRLF kept"
                );
            }
        }
    }
}

#[test]
fn remove_items_in_flow_runs_keeps_separators() {
    let y = parse("a: [p,q,  r, s, t]\n");
    let seq = at(&y, &["a"]);
    for (idx, want) in [
        (vec![1, 2], "a: [p,s, t]\n"),
        (vec![0, 4], "a: [q,  r, s]\n"),
        (vec![3, 4], "a: [p,q,  r]\n"),
        (vec![0, 1, 2, 3, 4], "a: []\n"),
    ] {
        let edits = ops::remove_items(&y, seq, &idx).unwrap();
        let changes = idx
            .iter()
            .map(|&i| Change::Remove(p(&["a", &i.to_string()])))
            .collect();
        let fix = Fix::new("t", "t", Applicability::Safe, edits, changes, 0);
        let a = apply_fixes(&y, &[fix]);
        assert!(a.rejected.is_empty(), "{idx:?}: {:?}", a.rejected);
        assert_eq!(a.output, want, "{idx:?}");
    }
}
