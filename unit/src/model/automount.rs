//! The keys of `[Automount]` (`Automount.*` of systemd 248's gperf table), with
//! `automount_init`'s defaults and the setting lines of 248's `automount_dump`
//! (systemd.automount(5) of 248).
//!
//! `ExtraOptions=` (256) is deliberately absent.

use std::path::PathBuf;

use keel_core::time::Usec;
use serde::Serialize;

use super::directive::{ApplyFn, Directive, Support};
use super::exec::value::unit_path;
use super::mount::{pair, sec_fix_0, set_mode, span};

/// The `[Automount]` settings with systemd 248's defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AutomountSettings {
    /// `Where=`: the mount point, absolute and simplified (default unset: derived from the
    /// unit name at load time).
    #[doc(alias = "Where=")]
    pub r#where: Option<PathBuf>,
    /// `DirectoryMode=` (default `0755`)
    #[doc(alias = "DirectoryMode=")]
    pub directory_mode: u32,
    /// `TimeoutIdleSec=` (default 0: never unmount for idleness; an explicit `0` is stored as
    /// infinity, which means the same)
    #[doc(alias = "TimeoutIdleSec=")]
    pub timeout_idle: Usec,
}

impl Default for AutomountSettings {
    fn default() -> Self {
        Self {
            r#where: None,
            directory_mode: 0o755,
            timeout_idle: Usec::ZERO,
        }
    }
}

impl AutomountSettings {
    /// The setting lines of 248's `automount_dump` as `(label, value)` pairs, without the
    /// run-time lines (`Automount State:`, `Result:`). `Where:` falls back to `unit_path`
    /// (the path the unit name stands for).
    pub(crate) fn dump(&self, unit_path: Option<&str>, out: &mut Vec<(String, String)>) {
        let w = self
            .r#where
            .as_ref()
            .map(|p| p.display().to_string())
            .or_else(|| unit_path.map(str::to_owned))
            .unwrap_or_default();
        pair(out, "Where", w);
        pair(out, "DirectoryMode", format!("{:04o}", self.directory_mode));
        pair(out, "TimeoutIdleUSec", span(self.timeout_idle));
    }

    /// 248's `automount_verify` for the unit whose name stands for `unit_path`.
    ///
    /// # Errors
    ///
    /// The message systemd logs before refusing the unit (`bad-setting`).
    pub fn verify(&self, unit_path: Option<&str>) -> Result<(), String> {
        if let (Some(w), Some(p)) = (&self.r#where, unit_path)
            && w.as_os_str() != p
        {
            return Err("Where= setting doesn't match unit name. Refusing.".into());
        }
        Ok(())
    }
}

const fn d(name: &'static str, apply: ApplyFn<AutomountSettings>) -> Directive<AutomountSettings> {
    Directive {
        name,
        apply,
        support: Support::Parsed,
    }
}

/// Every key of 248's `Automount.*` gperf lines.
pub(crate) static AUTOMOUNT_DIRECTIVES: &[Directive<AutomountSettings>] = &[
    d("Where", |s, ctx, v| {
        s.r#where = unit_path(ctx, v, false)?;
        Ok(())
    }),
    d("DirectoryMode", |s, _, v| {
        set_mode(&mut s.directory_mode, v)
    }),
    d("TimeoutIdleSec", |s, ctx, v| {
        s.timeout_idle = sec_fix_0(ctx.key, v)?;
        Ok(())
    }),
];

#[cfg(test)]
mod tests {
    use super::super::mount::testing::{apply_in, check_table, invalid, render};
    use super::*;
    use crate::model::directive::SettingError;

    fn apply(s: &mut AutomountSettings, key: &str, value: &str) -> Result<(), SettingError> {
        apply_in(
            AUTOMOUNT_DIRECTIVES,
            "proc-sys-fs-binfmt_misc.automount",
            s,
            key,
            value,
        )
        .0
    }

    #[test]
    fn table() {
        check_table(
            AUTOMOUNT_DIRECTIVES,
            &["Where", "DirectoryMode", "TimeoutIdleSec"],
        );
    }

    #[test]
    fn defaults_keys_and_errors() {
        let mut s = AutomountSettings::default();
        assert_eq!(s.directory_mode, 0o755);
        assert_eq!(s.timeout_idle, Usec::ZERO);
        apply(&mut s, "Where", "/proc/sys/fs/binfmt_misc").unwrap();
        apply(&mut s, "DirectoryMode", "0700").unwrap();
        apply(&mut s, "TimeoutIdleSec", "10min").unwrap();
        assert_eq!(s.r#where, Some(PathBuf::from("/proc/sys/fs/binfmt_misc")));
        assert_eq!(s.directory_mode, 0o700);
        assert_eq!(s.timeout_idle, Usec::from_secs(600));
        assert_eq!(
            invalid(apply(&mut s, "TimeoutIdleSec", "later")),
            "Failed to parse TimeoutIdleSec= parameter, ignoring: later"
        );
        assert_eq!(s.timeout_idle, Usec::from_secs(600));
        assert_eq!(
            invalid(apply(&mut s, "DirectoryMode", "abc")),
            "Failed to parse mode value, ignoring: abc"
        );
        apply(&mut s, "TimeoutIdleSec", "0").unwrap();
        assert_eq!(s.timeout_idle, Usec::INFINITY);
        apply(&mut s, "Where", "").unwrap();
        assert_eq!(s.r#where, None);
    }

    #[test]
    fn dump_lines() {
        let mut s = AutomountSettings::default();
        apply(&mut s, "Where", "/mnt/x").unwrap();
        assert_eq!(s.verify(Some("/mnt/x")), Ok(()));
        assert!(s.verify(Some("/mnt/y")).is_err());
        let mut out = Vec::new();
        s.dump(None, &mut out);
        assert_eq!(
            render(&out),
            "\tWhere: /mnt/x\n\tDirectoryMode: 0755\n\tTimeoutIdleUSec: 0\n"
        );
    }
}
