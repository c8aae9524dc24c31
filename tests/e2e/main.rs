//! End to end on a real Docker Engine: each stack under `tests/e2e/stacks/` starts healthy as
//! written, is hardened with `compose-harden diff` + `apply --patch` under a profile, starts
//! healthy again with `up --wait --force-recreate`, and its running containers are checked
//! (credentials, published addresses, capabilities, no-new-privileges, read-only root and
//! tmpfs); then `rollback` brings the original back up. Every check is reported by name.
//!
//! Opt-in, because it starts its own `dockerd` (as root): `COMPOSE_HARDEN_E2E=1` runs it and
//! reports it as ignored, with the reason, where the engine cannot start (not root, no
//! docker.io, no Compose binary); `COMPOSE_HARDEN_E2E=require` (what `.ci/run` sets after
//! installing the engine) turns that into a failure. Without the variable every case is
//! ignored. The engine, the cached root filesystem and the images live under
//! `target/e2e/`; see `engine.rs`.
//!
//! Filter like any test: `cargo test --test e2e -- database` runs the database stack only.
//! `COMPOSE_HARDEN_E2E_BIN=/path/to/compose-harden` runs the cases with another build.

mod case;
mod engine;
mod expected;
mod stacks;

use std::sync::{Arc, Mutex, OnceLock};

use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// How the environment asks for the end-to-end run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Not asked for: every case is ignored.
    Off,
    /// Run; a missing engine makes the cases ignored, with the reason.
    On,
    /// Run; a missing engine is a failure (CI, after installing it).
    Require,
}

impl Mode {
    fn from_env() -> Mode {
        match std::env::var("COMPOSE_HARDEN_E2E").as_deref() {
            Ok("require") => Mode::Require,
            Ok("1") | Ok("true") | Ok("yes") => Mode::On,
            _ => Mode::Off,
        }
    }
}

/// The engine, started by the first case that runs and stopped by `main` at the end.
struct Shared {
    mode: Mode,
    engine: OnceLock<Result<engine::Engine, String>>,
    /// One lock per stack: its profiles run one after another (same project, same ports).
    locks: Vec<(&'static str, Mutex<()>)>,
}

impl Shared {
    fn engine(&self) -> &Result<engine::Engine, String> {
        self.engine.get_or_init(|| {
            let e = engine::Engine::start();
            if let Err(why) = &e {
                eprintln!(
                    "\n=== e2e: the Docker Engine is not available: {why}\n=== e2e: {}\n",
                    if self.mode == Mode::Require {
                        "COMPOSE_HARDEN_E2E=require: every case FAILS"
                    } else {
                        "every case is reported as ignored (set COMPOSE_HARDEN_E2E=require to fail instead)"
                    }
                );
            }
            e
        })
    }

    fn lock(&self, stack: &str) -> std::sync::MutexGuard<'_, ()> {
        let (_, m) = self
            .locks
            .iter()
            .find(|(s, _)| *s == stack)
            .expect("every stack has a lock");
        // A panicking case poisons the lock; the next profile still runs.
        m.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn run_case(
    shared: &Shared,
    stack: &'static stacks::Stack,
    profile: &'static str,
) -> Result<Completion, Failed> {
    let engine = match shared.engine() {
        Ok(e) => e,
        Err(why) if shared.mode == Mode::Require => {
            return Err(format!("the Docker Engine is not available: {why}").into())
        }
        Err(why) => return Ok(Completion::ignored_with(format!("no Docker Engine: {why}"))),
    };
    let _serial = shared.lock(stack.name);
    let report = case::run_case(engine, stack, profile);
    report.print();
    match report.verdict() {
        Ok(()) => Ok(Completion::Completed),
        Err(why) => Err(why.into()),
    }
}

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let mode = Mode::from_env();
    let shared = Arc::new(Shared {
        mode,
        engine: OnceLock::new(),
        locks: stacks::STACKS
            .iter()
            .map(|s| (s.name, Mutex::new(())))
            .collect(),
    });
    if mode == Mode::Off && !args.list {
        eprintln!(
            "\n=== e2e: SKIPPED: these tests start their own dockerd (root, Debian's docker.io); \
run them with COMPOSE_HARDEN_E2E=1 (bash .ci/run does)\n"
        );
    }
    let trials: Vec<Trial> = stacks::cases()
        .into_iter()
        .map(|(stack, profile)| {
            let shared = Arc::clone(&shared);
            Trial::ignorable_test(format!("{}/{profile}", stack.name), move || {
                run_case(&shared, stack, profile)
            })
            .with_ignored_flag(mode == Mode::Off)
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    if let Some(Ok(engine)) = shared.engine.get() {
        engine.stop();
    }
    conclusion.exit_code()
}
