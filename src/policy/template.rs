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
}
