//! Input errors as miette diagnostics that name file, line and column.

use miette::{Diagnostic, NamedSource, SourceSpan};
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

    pub fn read(path: &std::path::Path) -> Result<Self, InputError> {
        let meta = std::fs::metadata(path).map_err(|e| InputError::io(path, &e))?;
        if meta.len() > MAX_INPUT_BYTES {
            return Err(InputError::plain(
                "xdrguard::input::too_large",
                format!(
                    "{}: file is {} bytes; xdrguard reads at most {} bytes",
                    path.display(),
                    meta.len(),
                    MAX_INPUT_BYTES
                ),
                "a facts document, policy, config or exceptions file this large is not one xdrguard wrote; check the path",
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| InputError::io(path, &e))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            InputError::plain(
                "xdrguard::input::encoding",
                format!(
                    "{}: not UTF-8 text (invalid byte at offset {})",
                    path.display(),
                    e.utf8_error().valid_up_to()
                ),
                "save the file as UTF-8",
            )
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
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
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
#[derive(Debug, Error, Diagnostic)]
#[error("{message}")]
pub struct InputError {
    pub message: String,
    #[diagnostic(code)]
    pub code: String,
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
    pub fn plain(code: &str, message: impl Into<String>, help: impl Into<String>) -> Self {
        let help = help.into();
        InputError {
            message: message.into(),
            code: code.to_string(),
            src: None,
            span: None,
            label: String::new(),
            help: (!help.is_empty()).then_some(help),
            related: Vec::new(),
        }
    }

    pub fn io(path: &std::path::Path, e: &std::io::Error) -> Self {
        InputError::plain(
            "xdrguard::input::io",
            format!("{}: {e}", path.display()),
            "check the path and that the file is readable",
        )
    }

    /// An error pointing at a node of a source file; the message names file:line:column.
    pub fn at(
        code: &str,
        file: &SourceFile,
        span: Option<Span>,
        message: impl Into<String>,
        label: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        let message = message.into();
        let message = match span {
            Some(s) => {
                let (line, col) = file.line_col(s.offset);
                format!("{}:{line}:{col}: {message}", file.path)
            }
            None => format!("{}: {message}", file.path),
        };
        let help = help.into();
        InputError {
            message,
            code: code.to_string(),
            src: Some(NamedSource::new(file.path.clone(), file.text.clone())),
            span: span.map(|s| SourceSpan::new(s.offset.into(), s.len)),
            label: label.into(),
            help: (!help.is_empty()).then_some(help),
            related: Vec::new(),
        }
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
