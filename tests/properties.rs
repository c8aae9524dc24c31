//! Properties of the edit engine and the diff, over random inputs (proptest):
//! - random non-overlapping edits spliced in one pass equal the same edits applied one by one,
//!   back to front;
//! - insert-then-remove (a key, a sequence item) returns the original bytes;
//! - the diff built from the edits, applied by our strict patch applier, gives the output.

use compose_harden::yaml::edit::splice;
use compose_harden::yaml::{ops, Edit, NewNode, Yaml};
use proptest::prelude::*;

/// Text of a few lines of printable ASCII (with some CRLF and a maybe-missing final newline).
fn text() -> impl Strategy<Value = String> {
    (
        prop::collection::vec("[ -~]{0,12}", 0..12),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, crlf, final_nl)| {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut s = lines.join(eol);
            if final_nl && !s.is_empty() {
                s.push_str(eol);
            }
            s
        })
}

/// Non-overlapping edits over `len` bytes (points sorted, pairs taken as ranges).
fn edits(len: usize) -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec((0..=len, 0..=len, "[a-z\n]{0,6}"), 0..6).prop_map(|raw| {
        let mut v: Vec<(usize, usize, String)> = raw
            .into_iter()
            .map(|(a, b, r)| (a.min(b), a.max(b), r))
            .collect();
        v.sort();
        let mut out: Vec<Edit> = Vec::new();
        let mut last_end = 0;
        for (a, b, r) in v {
            if a < last_end || (a == last_end && !out.is_empty() && a != b) {
                continue;
            }
            // Keep at most one insertion per point so the one-by-one order is unambiguous.
            if a == b && out.iter().any(|e| e.range.start == a) {
                continue;
            }
            out.push(Edit::replace(a..b, r));
            last_end = b;
        }
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn one_pass_equals_back_to_front((t, es) in text().prop_flat_map(|t| { let n = t.len(); (Just(t), edits(n)) })) {
        let mut refs: Vec<(usize, &Edit)> = es.iter().map(|e| (0, e)).collect();
        let one_pass = splice(&t, &mut refs);
        let mut seq = t.clone();
        for e in es.iter().rev() {
            seq.replace_range(e.range.clone(), &e.replacement);
        }
        prop_assert_eq!(one_pass, seq);
    }

    #[test]
    fn diff_from_edits_patches_back((t, es) in text().prop_flat_map(|t| { let n = t.len(); (Just(t), edits(n)) })) {
        let mut refs: Vec<(usize, &Edit)> = es.iter().map(|e| (0, e)).collect();
        let out = splice(&t, &mut refs);
        let d = compose_harden::diff::from_edits("f.yml", &t, &es);
        if out == t {
            prop_assert!(d.is_empty());
        } else {
            let patches = compose_harden::patch::parse(&d).expect("our diff parses");
            prop_assert_eq!(patches.len(), 1);
            let got = compose_harden::patch::apply(&t, &patches[0]).expect("our diff applies");
            prop_assert_eq!(got, out);
        }
    }

    #[test]
    fn insert_then_remove_is_identity(
        n in 1usize..5,
        which in 0usize..5,
        crlf in any::<bool>(),
        flow in any::<bool>(),
        final_nl in any::<bool>(),
        key in "[a-z_]{1,8}",
        item in "[a-z0-9:._-]{1,10}",
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut t = format!("services:{eol}");
        for i in 0..n {
            if flow && i % 2 == 1 {
                t.push_str(&format!("  s{i}: {{image: x, ports: [\"80\"]}}{eol}"));
            } else {
                t.push_str(&format!("  s{i}:{eol}    image: x # c{eol}    ports:{eol}      - \"80\"{eol}"));
            }
        }
        if !final_nl {
            t.truncate(t.len() - eol.len());
        }
        let y = Yaml::parse(t.clone()).expect("generated file parses");
        let services = y.get(y.docs[0].root, "services").expect("services");
        let svc = y.entries(services).expect("map")[which % n].value;
        prop_assume!(y.get(svc, &key).is_none());

        // A key.
        let e = ops::insert_key(&y, svc, &key, &NewNode::Str("v1".into())).expect("insert");
        let mut with = t.clone();
        with.replace_range(e.range.clone(), &e.replacement);
        let y2 = Yaml::parse(with.clone()).expect("inserted file parses");
        let services2 = y2.get(y2.docs[0].root, "services").expect("services");
        let svc2 = y2.entries(services2).expect("map")[which % n].value;
        let idx = y2.entry_index(svc2, &key).expect("inserted key present");
        let r = ops::remove_entry(&y2, svc2, idx).expect("remove");
        let mut back = with.clone();
        back.replace_range(r.range.clone(), &r.replacement);
        prop_assert_eq!(&back, &t);

        // A sequence item.
        let ports = y.get(svc, "ports").expect("ports");
        let e = ops::append_item(&y, ports, &NewNode::Str(item.clone())).expect("append");
        let mut with = t.clone();
        with.replace_range(e.range.clone(), &e.replacement);
        let y3 = Yaml::parse(with.clone()).expect("appended file parses");
        let services3 = y3.get(y3.docs[0].root, "services").expect("services");
        let svc3 = y3.entries(services3).expect("map")[which % n].value;
        let ports3 = y3.get(svc3, "ports").expect("ports");
        let last = y3.items(ports3).expect("seq").len() - 1;
        let r = ops::remove_item(&y3, ports3, last).expect("remove");
        let mut back = with.clone();
        back.replace_range(r.range.clone(), &r.replacement);
        prop_assert_eq!(&back, &t);
    }
}
