//! A unit printed the way systemd 248 prints it in `systemd --test` and `systemctl dump`
//! (`unit_dump`, `service_dump`, `kill_context_dump`, `exec_context_dump`,
//! `exec_command_dump`), for the settings keel models.
//!
//! The format is systemd's: a `-> Unit NAME:` header, then one `\tLabel: value` line per
//! setting, with time spans at 1 s accuracy and booleans as `yes`/`no`, so the two outputs
//! can be compared line by line (keel's `diff` tests do exactly that).

use std::fmt::Write as _;

use keel_core::boolean::yes_no;
use keel_core::time::{USEC_PER_SEC, Usec, format_timespan};

use crate::model::exec::{ExecSettings, WorkingDirectory};
use crate::model::exec_command::ExecCommand;
use crate::model::kill::KillSettings;
use crate::model::service::ServiceSettings;
use crate::model::{LoadState, Unit, UnitKind};

fn span(u: Usec) -> String {
    format_timespan(u, Usec(USEC_PER_SEC))
}

/// The characters after which systemd's `shell_maybe_quote` quotes a word.
const SHELL_NEED_QUOTES: &[char] = &[
    '"', '\\', '`', '$', '*', '?', '[', '\'', '(', ')', '<', '>', '|', '&', ';', '!', ' ', '\t',
    '\n', '\r',
];

/// systemd's `shell_maybe_quote`: a word with shell-special characters in double quotes,
/// with `"`, `\`, `` ` `` and `$` escaped; an empty word as `""`.
pub fn shell_maybe_quote(w: &str) -> String {
    if !w.is_empty() && !w.contains(SHELL_NEED_QUOTES) && !w.chars().any(|c| c.is_control()) {
        return w.to_owned();
    }
    let mut out = String::with_capacity(w.len() + 2);
    out.push('"');
    for c in w.chars() {
        match c {
            '"' | '\\' | '`' | '$' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push_str(&keel_core::word::cescape(&c.to_string())),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The `Command Line:` value of a command (systemd's `quote_command_line`).
pub fn command_line(c: &ExecCommand) -> String {
    c.argv
        .iter()
        .map(|a| shell_maybe_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

fn line(out: &mut String, label: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "\t{label}: {value}");
}

fn dump_unit_section(out: &mut String, u: &Unit) {
    let s = &u.unit;
    line(
        out,
        "Description",
        s.description.as_deref().unwrap_or(u.name.as_str()),
    );
    line(out, "Unit Load State", u.load_state.as_str());
    for d in &s.documentation {
        line(out, "Documentation", d);
    }
    if let Some(p) = &u.fragment_path {
        line(out, "Fragment Path", p.display());
    }
    for p in &u.dropin_paths {
        line(out, "DropIn Path", p.display());
    }
    if u.load_state != LoadState::Loaded {
        return;
    }
    for (kind, list) in [("Condition", &s.conditions), ("Assert", &s.asserts)] {
        for c in list.iter().rev() {
            line(out, &format!("{kind}{}", c.kind), format!("{c} untested"));
        }
    }
    line(out, "StopWhenUnneeded", yes_no(s.stop_when_unneeded));
    line(out, "RefuseManualStart", yes_no(s.refuse_manual_start));
    line(out, "RefuseManualStop", yes_no(s.refuse_manual_stop));
    line(out, "DefaultDependencies", yes_no(s.default_dependencies));
    line(out, "OnFailureJobMode", s.on_failure_job_mode);
    line(out, "IgnoreOnIsolate", yes_no(s.ignore_on_isolate));
}

fn dump_service(out: &mut String, s: &ServiceSettings, delegate: bool) {
    line(
        out,
        "PermissionsStartOnly",
        yes_no(s.permissions_start_only),
    );
    line(
        out,
        "RootDirectoryStartOnly",
        yes_no(s.root_directory_start_only),
    );
    line(out, "RemainAfterExit", yes_no(s.remain_after_exit));
    line(out, "GuessMainPID", yes_no(s.guess_main_pid));
    line(out, "Type", s.effective_type());
    line(out, "Restart", s.restart);
    line(
        out,
        "NotifyAccess",
        s.notify_access.map_or("none", |n| n.as_str()),
    );
    line(out, "OOMPolicy", s.effective_oom_policy(delegate));
    if let Some(p) = &s.pid_file {
        line(out, "PIDFile", p);
    }
    if let Some(b) = &s.bus_name {
        line(out, "BusName", b);
    }
    line(out, "RestartSec", span(s.restart_sec));
    line(out, "TimeoutStartSec", span(s.timeout_start));
    line(out, "TimeoutStopSec", span(s.timeout_stop));
    if let Some(t) = s.timeout_abort {
        line(out, "TimeoutAbortSec", span(t));
    }
    line(out, "TimeoutStartFailureMode", s.timeout_start_failure_mode);
    line(out, "TimeoutStopFailureMode", s.timeout_stop_failure_mode);
    line(out, "RuntimeMaxSec", span(s.runtime_max));
    line(out, "WatchdogSec", span(s.watchdog));
}

fn dump_kill(out: &mut String, k: &KillSettings) {
    line(out, "KillMode", k.kill_mode);
    line(out, "KillSignal", k.kill_signal);
    line(
        out,
        "RestartKillSignal",
        k.restart_kill_signal.unwrap_or(k.kill_signal),
    );
    line(out, "FinalKillSignal", k.final_kill_signal);
    line(out, "SendSIGKILL", yes_no(k.send_sigkill));
    line(out, "SendSIGHUP", yes_no(k.send_sighup));
}

fn dump_exec(out: &mut String, e: &ExecSettings, non_blocking: bool) {
    line(out, "UMask", format!("{:04o}", e.umask));
    let wd = match &e.working_directory {
        Some(WorkingDirectory::Home) => "~".to_owned(),
        Some(WorkingDirectory::Path(p)) => p.display().to_string(),
        None => "/".to_owned(),
    };
    line(out, "WorkingDirectory", wd);
    line(
        out,
        "RootDirectory",
        e.root_directory
            .as_ref()
            .map_or_else(|| "/".to_owned(), |p| p.display().to_string()),
    );
    line(out, "NonBlocking", yes_no(non_blocking));
    line(out, "PrivateTmp", yes_no(e.private_tmp));
    line(out, "PrivateDevices", yes_no(e.private_devices));
    line(
        out,
        "ProtectKernelTunables",
        yes_no(e.protect_kernel_tunables),
    );
    line(
        out,
        "ProtectKernelModules",
        yes_no(e.protect_kernel_modules),
    );
    line(out, "ProtectKernelLogs", yes_no(e.protect_kernel_logs));
    line(out, "ProtectClock", yes_no(e.protect_clock));
    line(
        out,
        "ProtectControlGroups",
        yes_no(e.protect_control_groups),
    );
    line(out, "PrivateNetwork", yes_no(e.private_network));
    line(out, "PrivateUsers", yes_no(e.private_users));
    line(out, "ProtectHome", e.protect_home);
    line(out, "ProtectSystem", e.protect_system);
    let apivfs = e
        .mount_api_vfs
        .unwrap_or(e.root_directory.is_some() || e.root_image.is_some());
    line(out, "MountAPIVFS", yes_no(apivfs));
    line(out, "IgnoreSIGPIPE", yes_no(e.ignore_sigpipe));
    line(
        out,
        "MemoryDenyWriteExecute",
        yes_no(e.memory_deny_write_execute),
    );
    line(out, "RestrictRealtime", yes_no(e.restrict_realtime));
    line(out, "RestrictSUIDSGID", yes_no(e.restrict_suid_sgid));
    line(out, "KeyringMode", e.keyring_mode);
    line(out, "ProtectHostname", yes_no(e.protect_hostname));
    line(out, "ProtectProc", e.protect_proc);
    line(out, "ProcSubset", e.proc_subset);
    for env in &e.environment {
        line(out, "Environment", env);
    }
    if let Some(u) = &e.user {
        line(out, "User", u);
    }
    if let Some(g) = &e.group {
        line(out, "Group", g);
    }
    line(out, "DynamicUser", yes_no(e.dynamic_user));
    line(out, "LockPersonality", yes_no(e.lock_personality));
}

fn dump_commands(out: &mut String, lists: &[(&str, &Vec<ExecCommand>)]) {
    for (key, list) in lists {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\t-> {key}:");
        for c in *list {
            let _ = writeln!(out, "\t\tCommand Line: {}", command_line(c));
        }
    }
}

/// The dump of one unit: `-> Unit NAME:` and its `\tLabel: value` lines.
///
/// ```
/// use keel_unit::load::parse_unit_text;
/// let name = "x.service".parse()?;
/// let u = parse_unit_text(&name, b"[Service]\nExecStart=/bin/true\n", None, &Default::default());
/// let d = keel_unit::dump::dump(&u.unit);
/// assert!(d.contains("\tType: simple\n"));
/// assert!(d.contains("\t\tCommand Line: /bin/true\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn dump(u: &Unit) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "-> Unit {}:", u.name);
    dump_unit_section(&mut out, u);
    if u.load_state != LoadState::Loaded {
        return out;
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut lists: Vec<(&str, &Vec<ExecCommand>)> = Vec::new();
    let mut non_blocking = false;
    if let UnitKind::Service(s) = &u.kind {
        dump_service(&mut out, s, u.cgroup.as_ref().is_some_and(|c| c.delegate));
        non_blocking = s.non_blocking;
        lists = s.commands.iter().collect();
    } else {
        crate::model::dump_kind(u, &mut pairs, &mut lists);
    }
    for (k, v) in pairs {
        line(&mut out, &k, v);
    }
    if let Some(k) = &u.kill {
        dump_kill(&mut out, k);
    }
    if let Some(e) = &u.exec {
        dump_exec(&mut out, e, non_blocking);
    }
    dump_commands(&mut out, &lists);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_like_systemd() {
        assert_eq!(shell_maybe_quote("plain"), "plain");
        assert_eq!(shell_maybe_quote("$MAINPID"), r#""\$MAINPID""#);
        assert_eq!(shell_maybe_quote("a b"), r#""a b""#);
        assert_eq!(shell_maybe_quote(""), r#""""#);
        assert_eq!(shell_maybe_quote("x\"y"), r#""x\"y""#);
        assert_eq!(shell_maybe_quote("tab\there"), r#""tab\there""#);
    }
}
