//! Parse + rules + edit + verify on generated files of 100, 1,000 and 10,000 services.
//! Run with `cargo bench --bench engine`; growth should be linear.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use compose_harden::engine::{self, Plan};
use compose_harden::profile::Profile;

/// A Compose file with `n` services in mixed styles (block, flow, list and map environment).
pub fn generate(n: usize) -> String {
    let mut s = String::with_capacity(n * 260);
    s.push_str("x-common: &common\n  restart: unless-stopped\n  security_opt:\n    - label:type:svc_t\n\nservices:\n");
    for i in 0..n {
        match i % 4 {
            0 => s.push_str(&format!(
                "  svc{i}:\n    <<: *common\n    image: \"registry.local/app:{i}\"\n    ports:\n      - \"{p}:{p}\"\n    environment:\n      - POSTGRES_PASSWORD=pw{i}\n      - MODE=prod # comment\n",
                p = 10000 + i % 50000
            )),
            1 => s.push_str(&format!(
                "  svc{i}: {{image: 'nginx:1.27', ports: [\"80\"], environment: {{A: '1'}}}}\n"
            )),
            2 => s.push_str(&format!(
                "  svc{i}:\n    image: postgres:16\n    privileged: true\n    environment:\n      POSTGRES_USER: u{i}\n    volumes:\n    - data{i}:/var/lib/postgresql/data\n"
            )),
            _ => s.push_str(&format!(
                "  svc{i}:\n    image: redis:7\n    command: |\n      redis-server --save 60 1\n    security_opt:\n      - apparmor:docker-default\n"
            )),
        }
    }
    s
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse+rules+apply+verify");
    g.sample_size(10);
    for n in [100usize, 1_000, 10_000] {
        let text = generate(n);
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, text| {
            let plan =
                Plan::new(Profile::load("baseline").expect("profile"), &[], &[]).expect("plan");
            b.iter(|| {
                let r = engine::process(&plan, "bench.yml", text.clone()).expect("valid");
                assert!(r.errors().is_empty());
                r.output.len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
