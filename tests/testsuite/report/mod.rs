//! Report formats: goldens, escaping, validity against their schemas, the browser view.

mod escaping;
mod examples;
mod golden;
pub(crate) mod html_browser;
mod junit;
mod sarif;
