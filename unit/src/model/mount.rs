//! The `[Mount]` section (248's `Mount.*` gperf lines besides the shared exec, kill and
//! resource-control keys), and value helpers shared with `[Swap]`, `[Automount]`, `[Path]`.

use keel_core::time::{Usec, USEC_PER_SEC, format_timespan};
use serde::Serialize;

use super::directive::{ApplyFn, Directive, ParseCtx, SettingError, Support};
use super::exec::value::{PathCheck, expand, mode, set_bool, simplify_path};

/// The mount settings with systemd 248's defaults (`mount_init`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MountSettings {
    /// `What=`
    pub what: Option<String>,
    /// `Where=` (must be the path the unit name stands for)
    pub r#where: Option<String>,
    /// `Type=`
    pub fs_type: Option<String>,
    /// `Options=`
    pub options: Option<String>,
    /// `SloppyOptions=` (default no)
    pub sloppy_options: bool,
    /// `LazyUnmount=` (default no)
    pub lazy_unmount: bool,
    /// `ForceUnmount=` (default no)
    pub force_unmount: bool,
    /// `ReadWriteOnly=` (default no)
    pub read_write_only: bool,
    /// `DirectoryMode=` (default 0755)
    pub directory_mode: u32,
    /// `TimeoutSec=` (default 90s)
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

fn string(field: &mut Option<String>, ctx: &ParseCtx<'_>, v: &str) -> Result<(), SettingError> {
    *field = if v.is_empty() { None } else { Some(expand(ctx, v)?) };
    Ok(())
}

fn path(field: &mut Option<String>, ctx: &ParseCtx<'_>, v: &str) -> Result<(), SettingError> {
    if v.is_empty() {
        *field = None;
        return Ok(());
    }
    let p = expand(ctx, v)?;
    *field = Some(simplify_path(ctx.key, &p, PathCheck::Absolute, false)?);
    Ok(())
}

const fn dm(name: &'static str, apply: ApplyFn<MountSettings>) -> Directive<MountSettings> {
    Directive {
        name,
        apply,
        support: Support::Parsed,
    }
}

/// The keys of 248's `Mount.*` gperf lines.
pub(crate) static MOUNT_DIRECTIVES: &[Directive<MountSettings>] = &[
    dm("What", |s, c, v| string(&mut s.what, c, v)),
    dm("Where", |s, c, v| path(&mut s.r#where, c, v)),
    dm("Options", |s, c, v| string(&mut s.options, c, v)),
    dm("Type", |s, c, v| string(&mut s.fs_type, c, v)),
    dm("TimeoutSec", |s, c, v| {
        s.timeout = sec_fix_0(c.key, v)?;
        Ok(())
    }),
    dm("DirectoryMode", |s, _, v| {
        s.directory_mode = mode(v)?;
        Ok(())
    }),
    dm("SloppyOptions", |s, _, v| set_bool(&mut s.sloppy_options, v)),
    dm("LazyUnmount", |s, _, v| set_bool(&mut s.lazy_unmount, v)),
    dm("ForceUnmount", |s, _, v| set_bool(&mut s.force_unmount, v)),
    dm("ReadWriteOnly", |s, _, v| set_bool(&mut s.read_write_only, v)),
];

impl MountSettings {
    /// 248's `mount_verify` for a unit named `name` (path `unit_path`).
    pub fn verify(&self, unit_path: Option<&str>) -> Result<(), String> {
        if let (Some(w), Some(p)) = (&self.r#where, unit_path) {
            if w != p {
                return Err("Where= setting doesn't match unit name. Refusing.".into());
            }
        }
        if self.what.is_none() {
            return Err("What= setting is missing. Refusing.".into());
        }
        Ok(())
    }

    pub(crate) fn dump(&self, unit_path: Option<&str>, out: &mut Vec<(String, String)>) {
        let yn = |b: bool| keel_core::boolean::yes_no(b).to_owned();
        let mut l = |k: &str, v: String| out.push((k.to_owned(), v));
        let na = |o: &Option<String>| o.clone().unwrap_or_else(|| "n/a".into());
        l("Where", self.r#where.clone().or(unit_path.map(str::to_owned)).unwrap_or_else(|| "n/a".into()));
        l("What", na(&self.what));
        l("File System Type", na(&self.fs_type));
        l("Options", na(&self.options));
        l("DirectoryMode", format!("{:04o}", self.directory_mode));
        l("SloppyOptions", yn(self.sloppy_options));
        l("LazyUnmount", yn(self.lazy_unmount));
        l("ForceUnmount", yn(self.force_unmount));
        l("ReadWriteOnly", yn(self.read_write_only));
        l("TimeoutSec", span(self.timeout));
    }
}

/// Helpers for the section tests of this and the sibling modules.
#[cfg(test)]
pub(crate) mod testing {
    use keel_core::specifier::SpecifierContext;
    use keel_core::unit_name::UnitName;

    use crate::model::directive::{Directive, ParseCtx, SettingError};

    /// Applies `key=value` from `table` to `s` as unit `unit`; returns the result and the
    /// warnings.
    pub(crate) fn apply_in<T>(
        table: &'static [Directive<T>],
        unit: &str,
        s: &mut T,
        key: &str,
        value: &str,
    ) -> (Result<(), SettingError>, Vec<String>) {
        let unit = UnitName::new(unit).unwrap_or_else(|e| panic!("{e}"));
        let spec = SpecifierContext::default();
        let mut ctx = ParseCtx::new(&unit, &spec, key);
        let d = table
            .iter()
            .find(|d| d.name == key)
            .unwrap_or_else(|| panic!("no directive {key}"));
        let r = (d.apply)(s, &mut ctx, value);
        (r, ctx.warnings)
    }

    /// The table holds exactly `names`, each once.
    pub(crate) fn check_table<T>(table: &'static [Directive<T>], names: &[&str]) {
        let got: Vec<&str> = table.iter().map(|d| d.name).collect();
        let mut sorted = got.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), got.len(), "duplicate names in {got:?}");
        let mut want = names.to_vec();
        want.sort_unstable();
        assert_eq!(sorted, want);
    }

    /// The message of an ignorable error.
    pub(crate) fn invalid(r: Result<(), SettingError>) -> String {
        match r {
            Err(SettingError::Invalid { message }) => message,
            other => panic!("expected an ignorable error, got {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::specifier::SpecifierContext;
    use keel_core::unit_name::UnitName;

    #[test]
    fn mount_keys() {
        let unit = UnitName::new("srv-data.mount").unwrap_or_else(|e| panic!("{e}"));
        let spec = SpecifierContext::default();
        let mut s = MountSettings::default();
        for (k, v) in [("What", "/dev/disk/by-label/data"), ("Where", "/srv//data/"), ("Type", "ext4"), ("Options", "noatime"), ("LazyUnmount", "yes"), ("TimeoutSec", "10s")] {
            let mut c = ParseCtx::new(&unit, &spec, k);
            let d = MOUNT_DIRECTIVES.iter().find(|d| d.name == k).unwrap_or_else(|| panic!("{k}"));
            assert_eq!((d.apply)(&mut s, &mut c, v), Ok(()), "{k}");
        }
        assert_eq!(s.r#where.as_deref(), Some("/srv/data"));
        assert!(s.lazy_unmount);
        assert_eq!(s.timeout, Usec::from_secs(10));
        assert_eq!(s.verify(Some("/srv/data")), Ok(()));
        assert!(s.verify(Some("/other")).is_err());
        let mut c = ParseCtx::new(&unit, &spec, "Where");
        assert!((MOUNT_DIRECTIVES[1].apply)(&mut s, &mut c, "relative").is_err());
    }
}

/// `DirectoryMode=`-style octal modes.
pub(crate) fn set_mode(field: &mut u32, v: &str) -> Result<(), SettingError> {
    *field = mode(v)?;
    Ok(())
}

/// `config_parse_sec_fix_0` ("0" means infinity).
pub(crate) fn sec_fix_0(key: &str, v: &str) -> Result<Usec, SettingError> {
    keel_core::time::parse_sec_fix_0(v).map_err(|_| {
        SettingError::invalid(format!("Failed to parse {key}= parameter, ignoring: {v}"))
    })
}

/// A span as dumps print it (1 s accuracy).
pub(crate) fn span(u: Usec) -> String {
    format_timespan(u, Usec(USEC_PER_SEC))
}
