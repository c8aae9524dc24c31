//! One case: a stack hardened with one profile, from the original `up` to the rollback, as a
//! list of named checks.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::engine::{self, run, run_with_input, tail, text, Engine, TOOLS_IMAGE};
use crate::expected;
use crate::stacks::Stack;

/// Linux capability numbers (bit positions in `/proc/PID/status`).
const CAP_BITS: &[(&str, u32)] = &[
    ("CHOWN", 0),
    ("DAC_OVERRIDE", 1),
    ("DAC_READ_SEARCH", 2),
    ("FOWNER", 3),
    ("FSETID", 4),
    ("KILL", 5),
    ("SETGID", 6),
    ("SETUID", 7),
    ("SETPCAP", 8),
    ("LINUX_IMMUTABLE", 9),
    ("NET_BIND_SERVICE", 10),
    ("NET_BROADCAST", 11),
    ("NET_ADMIN", 12),
    ("NET_RAW", 13),
    ("IPC_LOCK", 14),
    ("IPC_OWNER", 15),
    ("SYS_MODULE", 16),
    ("SYS_RAWIO", 17),
    ("SYS_CHROOT", 18),
    ("SYS_PTRACE", 19),
    ("SYS_PACCT", 20),
    ("SYS_ADMIN", 21),
    ("SYS_BOOT", 22),
    ("SYS_NICE", 23),
    ("SYS_RESOURCE", 24),
    ("SYS_TIME", 25),
    ("SYS_TTY_CONFIG", 26),
    ("MKNOD", 27),
    ("LEASE", 28),
    ("AUDIT_WRITE", 29),
    ("AUDIT_CONTROL", 30),
    ("SETFCAP", 31),
];

/// Docker's default capabilities.
const DOCKER_DEFAULT: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

const SHORT: Duration = Duration::from_secs(30);
const LONG: Duration = Duration::from_secs(180);

/// How a check came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// As intended.
    Pass,
    /// Not as intended (why).
    Fail(String),
}

/// One named check and its outcome.
pub struct Check {
    name: String,
    detail: String,
    outcome: Outcome,
}

/// Everything one case found.
pub struct Report {
    stack: &'static str,
    profile: &'static str,
    checks: Vec<Check>,
    /// Set when a step failed that later checks depend on.
    aborted: Option<String>,
    started: Instant,
}

impl Report {
    fn check(
        &mut self,
        name: impl Into<String>,
        detail: impl Into<String>,
        ok: Result<(), String>,
    ) {
        self.checks.push(Check {
            name: name.into(),
            detail: detail.into(),
            outcome: match ok {
                Ok(()) => Outcome::Pass,
                Err(why) => Outcome::Fail(why),
            },
        });
    }

    fn passed(&self, name: &str) -> bool {
        self.checks
            .iter()
            .any(|c| c.name == name && c.outcome == Outcome::Pass)
    }

    /// Print the case's checks as one block (cases run in parallel).
    pub fn print(&self) {
        let mut s = format!(
            "\n=== e2e {} / {} ({:.0} s)\n",
            self.stack,
            self.profile,
            self.started.elapsed().as_secs_f64()
        );
        for c in &self.checks {
            let xfail = expected::reason(self.stack, self.profile, &c.name);
            let (tag, extra) = match (&c.outcome, xfail) {
                (Outcome::Pass, None) => ("ok", String::new()),
                (Outcome::Pass, Some(_)) => (
                    "XPASS",
                    " — listed in tests/e2e/expected.rs but passed: remove it there".to_string(),
                ),
                (Outcome::Fail(why), None) => ("FAIL", format!(" — {}", indent(why))),
                (Outcome::Fail(why), Some(r)) => {
                    ("xfail", format!(" — expected ({r}): {}", indent(why)))
                }
            };
            let detail = if c.detail.is_empty() {
                String::new()
            } else {
                format!(" [{}]", c.detail)
            };
            let _ = writeln!(s, "  {tag:<5} {}{detail}{extra}", c.name);
        }
        for name in self.unreached() {
            let _ = writeln!(
                s,
                "  FAIL  {name} — listed in tests/e2e/expected.rs but not reached"
            );
        }
        if let Some(why) = &self.aborted {
            let _ = writeln!(s, "  ABORT {}", indent(why));
        }
        // One write, so parallel cases do not interleave.
        let _ = std::io::stdout().lock().write_all(s.as_bytes());
    }

    fn unreached(&self) -> Vec<&'static str> {
        expected::listed(self.stack, self.profile)
            .filter(|name| !self.checks.iter().any(|c| c.name == *name))
            .collect()
    }

    /// `Ok` when every check passed or failed as listed in `expected.rs`.
    pub fn verdict(&self) -> Result<(), String> {
        let mut bad: Vec<String> = Vec::new();
        for c in &self.checks {
            let listed = expected::reason(self.stack, self.profile, &c.name).is_some();
            match (&c.outcome, listed) {
                (Outcome::Fail(_), false) => bad.push(format!("failed: {}", c.name)),
                (Outcome::Pass, true) => bad.push(format!("unexpectedly passed: {}", c.name)),
                _ => {}
            }
        }
        if self.aborted.is_none() {
            for name in self.unreached() {
                bad.push(format!("expected failure not reached: {name}"));
            }
        }
        if let Some(why) = &self.aborted {
            bad.push(format!("aborted: {}", why.lines().next().unwrap_or("")));
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(bad.join("\n"))
        }
    }
}

fn indent(s: &str) -> String {
    s.trim().replace('\n', "\n          ")
}

/// What the hardened (or original) file says about one service, from `config --format json`.
struct Svc {
    name: String,
    cap_drop: Vec<String>,
    cap_add: Vec<String>,
    no_new_privileges: bool,
    read_only: bool,
    tmpfs: Vec<String>,
    /// (published, container) ports.
    ports: Vec<(String, String)>,
    environment: Vec<(String, String)>,
}

fn norm_cap(c: &str) -> String {
    let u = c.trim().to_ascii_uppercase();
    u.strip_prefix("CAP_").map(str::to_string).unwrap_or(u)
}

impl Svc {
    /// The capability set Docker gives the container.
    fn caps(&self) -> BTreeSet<String> {
        let mut set: BTreeSet<String> = if self.cap_drop.iter().any(|c| c == "ALL") {
            BTreeSet::new()
        } else {
            DOCKER_DEFAULT
                .iter()
                .map(|c| c.to_string())
                .filter(|c| !self.cap_drop.contains(c))
                .collect()
        };
        set.extend(self.cap_add.iter().cloned());
        set
    }

    fn env(&self, key: &str) -> Option<&str> {
        self.environment
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn model(engine: &Engine, project: &str, dir: &Path) -> Result<Vec<Svc>, String> {
    let out = run(
        engine
            .compose(project, dir)
            .args(["config", "--format", "json"]),
        SHORT,
    )?;
    if !out.status.success() {
        return Err(format!("config --format json: {}", text(&out)));
    }
    let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("config json: {e}"))?;
    let services = v
        .get("services")
        .and_then(Value::as_object)
        .ok_or("config json has no services")?;
    Ok(services
        .iter()
        .map(|(name, s)| Svc {
            name: name.clone(),
            cap_drop: strings(s.get("cap_drop"))
                .iter()
                .map(|c| norm_cap(c))
                .collect(),
            cap_add: strings(s.get("cap_add"))
                .iter()
                .map(|c| norm_cap(c))
                .collect(),
            no_new_privileges: strings(s.get("security_opt"))
                .iter()
                .any(|o| matches!(o.as_str(), "no-new-privileges:true" | "no-new-privileges")),
            read_only: s.get("read_only").and_then(Value::as_bool).unwrap_or(false),
            tmpfs: strings(s.get("tmpfs")),
            ports: s
                .get("ports")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|p| {
                            let published = p.get("published")?.as_str()?.to_string();
                            let target = p.get("target")?.as_u64()?.to_string();
                            Some((published, target))
                        })
                        .collect()
                })
                .unwrap_or_default(),
            environment: s
                .get("environment")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect())
}

/// A stack's scratch copy and its Compose project.
struct Work<'e> {
    engine: &'e Engine,
    stack: &'static Stack,
    project: String,
    dir: PathBuf,
}

impl Work<'_> {
    fn compose(&self) -> Command {
        self.engine.compose(&self.project, &self.dir)
    }

    /// `compose-harden ARGS` in the work directory: this build, or the binary
    /// `COMPOSE_HARDEN_E2E_BIN` names (to compare another build on the same stacks).
    fn tool(&self, args: &[&str]) -> Result<std::process::Output, String> {
        let bin = std::env::var_os("COMPOSE_HARDEN_E2E_BIN")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_compose-harden").into());
        run(
            Command::new(bin)
                .current_dir(&self.dir)
                .args(args)
                .env_remove("COMPOSE_FILE"),
            SHORT,
        )
    }

    /// `up -d --wait` (plus `extra`); the error holds the unhealthy services' logs.
    fn up(&self, extra: &[&str]) -> Result<(), String> {
        let out = run(
            self.compose()
                .args(["up", "-d", "--wait", "--wait-timeout", "120"])
                .args(extra),
            LONG,
        )?;
        if out.status.success() {
            return Ok(());
        }
        let logs = run(self.compose().args(["logs", "--tail", "8"]), SHORT)
            .map(|o| text(&o))
            .unwrap_or_default();
        Err(format!("{}\n{}", tail(&text(&out), 3), tail(&logs, 24)))
    }

    fn down(&self) {
        let _ = run(
            self.compose()
                .args(["down", "-v", "-t", "2", "--remove-orphans"]),
            LONG,
        );
    }

    fn container(&self, service: &str) -> Option<String> {
        let out = run(self.compose().args(["ps", "-a", "-q", service]), SHORT).ok()?;
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .map(str::to_string)
    }

    fn inspect(&self, service: &str) -> Option<Value> {
        let id = self.container(service)?;
        let out = run(self.engine.docker().args(["inspect", &id]), SHORT).ok()?;
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        v.get(0).cloned()
    }

    /// `running` plus the health status (`healthy`, `unhealthy`, `starting`, or `none`).
    fn state(&self, service: &str) -> (String, String) {
        let Some(v) = self.inspect(service) else {
            return ("missing".into(), "none".into());
        };
        let status = v["State"]["Status"].as_str().unwrap_or("?").to_string();
        let health = v["State"]["Health"]["Status"]
            .as_str()
            .unwrap_or("none")
            .to_string();
        (status, health)
    }

    /// Wait until no container's healthcheck is still `starting` (after a failed `--wait`).
    fn settle(&self, services: &[Svc]) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline
            && services
                .iter()
                .any(|s| self.state(&s.name) == ("running".into(), "starting".into()))
        {
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    fn exec(&self, service: &str, user: Option<&str>, script: &str) -> Result<String, String> {
        let mut c = self.compose();
        c.args(["exec", "-T", "-e", "PGCONNECT_TIMEOUT=5"]);
        if let Some(u) = user {
            c.args(["-u", u]);
        }
        c.args([service, "sh", "-c", script]);
        let out = run(&mut c, SHORT)?;
        match (out.status.success(), text(&out)) {
            (true, t) => Ok(t),
            (false, t) if t.is_empty() => Err(format!("`{script}` failed ({})", out.status)),
            (false, t) => Err(t),
        }
    }

    /// Run `script` in a probe container on the stack's default network.
    fn probe(&self, script: &str) -> Result<String, String> {
        let out = run(
            self.engine
                .docker()
                .args(["run", "--rm", "--network"])
                .arg(format!("{}_default", self.project))
                .args([
                    "-e",
                    "PGCONNECT_TIMEOUT=5",
                    TOOLS_IMAGE,
                    "bash",
                    "-c",
                    script,
                ]),
            SHORT,
        )?;
        Ok(text(&out))
    }

    /// Change an init-only credential on the running server (the value goes through stdin).
    fn rotate(&self, r: &crate::stacks::Rotation, value: &str) -> Result<(), String> {
        let mut c = self.compose();
        c.args(["exec", "-T"]);
        if let Some(u) = r.user {
            c.args(["-u", u]);
        }
        c.arg(r.service).args(r.command);
        let input = r.stdin.replace("{}", &value.replace('\'', "''"));
        let out = run_with_input(&mut c, Some(&input), SHORT)?;
        if out.status.success() {
            Ok(())
        } else {
            Err(text(&out))
        }
    }
}

/// Parse `/proc/1/status`: (uid, CapEff, CapBnd, NoNewPrivs).
fn proc_status(s: &str) -> Option<(u32, u64, u64, Option<u32>)> {
    let field = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .map(|l| l[k.len()..].trim().to_string())
    };
    let uid = field("Uid:")?.split_whitespace().nth(1)?.parse().ok()?;
    let eff = u64::from_str_radix(&field("CapEff:")?, 16).ok()?;
    let bnd = u64::from_str_radix(&field("CapBnd:")?, 16).ok()?;
    let nnp = field("NoNewPrivs:").and_then(|v| v.parse().ok());
    Some((uid, eff, bnd, nnp))
}

fn mask(caps: &BTreeSet<String>) -> u64 {
    caps.iter()
        .filter_map(|c| CAP_BITS.iter().find(|(n, _)| n == c))
        .fold(0, |m, (_, b)| m | 1 << b)
}

fn names(m: u64) -> String {
    let v: Vec<&str> = CAP_BITS
        .iter()
        .filter(|(_, b)| m & (1 << b) != 0)
        .map(|(n, _)| *n)
        .collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let dst = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &dst)?;
        } else {
            std::fs::copy(e.path(), &dst)?;
        }
    }
    Ok(())
}

fn http_get(port: u16) -> Result<String, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(3)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut body = String::new();
    s.read_to_string(&mut body).map_err(|e| e.to_string())?;
    Ok(body)
}

/// Run the case `stack` × `profile` on `engine`.
pub fn run_case(engine: &Engine, stack: &'static Stack, profile: &'static str) -> Report {
    let mut r = Report {
        stack: stack.name,
        profile,
        checks: Vec::new(),
        aborted: None,
        started: Instant::now(),
    };
    let w = Work {
        engine,
        stack,
        project: format!("e2e-{}", stack.name),
        dir: engine
            .root
            .join("work")
            .join(format!("{}-{profile}", stack.name)),
    };
    let source = engine::repo().join("tests/e2e/stacks").join(stack.name);
    let _ = std::fs::remove_dir_all(&w.dir);
    if let Err(e) = copy_dir(&source, &w.dir) {
        r.aborted = Some(format!("copying {}: {e}", source.display()));
        return r;
    }
    w.down();
    if let Err(why) = steps(&w, &mut r, profile) {
        r.aborted = Some(why);
    }
    w.down();
    r
}

/// The case's steps; an `Err` aborts the case (what follows depends on it).
fn steps(w: &Work<'_>, r: &mut Report, profile: &str) -> Result<(), String> {
    let original = std::fs::read(w.dir.join("compose.yaml")).map_err(|e| e.to_string())?;
    let hardened = harden(w, r, profile)?;
    inspect(w, r, profile, &hardened);
    roll_back(w, r, &hardened, &original)
}

/// The original up, `diff`, `apply --patch`, the init-only rotations, the hardened up.
/// Returns the hardened file's services.
fn harden(w: &Work<'_>, r: &mut Report, profile: &str) -> Result<Vec<Svc>, String> {
    let stack = w.stack;
    // 1. The stack as written starts healthy (else the fixture is broken).
    let up = w.up(&[]);
    r.check("original: up --wait healthy", "", up.clone());
    up.map_err(|why| format!("the original stack does not start: {why}"))?;

    // 2. diff, then apply exactly that diff (writes .env first).
    let diff = w.tool(&["diff", "--profile", profile])?;
    let ok = diff.status.success() && !diff.stdout.is_empty();
    let lines = String::from_utf8_lossy(&diff.stdout)
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .count();
    r.check(
        "diff: proposes a change",
        format!("{lines} added lines"),
        if ok { Ok(()) } else { Err(text(&diff)) },
    );
    if !ok {
        return Err("no diff to apply".into());
    }
    std::fs::write(w.dir.join("harden.diff"), &diff.stdout).map_err(|e| e.to_string())?;
    let apply = w.tool(&["apply", "--profile", profile, "--patch", "harden.diff"])?;
    let needs_env = String::from_utf8_lossy(&diff.stdout).contains(":?");
    let env_mode = std::fs::metadata(w.dir.join(".env"))
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777);
    r.check(
        "apply --patch: writes the reviewed change (and .env, 0600)",
        if needs_env {
            "with .env"
        } else {
            "no variable needed"
        },
        match (apply.status.success(), env_mode) {
            (false, _) => Err(tail(&text(&apply), 10)),
            (true, _) if !needs_env => Ok(()),
            (true, Ok(0o600)) => Ok(()),
            (true, Ok(m)) => Err(format!(".env has mode {m:o}")),
            (true, Err(e)) => Err(format!("no .env: {e}")),
        },
    );
    if !apply.status.success() {
        return Err("apply failed".into());
    }
    let config = run(w.compose().args(["config", "-q"]), SHORT)?;
    r.check(
        "hardened: config -q accepts it",
        "",
        if config.status.success() {
            Ok(())
        } else {
            Err(text(&config))
        },
    );
    let hardened = model(w.engine, &w.project, &w.dir)?;

    // 3. Init-only credentials: rotate on the running server first (the runbook's step).
    for rot in stack.rotations {
        let new = hardened
            .iter()
            .find(|s| s.name == rot.service)
            .and_then(|s| s.env(rot.key))
            .unwrap_or(rot.literal)
            .to_string();
        if new != rot.literal {
            r.check(
                format!(
                    "rotate {} on the running {} (runbook)",
                    rot.key, rot.service
                ),
                "",
                w.rotate(rot, &new),
            );
        }
    }

    // 4. The hardened stack starts healthy.
    let up = w.up(&["--force-recreate"]);
    r.check(
        "hardened: up --wait --force-recreate healthy",
        "",
        up.clone(),
    );
    if up.is_err() {
        w.settle(&hardened);
    }
    Ok(hardened)
}

/// What the running containers of the hardened stack show.
fn inspect(w: &Work<'_>, r: &mut Report, profile: &str, hardened: &[Svc]) {
    let stack = w.stack;
    for svc in hardened {
        containers(w, r, profile, svc);
    }
    for c in stack.clients {
        r.check(
            format!("{}: authenticates with the new credential", c.service),
            "",
            w.exec(c.service, None, c.check).map(|_| ()),
        );
    }
    for f in stack.refusals {
        let out = w.probe(f.probe);
        r.check(
            format!("{}: refuses the old literal", f.server),
            "",
            match out {
                Ok(o) if o.contains(f.refused) && !o.contains(f.accepted) => Ok(()),
                Ok(o) => Err(format!(
                    "the probe with the old literal got: {}",
                    tail(&o, 3)
                )),
                Err(e) => Err(e),
            },
        );
    }
    for (port, marker) in stack.http {
        r.check(
            format!("http://127.0.0.1:{port}/ serves the page"),
            "",
            http_get(*port).and_then(|b| {
                if b.contains("200 OK") && b.contains(marker) {
                    Ok(())
                } else {
                    Err(tail(&b, 3))
                }
            }),
        );
    }
}

/// Rollback: the runbook in reverse, the files restored, the original up again. A server that
/// is not running (the hardening broke it) is rotated back once the restored file started it.
fn roll_back(
    w: &Work<'_>,
    r: &mut Report,
    hardened: &[Svc],
    original: &[u8],
) -> Result<(), String> {
    let stack = w.stack;
    let mut later = Vec::new();
    for rot in stack.rotations {
        let changed = hardened
            .iter()
            .find(|s| s.name == rot.service)
            .and_then(|s| s.env(rot.key))
            .is_some_and(|v| v != rot.literal);
        if !changed {
            continue;
        }
        if w.state(rot.service).0 == "running" {
            r.check(rotate_back(rot), "", w.rotate(rot, rot.literal));
        } else {
            later.push(rot);
        }
    }
    let back = w.tool(&["rollback"])?;
    let restored = std::fs::read(w.dir.join("compose.yaml")).map_err(|e| e.to_string())?;
    r.check(
        "rollback: restores compose.yaml byte for byte",
        "",
        if !back.status.success() {
            Err(tail(&text(&back), 5))
        } else if restored.as_slice() != original {
            Err("compose.yaml differs from the original".into())
        } else {
            Ok(())
        },
    );
    for rot in later {
        let started = w.up(&["--force-recreate", rot.service]);
        r.check(
            rotate_back(rot),
            "after the restored file started it",
            started.and_then(|()| w.rotate(rot, rot.literal)),
        );
    }
    let up = w.up(&["--force-recreate"]);
    r.check("rollback: original up --wait healthy again", "", up);
    if r.passed("rollback: original up --wait healthy again") {
        for c in stack.clients {
            r.check(
                format!(
                    "rollback: {} authenticates with the original literal",
                    c.service
                ),
                "",
                w.exec(c.service, None, c.check).map(|_| ()),
            );
        }
    }
    Ok(())
}

fn rotate_back(rot: &crate::stacks::Rotation) -> String {
    format!(
        "rollback: rotate {} back on the running {}",
        rot.key, rot.service
    )
}

/// The checks on one service's running container.
fn containers(w: &Work<'_>, r: &mut Report, profile: &str, svc: &Svc) {
    let name = &svc.name;
    let (status, health) = w.state(name);
    let running = status == "running";
    r.check(
        format!("{name}: running and healthy"),
        "",
        if running && matches!(health.as_str(), "healthy" | "none") {
            Ok(())
        } else {
            let logs = run(w.compose().args(["logs", "--tail", "6", name]), SHORT)
                .map(|o| text(&o))
                .unwrap_or_default();
            Err(format!("{status}, {health}\n{}", tail(&logs, 6)))
        },
    );
    if running {
        let status = w.exec(name, None, "cat /proc/1/status");
        match status.as_deref().ok().and_then(proc_status) {
            None => r.check(
                format!("{name}: /proc/1/status readable"),
                "",
                Err(status.err().unwrap_or_default()),
            ),
            Some((uid, eff, bnd, nnp)) => {
                let intended = mask(&svc.caps());
                let want_eff = if uid == 0 { intended } else { 0 };
                r.check(
                    format!("{name}: CapBnd is the intended set"),
                    names(intended),
                    if bnd == intended {
                        Ok(())
                    } else {
                        Err(format!("CapBnd holds {}", names(bnd)))
                    },
                );
                r.check(
                    format!("{name}: CapEff is the intended set"),
                    format!("pid 1 uid {uid}: {}", names(want_eff)),
                    if eff == want_eff {
                        Ok(())
                    } else {
                        Err(format!("CapEff holds {}", names(eff)))
                    },
                );
                if svc.no_new_privileges {
                    r.check(
                        format!("{name}: NoNewPrivs: 1"),
                        "",
                        if nnp == Some(1) {
                            Ok(())
                        } else {
                            Err(format!("NoNewPrivs: {nnp:?}"))
                        },
                    );
                }
                if let Some((_, user)) = w.stack.users.iter().find(|(s, _)| s == name) {
                    let who = w
                        .exec(name, None, &format!("getent passwd {uid} | cut -d: -f1"))
                        .unwrap_or_default();
                    r.check(
                        format!("{name}: pid 1 runs as {user}"),
                        "",
                        if who.trim() == *user {
                            Ok(())
                        } else {
                            Err(format!("pid 1 runs as uid {uid} ({})", who.trim()))
                        },
                    );
                }
                if svc.read_only {
                    r.check(
                        format!("{name}: / is read-only"),
                        "",
                        match w.exec(name, None, "touch /.e2e-probe") {
                            Err(e) if e.contains("Read-only file system") => Ok(()),
                            Err(e) => Err(e),
                            Ok(_) => Err("/ is writable".into()),
                        },
                    );
                    for t in &svc.tmpfs {
                        let path = t.split(':').next().unwrap_or(t);
                        let script = format!("f='{path}/.e2e-probe'; : > \"$f\" && rm -f \"$f\"");
                        r.check(
                            format!("{name}: tmpfs {path} writable by pid 1's user"),
                            format!("uid {uid}"),
                            w.exec(name, Some(&uid.to_string()), &script).map(|_| ()),
                        );
                    }
                }
            }
        }
    }
    ports(w, r, profile, svc, running);
}

fn ports(w: &Work<'_>, r: &mut Report, profile: &str, svc: &Svc, running: bool) {
    if svc.ports.is_empty() || !running {
        return;
    }
    let v = w.inspect(&svc.name).unwrap_or(Value::Null);
    for (published, target) in &svc.ports {
        let public = w
            .stack
            .public
            .iter()
            .any(|(p, s, port)| *p == profile && *s == svc.name && port == published);
        // Kept public: every interface (Docker also binds `::` for IPv6).
        let want: &[&str] = if public {
            &["0.0.0.0", "::"]
        } else {
            &["127.0.0.1"]
        };
        let bound: Vec<String> = v["NetworkSettings"]["Ports"][format!("{target}/tcp")]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|b| b["HostIp"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let name = if public {
            format!(
                "{}: port {published} kept public (all interfaces)",
                svc.name
            )
        } else {
            format!("{}: port {published} published on 127.0.0.1 only", svc.name)
        };
        r.check(
            name,
            "",
            if bound.iter().any(|b| b == want[0])
                && bound.iter().all(|b| want.contains(&b.as_str()))
            {
                Ok(())
            } else {
                Err(format!("bound to {bound:?}"))
            },
        );
        if !public {
            let port: u16 = published.parse().unwrap_or(0);
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            r.check(
                format!("{}: port {published} answers on 127.0.0.1", svc.name),
                "",
                TcpStream::connect_timeout(&addr, Duration::from_secs(3))
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
            );
        }
    }
}
