//! `--format json`: one document, schema `docs/json-schema.json` (versioned by
//! `schema_version`; fields are only ever added within a version).

use std::io::{self, Write};

use serde::Serialize;

use super::{FailOn, Item, Pos, Report};

/// Version of the JSON document's schema; bumped when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Doc<'a> {
    schema_version: u32,
    tool: Tool,
    profile: &'a str,
    fail_on: &'static str,
    summary: Summary,
    findings: Vec<Finding<'a>>,
    suppressed: Vec<Finding<'a>>,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Summary {
    critical: usize,
    high: usize,
    medium: usize,
    low: usize,
    info: usize,
    suppressed: usize,
    failing: usize,
}

#[derive(Serialize)]
struct At {
    line: usize,
    column: usize,
}

impl From<Pos> for At {
    fn from(p: Pos) -> At {
        At {
            line: p.line,
            column: p.column,
        }
    }
}

#[derive(Serialize)]
struct Finding<'a> {
    rule: &'a str,
    severity: &'static str,
    file: &'a str,
    line: usize,
    column: usize,
    end: At,
    message: &'a str,
    note: Option<&'a str>,
    fix: Option<Fix<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    suppression: Option<Suppression<'a>>,
}

#[derive(Serialize)]
struct Fix<'a> {
    title: &'a str,
    applicability: &'static str,
    applied: bool,
    edits: Vec<Edit<'a>>,
}

#[derive(Serialize)]
struct Edit<'a> {
    start: At,
    end: At,
    replacement: &'a str,
}

#[derive(Serialize)]
struct Suppression<'a> {
    reason: &'a str,
    line: usize,
    column: usize,
}

fn finding(i: &Item) -> Finding<'_> {
    Finding {
        rule: i.rule,
        severity: i.severity.as_str(),
        file: &i.file,
        line: i.start.line,
        column: i.start.column,
        end: i.end.into(),
        message: &i.message,
        note: i.note.as_deref(),
        fix: i.fix.as_ref().map(|f| Fix {
            title: &f.title,
            applicability: f.applicability,
            applied: f.applied,
            edits: f
                .replacements
                .iter()
                .map(|r| Edit {
                    start: r.start.into(),
                    end: r.end.into(),
                    replacement: &r.text,
                })
                .collect(),
        }),
        suppression: i.suppression.as_ref().map(|s| Suppression {
            reason: &s.reason,
            line: s.at.line,
            column: s.at.column,
        }),
    }
}

/// Write the document (pretty-printed, with a final newline).
pub fn write(report: &Report, fail_on: FailOn, out: &mut dyn Write) -> io::Result<()> {
    let [critical, high, medium, low, info] = report.counts().map(|(_, n)| n);
    let doc = Doc {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        profile: &report.profile,
        fail_on: fail_on.as_str(),
        summary: Summary {
            critical,
            high,
            medium,
            low,
            info,
            suppressed: report.suppressed.len(),
            failing: report.failing(fail_on),
        },
        findings: report.findings.iter().map(finding).collect(),
        suppressed: report.suppressed.iter().map(finding).collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)
}
