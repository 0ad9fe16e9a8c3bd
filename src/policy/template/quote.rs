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
        let refused = |c: char| unquotable(c) || (self == Shell::PowerShell && cmd_special(c));
        if let Some(c) = value.chars().find(|&c| refused(c)) {
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

/// A table name as a KQL entity name inside a query a command carries (`{{ t | kql }}`).
///
/// A plain identifier (letter or `_`, then letters, digits, `_`) is written as it is; any other
/// name a table can have ("letters, digits, underscores (_), spaces, dots (.), and dashes (-)",
/// learn.microsoft.com/kusto/query/schema-entities/entity-names) is bracket-quoted
/// `['…']`. Anything else could end the quote or the query, and is refused.
pub fn kql_entity(name: &str) -> Result<String, String> {
    let plain = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        return Ok(name.to_string());
    }
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, '_' | ' ' | '.' | '-');
    if name.is_empty() || !name.chars().all(allowed) {
        return Err(
            "`kql` refused a value that is not a KQL entity name (letters, digits, _, space, . and - only), so the command is not shown".into(),
        );
    }
    Ok(format!("['{name}']"))
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

/// What `cmd.exe` interprets again in the arguments of a `.cmd` script run from PowerShell:
/// on Windows `az` is `az.cmd`, and "Windows native command invoked from PowerShell will be
/// parsed by Command Prompt again" (Azure/azure-cli doc/quoting-issues-with-powershell.md), so
/// `&`, `|`, `<`, `>` and `^` act as cmd operators even inside PowerShell's single quotes, `%`
/// expands variables and `"` changes where cmd sees quoting. No PowerShell quoting survives
/// that second parse for every PowerShell version, so such values are refused.
fn cmd_special(c: char) -> bool {
    matches!(c, '&' | '|' | '<' | '>' | '^' | '%' | '"')
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
            c if cmd_special(c) => {
                return write!(
                    f,
                    "`ps` refused a value containing `{c}`: on Windows `az` is az.cmd, whose arguments cmd.exe parses again after PowerShell, so the command is not shown"
                )
            }
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
        assert_eq!(ps("$(calc) `n; z"), "'$(calc) `n; z'");
        assert_eq!(
            ps("a\u{2018}b\u{2019}c\u{201A}d\u{201B}e"),
            "'a\u{2018}\u{2018}b\u{2019}\u{2019}c\u{201A}\u{201A}d\u{201B}\u{201B}e'"
        );
        // Smart double quotes are literal inside a single-quoted string (and cmd.exe's are only ").
        assert_eq!(ps("\u{201C}x\u{201D}"), "'\u{201C}x\u{201D}'");
    }

    #[test]
    fn kql_entity_names_are_plain_bracketed_or_refused() {
        assert_eq!(kql_entity("SecurityAlert").unwrap(), "SecurityAlert");
        assert_eq!(kql_entity("My Table-1.x").unwrap(), "['My Table-1.x']");
        for bad in ["", "T | invoke x()", "T']", "a;b", "T\nx", "a\"b"] {
            assert!(kql_entity(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ps_refuses_what_cmd_exe_parses_again() {
        for bad in ["a&calc", "a|b", "<x", "x>y", "a^b", "%PATH%", "\"x\""] {
            let e = Shell::PowerShell.quote(bad).unwrap_err().to_string();
            assert!(e.contains("az.cmd"), "{e}");
        }
        // POSIX sh has no second parse: the same values are quoted.
        assert_eq!(sh("a&calc|b"), "'a&calc|b'");
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
