//! systemd's exit status names (`src/basic/exit-status.c` of 248): the LSB codes, the BSD
//! `sysexits.h` codes and systemd's own 200–245 codes a service's child exits with when a
//! step of its setup fails (`226` = `NAMESPACE`, ...).

/// `(code, name)` pairs; names are systemd's without an `EXIT_` prefix.
pub const EXIT_STATUS_NAMES: &[(u8, &str)] = &[
    (0, "SUCCESS"),
    (1, "FAILURE"),
    (2, "INVALIDARGUMENT"),
    (3, "NOTIMPLEMENTED"),
    (4, "NOPERMISSION"),
    (5, "NOTINSTALLED"),
    (6, "NOTCONFIGURED"),
    (7, "NOTRUNNING"),
    (64, "USAGE"),
    (65, "DATAERR"),
    (66, "NOINPUT"),
    (67, "NOUSER"),
    (68, "NOHOST"),
    (69, "UNAVAILABLE"),
    (70, "SOFTWARE"),
    (71, "OSERR"),
    (72, "OSFILE"),
    (73, "CANTCREAT"),
    (74, "IOERR"),
    (75, "TEMPFAIL"),
    (76, "PROTOCOL"),
    (77, "NOPERM"),
    (78, "CONFIG"),
    (200, "CHDIR"),
    (201, "NICE"),
    (202, "FDS"),
    (203, "EXEC"),
    (204, "MEMORY"),
    (205, "LIMITS"),
    (206, "OOM_ADJUST"),
    (207, "SIGNAL_MASK"),
    (208, "STDIN"),
    (209, "STDOUT"),
    (210, "CHROOT"),
    (211, "IOPRIO"),
    (212, "TIMERSLACK"),
    (213, "SECUREBITS"),
    (214, "SETSCHEDULER"),
    (215, "CPUAFFINITY"),
    (216, "GROUP"),
    (217, "USER"),
    (218, "CAPABILITIES"),
    (219, "CGROUP"),
    (220, "SETSID"),
    (221, "CONFIRM"),
    (222, "STDERR"),
    (224, "PAM"),
    (225, "NETWORK"),
    (226, "NAMESPACE"),
    (227, "NO_NEW_PRIVILEGES"),
    (228, "SECCOMP"),
    (229, "SELINUX_CONTEXT"),
    (230, "PERSONALITY"),
    (231, "APPARMOR_PROFILE"),
    (232, "ADDRESS_FAMILIES"),
    (233, "RUNTIME_DIRECTORY"),
    (235, "CHOWN"),
    (236, "SMACK_PROCESS_LABEL"),
    (237, "KEYRING"),
    (238, "STATE_DIRECTORY"),
    (239, "CACHE_DIRECTORY"),
    (240, "LOGS_DIRECTORY"),
    (241, "CONFIGURATION_DIRECTORY"),
    (242, "NUMA_POLICY"),
    (243, "CREDENTIALS"),
    (245, "BPF"),
];

/// systemd's `exit_status_from_string`: a number 0…255 or one of the names.
///
/// ```
/// use keel_core::exit_status::exit_status_from_string;
/// assert_eq!(exit_status_from_string("DATAERR"), Some(65));
/// assert_eq!(exit_status_from_string("226"), Some(226));
/// assert_eq!(exit_status_from_string("256"), None);
/// ```
pub fn exit_status_from_string(s: &str) -> Option<u8> {
    if let Ok(n) = s.parse::<u8>() {
        return Some(n);
    }
    EXIT_STATUS_NAMES
        .iter()
        .find(|(_, n)| *n == s)
        .map(|(c, _)| *c)
}

/// The name of an exit status, if it has one.
pub fn exit_status_name(code: u8) -> Option<&'static str> {
    EXIT_STATUS_NAMES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (c, n) in EXIT_STATUS_NAMES {
            assert_eq!(exit_status_from_string(n), Some(*c));
            assert_eq!(exit_status_name(*c), Some(*n));
        }
        assert_eq!(exit_status_name(100), None);
        assert_eq!(exit_status_from_string("EXIT_NAMESPACE"), None);
        assert_eq!(exit_status_from_string("-1"), None);
    }
}
