//! Inline suppressions, `# compose-harden: ignore[rule-id,...] reason`: one engine step after the
//! rules run. A suppressed finding is taken out before fixes apply (so it is never fixed) and is
//! reported as suppressed, with its reason; a suppression without a reason, or naming an unknown
//! rule, suppresses nothing and is itself an `invalid-suppression` finding.

use std::ops::Range;

use crate::compose::Compose;
use crate::rules::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::yaml::{text, Applicability, Yaml};

/// What introduces a directive inside a comment.
pub const MARKER: &str = "compose-harden:";

/// Id of the finding a malformed suppression gets.
pub const ID: &str = "invalid-suppression";

/// A finding taken out by a suppression comment.
#[derive(Debug, Clone)]
pub struct Suppressed {
    /// The finding (its fix was never applied).
    pub finding: Finding,
    /// The reason written in the comment.
    pub reason: String,
    /// Byte offset of the comment's `#`.
    pub at: usize,
}

/// One `# compose-harden: …` comment.
#[derive(Debug, Clone)]
pub struct Directive {
    /// Byte offset of the `#`.
    pub at: usize,
    /// Rule ids in the brackets.
    pub rules: Vec<String>,
    /// The reason after the brackets (trimmed; empty when missing).
    pub reason: String,
    /// Bytes whose findings it covers: the target line, or the whole service when the target
    /// line holds a service's key.
    pub scope: Range<usize>,
    /// The service whose mapping holds the target line (key start to end of its mapping):
    /// findings about the whole service (reported at its key) are covered from any of its lines.
    pub service: Option<Range<usize>>,
    /// Why the directive does not apply (no reason, unknown rule, bad syntax); `None` when valid.
    pub problem: Option<String>,
}

/// Every `# compose-harden:` comment of the file, with its scope: a comment after code covers
/// that line; a comment on a line of its own covers the next line that is not blank or a comment;
/// on a service's key line it covers the whole service. Findings about a whole service (reported
/// at its key, e.g. `privileged`) are also covered from any line of that service.
pub fn directives(y: &Yaml, compose: &Compose) -> Vec<Directive> {
    let t = &y.text;
    let mut scalars: Option<Vec<Range<usize>>> = None;
    let mut out = Vec::new();
    for (m, _) in t.match_indices(MARKER) {
        let ls = text::line_start(t, m);
        let before = &t[ls..m];
        let Some(hash) = before.rfind('#') else {
            continue;
        };
        let hash = ls + hash;
        // `#` starts a comment at the start of a line or after whitespace, outside scalars.
        let starts_comment = hash == ls || matches!(t.as_bytes()[hash - 1], b' ' | b'\t');
        if !starts_comment || !t[hash + 1..m].chars().all(|c| c == ' ' || c == '\t') {
            continue;
        }
        let spans = scalars.get_or_insert_with(|| scalar_spans(y));
        if spans.iter().any(|s| s.start <= hash && hash < s.end) {
            continue;
        }
        let le = text::line_end(t, m);
        let body = t[m + MARKER.len()..le].trim_end_matches('\r');
        let own_line = t[ls..hash].trim().is_empty();
        let target = if own_line { next_code_line(t, le) } else { ls };
        let scope =
            service_scope(y, compose, target).unwrap_or_else(|| target..text::line_end(t, target));
        let service = enclosing_service(y, compose, target);
        let (rules, reason, problem) = parse(body);
        out.push(Directive {
            at: hash,
            rules,
            reason,
            scope,
            service,
            problem,
        });
    }
    out
}

/// Split `ignore[a, b] reason` into ids, reason and what is wrong with it.
fn parse(body: &str) -> (Vec<String>, String, Option<String>) {
    let body = body.trim();
    let Some(rest) = body.strip_prefix("ignore[") else {
        return (
            Vec::new(),
            String::new(),
            Some(format!(
                "`# {MARKER} {body}` is not a suppression: write `# {MARKER} ignore[RULE-ID] reason`"
            )),
        );
    };
    let Some(close) = rest.find(']') else {
        return (
            Vec::new(),
            String::new(),
            Some("suppression without a closing `]`".into()),
        );
    };
    let rules: Vec<String> = rest[..close]
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let reason = rest[close + 1..]
        .trim()
        .trim_start_matches([':', '-', '—'])
        .trim()
        .to_string();
    let problem = if rules.is_empty() {
        Some("suppression names no rule: write `ignore[RULE-ID] reason`".into())
    } else if let Some(bad) = rules.iter().find(|r| crate::rules::by_id(r).is_none()) {
        Some(format!(
            "suppression names unknown rule `{bad}` (see `compose-harden rules`); it suppresses nothing"
        ))
    } else if reason.is_empty() {
        Some(format!(
            "suppression of {} has no reason, so it suppresses nothing: say why after the `]`",
            rules
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    } else {
        None
    };
    (rules, reason, problem)
}

/// Byte spans of every scalar (where a `#` is text, not a comment).
fn scalar_spans(y: &Yaml) -> Vec<Range<usize>> {
    (0..y.len())
        .filter(|&id| y.style(id).is_some())
        .map(|id| y.span(id))
        .collect()
}

/// Start of the first line at or after `from` that holds more than blanks or a comment.
fn next_code_line(t: &str, from: usize) -> usize {
    let mut ls = text::next_line_start(t, from);
    while ls < t.len() {
        let le = text::line_end(t, ls);
        let line = t[ls..le].trim();
        if !line.is_empty() && !line.starts_with('#') {
            break;
        }
        ls = text::next_line_start(t, le);
    }
    ls.min(t.len())
}

/// The whole service whose key sits on the line starting at `line`.
fn service_scope(y: &Yaml, compose: &Compose, line: usize) -> Option<Range<usize>> {
    let le = text::line_end(&y.text, line);
    compose.services.iter().find_map(|s| {
        let k = y.node(s.key).span.start;
        let end = if s.is_alias {
            le
        } else {
            y.node(s.node).span.end.max(le)
        };
        (line <= k && k < le.max(line + 1)).then_some(k..end)
    })
}

/// The span (key to end of mapping) of the service whose definition holds byte `at`.
fn enclosing_service(y: &Yaml, compose: &Compose, at: usize) -> Option<Range<usize>> {
    compose
        .services
        .iter()
        .filter(|s| !s.is_alias)
        .find_map(|s| {
            let r = y.node(s.key).span.start..y.node(s.node).span.end;
            r.contains(&at).then_some(r)
        })
}

/// The engine step after the rules ran: give findings their rule's severity, then take out
/// the suppressed ones (returned) and add an `invalid-suppression` finding per malformed
/// comment. Fixes of other places of a suppressed credential are held back (see below).
pub fn apply(y: &Yaml, compose: &Compose, findings: &mut Vec<Finding>) -> Vec<Suppressed> {
    crate::rules::resolve_severities(findings);
    let ds = directives(y, compose);
    if ds.is_empty() {
        return Vec::new();
    }
    let mut suppressed = Vec::new();
    let mut kept = Vec::with_capacity(findings.len());
    for f in findings.drain(..) {
        let hit = ds.iter().find(|d| {
            d.problem.is_none()
                && d.rules.iter().any(|r| r == f.rule)
                && (d.scope.contains(&f.at) || d.service.as_ref().is_some_and(|s| s.start == f.at))
        });
        match hit {
            Some(d) => suppressed.push(Suppressed {
                finding: f,
                reason: d.reason.clone(),
                at: d.at,
            }),
            None => kept.push(f),
        }
    }
    for d in ds.iter().filter(|d| d.problem.is_some()) {
        kept.push(Finding {
            rule: ID,
            at: d.at,
            message: d.problem.clone().unwrap_or_default(),
            severity: META.severity,
            fix: None,
            note: None,
            // The engine puts the project file the directives were read from.
            file: 0,
        });
    }
    hold_back_split_credentials(y, &suppressed, &mut kept);
    kept.sort_by_key(|f| f.at);
    *findings = kept;
    suppressed
}

/// A credential replaced in some places but not in a suppressed one would no longer match
/// (`${VAR}` gets a fresh value, the suppressed literal stays): the other places of the same
/// variable keep their finding but lose their fix.
fn hold_back_split_credentials(y: &Yaml, suppressed: &[Suppressed], kept: &mut [Finding]) {
    let mut vars: Vec<(String, usize)> = Vec::new();
    for s in suppressed {
        for v in fix_vars(&s.finding) {
            vars.push((v, s.at));
        }
    }
    if vars.is_empty() {
        return;
    }
    for f in kept.iter_mut() {
        let Some((var, at)) = fix_vars(f)
            .into_iter()
            .find_map(|v| vars.iter().find(|(w, _)| *w == v).cloned())
        else {
            continue;
        };
        let line = y.line_col(at).0;
        f.fix = None;
        f.note = Some(format!(
            "not fixed: `{var}` is also used where line {line} suppresses this rule; replace \
every place of a credential or none (suppress them all, or remove the suppression)"
        ));
    }
}

/// Variables a fix writes as `${NAME…}`.
fn fix_vars(f: &Finding) -> Vec<String> {
    let Some(fix) = &f.fix else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in &fix.edits {
        let mut rest = e.replacement.as_str();
        while let Some(i) = rest.find("${") {
            rest = &rest[i + 2..];
            let n = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if n > 0 && !out.iter().any(|v: &String| v == &rest[..n]) {
                out.push(rest[..n].to_string());
            }
        }
    }
    out
}

/// The `invalid-suppression` check (run by the engine step, whatever the profile selects).
pub struct InvalidSuppression;

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "suppression comment without a reason, naming an unknown rule, or malformed",
    why: "`# compose-harden: ignore[RULE-ID] reason` accepts a finding on purpose, and the reason \
is what a reviewer reads later. A suppression without one would silence a finding nobody can \
judge, so it suppresses nothing and is reported itself; so is one naming a rule that does not \
exist (a typo would otherwise hide nothing and look like it did).",
    fix: "No automatic fix. Write the reason after the brackets, fix the rule id, or remove the \
comment. A suppression goes at the end of the finding's line, on a line of its own just above \
it, or on the service's key line (then it covers the whole service); a finding about a whole \
service (reported at its key, like `privileged`) is also covered by a suppression on any line of \
that service, e.g. on `privileged: true` itself. A suppressed finding is never fixed; `check --format json|sarif` lists it as suppressed with its reason.",
    breaks: "Nothing: it only reports.",
    applicability: Applicability::Review,
    severity: Severity::Low,
    options: "# Always on: it checks the file's own suppression comments.",
    before: "services:\n  db:\n    image: postgres:16\n    privileged: true  # compose-harden: ignore[privileged]",
    after: "services:\n  db:\n    image: postgres:16\n    privileged: true  # compose-harden: ignore[privileged] lab host, replaced by cap_add in #412",
};

impl Rule for InvalidSuppression {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    /// Nothing: the engine step ([`apply`]) reports malformed suppressions itself, after every
    /// rule ran, so they are reported whatever the profile or `--select` chose.
    fn check(&self, _ctx: &Ctx<'_>, _out: &mut Vec<Finding>) {}
}
