//! The harness's own Docker Engine: `dockerd` with its data root, exec root, pidfile and socket
//! under `target/e2e/engine/`, Compose v2 installed as a CLI plugin through `DOCKER_CONFIG`,
//! and the stand-in images built from a Debian root filesystem (no registry needed).
//!
//! The daemon is stopped by its pid when the run ends, also on failure ([`Engine`]'s `Drop`),
//! and a daemon left behind by an interrupted run is found through the pidfile and stopped
//! before a new one starts. The root filesystem tarball is cached under `target/e2e/cache/`,
//! keyed by the hash of `scripts/e2e/rootfs.sh`, so only the first run pays for debootstrap.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// The stand-in images: (tag, directory under `tests/e2e/images/`).
pub const IMAGES: &[(&str, &str)] = &[
    ("postgres:15-e2e", "postgres"),
    ("redis:7-e2e", "redis"),
    ("nginx:1.27-e2e", "nginx"),
    ("influxdb:2.7-e2e", "influxdb"),
    ("telegraf:1.30-e2e", "telegraf"),
    ("e2e-tools:1", "tools"),
    ("e2e-collector:1", "collector"),
];

/// The image probes run from (psql, redis-cli, bash), outside the stacks under test.
pub const TOOLS_IMAGE: &str = "e2e-tools:1";

/// A running `dockerd` of our own.
pub struct Engine {
    /// `target/e2e`.
    pub root: PathBuf,
    socket: PathBuf,
    config: PathBuf,
    pidfile: PathBuf,
    child: Mutex<Option<Child>>,
    stopped: AtomicBool,
    /// Held while the engine runs: one e2e run per machine (the stacks publish fixed host
    /// ports). Released after `stop` (fields drop after `Drop::drop`).
    _machine: std::fs::File,
}

/// The machine-wide lock file that serialises e2e runs (from any checkout).
const MACHINE_LOCK: &str = "/tmp/compose-harden-e2e.lock";

fn machine_lock() -> Result<std::fs::File, String> {
    let f = std::fs::File::create(MACHINE_LOCK).map_err(|e| format!("{MACHINE_LOCK}: {e}"))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => {
            eprintln!("=== e2e: another e2e run holds {MACHINE_LOCK}; waiting for it");
            f.lock().map_err(|e| format!("{MACHINE_LOCK}: {e}"))?;
            Ok(f)
        }
        Err(std::fs::TryLockError::Error(e)) => Err(format!("{MACHINE_LOCK}: {e}")),
    }
}

/// The package root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `target/e2e` (beside `target/tmp`, the integration tests' scratch directory).
fn e2e_root() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(&tmp).join("e2e")
}

/// The binary `name` on `PATH`.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// Whether process `pid` is alive and its command line mentions `needle`.
fn alive_with(pid: u32, needle: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).contains(needle))
        .unwrap_or(false)
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([sig, &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// Run `cmd`, killing it after `timeout`; stdout and stderr are captured.
pub fn run(cmd: &mut Command, timeout: Duration) -> Result<Output, String> {
    run_with_input(cmd, None, timeout)
}

/// [`run`] with `input` written to the command's stdin (never shown in messages).
pub fn run_with_input(
    cmd: &mut Command,
    input: Option<&str>,
    timeout: Duration,
) -> Result<Output, String> {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if let Some(text) = input {
        let mut stdin = child.stdin.take().expect("stdin is piped");
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| format!("{shown}: writing stdin: {e}"))?;
    }
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => Err(format!("{shown}: {e}")),
        Err(_) => {
            signal(pid, "-KILL");
            Err(format!("{shown}: no answer after {} s", timeout.as_secs()))
        }
    }
}

/// stdout + stderr of `out`, trimmed.
pub fn text(out: &Output) -> String {
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    s.trim().to_string()
}

/// The last `n` lines of `s`.
pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl Engine {
    /// Check what the engine needs, stop a leftover daemon, start `dockerd`, install the
    /// Compose plugin and build the images. The error says what is missing.
    pub fn start() -> Result<Engine, String> {
        if !is_root() {
            return Err("not running as root (dockerd needs root)".into());
        }
        let dockerd = which("dockerd").ok_or("no `dockerd` on PATH (apt-get install docker.io)")?;
        which("docker").ok_or("no `docker` CLI on PATH (apt-get install docker.io)")?;
        let compose = std::env::var_os("COMPOSE_HARDEN_DOCKER_COMPOSE")
            .map(PathBuf::from)
            .filter(|p| p.is_file())
            .ok_or(
                "COMPOSE_HARDEN_DOCKER_COMPOSE does not name the Docker Compose v2 binary \
(scripts/compose-validator.sh installs it)",
            )?;
        let machine = machine_lock()?;
        let root = e2e_root();
        let dir = root.join("engine");
        let socket = dir.join("docker.sock");
        if socket.as_os_str().len() > 100 {
            return Err(format!(
                "the socket path {} is too long for a unix socket; use a shorter target dir",
                socket.display()
            ));
        }
        let pidfile = dir.join("dockerd.pid");
        let config = dir.join("cfg");
        for d in [
            dir.join("data"),
            dir.join("exec"),
            config.join("cli-plugins"),
        ] {
            std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        stop_leftover(&pidfile, &dir);
        let plugin = config.join("cli-plugins/docker-compose");
        let _ = std::fs::remove_file(&plugin);
        std::os::unix::fs::symlink(&compose, &plugin)
            .map_err(|e| format!("{}: {e}", plugin.display()))?;

        let log = std::fs::File::create(dir.join("dockerd.log"))
            .map_err(|e| format!("dockerd.log: {e}"))?;
        let started = Instant::now();
        let child = Command::new(&dockerd)
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(&pidfile)
            .arg("--host")
            .arg(format!("unix://{}", socket.display()))
            // NOTE: no default docker0 bridge (a system dockerd, started by the docker.io
            // package where systemd runs, owns it): Compose projects get their own networks and
            // builds run with --network none. iptables stays on: containers on a project
            // network only reach each other through the FORWARD rules dockerd adds (the
            // FORWARD policy is DROP wherever a dockerd has run).
            .arg("--bridge=none")
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", dockerd.display()))?;
        let engine = Engine {
            root,
            socket,
            config,
            pidfile,
            child: Mutex::new(Some(child)),
            stopped: AtomicBool::new(false),
            _machine: machine,
        };
        engine.wait_ready(Duration::from_secs(60))?;
        eprintln!(
            "=== e2e: dockerd pid {} ready in {:.1} s ({})",
            engine.pid().unwrap_or(0),
            started.elapsed().as_secs_f64(),
            engine.socket.display()
        );
        engine.build_images()?;
        Ok(engine)
    }

    fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(&self.pidfile)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .or_else(|| {
                self.child
                    .lock()
                    .ok()
                    .and_then(|c| c.as_ref().map(Child::id))
            })
    }

    fn wait_ready(&self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self
                .child
                .lock()
                .map_err(|_| "lock".to_string())?
                .as_mut()
                .map(|c| c.try_wait())
                .transpose()
                .map(Option::flatten)
            {
                let log = std::fs::read_to_string(self.root.join("engine/dockerd.log"))
                    .unwrap_or_default();
                return Err(format!(
                    "dockerd exited at start ({status}):\n{}",
                    tail(&log, 15)
                ));
            }
            let ok = run(
                self.docker()
                    .args(["info", "--format", "{{.ServerVersion}}"]),
                Duration::from_secs(10),
            )
            .map(|o| o.status.success())
            .unwrap_or(false);
            if ok {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.stop();
                return Err(format!(
                    "dockerd did not answer on {} within {} s",
                    self.socket.display(),
                    timeout.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// A `docker` command talking to this engine.
    pub fn docker(&self) -> Command {
        let mut c = Command::new("docker");
        c.env("DOCKER_HOST", format!("unix://{}", self.socket.display()))
            .env("DOCKER_CONFIG", &self.config)
            .env("DOCKER_BUILDKIT", "0")
            .env_remove("COMPOSE_FILE")
            .env_remove("COMPOSE_PROJECT_NAME")
            .env_remove("COMPOSE_PROFILES");
        c
    }

    /// `docker compose -p PROJECT -f compose.yaml` in `dir`.
    pub fn compose(&self, project: &str, dir: &Path) -> Command {
        let mut c = self.docker();
        c.current_dir(dir)
            .args(["compose", "-p", project, "-f", "compose.yaml"]);
        c
    }

    /// Import the cached root filesystem (building it first if needed) and build every image.
    fn build_images(&self) -> Result<(), String> {
        let script = repo().join("scripts/e2e/rootfs.sh");
        let bytes = std::fs::read(&script).map_err(|e| format!("{}: {e}", script.display()))?;
        let key = hex::encode(&Sha256::digest(&bytes)[..8]);
        let base = format!("e2e-base:{key}");
        let present = |tag: &str| {
            run(
                self.docker()
                    .args(["image", "inspect", "--format", "{{.Id}}", tag]),
                Duration::from_secs(30),
            )
            .map(|o| o.status.success())
            .unwrap_or(false)
        };
        if !present(&base) {
            let tarball = self.rootfs(&script, &key)?;
            let t = Instant::now();
            let out = run(
                self.docker().arg("import").arg(&tarball).arg(&base),
                Duration::from_secs(600),
            )?;
            if !out.status.success() {
                return Err(format!("docker import failed: {}", tail(&text(&out), 10)));
            }
            eprintln!(
                "=== e2e: imported {base} in {:.1} s",
                t.elapsed().as_secs_f64()
            );
        }
        let t = Instant::now();
        for (tag, dir) in IMAGES {
            let out = run(
                self.docker()
                    .args(["build", "-q", "--network", "none", "--build-arg"])
                    .arg(format!("BASE={base}"))
                    .args(["-t", tag])
                    .arg(repo().join("tests/e2e/images").join(dir)),
                Duration::from_secs(600),
            )?;
            if !out.status.success() {
                return Err(format!("building {tag} failed: {}", tail(&text(&out), 20)));
            }
        }
        eprintln!(
            "=== e2e: {} images built in {:.1} s",
            IMAGES.len(),
            t.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// The root filesystem tarball for `key`: cached, else built with debootstrap.
    fn rootfs(&self, script: &Path, key: &str) -> Result<PathBuf, String> {
        let cache = self.root.join("cache");
        std::fs::create_dir_all(&cache).map_err(|e| e.to_string())?;
        let tarball = cache.join(format!("rootfs-{key}.tar"));
        if tarball.is_file() {
            eprintln!(
                "=== e2e: using the cached root filesystem {}",
                tarball.display()
            );
            return Ok(tarball);
        }
        which("debootstrap").ok_or("no `debootstrap` on PATH (apt-get install debootstrap)")?;
        // Older tarballs (another package list) only take space.
        for e in std::fs::read_dir(&cache)
            .map_err(|e| e.to_string())?
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("rootfs-") && !name.starts_with(&format!("rootfs-{key}")) {
                let _ = std::fs::remove_file(e.path());
            }
        }
        eprintln!(
            "=== e2e: building the root filesystem with debootstrap (minutes; cached as {})",
            tarball.display()
        );
        let t = Instant::now();
        let log = cache.join("rootfs.log");
        let out = run(
            Command::new("bash").arg(script).arg(&tarball),
            Duration::from_secs(1800),
        )?;
        let _ = std::fs::write(&log, text(&out));
        if !out.status.success() || !tarball.is_file() {
            return Err(format!(
                "scripts/e2e/rootfs.sh failed (log: {}):\n{}",
                log.display(),
                tail(&text(&out), 15)
            ));
        }
        eprintln!(
            "=== e2e: root filesystem built in {:.0} s",
            t.elapsed().as_secs_f64()
        );
        Ok(tarball)
    }

    /// Remove every container left on this engine, then stop dockerd by its pid (TERM, then
    /// KILL after 30 s). Idempotent.
    pub fn stop(&self) {
        if self.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Ok(out) = run(self.docker().args(["ps", "-aq"]), Duration::from_secs(20)) {
            let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .map(str::to_string)
                .collect();
            if !ids.is_empty() {
                let _ = run(
                    self.docker().args(["rm", "-f", "-v"]).args(&ids),
                    Duration::from_secs(60),
                );
            }
        }
        let Some(pid) = self.pid() else { return };
        signal(pid, "-TERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut child = self.child.lock().ok().and_then(|mut c| c.take());
        loop {
            let gone = match child.as_mut() {
                Some(c) => c.try_wait().map(|s| s.is_some()).unwrap_or(true),
                None => !Path::new(&format!("/proc/{pid}")).exists(),
            };
            if gone {
                eprintln!("=== e2e: dockerd pid {pid} stopped");
                return;
            }
            if Instant::now() > deadline {
                eprintln!("=== e2e: dockerd pid {pid} ignored TERM for 30 s: KILL");
                signal(pid, "-KILL");
                if let Some(c) = child.as_mut() {
                    let _ = c.wait();
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Stop a dockerd an interrupted run left behind (found through our pidfile and recognised
/// by our data root on its command line).
fn stop_leftover(pidfile: &Path, dir: &Path) {
    let Some(pid) = std::fs::read_to_string(pidfile)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
    else {
        return;
    };
    let needle = dir.join("data").to_string_lossy().into_owned();
    if !alive_with(pid, &needle) {
        let _ = std::fs::remove_file(pidfile);
        return;
    }
    eprintln!("=== e2e: stopping dockerd pid {pid} left by an earlier run");
    signal(pid, "-TERM");
    let deadline = Instant::now() + Duration::from_secs(30);
    while alive_with(pid, &needle) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    if alive_with(pid, &needle) {
        signal(pid, "-KILL");
        std::thread::sleep(Duration::from_secs(1));
    }
    let _ = std::fs::remove_file(pidfile);
}
