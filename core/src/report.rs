//! Error messages for logs and command-line output.

use std::error::Error;
use std::fmt::Write as _;

/// `error: cause: cause…`: an error with every [`Error::source`] below it, on one line, the
/// way keel's binaries and daemons log failures.
///
/// ```
/// let inner = std::io::Error::other("disk on fire");
/// let outer = std::io::Error::new(std::io::ErrorKind::Other, inner);
/// assert_eq!(keel_core::report::chain(&outer), "disk on fire");
///
/// #[derive(Debug)]
/// struct Reading(std::io::Error);
/// impl std::fmt::Display for Reading {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("reading /etc/keel.conf")
///     }
/// }
/// impl std::error::Error for Reading {
///     fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
///         Some(&self.0)
///     }
/// }
/// let e = Reading(std::io::Error::from(std::io::ErrorKind::NotFound));
/// assert_eq!(keel_core::report::chain(&e), "reading /etc/keel.conf: entity not found");
/// ```
pub fn chain(e: &dyn Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let _ = write!(s, ": {c}");
        cur = c.source();
    }
    s
}
