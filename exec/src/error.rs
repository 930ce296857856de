//! Errors of planning and spawning, and the mapping of a failed step to systemd's exit
//! status codes (`EXIT_NAMESPACE` = 226, `EXIT_EXEC` = 203, …).

use std::path::PathBuf;

use nix::errno::Errno;

/// One step of `exec_child()` (spec §5.5), as the child reports it when it fails.
///
/// Each step maps to the exit status systemd 248 gives a child that fails there
/// ([`StepKind::exit_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
#[repr(u16)]
pub enum StepKind {
    /// Signal dispositions and mask reset (step 1).
    ResetSignals = 1,
    /// Marking inherited file descriptors close-on-exec (step 2).
    CloseFds,
    /// `setsid()` (step 3).
    NewSession,
    /// Moving into the caller's cgroup when `clone3(CLONE_INTO_CGROUP)` is not available.
    Cgroup,
    /// Opening `NetworkNamespacePath=` (step 7).
    OpenNetworkNamespace,
    /// Opening `IPCNamespacePath=` (step 7).
    OpenIpcNamespace,
    /// Standard input (step 8).
    Stdin,
    /// Standard output (step 8).
    Stdout,
    /// Standard error (step 8).
    Stderr,
    /// `OOMScoreAdjust=` (step 9).
    OomScoreAdjust,
    /// `Nice=` (step 9).
    Nice,
    /// `Limit*=` (step 15).
    Limits,
    /// `PrivateNetwork=` / `NetworkNamespacePath=` (step 18).
    Network,
    /// `PrivateIPC=` / `IPCNamespacePath=` (step 19).
    Ipc,
    /// The mount namespace (step 20).
    MountNamespace,
    /// `ProtectHostname=` (step 21).
    Hostname,
    /// `Group=` and `SupplementaryGroups=` (step 22).
    Groups,
    /// `PrivateUsers=` (step 23).
    PrivateUsers,
    /// Finding and opening the executable (step 24).
    OpenExecutable,
    /// `CapabilityBoundingSet=` and the inheritable set for `AmbientCapabilities=` (step 27).
    Capabilities,
    /// `RootDirectory=` without a mount namespace (step 28).
    Chroot,
    /// `User=` (step 29).
    User,
    /// Raising `AmbientCapabilities=` (step 29).
    AmbientCapabilities,
    /// `WorkingDirectory=` (step 30).
    WorkingDirectory,
    /// `NoNewPrivileges=` (step 31).
    NoNewPrivileges,
    /// Seccomp filters, `SystemCallFilter=` last (step 32).
    SystemCallFilter,
    /// `execve()` itself (step 34).
    Exec,
}

impl StepKind {
    /// Every step, in execution order.
    pub const ALL: [StepKind; 27] = [
        Self::ResetSignals,
        Self::CloseFds,
        Self::NewSession,
        Self::Cgroup,
        Self::OpenNetworkNamespace,
        Self::OpenIpcNamespace,
        Self::Stdin,
        Self::Stdout,
        Self::Stderr,
        Self::OomScoreAdjust,
        Self::Nice,
        Self::Limits,
        Self::Network,
        Self::Ipc,
        Self::MountNamespace,
        Self::Hostname,
        Self::Groups,
        Self::PrivateUsers,
        Self::OpenExecutable,
        Self::Capabilities,
        Self::Chroot,
        Self::User,
        Self::AmbientCapabilities,
        Self::WorkingDirectory,
        Self::NoNewPrivileges,
        Self::SystemCallFilter,
        Self::Exec,
    ];

    /// The step's name in messages (`"mount-namespace"`, `"exec"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ResetSignals => "reset-signals",
            Self::CloseFds => "close-fds",
            Self::NewSession => "setsid",
            Self::Cgroup => "cgroup",
            Self::OpenNetworkNamespace => "open-network-namespace",
            Self::OpenIpcNamespace => "open-ipc-namespace",
            Self::Stdin => "stdin",
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
            Self::OomScoreAdjust => "oom-score-adjust",
            Self::Nice => "nice",
            Self::Limits => "limits",
            Self::Network => "network",
            Self::Ipc => "ipc",
            Self::MountNamespace => "mount-namespace",
            Self::Hostname => "hostname",
            Self::Groups => "groups",
            Self::PrivateUsers => "private-users",
            Self::OpenExecutable => "open-executable",
            Self::Capabilities => "capabilities",
            Self::Chroot => "chroot",
            Self::User => "user",
            Self::AmbientCapabilities => "ambient-capabilities",
            Self::WorkingDirectory => "working-directory",
            Self::NoNewPrivileges => "no-new-privileges",
            Self::SystemCallFilter => "system-call-filter",
            Self::Exec => "exec",
        }
    }

    /// The name of the systemd exit status a child failing at this step exits with
    /// (`EXIT_` prefix dropped, as in `keel_core::exit_status::EXIT_STATUS_NAMES`).
    pub fn exit_status_name(self) -> &'static str {
        match self {
            Self::ResetSignals => "SIGNAL_MASK",
            Self::CloseFds => "FDS",
            Self::NewSession => "SETSID",
            Self::Cgroup => "CGROUP",
            Self::OpenNetworkNamespace | Self::Network => "NETWORK",
            Self::OpenIpcNamespace | Self::Ipc | Self::MountNamespace | Self::Hostname => {
                "NAMESPACE"
            }
            Self::Stdin => "STDIN",
            Self::Stdout => "STDOUT",
            Self::Stderr => "STDERR",
            Self::OomScoreAdjust => "OOM_ADJUST",
            Self::Nice => "NICE",
            Self::Limits => "LIMITS",
            Self::Groups => "GROUP",
            Self::PrivateUsers | Self::User => "USER",
            Self::OpenExecutable | Self::Exec => "EXEC",
            Self::Capabilities | Self::AmbientCapabilities => "CAPABILITIES",
            Self::Chroot => "CHROOT",
            Self::WorkingDirectory => "CHDIR",
            Self::NoNewPrivileges => "NO_NEW_PRIVILEGES",
            Self::SystemCallFilter => "SECCOMP",
        }
    }

    /// The exit status systemd 248's child exits with when this step fails
    /// (`EXIT_NAMESPACE` = 226 for [`StepKind::MountNamespace`], …).
    #[doc(alias = "EXIT_NAMESPACE")]
    pub fn exit_status(self) -> u8 {
        // Every name above is in keel-core's table (checked by a unit test); 1 is
        // EXIT_FAILURE should that table ever lose one.
        keel_core::exit_status::exit_status_from_string(self.exit_status_name()).unwrap_or(1)
    }

    /// The step with this wire number (the child's report), if any.
    pub(crate) fn from_raw(raw: u16) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| *s as u16 == raw)
    }
}

impl std::fmt::Display for StepKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An [`ExecContext`](crate::ExecContext) and command cannot be turned into a plan.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A setting holds a relative path where an absolute one is required.
    #[error("{setting} needs an absolute path, got {}", .path.display())]
    RelativePath {
        /// The directive (`IPCNamespacePath=`, …).
        setting: &'static str,
        /// The offending path.
        path: PathBuf,
    },
    /// The command has no program.
    #[error("empty command line")]
    EmptyCommand,
    /// The program is neither absolute nor a plain file name.
    #[error("program {path:?} is neither an absolute path nor a plain file name")]
    BadProgram {
        /// The program as given.
        path: String,
    },
    /// A string contains a NUL byte and cannot be passed to the kernel.
    #[error("{what} contains a NUL byte")]
    Nul {
        /// What the string is (`argv`, `environment`, a setting name).
        what: &'static str,
    },
    /// `TemporaryFileSystem=` has an option keel does not know.
    #[error("unsupported mount option {option:?} for {}", .path.display())]
    MountOption {
        /// The mount point.
        path: PathBuf,
        /// The option.
        option: String,
    },
}

/// Starting a process failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    /// The settings could not be planned.
    #[error("cannot plan the start of {command}")]
    Plan {
        /// The program.
        command: String,
        /// What was wrong.
        #[source]
        source: PlanError,
    },
    /// Preparing in the parent (user lookup, environment files, cgroup, pipes) failed.
    #[error("cannot prepare {what} for {command}")]
    Prepare {
        /// The program.
        command: String,
        /// What was being prepared (`User=nobody`, `EnvironmentFile=/etc/x`, …).
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `fork`/`clone3` failed.
    #[error("cannot fork for {command}")]
    Fork {
        /// The program.
        command: String,
        /// The cause.
        #[source]
        source: Errno,
    },
    /// A step in the child failed; the child exited with [`StepKind::exit_status`].
    #[error("step {step} failed spawning {command}")]
    Step {
        /// The program.
        command: String,
        /// The failing step.
        step: StepKind,
        /// The errno the step failed with.
        #[source]
        source: Errno,
    },
    /// Waiting for the child or reading its report failed.
    #[error("lost track of the child spawned for {command}")]
    Wait {
        /// The program.
        command: String,
        /// The cause.
        #[source]
        source: Errno,
    },
}

impl SpawnError {
    /// The exit status a systemd 248 service process gets for this failure: the failing
    /// step's code (226 for the mount namespace, 203 for exec, …), or `EXIT_FAILURE` (1)
    /// for failures before the fork.
    pub fn exit_status(&self) -> u8 {
        match self {
            Self::Step { step, .. } => step.exit_status(),
            _ => 1,
        }
    }

    /// The failing step, when the child reported one.
    pub fn step(&self) -> Option<StepKind> {
        match self {
            Self::Step { step, .. } => Some(*step),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_has_a_known_exit_status() {
        for s in StepKind::ALL {
            assert!(
                keel_core::exit_status::exit_status_from_string(s.exit_status_name()).is_some(),
                "{s}"
            );
            assert_eq!(StepKind::from_raw(s as u16), Some(s));
        }
        assert_eq!(StepKind::MountNamespace.exit_status(), 226);
        assert_eq!(StepKind::Ipc.exit_status(), 226);
        assert_eq!(StepKind::OpenIpcNamespace.exit_status(), 226);
        assert_eq!(StepKind::Network.exit_status(), 225);
        assert_eq!(StepKind::Exec.exit_status(), 203);
        assert_eq!(StepKind::OpenExecutable.exit_status(), 203);
        assert_eq!(StepKind::SystemCallFilter.exit_status(), 228);
        assert_eq!(StepKind::WorkingDirectory.exit_status(), 200);
        assert_eq!(StepKind::User.exit_status(), 217);
        assert_eq!(StepKind::Groups.exit_status(), 216);
        assert_eq!(StepKind::Limits.exit_status(), 205);
        assert_eq!(StepKind::NoNewPrivileges.exit_status(), 227);
        assert_eq!(StepKind::from_raw(0), None);
    }

    #[test]
    fn steps_are_in_order() {
        let mut sorted = StepKind::ALL;
        sorted.sort();
        assert_eq!(sorted, StepKind::ALL);
    }

    #[test]
    fn spawn_error_maps_to_exit_status() {
        let e = SpawnError::Step {
            command: "/bin/true".into(),
            step: StepKind::MountNamespace,
            source: Errno::EPERM,
        };
        assert_eq!(e.exit_status(), 226);
        assert_eq!(e.step(), Some(StepKind::MountNamespace));
        assert_eq!(
            e.to_string(),
            "step mount-namespace failed spawning /bin/true"
        );
        let e = SpawnError::Plan {
            command: "x".into(),
            source: PlanError::EmptyCommand,
        };
        assert_eq!(e.exit_status(), 1);
    }
}
