//! The swap-specific keys of `[Swap]` (`Swap.*` of systemd 248's gperf table, besides the
//! shared exec, kill and resource-control keys), with `swap_init`'s defaults and the setting
//! lines of 248's `swap_dump` (systemd.swap(5) of 248).
//!
//! All four keys 248 knows are here; no newer `[Swap]` key exists up to 255.

use std::path::PathBuf;

use keel_core::time::Usec;
use serde::Serialize;

use super::directive::{ApplyFn, Directive, ParseCtx, SettingError, Support};
use super::exec::value::{signed, unit_path, unit_string};
use super::mount::{pair, sec_fix_0, span};

/// The `[Swap]` settings with systemd 248's defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SwapSettings {
    /// `What=`: the swap device or file, absolute and simplified (default unset: derived
    /// from the unit name at load time).
    #[doc(alias = "What=")]
    pub what: Option<PathBuf>,
    /// `Priority=`: -1…32767 (default unset: the kernel picks).
    #[doc(alias = "Priority=")]
    pub priority: Option<i32>,
    /// `Options=`: the `swapon` options (default unset).
    #[doc(alias = "Options=")]
    pub options: Option<String>,
    /// `TimeoutSec=` (default 90s, the manager's `DefaultTimeoutStartSec=`; `0` means
    /// infinity)
    #[doc(alias = "TimeoutSec=")]
    pub timeout: Usec,
}

impl Default for SwapSettings {
    fn default() -> Self {
        Self {
            what: None,
            priority: None,
            options: None,
            timeout: Usec::from_secs(90),
        }
    }
}

impl SwapSettings {
    /// The setting lines of 248's `swap_dump` as `(label, value)` pairs, without the
    /// run-time lines (`Swap State:`, `Result:`, `Clean Result:`, `From /proc/swaps:`,
    /// `From fragment:`, `Device Node:`, `Control PID:`). `What:` falls back to
    /// `unit_path` (the path the unit name stands for); `Priority:` and `Options:` are the
    /// fragment's parameters (`-1` and an empty string when unset).
    pub(crate) fn dump(&self, unit_path: Option<&str>, out: &mut Vec<(String, String)>) {
        let what = self
            .what
            .as_ref()
            .map(|p| p.display().to_string())
            .or_else(|| unit_path.map(str::to_owned))
            .unwrap_or_default();
        pair(out, "What", what);
        pair(out, "Priority", self.priority.unwrap_or(-1));
        pair(out, "Options", self.options.as_deref().unwrap_or(""));
        pair(out, "TimeoutSec", span(self.timeout));
    }
}

/// `config_parse_swap_priority`: empty resets; -1…32767.
fn apply_priority(
    s: &mut SwapSettings,
    _ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.priority = None;
        return Ok(());
    }
    let p = signed(value)
        .and_then(|p| i32::try_from(p).ok())
        .ok_or_else(|| {
            SettingError::invalid(format!("Invalid swap priority '{value}', ignoring."))
        })?;
    if p < -1 {
        return Err(SettingError::invalid(format!(
            "Sorry, swap priorities smaller than -1 may only be assigned by the kernel itself, ignoring: {value}"
        )));
    }
    if p > 32767 {
        return Err(SettingError::invalid(format!(
            "Swap priority out of range, ignoring: {value}"
        )));
    }
    s.priority = Some(p);
    Ok(())
}

const fn d(name: &'static str, apply: ApplyFn<SwapSettings>) -> Directive<SwapSettings> {
    Directive {
        name,
        apply,
        support: Support::Parsed,
    }
}

/// Every key of 248's `Swap.*` gperf lines besides the exec, kill and cgroup items.
pub(crate) static SWAP_DIRECTIVES: &[Directive<SwapSettings>] = &[
    d("What", |s, ctx, v| {
        s.what = unit_path(ctx, v, false)?;
        Ok(())
    }),
    d("Priority", apply_priority),
    d("Options", |s, ctx, v| {
        s.options = unit_string(ctx, v)?;
        Ok(())
    }),
    d("TimeoutSec", |s, ctx, v| {
        s.timeout = sec_fix_0(ctx.key, v)?;
        Ok(())
    }),
];

#[cfg(test)]
mod tests {
    use super::super::mount::testing::{apply_in, check_table, invalid, render};
    use super::*;

    fn apply(s: &mut SwapSettings, key: &str, value: &str) -> Result<(), SettingError> {
        apply_in(SWAP_DIRECTIVES, "dev-sda2.swap", s, key, value).0
    }

    #[test]
    fn table() {
        check_table(
            SWAP_DIRECTIVES,
            &["What", "Priority", "Options", "TimeoutSec"],
        );
    }

    #[test]
    fn defaults() {
        let s = SwapSettings::default();
        assert_eq!(s.timeout, Usec::from_secs(90));
        assert!(s.what.is_none() && s.priority.is_none() && s.options.is_none());
    }

    #[test]
    fn every_key() {
        let mut s = SwapSettings::default();
        apply(&mut s, "What", "/dev/sda2").unwrap();
        apply(&mut s, "Priority", "10").unwrap();
        apply(&mut s, "Options", "discard").unwrap();
        apply(&mut s, "TimeoutSec", "5s").unwrap();
        assert_eq!(s.what, Some(PathBuf::from("/dev/sda2")));
        assert_eq!(s.priority, Some(10));
        assert_eq!(s.options.as_deref(), Some("discard"));
        assert_eq!(s.timeout, Usec::from_secs(5));
        apply(&mut s, "Priority", "-1").unwrap();
        assert_eq!(s.priority, Some(-1));
        apply(&mut s, "Priority", "32767").unwrap();
        apply(&mut s, "Priority", "").unwrap();
        assert_eq!(s.priority, None);
        apply(&mut s, "What", "").unwrap();
        assert_eq!(s.what, None);
    }

    #[test]
    fn invalid_priorities() {
        let mut s = SwapSettings::default();
        apply(&mut s, "Priority", "5").unwrap();
        assert_eq!(
            invalid(apply(&mut s, "Priority", "high")),
            "Invalid swap priority 'high', ignoring."
        );
        assert_eq!(
            invalid(apply(&mut s, "Priority", "-2")),
            "Sorry, swap priorities smaller than -1 may only be assigned by the kernel itself, ignoring: -2"
        );
        assert_eq!(
            invalid(apply(&mut s, "Priority", "32768")),
            "Swap priority out of range, ignoring: 32768"
        );
        assert_eq!(s.priority, Some(5));
        assert_eq!(
            invalid(apply(&mut s, "TimeoutSec", "x")),
            "Failed to parse TimeoutSec= parameter, ignoring: x"
        );
        assert_eq!(
            invalid(apply(&mut s, "What", "sda2")),
            "What= path is not absolute, ignoring: sda2"
        );
    }

    #[test]
    fn dump_lines() {
        let mut s = SwapSettings::default();
        let mut out = Vec::new();
        s.dump(Some("/swapfile"), &mut out);
        apply(&mut s, "What", "/swapfile").unwrap();
        let mut again = Vec::new();
        s.dump(None, &mut again);
        assert_eq!(out, again);
        assert_eq!(
            render(&out),
            "\tWhat: /swapfile\n\tPriority: -1\n\tOptions: \n\tTimeoutSec: 1min 30s\n"
        );
    }
}
