//! The fleet as one self-contained HTML page: targets per verdict, each target's verdict,
//! score and cause, the controls most widely failing first, and the colour-coded target ×
//! control matrix. Same safety as the single report: minijinja auto-escapes every value, and
//! the Content-Security-Policy allows only this page's own style (by hash), no script and no
//! network.

use crate::fleet::FleetReport;
use crate::report::html::csp_hash;
use serde::Serialize;

const TEMPLATE: &str = include_str!("fleet.html");
/// The single report's style, then the fleet's own rules.
const CSS: &str = concat!(
    include_str!("../html/report.css"),
    include_str!("fleet.css")
);

#[derive(Serialize)]
struct Context<'a> {
    csp: String,
    css: &'static str,
    r: &'a FleetReport,
    generated_at: String,
}

pub fn render(report: &FleetReport) -> String {
    let ctx = Context {
        csp: format!(
            "default-src 'none'; style-src {}; img-src data:; base-uri 'none'; form-action 'none'",
            csp_hash(CSS)
        ),
        css: CSS,
        r: report,
        generated_at: report.generated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
    };
    let mut env = minijinja::Environment::new();
    env.add_template("fleet.html", TEMPLATE)
        .expect("bundled template compiles");
    env.get_template("fleet.html")
        .and_then(|t| t.render(minijinja::value::Serde(&ctx)))
        .expect("bundled template renders")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_and_escaping() {
        let html = render(&super::super::sample::fleet());
        assert!(
            html.contains("<span id=\"verdict\" class=\"verdict violations\">violations</span>")
        );
        assert!(
            html.contains("cannot connect to &lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>"));
        assert!(
            html.contains("License &lt;b&gt;&amp;&lt;&#x2f;b&gt;"),
            "{html}"
        );
        assert!(html.contains("class=\"cell c-fail\""));
        assert!(html.contains(">—</td>"));
        // A target without a report has no score: n/a, not a bare `%`.
        assert!(html.contains("<td>n/a</td>"), "{html}");
        assert!(html.contains("<td>50%</td>"));
        // The policy allows no script at all, and this page's style by its hash.
        assert!(
            html.contains("default-src &#x27;none&#x27;; style-src &#x27;sha256-"),
            "{html}"
        );
        assert!(!html.contains("script-src"));
    }
}
