//! The mount-specific keys of `[Mount]` (`Mount.*` of systemd 248's gperf table, besides the
//! shared exec, kill and resource-control keys), with `mount_init`'s defaults, the setting
//! lines of 248's `mount_dump` and the checks of `mount_verify` (systemd.mount(5) of 248).
//! Also the value helpers the sibling section modules share (`TimeoutSec=`-style spans,
//! modes, dump spans).
//!
//! All ten keys 248 knows are here; none were added to `[Mount]` between 248 and 255, so no
//! newer key is deliberately absent.

use std::path::PathBuf;

use keel_core::boolean::yes_no;
use keel_core::time::{USEC_PER_SEC, Usec, format_timespan, parse_sec_fix_0};
use serde::Serialize;

use super::directive::{ApplyFn, Directive, ParseCtx, SettingError, Support};
use super::exec::value::{mode, set_bool, unit_path, unit_string};

/// The `[Mount]` settings with systemd 248's defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MountSettings {
    /// `What=`: the device, file or resource to mount (specifiers expanded; default unset).
    #[doc(alias = "What=")]
    pub what: Option<String>,
    /// `Where=`: the mount point, absolute and simplified (default unset: the path the
    /// unit name stands for).
    #[doc(alias = "Where=")]
    pub r#where: Option<PathBuf>,
    /// `Type=`: the file system type (default unset).
    #[doc(alias = "Type=")]
    pub fs_type: Option<String>,
    /// `Options=`: the mount options (default unset).
    #[doc(alias = "Options=")]
    pub options: Option<String>,
    /// `SloppyOptions=` (default no)
    #[doc(alias = "SloppyOptions=")]
    pub sloppy_options: bool,
    /// `LazyUnmount=` (default no)
    #[doc(alias = "LazyUnmount=")]
    pub lazy_unmount: bool,
    /// `ForceUnmount=` (default no)
    #[doc(alias = "ForceUnmount=")]
    pub force_unmount: bool,
    /// `ReadWriteOnly=` (default no)
    #[doc(alias = "ReadWriteOnly=")]
    pub read_write_only: bool,
    /// `DirectoryMode=` (default `0755`)
    #[doc(alias = "DirectoryMode=")]
    pub directory_mode: u32,
    /// `TimeoutSec=` (default 90s, the manager's `DefaultTimeoutStartSec=`; `0` means
    /// infinity)
    #[doc(alias = "TimeoutSec=")]
    pub timeout: Usec,
}

impl Default for MountSettings {
    fn default() -> Self {
        Self {
            what: None,
            r#where: None,
            fs_type: None,
            options: None,
            sloppy_options: false,
            lazy_unmount: false,
            force_unmount: false,
            read_write_only: false,
            directory_mode: 0o755,
            timeout: Usec::from_secs(90),
        }
    }
}

/// A time span at 1 s accuracy, as the `*_dump` functions print timeouts.
pub(crate) fn span(u: Usec) -> String {
    format_timespan(u, Usec(USEC_PER_SEC))
}

/// `config_parse_sec_fix_0`: `0` means infinity; "Failed to parse KEY= parameter, ignoring: …".
pub(crate) fn sec_fix_0(key: &str, value: &str) -> Result<Usec, SettingError> {
    parse_sec_fix_0(value).map_err(|_| {
        SettingError::invalid(format!(
            "Failed to parse {key}= parameter, ignoring: {value}"
        ))
    })
}

/// `config_parse_mode` into `field`.
pub(crate) fn set_mode(field: &mut u32, value: &str) -> Result<(), SettingError> {
    *field = mode(value)?;
    Ok(())
}

/// Appends one `(label, value)` dump pair.
pub(crate) fn pair(out: &mut Vec<(String, String)>, label: &str, value: impl ToString) {
    out.push((label.to_owned(), value.to_string()));
}

impl MountSettings {
    /// The mount point: `Where=`, else `unit_path` (the path the unit name stands for).
    fn where_or(&self, unit_path: Option<&str>) -> String {
        self.r#where
            .as_ref()
            .map(|p| p.display().to_string())
            .or_else(|| unit_path.map(str::to_owned))
            .unwrap_or_else(|| "n/a".to_owned())
    }

    /// 248's `mount_verify` for the unit whose name stands for `unit_path`.
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
        if self.what.is_none() {
            return Err("What= setting is missing. Refusing.".into());
        }
        Ok(())
    }

    /// The setting lines of 248's `mount_dump` as `(label, value)` pairs, without the
    /// run-time lines (`Mount State:`, `Result:`, `Clean Result:`, `From
    /// /proc/self/mountinfo:`, `From fragment:`, `Extrinsic:`, `Control PID:`).
    pub(crate) fn dump(&self, unit_path: Option<&str>, out: &mut Vec<(String, String)>) {
        let na = |s: &Option<String>| s.clone().unwrap_or_else(|| "n/a".to_owned());
        pair(out, "Where", self.where_or(unit_path));
        pair(out, "What", na(&self.what));
        pair(out, "File System Type", na(&self.fs_type));
        pair(out, "Options", na(&self.options));
        pair(out, "DirectoryMode", format!("{:04o}", self.directory_mode));
        pair(out, "SloppyOptions", yes_no(self.sloppy_options));
        pair(out, "LazyUnmount", yes_no(self.lazy_unmount));
        pair(out, "ForceUnmount", yes_no(self.force_unmount));
        pair(out, "ReadWriteOnly", yes_no(self.read_write_only));
        pair(out, "TimeoutSec", span(self.timeout));
    }
}

const fn d(name: &'static str, apply: ApplyFn<MountSettings>) -> Directive<MountSettings> {
    Directive {
        name,
        apply,
        support: Support::Parsed,
    }
}

fn string_printf(
    field: &mut Option<String>,
    ctx: &ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    *field = unit_string(ctx, value)?;
    Ok(())
}

/// Every key of 248's `Mount.*` gperf lines besides the exec, kill and cgroup items.
pub(crate) static MOUNT_DIRECTIVES: &[Directive<MountSettings>] = &[
    d("What", |s, ctx, v| string_printf(&mut s.what, ctx, v)),
    d("Where", |s, ctx, v| {
        s.r#where = unit_path(ctx, v, false)?;
        Ok(())
    }),
    d("Options", |s, ctx, v| string_printf(&mut s.options, ctx, v)),
    d("Type", |s, ctx, v| string_printf(&mut s.fs_type, ctx, v)),
    d("TimeoutSec", |s, ctx, v| {
        s.timeout = sec_fix_0(ctx.key, v)?;
        Ok(())
    }),
    d("DirectoryMode", |s, _, v| {
        set_mode(&mut s.directory_mode, v)
    }),
    d("SloppyOptions", |s, _, v| {
        set_bool(&mut s.sloppy_options, v)
    }),
    d("LazyUnmount", |s, _, v| set_bool(&mut s.lazy_unmount, v)),
    d("ForceUnmount", |s, _, v| set_bool(&mut s.force_unmount, v)),
    d("ReadWriteOnly", |s, _, v| {
        set_bool(&mut s.read_write_only, v)
    }),
];

/// Test support shared by the per-type section modules.
#[cfg(test)]
pub(crate) mod testing {
    use keel_core::specifier::SpecifierContext;
    use keel_core::unit_name::UnitName;

    use crate::model::directive::{Directive, ParseCtx, SettingError, find};

    /// Applies `key=value` to `s` through `table` as the loader does, for unit `unit`;
    /// returns the result and the warnings.
    pub(crate) fn apply_in<T>(
        table: &'static [Directive<T>],
        unit: &str,
        s: &mut T,
        key: &str,
        value: &str,
    ) -> (Result<(), SettingError>, Vec<String>) {
        let unit = UnitName::new(unit).unwrap();
        let spec = SpecifierContext::default();
        let mut ctx = ParseCtx::new(&unit, &spec, key);
        let d = find(table, key).unwrap_or_else(|| panic!("{key} not in table"));
        let r = (d.apply)(s, &mut ctx, value);
        (r, ctx.warnings)
    }

    /// The message of an invalid (non-fatal) assignment.
    pub(crate) fn invalid(r: Result<(), SettingError>) -> String {
        match r {
            Err(e @ SettingError::Invalid { .. }) => e.to_string(),
            other => panic!("expected an invalid-value error, got {other:?}"),
        }
    }

    /// The message of a fatal assignment.
    pub(crate) fn fatal(r: Result<(), SettingError>) -> String {
        match r {
            Err(e @ SettingError::Fatal { .. }) => e.to_string(),
            other => panic!("expected a fatal error, got {other:?}"),
        }
    }

    /// Asserts that every name in `table` is unique and that the table holds exactly `keys`.
    pub(crate) fn check_table<T>(table: &'static [Directive<T>], keys: &[&str]) {
        let mut seen = std::collections::HashSet::new();
        for d in table {
            assert!(seen.insert(d.name), "duplicate directive {}", d.name);
        }
        let mut names: Vec<&str> = table.iter().map(|d| d.name).collect();
        let mut want: Vec<&str> = keys.to_vec();
        names.sort_unstable();
        want.sort_unstable();
        assert_eq!(names, want);
    }

    /// Renders dump pairs as systemd prints them (`\tLabel: value\n`).
    pub(crate) fn render(pairs: &[(String, String)]) -> String {
        pairs.iter().map(|(k, v)| format!("\t{k}: {v}\n")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{apply_in, check_table, invalid, render};
    use super::*;

    fn apply(s: &mut MountSettings, key: &str, value: &str) -> Result<(), SettingError> {
        apply_in(MOUNT_DIRECTIVES, "mnt-data.mount", s, key, value).0
    }

    #[test]
    fn table() {
        check_table(
            MOUNT_DIRECTIVES,
            &[
                "What",
                "Where",
                "Options",
                "Type",
                "TimeoutSec",
                "DirectoryMode",
                "SloppyOptions",
                "LazyUnmount",
                "ForceUnmount",
                "ReadWriteOnly",
            ],
        );
    }

    #[test]
    fn defaults() {
        let s = MountSettings::default();
        assert_eq!(s.directory_mode, 0o755);
        assert_eq!(s.timeout, Usec::from_secs(90));
        assert!(s.what.is_none() && s.r#where.is_none());
        assert!(!s.sloppy_options && !s.lazy_unmount && !s.force_unmount && !s.read_write_only);
    }

    #[test]
    fn every_key() {
        let mut s = MountSettings::default();
        apply(&mut s, "What", "/dev/disk/by-label/%n").unwrap();
        assert_eq!(s.what.as_deref(), Some("/dev/disk/by-label/mnt-data.mount"));
        apply(&mut s, "Where", "/mnt//data/").unwrap();
        assert_eq!(s.r#where, Some(PathBuf::from("/mnt/data")));
        apply(&mut s, "Type", "ext4").unwrap();
        apply(&mut s, "Options", "noatime,ro").unwrap();
        apply(&mut s, "TimeoutSec", "2min").unwrap();
        apply(&mut s, "DirectoryMode", "0700").unwrap();
        for k in [
            "SloppyOptions",
            "LazyUnmount",
            "ForceUnmount",
            "ReadWriteOnly",
        ] {
            apply(&mut s, k, "yes").unwrap();
        }
        assert_eq!(s.fs_type.as_deref(), Some("ext4"));
        assert_eq!(s.options.as_deref(), Some("noatime,ro"));
        assert_eq!(s.timeout, Usec::from_secs(120));
        assert_eq!(s.directory_mode, 0o700);
        assert!(s.sloppy_options && s.lazy_unmount && s.force_unmount && s.read_write_only);
        assert_eq!(s.verify(Some("/mnt/data")), Ok(()));
        assert_eq!(
            s.verify(Some("/other")),
            Err("Where= setting doesn't match unit name. Refusing.".into())
        );
        apply(&mut s, "TimeoutSec", "0").unwrap();
        assert_eq!(s.timeout, Usec::INFINITY);
        // Empty values reset the strings.
        apply(&mut s, "Options", "").unwrap();
        apply(&mut s, "Where", "").unwrap();
        apply(&mut s, "What", "").unwrap();
        assert!(s.options.is_none() && s.r#where.is_none());
        assert_eq!(
            s.verify(Some("/mnt/data")),
            Err("What= setting is missing. Refusing.".into())
        );
    }

    #[test]
    fn invalid_values_keep_the_previous_value() {
        let mut s = MountSettings::default();
        assert_eq!(
            invalid(apply(&mut s, "TimeoutSec", "soon")),
            "Failed to parse TimeoutSec= parameter, ignoring: soon"
        );
        assert_eq!(s.timeout, Usec::from_secs(90));
        assert_eq!(
            invalid(apply(&mut s, "DirectoryMode", "999")),
            "Failed to parse mode value, ignoring: 999"
        );
        assert_eq!(s.directory_mode, 0o755);
        assert_eq!(
            invalid(apply(&mut s, "LazyUnmount", "maybe")),
            "Failed to parse boolean value, ignoring: maybe"
        );
        assert_eq!(
            invalid(apply(&mut s, "Where", "relative/path")),
            "Where= path is not absolute, ignoring: relative/path"
        );
        assert_eq!(
            invalid(apply(&mut s, "What", "%Z")),
            "Failed to resolve unit specifiers in '%Z', ignoring: unknown specifier %Z"
        );
        assert!(s.r#where.is_none() && s.what.is_none());
    }

    #[test]
    fn dump_lines() {
        let mut s = MountSettings::default();
        apply(&mut s, "What", "/dev/sda1").unwrap();
        let mut out = Vec::new();
        s.dump(Some("/mnt/data"), &mut out);
        assert_eq!(
            render(&out),
            "\tWhere: /mnt/data\n\tWhat: /dev/sda1\n\tFile System Type: n/a\n\tOptions: n/a\n\
             \tDirectoryMode: 0755\n\tSloppyOptions: no\n\
             \tLazyUnmount: no\n\tForceUnmount: no\n\tReadWriteOnly: no\n\tTimeoutSec: 1min 30s\n"
        );
    }
}
