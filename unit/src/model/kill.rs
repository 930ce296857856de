//! Kill settings of `[Service]`, `[Socket]`, `[Mount]` (and `[Swap]`, `[Scope]`): every key
//! of systemd 248's `KILL_CONTEXT_CONFIG_ITEMS` (systemd.kill(5) of 248).

use std::fmt;

use serde::Serialize;

use super::directive::{ApplyFn, Directive, ParseCtx, SettingError, Support};
use super::exec::choice;
use super::exec::value::set_bool;

choice! {
    /// `KillMode=`.
    #[doc(alias = "KillMode=")]
    KillMode { ControlGroup = "control-group", Process = "process", Mixed = "mixed", None = "none" }
}

/// Signal names 1–31 (Linux), index = number - 1.
const SIGNAL_NAMES: [&str; 31] = [
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
    "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
    "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
];

/// `SIGRTMIN` as glibc defines it (two real-time signals are reserved by glibc).
pub const SIGRTMIN: i32 = 34;
/// `SIGRTMAX`.
pub const SIGRTMAX: i32 = 64;

/// A signal number (1–64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Signal(i32);

impl Signal {
    /// `SIGHUP`
    pub const HUP: Self = Self(1);
    /// `SIGABRT`
    pub const ABRT: Self = Self(6);
    /// `SIGKILL`
    pub const KILL: Self = Self(9);
    /// `SIGTERM`
    pub const TERM: Self = Self(15);

    /// The signal number.
    pub fn as_raw(self) -> i32 {
        self.0
    }

    /// A signal from its number, if valid (1–64).
    pub fn from_raw(n: i32) -> Option<Self> {
        (1..=SIGRTMAX).contains(&n).then_some(Self(n))
    }

    /// `signal_from_string()`: a number, `SIGTERM`/`TERM`, `IO`/`POLL`,
    /// `RTMIN[+n]`, `RTMAX[-n]` (each with optional `SIG` prefix).
    pub fn parse(s: &str) -> Option<Self> {
        if let Ok(n) = s.parse::<i32>() {
            return Self::from_raw(n);
        }
        let s = s.strip_prefix("SIG").unwrap_or(s);
        if let Some(i) = SIGNAL_NAMES.iter().position(|n| *n == s) {
            return i32::try_from(i + 1).ok().map(Self);
        }
        if s == "POLL" {
            return Some(Self(29));
        }
        if let Some(p) = s.strip_prefix("RTMIN") {
            if p.is_empty() {
                return Some(Self(SIGRTMIN));
            }
            let n: i32 = p.strip_prefix('+')?.parse().ok()?;
            return (0..=SIGRTMAX - SIGRTMIN)
                .contains(&n)
                .then_some(Self(SIGRTMIN + n));
        }
        if let Some(p) = s.strip_prefix("RTMAX") {
            if p.is_empty() {
                return Some(Self(SIGRTMAX));
            }
            let n: i32 = p.strip_prefix('-')?.parse().ok()?;
            return (0..=SIGRTMAX - SIGRTMIN)
                .contains(&n)
                .then_some(Self(SIGRTMAX - n));
        }
        None
    }
}

impl fmt::Display for Signal {
    /// `SIGTERM`, `SIGRTMIN+3`, as systemd prints signals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        match usize::try_from(n - 1)
            .ok()
            .and_then(|i| SIGNAL_NAMES.get(i))
        {
            Some(name) => write!(f, "SIG{name}"),
            None if n == SIGRTMIN => f.write_str("SIGRTMIN"),
            None if n > SIGRTMIN => write!(f, "SIGRTMIN+{}", n - SIGRTMIN),
            None => write!(f, "{n}"),
        }
    }
}

/// The kill settings of a unit, with systemd 248's defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct KillSettings {
    /// `KillMode=` (default `control-group`)
    pub kill_mode: KillMode,
    /// `KillSignal=` (default `SIGTERM`)
    #[doc(alias = "KillSignal=")]
    pub kill_signal: Signal,
    /// `RestartKillSignal=` (None: same as `KillSignal=`)
    #[doc(alias = "RestartKillSignal=")]
    pub restart_kill_signal: Option<Signal>,
    /// `FinalKillSignal=` (default `SIGKILL`)
    #[doc(alias = "FinalKillSignal=")]
    pub final_kill_signal: Signal,
    /// `WatchdogSignal=` (default `SIGABRT`)
    #[doc(alias = "WatchdogSignal=")]
    pub watchdog_signal: Signal,
    /// `SendSIGKILL=` (default yes)
    #[doc(alias = "SendSIGKILL=")]
    pub send_sigkill: bool,
    /// `SendSIGHUP=` (default no)
    #[doc(alias = "SendSIGHUP=")]
    pub send_sighup: bool,
}

impl Default for KillSettings {
    fn default() -> Self {
        Self {
            kill_mode: KillMode::ControlGroup,
            kill_signal: Signal::TERM,
            restart_kill_signal: None,
            final_kill_signal: Signal::KILL,
            watchdog_signal: Signal::ABRT,
            send_sigkill: true,
            send_sighup: false,
        }
    }
}

/// `config_parse_signal`; `Ok(None)` for an empty value (back to the default).
fn signal(value: &str) -> Result<Option<Signal>, SettingError> {
    if value.is_empty() {
        return Ok(None);
    }
    Signal::parse(value).map(Some).ok_or_else(|| {
        SettingError::invalid(format!("Failed to parse signal name, ignoring: {value}"))
    })
}

fn apply_kill_mode(
    s: &mut KillSettings,
    ctx: &mut ParseCtx<'_>,
    v: &str,
) -> Result<(), SettingError> {
    if v.is_empty() {
        s.kill_mode = KillMode::ControlGroup;
        return Ok(());
    }
    let m: KillMode = v.parse().map_err(|()| {
        SettingError::invalid(format!(
            "Failed to parse kill mode specification, ignoring: {v}"
        ))
    })?;
    if m == KillMode::None {
        ctx.warn(
            "Unit configured to use KillMode=none. This is unsafe, as it disables systemd's \
             process lifecycle management for the service. Please update your service to use a \
             safer KillMode=, such as 'mixed' or 'control-group'. Support for KillMode=none is \
             deprecated and will eventually be removed.",
        );
    }
    s.kill_mode = m;
    Ok(())
}

const fn d(name: &'static str, apply: ApplyFn<KillSettings>) -> Directive<KillSettings> {
    Directive {
        name,
        apply,
        support: Support::Parsed,
    }
}

/// Every key of systemd 248's `KILL_CONTEXT_CONFIG_ITEMS`.
pub(crate) static KILL_DIRECTIVES: &[Directive<KillSettings>] = &[
    d("SendSIGKILL", |s, _, v| set_bool(&mut s.send_sigkill, v)),
    d("SendSIGHUP", |s, _, v| set_bool(&mut s.send_sighup, v)),
    d("KillMode", apply_kill_mode),
    d("KillSignal", |s, _, v| {
        s.kill_signal = signal(v)?.unwrap_or(Signal::TERM);
        Ok(())
    }),
    d("RestartKillSignal", |s, _, v| {
        s.restart_kill_signal = signal(v)?;
        Ok(())
    }),
    d("FinalKillSignal", |s, _, v| {
        s.final_kill_signal = signal(v)?.unwrap_or(Signal::KILL);
        Ok(())
    }),
    d("WatchdogSignal", |s, _, v| {
        s.watchdog_signal = signal(v)?.unwrap_or(Signal::ABRT);
        Ok(())
    }),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals() {
        for (s, n) in [
            ("SIGTERM", 15),
            ("TERM", 15),
            ("9", 9),
            ("SIGIO", 29),
            ("POLL", 29),
            ("RTMIN", 34),
            ("SIGRTMIN+3", 37),
            ("RTMAX", 64),
            ("RTMAX-1", 63),
            ("64", 64),
        ] {
            assert_eq!(Signal::parse(s).map(Signal::as_raw), Some(n), "{s}");
        }
        for s in [
            "0", "65", "-1", "SIGFOO", "RTMIN+31", "RTMIN-1", "RTMAX+1", "", "sigterm",
        ] {
            assert_eq!(Signal::parse(s), None, "{s}");
        }
        assert_eq!(Signal::TERM.to_string(), "SIGTERM");
        assert_eq!(Signal(37).to_string(), "SIGRTMIN+3");
    }

    #[test]
    fn kill_modes() {
        assert_eq!("mixed".parse::<KillMode>(), Ok(KillMode::Mixed));
        assert_eq!(KillMode::ControlGroup.as_str(), "control-group");
        assert!("bogus".parse::<KillMode>().is_err());
    }
}
