//! `--format github`: GitHub Actions workflow commands, one annotation per finding
//! (`::error` for critical and high, `::warning` for medium and low, `::notice` for info).

use std::io::{self, Write};

use super::Report;
use crate::rules::Severity;

/// The workflow command for a severity.
pub fn command(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium | Severity::Low | Severity::RuleDefault => "warning",
        Severity::Info => "notice",
    }
}

/// Escape a command's message (`%`, CR, LF).
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a property value (also `:` and `,`).
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One annotation per active finding.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for f in &report.findings {
        let mut msg = f.message.clone();
        if let Some(n) = &f.note {
            msg.push('\n');
            msg.push_str(n);
        }
        let title = format!("{} ({})", f.rule, f.severity.as_str());
        writeln!(
            out,
            "::{} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            command(f.severity),
            property(&f.file),
            f.start.line,
            f.start.column,
            f.end.line,
            f.end.column,
            property(&title),
            data(&msg)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(data("50% a\nb"), "50%25 a%0Ab");
        assert_eq!(property("a:b,c"), "a%3Ab%2Cc");
    }
}
