//! `--format text`: `file:line:col: severity rule message (fix)`, the note on an indented second
//! line, wrapped to the terminal width; a summary per severity on stderr.

use std::io::{self, Write};

use super::term::{self, Style};
use super::{FailOn, Item, Report};

const INDENT: &str = "    ";

/// The findings, one block each, on `out`.
pub fn write(report: &Report, style: Style, out: &mut dyn Write) -> io::Result<()> {
    for f in &report.findings {
        write_item(f, style, out)?;
    }
    Ok(())
}

fn write_item(f: &Item, style: Style, out: &mut dyn Write) -> io::Result<()> {
    let fix = match &f.fix {
        Some(x) if x.applied => format!("(fix: {})", x.applicability),
        Some(x) => format!("(fix: {}, held back)", x.applicability),
        None => "(no automatic fix)".to_string(),
    };
    let loc = format!("{}:{}:{}:", f.file, f.start.line, f.start.column);
    let sev = f.severity.as_str();
    let tail = format!("{} {fix}", f.message);
    let prefix = format!("{loc} {sev} {} ", f.rule).chars().count();
    let lines = match style.width {
        Some(w) => term::wrap2(&tail, w.saturating_sub(prefix), w - w.min(INDENT.len())),
        None => vec![tail],
    };
    for (i, line) in lines.iter().enumerate() {
        if i == 0 {
            writeln!(
                out,
                "{} {} {} {line}",
                style.paint(term::bold(), &loc),
                style.paint(term::severity_style(f.severity), sev),
                style.paint(term::dim(), f.rule),
            )?;
        } else {
            writeln!(out, "{INDENT}{line}")?;
        }
    }
    if let Some(note) = &f.note {
        let width = style.width.map(|w| w.saturating_sub(INDENT.len()));
        for line in term::wrap(note, width) {
            writeln!(out, "{INDENT}{line}")?;
        }
    }
    Ok(())
}

/// The summary on `err`: a line per severity that has findings, then suppressed findings and
/// what fails under `--fail-on`.
pub fn summary(
    report: &Report,
    fail_on: FailOn,
    style: Style,
    err: &mut dyn Write,
) -> io::Result<()> {
    let total = report.findings.len();
    if total == 0 && report.suppressed.is_empty() {
        return writeln!(err, "no findings");
    }
    writeln!(err, "{total} finding(s):")?;
    for (level, n) in report.counts() {
        if n == 0 {
            continue;
        }
        let mut rules: Vec<(&str, usize)> = Vec::new();
        for f in report.findings.iter().filter(|f| f.severity == level) {
            match rules.iter_mut().find(|(r, _)| *r == f.rule) {
                Some((_, c)) => *c += 1,
                None => rules.push((f.rule, 1)),
            }
        }
        let list: Vec<String> = rules.iter().map(|(r, c)| format!("{r} ×{c}")).collect();
        let label = format!("{:<8}", level.as_str());
        let line = format!("{n:>4}  {}", list.join(", "));
        writeln!(
            err,
            "  {}{}",
            style.paint(term::severity_style(level), &label),
            line
        )?;
    }
    if !report.suppressed.is_empty() {
        writeln!(
            err,
            "  {} suppressed by `# compose-harden: ignore[…]` comments (not fixed)",
            report.suppressed.len()
        )?;
    }
    let failing = report.failing(fail_on);
    match fail_on.threshold() {
        Some(t) => writeln!(
            err,
            "{failing} at {} or above (--fail-on {}){}",
            t.as_str(),
            fail_on.as_str(),
            if failing > 0 { ": exit 1" } else { "" }
        ),
        None => writeln!(err, "--fail-on none: findings do not fail the run"),
    }
}
