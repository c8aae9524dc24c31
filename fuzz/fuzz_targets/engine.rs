//! Arbitrary bytes (and mutated corpus files) through parse -> every rule (strict profile) ->
//! apply -> verify -> diff. Properties: no panic; any output verifies (no fix is dropped for a
//! failed verification); the diff, applied by the strict patch applier, gives the output.
#![no_main]

use std::sync::OnceLock;

use compose_harden::engine::{self, Plan};
use compose_harden::profile::Profile;
use libfuzzer_sys::fuzz_target;

fn plan() -> &'static Plan {
    static PLAN: OnceLock<Plan> = OnceLock::new();
    PLAN.get_or_init(|| {
        let p = Profile::load("strict").expect("built-in profile");
        Plan::new(p, &[], &[]).expect("plan")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = engine::decode(data.to_vec(), "fuzz.yml") else {
        return;
    };
    let Ok(r) = engine::process(plan(), "fuzz.yml", text) else {
        return;
    };
    let errors = r.errors();
    assert!(errors.is_empty(), "a fix failed verification: {errors:?}");
    let d = r.diff();
    if r.output == r.input() {
        assert!(d.is_empty(), "no change but a diff");
        return;
    }
    let patches = compose_harden::patch::parse(&d).expect("our own diff parses");
    let patched =
        compose_harden::patch::apply(r.input(), &patches[0]).expect("our own diff applies");
    assert_eq!(patched, r.output, "diff does not reproduce the output");
});
