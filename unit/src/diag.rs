//! Diagnostics with exact positions: what a loader says about a file.
//!
//! Every warning or error keel gives about a configuration file names the file and
//! line (and, where known, the column), printed as `file:line: message` just as
//! systemd prints its own parser warnings.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Information about a value that was accepted but adjusted (systemd's `LOG_NOTICE`,
    /// e.g. a `PIDFile=` below `/var/run/` moved to `/run/`).
    Notice,
    /// The assignment or line was ignored; the unit still loads (systemd's "…, ignoring").
    Warning,
    /// The file or unit could not be used as written (for example a fatal `ExecStart=`).
    Error,
}

/// One message about a position in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Diagnostic {
    /// Warning or error.
    pub severity: Severity,
    /// The file the message is about, if it is about a file.
    pub path: Option<PathBuf>,
    /// 1-based line number; 0 when the message is about the whole file or unit.
    pub line: u32,
    /// 1-based column of the value (or key) the message is about; 0 when unknown.
    pub column: u32,
    /// The message itself, lowercase-first like systemd's log lines are not: it is
    /// printed exactly as written.
    pub message: String,
}

impl Diagnostic {
    /// A warning about `path:line`.
    pub fn warning(path: Option<&Path>, line: u32, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            path: path.map(Path::to_path_buf),
            line,
            column: 0,
            message: message.into(),
        }
    }

    /// A notice about `path:line`.
    pub fn notice(path: Option<&Path>, line: u32, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Notice,
            ..Self::warning(path, line, message)
        }
    }

    /// An error about `path:line`.
    pub fn error(path: Option<&Path>, line: u32, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            ..Self::warning(path, line, message)
        }
    }

    /// The same diagnostic with a column set.
    #[must_use]
    pub fn at_column(mut self, column: u32) -> Self {
        self.column = column;
        self
    }

    /// True for [`Severity::Error`].
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.path, self.line) {
            (Some(p), 0) => write!(f, "{}: {}", p.display(), self.message),
            (Some(p), l) => write!(f, "{}:{}: {}", p.display(), l, self.message),
            (None, 0) => f.write_str(&self.message),
            (None, l) => write!(f, "line {}: {}", l, self.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_file_colon_line() {
        let d = Diagnostic::warning(Some(Path::new("/x/a.service")), 7, "Unknown key");
        assert_eq!(d.to_string(), "/x/a.service:7: Unknown key");
        let d = Diagnostic::error(Some(Path::new("/x/a.service")), 0, "bad");
        assert_eq!(d.to_string(), "/x/a.service: bad");
        assert!(d.is_error());
    }
}
