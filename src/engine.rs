//! The pipeline: read and parse a project's files, merge them, run the rules over the merged
//! project, apply each file's fixes in one pass, verify each file once.

use std::path::Path;

use crate::compose::merge::{Model, Role};
use crate::compose::project::Project;
use crate::compose::Compose;
use crate::error::Error;
use crate::profile::Profile;
use crate::rules::{Ctx, Finding, Rule, REGISTRY};
use crate::yaml::{apply_fixes, Fix, Rejected, Yaml};

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
    /// For each of `edits`, the index into `findings` of the finding whose fix it belongs to
    /// (`None` for a part of a fix whose finding lives in another file).
    pub edit_owners: Vec<Option<usize>>,
    /// What the file is to the project (main, included, or read only as an `extends` base).
    pub role: Role,
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

/// Load the project whose main files are `paths` (in order), reading each file with [`read`]
/// and [`parse`].
pub fn load_project(paths: &[std::path::PathBuf], max_size: u64) -> Result<Project, Error> {
    let reader = |p: &Path, d: &str| read(p, d, max_size).and_then(|t| parse(t, d));
    Project::load(paths, &reader)
}

/// The outcome for a project.
pub struct ProjectResult {
    /// One result per file, in project order (main files first); each file's findings are
    /// those whose [`Finding::file`] is it.
    pub files: Vec<FileResult>,
    /// Indices (into `files`) of the main files.
    pub main: Vec<usize>,
    /// The merged services of the input.
    pub model: Model,
}

impl ProjectResult {
    /// The unified diff of every changed file, in project order.
    pub fn diff(&self) -> String {
        self.files.iter().map(FileResult::diff).collect()
    }

    /// Errors to report for fixes that failed verification, in every file.
    pub fn errors(&self) -> Vec<Error> {
        self.files.iter().flat_map(FileResult::errors).collect()
    }
}

/// Run `plan` on `text` (from file `display`), a project of that one file (its `include:` and
/// `extends.file` are not followed).
pub fn process(plan: &Plan, display: &str, text: String) -> Result<FileResult, Error> {
    let (yaml, compose) = parse(text, display)?;
    let mut r = process_project(plan, Project::single(display, yaml, compose));
    Ok(r.files.swap_remove(0))
}

/// The services' profiles by file: (file, span start, span end, profiles) of each definition
/// of a service that has `profiles:`.
fn profile_spans(project: &Project, model: &Model) -> Vec<(usize, usize, usize, String)> {
    let mut out = Vec::new();
    for ms in &model.services {
        if ms.profiles.is_empty() {
            continue;
        }
        let label = ms.profiles.join("`, `");
        for l in &ms.layers {
            let f = &project.files[l.file];
            let svc = &f.compose.services[l.service];
            let start = f.yaml.node(svc.key).span.start;
            let end = f.yaml.node(svc.node).span.end.max(start);
            out.push((l.file, start, end, label.clone()));
        }
    }
    out
}

/// One file's share of a fix: the parts of finding `finding`'s fix in that file, as one fix.
struct Share<'f> {
    finding: usize,
    fix: std::borrow::Cow<'f, Fix>,
}

/// `fix` and its parts, each without its own parts (apply_fixes reads only `edits`).
fn parts_of<'f>(fix: &'f Fix, out: &mut Vec<&'f Fix>) {
    out.push(fix);
    for p in &fix.parts {
        parts_of(p, out);
    }
}

/// Run `plan` on `project`: every rule over the merged project (file-by-file rules on each
/// file), then each file's fixes applied in one pass and verified once. A fix with parts in
/// several files applies in all of them or in none.
pub fn process_project(plan: &Plan, project: Project) -> ProjectResult {
    let model = project.model();
    let findings = findings(plan, &project, &model);
    process_findings(project, model, findings)
}

/// Every finding of `plan`'s rules on `project` (whose merged services are `model`): project
/// rules once, file-by-file rules on each file; in (file, offset) order, before severities and
/// suppressions.
pub fn findings(plan: &Plan, project: &Project, model: &Model) -> Vec<Finding> {
    let mut findings: Vec<Finding> = Vec::new();
    {
        // Interpolated values read with the `.env` of the project directory (the first file's).
        let env = project
            .main
            .first()
            .map(|&f| operator_env(&project.files[f].display))
            .unwrap_or_default();
        let ctx = Ctx::project(project.sources(), model, &plan.profile).with_env(env);
        for rule in &plan.rules {
            if rule.project_wide() {
                rule.check(&ctx, &mut findings);
                continue;
            }
            // Files read only as `extends` bases are judged through the services that use them.
            let judged = (0..project.files.len()).filter(|&f| project.files[f].role != Role::Base);
            for f in judged {
                let mut found = Vec::new();
                rule.check(&ctx.focus(f), &mut found);
                for x in &mut found {
                    x.file = f;
                    if let Some(fix) = &mut x.fix {
                        set_file(fix, f);
                    }
                }
                findings.extend(found);
            }
        }
        if plan.provisions() {
            for &f in &project.main {
                let mut found = Vec::new();
                crate::provision::compose_findings(
                    &ctx.focus(f),
                    &project.files[f].display,
                    &mut found,
                );
                for x in &mut found {
                    x.file = f;
                    if let Some(fix) = &mut x.fix {
                        set_file(fix, f);
                    }
                }
                findings.extend(found);
            }
        }
    }
    // Findings about a service in a profile say so.
    let spans = profile_spans(project, model);
    for x in &mut findings {
        if let Some((.., label)) = spans
            .iter()
            .find(|(f, s, e, _)| *f == x.file && (*s..=*e).contains(&x.at))
        {
            x.message.push_str(&format!(" (profile `{label}`)"));
        }
    }
    findings.sort_by_key(|f| (f.file, f.at));
    findings
}

/// Severities, suppressions, then each file's fixes applied in one pass and verified once.
fn process_findings(project: Project, model: Model, findings: Vec<Finding>) -> ProjectResult {
    // Severities from the rules' metadata; inline suppressions out, file by file (they are
    // never fixed).
    let n = project.files.len();
    let mut suppressed: Vec<Vec<crate::suppress::Suppressed>> =
        (0..n).map(|_| Vec::new()).collect();
    let mut by_file: Vec<Vec<Finding>> = (0..n).map(|_| Vec::new()).collect();
    for x in findings {
        let f = x.file.min(n - 1);
        by_file[f].push(x);
    }
    let mut findings: Vec<Finding> = Vec::new();
    for (f, mut v) in by_file.into_iter().enumerate() {
        let pf = &project.files[f];
        suppressed[f] = crate::suppress::apply(&pf.yaml, &pf.compose, &mut v);
        for x in &mut v {
            x.file = f;
        }
        findings.extend(v);
    }
    let rank = |rule: &str| REGISTRY.iter().position(|r| r.meta().id == rule);
    // Each finding's fix split by file.
    let mut shares: Vec<Vec<Share>> = (0..n).map(|_| Vec::new()).collect();
    let mut files_of: Vec<Vec<usize>> = vec![Vec::new(); findings.len()];
    for (i, x) in findings.iter().enumerate() {
        let Some(fix) = &x.fix else { continue };
        let mut parts: Vec<&Fix> = Vec::new();
        parts_of(fix, &mut parts);
        for part in parts {
            let f = part.file.min(n - 1);
            if !files_of[i].contains(&f) {
                files_of[i].push(f);
            }
            // A finding's share of a file, when it has one, is the last one pushed there.
            match shares[f].last_mut().filter(|s| s.finding == i) {
                Some(s) => {
                    // Several parts in one file: one fix of them all.
                    let merged = s.fix.to_mut();
                    merged.parts.clear();
                    merged.edits.extend(part.edits.iter().cloned());
                    merged.edits.sort_by(|a, b| {
                        (a.range.start, a.range.end, &a.replacement).cmp(&(
                            b.range.start,
                            b.range.end,
                            &b.replacement,
                        ))
                    });
                    merged.changes.extend(part.changes.iter().cloned());
                }
                None => shares[f].push(Share {
                    finding: i,
                    fix: std::borrow::Cow::Borrowed(part),
                }),
            }
        }
    }
    // Same-point insertions compose in registry order.
    for v in &mut shares {
        v.sort_by_key(|s| (rank(findings[s.finding].rule), findings[s.finding].at));
    }
    let mut withdrawn: Vec<(usize, Rejected)> = Vec::new();
    let applied_all = loop {
        let mut results = Vec::with_capacity(n);
        let mut applied_in: Vec<Vec<usize>> = vec![Vec::new(); findings.len()];
        for (f, v) in shares.iter().enumerate() {
            let live: Vec<&Share> = v
                .iter()
                .filter(|s| !withdrawn.iter().any(|(w, _)| *w == s.finding))
                .collect();
            let fixes: Vec<&Fix> = live.iter().map(|s| s.fix.as_ref()).collect();
            let r = apply_fixes(&project.files[f].yaml, &fixes);
            for &k in &r.applied {
                applied_in[live[k].finding].push(f);
            }
            results.push((live.iter().map(|s| s.finding).collect::<Vec<_>>(), r));
        }
        // A fix applied in some of its files but not all is withdrawn everywhere.
        let mut more = Vec::new();
        for (i, fs) in files_of.iter().enumerate() {
            if fs.len() < 2 || applied_in[i].is_empty() || applied_in[i].len() == fs.len() {
                continue;
            }
            let x = &findings[i];
            let mut reason =
                String::from("held back: a part of it in another file could not be applied");
            let mut is_error = false;
            for &f in fs {
                if applied_in[i].contains(&f) {
                    continue;
                }
                let share = shares[f].iter().find(|s| s.finding == i);
                if let Some(rej) = share.and_then(|s| {
                    results[f].1.rejected.iter().find(|r| {
                        r.rule == s.fix.rule && r.title == s.fix.title && r.at == s.fix.at
                    })
                }) {
                    reason = format!(
                        "held back: its part in {}: {}",
                        project.files[f].display, rej.reason
                    );
                    is_error = rej.is_error;
                }
            }
            let title = x.fix.as_ref().map(|f| f.title.clone()).unwrap_or_default();
            more.push((
                i,
                Rejected {
                    rule: x.rule,
                    title,
                    at: x.at,
                    reason,
                    is_error,
                },
            ));
        }
        if more.is_empty() {
            break (results, applied_in);
        }
        withdrawn.extend(more);
    };
    let (results, applied_in) = applied_all;
    // Per file: its findings, which of them were applied, what was held back.
    let mut extra_rejected: Vec<Vec<Rejected>> = (0..n).map(|_| Vec::new()).collect();
    for (i, r) in withdrawn {
        extra_rejected[findings[i].file.min(n - 1)].push(r);
    }
    let mut per_file: Vec<Vec<Finding>> = (0..n).map(|_| Vec::new()).collect();
    let mut applied: Vec<Vec<usize>> = vec![Vec::new(); n];
    // Each finding's file, and its index in that file's list.
    let owner_file: Vec<usize> = findings.iter().map(|x| x.file.min(n - 1)).collect();
    let mut local: Vec<usize> = Vec::with_capacity(findings.len());
    for (i, mut x) in findings.into_iter().enumerate() {
        let f = x.file.min(n - 1);
        let whole = !files_of[i].is_empty() && applied_in[i].len() == files_of[i].len();
        if whole {
            applied[f].push(per_file[f].len());
        }
        // Verified: the declared changes are no longer needed, and an applied fix's edits
        // are in its files' results (a fix not applied keeps them as the suggestion).
        if let Some(fix) = &mut x.fix {
            drop_spent(fix, whole);
        }
        local.push(per_file[f].len());
        per_file[f].push(x);
    }
    let main = project.main.clone();
    let files = project
        .files
        .into_iter()
        .zip(results)
        .zip(per_file)
        .zip(applied)
        .zip(extra_rejected)
        .zip(suppressed)
        .enumerate()
        .map(
            |(
                file_of_result,
                (((((pf, (live, r)), findings), mut applied), extra), suppressed),
            )| {
                applied.sort_unstable();
                let mut rejected = r.rejected;
                rejected.extend(extra);
                let edit_owners = r
                    .owners
                    .iter()
                    .map(|&k| {
                        let i = live[k];
                        (owner_file[i] == file_of_result).then_some(local[i])
                    })
                    .collect();
                FileResult {
                    path: pf.display,
                    output: r.output,
                    applied,
                    rejected,
                    edits: r.edits,
                    edit_owners,
                    findings,
                    suppressed,
                    yaml: pf.yaml,
                    compose: pf.compose,
                    role: pf.role,
                }
            },
        )
        .collect();
    ProjectResult { files, main, model }
}

/// Drop what a verified fix no longer needs: its declared changes, and its edits (and its
/// parts') when it was applied (they were copied into the files' results).
fn drop_spent(fix: &mut Fix, applied: bool) {
    fix.changes = Vec::new();
    if applied {
        fix.edits = Vec::new();
    }
    for p in &mut fix.parts {
        drop_spent(p, applied);
    }
}

fn set_file(fix: &mut Fix, file: usize) {
    fix.file = file;
    for p in &mut fix.parts {
        set_file(p, file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::merge::Role;
    use crate::compose::project::ProjectFile;
    use crate::rules::{RuleMeta, Severity};
    use crate::yaml::{ops, Applicability, Change, Value};

    static META: RuleMeta = RuleMeta {
        id: "test-rule",
        summary: "",
        why: "",
        fix: "",
        breaks: "",
        applicability: Applicability::Safe,
        severity: Severity::Medium,
        options: "",
        before: "",
        after: "",
    };

    /// Rewrites `image` of `web` in file 1 to `to`, and (when `two`) also in file 0: one fix.
    struct Rewrite {
        to: &'static str,
        two: bool,
        at: usize,
    }

    fn rewrite(ctx: &Ctx<'_>, file: usize, to: &str, at: usize) -> Fix {
        let y = ctx.yaml(file);
        let node = y.lookup("services.web.image").expect("image");
        let e = ops::replace_scalar(y, node, to, ops::Quote::Keep).expect("edit");
        Fix::new(
            "test-rule",
            format!("image {to}"),
            Applicability::Safe,
            vec![e],
            vec![Change::Set(y.path_of(node), Value::str(to))],
            at,
        )
        .in_file(file)
    }

    impl Rule for Rewrite {
        fn meta(&self) -> &'static RuleMeta {
            &META
        }
        fn project_wide(&self) -> bool {
            true
        }
        fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
            let mut fix = rewrite(ctx, 1, self.to, self.at);
            if self.two {
                fix = rewrite(ctx, 0, self.to, self.at).with_part(fix);
            }
            out.push(Finding {
                rule: "test-rule",
                at: self.at,
                message: self.to.into(),
                severity: Severity::Warning,
                fix: Some(fix),
                note: None,
                file: if self.two { 0 } else { 1 },
            });
        }
    }

    static ONE: Rewrite = Rewrite {
        to: "one",
        two: false,
        at: 0,
    };
    static BOTH: Rewrite = Rewrite {
        to: "both",
        two: true,
        at: 5,
    };

    fn project() -> Project {
        let file = |name: &str, text: &str| {
            let (yaml, compose) = parse(text.to_string(), name).expect("parse");
            ProjectFile {
                path: name.into(),
                display: name.into(),
                yaml,
                compose,
                role: Role::Main,
                dir: Default::default(),
                includes: vec![Vec::new()],
                extends: Vec::new(),
            }
        };
        Project {
            files: vec![
                file("a.yml", "services:\n  web:\n    image: a\n"),
                file("b.yml", "services:\n  web:\n    image: b\n"),
            ],
            main: vec![0, 1],
            problems: Vec::new(),
        }
    }

    #[test]
    fn a_fix_in_two_files_applies_in_both_or_neither() {
        let plan = |rules: Vec<&'static dyn Rule>| Plan {
            profile: Profile::load("baseline").expect("profile"),
            rules,
            max_size: DEFAULT_MAX_SIZE,
        };
        // Alone, both parts land.
        let r = process_project(&plan(vec![&BOTH]), project());
        assert_eq!(r.files[0].output, "services:\n  web:\n    image: both\n");
        assert_eq!(r.files[1].output, "services:\n  web:\n    image: both\n");
        assert_eq!(r.files[0].applied, [0]);
        // Its part in b.yml overlaps a fix that wins there: it is withdrawn from a.yml too.
        let r = process_project(&plan(vec![&ONE, &BOTH]), project());
        assert_eq!(
            r.files[0].output,
            r.files[0].input(),
            "a.yml must stay as it was"
        );
        assert_eq!(r.files[1].output, "services:\n  web:\n    image: one\n");
        assert!(r.files[0].applied.is_empty());
        let held = r.files[0]
            .rejected
            .iter()
            .find(|x| x.title == "image both")
            .expect("held back in a.yml");
        assert!(held.reason.contains("b.yml"), "{}", held.reason);
        assert!(r.errors().is_empty());
    }
}
