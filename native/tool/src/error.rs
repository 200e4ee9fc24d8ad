//! The one error type every tool returns, and the mapping from I/O errors to error kinds.
//!
//! Kinds are the snake_case names of ARCHITECTURE.md ("Errors"); `ironcode/errors.py` turns them
//! into `IronCodeError` subclasses on the Python side, so the two lists must stay in step.

use std::fmt;
use std::io;
use std::path::Path;

use serde::Serialize;

/// What went wrong, as a stable machine-readable category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    NotFound,
    IsDirectory,
    NotADirectory,
    PermissionDenied,
    BinaryFile,
    Encoding,
    InvalidArgument,
    InvalidPattern,
    Io,
    Git,
    NoMatch,
    MultipleMatches,
    SameStrings,
    EmptyOldString,
    Disproportionate,
    SearchTooLarge,
    UnsafePath,
    /// A confined operation's path leads outside its root (see `confine`).
    OutsideRoot,
    Timeout,
    Panic,
    /// apply_patch: the patch text breaks its grammar.
    InvalidPatch,
    /// apply_patch: a chunk's lines (or its `@@` line) are not in the file.
    PatchFailed,
}

/// An error with its kind and a message that tells the caller what to do next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolError {
    pub kind: ErrorKind,
    pub message: String,
}

/// The result type of every tool function.
pub type ToolResult<T> = Result<T, ToolError>;

impl ToolError {
    /// Builds an error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ToolError {
            kind,
            message: message.into(),
        }
    }

    /// Shorthand for the most common kind: the caller passed something unusable.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    /// Maps an I/O error on `path` to a kind, with the path in the message.
    pub fn from_io(err: &io::Error, path: &Path) -> Self {
        let shown = path.display();
        let (kind, message) = match err.kind() {
            io::ErrorKind::NotFound => (ErrorKind::NotFound, format!("File not found: {shown}")),
            io::ErrorKind::PermissionDenied => (
                ErrorKind::PermissionDenied,
                format!("Permission denied: {shown}"),
            ),
            io::ErrorKind::IsADirectory => (
                ErrorKind::IsDirectory,
                format!("Path is a directory: {shown}"),
            ),
            io::ErrorKind::NotADirectory => (
                ErrorKind::NotADirectory,
                format!("A parent of the path is not a directory: {shown}"),
            ),
            _ => (ErrorKind::Io, format!("{err}: {shown}")),
        };
        ToolError { kind, message }
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for ToolError {}

/// Attaches a path to `io::Result`s: `fs::read(p).at(p)?`.
pub trait IoResultExt<T> {
    fn at(self, path: &Path) -> ToolResult<T>;
}

impl<T> IoResultExt<T> for io::Result<T> {
    fn at(self, path: &Path) -> ToolResult<T> {
        self.map_err(|e| ToolError::from_io(&e, path))
    }
}
