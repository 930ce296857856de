//! The service-specific keys of `[Service]` (`Service.*` of 248's gperf table, besides the
//! shared exec, kill and resource-control keys), and the checks of 248's `service_verify`.
//!
//! `ExitType=` (250) is deliberately absent.

use std::collections::BTreeSet;

use keel_core::time::{Usec, parse_sec, parse_sec_fix_0};
use keel_core::unit_name::{UnitName, UnitType};
use keel_core::word::ExtractFlags;
use serde::Serialize;

use super::directive::{ApplyFn, Directive, ParseCtx, SettingError, Support};
use super::exec::value::{Words, boolean, set_bool, unit_path, unsigned};
use super::exec::{choice, parse_choice, sec};
use super::exec_command::{ExecCommand, parse_exec};
use super::kill::Signal;
use super::unit_section::{EmergencyAction, unit_name_words};

choice! {
    /// `Type=`.
    ServiceType {
        Simple = "simple", Exec = "exec", Forking = "forking", Oneshot = "oneshot",
        Dbus = "dbus", Notify = "notify", Idle = "idle"
    }
}

choice! {
    /// `Restart=`.
    ServiceRestart {
        No = "no", OnSuccess = "on-success", OnFailure = "on-failure",
        OnAbnormal = "on-abnormal", OnWatchdog = "on-watchdog", OnAbort = "on-abort",
        Always = "always"
    }
}

choice! {
    /// `NotifyAccess=`.
    NotifyAccess { None = "none", Main = "main", Exec = "exec", All = "all" }
}

choice! {
    /// `TimeoutStartFailureMode=`, `TimeoutStopFailureMode=`.
    TimeoutFailureMode { Terminate = "terminate", Abort = "abort", Kill = "kill" }
}

choice! {
    /// `OOMPolicy=`.
    OomPolicy { Continue = "continue", Stop = "stop", Kill = "kill" }
}

/// A set of exit statuses and signals (`SuccessExitStatus=`, `RestartPreventExitStatus=`,
/// `RestartForceExitStatus=`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExitStatusSet {
    /// Exit statuses 0…255.
    pub status: BTreeSet<u8>,
    /// Signals by number.
    pub signal: BTreeSet<i32>,
}

impl ExitStatusSet {
    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.status.is_empty() && self.signal.is_empty()
    }
}

/// The `Exec*=` lists of a service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ServiceCommands {
    /// `ExecCondition=`
    pub condition: Vec<ExecCommand>,
    /// `ExecStartPre=`
    pub start_pre: Vec<ExecCommand>,
    /// `ExecStart=`
    pub start: Vec<ExecCommand>,
    /// `ExecStartPost=`
    pub start_post: Vec<ExecCommand>,
    /// `ExecReload=`
    pub reload: Vec<ExecCommand>,
    /// `ExecStop=`
    pub stop: Vec<ExecCommand>,
    /// `ExecStopPost=`
    pub stop_post: Vec<ExecCommand>,
}

impl ServiceCommands {
    /// `(key, list)` pairs in systemd's order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Vec<ExecCommand>)> {
        [
            ("ExecCondition", &self.condition),
            ("ExecStartPre", &self.start_pre),
            ("ExecStart", &self.start),
            ("ExecStartPost", &self.start_post),
            ("ExecReload", &self.reload),
            ("ExecStop", &self.stop),
            ("ExecStopPost", &self.stop_post),
        ]
        .into_iter()
    }

    /// Mutable access to every list (for post-load fix-ups such as program lookup).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Vec<ExecCommand>> {
        [
            &mut self.condition,
            &mut self.start_pre,
            &mut self.start,
            &mut self.start_post,
            &mut self.reload,
            &mut self.stop,
            &mut self.stop_post,
        ]
        .into_iter()
    }
}

/// The service-specific settings with systemd 248's defaults (`service_init` and the
/// manager's `DefaultTimeoutStartSec=`/`DefaultTimeoutStopSec=`/`DefaultRestartSec=`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ServiceSettings {
    /// `Type=`; `None` until set: then decided at load (`dbus` with `BusName=`, `simple`
    /// with `ExecStart=`, else `oneshot`).
    pub service_type: Option<ServiceType>,
    /// `Restart=` (default no)
    pub restart: ServiceRestart,
    /// `RestartSec=` (default 100ms)
    pub restart_sec: Usec,
    /// `TimeoutStartSec=` (default 90s; infinity for oneshot unless set)
    pub timeout_start: Usec,
    /// Whether `TimeoutStartSec=`/`TimeoutSec=` was given.
    pub timeout_start_set: bool,
    /// `TimeoutStopSec=` (default 90s)
    pub timeout_stop: Usec,
    /// `TimeoutAbortSec=` (default: unset, `TimeoutStopSec=` applies)
    pub timeout_abort: Option<Usec>,
    /// `TimeoutStartFailureMode=` (default terminate)
    pub timeout_start_failure_mode: TimeoutFailureMode,
    /// `TimeoutStopFailureMode=` (default terminate)
    pub timeout_stop_failure_mode: TimeoutFailureMode,
    /// `RuntimeMaxSec=` (default infinity)
    pub runtime_max: Usec,
    /// `WatchdogSec=` (default 0, off)
    pub watchdog: Usec,
    /// The `Exec*=` command lists.
    pub commands: ServiceCommands,
    /// `PIDFile=`
    pub pid_file: Option<String>,
    /// `RemainAfterExit=` (default no)
    pub remain_after_exit: bool,
    /// `GuessMainPID=` (default yes)
    pub guess_main_pid: bool,
    /// `PermissionsStartOnly=` (default no; deprecated)
    pub permissions_start_only: bool,
    /// `RootDirectoryStartOnly=` (default no)
    pub root_directory_start_only: bool,
    /// `NonBlocking=` (default no)
    pub non_blocking: bool,
    /// `BusName=`
    pub bus_name: Option<String>,
    /// `FileDescriptorStoreMax=` (default 0)
    pub file_descriptor_store_max: u32,
    /// `NotifyAccess=`; `None` until set (then `main` for notify/watchdog/fd-store services).
    pub notify_access: Option<NotifyAccess>,
    /// `Sockets=`
    pub sockets: Vec<UnitName>,
    /// `SuccessExitStatus=`
    pub success_exit_status: ExitStatusSet,
    /// `RestartPreventExitStatus=`
    pub restart_prevent_exit_status: ExitStatusSet,
    /// `RestartForceExitStatus=`
    pub restart_force_exit_status: ExitStatusSet,
    /// `USBFunctionDescriptors=`
    pub usb_function_descriptors: Option<String>,
    /// `USBFunctionStrings=`
    pub usb_function_strings: Option<String>,
    /// `OOMPolicy=`; `None` until set: then `continue` for units with `Delegate=yes`, else
    /// the manager's `DefaultOOMPolicy=` (stop).
    pub oom_policy: Option<OomPolicy>,
    /// Compatibility keys of `[Service]` that set `[Unit]` settings (`StartLimitInterval=`,
    /// `StartLimitBurst=`, `StartLimitAction=`, `FailureAction=`, `RebootArgument=`): kept
    /// here in order and applied to the `[Unit]` section by the loader.
    #[serde(skip)]
    pub unit_compat: Vec<(&'static str, String)>,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        Self {
            service_type: None,
            restart: ServiceRestart::No,
            restart_sec: Usec::from_millis(100),
            timeout_start: Usec::from_secs(90),
            timeout_start_set: false,
            timeout_stop: Usec::from_secs(90),
            timeout_abort: None,
            timeout_start_failure_mode: TimeoutFailureMode::Terminate,
            timeout_stop_failure_mode: TimeoutFailureMode::Terminate,
            runtime_max: Usec::INFINITY,
            watchdog: Usec::ZERO,
            commands: ServiceCommands::default(),
            pid_file: None,
            remain_after_exit: false,
            guess_main_pid: true,
            permissions_start_only: false,
            root_directory_start_only: false,
            non_blocking: false,
            bus_name: None,
            file_descriptor_store_max: 0,
            notify_access: None,
            sockets: Vec::new(),
            success_exit_status: ExitStatusSet::default(),
            restart_prevent_exit_status: ExitStatusSet::default(),
            restart_force_exit_status: ExitStatusSet::default(),
            usb_function_descriptors: None,
            usb_function_strings: None,
            oom_policy: None,
            unit_compat: Vec::new(),
        }
    }
}

impl ServiceSettings {
    /// The type after load-time defaulting (`service_add_extras`).
    pub fn effective_type(&self) -> ServiceType {
        self.service_type.unwrap_or(if self.bus_name.is_some() {
            ServiceType::Dbus
        } else if !self.commands.start.is_empty() {
            ServiceType::Simple
        } else {
            ServiceType::Oneshot
        })
    }

    /// The OOM policy after load-time defaulting: `continue` for delegated units, else the
    /// manager default (stop).
    pub fn effective_oom_policy(&self, delegate: bool) -> OomPolicy {
        self.oom_policy.unwrap_or(if delegate {
            OomPolicy::Continue
        } else {
            OomPolicy::Stop
        })
    }

    /// Fills in what 248 decides at load time: the type, the oneshot start timeout,
    /// `NotifyAccess=main` for notify services, watchdogs and fd stores, and the OOM policy
    /// (`delegate`: whether the unit has `Delegate=yes`).
    pub fn finish_load(&mut self, delegate: bool) {
        self.oom_policy = Some(self.effective_oom_policy(delegate));
        let t = self.effective_type();
        self.service_type = Some(t);
        if t == ServiceType::Oneshot && !self.timeout_start_set {
            self.timeout_start = Usec::INFINITY;
        }
        if self.notify_access.is_none()
            && (t == ServiceType::Notify
                || self.watchdog > Usec::ZERO
                || self.file_descriptor_store_max > 0)
        {
            self.notify_access = Some(NotifyAccess::Main);
        }
    }

    /// 248's `service_verify`: a fatal problem makes the unit `bad-setting`; the `Ok`
    /// value lists warnings.
    pub fn verify(
        &self,
        success_action: EmergencyAction,
        pam: bool,
        kill_mode_ok_for_pam: bool,
    ) -> Result<Vec<String>, String> {
        let t = self.effective_type();
        let start = &self.commands.start;
        let none = success_action == EmergencyAction::None;
        if start.is_empty() && self.commands.stop.is_empty() && none {
            return Err(
                "Service has no ExecStart=, ExecStop=, or SuccessAction=. Refusing.".into(),
            );
        }
        if t != ServiceType::Oneshot && start.is_empty() {
            return Err("Service has no ExecStart= setting, which is only allowed for Type=oneshot services. Refusing.".into());
        }
        if !self.remain_after_exit && start.is_empty() && none {
            return Err("Service has no ExecStart= and no SuccessAction= settings and does not have RemainAfterExit=yes set. Refusing.".into());
        }
        if t != ServiceType::Oneshot && start.len() > 1 {
            return Err("Service has more than one ExecStart= setting, which is only allowed for Type=oneshot services. Refusing.".into());
        }
        if t == ServiceType::Oneshot && self.restart != ServiceRestart::No {
            return Err("Service has Restart= setting other than no, which isn't allowed for Type=oneshot services. Refusing.".into());
        }
        if t == ServiceType::Oneshot && !self.restart_force_exit_status.is_empty() {
            return Err("Service has RestartForceStatus= set, which isn't allowed for Type=oneshot services. Refusing.".into());
        }
        if t == ServiceType::Dbus && self.bus_name.is_none() {
            return Err(
                "Service is of type D-Bus but no D-Bus service name has been specified. Refusing."
                    .into(),
            );
        }
        if pam && !kill_mode_ok_for_pam {
            return Err("Service has PAM enabled. Kill mode must be set to 'control-group' or 'mixed'. Refusing.".into());
        }
        let mut warnings = Vec::new();
        match (&self.usb_function_descriptors, &self.usb_function_strings) {
            (Some(_), None) => warnings.push("Service has USBFunctionDescriptors= setting, but no USBFunctionStrings=. Ignoring.".into()),
            (None, Some(_)) => warnings.push("Service has USBFunctionStrings= setting, but no USBFunctionDescriptors=. Ignoring.".into()),
            _ => {}
        }
        if self.runtime_max != Usec::INFINITY && t == ServiceType::Oneshot {
            warnings.push(
                "RuntimeMaxSec= has no effect in combination with Type=oneshot. Ignoring.".into(),
            );
        }
        Ok(warnings)
    }
}

/// `config_parse_set_status`: exit statuses (0…255) and signal names; empty resets.
fn exit_status_set(
    set: &mut ExitStatusSet,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        *set = ExitStatusSet::default();
        return Ok(());
    }
    for word in Words::new(value, ExtractFlags::empty()) {
        let Ok(word) = word else {
            return Err(SettingError::invalid(format!(
                "Invalid syntax, ignoring: {value}"
            )));
        };
        if let Some(n) = keel_core::exit_status::exit_status_from_string(&word) {
            set.status.insert(n);
        } else if let Some(sig) = Signal::parse(&word) {
            set.signal.insert(sig.as_raw());
        } else {
            ctx.warn(format!(
                "Failed to parse {}={word}, ignoring: Invalid argument",
                ctx.key
            ));
        }
    }
    Ok(())
}

fn apply_sockets(
    s: &mut ServiceSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    unit_name_words(
        ctx,
        value,
        "Trailing garbage in sockets",
        "Failed to resolve unit specifiers in {}",
        |ctx, name| match UnitName::new(name) {
            Ok(u) if u.unit_type() == UnitType::Socket => {
                if !s.sockets.contains(&u) {
                    s.sockets.push(u);
                }
            }
            Ok(_) => ctx.warn(format!("Unit must be of type socket, ignoring: {name}")),
            Err(_) => ctx.warn(format!("Unit name is not valid, ignoring: {name}")),
        },
    )
}

fn apply_pid_file(
    s: &mut ServiceSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    let Some(p) = unit_path(ctx, value, false)? else {
        s.pid_file = None;
        return Ok(());
    };
    let p = p.to_string_lossy().into_owned();
    if let Some(rest) = p.strip_prefix("/var/run/") {
        let new = format!("/run/{rest}");
        ctx.notice(format!(
            "PIDFile= references a path below legacy directory /var/run/, updating {p} → {new}; please update the unit file accordingly."
        ));
        s.pid_file = Some(new);
    } else {
        s.pid_file = Some(p);
    }
    Ok(())
}

/// D-Bus well-known name syntax (`sd_bus_service_name_is_valid`).
fn bus_name_is_valid(n: &str) -> bool {
    if n.is_empty() || n.len() > 255 || n.starts_with('.') {
        return false;
    }
    let unique = n.starts_with(':');
    let body = n.strip_prefix(':').unwrap_or(n);
    let parts: Vec<&str> = body.split('.').collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
                && (unique || !p.as_bytes()[0].is_ascii_digit())
        })
}

fn timeout(key: &str, value: &str) -> Result<Usec, SettingError> {
    parse_sec_fix_0(value).map_err(|_| {
        SettingError::invalid(format!(
            "Failed to parse {key}= parameter, ignoring: {value}"
        ))
    })
}

const fn d(name: &'static str, apply: ApplyFn<ServiceSettings>) -> Directive<ServiceSettings> {
    Directive {
        name,
        apply,
        support: Support::Parsed,
    }
}

macro_rules! exec {
    ($name:literal, $field:ident) => {
        d($name, |s, ctx, v| {
            parse_exec(&mut s.commands.$field, ctx, v)
        })
    };
}

macro_rules! compat {
    ($name:literal) => {
        d($name, |s, _, v| {
            s.unit_compat.push(($name, v.to_owned()));
            Ok(())
        })
    };
}

/// The service-specific keys of 248's `Service.*` gperf lines.
pub(crate) static SERVICE_DIRECTIVES: &[Directive<ServiceSettings>] = &[
    d("PIDFile", apply_pid_file),
    exec!("ExecCondition", condition),
    exec!("ExecStartPre", start_pre),
    exec!("ExecStart", start),
    exec!("ExecStartPost", start_post),
    exec!("ExecReload", reload),
    exec!("ExecStop", stop),
    exec!("ExecStopPost", stop_post),
    d("RestartSec", |s, _, v| {
        s.restart_sec = sec(v)?;
        Ok(())
    }),
    d("TimeoutSec", |s, ctx, v| {
        let t = timeout(ctx.key, v)?;
        s.timeout_start = t;
        s.timeout_stop = t;
        s.timeout_start_set = true;
        Ok(())
    }),
    d("TimeoutStartSec", |s, ctx, v| {
        s.timeout_start = timeout(ctx.key, v)?;
        s.timeout_start_set = true;
        Ok(())
    }),
    d("TimeoutStopSec", |s, ctx, v| {
        s.timeout_stop = timeout(ctx.key, v)?;
        Ok(())
    }),
    d("TimeoutAbortSec", |s, _, v| {
        if v.is_empty() {
            s.timeout_abort = None;
            return Ok(());
        }
        s.timeout_abort = Some(parse_sec(v).map_err(|_| {
            SettingError::invalid(format!("Invalid TimeoutAbortSec= setting, ignoring: {v}"))
        })?);
        Ok(())
    }),
    d("TimeoutStartFailureMode", |s, _, v| {
        s.timeout_start_failure_mode = parse_choice(v, "Failed to parse timeout failure mode")?;
        Ok(())
    }),
    d("TimeoutStopFailureMode", |s, _, v| {
        s.timeout_stop_failure_mode = parse_choice(v, "Failed to parse timeout failure mode")?;
        Ok(())
    }),
    d("RuntimeMaxSec", |s, _, v| {
        s.runtime_max = sec(v)?;
        Ok(())
    }),
    d("WatchdogSec", |s, _, v| {
        s.watchdog = sec(v)?;
        Ok(())
    }),
    compat!("StartLimitInterval"),
    compat!("StartLimitBurst"),
    compat!("StartLimitAction"),
    compat!("FailureAction"),
    compat!("RebootArgument"),
    d("Type", |s, _, v| {
        s.service_type = Some(parse_choice(v, "Failed to parse service type")?);
        Ok(())
    }),
    d("Restart", |s, _, v| {
        s.restart = parse_choice(v, "Failed to parse service restart specifier")?;
        Ok(())
    }),
    d("PermissionsStartOnly", |s, _, v| {
        set_bool(&mut s.permissions_start_only, v)
    }),
    d("RootDirectoryStartOnly", |s, _, v| {
        set_bool(&mut s.root_directory_start_only, v)
    }),
    d("RemainAfterExit", |s, _, v| {
        set_bool(&mut s.remain_after_exit, v)
    }),
    d("GuessMainPID", |s, _, v| set_bool(&mut s.guess_main_pid, v)),
    d("RestartPreventExitStatus", |s, ctx, v| {
        exit_status_set(&mut s.restart_prevent_exit_status, ctx, v)
    }),
    d("RestartForceExitStatus", |s, ctx, v| {
        exit_status_set(&mut s.restart_force_exit_status, ctx, v)
    }),
    d("SuccessExitStatus", |s, ctx, v| {
        exit_status_set(&mut s.success_exit_status, ctx, v)
    }),
    d("SysVStartPriority", |_, ctx, _| {
        ctx.warn(format!(
            "Support for option {}= has been removed and it is ignored",
            ctx.key
        ));
        Ok(())
    }),
    d("NonBlocking", |s, _, v| {
        s.non_blocking = boolean(v)?;
        Ok(())
    }),
    d("BusName", |s, ctx, v| {
        if v.is_empty() {
            s.bus_name = None;
            return Ok(());
        }
        let n = super::exec::value::expand(ctx, v)?;
        if !bus_name_is_valid(&n) {
            return Err(SettingError::invalid(format!(
                "Invalid bus name, ignoring: {n}"
            )));
        }
        s.bus_name = Some(n);
        Ok(())
    }),
    d("FileDescriptorStoreMax", |s, _, v| {
        s.file_descriptor_store_max = unsigned(v).ok_or_else(|| {
            SettingError::invalid(format!(
                "Failed to parse unsigned integer value, ignoring: {v}"
            ))
        })?;
        Ok(())
    }),
    d("NotifyAccess", |s, _, v| {
        s.notify_access = Some(parse_choice(v, "Failed to parse notify access specifier")?);
        Ok(())
    }),
    d("Sockets", apply_sockets),
    d("BusPolicy", |_, ctx, _| {
        ctx.warn(format!(
            "Support for option {}= has been removed and it is ignored",
            ctx.key
        ));
        Ok(())
    }),
    d("USBFunctionDescriptors", |s, ctx, v| {
        s.usb_function_descriptors =
            unit_path(ctx, v, false)?.map(|p| p.to_string_lossy().into_owned());
        Ok(())
    }),
    d("USBFunctionStrings", |s, ctx, v| {
        s.usb_function_strings =
            unit_path(ctx, v, false)?.map(|p| p.to_string_lossy().into_owned());
        Ok(())
    }),
    d("OOMPolicy", |s, _, v| {
        s.oom_policy = Some(parse_choice(v, "Failed to parse OOM policy")?);
        Ok(())
    }),
];
