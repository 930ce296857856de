//! Environment, standard I/O and logging: `Environment=`, `EnvironmentFile=`,
//! `PassEnvironment=`, `UnsetEnvironment=`, `StandardInput/Output/Error=`,
//! `StandardInputText/Data=`, `Syslog*=`, `LogLevelMax=`, `LogExtraFields=`,
//! `LogNamespace=`.

use std::fmt;
use std::path::PathBuf;

use keel_core::env::{env_assignment_is_valid, env_name_is_valid};
use keel_core::word::ExtractFlags;
use serde::Serialize;

use super::ExecSettings;
use super::value::{PathCheck, Words, cunescape_bytes, expand, simplify_path, unbase64};
use crate::model::directive::{ParseCtx, SettingError};

/// Largest `StandardInputText=`/`StandardInputData=` payload (`EXEC_STDIN_DATA_MAX`).
pub const STDIN_DATA_MAX: usize = 64 * 1024 * 1024;

/// One `EnvironmentFile=` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[doc(alias = "EnvironmentFile=")]
pub struct EnvironmentFile {
    /// Absolute path.
    pub path: PathBuf,
    /// `-` prefix: a missing file is not an error.
    pub ignore_missing: bool,
}

/// `StandardInput=`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[doc(alias = "StandardInput=")]
pub enum StandardInput {
    /// `null` (the default).
    #[default]
    Null,
    /// `tty`
    Tty,
    /// `tty-force`
    TtyForce,
    /// `tty-fail`
    TtyFail,
    /// `socket`
    Socket,
    /// `fd` / `fd:NAME` (None: the unit's name).
    NamedFd(Option<String>),
    /// `data`: from `StandardInputText=`/`StandardInputData=`.
    Data,
    /// `file:PATH`
    File(PathBuf),
}

/// `StandardOutput=` / `StandardError=`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[doc(alias = "StandardOutput=")]
#[doc(alias = "StandardError=")]
pub enum StandardOutput {
    /// `inherit`
    #[default]
    Inherit,
    /// `null`
    Null,
    /// `tty`
    Tty,
    /// `journal` (`syslog` is its obsolete name)
    Journal,
    /// `journal+console` (`syslog+console`)
    JournalAndConsole,
    /// `kmsg`
    Kmsg,
    /// `kmsg+console`
    KmsgAndConsole,
    /// `socket`
    Socket,
    /// `fd` / `fd:NAME`
    NamedFd(Option<String>),
    /// `file:PATH`
    File(PathBuf),
    /// `append:PATH`
    Append(PathBuf),
    /// `truncate:PATH` (new in 248)
    Truncate(PathBuf),
}

impl StandardOutput {
    /// The type name as systemd prints it (`journal+console`, `file`, …).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Inherit => "inherit",
            Self::Null => "null",
            Self::Tty => "tty",
            Self::Journal => "journal",
            Self::JournalAndConsole => "journal+console",
            Self::Kmsg => "kmsg",
            Self::KmsgAndConsole => "kmsg+console",
            Self::Socket => "socket",
            Self::NamedFd(_) => "fd",
            Self::File(_) => "file",
            Self::Append(_) => "append",
            Self::Truncate(_) => "truncate",
        }
    }
}

impl StandardInput {
    /// The type name as systemd prints it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Tty => "tty",
            Self::TtyForce => "tty-force",
            Self::TtyFail => "tty-fail",
            Self::Socket => "socket",
            Self::NamedFd(_) => "fd",
            Self::Data => "data",
            Self::File(_) => "file",
        }
    }
}

/// A syslog priority level (`SyslogLevel=`, `LogLevelMax=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum LogLevel {
    Emerg,
    Alert,
    Crit,
    Err,
    Warning,
    Notice,
    #[default]
    Info,
    Debug,
}

const LOG_LEVELS: [(&str, LogLevel); 8] = [
    ("emerg", LogLevel::Emerg),
    ("alert", LogLevel::Alert),
    ("crit", LogLevel::Crit),
    ("err", LogLevel::Err),
    ("warning", LogLevel::Warning),
    ("notice", LogLevel::Notice),
    ("info", LogLevel::Info),
    ("debug", LogLevel::Debug),
];

impl LogLevel {
    /// `log_level_from_string()`: a name or a number 0–7.
    pub fn parse(s: &str) -> Option<Self> {
        if let Some((_, l)) = LOG_LEVELS.iter().find(|(n, _)| *n == s) {
            return Some(*l);
        }
        let n: usize = s.parse().ok()?;
        LOG_LEVELS.get(n).map(|(_, l)| *l)
    }

    /// The name (`info`).
    pub fn as_str(self) -> &'static str {
        LOG_LEVELS[self as usize].0
    }
}

/// `SyslogFacility=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct SyslogFacility(u8);

const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "", "", "", "", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
    "local7",
];

impl SyslogFacility {
    /// `daemon`, the default.
    pub const DAEMON: Self = Self(3);

    /// `log_facility_unshifted_from_string()`: a name or a number 0–23.
    pub fn parse(s: &str) -> Option<Self> {
        if s.is_empty() {
            return None;
        }
        if let Some(i) = FACILITIES.iter().position(|n| *n == s) {
            return u8::try_from(i).ok().map(Self);
        }
        s.parse::<u8>().ok().filter(|&n| n < 24).map(Self)
    }

    /// The unshifted facility number.
    pub fn as_raw(self) -> u8 {
        self.0
    }
}

impl fmt::Display for SyslogFacility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match FACILITIES.get(usize::from(self.0)) {
            Some(n) if !n.is_empty() => f.write_str(n),
            _ => write!(f, "{}", self.0),
        }
    }
}

pub(super) fn apply_environment(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    parse_environ(&mut s.environment, ctx, value, true)
}

/// `config_parse_environ`: whitespace-separated `NAME=VALUE` words (unquoted, C-unescaped),
/// specifiers expanded when `specifiers` (unit files; not `system.conf` in 248); invalid ones
/// are warnings; a later assignment of a name replaces the earlier; empty resets.
pub(crate) fn parse_environ(
    list: &mut Vec<String>,
    ctx: &mut ParseCtx<'_>,
    value: &str,
    specifiers: bool,
) -> Result<(), SettingError> {
    if value.is_empty() {
        list.clear();
        return Ok(());
    }
    for word in Words::new(value, ExtractFlags::CUNESCAPE | ExtractFlags::UNQUOTE) {
        let Ok(word) = word else {
            return Err(SettingError::invalid(format!(
                "Invalid syntax, ignoring: {value}"
            )));
        };
        let k = if specifiers {
            match expand(ctx, &word) {
                Ok(k) => k,
                Err(e) => {
                    ctx.warn(e.to_string());
                    continue;
                }
            }
        } else {
            word
        };
        if !env_assignment_is_valid(&k) {
            ctx.warn(format!("Invalid environment assignment, ignoring: {k}"));
            continue;
        }
        env_replace(list, k);
    }
    Ok(())
}

/// `strv_env_replace()`: replaces an assignment of the same name in place, or appends.
pub(crate) fn env_replace(env: &mut Vec<String>, assignment: String) {
    let name = assignment.split('=').next().unwrap_or_default();
    if let Some(old) = env.iter_mut().find(|e| e.split('=').next() == Some(name)) {
        *old = assignment;
    } else {
        env.push(assignment);
    }
}

pub(super) fn apply_environment_file(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.environment_files.clear();
        return Ok(());
    }
    let n = expand(ctx, value)?;
    let (ignore_missing, p) = match n.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, n.as_str()),
    };
    let path = simplify_path(ctx.key, p, PathCheck::Absolute, false)?;
    s.environment_files.push(EnvironmentFile {
        path: PathBuf::from(path),
        ignore_missing,
    });
    Ok(())
}

/// `config_parse_pass_environ` / `config_parse_unset_environ`.
fn parse_env_names(list: &mut Vec<String>, ctx: &mut ParseCtx<'_>, value: &str, unset: bool) {
    if value.is_empty() {
        list.clear();
        return;
    }
    let flags = if unset {
        ExtractFlags::CUNESCAPE | ExtractFlags::UNQUOTE
    } else {
        ExtractFlags::UNQUOTE
    };
    let mut added: Vec<String> = Vec::new();
    for word in Words::new(value, flags) {
        let Ok(word) = word else {
            ctx.warn(format!(
                "Trailing garbage in {}, ignoring: {value}",
                ctx.key
            ));
            break;
        };
        let k = match expand(ctx, &word) {
            Ok(k) => k,
            Err(e) => {
                ctx.warn(e.to_string());
                continue;
            }
        };
        let valid = if unset {
            env_assignment_is_valid(&k) || env_name_is_valid(&k)
        } else {
            env_name_is_valid(&k)
        };
        if !valid {
            ctx.warn(if unset {
                format!(
                    "Invalid environment name or assignment {}, ignoring: {k}",
                    ctx.key
                )
            } else {
                format!("Invalid environment name for {}, ignoring: {k}", ctx.key)
            });
            continue;
        }
        added.push(k);
    }
    for k in added {
        if !list.contains(&k) {
            list.push(k);
        }
    }
}

pub(super) fn apply_pass_environment(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    parse_env_names(&mut s.pass_environment, ctx, value, false);
    Ok(())
}

pub(super) fn apply_unset_environment(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    parse_env_names(&mut s.unset_environment, ctx, value, true);
    Ok(())
}

/// `fdname_is_valid()`.
fn fdname_is_valid(s: &str) -> bool {
    s.len() < 256 && s.bytes().all(|b| (b' '..127).contains(&b) && b != b':')
}

fn fd_name(ctx: &ParseCtx<'_>, n: &str) -> Result<Option<String>, SettingError> {
    let resolved = expand(ctx, n)?;
    if resolved.is_empty() {
        return Ok(None);
    }
    if !fdname_is_valid(&resolved) {
        return Err(SettingError::invalid(format!(
            "Invalid file descriptor name, ignoring: {resolved}"
        )));
    }
    Ok(Some(resolved))
}

fn stdio_path(ctx: &ParseCtx<'_>, n: &str) -> Result<PathBuf, SettingError> {
    let resolved = expand(ctx, n)?;
    // PATH_CHECK_FATAL wording, yet the assignment is only ignored (as in 248).
    simplify_path(ctx.key, &resolved, PathCheck::Absolute, true)
        .map(PathBuf::from)
        .map_err(|e| SettingError::invalid(e.to_string()))
}

pub(super) fn apply_standard_input(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    s.standard_input = if let Some(n) = value.strip_prefix("fd:") {
        StandardInput::NamedFd(fd_name(ctx, n)?)
    } else if let Some(n) = value.strip_prefix("file:") {
        StandardInput::File(stdio_path(ctx, n)?)
    } else {
        match value {
            "null" => StandardInput::Null,
            "tty" => StandardInput::Tty,
            "tty-force" => StandardInput::TtyForce,
            "tty-fail" => StandardInput::TtyFail,
            "socket" => StandardInput::Socket,
            "fd" => StandardInput::NamedFd(None),
            "data" => StandardInput::Data,
            _ => {
                return Err(SettingError::invalid(format!(
                    "Failed to parse input specifier, ignoring: {value}"
                )));
            }
        }
    };
    Ok(())
}

fn parse_output(ctx: &mut ParseCtx<'_>, value: &str) -> Result<StandardOutput, SettingError> {
    let out = if let Some(n) = value.strip_prefix("fd:") {
        StandardOutput::NamedFd(fd_name(ctx, n)?)
    } else if let Some(n) = value.strip_prefix("file:") {
        StandardOutput::File(stdio_path(ctx, n)?)
    } else if let Some(n) = value.strip_prefix("append:") {
        StandardOutput::Append(stdio_path(ctx, n)?)
    } else if let Some(n) = value.strip_prefix("truncate:") {
        StandardOutput::Truncate(stdio_path(ctx, n)?)
    } else {
        let (out, obsolete) = match value {
            "inherit" => (StandardOutput::Inherit, false),
            "null" => (StandardOutput::Null, false),
            "tty" => (StandardOutput::Tty, false),
            "journal" => (StandardOutput::Journal, false),
            "journal+console" => (StandardOutput::JournalAndConsole, false),
            "kmsg" => (StandardOutput::Kmsg, false),
            "kmsg+console" => (StandardOutput::KmsgAndConsole, false),
            "socket" => (StandardOutput::Socket, false),
            "fd" => (StandardOutput::NamedFd(None), false),
            "syslog" => (StandardOutput::Journal, true),
            "syslog+console" => (StandardOutput::JournalAndConsole, true),
            _ => {
                return Err(SettingError::invalid(format!(
                    "Failed to parse output specifier, ignoring: {value}"
                )));
            }
        };
        if obsolete {
            ctx.warn(format!(
                "Standard output type {value} is obsolete, automatically updating to {}. Please update your unit file, and consider removing the setting altogether.",
                out.as_str()
            ));
        }
        out
    };
    Ok(out)
}

pub(super) fn apply_standard_output(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    s.standard_output = parse_output(ctx, value)?;
    Ok(())
}

pub(super) fn apply_standard_error(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    s.standard_error = parse_output(ctx, value)?;
    Ok(())
}

fn append_stdin(s: &mut ExecSettings, data: &[u8], extra: usize) -> Result<(), SettingError> {
    let total = s.standard_input_data.len() + data.len() + extra;
    if total > STDIN_DATA_MAX {
        return Err(SettingError::invalid(format!(
            "Standard input data too large ({}), maximum of {STDIN_DATA_MAX} permitted, ignoring.",
            s.standard_input_data.len() + data.len()
        )));
    }
    s.standard_input_data.extend_from_slice(data);
    Ok(())
}

pub(super) fn apply_standard_input_text(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.standard_input_data.clear();
        return Ok(());
    }
    let unescaped = cunescape_bytes(value, false)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            SettingError::invalid(format!(
                "Failed to decode C escaped text '{value}', ignoring: Invalid argument"
            ))
        })?;
    let resolved = expand(ctx, &unescaped)?;
    append_stdin(s, resolved.as_bytes(), 1)?;
    s.standard_input_data.push(b'\n');
    Ok(())
}

pub(super) fn apply_standard_input_data(
    s: &mut ExecSettings,
    _ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.standard_input_data.clear();
        return Ok(());
    }
    let data = unbase64(value)
        .ok()
        .filter(|d| !d.is_empty())
        .ok_or_else(|| {
            SettingError::invalid(format!("Failed to decode base64 data, ignoring: {value}"))
        })?;
    append_stdin(s, &data, 0)
}

pub(super) fn apply_syslog_facility(
    s: &mut ExecSettings,
    _ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    s.syslog_facility = SyslogFacility::parse(value).ok_or_else(|| {
        SettingError::invalid(format!("Failed to parse log facility, ignoring: {value}"))
    })?;
    Ok(())
}

/// `config_parse_log_level`.
pub(crate) fn log_level(value: &str) -> Result<LogLevel, SettingError> {
    LogLevel::parse(value).ok_or_else(|| {
        SettingError::invalid(format!("Failed to parse log level, ignoring: {value}"))
    })
}

/// `journal_field_valid()` without protected (`_`-prefixed) names.
fn journal_field_valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

pub(super) fn apply_log_extra_fields(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.log_extra_fields.clear();
        return Ok(());
    }
    for word in Words::new(value, ExtractFlags::CUNESCAPE | ExtractFlags::UNQUOTE) {
        let Ok(word) = word else {
            return Err(SettingError::invalid(format!(
                "Invalid syntax, ignoring: {value}"
            )));
        };
        let k = match expand(ctx, &word) {
            Ok(k) => k,
            Err(e) => {
                ctx.warn(e.to_string());
                continue;
            }
        };
        let Some((name, _)) = k.split_once('=') else {
            ctx.warn(format!("Log field lacks '=' character, ignoring: {k}"));
            continue;
        };
        if !journal_field_valid(name) {
            ctx.warn(format!("Log field name is invalid, ignoring: {k}"));
            continue;
        }
        s.log_extra_fields.push(k);
    }
    Ok(())
}

/// `log_namespace_name_valid()`: a file name made of unit-instance characters that
/// does not start with `.`.
fn log_namespace_name_valid(s: &str) -> bool {
    super::value::filename_is_valid(s)
        && s.len() <= 200
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":-_.\\".contains(&b))
}

pub(super) fn apply_log_namespace(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.log_namespace = None;
        return Ok(());
    }
    let k = expand(ctx, value)?;
    if !log_namespace_name_valid(&k) {
        return Err(SettingError::invalid(format!(
            "Specified log namespace name is not valid, ignoring: {k}"
        )));
    }
    s.log_namespace = Some(k);
    Ok(())
}
