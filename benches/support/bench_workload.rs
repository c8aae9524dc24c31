//! Writes the benchmark workload of N services to stdout: `cargo run --release --example
//! bench-workload -- N`. Used by scripts/bench.sh; the criterion benches use the same generator.

#[path = "workload.rs"]
mod workload;

fn main() {
    let n: usize = match std::env::args().nth(1).map(|a| a.parse()) {
        Some(Ok(n)) => n,
        _ => {
            eprintln!("usage: bench-workload SERVICES");
            std::process::exit(2);
        }
    };
    print!("{}", workload::generate(n));
}
