//! The `[Install]` section (`Alias=`, `WantedBy=`, `RequiredBy=`, `Also=`,
//! `DefaultInstance=`), read as `systemctl enable` reads it (`src/shared/install.c`): the
//! manager itself ignores it.

use keel_core::specifier::{INSTALL_SPECIFIERS, expand_specifiers_limited};
use keel_core::unit_name::UnitName;
use keel_core::word::ExtractFlags;
use serde::Serialize;

use super::directive::{ApplyFn, Directive, ParseCtx, SettingError, Support};
use super::exec::value::Words;

/// The `[Install]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct InstallSection {
    /// `Alias=`: further names, made as symlinks on enable.
    pub alias: Vec<UnitName>,
    /// `WantedBy=`: units whose `.wants/` gets a symlink on enable.
    pub wanted_by: Vec<UnitName>,
    /// `RequiredBy=`: units whose `.requires/` gets a symlink on enable.
    pub required_by: Vec<UnitName>,
    /// `Also=`: units enabled together with this one.
    pub also: Vec<UnitName>,
    /// `DefaultInstance=`: the instance enabled for a template.
    pub default_instance: Option<String>,
}

fn names(
    list: &mut Vec<UnitName>,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        list.clear();
        return Ok(());
    }
    // Plain words (no quotes, escapes or specifiers): no unquoting or expansion needed.
    if !value.contains(['%', '"', '\'', '\\']) {
        for name in value
            .split([' ', '\t', '\n', '\r'])
            .filter(|w| !w.is_empty())
        {
            match UnitName::new(name) {
                Ok(u) if !list.contains(&u) => list.push(u),
                Ok(_) => {}
                Err(_) => ctx.warn(format!(
                    "Invalid unit name in {}=, ignoring: {name}",
                    ctx.key
                )),
            }
        }
        return Ok(());
    }
    for word in Words::new(value, ExtractFlags::UNQUOTE | ExtractFlags::RELAX) {
        let Ok(word) = word else {
            return Err(SettingError::invalid(format!(
                "Invalid syntax, ignoring: {value}"
            )));
        };
        let name =
            match expand_specifiers_limited(&word, ctx.unit, ctx.specifiers, INSTALL_SPECIFIERS) {
                Ok(n) => n,
                Err(e) => {
                    ctx.warn(format!(
                        "Failed to resolve specifiers in {word}, ignoring: {e}"
                    ));
                    continue;
                }
            };
        match UnitName::new(&name) {
            Ok(u) if !list.contains(&u) => list.push(u),
            Ok(_) => {}
            Err(_) => ctx.warn(format!(
                "Invalid unit name in {}=, ignoring: {name}",
                ctx.key
            )),
        }
    }
    Ok(())
}

const fn d(name: &'static str, apply: ApplyFn<InstallSection>) -> Directive<InstallSection> {
    Directive {
        name,
        apply,
        support: Support::Parsed,
    }
}

/// The keys of 248's `Install.*` gperf lines.
pub(crate) static INSTALL_DIRECTIVES: &[Directive<InstallSection>] = &[
    d("Alias", |s, ctx, v| names(&mut s.alias, ctx, v)),
    d("WantedBy", |s, ctx, v| names(&mut s.wanted_by, ctx, v)),
    d("RequiredBy", |s, ctx, v| names(&mut s.required_by, ctx, v)),
    d("Also", |s, ctx, v| names(&mut s.also, ctx, v)),
    d("DefaultInstance", |s, ctx, v| {
        if v.is_empty() {
            s.default_instance = None;
            return Ok(());
        }
        let inst = expand_specifiers_limited(v, ctx.unit, ctx.specifiers, INSTALL_SPECIFIERS)
            .map_err(|e| {
                SettingError::invalid(format!(
                    "Failed to resolve instance name in DefaultInstance=\"{v}\", ignoring: {e}"
                ))
            })?;
        s.default_instance = Some(inst);
        Ok(())
    }),
];
