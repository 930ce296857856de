//! The `[Unit]` section: description, dependencies, conditions and asserts, start limits and
//! actions, with systemd 248's parsers (`src/core/load-fragment.c`) and defaults.
//!
//! Keys newer than 248 (`Upholds=`, `ConditionFirmware=`, `ConditionOSRelease=`,
//! `SocketBindAllow=` in `[Unit]`, `OnSuccess=`, `StartLimitIntervalSec=` spellings are
//! unchanged) are deliberately absent so that they are reported as unknown, as 248 does.

use std::fmt;

use keel_core::specifier::{UNIT_NAME_SPECIFIERS, expand_specifiers_limited};
use keel_core::time::{Usec, parse_sec_fix_0};
use keel_core::unit_name::UnitName;
use keel_core::word::ExtractFlags;
use serde::Serialize;

use super::directive::{ApplyFn, Directive, ParseCtx, SettingError, Support};
use super::exec::value::{PathCheck, Words, expand, set_bool, simplify_path, unit_string};
use super::exec::{choice, parse_choice, sec};

choice! {
    /// The dependency kinds of `[Unit]` (and of `.wants/`, `.requires/` directories).
    Dependency {
        Requires = "Requires", Requisite = "Requisite", Wants = "Wants", BindsTo = "BindsTo",
        PartOf = "PartOf", Conflicts = "Conflicts", Before = "Before", After = "After",
        OnFailure = "OnFailure", PropagatesReloadTo = "PropagatesReloadTo",
        ReloadPropagatedFrom = "ReloadPropagatedFrom", JoinsNamespaceOf = "JoinsNamespaceOf"
    }
}

choice! {
    /// `OnFailureJobMode=` (systemd's job modes).
    JobMode {
        Fail = "fail", Replace = "replace", ReplaceIrreversibly = "replace-irreversibly",
        Isolate = "isolate", Flush = "flush", IgnoreDependencies = "ignore-dependencies",
        IgnoreRequirements = "ignore-requirements"
    }
}

choice! {
    /// `FailureAction=`, `SuccessAction=`, `StartLimitAction=`, `JobTimeoutAction=`.
    EmergencyAction {
        None = "none", Reboot = "reboot", RebootForce = "reboot-force",
        RebootImmediate = "reboot-immediate", Poweroff = "poweroff",
        PoweroffForce = "poweroff-force", PoweroffImmediate = "poweroff-immediate",
        Exit = "exit", ExitForce = "exit-force"
    }
}

choice! {
    /// `CollectMode=`.
    CollectMode { Inactive = "inactive", InactiveOrFailed = "inactive-or-failed" }
}

choice! {
    /// The condition and assert checks of 248 (`Condition…=`/`Assert…=` without the prefix).
    ConditionType {
        Architecture = "Architecture", Virtualization = "Virtualization", Host = "Host",
        KernelCommandLine = "KernelCommandLine", KernelVersion = "KernelVersion",
        Security = "Security", Capability = "Capability", ACPower = "ACPower",
        NeedsUpdate = "NeedsUpdate", FirstBoot = "FirstBoot", PathExists = "PathExists",
        PathExistsGlob = "PathExistsGlob", PathIsDirectory = "PathIsDirectory",
        PathIsSymbolicLink = "PathIsSymbolicLink", PathIsMountPoint = "PathIsMountPoint",
        PathIsReadWrite = "PathIsReadWrite", PathIsEncrypted = "PathIsEncrypted",
        DirectoryNotEmpty = "DirectoryNotEmpty", FileNotEmpty = "FileNotEmpty",
        FileIsExecutable = "FileIsExecutable", User = "User", Group = "Group",
        ControlGroupController = "ControlGroupController", CPUs = "CPUs", Memory = "Memory",
        Environment = "Environment", Null = "Null"
    }
}

impl ConditionType {
    /// Whether the parameter is a path (checked to be absolute when parsed).
    pub fn takes_path(self) -> bool {
        matches!(
            self,
            Self::PathExists
                | Self::PathExistsGlob
                | Self::PathIsDirectory
                | Self::PathIsSymbolicLink
                | Self::PathIsMountPoint
                | Self::PathIsReadWrite
                | Self::PathIsEncrypted
                | Self::DirectoryNotEmpty
                | Self::FileNotEmpty
                | Self::FileIsExecutable
                | Self::NeedsUpdate
        )
    }
}

/// One `Condition…=` or `Assert…=` check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Condition {
    /// What is checked.
    pub kind: ConditionType,
    /// `|`: a triggering condition (any one of them suffices).
    pub trigger: bool,
    /// `!`: negated.
    pub negate: bool,
    /// The parameter, specifiers expanded.
    pub parameter: String,
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}{}",
            if self.trigger { "|" } else { "" },
            if self.negate { "!" } else { "" },
            self.parameter
        )
    }
}

/// The dependencies of one kind, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dependencies {
    /// `(kind, unit)` pairs in file order, without duplicates.
    pub list: Vec<(Dependency, UnitName)>,
}

impl Dependencies {
    /// Adds `unit` as a dependency of kind `kind` (a repeat is ignored).
    pub fn add(&mut self, kind: Dependency, unit: UnitName) {
        if !self.list.iter().any(|(k, u)| *k == kind && *u == unit) {
            self.list.push((kind, unit));
        }
    }

    /// The units of one kind.
    pub fn of(&self, kind: Dependency) -> impl Iterator<Item = &UnitName> {
        self.list
            .iter()
            .filter(move |(k, _)| *k == kind)
            .map(|(_, u)| u)
    }
}

/// The `[Unit]` section with systemd 248's defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct UnitSection {
    /// `Description=`
    pub description: Option<String>,
    /// `Documentation=` (URLs: `http(s)://`, `file:`, `info:`, `man:`)
    pub documentation: Vec<String>,
    /// `Requires=`, `Wants=`, `After=`, ... and those of `.wants/`/`.requires/` directories.
    pub dependencies: Dependencies,
    /// `RequiresMountsFor=`
    pub requires_mounts_for: Vec<String>,
    /// `OnFailureJobMode=` (default `replace`)
    pub on_failure_job_mode: JobMode,
    /// `StopWhenUnneeded=` (default no)
    pub stop_when_unneeded: bool,
    /// `RefuseManualStart=` (default no)
    pub refuse_manual_start: bool,
    /// `RefuseManualStop=` (default no)
    pub refuse_manual_stop: bool,
    /// `AllowIsolate=` (default no)
    pub allow_isolate: bool,
    /// `DefaultDependencies=` (default yes)
    pub default_dependencies: bool,
    /// `IgnoreOnIsolate=` (default no; yes for some types)
    pub ignore_on_isolate: bool,
    /// `JobTimeoutSec=` (default infinity; 0 means infinity)
    pub job_timeout: Usec,
    /// `JobRunningTimeoutSec=` (default infinity)
    pub job_running_timeout: Usec,
    /// `JobTimeoutAction=` (default none)
    pub job_timeout_action: EmergencyAction,
    /// `JobTimeoutRebootArgument=`
    pub job_timeout_reboot_argument: Option<String>,
    /// `StartLimitIntervalSec=` (default: the manager's `DefaultStartLimitIntervalSec=`, 10s)
    pub start_limit_interval: Usec,
    /// `StartLimitBurst=` (default: the manager's `DefaultStartLimitBurst=`, 5)
    pub start_limit_burst: u32,
    /// `StartLimitAction=` (default none)
    pub start_limit_action: EmergencyAction,
    /// `FailureAction=` (default none)
    pub failure_action: EmergencyAction,
    /// `SuccessAction=` (default none)
    pub success_action: EmergencyAction,
    /// `FailureActionExitStatus=` (default unset)
    pub failure_action_exit_status: Option<u8>,
    /// `SuccessActionExitStatus=` (default unset)
    pub success_action_exit_status: Option<u8>,
    /// `RebootArgument=`
    pub reboot_argument: Option<String>,
    /// `CollectMode=` (default inactive)
    pub collect_mode: CollectMode,
    /// `SourcePath=`
    pub source_path: Option<String>,
    /// `Condition…=` in file order.
    pub conditions: Vec<Condition>,
    /// `Assert…=` in file order.
    pub asserts: Vec<Condition>,
}

impl Default for UnitSection {
    fn default() -> Self {
        Self {
            description: None,
            documentation: Vec::new(),
            dependencies: Dependencies::default(),
            requires_mounts_for: Vec::new(),
            on_failure_job_mode: JobMode::Replace,
            stop_when_unneeded: false,
            refuse_manual_start: false,
            refuse_manual_stop: false,
            allow_isolate: false,
            default_dependencies: true,
            ignore_on_isolate: false,
            job_timeout: Usec::INFINITY,
            job_running_timeout: Usec::INFINITY,
            job_timeout_action: EmergencyAction::None,
            job_timeout_reboot_argument: None,
            start_limit_interval: Usec::from_secs(10),
            start_limit_burst: 5,
            start_limit_action: EmergencyAction::None,
            failure_action: EmergencyAction::None,
            success_action: EmergencyAction::None,
            failure_action_exit_status: None,
            success_action_exit_status: None,
            reboot_argument: None,
            collect_mode: CollectMode::Inactive,
            source_path: None,
            conditions: Vec::new(),
            asserts: Vec::new(),
        }
    }
}

/// `config_parse_unit_deps`: unit names (specifiers of `unit_name_printf`), each a warning
/// when invalid.
pub(crate) fn add_deps(
    deps: &mut Dependencies,
    kind: Dependency,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    unit_name_words(
        ctx,
        value,
        "Invalid syntax",
        "Failed to resolve unit name '{}'",
        |ctx, name| match UnitName::new(name) {
            Ok(u) => deps.add(kind, u),
            Err(_) => ctx.warn(format!(
                "Failed to add dependency on {name}, ignoring: Invalid argument"
            )),
        },
    )
}

/// The words of a unit-name list (`EXTRACT_RETAIN_ESCAPE`), each expanded with
/// `unit_name_printf`'s specifiers and handed to `each`; a word whose specifiers fail is a
/// warning (`resolve_msg` with `{}` for the word), a syntax error ends the list
/// (`syntax_msg`).
pub(crate) fn unit_name_words(
    ctx: &mut ParseCtx<'_>,
    value: &str,
    syntax_msg: &str,
    resolve_msg: &str,
    mut each: impl FnMut(&mut ParseCtx<'_>, &str),
) -> Result<(), SettingError> {
    // With only RETAIN_ESCAPE, extract_first_word is a plain split at whitespace (quotes and
    // backslashes are ordinary characters), so words without `%` need no copies at all.
    if !value.contains('%') {
        for word in value
            .split([' ', '\t', '\n', '\r'])
            .filter(|w| !w.is_empty())
        {
            each(ctx, word);
        }
        return Ok(());
    }
    for word in Words::new(value, ExtractFlags::RETAIN_ESCAPE) {
        let Ok(word) = word else {
            return Err(SettingError::invalid(format!(
                "{syntax_msg}, ignoring: {value}"
            )));
        };
        match expand_specifiers_limited(&word, ctx.unit, ctx.specifiers, UNIT_NAME_SPECIFIERS) {
            Ok(name) => each(ctx, &name),
            Err(e) => ctx.warn(format!(
                "{}, ignoring: {e}",
                resolve_msg.replace("{}", &word)
            )),
        }
    }
    Ok(())
}

fn emergency_action(key: &str, value: &str) -> Result<EmergencyAction, SettingError> {
    value
        .parse()
        .map_err(|()| SettingError::invalid(format!("Failed to parse {key}=, ignoring: {value}")))
}

/// `config_parse_exit_status`: empty resets, else 0…255.
pub(crate) fn exit_status(value: &str) -> Result<Option<u8>, SettingError> {
    if value.is_empty() {
        return Ok(None);
    }
    match value.parse::<i64>() {
        Ok(n) => u8::try_from(n).map(Some).map_err(|_| {
            SettingError::invalid(format!("Exit status out of range, ignoring: {value}"))
        }),
        Err(_) => Err(SettingError::invalid(format!(
            "Failed to parse exit status '{value}', ignoring: Invalid argument"
        ))),
    }
}

fn documentation_url_is_valid(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once(':') else {
        return false;
    };
    let ok_scheme = match scheme {
        "http" | "https" => rest.starts_with("//") && rest.len() > 2,
        "file" | "info" | "man" => !rest.is_empty(),
        _ => false,
    };
    ok_scheme && !url.chars().any(|c| c.is_ascii_control() || c == ' ')
}

fn apply_documentation(
    s: &mut UnitSection,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.documentation.clear();
        return Ok(());
    }
    // Plain words (no quotes, escapes or specifiers) need no unquoting or expansion.
    if !value.contains(['%', '"', '\'', '\\']) {
        for url in value
            .split([' ', '\t', '\n', '\r'])
            .filter(|w| !w.is_empty())
        {
            if documentation_url_is_valid(url) {
                s.documentation.push(url.to_owned());
            } else {
                ctx.warn(format!("Invalid URL, ignoring: {url}"));
            }
        }
        return Ok(());
    }
    for word in Words::new(value, ExtractFlags::UNQUOTE) {
        let Ok(word) = word else {
            return Err(SettingError::invalid(format!(
                "Invalid syntax, ignoring: {value}"
            )));
        };
        let url = match expand(ctx, &word) {
            Ok(u) => u,
            Err(e) => {
                ctx.warn(e.to_string());
                continue;
            }
        };
        if documentation_url_is_valid(&url) {
            s.documentation.push(url);
        } else {
            ctx.warn(format!("Invalid URL, ignoring: {url}"));
        }
    }
    Ok(())
}

fn apply_requires_mounts_for(
    s: &mut UnitSection,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    for word in Words::new(value, ExtractFlags::UNQUOTE) {
        let Ok(word) = word else {
            return Err(SettingError::invalid(format!(
                "Invalid syntax, ignoring: {value}"
            )));
        };
        let path = match expand(ctx, &word) {
            Ok(p) => p,
            Err(e) => {
                ctx.warn(e.to_string());
                continue;
            }
        };
        match simplify_path(ctx.key, &path, PathCheck::Absolute, false) {
            Ok(p) => {
                if !s.requires_mounts_for.contains(&p) {
                    s.requires_mounts_for.push(p);
                }
            }
            Err(e) => ctx.warn(e.to_string()),
        }
    }
    Ok(())
}

/// `config_parse_unit_condition_{path,string}`: `|` and `!` prefixes, specifiers, absolute
/// paths for path checks; an empty value resets every condition (or assert) of the unit.
fn parse_condition(
    list: &mut Vec<Condition>,
    kind: ConditionType,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        list.clear();
        return Ok(());
    }
    let ws: &[char] = &[' ', '\t', '\n', '\r'];
    let mut v = value;
    let trigger = v.starts_with('|');
    if trigger {
        v = v[1..].trim_start_matches(ws);
    }
    let negate = v.starts_with('!');
    if negate {
        v = v[1..].trim_start_matches(ws);
    }
    let parameter = expand(ctx, v)?;
    let parameter = if kind.takes_path() {
        simplify_path(ctx.key, &parameter, PathCheck::Absolute, false)?
    } else if kind == ConditionType::Null {
        keel_core::boolean::parse_boolean(&parameter).map_err(|_| {
            SettingError::invalid(format!(
                "Failed to parse boolean value in condition, ignoring: {parameter}"
            ))
        })?;
        parameter
    } else {
        parameter
    };
    list.push(Condition {
        kind,
        trigger,
        negate,
        parameter,
    });
    Ok(())
}

/// Applies `ConditionX=` or `AssertX=`; `None` when `key` is neither.
pub(crate) fn apply_condition(
    s: &mut UnitSection,
    ctx: &mut ParseCtx<'_>,
    key: &str,
    value: &str,
) -> Option<Result<(), SettingError>> {
    let (assert, rest) = if let Some(r) = key.strip_prefix("Condition") {
        (false, r)
    } else {
        (true, key.strip_prefix("Assert")?)
    };
    let kind: ConditionType = rest.parse().ok()?;
    let list = if assert {
        &mut s.asserts
    } else {
        &mut s.conditions
    };
    Some(parse_condition(list, kind, ctx, value))
}

fn obsolete_requires(
    s: &mut UnitSection,
    ctx: &mut ParseCtx<'_>,
    v: &str,
) -> Result<(), SettingError> {
    ctx.warn(format!(
        "Unit dependency type {}= is obsolete, replacing by Requires=, please update your unit file",
        ctx.key
    ));
    add_deps(&mut s.dependencies, Dependency::Requires, ctx, v)
}

fn obsolete_requisite(
    s: &mut UnitSection,
    ctx: &mut ParseCtx<'_>,
    v: &str,
) -> Result<(), SettingError> {
    ctx.warn(format!(
        "Unit dependency type {}= is obsolete, replacing by Requisite=, please update your unit file",
        ctx.key
    ));
    add_deps(&mut s.dependencies, Dependency::Requisite, ctx, v)
}

macro_rules! dep {
    ($name:literal, $kind:ident) => {
        Directive {
            name: $name,
            apply: |s, ctx, v| add_deps(&mut s.dependencies, Dependency::$kind, ctx, v),
            support: Support::Parsed,
        }
    };
}

const fn d(name: &'static str, apply: ApplyFn<UnitSection>) -> Directive<UnitSection> {
    Directive {
        name,
        apply,
        support: Support::Parsed,
    }
}

fn ea(key: &str, v: &str) -> Result<EmergencyAction, SettingError> {
    emergency_action(key, v)
}

/// Every non-condition key of 248's `Unit.*` gperf lines (conditions are matched by
/// [`apply_condition`]).
pub(crate) static UNIT_DIRECTIVES: &[Directive<UnitSection>] = &[
    d("Description", |s, ctx, v| {
        s.description = unit_string(ctx, v)?;
        Ok(())
    }),
    d("Documentation", apply_documentation),
    dep!("Requires", Requires),
    dep!("Requisite", Requisite),
    dep!("Wants", Wants),
    dep!("BindsTo", BindsTo),
    dep!("BindTo", BindsTo),
    dep!("Conflicts", Conflicts),
    dep!("Before", Before),
    dep!("After", After),
    dep!("OnFailure", OnFailure),
    dep!("PropagatesReloadTo", PropagatesReloadTo),
    dep!("PropagateReloadTo", PropagatesReloadTo),
    dep!("ReloadPropagatedFrom", ReloadPropagatedFrom),
    dep!("PropagateReloadFrom", ReloadPropagatedFrom),
    dep!("PartOf", PartOf),
    dep!("JoinsNamespaceOf", JoinsNamespaceOf),
    Directive {
        name: "RequiresOverridable",
        apply: obsolete_requires,
        support: Support::Parsed,
    },
    Directive {
        name: "RequisiteOverridable",
        apply: obsolete_requisite,
        support: Support::Parsed,
    },
    d("RequiresMountsFor", apply_requires_mounts_for),
    d("StopWhenUnneeded", |s, _, v| {
        set_bool(&mut s.stop_when_unneeded, v)
    }),
    d("RefuseManualStart", |s, _, v| {
        set_bool(&mut s.refuse_manual_start, v)
    }),
    d("RefuseManualStop", |s, _, v| {
        set_bool(&mut s.refuse_manual_stop, v)
    }),
    d("AllowIsolate", |s, _, v| set_bool(&mut s.allow_isolate, v)),
    d("DefaultDependencies", |s, _, v| {
        set_bool(&mut s.default_dependencies, v)
    }),
    d("OnFailureJobMode", |s, _, v| {
        s.on_failure_job_mode = parse_choice(v, "Failed to parse job mode")?;
        Ok(())
    }),
    d("OnFailureIsolate", |s, _, v| {
        let b = super::exec::value::boolean(v)?;
        s.on_failure_job_mode = if b {
            JobMode::Isolate
        } else {
            JobMode::Replace
        };
        Ok(())
    }),
    d("IgnoreOnIsolate", |s, _, v| {
        set_bool(&mut s.ignore_on_isolate, v)
    }),
    d("IgnoreOnSnapshot", |_, ctx, _| {
        ctx.warn(format!(
            "Support for option {}= has been removed and it is ignored",
            ctx.key
        ));
        Ok(())
    }),
    d("JobTimeoutSec", |s, _, v| {
        s.job_timeout = parse_sec_fix_0(v).map_err(|_| {
            SettingError::invalid(format!("Failed to parse job timeout, ignoring: {v}"))
        })?;
        Ok(())
    }),
    d("JobRunningTimeoutSec", |s, _, v| {
        s.job_running_timeout = parse_sec_fix_0(v).map_err(|_| {
            SettingError::invalid(format!("Failed to parse job timeout, ignoring: {v}"))
        })?;
        Ok(())
    }),
    d("JobTimeoutAction", |s, ctx, v| {
        s.job_timeout_action = ea(ctx.key, v)?;
        Ok(())
    }),
    d("JobTimeoutRebootArgument", |s, ctx, v| {
        s.job_timeout_reboot_argument = unit_string(ctx, v)?;
        Ok(())
    }),
    d("StartLimitIntervalSec", |s, _, v| {
        s.start_limit_interval = sec(v)?;
        Ok(())
    }),
    d("StartLimitInterval", |s, _, v| {
        s.start_limit_interval = sec(v)?;
        Ok(())
    }),
    d("StartLimitBurst", |s, _, v| {
        s.start_limit_burst = super::exec::value::unsigned(v).ok_or_else(|| {
            SettingError::invalid(format!(
                "Failed to parse unsigned integer value, ignoring: {v}"
            ))
        })?;
        Ok(())
    }),
    d("StartLimitAction", |s, ctx, v| {
        s.start_limit_action = ea(ctx.key, v)?;
        Ok(())
    }),
    d("FailureAction", |s, ctx, v| {
        s.failure_action = ea(ctx.key, v)?;
        Ok(())
    }),
    d("SuccessAction", |s, ctx, v| {
        s.success_action = ea(ctx.key, v)?;
        Ok(())
    }),
    d("FailureActionExitStatus", |s, _, v| {
        s.failure_action_exit_status = exit_status(v)?;
        Ok(())
    }),
    d("SuccessActionExitStatus", |s, _, v| {
        s.success_action_exit_status = exit_status(v)?;
        Ok(())
    }),
    d("RebootArgument", |s, ctx, v| {
        s.reboot_argument = unit_string(ctx, v)?;
        Ok(())
    }),
    d("CollectMode", |s, _, v| {
        s.collect_mode = parse_choice(v, "Failed to parse garbage collection mode")?;
        Ok(())
    }),
    d("SourcePath", |s, ctx, v| {
        s.source_path =
            super::exec::value::unit_path(ctx, v, false)?.map(|p| p.to_string_lossy().into_owned());
        Ok(())
    }),
];

#[cfg(test)]
mod tests;
