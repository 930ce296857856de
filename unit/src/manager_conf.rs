//! The manager's own configuration: `system.conf` / `user.conf` and their drop-ins, as
//! systemd 248's `parse_config_file()` (`src/core/main.c`) reads them, including
//! `ManagerEnvironment=` and `DefaultEnvironment=` (spec §7.2).
//!
//! Settings that systemd parses with the same parser as a unit setting (`DefaultLimitNOFILE=`
//! as `LimitNOFILE=`, `DefaultTasksMax=` as `TasksMax=`, `CPUAffinity=`, ...) are parsed by
//! keel-unit's unit tables too, so the syntax and messages are identical.
//!
//! Not in 248 and so reported as unknown: `RuntimeWatchdogPreSec=`,
//! `RuntimeWatchdogPreGovernor=` (251), `DefaultDeviceTimeoutSec=` (252),
//! `DefaultOOMScoreAdjust=` (250), `DefaultSmackProcessLabel=` (252).

use std::path::{Path, PathBuf};

use keel_core::specifier::SpecifierContext;
use keel_core::time::{Usec, parse_sec};
use keel_core::unit_name::UnitName;
use serde::Serialize;

use crate::diag::Diagnostic;
use crate::lex::{Item, lex};
use crate::lookup::Scope;
use crate::model::cgroup::{CGROUP_DIRECTIVES, CGroupSettings};
use crate::model::directive::{ApplyFn, Directive, ParseCtx, SettingError, Support, find};
use crate::model::exec::value::{boolean, unsigned};
use crate::model::exec::{EXEC_DIRECTIVES, ExecSettings, LogLevel, choice, parse_choice, sec};
use crate::model::service::OomPolicy;

choice! {
    /// `ShowStatus=`.
    ShowStatus { No = "no", Yes = "yes", Auto = "auto", Error = "error" }
}

choice! {
    /// `CtrlAltDelBurstAction=`.
    CtrlAltDelBurstAction {
        None = "none", Reboot = "reboot-force", RebootImmediate = "reboot-immediate",
        Poweroff = "poweroff-force", PoweroffImmediate = "poweroff-immediate"
    }
}

choice! {
    /// `StatusUnitFormat=`.
    StatusUnitFormat { Name = "name", Description = "description" }
}

choice! {
    /// `LogTarget=`.
    LogTarget {
        Console = "console", ConsolePrefixed = "console-prefixed", Kmsg = "kmsg",
        Journal = "journal", JournalOrKmsg = "journal-or-kmsg", Syslog = "syslog",
        SyslogOrKmsg = "syslog-or-kmsg", Auto = "auto", Null = "null"
    }
}

/// The `[Manager]` section with systemd 248's defaults for the system manager.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ManagerConfig {
    /// `LogLevel=`
    pub log_level: Option<LogLevel>,
    /// `LogTarget=`
    pub log_target: Option<LogTarget>,
    /// `LogColor=`
    pub log_color: Option<bool>,
    /// `LogLocation=`
    pub log_location: Option<bool>,
    /// `LogTime=`
    pub log_time: Option<bool>,
    /// `DumpCore=` (default yes)
    pub dump_core: bool,
    /// `ShowStatus=` (default yes)
    pub show_status: ShowStatus,
    /// `CrashChangeVT=`: a VT number, or none.
    pub crash_change_vt: Option<u8>,
    /// `CrashShell=` (default no)
    pub crash_shell: bool,
    /// `CrashReboot=` (default no)
    pub crash_reboot: bool,
    /// `CtrlAltDelBurstAction=` (default reboot-force)
    pub ctrl_alt_del_burst_action: CtrlAltDelBurstAction,
    /// `RuntimeWatchdogSec=` (default 0, off)
    pub runtime_watchdog: Usec,
    /// `RebootWatchdogSec=` / `ShutdownWatchdogSec=` (default 10min)
    pub reboot_watchdog: Usec,
    /// `KExecWatchdogSec=` (default 0)
    pub kexec_watchdog: Usec,
    /// `WatchdogDevice=`
    pub watchdog_device: Option<PathBuf>,
    /// `StatusUnitFormat=` (default description)
    pub status_unit_format: StatusUnitFormat,
    /// `DefaultTimerAccuracySec=` (default 1min)
    pub default_timer_accuracy: Usec,
    /// `DefaultTimeoutStartSec=` (default 90s)
    pub default_timeout_start: Usec,
    /// `DefaultTimeoutStopSec=` (default 90s)
    pub default_timeout_stop: Usec,
    /// `DefaultTimeoutAbortSec=` (default unset: the stop timeout applies)
    pub default_timeout_abort: Option<Usec>,
    /// `DefaultRestartSec=` (default 100ms)
    pub default_restart: Usec,
    /// `DefaultStartLimitIntervalSec=` (default 10s)
    pub default_start_limit_interval: Usec,
    /// `DefaultStartLimitBurst=` (default 5)
    pub default_start_limit_burst: u32,
    /// `DefaultEnvironment=`: the base environment of every unit.
    pub default_environment: Vec<String>,
    /// `ManagerEnvironment=`: variables set in the manager's own process environment.
    pub manager_environment: Vec<String>,
    /// `DefaultOOMPolicy=` (default stop)
    pub default_oom_policy: OomPolicy,
    /// The manager's own process settings: `CPUAffinity=`, `NUMAPolicy=`, `NUMAMask=`,
    /// `CapabilityBoundingSet=`, `NoNewPrivileges=`, `SystemCallArchitectures=`,
    /// `TimerSlackNSec=` (same syntax as the unit settings of the same name).
    pub manager_exec: ExecSettings,
    /// Defaults for units: `DefaultLimit…=` (as `Limit…=`), `DefaultStandardOutput=`,
    /// `DefaultStandardError=`.
    pub unit_exec_defaults: ExecSettings,
    /// Defaults for units: `Default…Accounting=`, `DefaultTasksMax=`.
    pub unit_cgroup_defaults: CGroupSettings,
}

impl Default for ManagerConfig {
    fn default() -> Self {
        Self {
            log_level: None,
            log_target: None,
            log_color: None,
            log_location: None,
            log_time: None,
            dump_core: true,
            show_status: ShowStatus::Yes,
            crash_change_vt: None,
            crash_shell: false,
            crash_reboot: false,
            ctrl_alt_del_burst_action: CtrlAltDelBurstAction::Reboot,
            runtime_watchdog: Usec::ZERO,
            reboot_watchdog: Usec::from_secs(600),
            kexec_watchdog: Usec::ZERO,
            watchdog_device: None,
            status_unit_format: StatusUnitFormat::Description,
            default_timer_accuracy: Usec::from_secs(60),
            default_timeout_start: Usec::from_secs(90),
            default_timeout_stop: Usec::from_secs(90),
            default_timeout_abort: None,
            default_restart: Usec::from_millis(100),
            default_start_limit_interval: Usec::from_secs(10),
            default_start_limit_burst: 5,
            default_environment: Vec::new(),
            manager_environment: Vec::new(),
            default_oom_policy: OomPolicy::Stop,
            manager_exec: ExecSettings::default(),
            unit_exec_defaults: ExecSettings::default(),
            unit_cgroup_defaults: CGroupSettings::default(),
        }
    }
}

/// `config_parse_environ` without specifiers (248).
fn environ(
    list: &mut Vec<String>,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    crate::model::exec::io::parse_environ(list, ctx, value, false)
}

fn opt_bool(field: &mut Option<bool>, v: &str) -> Result<(), SettingError> {
    *field = Some(boolean(v)?);
    Ok(())
}

fn set_bool(field: &mut bool, v: &str) -> Result<(), SettingError> {
    *field = boolean(v)?;
    Ok(())
}

fn timeout_fix0(v: &str, key: &str) -> Result<Usec, SettingError> {
    keel_core::time::parse_sec_fix_0(v).map_err(|_| {
        SettingError::invalid(format!("Failed to parse {key}= parameter, ignoring: {v}"))
    })
}

const fn d(name: &'static str, apply: ApplyFn<ManagerConfig>) -> Directive<ManagerConfig> {
    Directive {
        name,
        apply,
        support: Support::Parsed,
    }
}

/// The keys of 248's `[Manager]` table that are not unit-setting parsers.
pub(crate) static MANAGER_DIRECTIVES: &[Directive<ManagerConfig>] = &[
    d("LogLevel", |s, _, v| {
        s.log_level = Some(crate::model::exec::io::log_level(v)?);
        Ok(())
    }),
    d("LogTarget", |s, _, v| {
        s.log_target = Some(parse_choice(v, "Failed to parse log target")?);
        Ok(())
    }),
    d("LogColor", |s, _, v| opt_bool(&mut s.log_color, v)),
    d("LogLocation", |s, _, v| opt_bool(&mut s.log_location, v)),
    d("LogTime", |s, _, v| opt_bool(&mut s.log_time, v)),
    d("DumpCore", |s, _, v| set_bool(&mut s.dump_core, v)),
    d("CrashDumpCore", |s, _, v| set_bool(&mut s.dump_core, v)),
    d("CrashChangeVT", |s, _, v| {
        match keel_core::boolean::parse_boolean(v) {
            Ok(false) => s.crash_change_vt = None,
            Ok(true) => s.crash_change_vt = Some(0),
            Err(_) => {
                let n: u8 = unsigned(v)
                    .filter(|n| (1..=63).contains(n))
                    .ok_or_else(|| {
                        SettingError::invalid(format!(
                            "Failed to parse CrashChangeVT= setting, ignoring: {v}"
                        ))
                    })?;
                s.crash_change_vt = Some(n);
            }
        }
        Ok(())
    }),
    d("ShowStatus", |s, _, v| {
        s.show_status = match keel_core::boolean::parse_boolean(v) {
            Ok(true) => ShowStatus::Yes,
            Ok(false) => ShowStatus::No,
            Err(_) => parse_choice(v, "Failed to parse show status setting")?,
        };
        Ok(())
    }),
    d("CrashShell", |s, _, v| set_bool(&mut s.crash_shell, v)),
    d("CrashReboot", |s, _, v| set_bool(&mut s.crash_reboot, v)),
    d("CtrlAltDelBurstAction", |s, _, v| {
        s.ctrl_alt_del_burst_action = parse_choice(v, "Failed to parse CtrlAltDelBurstAction=")?;
        Ok(())
    }),
    d("JoinControllers", |_, ctx, _| {
        ctx.warn(format!(
            "Support for option {}= has been removed and it is ignored",
            ctx.key
        ));
        Ok(())
    }),
    d("RuntimeWatchdogSec", |s, _, v| {
        s.runtime_watchdog = sec(v)?;
        Ok(())
    }),
    d("RebootWatchdogSec", |s, _, v| {
        s.reboot_watchdog = sec(v)?;
        Ok(())
    }),
    d("ShutdownWatchdogSec", |s, _, v| {
        s.reboot_watchdog = sec(v)?;
        Ok(())
    }),
    d("KExecWatchdogSec", |s, _, v| {
        s.kexec_watchdog = sec(v)?;
        Ok(())
    }),
    d("WatchdogDevice", |s, c, v| {
        s.watchdog_device = crate::model::exec::value::unit_path(c, v, false)?;
        Ok(())
    }),
    d("StatusUnitFormat", |s, _, v| {
        s.status_unit_format = parse_choice(v, "Failed to parse status unit format")?;
        Ok(())
    }),
    d("DefaultTimerAccuracySec", |s, _, v| {
        s.default_timer_accuracy = sec(v)?;
        Ok(())
    }),
    d("DefaultTimeoutStartSec", |s, c, v| {
        s.default_timeout_start = timeout_fix0(v, c.key)?;
        Ok(())
    }),
    d("DefaultTimeoutStopSec", |s, c, v| {
        s.default_timeout_stop = timeout_fix0(v, c.key)?;
        Ok(())
    }),
    d("DefaultTimeoutAbortSec", |s, _, v| {
        if v.is_empty() {
            s.default_timeout_abort = None;
            return Ok(());
        }
        s.default_timeout_abort = Some(parse_sec(v).map_err(|_| {
            SettingError::invalid(format!(
                "Invalid DefaultTimeoutAbortSec= setting, ignoring: {v}"
            ))
        })?);
        Ok(())
    }),
    d("DefaultRestartSec", |s, _, v| {
        s.default_restart = sec(v)?;
        Ok(())
    }),
    d("DefaultStartLimitInterval", |s, _, v| {
        s.default_start_limit_interval = sec(v)?;
        Ok(())
    }),
    d("DefaultStartLimitIntervalSec", |s, _, v| {
        s.default_start_limit_interval = sec(v)?;
        Ok(())
    }),
    d("DefaultStartLimitBurst", |s, _, v| {
        s.default_start_limit_burst = unsigned(v).ok_or_else(|| {
            SettingError::invalid(format!(
                "Failed to parse unsigned integer value, ignoring: {v}"
            ))
        })?;
        Ok(())
    }),
    d("DefaultEnvironment", |s, c, v| {
        environ(&mut s.default_environment, c, v)
    }),
    d("ManagerEnvironment", |s, c, v| {
        environ(&mut s.manager_environment, c, v)
    }),
    d("DefaultOOMPolicy", |s, _, v| {
        s.default_oom_policy = parse_choice(v, "Failed to parse OOM policy")?;
        Ok(())
    }),
];

/// `[Manager]` keys parsed as the unit setting of another name: (manager key, which
/// settings, unit key).
const DELEGATED: &[(&str, Delegate, &str)] = &[
    ("CPUAffinity", Delegate::ManagerExec, "CPUAffinity"),
    ("NUMAPolicy", Delegate::ManagerExec, "NUMAPolicy"),
    ("NUMAMask", Delegate::ManagerExec, "NUMAMask"),
    (
        "CapabilityBoundingSet",
        Delegate::ManagerExec,
        "CapabilityBoundingSet",
    ),
    ("NoNewPrivileges", Delegate::ManagerExec, "NoNewPrivileges"),
    (
        "SystemCallArchitectures",
        Delegate::ManagerExec,
        "SystemCallArchitectures",
    ),
    ("TimerSlackNSec", Delegate::ManagerExec, "TimerSlackNSec"),
    (
        "DefaultStandardOutput",
        Delegate::UnitExec,
        "StandardOutput",
    ),
    ("DefaultStandardError", Delegate::UnitExec, "StandardError"),
    (
        "DefaultCPUAccounting",
        Delegate::UnitCgroup,
        "CPUAccounting",
    ),
    ("DefaultIOAccounting", Delegate::UnitCgroup, "IOAccounting"),
    ("DefaultIPAccounting", Delegate::UnitCgroup, "IPAccounting"),
    (
        "DefaultBlockIOAccounting",
        Delegate::UnitCgroup,
        "BlockIOAccounting",
    ),
    (
        "DefaultMemoryAccounting",
        Delegate::UnitCgroup,
        "MemoryAccounting",
    ),
    (
        "DefaultTasksAccounting",
        Delegate::UnitCgroup,
        "TasksAccounting",
    ),
    ("DefaultTasksMax", Delegate::UnitCgroup, "TasksMax"),
];

#[derive(Debug, Clone, Copy)]
enum Delegate {
    ManagerExec,
    UnitExec,
    UnitCgroup,
}

/// Every `[Manager]` key keel knows (for the coverage table).
pub fn manager_directive_names() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = MANAGER_DIRECTIVES.iter().map(|d| d.name).collect();
    v.extend(DELEGATED.iter().map(|(k, _, _)| *k));
    v.extend(
        crate::model::exec::Resource::ALL
            .iter()
            .map(|r| r.default_directive()),
    );
    v
}

/// The result of reading the manager configuration.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoadedManagerConfig {
    /// The settings.
    pub config: ManagerConfig,
    /// The files read, in order.
    pub files: Vec<PathBuf>,
    /// Warnings, with file and line.
    pub diagnostics: Vec<Diagnostic>,
}

impl ManagerConfig {
    fn apply(
        &mut self,
        key: &str,
        value: &str,
        ctx: &mut ParseCtx<'_>,
    ) -> Option<Result<(), SettingError>> {
        if let Some(d) = find(MANAGER_DIRECTIVES, key) {
            return Some((d.apply)(self, ctx, value));
        }
        if let Some((_, which, unit_key)) = DELEGATED.iter().find(|(k, _, _)| *k == key) {
            let mut c = ParseCtx::new(ctx.unit, ctx.specifiers, unit_key);
            let r = match which {
                Delegate::ManagerExec => find(EXEC_DIRECTIVES, unit_key)
                    .map(|d| (d.apply)(&mut self.manager_exec, &mut c, value)),
                Delegate::UnitExec => find(EXEC_DIRECTIVES, unit_key)
                    .map(|d| (d.apply)(&mut self.unit_exec_defaults, &mut c, value)),
                Delegate::UnitCgroup => find(CGROUP_DIRECTIVES, unit_key)
                    .map(|d| (d.apply)(&mut self.unit_cgroup_defaults, &mut c, value)),
            };
            ctx.warnings.append(&mut c.warnings);
            return r;
        }
        let unit_key = key
            .strip_prefix("Default")
            .filter(|k| k.starts_with("Limit"))?;
        let mut c = ParseCtx::new(ctx.unit, ctx.specifiers, unit_key);
        let r = find(EXEC_DIRECTIVES, unit_key)
            .map(|d| (d.apply)(&mut self.unit_exec_defaults, &mut c, value));
        ctx.warnings.append(&mut c.warnings);
        r
    }

    /// Parses one configuration file's text into `self` (only `[Manager]` is read; other
    /// sections are warned about as systemd does).
    pub fn parse_text(&mut self, text: &[u8], path: Option<&Path>, diags: &mut Vec<Diagnostic>) {
        let lexed = match lex(text, path) {
            Ok(l) => l,
            Err(e) => {
                diags.push(Diagnostic::warning(
                    path,
                    e.line(),
                    format!("Failed to parse file, ignoring: {e}"),
                ));
                return;
            }
        };
        diags.extend(lexed.diagnostics);
        // The parsers need a unit for messages; the manager has none (no specifiers in 248).
        let placeholder = UnitName::new("manager.service").ok();
        let spec = SpecifierContext::default();
        let mut section: Option<String> = None;
        for item in lexed.items {
            match item {
                Item::Section(s) => {
                    if s.name != "Manager" && !s.name.starts_with("X-") {
                        diags.push(Diagnostic::warning(
                            path,
                            s.line,
                            format!("Unknown section '{}'. Ignoring.", s.name),
                        ));
                    }
                    section = Some(s.name.into_owned());
                }
                Item::Assignment(a) => {
                    let Some(sect) = section.as_deref() else {
                        diags.push(Diagnostic::warning(
                            path,
                            a.line,
                            "Assignment outside of section. Ignoring.",
                        ));
                        continue;
                    };
                    if sect != "Manager" {
                        continue;
                    }
                    let Some(unit) = placeholder.as_ref() else {
                        continue;
                    };
                    let mut ctx = ParseCtx::new(unit, &spec, &a.key);
                    let r = self.apply(&a.key, &a.value, &mut ctx);
                    for w in ctx.warnings {
                        diags.push(Diagnostic::warning(path, a.line, w).at_column(a.value_column));
                    }
                    match r {
                        Some(Ok(())) => {}
                        Some(Err(e)) => diags.push(
                            Diagnostic::warning(path, a.line, e.to_string())
                                .at_column(a.value_column),
                        ),
                        None if a.key.starts_with("X-") => {}
                        None => diags.push(
                            Diagnostic::warning(
                                path,
                                a.line,
                                format!(
                                    "Unknown key name '{}' in section 'Manager', ignoring.",
                                    a.key
                                ),
                            )
                            .at_column(a.key_column),
                        ),
                    }
                }
            }
        }
    }

    /// Reads `system.conf` (or `user.conf`) and its drop-ins under `root`, as 248 does:
    /// `/etc/systemd/NAME.conf` first, then every `*.conf` of the `NAME.conf.d/` directories
    /// in `/etc/systemd`, `/run/systemd`, `/usr/local/lib/systemd`, `/usr/lib/systemd` (and
    /// `/lib/systemd` on split-usr systems), sorted by file name, a file in an earlier
    /// directory masking one of the same name in a later one.
    ///
    /// # Ambient authority
    /// Reads files under `root`. Missing files are fine; unreadable ones are warnings.
    pub fn load(root: &Path, scope: Scope) -> LoadedManagerConfig {
        let name = match scope {
            Scope::System => "system",
            Scope::User => "user",
        };
        let mut config = ManagerConfig::default();
        let mut diagnostics = Vec::new();
        let mut files = Vec::new();
        let main = root.join(format!("etc/systemd/{name}.conf"));
        let mut paths = Vec::new();
        if main.exists() {
            paths.push(main);
        }
        let mut dropins: std::collections::BTreeMap<String, PathBuf> =
            std::collections::BTreeMap::new();
        for dir in [
            "etc/systemd",
            "run/systemd",
            "usr/local/lib/systemd",
            "usr/lib/systemd",
            "lib/systemd",
        ] {
            let d = root.join(dir).join(format!("{name}.conf.d"));
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in rd.flatten() {
                let f = e.file_name().to_string_lossy().into_owned();
                if f.ends_with(".conf") {
                    dropins.entry(f).or_insert_with(|| e.path());
                }
            }
        }
        paths.extend(dropins.into_values());
        for p in paths {
            match std::fs::read(&p) {
                Ok(text) => {
                    config.parse_text(&text, Some(&p), &mut diagnostics);
                    files.push(p);
                }
                Err(e) => diagnostics.push(Diagnostic::warning(
                    Some(&p),
                    0,
                    format!("Failed to read, ignoring: {e}"),
                )),
            }
        }
        LoadedManagerConfig {
            config,
            files,
            diagnostics,
        }
    }

    /// The manager's process environment after `ManagerEnvironment=`: `base` (the
    /// environment the manager was started with) with each assignment set, overriding
    /// (248's `setenv_manager_environment()`, run last).
    pub fn manager_process_environment(&self, base: &[(String, String)]) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = base.to_vec();
        for a in &self.manager_environment {
            if let Some((k, v)) = a.split_once('=') {
                match env.iter_mut().find(|(ek, _)| ek == k) {
                    Some(e) => e.1 = v.to_owned(),
                    None => env.push((k.to_owned(), v.to_owned())),
                }
            }
        }
        env
    }
}

#[cfg(test)]
mod tests;
