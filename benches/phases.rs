//! The engine phase by phase on the benchmark workload (benches/support/workload.rs) with the
//! baseline profile: parse, rules, apply (select + one splice), verify (streaming comparison),
//! diff (from the applied edits), and the whole `engine::process`.
//! Run with `cargo bench --bench phases`; whole-process timings come from scripts/bench.sh.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use compose_harden::engine::{self, Plan};
use compose_harden::profile::Profile;
use compose_harden::yaml::edit::{splice_fixes, verify};
use compose_harden::yaml::{apply_fixes, Change, Fix};

#[path = "support/workload.rs"]
mod workload;

const SIZES: [usize; 3] = [10, 1_000, 10_000];

fn plan() -> Plan {
    Plan::new(Profile::load("baseline").expect("profile"), &[], &[]).expect("plan")
}

fn bench(c: &mut Criterion) {
    let plan = plan();
    for n in SIZES {
        let text = workload::generate(n);
        let (y, compose) = engine::parse(text.clone(), "bench.yml").expect("valid");
        let project = compose_harden::compose::project::Project::single("bench.yml", y, compose);
        let model = project.model();
        let y = &project.files[0].yaml;
        let findings = engine::findings(&plan, &project, &model);
        let fixes: Vec<&Fix> = findings.iter().filter_map(|f| f.fix.as_ref()).collect();
        let spliced = splice_fixes(y, &fixes);
        let changes: Vec<&Change> = spliced
            .accepted
            .iter()
            .flat_map(|&i| fixes[i].changes.iter())
            .collect();
        verify(y, &spliced.output, &changes).expect("verifies");
        let applied = apply_fixes(y, &fixes);

        let mut g = c.benchmark_group(format!("{n} services"));
        g.sample_size(if n >= 10_000 { 10 } else { 30 });
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(BenchmarkId::new("parse", n), |b| {
            b.iter(|| {
                engine::parse(text.clone(), "bench.yml")
                    .expect("valid")
                    .0
                    .len()
            })
        });
        g.bench_function(BenchmarkId::new("rules", n), |b| {
            b.iter(|| engine::findings(&plan, &project, &model).len())
        });
        g.bench_function(BenchmarkId::new("apply", n), |b| {
            b.iter(|| splice_fixes(y, &fixes).output.len())
        });
        g.bench_function(BenchmarkId::new("verify", n), |b| {
            b.iter(|| verify(y, &spliced.output, &changes).is_ok())
        });
        g.bench_function(BenchmarkId::new("diff", n), |b| {
            b.iter(|| compose_harden::diff::from_edits("bench.yml", &y.text, &applied.edits).len())
        });
        g.bench_function(BenchmarkId::new("process", n), |b| {
            b.iter(|| {
                let r = engine::process(&plan, "bench.yml", text.clone()).expect("valid");
                assert!(r.errors().is_empty());
                r.output.len()
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
