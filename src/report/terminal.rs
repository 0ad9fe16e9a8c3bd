//! Text bound for a terminal, made inert: the one function every terminal sink uses (the table
//! report and its remediation, `explain`, `controls`, `diff`'s table, the `-v`/`-vv` log).
//!
//! Display names, rule names and error codes come from the tenant or a server; written raw,
//! ESC starts an ANSI or OSC 8 sequence (clear the screen, forge a hyperlink, retitle the
//! window), CR overwrites what was printed, and a bidirectional-text control makes a line read
//! differently from what it says. Each such character is shown as its Rust escape (`\u{1b}`)
//! instead, so it is visible and does nothing.

use crate::outcome::Report;
use serde_json::Value;
use std::borrow::Cow;
use std::fmt::Write;

/// What a sink keeps as it is besides printable text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Newlines and tabs (multi-line text: a report, a command of several lines).
    Lines,
    /// Nothing: one log line, where a newline from data would forge another line.
    OneLine,
}

/// Whether `c` must be made visible: control characters (C0 but newline/tab as `keep` says,
/// DEL, C1), the Unicode line and paragraph separators and the bidirectional-text controls.
fn inert(c: char, keep: Keep) -> bool {
    match c {
        '\n' | '\t' => keep == Keep::OneLine,
        c if c.is_control() => true,
        '\u{2028}' | '\u{2029}' | '\u{200E}' | '\u{200F}' => true,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

/// `text` with every character a terminal would act on written as `\u{…}`.
pub fn visible(text: &str, keep: Keep) -> Cow<'_, str> {
    if !text.chars().any(|c| inert(c, keep)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if inert(c, keep) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` with every character a terminal would act on replaced by as many `?` as it has
/// bytes: for source excerpts in diagnostics, whose byte offsets must stay those of the file.
pub fn masked(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| inert(c, Keep::Lines)) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if inert(c, Keep::Lines) {
                    "?".repeat(c.len_utf8())
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// JSON text (as serde_json writes it, C0 controls already escaped) with DEL, the C1
/// controls, the line separators and the bidirectional controls escaped as `\uXXXX` too:
/// the same strings when parsed, and no raw control character when the file is shown.
/// They can only occur inside strings (JSON's own syntax is ASCII), where any character may
/// be written so; all are in the Basic Multilingual Plane, so one escape each.
pub fn json_escaped(text: String) -> String {
    if !text.chars().any(|c| inert(c, Keep::Lines)) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if inert(c, Keep::Lines) && c != '\n' && c != '\t' {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// serde_json's pretty layout, with every string fragment escaped as [`json_escaped`] does,
/// so a report streamed to a file holds no raw control character either.
pub struct VisibleJson<'a>(pub serde_json::ser::PrettyFormatter<'a>);

impl serde_json::ser::Formatter for VisibleJson<'_> {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut rest = fragment;
        while let Some((at, c)) = rest.char_indices().find(|&(_, c)| inert(c, Keep::Lines)) {
            w.write_all(&rest.as_bytes()[..at])?;
            write!(w, "\\u{:04x}", u32::from(c))?;
            rest = &rest[at + c.len_utf8()..];
        }
        w.write_all(rest.as_bytes())
    }
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// A copy of `report` whose every string is [`visible`], for renderers that add escapes of
/// their own (the table's colours) and so cannot clean their output afterwards.
pub fn visible_report(report: &Report) -> Option<Report> {
    let mut v = serde_json::to_value(report).ok()?;
    visible_value(&mut v);
    serde_json::from_value(v).ok()
}

fn visible_value(v: &mut Value) {
    match v {
        Value::String(s) => {
            if let Cow::Owned(clean) = visible(s, Keep::Lines) {
                *s = clean;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(visible_value),
        Value::Object(o) => o.values_mut().for_each(visible_value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_keeps_byte_offsets() {
        let t = "a\u{1b}[2J\u{9b}\u{202e}b\n";
        let m = masked(t);
        assert_eq!(m, "a?[2J?????b\n");
        assert_eq!(m.len(), t.len());
    }

    #[test]
    fn json_keeps_its_strings_and_loses_raw_controls() {
        let v = serde_json::json!({"s": "a\u{9b}b\u{7f}\u{202e}\u{1b}\n"});
        let text = json_escaped(serde_json::to_string_pretty(&v).unwrap());
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text}");
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), v);
        // Streamed through the formatter: the same bytes as escaping the whole text.
        let mut streamed = Vec::new();
        let f = VisibleJson(serde_json::ser::PrettyFormatter::new());
        serde::Serialize::serialize(
            &v,
            &mut serde_json::Serializer::with_formatter(&mut streamed, f),
        )
        .unwrap();
        assert_eq!(String::from_utf8(streamed).unwrap(), text);
    }

    #[test]
    fn escapes_become_visible_text() {
        assert_eq!(
            visible("a\u{1b}[2Jb\rc\u{7}", Keep::Lines),
            r"a\u{1b}[2Jb\u{d}c\u{7}"
        );
        assert_eq!(
            visible("\u{1b}]8;;https://evil\u{1b}\\x\u{9b}", Keep::Lines),
            r"\u{1b}]8;;https://evil\u{1b}\x\u{9b}"
        );
        assert_eq!(visible("l1\n\tl2", Keep::Lines), "l1\n\tl2");
        assert_eq!(visible("l1\nl2", Keep::OneLine), r"l1\u{a}l2");
        assert_eq!(visible("\u{202E}gpj.exe", Keep::Lines), r"\u{202e}gpj.exe");
        assert!(matches!(visible("plain ü", Keep::Lines), Cow::Borrowed(_)));
    }
}
