//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning and other viewers. Rules come from
//! the rule metadata, results carry regions and `fixes[].artifactChanges`, suppressed findings
//! carry `suppressions` (and no fix).

use std::io::{self, Write};

use serde_json::{json, Value};

use super::{Item, Pos, Report};
use crate::rules::{self, RuleMeta, Severity};

/// The schema URI written in `$schema`.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Environment variable that sets where `docs/rules.md` is published (each rule's `helpUri` is
/// that URL plus `#rule-id`); default: the package repository's `docs/rules.md`, when the
/// package declares one.
pub const RULES_URL_ENV: &str = "COMPOSE_HARDEN_RULES_URL";

/// The URL of `docs/rules.md`, if known.
pub fn rules_url() -> Option<String> {
    if let Some(u) = std::env::var(RULES_URL_ENV).ok().filter(|u| !u.is_empty()) {
        return Some(u);
    }
    let repo = env!("CARGO_PKG_REPOSITORY");
    (!repo.is_empty()).then(|| format!("{}/blob/main/docs/rules.md", repo.trim_end_matches('/')))
}

/// SARIF `level` of a severity.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium | Severity::RuleDefault => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity` score (0–10) of a rule's level.
pub fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium | Severity::RuleDefault => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn pascal(id: &str) -> String {
    id.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn rule(m: &RuleMeta, base: Option<&str>) -> Value {
    let text = format!(
        "{}\n\nFix ({}): {}\n\nWhat may break: {}",
        m.why.trim(),
        m.applicability.as_str(),
        m.fix.trim(),
        m.breaks.trim()
    );
    let mut markdown = format!(
        "{}\n\n**Fix ({}).** {}\n\n**What may break.** {}\n\n**Profile options.**\n\n```toml\n{}\n```\n",
        m.why.trim(),
        m.applicability.as_str(),
        m.fix.trim(),
        m.breaks.trim(),
        m.options.trim()
    );
    if !m.before.trim().is_empty() {
        markdown.push_str(&format!(
            "\nBefore:\n\n```yaml\n{}\n```\n\nAfter:\n\n```yaml\n{}\n```\n",
            m.before.trim_matches('\n'),
            m.after.trim_matches('\n')
        ));
    }
    let mut r = json!({
        "id": m.id,
        "shortDescription": { "text": m.summary },
        "fullDescription": { "text": m.why.trim() },
        "help": { "text": text, "markdown": markdown },
        "defaultConfiguration": { "level": level(m.severity) },
        "properties": {
            "tags": ["security", "docker-compose"],
            "precision": "high",
            "problem.severity": level(m.severity),
            "security-severity": security_severity(m.severity),
            "severity": m.severity.as_str(),
        },
    });
    // SARIF wants `name` to differ from `id` (a one-word id would give the same word).
    let name = pascal(m.id);
    if !name.eq_ignore_ascii_case(m.id) {
        r["name"] = json!(name);
    }
    if let Some(b) = base {
        r["helpUri"] = json!(format!("{b}#{}", m.id));
    }
    r
}

/// A file path as a SARIF artifact location: relative paths against `%SRCROOT%` (the
/// directory `check` ran in, which code scanning maps to the repository root), absolute ones as
/// `file://` URIs.
fn artifact(path: &str) -> Value {
    let p = path.replace('\\', "/");
    let p = p.strip_prefix("./").unwrap_or(&p);
    if p.starts_with('/') {
        json!({ "uri": format!("file://{}", encode(p)) })
    } else {
        json!({ "uri": encode(p), "uriBaseId": "%SRCROOT%" })
    }
}

/// Percent-encode what a URI path may not hold.
fn encode(p: &str) -> String {
    let mut s = String::with_capacity(p.len());
    for b in p.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

fn region(start: Pos, end: Pos) -> Value {
    json!({
        "startLine": start.line,
        "startColumn": start.column,
        "endLine": end.line,
        "endColumn": end.column,
    })
}

fn result(i: &Item, index: usize) -> Value {
    let mut text = i.message.clone();
    if let Some(n) = &i.note {
        text.push('\n');
        text.push_str(n);
    }
    let mut r = json!({
        "ruleId": i.rule,
        "ruleIndex": index,
        "level": level(i.severity),
        "message": { "text": text },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": artifact(&i.file),
                "region": region(i.start, i.end),
            }
        }],
        "properties": { "severity": i.severity.as_str() },
    });
    match (&i.suppression, &i.fix) {
        (Some(s), _) => {
            r["suppressions"] = json!([{
                "kind": "inSource",
                "justification": s.reason,
                "location": { "physicalLocation": {
                    "artifactLocation": artifact(&i.file),
                    "region": { "startLine": s.at.line, "startColumn": s.at.column },
                }},
            }]);
        }
        (None, Some(f)) => {
            let replacements: Vec<Value> = f
                .replacements
                .iter()
                .map(|x| {
                    let mut v = json!({ "deletedRegion": region(x.start, x.end) });
                    if !x.text.is_empty() {
                        v["insertedContent"] = json!({ "text": x.text });
                    }
                    v
                })
                .collect();
            r["fixes"] = json!([{
                "description": { "text": format!("{} ({})", f.title, f.applicability) },
                "artifactChanges": [{
                    "artifactLocation": artifact(&i.file),
                    "replacements": replacements,
                }],
            }]);
            r["properties"]["applicability"] = json!(f.applicability);
        }
        (None, None) => {}
    }
    r
}

/// The SARIF log of `report`.
pub fn log(report: &Report) -> Value {
    let base = rules_url();
    let all: Vec<&'static RuleMeta> = rules::all().map(|r| r.meta()).collect();
    let index = |id: &str| all.iter().position(|m| m.id == id).unwrap_or(0);
    let results: Vec<Value> = report
        .findings
        .iter()
        .chain(&report.suppressed)
        .map(|i| result(i, index(i.rule)))
        .collect();
    let mut driver = json!({
        "name": env!("CARGO_PKG_NAME"),
        "version": env!("CARGO_PKG_VERSION"),
        "semanticVersion": env!("CARGO_PKG_VERSION"),
        "rules": all.iter().map(|m| rule(m, base.as_deref())).collect::<Vec<_>>(),
    });
    let repo = env!("CARGO_PKG_REPOSITORY");
    if !repo.is_empty() {
        driver["informationUri"] = json!(repo);
    }
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": driver },
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": { "profile": report.profile },
        }],
    })
}

/// Write the SARIF log (pretty-printed, with a final newline).
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &log(report)).map_err(io::Error::other)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_uris() {
        assert_eq!(pascal("hardcoded-secret"), "HardcodedSecret");
        assert_eq!(artifact("./a b/c.yml")["uri"], "a%20b/c.yml");
        assert_eq!(artifact("/srv/x.yml")["uri"], "file:///srv/x.yml");
    }

    #[test]
    fn help_uris_point_at_the_sections_of_docs_rules_md() {
        let doc = include_str!("../../docs/rules.md");
        for r in rules::all() {
            let m = r.meta();
            let v = rule(m, Some("https://example.org/docs/rules.md"));
            assert_eq!(
                v["helpUri"],
                format!("https://example.org/docs/rules.md#{}", m.id)
            );
            assert!(doc.contains(&format!("\n## {}\n", m.id)), "{}", m.id);
            assert_eq!(v["properties"]["severity"], m.severity.as_str());
        }
    }
}
