//! Quoting a value as one literal word of a shell command: the `sh` and `ps` template filters.
//!
//! Remediation commands are pasted into an administrator's shell, and the values in them (rule
//! IDs, table and workspace names) come from the tenant. Each value is therefore put inside the
//! one kind of string its shell never interprets — single quotes — and a value that cannot be
//! written there so that it reads back exactly and visibly is refused, never passed through.

use crate::model::StepKind;
use std::fmt;

/// The shell a command step is pasted into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// POSIX sh and the shells that parse like it (bash, zsh, dash): the `cli` steps.
    Sh,
    /// PowerShell (Windows PowerShell 5.1 and PowerShell 7): the `powershell` steps.
    PowerShell,
}

impl Shell {
    /// The shell of a remediation step kind; `None` for steps that are not commands.
    pub fn of_step(kind: StepKind) -> Option<Shell> {
        match kind {
            StepKind::Cli => Some(Shell::Sh),
            StepKind::Powershell => Some(Shell::PowerShell),
            _ => None,
        }
    }

    /// The template filter that quotes for this shell.
    pub fn filter(self) -> &'static str {
        match self {
            Shell::Sh => "sh",
            Shell::PowerShell => "ps",
        }
    }

    /// The step kind whose commands this shell runs.
    pub fn step(self) -> &'static str {
        match self {
            Shell::Sh => "cli",
            Shell::PowerShell => "powershell",
        }
    }

    /// Quote `value` as one literal word, or say why it cannot be.
    pub fn quote(self, value: &str) -> Result<String, Refused> {
        if let Some(c) = value.chars().find(|&c| unquotable(c)) {
            return Err(Refused { shell: self, c });
        }
        let mut out = String::with_capacity(value.len() + 2);
        out.push('\'');
        for c in value.chars() {
            match self {
                Shell::Sh if c == '\'' => out.push_str(r"'\''"),
                Shell::PowerShell if is_ps_single_quote(c) => {
                    out.push(c);
                    out.push(c);
                }
                _ => out.push(c),
            }
        }
        out.push('\'');
        Ok(out)
    }
}

/// The characters PowerShell's tokenizer takes as a single quote (`'` and the "smart" quotes
/// U+2018–U+201B): any of them ends a single-quoted string, and any of them doubled is one
/// literal quote inside it.
pub fn is_ps_single_quote(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}')
}

/// The characters PowerShell takes as a double quote (`"` and U+201C–U+201E).
pub fn is_ps_double_quote(c: char) -> bool {
    matches!(c, '"' | '\u{201C}' | '\u{201D}' | '\u{201E}')
}

/// What no quoting makes safe to paste: control characters (Unicode `Cc`: NUL, which no shell
/// argument can hold; newline and CR, which end the command line where the quote is not seen,
/// e.g. by a terminal's paste; ESC and the rest, which drive the terminal), the Unicode line and
/// paragraph separators, and the bidirectional-text controls (U+200E/F, U+202A–E, U+2066–9),
/// which make a command read differently from what runs. Nothing else needs refusing: inside
/// single quotes every other character is literal in sh, and in PowerShell once its quotes
/// are doubled.
fn unquotable(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// A value the filter would not quote, and why (without the value itself: it is hostile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub shell: Shell,
    pub c: char,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.c {
            '\0' => "NUL",
            '\n' => "a newline",
            '\r' => "a carriage return",
            '\u{1b}' => "ESC",
            c if c.is_control() => "a control character",
            '\u{2028}' | '\u{2029}' => "a Unicode line separator",
            _ => "a bidirectional-text control",
        };
        let shell = match self.shell {
            Shell::Sh => "a POSIX shell",
            Shell::PowerShell => "PowerShell",
        };
        write!(
            f,
            "`{}` refused a value containing {what} (U+{:04X}): it cannot be quoted safely for {shell}, so the command is not shown",
            self.shell.filter(),
            u32::from(self.c)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(v: &str) -> String {
        Shell::Sh.quote(v).unwrap()
    }
    fn ps(v: &str) -> String {
        Shell::PowerShell.quote(v).unwrap()
    }

    #[test]
    fn sh_puts_everything_inside_single_quotes() {
        assert_eq!(sh("plain"), "'plain'");
        assert_eq!(sh(""), "''");
        assert_eq!(sh("it's"), r"'it'\''s'");
        assert_eq!(sh("$(touch /tmp/x)"), "'$(touch /tmp/x)'");
        assert_eq!(sh("`id`"), "'`id`'");
        assert_eq!(sh("a | b; c && d > e"), "'a | b; c && d > e'");
        assert_eq!(sh(r#""\$HOME""#), r#"'"\$HOME"'"#);
        assert_eq!(sh("''"), r"''\'''\'''");
        assert_eq!(sh("ü ‘x’"), "'ü ‘x’'");
    }

    #[test]
    fn ps_doubles_every_single_quote_kind() {
        assert_eq!(ps("plain"), "'plain'");
        assert_eq!(ps("it's"), "'it''s'");
        assert_eq!(ps("$(calc) `n \"x\" | y; z"), "'$(calc) `n \"x\" | y; z'");
        assert_eq!(
            ps("a\u{2018}b\u{2019}c\u{201A}d\u{201B}e"),
            "'a\u{2018}\u{2018}b\u{2019}\u{2019}c\u{201A}\u{201A}d\u{201B}\u{201B}e'"
        );
        // Double quotes of any kind are literal inside a single-quoted string.
        assert_eq!(ps("\u{201C}x\u{201D}"), "'\u{201C}x\u{201D}'");
    }

    #[test]
    fn unquotable_values_are_refused_for_both_shells() {
        for shell in [Shell::Sh, Shell::PowerShell] {
            for bad in [
                "a\nb",
                "a\rb",
                "a\0b",
                "\u{1b}[2J",
                "a\tb",
                "\u{7f}",
                "\u{85}",
                "a\u{2028}b",
                "\u{202E}txt.exe",
            ] {
                let e = shell.quote(bad).unwrap_err();
                assert!(!e.to_string().contains(bad), "{e}");
                assert!(e.to_string().contains("cannot be quoted safely"), "{e}");
            }
        }
        assert!(Shell::Sh
            .quote("x\u{1b}")
            .unwrap_err()
            .to_string()
            .contains("ESC (U+001B)"));
        assert!(Shell::Sh
            .quote("x\ny")
            .unwrap_err()
            .to_string()
            .contains("a newline"));
    }
}
