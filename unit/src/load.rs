//! Loading units as systemd 248's `unit_load_fragment` + `config_parse` do: the fragment,
//! then every drop-in, each `Key=value` dispatched through the directive tables of its
//! section, then the load-time fix-ups and checks (`service_add_extras`, `service_verify`).
//!
//! Problems never abort loading other units and never panic: an ignorable one becomes a
//! warning with file, line and column; a fatal one (systemd's `ENOEXEC`) stops reading the
//! unit and gives it the state [`LoadState::BadSetting`], as in systemd.

use std::path::Path;

use keel_core::specifier::SpecifierContext;
use keel_core::unit_name::{UnitName, UnitType};

use crate::diag::Diagnostic;
use crate::lex::{Item, lex};
use crate::lookup::{LookupError, UnitLookup};
use crate::model::directive::{Index, ParseCtx, SettingError};
use crate::model::unit_section::{Dependency, apply_condition};
use crate::model::{
    LoadState, Unit, UnitKind, automount, cgroup, exec, install, kill, mount, path, scope,
    section_name, service, socket, swap, timer, unit_section,
};

/// Reads a unit file or drop-in. Unit files are small: one `open` and a read into a
/// 4 KiB buffer (growing as needed) instead of `std::fs::read`'s extra `statx` per file.
fn read_unit_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let f = std::fs::File::open(path)?;
    let mut buf = Vec::with_capacity(4096);
    // Through `Take` the generic `read_to_end` is used, which asks no size hint from the
    // file (no `statx`/`lseek`); unit files are small and a large one just grows `buf`.
    f.take(u64::MAX).read_to_end(&mut buf)?;
    Ok(buf)
}

/// A unit and what loading it said.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoadedUnit {
    /// The unit (check [`Unit::load_state`]).
    pub unit: Unit,
    /// Every warning and error, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

/// Loading could not even start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// Resolving the unit's files failed.
    #[error("cannot look up unit files")]
    Lookup(#[from] LookupError),
}

/// Loads units from one search path.
#[derive(Debug, Clone)]
pub struct UnitLoader {
    lookup: UnitLookup,
    specifiers: SpecifierContext,
}

/// The section an assignment is in, as far as dispatch is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sect {
    None,
    Unit,
    Install,
    Type,
    Ignored,
}

/// Reads one file's assignments into `unit`. Returns `Err(())` after a fatal error (already
/// recorded in `diags`).
fn apply_file(
    unit: &mut Unit,
    text: &[u8],
    path: Option<&Path>,
    specifiers: &SpecifierContext,
    diags: &mut Vec<Diagnostic>,
) -> Result<(), LoadState> {
    let lexed = match lex(text, path) {
        Ok(l) => l,
        Err(e) => {
            diags.push(Diagnostic::error(
                path,
                e.line(),
                format!("Failed to parse file: {e}"),
            ));
            return Err(LoadState::Error);
        }
    };
    diags.extend(lexed.diagnostics);
    let name = unit.name.clone();
    let type_section = section_name(name.unit_type());
    let mut sect = Sect::None;
    let mut sect_name = String::new();
    for item in lexed.items {
        match item {
            Item::Section(s) => {
                sect_name = s.name.into_owned();
                sect = match sect_name.as_str() {
                    "Unit" => Sect::Unit,
                    "Install" => Sect::Install,
                    n if n == type_section => Sect::Type,
                    n if n.starts_with("X-") => Sect::Ignored,
                    n => {
                        diags.push(Diagnostic::warning(
                            path,
                            s.line,
                            format!("Unknown section '{n}'. Ignoring."),
                        ));
                        Sect::Ignored
                    }
                };
            }
            Item::Assignment(a) => {
                let key: &str = &a.key;
                let value: &str = &a.value;
                if sect == Sect::Ignored {
                    continue;
                }
                if sect == Sect::None {
                    diags.push(Diagnostic::warning(
                        path,
                        a.line,
                        "Assignment outside of section. Ignoring.",
                    ));
                    continue;
                }
                let mut ctx = ParseCtx::new(&name, specifiers, key);
                let r = dispatch(unit, sect, key, value, &mut ctx);
                for w in ctx.warnings {
                    diags.push(Diagnostic::warning(path, a.line, w).at_column(a.value_column));
                }
                for n in ctx.notices {
                    diags.push(Diagnostic::notice(path, a.line, n).at_column(a.value_column));
                }
                match r {
                    Some(Ok(())) => {}
                    Some(Err(e)) if e.is_fatal() => {
                        diags.push(
                            Diagnostic::error(path, a.line, e.to_string())
                                .at_column(a.value_column),
                        );
                        return Err(LoadState::BadSetting);
                    }
                    Some(Err(e)) => {
                        diags.push(
                            Diagnostic::warning(path, a.line, e.to_string())
                                .at_column(a.value_column),
                        );
                    }
                    None if key.starts_with("X-") => {}
                    None => {
                        unit.unsupported.push(crate::model::RawSetting {
                            section: sect_name.clone(),
                            key: key.to_owned(),
                            value: value.to_owned(),
                            path: path.map(Path::to_path_buf),
                            line: a.line,
                        });
                        diags.push(
                            Diagnostic::warning(
                                path,
                                a.line,
                                format!(
                                    "Unknown key name '{key}' in section '{sect_name}', ignoring."
                                ),
                            )
                            .at_column(a.key_column),
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

static UNIT_INDEX: Index<unit_section::UnitSection> = Index::new(unit_section::UNIT_DIRECTIVES);
static INSTALL_INDEX: Index<install::InstallSection> = Index::new(install::INSTALL_DIRECTIVES);
static SERVICE_INDEX: Index<service::ServiceSettings> = Index::new(service::SERVICE_DIRECTIVES);
static EXEC_INDEX: Index<exec::ExecSettings> = Index::new(exec::EXEC_DIRECTIVES);
static KILL_INDEX: Index<kill::KillSettings> = Index::new(kill::KILL_DIRECTIVES);
static CGROUP_INDEX: Index<cgroup::CGroupSettings> = Index::new(cgroup::CGROUP_DIRECTIVES);
static SOCKET_INDEX: Index<socket::SocketSettings> = Index::new(socket::SOCKET_DIRECTIVES);
static TIMER_INDEX: Index<timer::TimerSettings> = Index::new(timer::TIMER_DIRECTIVES);
static MOUNT_INDEX: Index<mount::MountSettings> = Index::new(mount::MOUNT_DIRECTIVES);
static SWAP_INDEX: Index<swap::SwapSettings> = Index::new(swap::SWAP_DIRECTIVES);
static AUTOMOUNT_INDEX: Index<automount::AutomountSettings> =
    Index::new(automount::AUTOMOUNT_DIRECTIVES);
static PATH_INDEX: Index<path::PathSettings> = Index::new(path::PATH_DIRECTIVES);
static SCOPE_INDEX: Index<scope::ScopeSettings> = Index::new(scope::SCOPE_DIRECTIVES);

fn try_table<T>(
    table: &'static Index<T>,
    target: &mut T,
    key: &str,
    value: &str,
    ctx: &mut ParseCtx<'_>,
) -> Option<Result<(), SettingError>> {
    table.get(key).map(|d| (d.apply)(target, ctx, value))
}

/// Applies one assignment; `None` when the key is unknown in that section.
fn dispatch(
    unit: &mut Unit,
    sect: Sect,
    key: &str,
    value: &str,
    ctx: &mut ParseCtx<'_>,
) -> Option<Result<(), SettingError>> {
    match sect {
        Sect::Unit => try_table(&UNIT_INDEX, &mut unit.unit, key, value, ctx)
            .or_else(|| apply_condition(&mut unit.unit, ctx, key, value)),
        Sect::Install => try_table(&INSTALL_INDEX, &mut unit.install, key, value, ctx),
        Sect::Type => {
            let own = match &mut unit.kind {
                UnitKind::Service(s) => {
                    let r = try_table(&SERVICE_INDEX, &mut **s, key, value, ctx);
                    // `[Service]` compatibility keys that set `[Unit]` settings.
                    for (k, v) in std::mem::take(&mut s.unit_compat) {
                        let mut c = ParseCtx::new(ctx.unit, ctx.specifiers, k);
                        let r2 = try_table(&UNIT_INDEX, &mut unit.unit, k, &v, &mut c);
                        ctx.warnings.append(&mut c.warnings);
                        if let Some(Err(e)) = r2 {
                            return Some(Err(e));
                        }
                    }
                    r
                }
                UnitKind::Socket(s) => try_table(&SOCKET_INDEX, &mut **s, key, value, ctx),
                UnitKind::Timer(s) => try_table(&TIMER_INDEX, &mut **s, key, value, ctx),
                UnitKind::Mount(s) => try_table(&MOUNT_INDEX, &mut **s, key, value, ctx),
                UnitKind::Swap(s) => try_table(&SWAP_INDEX, &mut **s, key, value, ctx),
                UnitKind::Automount(s) => try_table(&AUTOMOUNT_INDEX, &mut **s, key, value, ctx),
                UnitKind::Path(s) => try_table(&PATH_INDEX, &mut **s, key, value, ctx),
                UnitKind::Scope(s) => try_table(&SCOPE_INDEX, &mut **s, key, value, ctx),
                _ => None,
            };
            own.or_else(|| {
                unit.exec
                    .as_mut()
                    .and_then(|e| try_table(&EXEC_INDEX, e, key, value, ctx))
            })
            .or_else(|| {
                unit.kill
                    .as_mut()
                    .and_then(|k| try_table(&KILL_INDEX, k, key, value, ctx))
            })
            .or_else(|| {
                unit.cgroup
                    .as_mut()
                    .and_then(|c| try_table(&CGROUP_INDEX, c, key, value, ctx))
            })
        }
        Sect::None | Sect::Ignored => None,
    }
}

/// The capability numbers `unit_patch_contexts` drops from the bounding set.
const CAP_MKNOD: u32 = 27;
const CAP_SYS_RAWIO: u32 = 17;
const CAP_SYS_MODULE: u32 = 16;
const CAP_SYSLOG: u32 = 34;
const CAP_SYS_TIME: u32 = 25;
const CAP_WAKE_ALARM: u32 = 35;

/// 248's `unit_patch_contexts`: what settings imply for other settings.
fn patch_contexts(unit: &mut Unit) {
    let prefix = unit.name.prefix().to_owned();
    if let Some(ec) = unit.exec.as_mut() {
        let mut drop = |caps: &[u32]| {
            for c in caps {
                ec.capability_bounding_set.0 &= !(1u64 << c);
            }
        };
        let (pd, pkm, pkl, pc) = (
            ec.private_devices,
            ec.protect_kernel_modules,
            ec.protect_kernel_logs,
            ec.protect_clock,
        );
        if pd {
            drop(&[CAP_MKNOD, CAP_SYS_RAWIO]);
        }
        if pkm {
            drop(&[CAP_SYS_MODULE]);
        }
        if pkl {
            drop(&[CAP_SYSLOG]);
        }
        if pc {
            drop(&[CAP_SYS_TIME, CAP_WAKE_ALARM]);
        }
        if ec.dynamic_user {
            if ec.user.is_none() {
                // `user_from_unit_name`: the prefix when it is a valid user name, else a
                // hash-based `_du…` name (decided at run time by keel-exec).
                if crate::model::exec::creds::valid_user_group_name_strict(&prefix) {
                    ec.user = Some(prefix.clone());
                }
            }
            if ec.group.is_none() {
                ec.group = ec.user.clone();
            }
            ec.private_tmp = true;
            ec.remove_ipc = true;
            ec.protect_system = crate::model::exec::ProtectSystem::Strict;
            if ec.protect_home == crate::model::exec::ProtectHome::No {
                ec.protect_home = crate::model::exec::ProtectHome::ReadOnly;
            }
            ec.no_new_privileges = true;
            ec.restrict_suid_sgid = true;
        }
    }
    if let (Some(ec), Some(cc)) = (unit.exec.as_ref(), unit.cgroup.as_mut()) {
        if ec.private_devices && cc.device_policy == cgroup::DevicePolicy::Auto {
            cc.device_policy = cgroup::DevicePolicy::Closed;
        }
    }
}

/// The load-time fix-ups and checks after all files are read.
fn finish(unit: &mut Unit, diags: &mut Vec<Diagnostic>) -> Result<(), LoadState> {
    patch_contexts(unit);
    let fragment = unit.fragment_path.clone();
    let frag = fragment.as_deref();
    let success_action = unit.unit.success_action;
    let pam = unit.exec.as_ref().is_some_and(|e| e.pam_name.is_some());
    let kill_ok = unit.kill.as_ref().is_none_or(|k| {
        matches!(
            k.kill_mode,
            kill::KillMode::ControlGroup | kill::KillMode::Mixed
        )
    });
    let delegate = unit.cgroup.as_ref().is_some_and(|c| c.delegate);
    if let UnitKind::Service(s) = &mut unit.kind {
        for w in s.verify(success_action, pam, kill_ok).map_err(|e| {
            diags.push(Diagnostic::error(frag, 0, e));
            LoadState::BadSetting
        })? {
            diags.push(Diagnostic::warning(frag, 0, w));
        }
        s.finish_load(delegate);
        for sock in s.sockets.clone() {
            unit.unit.dependencies.add(Dependency::Wants, sock.clone());
            unit.unit.dependencies.add(Dependency::After, sock);
        }
    }
    crate::model::verify_kind(unit, frag, diags)?;
    Ok(())
}

impl UnitLoader {
    /// A loader over `lookup` with `specifiers` for `%` expansion.
    pub fn new(lookup: UnitLookup, specifiers: SpecifierContext) -> Self {
        Self { lookup, specifiers }
    }

    /// The name map this loader uses.
    pub fn lookup(&self) -> &UnitLookup {
        &self.lookup
    }

    /// The specifier values this loader uses.
    pub fn specifiers(&self) -> &SpecifierContext {
        &self.specifiers
    }

    /// 248 reads the drop-ins of a masked unit too (they can still set e.g. its description);
    /// nothing else happens to it.
    fn masked_dropins(
        &self,
        unit: &mut Unit,
        dropins: &[std::path::PathBuf],
        diags: &mut Vec<Diagnostic>,
    ) {
        for d in dropins {
            if let Ok(t) = read_unit_file(d) {
                unit.dropin_paths.push(d.clone());
                if apply_file(unit, &t, Some(d), &self.specifiers, diags).is_err() {
                    break;
                }
            }
        }
    }

    /// Loads `name`: fragment (an instance falls back to its template), drop-ins,
    /// `.wants/`/`.requires/`, then the load-time checks.
    ///
    /// # Errors
    /// [`LoadError`] only when the files cannot be looked up; everything wrong *in* them is
    /// in [`LoadedUnit::diagnostics`] and [`Unit::load_state`].
    pub fn load(&self, name: &UnitName) -> Result<LoadedUnit, LoadError> {
        let mut files = self.lookup.resolve_for_load(name)?;
        let mut unit = Unit::new(name.clone());
        let mut diags = std::mem::take(&mut files.diagnostics);
        unit.names = std::mem::take(&mut files.names);
        if !unit.names.contains(name) {
            unit.names.insert(0, name.clone());
        }
        unit.fragment_path = files.fragment.clone();
        if files.masked {
            self.masked_dropins(&mut unit, &files.dropins, &mut diags);
            unit.load_state = LoadState::Masked;
            return Ok(LoadedUnit {
                unit,
                diagnostics: diags,
            });
        }
        let Some(fragment) = files.fragment.clone() else {
            unit.load_state = LoadState::NotFound;
            return Ok(LoadedUnit {
                unit,
                diagnostics: diags,
            });
        };
        let text = match read_unit_file(&fragment) {
            Ok(t) => t,
            Err(e) => {
                diags.push(Diagnostic::error(
                    Some(&fragment),
                    0,
                    format!("Failed to read unit file: {e}"),
                ));
                unit.load_state = LoadState::Error;
                return Ok(LoadedUnit {
                    unit,
                    diagnostics: diags,
                });
            }
        };
        if text.is_empty() {
            self.masked_dropins(&mut unit, &files.dropins, &mut diags);
            unit.load_state = LoadState::Masked;
            return Ok(LoadedUnit {
                unit,
                diagnostics: diags,
            });
        }
        let mut state = apply_file(
            &mut unit,
            &text,
            Some(&fragment),
            &self.specifiers,
            &mut diags,
        );
        for d in &files.dropins {
            if state.is_err() {
                break;
            }
            match read_unit_file(d) {
                Ok(t) => {
                    unit.dropin_paths.push(d.clone());
                    state = apply_file(&mut unit, &t, Some(d), &self.specifiers, &mut diags);
                }
                Err(e) => diags.push(Diagnostic::warning(
                    Some(d),
                    0,
                    format!("Failed to read drop-in, ignoring: {e}"),
                )),
            }
        }
        for w in &files.wants {
            unit.unit.dependencies.add(Dependency::Wants, w.clone());
        }
        for r in &files.requires {
            unit.unit.dependencies.add(Dependency::Requires, r.clone());
        }
        unit.load_state = match state.and_then(|()| finish(&mut unit, &mut diags)) {
            Ok(()) => LoadState::Loaded,
            Err(s) => s,
        };
        Ok(LoadedUnit {
            unit,
            diagnostics: diags,
        })
    }
}

/// Parses one unit file's text as the fragment of `name`, without search paths or drop-ins
/// (for tools, fuzzing and benchmarks). The load-time checks run.
///
/// ```
/// use keel_unit::load::parse_unit_text;
/// use keel_unit::model::LoadState;
///
/// let name = "hello.service".parse()?;
/// let text = b"[Unit]\nDescription=Hi %n\n[Service]\nExecStart=/bin/echo hi\nBogus=1\n";
/// let loaded = parse_unit_text(&name, text, None, &Default::default());
/// assert_eq!(loaded.unit.load_state, LoadState::Loaded);
/// assert_eq!(loaded.unit.unit.description.as_deref(), Some("Hi hello.service"));
/// assert_eq!(loaded.diagnostics[0].message, "Unknown key name 'Bogus' in section 'Service', ignoring.");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_unit_text(
    name: &UnitName,
    text: &[u8],
    path: Option<&Path>,
    specifiers: &SpecifierContext,
) -> LoadedUnit {
    let mut unit = Unit::new(name.clone());
    unit.fragment_path = path.map(Path::to_path_buf);
    let mut diags = Vec::new();
    let state = apply_file(&mut unit, text, path, specifiers, &mut diags)
        .and_then(|()| finish(&mut unit, &mut diags));
    unit.load_state = match state {
        Ok(()) => LoadState::Loaded,
        Err(s) => s,
    };
    LoadedUnit {
        unit,
        diagnostics: diags,
    }
}

/// Whether `name`'s type is one keel models a section for (others load as
/// [`UnitKind::Other`]).
pub fn has_typed_section(t: UnitType) -> bool {
    matches!(t, UnitType::Service)
}

#[cfg(test)]
mod tests;
