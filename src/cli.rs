//! The command line: `diff`, `check`, `rules`, `explain`, `env`, `apply`, `rollback`,
//! `network-graph`.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::engine::{self, FileResult, Plan};
use crate::error::Error;
use crate::profile::Profile;
use crate::report::term::{ColorChoice, Style, Terminal};
use crate::report::{FailOn, Format};
use crate::rules;

const AFTER_HELP: &str = "\
Workflow:
  0. compose-harden init                  optional: a commented starter profile from the findings
  1. compose-harden check                 list what is weak, with positions and severities
  2. compose-harden diff > harden.diff     review the proposed change (nothing is written)
  3. compose-harden apply --patch harden.diff
                                          in a maintenance window: exactly the reviewed change,
                                          .env first, atomic, with backups; prints the checklist
  4. compose-harden rollback              restores the newest backups if something breaks

Files are found like `docker compose` finds them: -f (repeatable) or paths given as arguments,
else COMPOSE_FILE, else compose.yaml, compose.yml, docker-compose.yml or docker-compose.yaml in
this directory together with its override file (compose.override.yml, …). The files are merged
as Compose merges them, with the files they `include:` and `extends`: each weak setting is
fixed in the file that sets it, a missing one is added once, where the service is defined.

Exit codes: 0 success (diff: with or without changes; check: nothing at or above --fail-on),
1 check found something at or above --fail-on (default low; info never fails), 2 error (bad
input, bad profile, unreadable file, or a fix that failed verification).

CI: check --format sarif|json|github; suppress a finding with a reason in the file:
`# compose-harden: ignore[RULE-ID] reason` (see docs/ci.md).";

/// Harden Docker Compose files with lossless, verified, reviewable edits.
#[derive(Debug, Parser)]
#[command(name = "compose-harden", version, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Colour findings and diffs: `auto` (on a terminal, unless NO_COLOR is set), `always`,
    /// `never`.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    color: ColorChoice,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the hardening changes as a unified diff (writes nothing).
    ///
    /// The diff has `a/` and `b/` prefixes: apply it with `git apply` or `patch -p1`. Fixes
    /// marked `review` may change behaviour; the summary on stderr lists them.
    Diff(RunArgs),
    /// List findings as `file:line:col: severity rule-id message`; exit 1 when one is at or
    /// above `--fail-on` (default: low; info never fails).
    ///
    /// `--format json|sarif|github` for CI: JSON (docs/json-schema.json), SARIF 2.1.0 for code
    /// scanning, or GitHub Actions annotations. A finding is accepted on purpose with a comment
    /// `# compose-harden: ignore[RULE-ID] reason` at the end of its line, on the line above it,
    /// or on its service's key line (whole service); a suppressed finding is never fixed.
    Check(CheckArgs),
    /// List every rule id with a one-line summary.
    Rules {
        /// Print a Markdown table.
        #[arg(long)]
        markdown: bool,
    },
    /// Explain a rule: what it checks, what its fix does, what may break.
    Explain {
        /// The rule id (see `compose-harden rules`).
        rule: String,
    },
    /// Write the `.env` the (hardened) Compose files need: random values (mode 0600).
    ///
    /// Every variable referenced with `:?`/`?` and every variable `hardcoded-secret` introduces.
    /// An existing `.env` keeps every line; only missing variables are appended. Values are never
    /// printed.
    Env(EnvArgs),
    /// Write the hardening (or a reviewed `--patch`) atomically, with backups; print the
    /// operator checklist.
    ///
    /// `.env` is written first (unless --no-env), then every changed file; all or none. Each
    /// file keeps its mode and owner, and its previous content is kept as
    /// `NAME.bak-<UTC timestamp>` (see `rollback`).
    Apply(ApplyArgs),
    /// Undo the newest `apply`: restore every file it wrote (Compose files, provisioning files,
    /// `.env`), all or none.
    ///
    /// Reads the manifest `apply` left next to its backups; refuses when a file changed since
    /// (unless --force, which keeps the current versions as backups first), and says exactly
    /// what it restored. A `.env` the apply created is moved aside (its values are kept).
    Rollback(RollbackArgs),
    /// Write a commented starter profile from the current findings (ports to keep or bind to
    /// loopback, capabilities per image, read-only candidates); never overwrites without
    /// --force.
    Init(InitArgs),
    /// Print a shell completion script, e.g. `compose-harden completions bash >
    /// ~/.local/share/bash-completion/completions/compose-harden`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `compose-harden man > compose-harden.1`.
    Man,
    /// Show who talks to whom: the connections `network-segmentation` infers (with the places
    /// that show them) and the networks it proposes, as a text table or Graphviz `dot`.
    ///
    /// Review this before accepting a `network-segmentation` fix: a connection missing here
    /// (configured in a mounted file, typed into a UI) is lost by the fix; declare it with
    /// `[rules.network-segmentation] connections = { client = ["server"] }`.
    NetworkGraph(GraphArgs),
}

#[derive(Debug, Args)]
struct InitArgs {
    /// Compose file (repeatable). Default: like `docker compose`.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Where to write the profile. Default: `compose-harden.toml` beside the first Compose file.
    #[arg(long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// Overwrite an existing file.
    #[arg(long)]
    force: bool,
    /// Largest input file accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = engine::DEFAULT_MAX_SIZE)]
    max_size: u64,
}

#[derive(Debug, Args)]
struct GraphArgs {
    /// Compose file (repeatable). Default: like `docker compose`.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Built-in profile name (`baseline`) or path to a TOML profile (its `connections` and
    /// ignores apply).
    #[arg(long, value_name = "NAME|PATH", default_value = "production")]
    profile: String,
    /// `text` (a table) or `dot` (pipe into `dot -Tsvg`).
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "dot"])]
    format: String,
    /// Largest input file accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = engine::DEFAULT_MAX_SIZE)]
    max_size: u64,
}

fn cmd_init(a: &InitArgs, err: &mut dyn Write) -> Result<i32, Error> {
    let run = run_files(&RunArgs {
        files: a.files.clone(),
        paths: Vec::new(),
        profile: None,
        select: Vec::new(),
        ignore: Vec::new(),
        max_size: a.max_size,
    })?;
    if let Some(e) = run.errors.into_iter().next() {
        return Err(e);
    }
    let first = compose_files(&a.files)?.remove(0);
    let path = a.output.clone().unwrap_or_else(|| {
        first
            .parent()
            .unwrap_or(std::path::Path::new(""))
            .join("compose-harden.toml")
    });
    let text = crate::init::starter_profile(&run.results);
    let io = |m: String| Error::Io {
        path: path.display().to_string(),
        message: m,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if a.force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    let mut f = opts.open(&path).map_err(|e| {
        io(if e.kind() == std::io::ErrorKind::AlreadyExists {
            "already exists; pass --force to overwrite it, or --output PATH".into()
        } else {
            format!("cannot write the profile: {e}")
        })
    })?;
    f.write_all(text.as_bytes())
        .map_err(|e| io(format!("cannot write the profile: {e}")))?;
    let p = path.display();
    // A bare file name would be read as a built-in profile name.
    let arg = if path.components().count() == 1 && path.is_relative() {
        format!("./{p}")
    } else {
        p.to_string()
    };
    let _ = writeln!(
        err,
        "wrote {p}: review it, then `compose-harden diff --profile {arg}`"
    );
    Ok(0)
}

fn cmd_network_graph(a: &GraphArgs, out: &mut dyn Write) -> Result<i32, Error> {
    let profile = Profile::load(&a.profile)?;
    let files = compose_files(&a.files)?;
    let several = files.len() > 1;
    for f in &files {
        let d = display(f);
        let text = engine::read(f, &d, a.max_size)?;
        let (y, compose) = engine::parse(text, &d)?;
        let ctx = rules::Ctx::new(&y, &compose, &profile);
        let body = rules::network_segmentation::report(&ctx, a.format == "dot");
        let head = if several && a.format == "text" {
            format!("# {d}\n")
        } else if several {
            format!("// {d}\n")
        } else {
            String::new()
        };
        if write!(out, "{head}{body}").is_err() {
            return Ok(0);
        }
    }
    Ok(0)
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Compose file to harden (repeatable). Default: like `docker compose`.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Compose files, as with -f (after those given with -f).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Built-in profile name (`baseline`, the default) or a profile file (a path with `/` or a
    /// `.toml` name: `./site`, `site.toml`). A built-in name wins over a file of that name.
    #[arg(long, value_name = "NAME|PATH")]
    profile: Option<String>,
    /// Run exactly these rules (comma-separated ids), whatever the profile enables.
    #[arg(long, value_delimiter = ',', value_name = "RULE,...")]
    select: Vec<String>,
    /// Do not run these rules (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "RULE,...")]
    ignore: Vec<String>,
    /// Largest input file accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = engine::DEFAULT_MAX_SIZE)]
    max_size: u64,
}

#[derive(Debug, Args)]
struct CheckArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text, value_name = "FORMAT")]
    format: Format,
    /// Exit 1 when a finding is at this severity or above (`none`: report only).
    #[arg(long, value_enum, default_value_t = FailOn::Low, value_name = "LEVEL")]
    fail_on: FailOn,
}

fn display(p: &std::path::Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The default Compose file names, in Docker Compose's order of preference.
pub const DEFAULT_NAMES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// The override file names loaded after the default file, in Docker Compose's order.
pub const OVERRIDE_NAMES: [&str; 4] = [
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// The Compose files to work on: `-f` and positional paths, else `COMPOSE_FILE`, else the
/// first default name found here plus its override file (as `docker compose` finds them).
pub fn compose_files(given: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    if !given.is_empty() {
        return Ok(given.to_vec());
    }
    if let Some(v) = std::env::var_os("COMPOSE_FILE").filter(|v| !v.is_empty()) {
        let sep = std::env::var("COMPOSE_PATH_SEPARATOR")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| ":".into());
        let files: Vec<PathBuf> = v
            .to_string_lossy()
            .split(sep.as_str())
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect();
        if files.is_empty() {
            return Err(Error::Usage(
                "COMPOSE_FILE names no file; set it to a path (or pass -f FILE)".into(),
            ));
        }
        return Ok(files);
    }
    let main = DEFAULT_NAMES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            Error::Usage(format!(
                "no Compose file found here (looked for {}); pass one with -f FILE",
                DEFAULT_NAMES.join(", ")
            ))
        })?;
    let mut files = vec![main];
    if let Some(o) = OVERRIDE_NAMES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
    {
        files.push(o);
    }
    Ok(files)
}

/// The main and included files of the project whose main files are `files` (not those read
/// only as `extends` bases, which file-by-file analyses skip); just `files` when the project
/// cannot be loaded (the command reports why).
fn project_paths(files: &[PathBuf], max_size: u64) -> Vec<PathBuf> {
    match engine::load_project(files, max_size) {
        Ok(p) => p
            .files
            .into_iter()
            .filter(|f| f.role != crate::compose::merge::Role::Base)
            .map(|f| f.path)
            .collect(),
        Err(_) => files.to_vec(),
    }
}

impl RunArgs {
    /// The files given on the command line (`-f` first, then positional).
    fn given(&self) -> Vec<PathBuf> {
        self.files.iter().chain(&self.paths).cloned().collect()
    }
}

struct Run {
    /// The profile and rules the files were processed with (loaded once per run).
    plan: Plan,
    results: Vec<FileResult>,
    errors: Vec<Error>,
}

impl RunArgs {
    fn profile_spec(&self) -> &str {
        self.profile.as_deref().unwrap_or("baseline")
    }
}

fn run_files(args: &RunArgs) -> Result<Run, Error> {
    let profile = Profile::load(args.profile_spec())?;
    let mut plan = Plan::new(profile, &args.select, &args.ignore)?;
    plan.max_size = args.max_size;
    let files = compose_files(&args.given())?;
    let mut errors = Vec::new();
    let results = match engine::load_project(&files, plan.max_size) {
        Ok(project) => {
            let r = engine::process_project(&plan, project);
            errors.extend(r.errors());
            r.files
        }
        Err(e) => {
            errors.push(e);
            Vec::new()
        }
    };
    Ok(Run {
        plan,
        results,
        errors,
    })
}

fn report_errors(errors: &[Error], err: &mut dyn Write) {
    for e in errors {
        let _ = writeln!(err, "error: {e}");
    }
}

fn cmd_diff(
    args: &RunArgs,
    style: Style,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, Error> {
    let run = run_files(args)?;
    let (mut fixed, mut review, mut manual, mut held) = (0, 0, 0, 0);
    let mut body = String::new();
    for r in &run.results {
        body.push_str(&r.diff());
        for &i in &r.applied {
            fixed += 1;
            if r.findings[i]
                .fix
                .as_ref()
                .is_some_and(|f| f.applicability == crate::yaml::Applicability::Review)
            {
                review += 1;
            }
        }
        manual += r.findings.iter().filter(|f| f.fix.is_none()).count();
        for f in r
            .findings
            .iter()
            .filter(|f| f.rule == rules::project_file::ID)
        {
            let (line, col) = r.yaml.line_col(f.at);
            let _ = writeln!(err, "warning: {}:{line}:{col}: {}", r.path, f.message);
        }
        for rej in r.rejected.iter().filter(|x| !x.is_error) {
            held += 1;
            let (line, col) = r.yaml.line_col(rej.at);
            let _ = writeln!(
                err,
                "note: {}:{line}:{col}: {}: {} ({})",
                r.path, rej.rule, rej.title, rej.reason
            );
        }
    }
    if run.results.is_empty() {
        report_errors(&run.errors, err);
        return Ok(2);
    }
    let mut run = run;
    diff_provisioned(args, &mut run, &mut body, err);
    if !body.is_empty() {
        // The profile (and rule selection) the diff was made with: `apply --patch` uses it.
        if let Some(src) = &run.plan.profile.source {
            body.insert_str(
                0,
                &crate::diff::profile_header(src, &args.select, &args.ignore),
            );
        }
        if crate::report::term::write_diff(&body, style, out).is_err() {
            return Ok(0);
        }
    }
    let _ = writeln!(
        err,
        "{fixed} fix(es) in the diff ({review} to review), {manual} finding(s) without an automatic fix, {held} held back{}",
        if manual > 0 { " (see `compose-harden check`)" } else { "" }
    );
    diff_secrets_summary(args, &run, err);
    report_errors(&run.errors, err);
    Ok(if run.errors.is_empty() { 0 } else { 2 })
}

#[derive(Debug, Args)]
struct EnvArgs {
    /// Compose file (repeatable). Default: like `docker compose`.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Compose files, as with -f (after those given with -f).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Built-in profile name (`baseline`) or path to a TOML profile.
    #[arg(long, value_name = "NAME|PATH", default_value = "baseline")]
    profile: String,
    /// Where to write. Default: `.env` beside the first Compose file.
    #[arg(long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// Regenerate these variables (comma-separated), even if `.env` has them.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "VAR,...",
        conflicts_with = "rotate_all"
    )]
    rotate: Vec<String>,
    /// Regenerate every variable the files need.
    #[arg(long)]
    rotate_all: bool,
    /// Migration: move the current literals into `.env` unchanged (the stack behaves as before).
    #[arg(long, conflicts_with_all = ["rotate", "rotate_all"])]
    keep_values: bool,
    /// Largest input file accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = engine::DEFAULT_MAX_SIZE)]
    max_size: u64,
    /// Add the `.env` (and its backups) to the `.gitignore` beside it.
    #[arg(long)]
    gitignore: bool,
    #[command(flatten)]
    lock: LockArgs,
}

/// How long a writing command waits for another run on the same project.
#[derive(Debug, Args)]
struct LockArgs {
    /// Wait at most this long for another compose-harden run on the same directory to finish.
    #[arg(long, value_name = "SECONDS", default_value_t = crate::lock::DEFAULT_TIMEOUT.as_secs())]
    lock_timeout: u64,
}

impl LockArgs {
    fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.lock_timeout)
    }
}

/// Warn when the secrets file `env` is not ignored by git; with `add`, add it to .gitignore
/// (through the atomic writer, with a backup).
fn gitignore_env(env: &std::path::Path, add: bool, err: &mut dyn Write) -> Result<(), Error> {
    let st = crate::gitignore::status(env);
    if add && st != crate::gitignore::Status::Ignored {
        if let Some((gi, text)) = crate::gitignore::add_entries(env)? {
            let t = crate::atomic::Target {
                path: gi.clone(),
                text,
                secret: false,
            };
            let opts = crate::atomic::CommitOptions {
                backup: true,
                ..crate::atomic::CommitOptions::default()
            };
            crate::atomic::commit(&[t], &opts, &mut |_| Ok(()))?;
            let _ = writeln!(
                err,
                "{}: added {} and its backups",
                gi.display(),
                env.display()
            );
        }
        if st == crate::gitignore::Status::Tracked {
            if let Some(w) = crate::gitignore::warning(env, st) {
                let _ = writeln!(err, "warning: {w}");
            }
        }
        return Ok(());
    }
    if let Some(w) = crate::gitignore::warning(env, st) {
        let _ = writeln!(err, "warning: {w}");
    }
    Ok(())
}

fn cmd_env(args: &EnvArgs, err: &mut dyn Write) -> Result<i32, Error> {
    let profile = Profile::load(&args.profile)?;
    let given: Vec<PathBuf> = args.files.iter().chain(&args.paths).cloned().collect();
    let named = compose_files(&given)?;
    let _lock = crate::lock::acquire(
        &crate::lock::project_dir(&named[0]),
        "env",
        args.lock.timeout(),
        err,
    )?;
    let files = project_paths(&named, args.max_size);
    let needs = crate::env::needs_of_files(&profile, &files, args.max_size)?;
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| crate::env::default_path(&files[0]));
    let opts = crate::env::EnvOptions {
        output: args.output.clone(),
        rotate: args.rotate.clone(),
        rotate_all: args.rotate_all,
        keep_values: args.keep_values,
    };
    let report = crate::env::write_env(
        &needs,
        &path,
        &opts,
        &mut crate::secrets::generate::os_rng(),
    )?;
    let p = report.path.display();
    for w in &report.warnings {
        let _ = writeln!(err, "warning: {p}: {w}");
    }
    if report.written {
        if !report.added.is_empty() {
            let _ = writeln!(err, "{p}: added {}", report.added.join(", "));
        }
        if !report.rotated.is_empty() {
            let _ = writeln!(err, "{p}: regenerated {}", report.rotated.join(", "));
        }
        if let Some(b) = &report.backup {
            let _ = writeln!(
                err,
                "{p}: the previous file is kept as {} (mode 0600){}",
                b.display(),
                if report.rotated.is_empty() {
                    ""
                } else {
                    ": the old values the rotation steps below ask for are there"
                }
            );
        }
    } else {
        let _ = writeln!(
            err,
            "{p}: up to date ({} variable(s) needed)",
            needs.vars.len()
        );
    }
    for r in &report.runbooks {
        let _ = write!(err, "{r}");
    }
    gitignore_env(&path, args.gitignore, err)?;
    Ok(0)
}

/// `diff`'s stderr note: the variables `env` will add (names only) and rotation runbooks.
fn diff_secrets_summary(args: &RunArgs, run: &Run, err: &mut dyn Write) {
    let id = rules::hardcoded_secret::ID;
    let active = (args.select.is_empty() || args.select.iter().any(|s| s == id))
        && !args.ignore.iter().any(|s| s == id);
    let mut profile = run.plan.profile.clone();
    if !active || (args.select.is_empty() && profile.rules.enabled(id) != Some(true)) {
        return;
    }
    profile
        .rules
        .hardcoded_secret
        .get_or_insert_with(Default::default)
        .enabled = Some(true);
    let files: Vec<(&crate::yaml::Yaml, &crate::compose::Compose)> = run
        .results
        .iter()
        .filter(|r| r.role != crate::compose::merge::Role::Base)
        .map(|r| (&r.yaml, &r.compose))
        .collect();
    let Some(first) = run.results.first() else {
        return;
    };
    let env_file = crate::env::default_path(std::path::Path::new(&first.path));
    for line in crate::env::diff_summary(&profile, &files, &env_file.display().to_string()) {
        let _ = writeln!(err, "{line}");
    }
}

// ---- apply / rollback ----

/// `diff`: the profile's extra files (`[[files]]`, e.g. Grafana provisioning) after the Compose
/// files.
fn diff_provisioned(args: &RunArgs, run: &mut Run, out: &mut String, err: &mut dyn Write) {
    let Some(first) = run.results.first() else {
        return;
    };
    if !run.plan.provisions() {
        return;
    }
    match crate::provision::process(&run.plan.profile, &first.path, args.max_size) {
        Ok((files, notes)) => {
            for n in notes {
                let _ = writeln!(err, "{n}");
            }
            for f in files {
                out.push_str(&f.diff());
            }
        }
        Err(e) => run.errors.push(e),
    }
}

#[derive(Debug, Args)]
struct ApplyArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Apply this diff (made by `diff` and reviewed) instead of computing the fixes; refused
    /// when any file no longer matches it.
    #[arg(long, value_name = "FILE")]
    patch: Option<PathBuf>,
    /// Do not write the `.env`.
    #[arg(long)]
    no_env: bool,
    /// Put backups here instead of beside each file.
    #[arg(long, value_name = "DIR")]
    backup_dir: Option<PathBuf>,
    /// Print what would be written (names, sizes, backups); write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Also write the operator checklist to this Markdown file.
    #[arg(long, value_name = "FILE")]
    checklist: Option<PathBuf>,
    /// Add the `.env` (and its backups) to the `.gitignore` beside it.
    #[arg(long)]
    gitignore: bool,
    #[command(flatten)]
    lock: LockArgs,
}

#[derive(Debug, Args)]
struct RollbackArgs {
    /// Compose file (repeatable). Default: like `docker compose`.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Compose files, as with -f (after those given with -f).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Where `apply --backup-dir` put the backups.
    #[arg(long, value_name = "DIR")]
    backup_dir: Option<PathBuf>,
    /// Restore even files that changed since `apply` (the current versions are kept as
    /// `NAME.bak-<UTC>` first).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    lock: LockArgs,
}

/// `apply --patch`: the profile the diff records wins when `--profile` is not given; another
/// profile (or the same name with another text) is refused with the command to run.
fn patch_profile(
    a: &ApplyArgs,
    files: &[PathBuf],
) -> Result<(Profile, Vec<String>, Vec<String>), Error> {
    let recorded = a
        .patch
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| crate::diff::recorded_profile(&t));
    let spec = match (&a.run.profile, &recorded) {
        (Some(given), _) => given.clone(),
        (None, Some(r)) => r.spec.clone(),
        (None, None) => "baseline".to_string(),
    };
    let profile = Profile::load(&spec)?;
    let (mut select, mut ignore) = (a.run.select.clone(), a.run.ignore.clone());
    if let (Some(r), Some(patch)) = (&recorded, &a.patch) {
        let now = profile.source.as_ref().map_or("", |s| s.sha256.as_str());
        let f_args: String = files
            .iter()
            .map(|f| format!(" -f {}", f.display()))
            .collect();
        let patch = patch.display();
        if now != r.sha256 {
            let message = if spec != r.spec {
                format!(
                    "{patch} was made with --profile {}, not {spec}; nothing was written. Apply it with the profile it was made with:\n  compose-harden apply{f_args} --profile {} --patch {patch}",
                    r.spec, r.spec
                )
            } else {
                format!(
                    "profile {spec} is not the one {patch} was made with (its sha256 differs: edited since, or another compose-harden version); nothing was written. Make and review a new diff:\n  compose-harden diff{f_args} --profile {spec} > {patch}"
                )
            };
            return Err(Error::Usage(format!("--patch: {message}")));
        }
        if select.is_empty() && ignore.is_empty() {
            select = r.select.clone();
            ignore = r.ignore.clone();
        }
    }
    Ok((profile, select, ignore))
}

fn cmd_apply(a: &ApplyArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, Error> {
    let files = compose_files(&a.run.given())?;
    let (profile, select, ignore) = patch_profile(a, &files)?;
    let mut plan = Plan::new(profile, &select, &ignore)?;
    plan.max_size = a.run.max_size;
    let opts = crate::apply::ApplyOptions {
        files,
        patch: a.patch.clone(),
        env: !a.no_env,
        backup_dir: a.backup_dir.clone(),
        dry_run: a.dry_run,
        checklist: a.checklist.clone(),
        gitignore: a.gitignore,
        lock_timeout: Some(a.lock.timeout()),
        select,
        ignore,
    };
    crate::apply::run(&plan, &opts, out, err)
}

fn cmd_rollback(a: &RollbackArgs, err: &mut dyn Write) -> Result<i32, Error> {
    let given: Vec<PathBuf> = a.files.iter().chain(&a.paths).cloned().collect();
    let opts = crate::rollback::RollbackOptions {
        files: compose_files(&given)?,
        backup_dir: a.backup_dir.clone(),
        force: a.force,
        lock_timeout: Some(a.lock.timeout()),
    };
    crate::rollback::run(&opts, err)
}

// ---- end apply / rollback ----

fn cmd_check(
    args: &CheckArgs,
    style: Style,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, Error> {
    let run = run_files(&args.run)?;
    let report = crate::report::Report::new(&run.results, args.run.profile_spec());
    let failing = report.failing(args.fail_on);
    if !run.results.is_empty() {
        // A closed pipe (`check | head`) is not an error of the run.
        let _ = crate::report::write(&report, args.format, args.fail_on, style, out, err);
    }
    report_errors(&run.errors, err);
    Ok(if !run.errors.is_empty() {
        2
    } else if failing > 0 {
        1
    } else {
        0
    })
}

fn cmd_rules(markdown: bool, out: &mut dyn Write) -> i32 {
    if markdown {
        let _ = write!(out, "{}", rules::markdown_reference());
        return 0;
    }
    for r in rules::all() {
        let m = r.meta();
        let _ = if markdown {
            writeln!(
                out,
                "| `{}` | {} | {} |",
                m.id,
                m.applicability.as_str(),
                m.summary
            )
        } else {
            writeln!(
                out,
                "{:<22} {:<8} {:<7} {}",
                m.id,
                m.severity.as_str(),
                m.applicability.as_str(),
                m.summary
            )
        };
    }
    0
}

/// Run the command line `args`, writing to `out` and `err` (neither a terminal); returns the
/// exit code.
pub fn run<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    run_on(args, out, err, Terminal::default())
}

/// [`run`], with `out` being `term` (colour and wrapping follow it).
pub fn run_on<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write, term: Terminal) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = if e.use_stderr() {
                write!(err, "{}", e.render())
            } else {
                write!(out, "{}", e.render())
            };
            return code;
        }
    };
    let style = Style::new(cli.color, term);
    let result = match &cli.command {
        Command::Diff(a) => cmd_diff(a, style, out, err),
        Command::Check(a) => cmd_check(a, style, out, err),
        Command::Rules { markdown } => Ok(cmd_rules(*markdown, out)),
        Command::Env(a) => cmd_env(a, err),
        Command::Apply(a) => cmd_apply(a, out, err),
        Command::Rollback(a) => cmd_rollback(a, err),
        Command::Init(a) => cmd_init(a, err),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(*shell, &mut Cli::command(), "compose-harden", out);
            Ok(0)
        }
        Command::Man => {
            use clap::CommandFactory;
            clap_mangen::Man::new(Cli::command())
                .render(out)
                .map(|_| 0)
                .or(Ok(0))
        }
        Command::NetworkGraph(a) => cmd_network_graph(a, out),
        Command::Explain { rule } => match rules::by_id(rule) {
            Some(r) => {
                let _ = write!(out, "{}", rules::explain(r.meta()));
                Ok(0)
            }
            None => Err(Error::Usage(format!(
                "unknown rule `{rule}` (run `compose-harden rules` for the list)"
            ))),
        },
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            2
        }
    }
}
