//! Extra YAML files that hold secrets (profile `[[files]]`, the OpenBMP hardening checklist, §0.3): e.g. a Grafana
//! datasource's `secureJsonData.password`. The value becomes `$VAR` (Grafana expands environment
//! variables), edited losslessly and verified like a Compose file; the service that reads the
//! file gets `VAR: ${VAR:?…}` in its `environment:` (a `hardcoded-secret` fix of the Compose
//! file, see [`compose_findings`]).

use std::path::{Path, PathBuf};

use crate::compose::Service;
use crate::error::Error;
use crate::profile::{ExtraFile, Profile};
use crate::rules::{Ctx, Finding, Severity};
use crate::yaml::{
    apply_fixes, ops, Applicability, Change, Edit, Fix, NewNode, NodeId, NodeKind, Value, Yaml,
};

const RULE: &str = "hardcoded-secret";

/// One step of a path expression.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    All,
    Index(usize),
}

fn parse_expr(expr: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    for part in expr.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            steps.push(Step::Key(key.to_string()));
        }
        while let Some(r) = rest.strip_prefix('[') {
            let (inner, after) = r
                .split_once(']')
                .ok_or_else(|| format!("`{expr}`: unclosed `[`"))?;
            steps.push(if inner == "*" {
                Step::All
            } else {
                Step::Index(
                    inner.parse().map_err(|_| {
                        format!("`{expr}`: `[{inner}]` is neither `*` nor an index")
                    })?,
                )
            });
            rest = after;
        }
        if !rest.is_empty() || (key.is_empty() && part.is_empty()) {
            return Err(format!("`{expr}`: cannot read `{part}`"));
        }
    }
    Ok(steps)
}

fn select(y: &Yaml, node: NodeId, steps: &[Step], out: &mut Vec<NodeId>) {
    let node = y.resolve(node);
    let Some((first, rest)) = steps.split_first() else {
        out.push(node);
        return;
    };
    match first {
        Step::Key(k) => {
            if let Some(v) = y.get(node, k) {
                select(y, v, rest, out);
            }
        }
        Step::All => {
            for &i in y.items(node).unwrap_or(&[]) {
                select(y, i, rest, out);
            }
        }
        Step::Index(n) => {
            if let Some(&i) = y.items(node).and_then(|it| it.get(*n)) {
                select(y, i, rest, out);
            }
        }
    }
}

/// An extra file and its verified new text.
#[derive(Debug, Clone)]
pub struct Provisioned {
    /// Where it is.
    pub path: PathBuf,
    /// The path as shown in diffs.
    pub display: String,
    /// Current text.
    pub old: String,
    /// Verified new text.
    pub new: String,
    /// The edits (for the diff).
    pub edits: Vec<Edit>,
    /// Variables the file reads after the change.
    pub vars: Vec<String>,
}

impl Provisioned {
    /// The unified diff of the change.
    pub fn diff(&self) -> String {
        crate::diff::from_edits(&self.display, &self.old, &self.edits)
    }
}

fn base_dir(first_compose: &str) -> PathBuf {
    match Path::new(first_compose).parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::new(),
    }
}

/// Rewrite the secrets of `f` in `text` to `$VAR`.
pub fn process_text(f: &ExtraFile, display: &str, text: String) -> Result<Provisioned, Error> {
    let y = Yaml::parse(text).map_err(|e| Error::Input {
        path: display.to_string(),
        line: e.line,
        col: e.col,
        message: e.message,
    })?;
    let mut fixes = Vec::new();
    let mut vars = Vec::new();
    for (expr, var) in &f.secrets {
        let steps = parse_expr(expr)
            .map_err(|m| Error::Usage(format!("profile [[files]] {}: {m}", f.path)))?;
        let mut nodes = Vec::new();
        for d in &y.docs {
            select(&y, d.root, &steps, &mut nodes);
        }
        let want = format!("${var}");
        for n in nodes {
            let Some(value) = y.scalar_value(n) else {
                continue;
            };
            if !vars.contains(var) && (value.contains(&format!("${var}")) || !value.contains('$')) {
                vars.push(var.clone());
            }
            if value.contains('$') {
                continue; // already a reference
            }
            let (line, col) = y.line_col(y.node(n).span.start);
            let edit =
                ops::replace_scalar(&y, n, &want, ops::Quote::Keep).map_err(|m| Error::Input {
                    path: display.to_string(),
                    line,
                    col,
                    message: format!("cannot rewrite `{expr}`: {m}"),
                })?;
            fixes.push(Fix::new(
                RULE,
                format!("read {expr} from ${var}"),
                Applicability::Review,
                vec![edit],
                vec![Change::Set(y.path_of(n), Value::str(want.clone()))],
                y.node(n).span.start,
            ));
        }
    }
    let applied = apply_fixes(&y, &fixes);
    if let Some(r) = applied.rejected.first() {
        let (line, col) = y.line_col(r.at);
        return Err(Error::Verify {
            path: display.to_string(),
            line,
            col,
            rule: RULE.to_string(),
            message: r.reason.clone(),
        });
    }
    Ok(Provisioned {
        path: PathBuf::from(display),
        display: display.to_string(),
        old: y.text.clone(),
        new: applied.output,
        edits: applied.edits,
        vars,
    })
}

/// The profile's extra files, relative to the first Compose file; missing files are skipped
/// with a note.
pub fn process(
    profile: &Profile,
    first_compose: &str,
    max_size: u64,
) -> Result<(Vec<Provisioned>, Vec<String>), Error> {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    for f in &profile.files {
        let p = base_dir(first_compose).join(&f.path);
        let display = p.to_string_lossy().into_owned();
        if !p.exists() {
            notes.push(format!(
                "note: {display}: named in the profile's [[files]] but not found; skipped"
            ));
            continue;
        }
        let text = crate::engine::read(&p, &display, max_size)?;
        out.push(process_text(f, &display, text)?);
    }
    Ok((out, notes))
}

fn normalize(p: &str) -> String {
    let p = p.trim_end_matches('/');
    p.strip_prefix("./").unwrap_or(p).to_string()
}

/// The service that reads `f`: the profile's `service`, else the first whose bind mount's host
/// path contains the file.
fn consumer<'c>(ctx: &'c Ctx<'_>, f: &ExtraFile) -> Option<&'c Service> {
    if let Some(s) = &f.service {
        return ctx.compose.services.iter().find(|x| &x.name == s);
    }
    let file = normalize(&f.path);
    ctx.compose.services.iter().find(|s| {
        let Some(v) = s.get(ctx.y, "volumes") else {
            return false;
        };
        ctx.y.items(v.resolved).unwrap_or(&[]).iter().any(|&i| {
            ctx.y
                .scalar(ctx.y.resolve(i))
                .and_then(|m| m.split(':').next())
                .map(normalize)
                .is_some_and(|host| file == host || file.starts_with(&format!("{host}/")))
        })
    })
}

fn env_has(ctx: &Ctx<'_>, env: NodeId, var: &str) -> bool {
    let y = ctx.y;
    match &y.node(env).kind {
        NodeKind::Seq { items } => items.iter().any(|&i| {
            y.scalar(y.resolve(i))
                .is_some_and(|s| s == var || s.split_once('=').is_some_and(|(k, _)| k == var))
        }),
        NodeKind::Map { .. } => y.get(env, var).is_some(),
        _ => false,
    }
}

/// Findings (with fixes) that give each consuming service the variables its extra files read.
/// Runs only when the profile has `[[files]]` and `hardcoded-secret` runs.
pub fn compose_findings(ctx: &Ctx<'_>, display: &str, out: &mut Vec<Finding>) {
    if ctx.profile.files.is_empty() {
        return;
    }
    let opts = ctx
        .profile
        .rules
        .hardcoded_secret
        .clone()
        .unwrap_or_default();
    let msg = crate::rules::hardcoded_secret::message(&opts);
    let base = base_dir(display);
    for f in &ctx.profile.files {
        let p = base.join(&f.path);
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        let Ok(prov) = process_text(f, &p.to_string_lossy(), text) else {
            continue;
        };
        let Some(svc) = consumer(ctx, f) else {
            continue;
        };
        for var in &prov.vars {
            let value = format!("${{{var}:?{msg}}}");
            let env = svc.get(ctx.y, "environment");
            if env.is_some_and(|e| env_has(ctx, e.resolved, var)) {
                continue;
            }
            let at = svc.at(ctx.y);
            let fix = match env {
                Some(e) if !e.is_local() => None,
                Some(e) => match &ctx.y.node(e.resolved).kind {
                    NodeKind::Seq { .. } => {
                        let item = format!("{var}={value}");
                        ops::append_item(ctx.y, e.resolved, &NewNode::Str(item.clone()))
                            .ok()
                            .map(|ed| {
                                (
                                    ed,
                                    Change::Append(ctx.y.path_of(e.resolved), Value::str(item)),
                                )
                            })
                    }
                    NodeKind::Map { .. } => {
                        ops::insert_key(ctx.y, e.resolved, var, &NewNode::Str(value.clone()))
                            .ok()
                            .map(|ed| {
                                (
                                    ed,
                                    Change::InsertKey(
                                        ctx.y.path_of(e.resolved),
                                        var.clone(),
                                        Value::str(value.clone()),
                                    ),
                                )
                            })
                    }
                    _ => None,
                },
                None if !svc.is_alias => {
                    let node = NewNode::Map(vec![(var.clone(), NewNode::Str(value.clone()))]);
                    ops::insert_key(ctx.y, svc.node, "environment", &node)
                        .ok()
                        .map(|ed| {
                            (
                                ed,
                                Change::InsertKey(
                                    svc.path.clone(),
                                    "environment".into(),
                                    node.value(),
                                ),
                            )
                        })
                }
                None => None,
            };
            out.push(Finding {
                rule: RULE,
                at,
                file: ctx.file,
                message: format!(
                    "`{}` reads ${var} in {} (profile [[files]]): it needs {var} in its environment",
                    svc.name, f.path
                ),
                severity: Severity::Warning,
                note: fix
                    .is_none()
                    .then(|| "add it by hand: the environment is shared or not a list/mapping".to_string()),
                fix: fix.map(|(edit, change)| {
                    Fix::new(
                        RULE,
                        format!("pass {var} to `{}`", svc.name),
                        Applicability::Review,
                        vec![edit],
                        vec![change],
                        at,
                    )
                }),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DS: &str = "apiVersion: 1\n\ndatasources:\n  - name: PostgreSQL\n    type: postgres\n    url: obmp-psql:5432\n    user: openbmp\n    secureJsonData:\n      password: \"openbmp\"   # rotate with psql\n    jsonData:\n      sslmode: \"require\"\n";

    fn file() -> ExtraFile {
        ExtraFile {
            path: "ds.yml".into(),
            secrets: [(
                "datasources[*].secureJsonData.password".to_string(),
                "POSTGRES_PASSWORD".to_string(),
            )]
            .into(),
            service: None,
        }
    }

    #[test]
    fn rewrites_the_password_losslessly() {
        let p = process_text(&file(), "ds.yml", DS.into()).expect("ok");
        assert_eq!(
            p.new,
            DS.replace("\"openbmp\"   #", "\"$POSTGRES_PASSWORD\"   #")
        );
        assert_eq!(p.vars, ["POSTGRES_PASSWORD"]);
        assert!(p.diff().contains("+      password: \"$POSTGRES_PASSWORD\""));
        let again = process_text(&file(), "ds.yml", p.new.clone()).expect("ok");
        assert_eq!(again.new, p.new, "idempotent");
        assert_eq!(again.vars, ["POSTGRES_PASSWORD"]);
    }

    #[test]
    fn path_expressions() {
        assert_eq!(
            parse_expr("a[*].b[2].c").expect("ok"),
            [
                Step::Key("a".into()),
                Step::All,
                Step::Key("b".into()),
                Step::Index(2),
                Step::Key("c".into())
            ]
        );
        assert!(parse_expr("a[x]").is_err());
        assert!(parse_expr("a..b").is_err());
    }
}
