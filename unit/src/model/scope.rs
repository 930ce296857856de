//! The `[Scope]` section's own keys (248's `Scope.*` gperf lines besides kill and
//! resource control). Scopes are made through the manager's API, not files, but their
//! drop-ins use these keys.

use keel_core::time::Usec;
use serde::Serialize;

use super::directive::{ApplyFn, Directive, SettingError, Support};
use super::exec::sec;

/// The scope settings with systemd 248's defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ScopeSettings {
    /// `RuntimeMaxSec=` (default infinity)
    pub runtime_max: Usec,
    /// `TimeoutStopSec=` (default 90s)
    pub timeout_stop: Usec,
}

impl Default for ScopeSettings {
    fn default() -> Self {
        Self {
            runtime_max: Usec::INFINITY,
            timeout_stop: Usec::from_secs(90),
        }
    }
}

const fn d(name: &'static str, apply: ApplyFn<ScopeSettings>) -> Directive<ScopeSettings> {
    Directive {
        name,
        apply,
        support: Support::Parsed,
    }
}

/// The keys of 248's `Scope.*` gperf lines.
pub(crate) static SCOPE_DIRECTIVES: &[Directive<ScopeSettings>] = &[
    d("RuntimeMaxSec", |s, _, v| {
        s.runtime_max = sec(v)?;
        Ok(())
    }),
    d("TimeoutStopSec", |s, _, v| {
        s.timeout_stop = keel_core::time::parse_sec_fix_0(v).map_err(|_| {
            SettingError::invalid(format!("Failed to parse TimeoutStopSec= parameter, ignoring: {v}"))
        })?;
        Ok(())
    }),
];
