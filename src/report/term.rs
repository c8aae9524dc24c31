//! The terminal: whether to colour (`--color`, `NO_COLOR`, a TTY), its width, and the styles
//! of findings and diffs.

use std::io::{self, Write};

use anstyle::{AnsiColor, Style as Ansi};

use crate::rules::Severity;

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal, unless `NO_COLOR` is set (or `TERM=dumb`).
    #[default]
    Auto,
    /// Always colour (even into a pipe or file; overrides `NO_COLOR`).
    Always,
    /// Never colour.
    Never,
}

/// What the output stream is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Terminal {
    /// Whether stdout is a terminal.
    pub stdout_tty: bool,
    /// Its width in columns, when known.
    pub width: Option<usize>,
}

impl Terminal {
    /// The process's real stdout.
    pub fn detect() -> Terminal {
        use std::io::IsTerminal;
        let stdout_tty = io::stdout().is_terminal();
        let width = if stdout_tty {
            terminal_size::terminal_size().map(|(w, _)| w.0 as usize)
        } else {
            None
        };
        Terminal {
            stdout_tty,
            width: width.or_else(columns_env),
        }
    }
}

fn columns_env() -> Option<usize> {
    std::env::var("COLUMNS").ok()?.trim().parse().ok()
}

/// How text output looks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    /// ANSI colours on.
    pub color: bool,
    /// Wrap notes and long messages to this many columns.
    pub width: Option<usize>,
}

impl Style {
    /// The style for `choice` on `term`, reading `NO_COLOR` and `TERM` from the environment.
    pub fn new(choice: ColorChoice, term: Terminal) -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        Style {
            color: resolve(choice, term.stdout_tty, no_color, dumb),
            width: term.width,
        }
    }

    /// `s` in `style` when colour is on.
    pub fn paint(&self, style: Ansi, s: &str) -> String {
        if self.color {
            format!("{}{s}{}", style.render(), style.render_reset())
        } else {
            s.to_string()
        }
    }
}

/// Whether to colour: `always`/`never` win; `auto` needs a terminal, no `NO_COLOR`, no dumb TERM.
pub fn resolve(choice: ColorChoice, tty: bool, no_color: bool, dumb: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => tty && !no_color && !dumb,
    }
}

/// The colour of a severity.
pub fn severity_style(s: Severity) -> Ansi {
    let c = |c: AnsiColor| Ansi::new().fg_color(Some(c.into()));
    match s {
        Severity::Critical => c(AnsiColor::Red).bold().invert(),
        Severity::High => c(AnsiColor::Red).bold(),
        Severity::Medium | Severity::RuleDefault => c(AnsiColor::Yellow),
        Severity::Low => c(AnsiColor::Blue),
        Severity::Info => c(AnsiColor::Green).dimmed(),
    }
}

/// Bold (file positions).
pub fn bold() -> Ansi {
    Ansi::new().bold()
}

/// Dimmed (rule ids, notes' marker).
pub fn dim() -> Ansi {
    Ansi::new().dimmed()
}

/// Write a unified diff, coloured when `style.color` (headers bold, hunks cyan, `-` red, `+`
/// green); unchanged bytes otherwise, so `diff > file` stays a patch.
pub fn write_diff(diff: &str, style: Style, out: &mut dyn Write) -> io::Result<()> {
    if !style.color {
        return out.write_all(diff.as_bytes());
    }
    let c = |c: AnsiColor| Ansi::new().fg_color(Some(c.into()));
    for line in diff.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let eol = &line[body.len()..];
        let st = if body.starts_with("+++ ") || body.starts_with("--- ") {
            bold()
        } else if body.starts_with("@@") {
            c(AnsiColor::Cyan)
        } else if body.starts_with('+') {
            c(AnsiColor::Green)
        } else if body.starts_with('-') {
            c(AnsiColor::Red)
        } else if body.starts_with('#') || body.starts_with('\\') {
            dim()
        } else {
            Ansi::new()
        };
        write!(out, "{}{eol}", style.paint(st, body))?;
    }
    Ok(())
}

/// Greedy word wrap of `text` into lines of at most `width` columns (a longer word gets a line
/// of its own); `None` keeps one line.
pub fn wrap(text: &str, width: Option<usize>) -> Vec<String> {
    match width {
        Some(w) => wrap2(text, w, w),
        None => vec![text.to_string()],
    }
}

/// Word wrap with a first line of `first` columns and further lines of `rest` columns (each at
/// least 20, so a narrow terminal still gets readable lines).
pub fn wrap2(text: &str, first: usize, rest: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    let mut cur_len = 0;
    let mut width = first.max(20);
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let n = word.chars().count();
        if cur_len > 0 && cur_len + 1 + n > width {
            lines.push(std::mem::take(&mut cur));
            cur_len = 0;
            width = rest.max(20);
        }
        if cur_len > 0 {
            cur.push(' ');
            cur_len += 1;
        }
        cur.push_str(word);
        cur_len += n;
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn color_choice() {
        assert!(resolve(ColorChoice::Auto, true, false, false));
        assert!(!resolve(ColorChoice::Auto, false, false, false));
        assert!(!resolve(ColorChoice::Auto, true, true, false), "NO_COLOR");
        assert!(!resolve(ColorChoice::Auto, true, false, true), "TERM=dumb");
        assert!(resolve(ColorChoice::Always, false, true, false));
        assert!(!resolve(ColorChoice::Never, true, false, false));
    }

    #[test]
    fn wraps_at_word_boundaries() {
        let t = "one two three four five six seven eight nine ten eleven twelve";
        let w = wrap(t, Some(20));
        assert!(w.iter().all(|l| l.chars().count() <= 20), "{w:?}");
        assert_eq!(w.join(" "), t);
        assert_eq!(wrap(t, None), vec![t.to_string()]);
        let long = "a-very-long-word-without-any-space-at-all x";
        assert_eq!(
            wrap(long, Some(20))[0],
            "a-very-long-word-without-any-space-at-all"
        );
    }

    #[test]
    fn plain_diff_is_untouched() {
        let d = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n";
        let mut out = Vec::new();
        write_diff(d, Style::default(), &mut out).unwrap();
        assert_eq!(out, d.as_bytes());
        let mut out = Vec::new();
        let st = Style {
            color: true,
            width: None,
        };
        write_diff(d, st, &mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("\u{1b}[") && s.ends_with('\n'), "{s:?}");
        assert_eq!(anstream::adapter::strip_str(&s).to_string(), d);
    }
}
