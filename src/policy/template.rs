//! Messages and remediation text are minijinja templates over the target, params and
//! violations, so a remediation step can name the exact resource to fix.
//!
//! The values come from the tenant, so templates run bounded ([`FUEL`], [`MAX_OUTPUT`]) and
//! command steps quote every value for their shell (the `sh` and `ps` filters, enforced by
//! [`check_command`]).

mod command;
mod quote;

pub use command::Problem;
pub use quote::{Refused, Shell};

use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior, Value};
use std::sync::OnceLock;

/// The work one template render may do, in minijinja fuel: about one unit per instruction
/// executed or per 64 bytes of data created, so this bounds both time and memory (≈ 32 MB)
/// the same way on every machine. A shipped remediation listing 10,000 violations uses about
/// a third of it; nested `range` loops run out and the text shows a template error naming it.
pub const FUEL: u64 = 500_000;

/// The most text one template may render (1 MiB); more is a template error naming the limit.
pub const MAX_OUTPUT: usize = 1 << 20;

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // A typo in a template must show, not render as empty.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.set_fuel(Some(FUEL));
        env.add_filter("sh", |v: Value| quote_filter(Shell::Sh, &v));
        env.add_filter("ps", |v: Value| quote_filter(Shell::PowerShell, &v));
        env.add_filter("kql", |v: &str| {
            quote::kql_entity(v).map_err(|e| Error::new(ErrorKind::InvalidOperation, e))
        });
        env
    })
}

/// `{{ value | sh }}` / `{{ value | ps }}`: `value` as one single-quoted word for the shell.
///
/// Strings, numbers and booleans are quoted as their text: `sh` wraps it in `'…'` with each
/// `'` written `'\''`; `ps` wraps it in `'…'` with each single quote doubled, counting
/// U+2018–U+201B as single quotes as PowerShell does. Refused, as a template error saying
/// why (never the value itself): a value containing a control character (NUL, newline, CR,
/// tab, ESC, DEL, C1), U+2028/U+2029 or a bidirectional-text control, and anything that is
/// not a string, number or boolean (undefined, none, lists, maps).
fn quote_filter(shell: Shell, v: &Value) -> Result<String, Error> {
    let text = match v.kind() {
        minijinja::value::ValueKind::String => v.as_str().unwrap_or_default().to_string(),
        minijinja::value::ValueKind::Number => v.to_string(),
        minijinja::value::ValueKind::Bool => v.is_true().to_string(),
        other => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "`{}` quotes strings and numbers, not {other}",
                    shell.filter()
                ),
            ))
        }
    };
    shell
        .quote(&text)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))
}

/// Compile-check a template (for `lint`).
pub fn check(text: &str) -> Result<(), String> {
    environment()
        .template_from_str(text)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Check a command step's template for `shell` (for `lint`): every `{{ … }}` ends in the
/// shell's quoting filter and stands where an unquoted word may (see `command.rs`).
pub fn check_command(text: &str, shell: Shell) -> Vec<Problem> {
    command::check(text, shell)
}

/// Render a template; a rendering failure yields the reason, never a panic.
pub fn render(text: &str, ctx: &serde_json::Value) -> Result<String, String> {
    if !text.contains("{{") && !text.contains("{%") {
        return Ok(text.to_string());
    }
    let template = environment()
        .template_from_str(text)
        .map_err(|e| e.to_string())?;
    render_bounded(&template, Value::from(minijinja::value::Serde(ctx)))
}

/// Render a parsed template within [`MAX_OUTPUT`] and [`FUEL`], naming the limit it hit.
fn render_bounded(template: &minijinja::Template<'_, '_>, ctx: Value) -> Result<String, String> {
    let mut out = Capped::default();
    match template.render_captured_to(ctx, &mut out) {
        Ok(_) => Ok(String::from_utf8_lossy(&out.buf).trim_end().to_string()),
        Err(_) if out.full => Err(format!(
            "the template writes more than {} KiB, the limit on one rendered text",
            MAX_OUTPUT >> 10
        )),
        Err(e) if e.kind() == ErrorKind::OutOfFuel => Err(format!(
            "the template does more work than the limit of {FUEL} fuel (about one unit per instruction or 64 bytes of data) allows; loop over less"
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// Collects rendered output up to [`MAX_OUTPUT`] bytes, then fails the render.
#[derive(Default)]
struct Capped {
    buf: Vec<u8>,
    full: bool,
}

impl std::io::Write for Capped {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + data.len() > MAX_OUTPUT {
            self.full = true;
            return Err(std::io::Error::other("output limit"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Marker that a template failed to render; `xdrguard test` fails any case whose finding has it.
pub const TEMPLATE_ERROR: &str = "[template error:";

/// Render, or show the raw text with the error beside it: a policy bug must be visible, and a
/// refused value never reaches the text.
pub fn render_or_flag(text: &str, ctx: &serde_json::Value) -> String {
    render(text, ctx).unwrap_or_else(|e| format!("{text} {TEMPLATE_ERROR} {e}]"))
}

/// A template compiled once and rendered for many findings; renders exactly as
/// [`render_or_flag`] does (same output, same error text), but without re-parsing the text
/// or re-converting the context for every call.
pub struct Compiled<'s> {
    text: &'s str,
    /// `None` for plain text (nothing to render).
    template: Option<Result<minijinja::Template<'s, 's>, String>>,
}

impl<'s> Compiled<'s> {
    pub fn new(text: &'s str) -> Compiled<'s> {
        let template = (text.contains("{{") || text.contains("{%")).then(|| {
            environment()
                .template_from_str(text)
                .map_err(|e| e.to_string())
        });
        Compiled { text, template }
    }

    /// Render with a context converted once per finding (`minijinja::Value::from(Serde(..))`).
    pub fn render_or_flag(&self, ctx: &minijinja::Value) -> String {
        let rendered = match &self.template {
            None => return self.text.to_string(),
            Some(Ok(t)) => render_bounded(t, ctx.clone()),
            Some(Err(e)) => Err(e.clone()),
        };
        match rendered {
            Ok(s) => s,
            Err(e) => format!("{} {TEMPLATE_ERROR} {e}]", self.text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_and_reports_typos() {
        let ctx = json!({"count": 2, "names": "a, b"});
        assert_eq!(
            render("{{ count }} rule(s): {{ names }}", &ctx).unwrap(),
            "2 rule(s): a, b"
        );
        assert!(render("{{ cuont }}", &ctx).is_err());
        assert!(check("{% for x in %}").is_err());
    }

    #[test]
    fn compiled_renders_as_render_or_flag() {
        let json = serde_json::json!({"count": 2, "names": "a, b"});
        let ctx = minijinja::Value::from(minijinja::value::Serde(&json));
        for text in [
            "{{ count }} rule(s): {{ names }}  ",
            "plain",
            "{{ cuont }}",
            "{% if %}",
        ] {
            assert_eq!(
                Compiled::new(text).render_or_flag(&ctx),
                render_or_flag(text, &json),
                "{text}"
            );
        }
    }

    #[test]
    fn filters_quote_values_for_their_shell() {
        let ctx = json!({"id": "/x/$(touch /tmp/x)'\"|;`", "n": 30, "t": true});
        assert_eq!(
            render(
                "az --name {{ id | sh }} --days {{ n | sh }} {{ t | sh }}",
                &ctx
            )
            .unwrap(),
            r#"az --name '/x/$(touch /tmp/x)'\''"|;`' --days '30' 'true'"#
        );
        let ps_ctx = json!({"id": "/x/$(touch /tmp/x)';`"});
        assert_eq!(
            render("Remove-X -Id {{ id | ps }}", &ps_ctx).unwrap(),
            r#"Remove-X -Id '/x/$(touch /tmp/x)'';`'"#
        );
        assert!(
            render("az rest --url {{ id | ps }}", &ctx).is_err(),
            "`|` and `\"` would be parsed again by cmd.exe for az.cmd"
        );
        assert_eq!(
            render("{{ ('https://h' ~ id) | sh }}", &json!({"id": "/a b"})).unwrap(),
            "'https://h/a b'"
        );
    }

    #[test]
    fn refused_values_flag_the_step_without_the_value() {
        for bad in ["rule\nrm -rf ~", "\u{1b}]8;;https://evil\u{7}x", "a\0b"] {
            let ctx = json!({ "id": bad });
            for t in ["az --name {{ id | sh }}", "Remove-X {{ id | ps }}"] {
                let shown = render_or_flag(t, &ctx);
                assert!(shown.starts_with(t), "{shown}");
                assert!(shown.contains(TEMPLATE_ERROR), "{shown}");
                assert!(shown.contains("cannot be quoted safely"), "{shown}");
                assert!(!shown.contains(bad), "{shown}");
            }
        }
        for t in ["{{ l | sh }}", "{{ m | ps }}", "{{ none | sh }}"] {
            let e = render(t, &json!({"l": [1], "m": {}})).unwrap_err();
            assert!(e.contains("quotes strings and numbers"), "{t}: {e}");
        }
    }

    #[test]
    fn runaway_templates_end_with_an_error_naming_the_limit() {
        let started = std::time::Instant::now();
        let e = render(
            "{% for a in range(100000) %}{% for b in range(100000) %}{{ a }}{% endfor %}{% endfor %}",
            &json!({}),
        )
        .unwrap_err();
        assert!(e.contains(&format!("{FUEL} fuel")), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        let e = render("{{ 'x' * 2000000 }}", &json!({})).unwrap_err();
        assert!(e.contains("fuel") || e.contains("KiB"), "{e}");
        let e = render(
            "{% for a in range(3000) %}{{ 'y' * 1000 }}{% endfor %}",
            &json!({}),
        )
        .unwrap_err();
        assert!(e.contains("1024 KiB"), "{e}");
    }
}
