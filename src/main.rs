//! The `compose-harden` binary: parse arguments, run, exit with the code the run returned.

fn main() -> std::process::ExitCode {
    let code = compose_harden::cli::run_on(
        std::env::args_os(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
        compose_harden::report::term::Terminal::detect(),
    );
    std::process::ExitCode::from(code as u8)
}

// Parsing and verifying allocate many small nodes; mimalloc cuts whole-process time on large
// files by about a quarter compared with the system allocator (see docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
