//! Input errors as miette diagnostics that name file, line and column.

use crate::input::codes::InputCode;
use miette::{Diagnostic, NamedSource, SourceSpan};
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
        let too_large = |size: String| {
            InputError::plain(
                InputCode::TooLarge,
                format!(
                    "{}: file is {size} bytes; xdrguard reads at most {max_bytes} bytes",
                    path.display()
                ),
            )
            .help("a facts document, policy, config or exceptions file this large is not one xdrguard wrote; check the path")
        };
        let file = std::fs::File::open(path).map_err(|e| InputError::io(path, &e))?;
        if let Ok(meta) = file.metadata() {
            if meta.len() > max_bytes {
                return Err(too_large(meta.len().to_string()));
            }
        }
        let mut bytes = Vec::new();
        file.take(max_bytes.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| InputError::io(path, &e))?;
        if bytes.len() as u64 > max_bytes {
            return Err(too_large(format!("more than {max_bytes}")));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            InputError::plain(
                InputCode::Encoding,
                format!(
                    "{}: not UTF-8 text (invalid byte at offset {})",
                    path.display(),
                    e.utf8_error().valid_up_to()
                ),
            )
            .help("save the file as UTF-8")
        })?;
        Ok(SourceFile::new(path.display().to_string(), text))
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

/// `i` clamped to the text and moved back to the start of the character it falls in.
fn floor_char_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Largest input file xdrguard reads (policies, facts, config, exceptions, reports).
pub const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// Byte range of a node in its source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub offset: usize,
    pub len: usize,
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
    pub src: Option<NamedSource<Arc<str>>>,
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
        let message = match span {
            Some(s) => {
                let (line, col) = file.line_col(s.offset);
                format!("{}:{line}:{col}: {message}", file.path)
            }
            None => format!("{}: {message}", file.path),
        };
        InputError {
            src: Some(NamedSource::new(file.path.clone(), file.text.clone())),
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
        1 + self.related.len()
    }
}
