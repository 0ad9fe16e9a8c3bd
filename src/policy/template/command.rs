//! `lint`'s rule for command steps: every value reaches the command through its shell's quoting
//! filter, outside any quotes the template writes itself.
//!
//! The template is read as minijinja's syntax tree, and its literal text is read as the shell
//! will read it (quotes, escapes, `$(…)`, comments), so the rule holds whatever the template
//! does: `{{ … }}` must end in `| sh` (`cli`) or `| ps` (`powershell`) and stand where an
//! unquoted word may; `{% for %}`, `{% if %}`, `{% with %}`, `{% set %}` and macros are fine
//! (what they capture is only output through a `{{ … }}`); the tags that write their body
//! through something else (`{% filter %}`, `{% call %}`, `{% autoescape %}`, includes) are
//! refused.

use super::quote::{is_ps_double_quote, is_ps_single_quote, Shell};
use minijinja::machinery::ast::{Expr, Stmt};
use minijinja::machinery::parse;
use minijinja::syntax::SyntaxConfig;

/// One place in a command template that breaks the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Byte offset in the template.
    pub offset: usize,
    pub message: String,
}

/// Problems with the command template `text` for `shell`; none if it does not parse (the
/// compile check reports that).
pub fn check(text: &str, shell: Shell) -> Vec<Problem> {
    let Ok(tree) = parse(text, "<step>", SyntaxConfig::default()) else {
        return Vec::new();
    };
    let mut c = Checker {
        lex: Lexer::new(shell),
        problems: Vec::new(),
    };
    c.stmt(&tree);
    c.problems
}

struct Checker {
    lex: Lexer,
    problems: Vec<Problem>,
}

impl Checker {
    fn problem(&mut self, offset: usize, message: String) {
        self.problems.push(Problem { offset, message });
    }

    fn stmt(&mut self, s: &Stmt) {
        let at = |span: minijinja::machinery::Span| span.start_offset as usize;
        match s {
            Stmt::Template(t) => t.children.iter().for_each(|c| self.stmt(c)),
            Stmt::EmitRaw(r) => {
                let problems = self.lex.text(r.raw, at(r.span()));
                self.problems.extend(problems);
            }
            Stmt::EmitExpr(e) => self.emit(&e.expr, at(e.span())),
            Stmt::ForLoop(f) => {
                self.block(&f.body, at(f.span()));
                self.block(&f.else_body, at(f.span()));
            }
            Stmt::IfCond(i) => {
                self.block(&i.true_body, at(i.span()));
                self.block(&i.false_body, at(i.span()));
            }
            Stmt::WithBlock(w) => self.block(&w.body, at(w.span())),
            // Captured, not written: it reaches the command only through a `{{ … }}`, which
            // quotes it.
            Stmt::Set(_) | Stmt::SetBlock(_) | Stmt::Macro(_) | Stmt::Do(_) => {}
            Stmt::FilterBlock(b) => self.refuse_tag(at(b.span()), "filter"),
            Stmt::CallBlock(b) => self.refuse_tag(at(b.span()), "call"),
            Stmt::AutoEscape(b) => self.refuse_tag(at(b.span()), "autoescape"),
            Stmt::Include(b) => self.refuse_tag(at(b.span()), "include"),
            Stmt::Extends(b) => self.refuse_tag(at(b.span()), "extends"),
            Stmt::Import(b) => self.refuse_tag(at(b.span()), "import"),
            Stmt::FromImport(b) => self.refuse_tag(at(b.span()), "from"),
            Stmt::Block(b) => self.refuse_tag(at(b.span()), "block"),
            // `{% break %}`/`{% continue %}`, where a crate enables them: they write nothing.
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }

    fn refuse_tag(&mut self, offset: usize, tag: &str) {
        self.problem(
            offset,
            format!(
                "`{{% {tag} %}}` is not allowed in a {} step: what it writes would bypass `| {}`",
                self.lex.shell.step(),
                self.lex.shell.filter()
            ),
        );
    }

    /// A `{% for %}`/`{% if %}` body: the output may repeat it or leave it out, so the shell
    /// must read the same way whichever happens — settled at its edges, quotes balanced in it.
    fn block(&mut self, body: &[Stmt], tag: usize) {
        if let Some(p) = self.lex.settle(tag) {
            self.problems.push(p);
        }
        let before = self.lex.stack.clone();
        body.iter().for_each(|s| self.stmt(s));
        if let Some(p) = self.lex.settle(tag) {
            self.problems.push(p);
        }
        if self.lex.stack != before {
            self.problem(
                tag,
                "a quote opened inside this `{% … %}` block is not closed in it (or one opened before it is closed in it): how the command reads would depend on the data".into(),
            );
            self.lex.stack = before;
        }
    }

    fn emit(&mut self, expr: &Expr, offset: usize) {
        let shell = self.lex.shell;
        match expr {
            // Written by the policy author, not data: read as literal text.
            Expr::Const(c) if c.value.as_str().is_some() || c.value.is_number() => {
                let text = c.value.to_string();
                let problems = self.lex.text(&text, offset);
                self.problems.extend(problems);
            }
            Expr::Filter(f) if f.name == shell.filter() && f.expr.is_some() => {
                if let Some(p) = self.lex.value(offset) {
                    self.problems.push(p);
                }
            }
            Expr::Filter(f) if f.name == "sh" || f.name == "ps" => self.problem(
                offset,
                format!(
                    "`| {}` quotes for the other shell; a {} step needs `| {}`",
                    f.name,
                    shell.step(),
                    shell.filter()
                ),
            ),
            _ => self.problem(
                offset,
                format!(
                    "`{{{{ … }}}}` in a {} step must end in `| {}` so the value is quoted for the shell",
                    shell.step(),
                    shell.filter()
                ),
            ),
        }
    }
}

/// Where the shell is in the command's literal text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// Unquoted: at the top or inside `$(…)`/`(…)`.
    Code,
    Single,
    /// bash's `$'…'`, where a backslash escapes a quote.
    AnsiC,
    Double,
    Backtick,
    Comment,
    BlockComment,
}

/// A small reader of sh or PowerShell syntax: just enough to know whether a position is
/// unquoted and not escaped.
struct Lexer {
    shell: Shell,
    stack: Vec<Ctx>,
    /// The previous character escapes the next (`\` in sh, `` ` `` in PowerShell).
    escape: bool,
    /// The previous character is `$` (sh: `$'…'`, `$(…)`; PowerShell: `$(…)`).
    dollar: bool,
    /// PowerShell: the previous thing was a single-quoted string, which a quote right after
    /// would join (`'a''b'` is one string).
    glued: bool,
    word_start: bool,
}

impl Lexer {
    fn new(shell: Shell) -> Lexer {
        Lexer {
            shell,
            stack: vec![Ctx::Code],
            escape: false,
            dollar: false,
            glued: false,
            word_start: true,
        }
    }

    fn top(&self) -> Ctx {
        *self.stack.last().unwrap_or(&Ctx::Code)
    }

    fn pop(&mut self) {
        if self.stack.len() > 1 {
            self.stack.pop();
        }
    }

    /// Read literal text starting at byte `base` of the template.
    fn text(&mut self, text: &str, base: usize) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let next = chars.peek().map(|&(_, n)| n);
            let rest = &text[i..];
            let (was_escape, was_dollar, was_glued) = (self.escape, self.dollar, self.glued);
            self.escape = false;
            self.dollar = false;
            self.glued = false;
            let skip = match self.shell {
                Shell::Sh => self.sh(c, rest, was_escape, was_dollar),
                Shell::PowerShell => self.ps(c, next, rest, was_escape, was_dollar, was_glued),
            };
            match skip {
                Ok(n) => (0..n).for_each(|_| {
                    chars.next();
                }),
                Err(message) => problems.push(Problem {
                    offset: base + i,
                    message,
                }),
            }
            if self.top() == Ctx::Code {
                self.word_start = c.is_whitespace() || ";|&()".contains(c);
            }
        }
        problems
    }

    /// One character of sh; `Ok(n)` skips the next `n` characters.
    fn sh(&mut self, c: char, rest: &str, escape: bool, dollar: bool) -> Result<usize, String> {
        match (self.top(), c) {
            (Ctx::Code | Ctx::Double | Ctx::Backtick | Ctx::AnsiC, _) if escape => {}
            (Ctx::Code | Ctx::Double | Ctx::Backtick | Ctx::AnsiC, '\\') => self.escape = true,
            (Ctx::Code, '\'') if dollar => self.stack.push(Ctx::AnsiC),
            (Ctx::Code, '\'') => self.stack.push(Ctx::Single),
            (Ctx::Single | Ctx::AnsiC, '\'') | (Ctx::Double, '"') | (Ctx::Backtick, '`') => {
                self.pop()
            }
            (Ctx::Code, '"') => self.stack.push(Ctx::Double),
            (Ctx::Code | Ctx::Double, '`') => self.stack.push(Ctx::Backtick),
            (Ctx::Code, '(') => self.stack.push(Ctx::Code),
            (Ctx::Double, '(') if dollar => self.stack.push(Ctx::Code),
            (Ctx::Code, ')') => self.pop(),
            (Ctx::Code, '#') if self.word_start => self.stack.push(Ctx::Comment),
            (Ctx::Comment, '\n') => self.pop(),
            (Ctx::Code, '<') if rest.starts_with("<<") && !rest.starts_with("<<<") => {
                return Err("here-documents are not allowed in a cli step: quotes inside one are literal, so `| sh` would not protect a value there".into());
            }
            (Ctx::Code | Ctx::Double, '$') => self.dollar = true,
            _ => {}
        }
        Ok(0)
    }

    /// One character of PowerShell; `Ok(n)` skips the next `n` characters.
    fn ps(
        &mut self,
        c: char,
        next: Option<char>,
        rest: &str,
        escape: bool,
        dollar: bool,
        glued: bool,
    ) -> Result<usize, String> {
        let top = self.top();
        match top {
            Ctx::Code | Ctx::Double if escape => {}
            Ctx::Code | Ctx::Double if c == '`' => self.escape = true,
            Ctx::Code if is_ps_single_quote(c) => {
                self.stack.push(Ctx::Single);
                if glued {
                    return Err("a quote right after a `| ps` value joins the two into one string in PowerShell; put a space or `+` between them".into());
                }
            }
            Ctx::Code if is_ps_double_quote(c) => self.stack.push(Ctx::Double),
            Ctx::Single if is_ps_single_quote(c) => {
                if next.is_some_and(is_ps_single_quote) {
                    return Ok(1);
                }
                self.pop();
                self.glued = true;
            }
            Ctx::Double if is_ps_double_quote(c) => {
                if next.is_some_and(is_ps_double_quote) {
                    return Ok(1);
                }
                self.pop();
            }
            Ctx::Code | Ctx::Double if c == '(' && dollar => self.stack.push(Ctx::Code),
            Ctx::Code if c == '(' => self.stack.push(Ctx::Code),
            Ctx::Code if c == ')' => self.pop(),
            Ctx::Code if c == '<' && next == Some('#') => {
                self.stack.push(Ctx::BlockComment);
                return Ok(1);
            }
            Ctx::Code if c == '#' && self.word_start => self.stack.push(Ctx::Comment),
            Ctx::Comment if c == '\n' => self.pop(),
            Ctx::BlockComment if c == '#' && next == Some('>') => {
                self.pop();
                return Ok(1);
            }
            Ctx::Code if self.word_start && rest.starts_with("--%") => {
                return Err("`--%` (stop-parsing) is not allowed in a powershell step: after it PowerShell passes the line on unparsed, so `| ps` would not protect a value".into());
            }
            Ctx::Code | Ctx::Double if c == '$' => self.dollar = true,
            _ => {}
        }
        Ok(0)
    }

    /// A quoted value at byte `offset`: only where an unquoted word may stand.
    fn value(&mut self, offset: usize) -> Option<Problem> {
        let filter = self.shell.filter();
        let why = match self.top() {
            _ if self.escape => Some("right after an escape character, which would un-quote its opening quote".to_string()),
            _ if self.dollar && self.shell == Shell::Sh => Some("right after `$`: bash would read `$'…'`, where backslashes are escapes".to_string()),
            _ if self.glued => Some("right after a single-quoted string: PowerShell would join the two; put a space or `+` between them".to_string()),
            Ctx::Code => None,
            Ctx::Comment | Ctx::BlockComment => Some("inside a comment".to_string()),
            _ => Some(format!("inside a string the template quotes itself: the quotes `| {filter}` adds would be literal there (and in a double-quoted string `$(…)` still runs). Put the value outside, e.g. `--url 'https://host/path/'{{{{ v.id | {filter} }}}}`, or quote the whole word: `{{{{ ('https://host/path/' ~ v.id) | {filter} }}}}`")),
        };
        self.escape = false;
        self.dollar = false;
        self.word_start = false;
        self.glued = self.shell == Shell::PowerShell;
        why.map(|why| Problem {
            offset,
            message: format!("`| {filter}` value {why}"),
        })
    }

    /// At a `{% … %}` tag: an escape or `$` pending here would apply to whatever the data
    /// makes come next.
    fn settle(&mut self, offset: usize) -> Option<Problem> {
        let pending = self.escape || (self.dollar && self.shell == Shell::Sh);
        self.escape = false;
        self.dollar = false;
        pending.then(|| Problem {
            offset,
            message: "a `{% … %}` tag right after an escape character or `$`: what it applies to would depend on the data".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(t: &str) -> Vec<String> {
        check(t, Shell::Sh).into_iter().map(|p| p.message).collect()
    }
    fn ps(t: &str) -> Vec<String> {
        check(t, Shell::PowerShell)
            .into_iter()
            .map(|p| p.message)
            .collect()
    }

    #[test]
    fn quoted_values_outside_quotes_pass() {
        for ok in [
            "az x --name {{ v.id | sh }}",
            "az rest --url 'https://management.azure.com'{{ v.id | sh }}'?api-version=1'",
            "az rest --url {{ ('https://h' ~ v.id ~ '?a=1') | sh }}",
            "{% for v in vs %}az x --id={{ v.id | sh }}\n{% else %}az list \"all\"{% endif %}",
            "az x --workspace \"$(az show --ids {{ id | sh }} --query 'a b' -o tsv)\"",
            "az x --body '{\"t\":'{{ t | tojson | sh }}'}' # it's fine",
            "{% set u = 'https://h' ~ v.id %}az x --url {{ u | sh }}",
            "{% macro q(x) %}\"{{ x }}\"{% endmacro %}az {{ q(v) | sh }}",
            "no values at all: {{ 'literal' }}",
            "az x \\\n  --name {{ v | sh }}",
        ] {
            assert_eq!(sh(ok), Vec::<String>::new(), "{ok}");
        }
        for ok in [
            "Remove-Thing -Id {{ v.id | ps }} -Force",
            "Invoke-RestMethod -Uri ('https://h' + {{ v.id | ps }}) # it's",
            "Get-X -Name \"$(Get-Y -Id {{ v | ps }})\"",
            "Set-X -A 'it''s' -B {{ v | ps }}",
        ] {
            assert_eq!(ps(ok), Vec::<String>::new(), "{ok}");
        }
    }

    #[test]
    fn unquoted_or_misplaced_values_are_refused() {
        let one = |t: &str, want: &str, got: Vec<String>| {
            assert!(got.iter().any(|m| m.contains(want)), "{t}: {got:?}");
        };
        for (t, want) in [
            ("az x --name {{ v.id }}", "must end in `| sh`"),
            ("az x --name {{ v.id | sh | upper }}", "must end in `| sh`"),
            ("az x --name {{ v.id | sh ~ '/x' }}", "must end in `| sh`"),
            ("az x --name {{ v.id | ps }}", "needs `| sh`"),
            ("az x --url \"https://h{{ v.id | sh }}\"", "inside a string"),
            ("az x --body '{\"a\":\"{{ v | sh }}\"}'", "inside a string"),
            ("az x `echo {{ v | sh }}`", "inside a string"),
            ("az x \\{{ v | sh }}", "escape character"),
            ("echo ${{ v | sh }}", "`$`"),
            (
                "az x {% filter upper %}{{ v | sh }}{% endfilter %}",
                "`{% filter %}`",
            ),
            ("cat <<EOF\n{{ v | sh }}\nEOF", "here-documents"),
            (
                "az x '{% if a %}'{% endif %} {{ v | sh }}",
                "not closed in it",
            ),
            (
                "az x \\{% if a %}x{% endif %}{{ v | sh }}",
                "right after an escape",
            ),
            (
                "{% for v in vs %}{{ v.id }}{% endfor %}",
                "must end in `| sh`",
            ),
        ] {
            one(t, want, sh(t));
        }
        for (t, want) in [
            ("Remove-X -Id {{ v }}", "must end in `| ps`"),
            ("Remove-X -Id {{ v | sh }}", "needs `| ps`"),
            ("Remove-X -Id \"{{ v | ps }}\"", "inside a string"),
            (
                "Remove-X -Id \u{2018}{{ v | ps }}\u{2019}",
                "inside a string",
            ),
            ("Remove-X -Id `{{ v | ps }}", "escape character"),
            ("Remove-X -Id 'a'{{ v | ps }}", "join"),
            ("Remove-X -Id {{ v | ps }}'a'", "joins"),
            ("icacls --% {{ v | ps }}", "stop-parsing"),
        ] {
            one(t, want, ps(t));
        }
    }

    #[test]
    fn offsets_point_at_the_expression() {
        let t = "az x \\\n  --name {{ v.id }}";
        let p = check(t, Shell::Sh);
        assert_eq!(p.len(), 1);
        assert!(t[p[0].offset..].starts_with("v.id }}"));
    }
}
