//! The typed unit model: what a unit file means once systemd 248 has read it.
//!
//! A [`Unit`] holds the `[Unit]` and `[Install]` sections, the exec, kill and
//! resource-control settings shared by several unit types, and the type-specific section in
//! [`UnitKind`]. Every setting has a static directive table (name → parser); the loader
//! ([`crate::load`]) dispatches each `Key=value` through them, and
//! [`directive_names`] lists them (the coverage table in `docs/directives.md` is checked
//! against it by a test).

pub mod automount;
pub mod cgroup;
pub mod directive;
pub mod exec;
pub mod exec_command;
pub mod install;
pub mod kill;
pub mod mount;
pub mod path;
pub mod scope;
pub mod service;
pub mod socket;
pub mod swap;
pub mod timer;
pub mod unit_section;

use std::path::PathBuf;

use keel_core::unit_name::{UnitName, UnitType};
use serde::Serialize;

use cgroup::CGroupSettings;
use directive::Directive;
use exec::ExecSettings;
use install::InstallSection;
use kill::KillSettings;
use service::ServiceSettings;
use unit_section::UnitSection;

/// How far loading a unit got (systemd's `UnitLoadState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoadState {
    /// Parsed and valid.
    Loaded,
    /// No fragment was found.
    NotFound,
    /// A setting was invalid in a way that makes the unit unusable (`ENOEXEC`).
    BadSetting,
    /// The fragment could not be read or lexed.
    Error,
    /// Masked (symlink to `/dev/null`, or an empty file).
    Masked,
}

impl LoadState {
    /// As systemd prints it (`loaded`, `not-found`, `bad-setting`, `error`, `masked`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Loaded => "loaded",
            Self::NotFound => "not-found",
            Self::BadSetting => "bad-setting",
            Self::Error => "error",
            Self::Masked => "masked",
        }
    }
}

/// The type-specific part of a unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "settings", rename_all = "lowercase")]
#[non_exhaustive]
pub enum UnitKind {
    /// `.service`: `[Service]`.
    Service(Box<ServiceSettings>),
    /// `.socket`: `[Socket]`.
    Socket(Box<socket::SocketSettings>),
    /// `.timer`: `[Timer]`.
    Timer(Box<timer::TimerSettings>),
    /// `.mount`: `[Mount]`.
    Mount(Box<mount::MountSettings>),
    /// `.swap`: `[Swap]`.
    Swap(Box<swap::SwapSettings>),
    /// `.automount`: `[Automount]`.
    Automount(Box<automount::AutomountSettings>),
    /// `.path`: `[Path]`.
    Path(Box<path::PathSettings>),
    /// `.scope`: `[Scope]`.
    Scope(Box<scope::ScopeSettings>),
    /// Types without keys of their own (`.target`, `.slice`, `.device`): `[Target]` and
    /// `[Device]` have none, `[Slice]` only resource control.
    Other(UnitType),
}

/// A setting keel did not apply: an unknown key (or one in an unknown section), kept as
/// written so that nothing in a unit file is silently lost (tools can show it, later keel
/// versions may understand it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RawSetting {
    /// The section it was in.
    pub section: String,
    /// The key.
    pub key: String,
    /// The value (continuations joined).
    pub value: String,
    /// The file.
    pub path: Option<PathBuf>,
    /// 1-based line.
    pub line: u32,
}

/// A loaded unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Unit {
    /// The name it was loaded as.
    pub name: UnitName,
    /// Every name (the primary first, then aliases).
    pub names: Vec<UnitName>,
    /// How loading went.
    pub load_state: LoadState,
    /// The main unit file, if any.
    pub fragment_path: Option<PathBuf>,
    /// The drop-ins applied, in order.
    pub dropin_paths: Vec<PathBuf>,
    /// `[Unit]`.
    pub unit: UnitSection,
    /// `[Install]`.
    pub install: InstallSection,
    /// Execution settings (services, sockets, mounts, swaps).
    pub exec: Option<ExecSettings>,
    /// Kill settings (services, sockets, mounts, swaps, scopes).
    pub kill: Option<KillSettings>,
    /// Resource control (services, sockets, mounts, swaps, scopes, slices).
    pub cgroup: Option<CGroupSettings>,
    /// The type-specific section.
    pub kind: UnitKind,
    /// Settings systemd 248 does not know (each also got a warning), kept unapplied.
    pub unsupported: Vec<RawSetting>,
}

/// Which shared setting groups a unit type has, as in 248's unit vtables.
pub(crate) fn contexts(t: UnitType) -> (bool, bool, bool) {
    use UnitType::*;
    match t {
        Service | Socket | Mount | Swap => (true, true, true),
        Scope => (false, true, true),
        Slice => (false, false, true),
        _ => (false, false, false),
    }
}

/// The name of the type-specific section of a unit type (`Service` for `.service`).
pub fn section_name(t: UnitType) -> &'static str {
    match t {
        UnitType::Service => "Service",
        UnitType::Socket => "Socket",
        UnitType::Target => "Target",
        UnitType::Device => "Device",
        UnitType::Mount => "Mount",
        UnitType::Automount => "Automount",
        UnitType::Swap => "Swap",
        UnitType::Timer => "Timer",
        UnitType::Path => "Path",
        UnitType::Slice => "Slice",
        UnitType::Scope => "Scope",
    }
}

impl Unit {
    /// An empty unit of `name`'s type with systemd 248's defaults.
    pub fn new(name: UnitName) -> Unit {
        let t = name.unit_type();
        let (e, k, c) = contexts(t);
        let kind = match t {
            UnitType::Service => UnitKind::Service(Box::default()),
            UnitType::Socket => UnitKind::Socket(Box::default()),
            UnitType::Timer => UnitKind::Timer(Box::default()),
            UnitType::Mount => UnitKind::Mount(Box::default()),
            UnitType::Swap => UnitKind::Swap(Box::default()),
            UnitType::Automount => UnitKind::Automount(Box::default()),
            UnitType::Path => UnitKind::Path(Box::default()),
            UnitType::Scope => UnitKind::Scope(Box::default()),
            other => UnitKind::Other(other),
        };
        let mut exec = e.then(ExecSettings::default);
        if t != UnitType::Service {
            // 248 gives the kernel keyring of non-service units the manager's (shared).
            if let Some(x) = exec.as_mut() {
                x.keyring_mode = exec::KeyringMode::Shared;
            }
        }
        let mut unit = UnitSection::default();
        if matches!(
            t,
            UnitType::Device
                | UnitType::Scope
                | UnitType::Slice
                | UnitType::Mount
                | UnitType::Automount
                | UnitType::Swap
        ) {
            unit.ignore_on_isolate = true;
        }
        Unit {
            names: vec![name.clone()],
            name,
            load_state: LoadState::NotFound,
            fragment_path: None,
            dropin_paths: Vec::new(),
            unit,
            install: InstallSection::default(),
            exec,
            kill: k.then(KillSettings::default),
            cgroup: c.then(CGroupSettings::default),
            kind,
            unsupported: Vec::new(),
        }
    }

    /// The service settings, for a service.
    pub fn service(&self) -> Option<&ServiceSettings> {
        match &self.kind {
            UnitKind::Service(s) => Some(s),
            _ => None,
        }
    }
}

fn names_of<T>(
    table: &'static [Directive<T>],
) -> impl Iterator<Item = (&'static str, directive::Support)> {
    table.iter().map(|d| (d.name, d.support))
}

/// Every `(section, key, support)` keel knows, in table order; conditions and asserts are
/// listed once each.
pub fn directive_names() -> Vec<(&'static str, &'static str, directive::Support)> {
    let mut out = Vec::new();
    for (n, s) in names_of(unit_section::UNIT_DIRECTIVES) {
        out.push(("Unit", n, s));
    }
    for n in CONDITION_KEYS {
        out.push(("Unit", *n, directive::Support::Parsed));
    }
    for (n, s) in names_of(install::INSTALL_DIRECTIVES) {
        out.push(("Install", n, s));
    }
    let shared = |out: &mut Vec<_>, section: &'static str, e: bool, k: bool, c: bool| {
        if e {
            for (n, s) in names_of(exec::EXEC_DIRECTIVES) {
                out.push((section, n, s));
            }
        }
        if k {
            for (n, s) in names_of(kill::KILL_DIRECTIVES) {
                out.push((section, n, s));
            }
        }
        if c {
            for (n, s) in names_of(cgroup::CGROUP_DIRECTIVES) {
                out.push((section, n, s));
            }
        }
    };
    type Own = (
        &'static str,
        Vec<(&'static str, directive::Support)>,
        UnitType,
    );
    let own: [Own; 9] = [
        (
            "Service",
            names_of(service::SERVICE_DIRECTIVES).collect(),
            UnitType::Service,
        ),
        (
            "Socket",
            names_of(socket::SOCKET_DIRECTIVES).collect(),
            UnitType::Socket,
        ),
        (
            "Mount",
            names_of(mount::MOUNT_DIRECTIVES).collect(),
            UnitType::Mount,
        ),
        (
            "Automount",
            names_of(automount::AUTOMOUNT_DIRECTIVES).collect(),
            UnitType::Automount,
        ),
        (
            "Swap",
            names_of(swap::SWAP_DIRECTIVES).collect(),
            UnitType::Swap,
        ),
        (
            "Timer",
            names_of(timer::TIMER_DIRECTIVES).collect(),
            UnitType::Timer,
        ),
        (
            "Path",
            names_of(path::PATH_DIRECTIVES).collect(),
            UnitType::Path,
        ),
        ("Slice", Vec::new(), UnitType::Slice),
        (
            "Scope",
            names_of(scope::SCOPE_DIRECTIVES).collect(),
            UnitType::Scope,
        ),
    ];
    for (section, keys, t) in own {
        for (n, s) in keys {
            out.push((section, n, s));
        }
        let (e, k, c) = contexts(t);
        shared(&mut out, section, e, k, c);
    }
    out
}

/// The coverage table `docs/directives.md`: every setting by section, and whether keel only
/// parses it or also enforces it.
pub fn coverage_markdown() -> String {
    use std::fmt::Write as _;
    let names = directive_names();
    let mut out = String::from(
        "# Directive coverage\n\n\
         Generated by `keel-analyze directives --markdown` from keel-unit's directive tables \
         (a test checks this file is current). *parsed*: read into the typed model with \
         systemd 248's syntax, defaults and messages; *enforced*: also acted on by a keel \
         component.\n",
    );
    let mut sections: Vec<&str> = names.iter().map(|(s, _, _)| *s).collect();
    sections.dedup();
    for section in sections {
        let keys: Vec<_> = names.iter().filter(|(s, _, _)| *s == section).collect();
        let enforced = keys
            .iter()
            .filter(|(_, _, k)| *k == directive::Support::Enforced)
            .count();
        let _ = write!(
            out,
            "\n## [{section}]\n\n{} settings, {enforced} enforced.\n\n| Setting | Support |\n|---|---|\n",
            keys.len()
        );
        for (_, key, support) in keys {
            let s = match support {
                directive::Support::Parsed => "parsed",
                directive::Support::Enforced => "enforced",
            };
            let _ = writeln!(out, "| `{key}=` | {s} |");
        }
    }
    out
}

/// Every `Condition…=` and `Assert…=` key of 248.
pub const CONDITION_KEYS: &[&str] = &[
    "ConditionArchitecture",
    "ConditionVirtualization",
    "ConditionHost",
    "ConditionKernelCommandLine",
    "ConditionKernelVersion",
    "ConditionSecurity",
    "ConditionCapability",
    "ConditionACPower",
    "ConditionNeedsUpdate",
    "ConditionFirstBoot",
    "ConditionPathExists",
    "ConditionPathExistsGlob",
    "ConditionPathIsDirectory",
    "ConditionPathIsSymbolicLink",
    "ConditionPathIsMountPoint",
    "ConditionPathIsReadWrite",
    "ConditionPathIsEncrypted",
    "ConditionDirectoryNotEmpty",
    "ConditionFileNotEmpty",
    "ConditionFileIsExecutable",
    "ConditionUser",
    "ConditionGroup",
    "ConditionControlGroupController",
    "ConditionCPUs",
    "ConditionMemory",
    "ConditionEnvironment",
    "ConditionNull",
    "AssertArchitecture",
    "AssertVirtualization",
    "AssertHost",
    "AssertKernelCommandLine",
    "AssertKernelVersion",
    "AssertSecurity",
    "AssertCapability",
    "AssertACPower",
    "AssertNeedsUpdate",
    "AssertFirstBoot",
    "AssertPathExists",
    "AssertPathExistsGlob",
    "AssertPathIsDirectory",
    "AssertPathIsSymbolicLink",
    "AssertPathIsMountPoint",
    "AssertPathIsReadWrite",
    "AssertPathIsEncrypted",
    "AssertDirectoryNotEmpty",
    "AssertFileNotEmpty",
    "AssertFileIsExecutable",
    "AssertUser",
    "AssertGroup",
    "AssertControlGroupController",
    "AssertCPUs",
    "AssertMemory",
    "AssertEnvironment",
    "AssertNull",
];

/// The load-time checks of the type-specific sections (248's `socket_verify`,
/// `timer_verify`, ...): a refusal is an error diagnostic and makes the unit `bad-setting`.
pub(crate) fn verify_kind(
    unit: &Unit,
    fragment: Option<&std::path::Path>,
    diags: &mut Vec<crate::diag::Diagnostic>,
) -> Result<(), LoadState> {
    let path_of = || keel_core::unit_name::to_path(&unit.name).ok();
    let r = match &unit.kind {
        UnitKind::Socket(s) => s.verify(),
        UnitKind::Timer(t) => t.verify(),
        UnitKind::Path(p) => p.verify(),
        UnitKind::Mount(m) => m.verify(path_of().as_deref()),
        UnitKind::Automount(a) => a.verify(path_of().as_deref()),
        UnitKind::Swap(sw) => match &sw.what {
            Some(w) => {
                let expected =
                    keel_core::unit_name::from_path(&w.to_string_lossy(), UnitType::Swap).ok();
                if unit.names.iter().any(|n| Some(n) == expected.as_ref()) {
                    Ok(())
                } else {
                    Err("Value of What= and unit name do not match, not loading.".to_owned())
                }
            }
            None => Ok(()),
        },
        _ => Ok(()),
    };
    r.map_err(|e| {
        diags.push(crate::diag::Diagnostic::error(fragment, 0, e));
        LoadState::BadSetting
    })
}

/// The dump lines of the type-specific sections other than `[Service]`, and the
/// `Exec*=` lists they have.
pub(crate) fn dump_kind<'a>(
    unit: &'a Unit,
    pairs: &mut Vec<(String, String)>,
    lists: &mut Vec<(&'static str, &'a Vec<exec_command::ExecCommand>)>,
) {
    let unit_path = keel_core::unit_name::to_path(&unit.name).ok();
    let up = unit_path.as_deref();
    match &unit.kind {
        UnitKind::Socket(s) => {
            s.dump(&unit.name, pairs);
            lists.extend(s.commands.iter());
        }
        UnitKind::Timer(t) => t.dump(&unit.name, pairs),
        UnitKind::Path(p) => p.dump(&unit.name, pairs),
        UnitKind::Mount(m) => m.dump(up, pairs),
        UnitKind::Swap(s) => s.dump(up, pairs),
        UnitKind::Automount(a) => a.dump(up, pairs),
        UnitKind::Scope(s) => s.dump(pairs),
        _ => {}
    }
}
