//! `compose-harden env`: the `.env` that the (hardened) Compose files need.
//!
//! Runs on the files as they are (before or after `diff` is applied): every variable the
//! `hardcoded-secret` fixes introduce, plus every variable already referenced as required
//! (`${VAR:?…}` / `${VAR?…}`). An existing `.env` keeps every line; only missing variables are
//! appended, and `--rotate` regenerates named ones. Values never reach stdout or stderr.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::compose::Compose;
use crate::engine;
use crate::error::Error;
use crate::profile::Profile;
use crate::rules::hardcoded_secret::{self, Planned};
use crate::rules::Ctx;
use crate::secrets::classify;
use crate::secrets::dotenv::DotEnv;
use crate::secrets::envfile;
use crate::secrets::generate::{self, Format};
use crate::yaml::{NodeKind, Yaml};

/// A variable the files need.
#[derive(Debug, Clone)]
pub struct Need {
    /// Its name.
    pub var: String,
    /// Format of a generated value.
    pub format: Format,
    /// The literal the fix moves out (only for variables the rule introduces).
    pub literal: Option<String>,
    /// (service, environment key) pairs that read it.
    pub uses: Vec<(String, String)>,
}

/// What a service needs for rotation runbooks.
#[derive(Debug, Clone)]
pub struct ServiceInfo {
    /// Service name.
    pub name: String,
    /// Image, if any.
    pub image: Option<String>,
    /// Whether it mounts any volume.
    pub has_volumes: bool,
    /// Services it depends on.
    pub depends_on: Vec<String>,
}

/// The variables and services of a set of Compose files.
#[derive(Debug, Clone, Default)]
pub struct Needs {
    /// Variables in first-use order.
    pub vars: Vec<Need>,
    /// Services of every file.
    pub services: Vec<ServiceInfo>,
    /// Warnings (names only).
    pub warnings: Vec<String>,
}

fn service_info(y: &Yaml, c: &Compose) -> Vec<ServiceInfo> {
    c.services
        .iter()
        .map(|s| {
            let has_volumes = s
                .get(y, "volumes")
                .and_then(|v| y.items(v.resolved))
                .is_some_and(|i| !i.is_empty());
            let depends_on = s
                .get(y, "depends_on")
                .map(|d| crate::compose::model::names(y, d.resolved))
                .unwrap_or_default();
            ServiceInfo {
                name: s.name.clone(),
                image: s.image(y).map(str::to_string),
                has_volumes,
                depends_on,
            }
        })
        .collect()
}

/// Variables referenced as required (`${VAR:?…}`, `${VAR?…}`) anywhere in the file.
pub fn required_vars(y: &Yaml) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for n in &y.nodes {
        if let NodeKind::Scalar { value, .. } = &n.kind {
            if !value.contains('$') {
                continue;
            }
            for (var, op) in classify::references(value) {
                if matches!(op, ":?" | "?") && seen.insert(var.clone()) {
                    out.push(var);
                }
            }
        }
    }
    out
}

/// What the files at `texts` (display name, text) need, under `profile`.
pub fn needs(profile: &Profile, texts: &[(String, String)]) -> Result<Needs, Error> {
    let mut parsed = Vec::with_capacity(texts.len());
    for (display, text) in texts {
        parsed.push(engine::parse(text.clone(), display)?);
    }
    let refs: Vec<(&Yaml, &Compose)> = parsed.iter().map(|(y, c)| (y, c)).collect();
    Ok(needs_parsed(profile, &refs))
}

/// What already parsed files need, under `profile`.
pub fn needs_parsed(profile: &Profile, files: &[(&Yaml, &Compose)]) -> Needs {
    let mut n = Needs::default();
    let rule_on = profile.rules.enabled(hardcoded_secret::ID).unwrap_or(false);
    let opts = profile.rules.hardcoded_secret.clone().unwrap_or_default();
    // Index of each variable in `n.vars` (files can share variables).
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for &(y, c) in files {
        let ctx = Ctx::new(y, c, profile);
        let planned: Vec<Planned> = if rule_on {
            hardcoded_secret::plan(&ctx)
        } else {
            Vec::new()
        };
        let uses = hardcoded_secret::variable_uses(&ctx);
        for p in planned {
            match index.get(&p.var).map(|&i| &mut n.vars[i]) {
                Some(v) => {
                    if v.literal.as_deref() != Some(p.literal.as_str()) {
                        n.warnings.push(format!(
                            "{} gets different literals in different files; --keep-values uses the first",
                            p.var
                        ));
                    }
                    for u in p.uses {
                        if !v.uses.contains(&u) {
                            v.uses.push(u);
                        }
                    }
                }
                None => {
                    index.insert(p.var.clone(), n.vars.len());
                    n.vars.push(Need {
                        var: p.var,
                        format: p.format,
                        literal: Some(p.literal),
                        uses: p.uses,
                    })
                }
            }
        }
        for var in required_vars(y) {
            let u = uses.get(&var).cloned().unwrap_or_default();
            let need = match index.get(&var).copied() {
                Some(i) => &mut n.vars[i],
                None => {
                    let in_url = u.iter().any(|(_, _, url)| *url);
                    let key = u.first().map_or(var.as_str(), |(_, k, _)| k.as_str());
                    let format = opts
                        .vars
                        .get(&var)
                        .and_then(|o| o.format)
                        .unwrap_or_else(|| hardcoded_secret::default_format(key, in_url));
                    index.insert(var.clone(), n.vars.len());
                    n.vars.push(Need {
                        var: var.clone(),
                        format,
                        literal: None,
                        uses: Vec::new(),
                    });
                    n.vars.last_mut().expect("just pushed")
                }
            };
            for (s, k, _) in u {
                if !need.uses.contains(&(s.clone(), k.clone())) {
                    need.uses.push((s, k));
                }
            }
        }
        n.services.extend(service_info(y, c));
    }
    n
}

/// Rotation steps for `var` when a new value feeds an init-only variable of a stateful image
/// whose service keeps data in a volume; `None` otherwise.
pub fn runbook(needs: &Needs, need: &Need, env_file: &str) -> Option<String> {
    runbook_with(&ServiceIndex::new(needs), need, env_file)
}

/// Services by name and their reverse `depends_on`, built once for many runbooks.
pub struct ServiceIndex<'n> {
    by_name: std::collections::HashMap<&'n str, &'n ServiceInfo>,
    dependents: std::collections::HashMap<&'n str, Vec<&'n str>>,
}

impl<'n> ServiceIndex<'n> {
    /// Index the services of `needs`.
    pub fn new(needs: &'n Needs) -> Self {
        let mut by_name = std::collections::HashMap::new();
        let mut dependents: std::collections::HashMap<&str, Vec<&str>> =
            std::collections::HashMap::new();
        for s in &needs.services {
            by_name.entry(s.name.as_str()).or_insert(s);
            for d in &s.depends_on {
                dependents
                    .entry(d.as_str())
                    .or_default()
                    .push(s.name.as_str());
            }
        }
        ServiceIndex {
            by_name,
            dependents,
        }
    }
}

/// [`runbook`] with a prepared index (linear over many variables).
pub fn runbook_with(index: &ServiceIndex<'_>, need: &Need, env_file: &str) -> Option<String> {
    let mut out = String::new();
    for (service, key) in &need.uses {
        let Some(info) = index.by_name.get(service.as_str()) else {
            continue;
        };
        if !info.has_volumes {
            continue;
        }
        let Some(hint) = classify::is_init_only(key, info.image.as_deref()) else {
            continue;
        };
        let mut dependents: Vec<String> = Vec::new();
        for (s, _) in &need.uses {
            if s != service && !dependents.contains(s) {
                dependents.push(s.clone());
            }
        }
        for s in index.dependents.get(service.as_str()).into_iter().flatten() {
            if !dependents.iter().any(|d| d == s) {
                dependents.push((*s).to_string());
            }
        }
        out.push_str(&format!(
            "rotation: {} ({} in service `{service}`, {}), before restarting:\n",
            need.var, key, hint.engine
        ));
        out.push_str(&hint.render(service, &need.var, env_file));
        if !out.ends_with('\n') {
            out.push('\n');
        }
        if !dependents.is_empty() {
            out.push_str(&format!(
                "  Then restart the services that use it or depend on `{service}`: docker compose up -d --force-recreate {}\n",
                dependents.join(" ")
            ));
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Options of `env`.
#[derive(Debug, Clone, Default)]
pub struct EnvOptions {
    /// Where to write (default: `.env` beside the first file).
    pub output: Option<PathBuf>,
    /// Variables to regenerate.
    pub rotate: Vec<String>,
    /// Regenerate every variable the files need.
    pub rotate_all: bool,
    /// Move the current literals instead of generating values.
    pub keep_values: bool,
}

/// What `env` did (names only).
#[derive(Debug, Clone, Default)]
pub struct EnvReport {
    /// The file written (or left alone).
    pub path: PathBuf,
    /// Variables appended.
    pub added: Vec<String>,
    /// Variables regenerated.
    pub rotated: Vec<String>,
    /// Whether the file was written.
    pub written: bool,
    /// Warnings.
    pub warnings: Vec<String>,
    /// Rotation runbooks for new values of init-only variables.
    pub runbooks: Vec<String>,
    /// The backup of the previous file (`NAME.bak-<UTC>`, mode 0600), when there was one.
    pub backup: Option<PathBuf>,
}

/// The default `.env` path: beside the first Compose file.
pub fn default_path(first: &Path) -> PathBuf {
    match first.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.join(".env"),
        _ => PathBuf::from(".env"),
    }
}

/// Update (or create) the `.env` for `needs`, drawing values from `rng`. An existing file is
/// kept first as `NAME.bak-<UTC>` (mode 0600) beside it: rotation runbooks need the old
/// values, and nothing is lost if the new ones are not wanted.
pub fn write_env(
    needs: &Needs,
    path: &Path,
    opts: &EnvOptions,
    rng: &mut impl rand::CryptoRng,
) -> Result<EnvReport, Error> {
    let (mut report, text) = prepare_env(needs, path, opts, rng)?;
    let Some(text) = text else {
        return Ok(report);
    };
    let target = crate::atomic::Target {
        path: path.to_path_buf(),
        text,
        secret: true,
    };
    let commit = crate::atomic::CommitOptions {
        backup: true,
        ..crate::atomic::CommitOptions::default()
    };
    let written = crate::atomic::commit(&[target], &commit, &mut |_| Ok(()))?;
    report.written = true;
    if let Some(w) = written.first() {
        report.backup = w.backup.clone();
        if w.mode & 0o077 != 0 {
            report.warnings.push(format!(
                "mode {:04o} lets other users read it; run `chmod 600 {}`",
                w.mode,
                path.display()
            ));
        }
    }
    Ok(report)
}

/// What [`write_env`] would write: the report (with `written` false) and the new text, `None`
/// when the file is up to date. Nothing is written; the text holds secret values.
pub fn prepare_env(
    needs: &Needs,
    path: &Path,
    opts: &EnvOptions,
    rng: &mut impl rand::CryptoRng,
) -> Result<(EnvReport, Option<String>), Error> {
    let display = path.display().to_string();
    let io = |message: String| Error::Io {
        path: display.clone(),
        message,
    };
    if opts.keep_values && (opts.rotate_all || !opts.rotate.is_empty()) {
        return Err(Error::Usage(
            "--keep-values keeps the current literals; it cannot be combined with --rotate".into(),
        ));
    }
    for r in &opts.rotate {
        if !needs.vars.iter().any(|v| &v.var == r) {
            return Err(Error::Usage(format!(
                "--rotate {r}: the Compose files do not need that variable"
            )));
        }
    }
    let existing = envfile::existing_mode(path).map_err(io)?;
    let mut env = match existing {
        Some(_) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| io(format!("cannot read the file: {e}")))?;
            DotEnv::parse(&text).map_err(|e| io(e.to_string()))?
        }
        None => DotEnv::parse("").map_err(|e| io(e.to_string()))?,
    };
    let mut report = EnvReport {
        path: path.to_path_buf(),
        warnings: needs.warnings.clone(),
        ..EnvReport::default()
    };
    let mut fresh: Vec<&Need> = Vec::new();
    for need in &needs.vars {
        let rotate = opts.rotate_all || opts.rotate.contains(&need.var);
        let present = env.contains_key(&need.var);
        if present && !rotate {
            if env.get(&need.var).is_none() {
                report.warnings.push(format!(
                    "{} is listed without a value in {display}; Compose takes it from the environment",
                    need.var
                ));
            }
            continue;
        }
        let (value, generated) = match (&need.literal, opts.keep_values) {
            (Some(lit), true) => (lit.clone(), false),
            _ => (generate::generate(&need.format, rng), true),
        };
        let res = if present {
            report.rotated.push(need.var.clone());
            env.replace(&need.var, &value)
        } else {
            report.added.push(need.var.clone());
            env.set_new(&need.var, &value)
        };
        res.map_err(|e| io(e.to_string()))?;
        if generated {
            fresh.push(need);
        }
    }
    if report.added.is_empty() && report.rotated.is_empty() {
        return Ok((report, None));
    }
    let index = ServiceIndex::new(needs);
    for need in fresh {
        if let Some(r) = runbook_with(&index, need, &display) {
            report.runbooks.push(r);
        }
    }
    Ok((report, Some(env.render())))
}

/// Read the files and compute what they need.
pub fn needs_of_files(profile: &Profile, files: &[PathBuf], max_size: u64) -> Result<Needs, Error> {
    let mut texts = Vec::new();
    for f in files {
        let d = f.to_string_lossy().into_owned();
        let t = engine::read(f, &d, max_size)?;
        texts.push((d, t));
    }
    needs(profile, &texts)
}

/// The planned variables of every file (for `diff`'s summary): names only, plus runbooks.
pub fn diff_summary(profile: &Profile, files: &[(&Yaml, &Compose)], env_file: &str) -> Vec<String> {
    let n = needs_parsed(profile, files);
    let planned: Vec<&Need> = n.vars.iter().filter(|v| v.literal.is_some()).collect();
    if planned.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![format!(
        "`compose-harden env` will add to {env_file}: {}",
        planned
            .iter()
            .map(|v| v.var.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )];
    let mut by_var: BTreeMap<&str, String> = BTreeMap::new();
    let index = ServiceIndex::new(&n);
    for v in &planned {
        if let Some(r) = runbook_with(&index, v, env_file) {
            by_var.insert(v.var.as_str(), r);
        }
    }
    for v in &planned {
        if let Some(r) = by_var.remove(v.var.as_str()) {
            lines.push(r.trim_end().to_string());
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    const FILE: &str = "services:\n  db:\n    image: postgres:16\n    volumes: [data:/var/lib/postgresql/data]\n    environment:\n      - POSTGRES_PASSWORD=openbmp\n  app:\n    image: example/app:1\n    depends_on: [db]\n    environment:\n      DATABASE_URL: postgres://u:${DB_URL_PW:?set in .env}@db/x\n      API_TOKEN: abc123def456\n";

    fn n() -> Needs {
        let p = Profile::builtin("baseline")
            .expect("exists")
            .expect("valid");
        needs(&p, &[("c.yml".into(), FILE.into())]).expect("needs")
    }

    #[test]
    fn needs_planned_then_required_with_formats() {
        let n = n();
        let got: Vec<(&str, Format)> = n.vars.iter().map(|v| (v.var.as_str(), v.format)).collect();
        assert_eq!(
            got,
            [
                ("POSTGRES_PASSWORD", Format::Base64),
                ("API_TOKEN", Format::Hex),
                ("DB_URL_PW", Format::Hex)
            ]
        );
        let rb = runbook(&n, &n.vars[0], ".env").expect("init-only on postgres with a volume");
        assert!(rb.contains("--force-recreate app"), "dependents listed");
    }

    #[test]
    fn seeded_values_are_deterministic_and_shaped() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join(".env");
        let opts = EnvOptions::default();
        let r = write_env(&n(), &p, &opts, &mut StdRng::seed_from_u64(7)).expect("write");
        assert_eq!(r.added.len(), 3);
        let first = std::fs::read_to_string(&p).expect("read");
        std::fs::remove_file(&p).expect("rm");
        write_env(&n(), &p, &opts, &mut StdRng::seed_from_u64(7)).expect("write");
        assert_eq!(std::fs::read_to_string(&p).expect("read"), first);
        let e = DotEnv::parse(&first).expect("parse");
        assert_eq!(e.get("POSTGRES_PASSWORD").map(str::len), Some(44));
        assert_eq!(e.get("API_TOKEN").map(str::len), Some(64));
        assert!(e
            .get("DB_URL_PW")
            .is_some_and(|v| v.bytes().all(|b| b.is_ascii_hexdigit())));
    }
}
