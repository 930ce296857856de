//! The keys of `[Path]` (`Path.*` of systemd 248's gperf table), with `path_init`'s defaults
//! and the setting lines of 248's `path_dump` (systemd.path(5) of 248).
//!
//! `TriggerLimitIntervalSec=` and `TriggerLimitBurst=` for paths (250) are deliberately
//! absent.

use std::path::PathBuf;

use keel_core::boolean::yes_no;
use keel_core::unit_name::{UnitName, UnitType};
use serde::Serialize;

use super::directive::{ApplyFn, Directive, ParseCtx, SettingError, Support};
use super::exec::choice;
use super::exec::value::{PathCheck, set_bool, simplify_path};
use super::mount::{pair, set_mode};
use super::timer::trigger_unit;

choice! {
    /// What a path unit watches for (`path_type_to_string`: the key that set it).
    PathType {
        Exists = "PathExists", ExistsGlob = "PathExistsGlob",
        DirectoryNotEmpty = "DirectoryNotEmpty", Changed = "PathChanged",
        Modified = "PathModified"
    }
}

/// One watched path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PathSpec {
    /// The condition (`PathExists=`, …).
    pub kind: PathType,
    /// The path (or glob), absolute and simplified.
    pub path: PathBuf,
}

/// The `[Path]` settings with systemd 248's defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PathSettings {
    /// `PathExists=`, `PathExistsGlob=`, `PathChanged=`, `PathModified=`,
    /// `DirectoryNotEmpty=`: the watched paths in file order (an empty value of any of them
    /// clears all).
    #[doc(alias = "PathExists=")]
    #[doc(alias = "PathChanged=")]
    pub specs: Vec<PathSpec>,
    /// `Unit=`: the unit to trigger (default unset: the service of the same name, see
    /// [`PathSettings::target`]).
    #[doc(alias = "Unit=")]
    pub unit: Option<UnitName>,
    /// `MakeDirectory=` (default no)
    #[doc(alias = "MakeDirectory=")]
    pub make_directory: bool,
    /// `DirectoryMode=` (default `0755`)
    #[doc(alias = "DirectoryMode=")]
    pub directory_mode: u32,
}

impl Default for PathSettings {
    fn default() -> Self {
        Self {
            specs: Vec::new(),
            unit: None,
            make_directory: false,
            directory_mode: 0o755,
        }
    }
}

impl PathSettings {
    /// The unit this path unit starts: `Unit=`, else the service of the same name.
    pub fn target(&self, name: &UnitName) -> UnitName {
        self.unit
            .clone()
            .unwrap_or_else(|| name.with_type(UnitType::Service))
    }

    /// 248's `path_verify`: a path unit needs at least one path.
    ///
    /// # Errors
    ///
    /// The message systemd logs before refusing the unit (`bad-setting`).
    pub fn verify(&self) -> Result<(), String> {
        if self.specs.is_empty() {
            return Err("Path unit lacks path setting. Refusing.".into());
        }
        Ok(())
    }

    /// The setting lines of 248's `path_dump` for the unit `name` as `(label, value)` pairs,
    /// without the run-time lines (`Path State:`, `Result:`); the paths come newest first,
    /// as systemd keeps them.
    pub(crate) fn dump(&self, name: &UnitName, out: &mut Vec<(String, String)>) {
        pair(out, "Unit", self.target(name));
        pair(out, "MakeDirectory", yes_no(self.make_directory));
        pair(out, "DirectoryMode", format!("{:04o}", self.directory_mode));
        for s in self.specs.iter().rev() {
            pair(out, s.kind.as_str(), s.path.display());
        }
    }
}

/// `config_parse_path_spec`.
fn apply_spec(
    s: &mut PathSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.specs.clear();
        return Ok(());
    }
    let kind: PathType = ctx.key.parse().map_err(|()| {
        SettingError::invalid(format!("Failed to parse path type, ignoring: {}", ctx.key))
    })?;
    let k = keel_core::specifier::expand_unit_specifiers(value, ctx.unit, ctx.specifiers).map_err(
        |e| {
            SettingError::invalid(format!(
                "Failed to resolve unit specifiers in {value}, ignoring: {e}"
            ))
        },
    )?;
    let path = simplify_path(ctx.key, &k, PathCheck::Absolute, false)?;
    s.specs.push(PathSpec {
        kind,
        path: PathBuf::from(path),
    });
    Ok(())
}

const fn d(name: &'static str, apply: ApplyFn<PathSettings>) -> Directive<PathSettings> {
    Directive {
        name,
        apply,
        support: Support::Parsed,
    }
}

/// Every key of 248's `Path.*` gperf lines.
pub(crate) static PATH_DIRECTIVES: &[Directive<PathSettings>] = &[
    d("PathExists", apply_spec),
    d("PathExistsGlob", apply_spec),
    d("PathChanged", apply_spec),
    d("PathModified", apply_spec),
    d("DirectoryNotEmpty", apply_spec),
    d("Unit", |s, ctx, v| {
        s.unit = Some(trigger_unit(s.unit.as_ref(), ctx, v)?);
        Ok(())
    }),
    d("MakeDirectory", |s, _, v| {
        set_bool(&mut s.make_directory, v)
    }),
    d("DirectoryMode", |s, _, v| {
        set_mode(&mut s.directory_mode, v)
    }),
];

#[cfg(test)]
mod tests {
    use super::super::mount::testing::{apply_in, check_table, invalid, render};
    use super::*;

    fn apply(s: &mut PathSettings, key: &str, value: &str) -> Result<(), SettingError> {
        apply_in(PATH_DIRECTIVES, "spool.path", s, key, value).0
    }

    #[test]
    fn table() {
        check_table(
            PATH_DIRECTIVES,
            &[
                "PathExists",
                "PathExistsGlob",
                "PathChanged",
                "PathModified",
                "DirectoryNotEmpty",
                "Unit",
                "MakeDirectory",
                "DirectoryMode",
            ],
        );
    }

    #[test]
    fn defaults() {
        let s = PathSettings::default();
        assert!(s.specs.is_empty() && s.unit.is_none() && !s.make_directory);
        assert_eq!(s.directory_mode, 0o755);
        assert_eq!(
            s.verify(),
            Err("Path unit lacks path setting. Refusing.".into())
        );
    }

    #[test]
    fn every_key_and_dump() {
        let mut s = PathSettings::default();
        apply(&mut s, "PathExists", "/run/a").unwrap();
        apply(&mut s, "PathExistsGlob", "/run/*.req").unwrap();
        apply(&mut s, "PathChanged", "/etc//%N.conf").unwrap();
        apply(&mut s, "PathModified", "/var/log/x").unwrap();
        apply(&mut s, "DirectoryNotEmpty", "/var/spool/x/").unwrap();
        apply(&mut s, "Unit", "printer.service").unwrap();
        apply(&mut s, "MakeDirectory", "true").unwrap();
        apply(&mut s, "DirectoryMode", "0750").unwrap();
        assert_eq!(s.specs.len(), 5);
        assert_eq!(s.specs[2].kind, PathType::Changed);
        assert_eq!(s.specs[2].path, PathBuf::from("/etc/spool.conf"));
        assert_eq!(s.specs[4].path, PathBuf::from("/var/spool/x"));
        assert_eq!(s.verify(), Ok(()));
        let mut out = Vec::new();
        s.dump(&UnitName::new("spool.path").unwrap(), &mut out);
        assert_eq!(
            render(&out),
            "\tUnit: printer.service\n\tMakeDirectory: yes\n\tDirectoryMode: 0750\n\
             \tDirectoryNotEmpty: /var/spool/x\n\tPathModified: /var/log/x\n\
             \tPathChanged: /etc/spool.conf\n\tPathExistsGlob: /run/*.req\n\tPathExists: /run/a\n"
        );
        apply(&mut s, "PathModified", "").unwrap();
        assert!(s.specs.is_empty());
    }

    #[test]
    fn invalid_values() {
        let mut s = PathSettings::default();
        apply(&mut s, "PathExists", "/a").unwrap();
        assert_eq!(
            invalid(apply(&mut s, "PathExists", "relative")),
            "PathExists= path is not absolute, ignoring: relative"
        );
        assert_eq!(
            invalid(apply(&mut s, "PathChanged", "/a/../b")),
            "PathChanged= path is not normalized, ignoring: /a/../b"
        );
        assert_eq!(
            invalid(apply(&mut s, "PathChanged", "/%Z")),
            "Failed to resolve unit specifiers in /%Z, ignoring: unknown specifier %Z"
        );
        assert_eq!(s.specs.len(), 1);
        assert_eq!(
            invalid(apply(&mut s, "MakeDirectory", "2")),
            "Failed to parse boolean value, ignoring: 2"
        );
        assert_eq!(
            invalid(apply(&mut s, "Unit", "spool.path")),
            "Units cannot trigger themselves, ignoring: spool.path"
        );
        let fresh = PathSettings::default();
        let t = fresh.target(&UnitName::new("a@b.path").unwrap());
        assert_eq!(t.as_str(), "a@b.service");
    }
}
