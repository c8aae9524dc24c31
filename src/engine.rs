//! The pipeline for one file: read, parse, check shape, run rules, apply fixes in one pass,
//! verify once.

use std::path::Path;

use crate::compose::Compose;
use crate::error::Error;
use crate::profile::Profile;
use crate::rules::{Ctx, Finding, Rule, REGISTRY};
use crate::yaml::{apply_fixes_taking, Rejected, Yaml};

/// Default largest input accepted.
pub const DEFAULT_MAX_SIZE: u64 = 64 * 1024 * 1024;

/// What runs: the profile and the chosen rules.
pub struct Plan {
    /// The active profile.
    pub profile: Profile,
    /// Rules to run, in registry order.
    pub rules: Vec<&'static dyn Rule>,
    /// Largest file accepted, in bytes.
    pub max_size: u64,
}

impl Plan {
    /// Rules enabled by the profile, narrowed by `select` (exactly these) and `ignore`.
    pub fn new(profile: Profile, select: &[String], ignore: &[String]) -> Result<Plan, Error> {
        for id in select.iter().chain(ignore) {
            if crate::rules::by_id(id).is_none() {
                return Err(Error::Usage(format!(
                    "unknown rule `{id}` (run `compose-harden rules` for the list)"
                )));
            }
        }
        let rules: Vec<&'static dyn Rule> = REGISTRY
            .iter()
            .copied()
            .filter(|r| {
                let id = r.meta().id;
                let on = if select.is_empty() {
                    profile.rules.enabled(id).unwrap_or(false)
                } else {
                    select.iter().any(|s| s == id)
                };
                on && !ignore.iter().any(|s| s == id)
            })
            .collect();
        // The plan's profile says exactly which rules run: a rule that defers to another one
        // (public-port to kafka-host-listener) must not defer to a rule that does not run.
        let mut profile = profile;
        for r in REGISTRY {
            let id = r.meta().id;
            profile
                .rules
                .set_enabled(id, rules.iter().any(|x| x.meta().id == id));
        }
        Ok(Plan {
            profile,
            rules,
            max_size: DEFAULT_MAX_SIZE,
        })
    }
}

impl Plan {
    /// Whether the profile's extra files (`[[files]]`) are edited: they are when
    /// `hardcoded-secret` runs.
    pub fn provisions(&self) -> bool {
        !self.profile.files.is_empty()
            && self
                .rules
                .iter()
                .any(|r| r.meta().id == crate::rules::hardcoded_secret::ID)
    }
}

/// The outcome for one file.
pub struct FileResult {
    /// The path as given.
    pub path: String,
    /// The parsed input.
    pub yaml: Yaml,
    /// Its services.
    pub compose: Compose,
    /// The verified output text (equal to the input when nothing applies).
    pub output: String,
    /// Every finding, in file order (suppressed ones excepted).
    pub findings: Vec<Finding>,
    /// Findings an inline `# compose-harden: ignore[…] reason` took out (never fixed).
    pub suppressed: Vec<crate::suppress::Suppressed>,
    /// Indices into `findings` whose fix was applied.
    pub applied: Vec<usize>,
    /// Fixes held back or dropped.
    pub rejected: Vec<Rejected>,
    /// The applied edits, in input byte offsets.
    pub edits: Vec<crate::yaml::Edit>,
    /// For each of `edits`, the index into `findings` of the finding whose fix it belongs to.
    pub edit_owners: Vec<usize>,
}

impl FileResult {
    /// The input text.
    pub fn input(&self) -> &str {
        &self.yaml.text
    }

    /// The unified diff from input to output.
    pub fn diff(&self) -> String {
        crate::diff::from_edits(&self.path, self.input(), &self.edits)
    }

    /// Errors to report for fixes that failed verification.
    pub fn errors(&self) -> Vec<Error> {
        self.rejected
            .iter()
            .filter(|r| r.is_error)
            .map(|r| {
                let (line, col) = self.yaml.line_col(r.at);
                Error::Verify {
                    path: self.path.clone(),
                    line,
                    col,
                    rule: r.rule.to_string(),
                    message: r.reason.clone(),
                }
            })
            .collect()
    }
}

/// Read `path` as UTF-8 text, refusing directories, oversized and binary files.
pub fn read(path: &Path, display: &str, max_size: u64) -> Result<String, Error> {
    let io = |message: String| Error::Io {
        path: display.to_string(),
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| io(format!("cannot read the file: {e}")))?;
    if meta.is_dir() {
        return Err(io("is a directory, not a Compose file".into()));
    }
    if meta.len() > max_size {
        return Err(io(format!(
            "the file is {} bytes, larger than the {} byte limit (raise it with --max-size)",
            meta.len(),
            max_size
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| io(format!("cannot read the file: {e}")))?;
    decode(bytes, display)
}

/// Decode bytes as UTF-8, reporting the position of the first invalid or NUL byte.
pub fn decode(bytes: Vec<u8>, display: &str) -> Result<String, Error> {
    let at = |valid: &[u8], message: &str| {
        let prefix = String::from_utf8_lossy(valid);
        let line = prefix.matches('\n').count() + 1;
        let col = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Error::Input {
            path: display.to_string(),
            line,
            col,
            message: message.to_string(),
        }
    };
    // Docker Compose (yaml.v3) decodes UTF-16 with a byte-order mark. compose-harden's
    // diffs, `apply --patch` and backups are UTF-8 text, so a UTF-16 file is refused with the
    // conversion to make rather than decoded and re-encoded behind the reviewer's back.
    if let Some(order) = match bytes.get(..2) {
        Some([0xFF, 0xFE]) => Some("FF FE, little-endian"),
        Some([0xFE, 0xFF]) => Some("FE FF, big-endian"),
        _ => None,
    } {
        return Err(Error::Input {
            path: display.to_string(),
            line: 1,
            col: 1,
            message: format!(
                "UTF-16: convert to UTF-8 (byte-order mark {order}; Docker Compose reads it, but compose-harden's diffs and patches are UTF-8): iconv -f UTF-16 -t UTF-8 {display} > {display}.utf8 && mv {display}.utf8 {display}"
            ),
        });
    }
    if let Some(nul) = bytes.iter().position(|&b| b == 0) {
        if looks_like_utf16(&bytes) {
            return Err(at(
                &bytes[..nul],
                "binary data (NUL byte): this looks like UTF-16 without a byte-order mark, which Docker Compose refuses too; convert it to UTF-8 (iconv -f UTF-16LE -t UTF-8)",
            ));
        }
        return Err(at(
            &bytes[..nul],
            "binary data (NUL byte): not a YAML text file",
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let n = e.utf8_error().valid_up_to();
        at(
            &e.as_bytes()[..n],
            "invalid UTF-8: Compose files must be UTF-8 text",
        )
    })
}

/// Whether `bytes` look like ASCII text in UTF-16 (every other byte NUL, the rest printable).
fn looks_like_utf16(bytes: &[u8]) -> bool {
    let n = bytes.len().min(256) & !1;
    n >= 4
        && [0usize, 1].iter().any(|&z| {
            bytes[..n].chunks(2).all(|c| {
                c[z] == 0
                    && (c[1 - z].is_ascii_graphic()
                        || matches!(c[1 - z], b' ' | b'\n' | b'\r' | b'\t'))
            })
        })
}

/// Parse `text` and check it has a Compose shape.
pub fn parse(text: String, display: &str) -> Result<(Yaml, Compose), Error> {
    let y = Yaml::parse(text).map_err(|e| Error::Input {
        path: display.to_string(),
        line: e.line,
        col: e.col,
        message: e.message,
    })?;
    let compose = Compose::load(&y).map_err(|e| {
        let (line, col) = y.line_col(e.at);
        Error::Input {
            path: display.to_string(),
            line,
            col,
            message: e.message,
        }
    })?;
    Ok((y, compose))
}

/// The variables of the `.env` beside Compose file `path` (Compose reads the project
/// directory's `.env`), for judging interpolated values; empty when there is none or it does
/// not parse (the `env` command reports a broken `.env`).
pub fn operator_env(path: &str) -> crate::compose::interp::Env {
    let dir = Path::new(path).parent().unwrap_or(Path::new(""));
    let Ok(text) = std::fs::read_to_string(dir.join(".env")) else {
        return crate::compose::interp::Env::empty();
    };
    match crate::secrets::dotenv::DotEnv::parse(&text) {
        Ok(d) => crate::compose::interp::Env::from_pairs(
            d.keys()
                .into_iter()
                .filter_map(|k| d.get(k).map(|v| (k.to_string(), v.to_string()))),
        ),
        Err(_) => crate::compose::interp::Env::empty(),
    }
}

/// Every finding of `plan`'s rules on one parsed file, in file order.
pub fn findings(plan: &Plan, display: &str, yaml: &Yaml, compose: &Compose) -> Vec<Finding> {
    let ctx = Ctx::new(yaml, compose, &plan.profile).with_env(operator_env(display));
    let mut findings = Vec::new();
    for rule in &plan.rules {
        rule.check(&ctx, &mut findings);
    }
    if plan.provisions() {
        crate::provision::compose_findings(&ctx, display, &mut findings);
    }
    findings.sort_by_key(|f| f.at);
    findings
}

/// Run `plan` on `text` (from file `display`).
pub fn process(plan: &Plan, display: &str, text: String) -> Result<FileResult, Error> {
    let (yaml, compose) = parse(text, display)?;
    let mut findings = findings(plan, display, &yaml, &compose);
    // Severities from the rules' metadata; inline suppressions out (they are never fixed).
    let suppressed = crate::suppress::apply(&yaml, &compose, &mut findings);
    let owners: Vec<usize> = findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.fix.is_some())
        .map(|(i, _)| i)
        .collect();
    // The fixes' edits move into the result and their declared changes are dropped once
    // verified: findings keep only what reports use.
    let mut fixes: Vec<&mut crate::yaml::Fix> =
        findings.iter_mut().filter_map(|f| f.fix.as_mut()).collect();
    let applied = apply_fixes_taking(&yaml, &mut fixes);
    Ok(FileResult {
        path: display.to_string(),
        output: applied.output,
        applied: applied.applied.iter().map(|&i| owners[i]).collect(),
        rejected: applied.rejected,
        edits: applied.edits,
        edit_owners: applied.owners.iter().map(|&i| owners[i]).collect(),
        findings,
        suppressed,
        yaml,
        compose,
    })
}
