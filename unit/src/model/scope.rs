//! The scope-specific keys of `[Scope]` (`Scope.*` of systemd 248's gperf table, besides the
//! shared kill and resource-control keys), with `scope_init`'s defaults and the setting lines
//! of 248's `scope_dump` (systemd.scope(5) of 248). Scopes are made through the manager's
//! API, not files, but their drop-ins use these keys.
//!
//! `RuntimeRandomizedExtraSec=` (250) and `OOMPolicy=` for scopes (251) are deliberately
//! absent.

use keel_core::time::Usec;
use serde::Serialize;

use super::directive::{ApplyFn, Directive, Support};
use super::exec::sec;
use super::mount::{pair, span};

/// The `[Scope]` settings with systemd 248's defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ScopeSettings {
    /// `RuntimeMaxSec=` (default infinity)
    #[doc(alias = "RuntimeMaxSec=")]
    pub runtime_max: Usec,
    /// `TimeoutStopSec=` (default 90s, the manager's `DefaultTimeoutStopSec=`)
    #[doc(alias = "TimeoutStopSec=")]
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

impl ScopeSettings {
    /// The setting lines of 248's `scope_dump` as `(label, value)` pairs, without the
    /// run-time lines (`Scope State:`, `Result:`). 248 does not print `TimeoutStopSec=`.
    pub(crate) fn dump(&self, out: &mut Vec<(String, String)>) {
        pair(out, "RuntimeMaxSec", span(self.runtime_max));
    }
}

const fn d(name: &'static str, apply: ApplyFn<ScopeSettings>) -> Directive<ScopeSettings> {
    Directive {
        name,
        apply,
        support: Support::Parsed,
    }
}

/// Every key of 248's `Scope.*` gperf lines besides the kill and cgroup items. Both use
/// `config_parse_sec` in 248 (so `0` really is zero here, unlike services'
/// `TimeoutStopSec=`, which uses `config_parse_sec_fix_0`).
pub(crate) static SCOPE_DIRECTIVES: &[Directive<ScopeSettings>] = &[
    d("RuntimeMaxSec", |s, _, v| {
        s.runtime_max = sec(v)?;
        Ok(())
    }),
    d("TimeoutStopSec", |s, _, v| {
        s.timeout_stop = sec(v)?;
        Ok(())
    }),
];

#[cfg(test)]
mod tests {
    use super::super::mount::testing::{apply_in, check_table, invalid, render};
    use super::*;

    #[test]
    fn table() {
        check_table(SCOPE_DIRECTIVES, &["RuntimeMaxSec", "TimeoutStopSec"]);
    }

    #[test]
    fn defaults_keys_and_errors() {
        let mut s = ScopeSettings::default();
        assert_eq!(s.runtime_max, Usec::INFINITY);
        assert_eq!(s.timeout_stop, Usec::from_secs(90));
        let t = SCOPE_DIRECTIVES;
        apply_in(t, "session-1.scope", &mut s, "RuntimeMaxSec", "1h")
            .0
            .unwrap();
        apply_in(t, "session-1.scope", &mut s, "TimeoutStopSec", "0")
            .0
            .unwrap();
        assert_eq!(s.runtime_max, Usec::from_secs(3600));
        assert_eq!(s.timeout_stop, Usec::ZERO);
        let r = apply_in(t, "session-1.scope", &mut s, "RuntimeMaxSec", "forever").0;
        assert_eq!(invalid(r), "Failed to parse sec value, ignoring: forever");
        assert_eq!(s.runtime_max, Usec::from_secs(3600));
        let mut out = Vec::new();
        s.dump(&mut out);
        assert_eq!(render(&out), "\tRuntimeMaxSec: 1h\n");
    }
}
