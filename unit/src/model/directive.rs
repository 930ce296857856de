//! The directive tables: how one `Key=value` assignment changes the typed model.
//!
//! Every section of the typed model has a static table of `Directive`s, each a
//! setting name and the function that applies one assignment of it. The loader looks
//! keys up in the tables of the section it is in; the coverage table
//! (`docs/directives.md`) is generated from the same tables, so what the docs claim
//! and what the parser does cannot drift apart.

use std::fmt;

use keel_core::specifier::SpecifierContext;
use keel_core::unit_name::UnitName;

/// Whether keel only parses a setting or also enforces it at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Support {
    /// Parsed into the typed model; no keel component acts on it yet.
    Parsed,
    /// Parsed and acted on by a keel component (exec, manager, oomd, ...).
    Enforced,
}

/// The function that applies one assignment to a section's typed data.
pub(crate) type ApplyFn<T> = fn(&mut T, &mut ParseCtx<'_>, &str) -> Result<(), SettingError>;

/// One setting: its name as in systemd, and how an assignment is applied.
pub(crate) struct Directive<T: 'static> {
    /// The key, spelled exactly as systemd spells it (`PrivateIPC`, no `=`).
    pub(crate) name: &'static str,
    /// Applies one assignment (the value is already lexed: trimmed, continuations joined).
    pub(crate) apply: ApplyFn<T>,
    /// Parsed only, or enforced too.
    pub(crate) support: Support,
}

impl<T> fmt::Debug for Directive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Directive")
            .field("name", &self.name)
            .field("support", &self.support)
            .finish()
    }
}

/// Finds `key` in a directive table (a linear scan: for tables consulted on every key, see
/// [`Index`]).
pub(crate) fn find<T>(table: &'static [Directive<T>], key: &str) -> Option<&'static Directive<T>> {
    table.iter().find(|d| d.name == key)
}

/// FNV-1a: keys are short, trusted setting names, so a simple fast hash is right here.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// A hash index over a static directive table, built on first use.
#[derive(Debug)]
pub(crate) struct Index<T: 'static> {
    table: &'static [Directive<T>],
    map: std::sync::OnceLock<
        std::collections::HashMap<&'static str, usize, std::hash::BuildHasherDefault<Fnv>>,
    >,
}

impl<T> Index<T> {
    /// An index over `table` (built lazily).
    pub(crate) const fn new(table: &'static [Directive<T>]) -> Self {
        Self {
            table,
            map: std::sync::OnceLock::new(),
        }
    }

    /// The directive named `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&'static Directive<T>> {
        let map = self.map.get_or_init(|| {
            self.table
                .iter()
                .enumerate()
                .rev()
                .map(|(i, d)| (d.name, i))
                .collect()
        });
        map.get(key).map(|&i| &self.table[i])
    }
}

/// What a directive's apply function may look at besides the value.
#[derive(Debug)]
#[non_exhaustive]
pub struct ParseCtx<'a> {
    /// The unit being loaded (for `%n`-style specifiers and messages).
    pub unit: &'a UnitName,
    /// Values for `%` specifiers.
    pub specifiers: &'a SpecifierContext,
    /// The key being applied, as written (`ExecStart`), for messages.
    pub key: &'a str,
    /// Extra warnings an apply function gives while still accepting (part of) the value,
    /// e.g. an unknown system call name inside `SystemCallFilter=`. The loader turns
    /// each into a diagnostic at the assignment's line.
    pub warnings: Vec<String>,
    /// Notices: the value was accepted but adjusted (systemd's `LOG_NOTICE`).
    pub notices: Vec<String>,
}

impl<'a> ParseCtx<'a> {
    /// A context for applying assignments of `key` in `unit`.
    pub fn new(unit: &'a UnitName, specifiers: &'a SpecifierContext, key: &'a str) -> Self {
        Self {
            unit,
            specifiers,
            key,
            warnings: Vec::new(),
            notices: Vec::new(),
        }
    }

    /// Records a warning while accepting the value.
    pub fn warn(&mut self, message: impl Into<String>) {
        self.warnings.push(message.into());
    }

    /// Records a notice: the value was accepted but adjusted.
    pub fn notice(&mut self, message: impl Into<String>) {
        self.notices.push(message.into());
    }
}

/// Why one assignment was not (fully) applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingError {
    /// The value is invalid: the assignment is ignored with a warning and the unit still
    /// loads (systemd: "Failed to parse …, ignoring").
    #[error("{message}")]
    Invalid {
        /// What is wrong, as it is printed (systemd's wording where one exists).
        message: String,
    },
    /// The value is invalid in a way systemd treats as fatal (e.g. a relative
    /// `ExecStart=` path without `-`): the unit loads with state `bad-setting`.
    #[error("{message}")]
    Fatal {
        /// What is wrong, as it is printed.
        message: String,
    },
}

impl SettingError {
    /// An ignorable invalid value.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid {
            message: message.into(),
        }
    }

    /// A fatal invalid value.
    pub fn fatal(message: impl Into<String>) -> Self {
        Self::Fatal {
            message: message.into(),
        }
    }

    /// True for [`SettingError::Fatal`].
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::Fatal { .. })
    }
}
