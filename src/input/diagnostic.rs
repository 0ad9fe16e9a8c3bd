//! Input errors as miette diagnostics that name file, line and column.

use crate::input::codes::InputCode;
use miette::{Diagnostic, MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use thiserror::Error;

/// A source file kept around so diagnostics can show the offending line.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: String,
    pub text: Arc<str>,
}

impl SourceFile {
    pub fn new(path: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        SourceFile {
            path: path.into(),
            text: text.into(),
        }
    }

    /// Read a file of at most [`MAX_INPUT_BYTES`].
    pub fn read(path: &Path) -> Result<Self, InputError> {
        Self::read_at_most(path, MAX_INPUT_BYTES)
    }

    /// Read a file of at most `max_bytes`. The limit holds while reading: a pipe or a file
    /// that grows reports a size of its own, so the reported size is only a quick first check.
    pub fn read_at_most(path: &Path, max_bytes: u64) -> Result<Self, InputError> {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| InputError::io(path, &e))?;
        if let Ok(meta) = file.metadata() {
            if meta.is_file() && meta.len() > max_bytes {
                return Err(too_large(&name, &meta.len().to_string(), max_bytes));
            }
        }
        Self::read_from(name, file, max_bytes)
    }

    /// Read standard input (`--facts -`), at most `max_bytes`; diagnostics name it `<stdin>`.
    pub fn read_stdin(max_bytes: u64) -> Result<Self, InputError> {
        Self::read_from(STDIN.to_string(), std::io::stdin().lock(), max_bytes)
    }

    /// Read `reader` to its end as UTF-8 text named `name`, refusing more than `max_bytes`.
    fn read_from(name: String, reader: impl Read, max_bytes: u64) -> Result<Self, InputError> {
        let mut bytes = Vec::new();
        reader
            .take(max_bytes.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| InputError::io(Path::new(&name), &e))?;
        if bytes.len() as u64 > max_bytes {
            return Err(too_large(
                &name,
                &format!("more than {max_bytes}"),
                max_bytes,
            ));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            InputError::plain(
                InputCode::Encoding,
                format!(
                    "{name}: not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            )
            .help("save the file as UTF-8")
        })?;
        Ok(SourceFile::new(name, text))
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(&self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    /// The character at a 1-based line and column as parsers report them (the column counted
    /// in bytes; line 0 means "unknown"), clamped to the text.
    pub fn span_at(&self, line: usize, column: usize) -> Option<Span> {
        if line == 0 {
            return None;
        }
        let start: usize = self
            .text
            .split_inclusive('\n')
            .take(line - 1)
            .map(str::len)
            .sum();
        let offset = floor_char_boundary(&self.text, start + column.saturating_sub(1));
        let len = self.text[offset..].chars().next().map_or(0, char::len_utf8);
        Some(Span { offset, len })
    }
}

/// How diagnostics name standard input.
pub const STDIN: &str = "<stdin>";

fn too_large(name: &str, size: &str, max_bytes: u64) -> InputError {
    InputError::plain(
        InputCode::TooLarge,
        format!("{name}: file is {size} bytes; xdrguard reads at most {max_bytes} bytes"),
    )
    .help("a facts document, policy, config or exceptions file this large is not one xdrguard wrote; check the path")
}

/// Bytes of context an excerpt keeps on each side of the span (and the longest span it marks).
const EXCERPT_CONTEXT: usize = 160;

/// The part of a source file a diagnostic shows: the lines around its span, cut to
/// [`EXCERPT_CONTEXT`] bytes each side so a one-line (minified) file of megabytes does not
/// flood the terminal. Offsets stay those of the whole file, so miette's line and column
/// numbers stay right.
///
/// Control characters of the window are masked (`?`, byte for byte) as it is cut: the file
/// may be hostile, and miette prints the window to the terminal.
#[derive(Debug, Clone)]
pub struct Excerpt {
    name: String,
    window: Arc<str>,
    start: usize,
    end: usize,
    /// 0-based line and byte column of `start` in the file, as miette counts them.
    line: usize,
    column: usize,
}

impl Excerpt {
    fn around(file: &SourceFile, span: Option<Span>) -> Self {
        let text = &file.text;
        let Span { offset, len } = span.map(|s| s.marked_in(text)).unwrap_or_default();
        let span_end = offset + len;
        // One line of context before and after, as miette shows, but never more bytes than the limit.
        let line_start = |i: usize| text[..i].rfind('\n').map_or(0, |n| n + 1);
        let prev_line = line_start(line_start(offset).saturating_sub(1));
        let start =
            floor_char_boundary(text, prev_line.max(offset.saturating_sub(EXCERPT_CONTEXT)));
        let line_end = |i: usize| text[i..].find('\n').map_or(text.len(), |n| i + n);
        let next_line = line_end((line_end(span_end) + 1).min(text.len()));
        let end = floor_char_boundary(text, next_line.min(span_end + EXCERPT_CONTEXT));
        let before = &text[..start];
        Excerpt {
            name: file.path.clone(),
            window: crate::report::terminal::masked(&text[start..end]).into(),
            start,
            end,
            line: before.matches('\n').count(),
            column: start - line_start(start),
        }
    }

    /// The text shown.
    pub fn text(&self) -> &str {
        &self.window
    }
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let window = self.text();
        let offset = span.offset().clamp(self.start, self.end) - self.start;
        let len = span.len().min(window.len() - offset);
        let local = window.read_span(&SourceSpan::new(offset.into(), len), before, after)?;
        let first_line = local.line() == 0;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            local.data(),
            SourceSpan::new(
                (local.span().offset() + self.start).into(),
                local.span().len(),
            ),
            local.line() + self.line,
            local.column() + if first_line { self.column } else { 0 },
            local.line_count(),
        )))
    }
}

/// The candidate closest to a mistyped `given` (case-insensitive, a few edits away), for
/// "did you mean" hints: `XDR-CON-3` → `XDR-CON-03`, `data_conectors` → `data_connectors`.
pub fn closest<'a>(given: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let given = given.to_ascii_lowercase();
    candidates
        .map(|c| {
            (
                strsim::damerau_levenshtein(&given, &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(d, c)| *d > 0 && *d <= 2.max(c.len() / 5))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `i` clamped to the text and moved back to the start of the character it falls in.
fn floor_char_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The limit of [`SourceFile::read`]; every input of a kind is read with its own limit
/// instead (`crate::input::limits`).
pub const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// Byte range of a node in its source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub offset: usize,
    pub len: usize,
}

impl Span {
    /// The part of this span a diagnostic marks: inside `text`, on character boundaries, and
    /// at most [`EXCERPT_CONTEXT`] bytes long (the root of a minified document spans all of it).
    fn marked_in(self, text: &str) -> Span {
        let offset = floor_char_boundary(text, self.offset);
        let end = floor_char_boundary(text, offset + self.len.min(EXCERPT_CONTEXT));
        Span {
            offset,
            len: end - offset,
        }
    }
}

/// Any problem with user input: exit code 3.
///
/// Built from a code (an enum of [`crate::input::codes`]), a place and a message; the label
/// and help are optional and set by name: `InputError::at(…).label("here").help("…")`.
#[derive(Debug, Error, Diagnostic)]
#[error("{message}")]
pub struct InputError {
    pub message: String,
    #[diagnostic(code)]
    pub code: &'static str,
    #[source_code]
    pub src: Option<Excerpt>,
    #[label("{label}")]
    pub span: Option<SourceSpan>,
    pub label: String,
    #[help]
    pub help: Option<String>,
    #[related]
    pub related: Vec<InputError>,
}

impl InputError {
    /// An error without a location (missing file, too large, bad argument).
    pub fn plain(code: impl Into<&'static str>, message: impl Into<String>) -> Self {
        InputError {
            message: message.into(),
            code: code.into(),
            src: None,
            span: None,
            label: String::new(),
            help: None,
            related: Vec::new(),
        }
    }

    pub fn io(path: &Path, e: &std::io::Error) -> Self {
        InputError::plain(InputCode::Io, format!("{}: {e}", path.display()))
            .help("check the path and that the file is readable")
    }

    /// An error in a source file, at `span` if known; the message names file:line:column.
    pub fn at(
        code: impl Into<&'static str>,
        file: &SourceFile,
        span: Option<Span>,
        message: impl Into<String>,
    ) -> Self {
        let message = message.into();
        let span = span.map(|s| s.marked_in(&file.text));
        let message = match span {
            Some(s) => {
                let (line, col) = file.line_col(s.offset);
                format!("{}:{line}:{col}: {message}", file.path)
            }
            None => format!("{}: {message}", file.path),
        };
        InputError {
            src: Some(Excerpt::around(file, span)),
            span: span.map(|s| SourceSpan::new(s.offset.into(), s.len)),
            ..InputError::plain(code, message)
        }
    }

    /// The text shown at the marked span.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// What to do about it (an empty text shows none).
    /// This error with the control characters of its message, label and help made visible
    /// (they may quote a hostile file), for printing to a terminal.
    pub fn visible(mut self) -> Self {
        use crate::report::terminal::{visible, Keep};
        for text in [&mut self.message, &mut self.label] {
            *text = visible(text, Keep::Lines).into_owned();
        }
        if let Some(h) = &mut self.help {
            *h = visible(h, Keep::Lines).into_owned();
        }
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        let help = help.into();
        self.help = (!help.is_empty()).then_some(help);
        self
    }

    /// Several errors reported together; the first is the headline.
    pub fn many(mut errors: Vec<InputError>) -> Option<Self> {
        if errors.is_empty() {
            return None;
        }
        let mut first = errors.remove(0);
        if !errors.is_empty() {
            first.related = errors;
        }
        Some(first)
    }

    /// This error and every related one, flattened.
    pub fn count(&self) -> usize {
        1 + self.related.iter().map(InputError::count).sum::<usize>()
    }

    /// This error and every related one (and theirs), each on its own, the headline first.
    pub fn into_each(mut self) -> Vec<InputError> {
        let related = std::mem::take(&mut self.related);
        let mut all = vec![self];
        all.extend(related.into_iter().flat_map(InputError::into_each));
        all
    }
}
