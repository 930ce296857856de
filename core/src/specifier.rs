//! `%` specifiers as systemd 248 expands them in unit files.

/// Values the specifiers expand to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpecifierContext {}
