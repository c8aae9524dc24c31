//! Inputs the fuzzer (`fuzz/`) found, kept as regression cases: each must process under every
//! built-in profile with no failed verification, converge, and its diff must patch back.

mod support;

use compose_harden::engine::{self, Plan};
use compose_harden::profile::{Profile, BUILTINS};

#[test]
fn fuzz_regressions_stay_fixed() {
    let dir = support::root().join("tests/fuzz_regressions");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("dir") {
        let p = e.expect("entry").path();
        let bytes = std::fs::read(&p).expect("read");
        for (name, _) in BUILTINS {
            let plan = Plan::new(Profile::load(name).expect("profile"), &[], &[]).expect("plan");
            let d = p.to_string_lossy();
            let Ok(text) = engine::decode(bytes.clone(), &d) else {
                continue;
            };
            let Ok(r) = engine::process(&plan, &d, text) else {
                continue;
            };
            assert!(r.errors().is_empty(), "{d} ({name}): {:?}", r.errors());
            let again = engine::process(&plan, &d, r.output.clone()).expect("output parses");
            assert_eq!(again.output, r.output, "{d} ({name}): does not converge");
            if r.output != r.input() {
                let patches = compose_harden::patch::parse(&r.diff()).expect("diff parses");
                let back = compose_harden::patch::apply(r.input(), &patches[0]).expect("applies");
                assert_eq!(back, r.output);
            }
        }
        n += 1;
    }
    assert!(n > 0);
}
