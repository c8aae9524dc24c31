//! Reports: the only code that prints findings. `check --format text|json|sarif|github` renders
//! the same [`Item`]s; `--fail-on` decides the exit code from their severities.

use std::io::{self, Write};

use crate::engine::FileResult;
use crate::rules::{Finding, Severity};
use crate::yaml::{Edit, Yaml};

pub mod github;
pub mod json;
pub mod sarif;
pub mod term;
pub mod text;

/// Output format of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `file:line:col: severity rule message`, the note indented below, a summary on stderr.
    Text,
    /// One JSON document (schema: docs/json-schema.json).
    Json,
    /// SARIF 2.1.0 (GitHub code scanning and other SARIF viewers).
    Sarif,
    /// GitHub Actions workflow commands (`::error file=…,line=…::…` annotations).
    Github,
}

/// The lowest severity that makes `check` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Only critical findings fail.
    Critical,
    /// High or critical.
    High,
    /// Medium or above.
    Medium,
    /// Anything but info (the default).
    Low,
    /// Never: report only (exit 0 unless an error occurred).
    None,
}

impl FailOn {
    /// The lowest failing level, `None` when nothing fails.
    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Critical => Some(Severity::Critical),
            FailOn::High => Some(Severity::High),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::Low => Some(Severity::Low),
            FailOn::None => None,
        }
    }

    /// As written on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            FailOn::Critical => "critical",
            FailOn::High => "high",
            FailOn::Medium => "medium",
            FailOn::Low => "low",
            FailOn::None => "none",
        }
    }

    /// Whether a finding of `s` fails the run (info never does).
    pub fn fails(self, s: Severity) -> bool {
        s != Severity::Info && self.threshold().is_some_and(|t| s.rank() >= t.rank())
    }
}

/// A 1-based line and character column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// One edit of a fix, as a replacement of a region.
#[derive(Debug, Clone)]
pub struct Replacement {
    /// First replaced character.
    pub start: Pos,
    /// Just past the last replaced character (equal to `start` for an insertion).
    pub end: Pos,
    /// The new text (never a secret: credentials become `${VAR:?…}` references).
    pub text: String,
}

/// A finding's proposed fix.
#[derive(Debug, Clone)]
pub struct FixItem {
    /// Imperative title.
    pub title: String,
    /// `safe` or `review`.
    pub applicability: &'static str,
    /// Whether `diff` applies it (false when held back by an overlapping fix).
    pub applied: bool,
    /// The edits, in file order.
    pub replacements: Vec<Replacement>,
}

/// Why a finding is suppressed.
#[derive(Debug, Clone)]
pub struct SuppressionItem {
    /// The reason written in the comment.
    pub reason: String,
    /// Where the comment is.
    pub at: Pos,
}

/// A finding, positioned, ready to print in any format.
#[derive(Debug, Clone)]
pub struct Item {
    /// The file, as given.
    pub file: String,
    /// Rule id.
    pub rule: &'static str,
    /// Resolved severity.
    pub severity: Severity,
    /// Where the finding starts.
    pub start: Pos,
    /// Where the reported token ends.
    pub end: Pos,
    /// One-line message.
    pub message: String,
    /// The note (why there is no fix, what to check), if any.
    pub note: Option<String>,
    /// The proposed fix, if any.
    pub fix: Option<FixItem>,
    /// Set when an inline comment suppresses it.
    pub suppression: Option<SuppressionItem>,
}

/// Everything `check` found, in file order.
#[derive(Debug, Default)]
pub struct Report {
    /// Active findings.
    pub findings: Vec<Item>,
    /// Findings suppressed by inline comments (never fixed).
    pub suppressed: Vec<Item>,
    /// The profile the files were checked with.
    pub profile: String,
}

impl Report {
    /// Build the report of `results` checked with `profile`.
    pub fn new(results: &[FileResult], profile: &str) -> Report {
        let mut r = Report {
            profile: profile.to_string(),
            ..Report::default()
        };
        for fr in results {
            let ends = Ends::new(&fr.yaml);
            // Applied fixes' edits moved into the result; a fix not applied keeps its own.
            let mut applied_edits: Vec<Vec<&Edit>> = vec![Vec::new(); fr.findings.len()];
            for (e, i) in fr.edits.iter().zip(&fr.edit_owners) {
                if let Some(i) = *i {
                    applied_edits[i].push(e);
                }
            }
            let mut applied = vec![false; fr.findings.len()];
            for &i in &fr.applied {
                applied[i] = true;
            }
            for (i, f) in fr.findings.iter().enumerate() {
                let edits: Vec<&Edit> = if applied[i] {
                    std::mem::take(&mut applied_edits[i])
                } else {
                    f.fix.iter().flat_map(|x| &x.edits).collect()
                };
                r.findings
                    .push(item(fr, &ends, f, applied[i], &edits, None));
            }
            for s in &fr.suppressed {
                let (line, column) = fr.yaml.line_col(s.at);
                let sup = SuppressionItem {
                    reason: s.reason.clone(),
                    at: Pos { line, column },
                };
                let edits: Vec<&Edit> = s.finding.fix.iter().flat_map(|x| &x.edits).collect();
                r.suppressed
                    .push(item(fr, &ends, &s.finding, false, &edits, Some(sup)));
            }
        }
        r
    }

    /// Active findings per level, most serious first.
    pub fn counts(&self) -> [(Severity, usize); 5] {
        Severity::LEVELS.map(|l| (l, self.findings.iter().filter(|f| f.severity == l).count()))
    }

    /// How many findings fail the run under `fail_on`.
    pub fn failing(&self, fail_on: FailOn) -> usize {
        self.findings
            .iter()
            .filter(|f| fail_on.fails(f.severity))
            .count()
    }
}

/// Write `report` to `out` in `format` (text also writes its summary to `err`).
pub fn write(
    report: &Report,
    format: Format,
    fail_on: FailOn,
    style: term::Style,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Text => {
            text::write(report, style, out)?;
            text::summary(report, fail_on, style, err)
        }
        Format::Json => json::write(report, fail_on, out),
        Format::Sarif => sarif::write(report, out),
        Format::Github => github::write(report, out),
    }
}

fn pos(y: &Yaml, at: usize) -> Pos {
    let (line, column) = y.line_col(at);
    Pos { line, column }
}

fn item(
    fr: &FileResult,
    ends: &Ends,
    f: &Finding,
    applied: bool,
    edits: &[&Edit],
    suppression: Option<SuppressionItem>,
) -> Item {
    let y = &fr.yaml;
    let fix = f.fix.as_ref().map(|x| FixItem {
        title: x.title.to_string(),
        applicability: x.applicability.as_str(),
        applied,
        replacements: edits
            .iter()
            .map(|e| Replacement {
                start: pos(y, e.range.start),
                end: pos(y, e.range.end),
                text: e.replacement.clone(),
            })
            .collect(),
    });
    Item {
        file: fr.path.clone(),
        rule: f.rule,
        severity: f.severity,
        start: pos(y, f.at),
        end: pos(y, ends.end(y, f.at)),
        message: f.message.clone(),
        note: f.note.clone(),
        fix,
        suppression,
    }
}

/// Where the token a finding points at ends: the smallest node starting there, else the scalar
/// holding the position, else the end of its line.
struct Ends {
    /// (start, end) of every node, sorted by start then end.
    spans: Vec<(usize, usize)>,
    /// (start, end) of every scalar, sorted (scalars never overlap).
    scalars: Vec<(usize, usize)>,
}

impl Ends {
    fn new(y: &Yaml) -> Ends {
        let mut spans: Vec<(usize, usize)> = (0..y.len())
            .map(|id| y.span(id))
            .filter(|s| !s.is_empty())
            .map(|s| (s.start, s.end))
            .collect();
        spans.sort_unstable();
        let mut scalars: Vec<(usize, usize)> = (0..y.len())
            .filter(|&id| y.style(id).is_some())
            .map(|id| y.span(id))
            .map(|s| (s.start, s.end))
            .collect();
        scalars.sort_unstable();
        Ends { spans, scalars }
    }

    fn end(&self, y: &Yaml, at: usize) -> usize {
        let i = self.spans.partition_point(|&(s, _)| s < at);
        if let Some(&(s, e)) = self.spans.get(i) {
            if s == at {
                return e;
            }
        }
        // The scalar holding `at`: the last one starting at or before it.
        let j = self.scalars.partition_point(|&(s, _)| s <= at);
        let inner = j
            .checked_sub(1)
            .map(|j| self.scalars[j])
            .filter(|&(s, e)| s <= at && at < e)
            .map(|(_, e)| e);
        inner.unwrap_or_else(|| crate::yaml::text::line_end(&y.text, at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_on_levels() {
        use Severity::*;
        let fails = |f: FailOn| -> Vec<Severity> {
            [Critical, High, Medium, Low, Info]
                .into_iter()
                .filter(|&s| f.fails(s))
                .collect()
        };
        assert_eq!(fails(FailOn::Critical), [Critical]);
        assert_eq!(fails(FailOn::High), [Critical, High]);
        assert_eq!(fails(FailOn::Medium), [Critical, High, Medium]);
        assert_eq!(fails(FailOn::Low), [Critical, High, Medium, Low]);
        assert!(fails(FailOn::None).is_empty());
    }

    /// Other code keeps writing `Severity::Warning`, also in patterns; it stands for the rule's
    /// declared level until the engine resolves it.
    #[test]
    fn warning_still_names_the_rules_level() {
        let s = Severity::Warning;
        assert!(matches!(s, Severity::Warning));
        let declared = match s {
            Severity::Warning => Severity::High,
            other => other,
        };
        assert_eq!(s.resolve(declared), Severity::High);
        assert_eq!(Severity::Info.resolve(Severity::High), Severity::Info);
        assert_eq!(Severity::parse("warning"), None);
    }
}
