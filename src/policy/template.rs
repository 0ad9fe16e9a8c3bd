//! Messages and remediation text are minijinja templates over the target, params and
//! violations, so a remediation step can name the exact resource to fix.

use minijinja::{Environment, UndefinedBehavior};
use std::sync::OnceLock;

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // A typo in a template must show, not render as empty.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env
    })
}

/// Compile-check a template (for `lint`).
pub fn check(text: &str) -> Result<(), String> {
    environment()
        .template_from_str(text)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Render a template; a rendering failure yields the raw text plus the reason, never a panic.
pub fn render(text: &str, ctx: &serde_json::Value) -> Result<String, String> {
    if !text.contains("{{") && !text.contains("{%") {
        return Ok(text.to_string());
    }
    environment()
        .render_str(text, minijinja::value::Serde(ctx))
        .map(|s| s.trim_end().to_string())
        .map_err(|e| e.to_string())
}

/// Marker that a template failed to render; `xdrguard test` fails any case whose finding has it.
pub const TEMPLATE_ERROR: &str = "[template error:";

/// Render, or show the raw text with the error beside it: a policy bug must be visible.
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
            Some(Ok(t)) => t.render(ctx).map_err(|e| e.to_string()),
            Some(Err(e)) => Err(e.clone()),
        };
        match rendered {
            Ok(s) => s.trim_end().to_string(),
            Err(e) => format!("{} {TEMPLATE_ERROR} {e}]", self.text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_reports_typos() {
        let ctx = serde_json::json!({"count": 2, "names": "a, b"});
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
}
