//! [`ExecContext`]: keel-exec's plain description of how to start a process, built from a
//! unit's typed settings ([`ExecContext::from_settings`]) or by hand, and [`Command`], one
//! command line.

use std::path::PathBuf;

use keel_unit::model::Unit;
use keel_unit::model::exec::{
    BindPath, EnvironmentFile, ExecSettings, MountPropagation, NamespacePath, ProtectHome,
    ProtectSystem, Resource, ResourceLimit, StandardInput, StandardOutput, SyscallErrorNumber,
    SyscallFilter, TemporaryFileSystem, WorkingDirectory,
};
use keel_unit::model::exec_command::{ExecCommand, ExecFlags};

/// Where standard input comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
#[doc(alias = "StandardInput=")]
pub enum StdinSource {
    /// `/dev/null` (`StandardInput=null`, the default).
    #[default]
    Null,
    /// The caller's standard input, unchanged (no systemd equivalent: keel-run's default).
    Keep,
    /// The terminal [`ExecContext::tty_path`] (`StandardInput=tty`), made the controlling
    /// terminal.
    Tty,
    /// A file opened read-only (`StandardInput=file:PATH`).
    File(PathBuf),
    /// The fd passed in [`SpawnOptions::stdin`](crate::SpawnOptions::stdin)
    /// (`StandardInput=fd`).
    Fd,
}

/// Where standard output or standard error goes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
#[doc(alias = "StandardOutput=")]
#[doc(alias = "StandardError=")]
pub enum OutputTarget {
    /// The caller's fd, unchanged. What the journal and kmsg targets become without a
    /// manager to connect them to.
    #[default]
    Keep,
    /// `inherit`: a duplicate of the previous stream (output: of input; error: of output).
    Inherit,
    /// `/dev/null`.
    Null,
    /// The terminal [`ExecContext::tty_path`].
    Tty,
    /// `file:PATH`: opened for writing without truncation, created `0666 & ~umask`.
    File(PathBuf),
    /// `append:PATH`: opened for appending, created if missing.
    Append(PathBuf),
    /// `truncate:PATH` (new in 248): opened and truncated, created if missing.
    Truncate(PathBuf),
    /// The fd passed in [`SpawnOptions`](crate::SpawnOptions) for this stream (`fd`).
    Fd,
}

/// How one service process is started: everything keel-exec applies between `fork` and
/// `exec`. Plain data; [`plan`](crate::plan) validates it.
///
/// ```
/// use keel_exec::keel_unit::model::exec::NamespacePath;
/// let mut ctx = keel_exec::ExecContext::default();
/// ctx.private_ipc = true;
/// let mut tmp = NamespacePath::default();
/// tmp.path = "/tmp".into();
/// ctx.no_exec_paths.push(tmp);
/// assert_eq!(ctx.umask, 0o022);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExecContext {
    /// `User=` (name or numeric id).
    pub user: Option<String>,
    /// `Group=` (name or numeric id; default: the user's primary group).
    pub group: Option<String>,
    /// `SupplementaryGroups=`.
    pub supplementary_groups: Vec<String>,
    /// `UMask=`.
    pub umask: u32,
    /// `CapabilityBoundingSet=` as a bit mask (bit N = capability N; all bits: unchanged).
    pub capability_bounding_set: u64,
    /// `AmbientCapabilities=` as a bit mask.
    pub ambient_capabilities: u64,
    /// `NoNewPrivileges=`.
    pub no_new_privileges: bool,
    /// `Limit*=`.
    pub limits: Vec<(Resource, ResourceLimit)>,
    /// `Nice=`.
    pub nice: Option<i8>,
    /// `OOMScoreAdjust=`.
    pub oom_score_adjust: Option<i16>,
    /// `WorkingDirectory=` (`None`: `/`, or the home directory with `~`).
    pub working_directory: Option<WorkingDirectory>,
    /// `WorkingDirectory=-…`: a missing directory is not an error.
    pub working_directory_missing_ok: bool,
    /// `Environment=` (`NAME=value`, later ones replace earlier ones).
    pub environment: Vec<String>,
    /// `EnvironmentFile=`, read in the parent just before the fork.
    pub environment_files: Vec<EnvironmentFile>,
    /// `UnsetEnvironment=` (names, or exact `NAME=value` assignments).
    pub unset_environment: Vec<String>,
    /// `StandardInput=`.
    pub stdin: StdinSource,
    /// `StandardOutput=`.
    pub stdout: OutputTarget,
    /// `StandardError=`.
    pub stderr: OutputTarget,
    /// `TTYPath=` (default `/dev/console`).
    pub tty_path: PathBuf,
    /// `IgnoreSIGPIPE=`.
    pub ignore_sigpipe: bool,
    /// `PrivateNetwork=`.
    pub private_network: bool,
    /// `NetworkNamespacePath=`.
    pub network_namespace_path: Option<PathBuf>,
    /// `PrivateIPC=` (new in 248).
    pub private_ipc: bool,
    /// `IPCNamespacePath=` (new in 248).
    pub ipc_namespace_path: Option<PathBuf>,
    /// `PrivateUsers=`.
    pub private_users: bool,
    /// `PrivateMounts=`.
    pub private_mounts: bool,
    /// `ProtectHostname=`.
    pub protect_hostname: bool,
    /// `RootDirectory=`.
    pub root_directory: Option<PathBuf>,
    /// `ReadWritePaths=`.
    pub read_write_paths: Vec<NamespacePath>,
    /// `ReadOnlyPaths=`.
    pub read_only_paths: Vec<NamespacePath>,
    /// `InaccessiblePaths=`.
    pub inaccessible_paths: Vec<NamespacePath>,
    /// `ExecPaths=` (new in 248).
    pub exec_paths: Vec<NamespacePath>,
    /// `NoExecPaths=` (new in 248).
    pub no_exec_paths: Vec<NamespacePath>,
    /// `BindPaths=` and `BindReadOnlyPaths=`.
    pub bind_paths: Vec<BindPath>,
    /// `TemporaryFileSystem=`.
    pub temporary_filesystems: Vec<TemporaryFileSystem>,
    /// `ExtensionImages=`: read-only overlays over `/usr` and `/opt` (spec §1.9).
    pub extension_images: Vec<keel_unit::model::exec::ExtensionImage>,
    /// `PrivateTmp=`.
    pub private_tmp: bool,
    /// `PrivateDevices=`.
    pub private_devices: bool,
    /// `ProtectSystem=`.
    pub protect_system: ProtectSystem,
    /// `ProtectHome=`.
    pub protect_home: ProtectHome,
    /// `ProtectKernelTunables=`.
    pub protect_kernel_tunables: bool,
    /// `ProtectKernelModules=`.
    pub protect_kernel_modules: bool,
    /// `ProtectKernelLogs=`.
    pub protect_kernel_logs: bool,
    /// `ProtectControlGroups=`.
    pub protect_control_groups: bool,
    /// `MountFlags=` (None: `shared`, systemd's default for services).
    pub mount_propagation: Option<MountPropagation>,
    /// `SystemCallFilter=`.
    pub system_call_filter: Option<SyscallFilter>,
    /// `SystemCallErrorNumber=`.
    pub system_call_error_number: SyscallErrorNumber,
    /// `SystemCallArchitectures=`.
    pub system_call_architectures: Vec<String>,
}

impl Default for ExecContext {
    fn default() -> Self {
        Self {
            user: None,
            group: None,
            supplementary_groups: Vec::new(),
            umask: 0o022,
            capability_bounding_set: u64::MAX,
            ambient_capabilities: 0,
            no_new_privileges: false,
            limits: Vec::new(),
            nice: None,
            oom_score_adjust: None,
            working_directory: None,
            working_directory_missing_ok: false,
            environment: Vec::new(),
            environment_files: Vec::new(),
            unset_environment: Vec::new(),
            stdin: StdinSource::Null,
            stdout: OutputTarget::Keep,
            stderr: OutputTarget::Keep,
            tty_path: PathBuf::from("/dev/console"),
            ignore_sigpipe: true,
            private_network: false,
            network_namespace_path: None,
            private_ipc: false,
            ipc_namespace_path: None,
            private_users: false,
            private_mounts: false,
            protect_hostname: false,
            root_directory: None,
            read_write_paths: Vec::new(),
            read_only_paths: Vec::new(),
            inaccessible_paths: Vec::new(),
            exec_paths: Vec::new(),
            no_exec_paths: Vec::new(),
            bind_paths: Vec::new(),
            temporary_filesystems: Vec::new(),
            extension_images: Vec::new(),
            private_tmp: false,
            private_devices: false,
            protect_system: ProtectSystem::No,
            protect_home: ProtectHome::No,
            protect_kernel_tunables: false,
            protect_kernel_modules: false,
            protect_kernel_logs: false,
            protect_control_groups: false,
            mount_propagation: None,
            system_call_filter: None,
            system_call_error_number: SyscallErrorNumber::Kill,
            system_call_architectures: Vec::new(),
        }
    }
}

fn output_target(o: &StandardOutput) -> OutputTarget {
    match o {
        StandardOutput::Inherit => OutputTarget::Inherit,
        StandardOutput::Null => OutputTarget::Null,
        StandardOutput::Tty => OutputTarget::Tty,
        StandardOutput::File(p) => OutputTarget::File(p.clone()),
        StandardOutput::Append(p) => OutputTarget::Append(p.clone()),
        StandardOutput::Truncate(p) => OutputTarget::Truncate(p.clone()),
        StandardOutput::NamedFd(_) => OutputTarget::Fd,
        // journal, kmsg, socket (and anything newer): no manager here to connect them,
        // so the caller's fd is kept.
        _ => OutputTarget::Keep,
    }
}

impl ExecContext {
    /// The context for a unit's exec settings (`[Service]`, `[Socket]`, … section), after
    /// keel-unit's load-time fix-ups. A unit without exec settings gives the defaults.
    pub fn from_unit(unit: &Unit) -> Self {
        unit.exec
            .as_ref()
            .map_or_else(Self::default, Self::from_settings)
    }

    /// Copies what keel-exec applies out of keel-unit's typed settings.
    ///
    /// Settings that need a manager (`journal`/`kmsg`/`socket` outputs, named fds) become
    /// [`OutputTarget::Keep`] / [`OutputTarget::Fd`]; `StandardOutput=inherit` after a kept
    /// input stays with the caller's fds, so that a foreground run shows its output.
    pub fn from_settings(s: &ExecSettings) -> Self {
        let stdin = match &s.standard_input {
            StandardInput::Null => StdinSource::Null,
            StandardInput::Tty | StandardInput::TtyForce | StandardInput::TtyFail => {
                StdinSource::Tty
            }
            StandardInput::File(p) => StdinSource::File(p.clone()),
            StandardInput::NamedFd(_) => StdinSource::Fd,
            _ => StdinSource::Null,
        };
        let mut stdout = output_target(&s.standard_output);
        if stdout == OutputTarget::Inherit && stdin == StdinSource::Null {
            // `inherit` duplicates /dev/null then, exactly as systemd does.
            stdout = OutputTarget::Null;
        }
        let mut stderr = output_target(&s.standard_error);
        if stderr == OutputTarget::Inherit && stdout == OutputTarget::Keep {
            stderr = OutputTarget::Keep;
        }
        Self {
            user: s.user.clone(),
            group: s.group.clone(),
            supplementary_groups: s.supplementary_groups.clone(),
            umask: s.umask,
            capability_bounding_set: s.capability_bounding_set.as_raw(),
            ambient_capabilities: s.ambient_capabilities.as_raw(),
            no_new_privileges: s.no_new_privileges,
            limits: s.limits.iter().map(|(r, l)| (*r, *l)).collect(),
            nice: s.nice,
            oom_score_adjust: s.oom_score_adjust,
            working_directory: s.working_directory.clone(),
            working_directory_missing_ok: s.working_directory_missing_ok,
            environment: s.environment.clone(),
            environment_files: s.environment_files.clone(),
            unset_environment: s.unset_environment.clone(),
            stdin,
            stdout,
            stderr,
            tty_path: s
                .tty_path
                .clone()
                .unwrap_or_else(|| PathBuf::from("/dev/console")),
            ignore_sigpipe: s.ignore_sigpipe,
            private_network: s.private_network,
            network_namespace_path: s.network_namespace_path.clone(),
            private_ipc: s.private_ipc,
            ipc_namespace_path: s.ipc_namespace_path.clone(),
            private_users: s.private_users,
            private_mounts: s.private_mounts,
            protect_hostname: s.protect_hostname,
            root_directory: s.root_directory.clone(),
            read_write_paths: s.read_write_paths.clone(),
            read_only_paths: s.read_only_paths.clone(),
            inaccessible_paths: s.inaccessible_paths.clone(),
            exec_paths: s.exec_paths.clone(),
            no_exec_paths: s.no_exec_paths.clone(),
            bind_paths: s.bind_paths.clone(),
            temporary_filesystems: s.temporary_filesystems.clone(),
            extension_images: s.extension_images.clone(),
            private_tmp: s.private_tmp,
            private_devices: s.private_devices,
            protect_system: s.protect_system,
            protect_home: s.protect_home,
            protect_kernel_tunables: s.protect_kernel_tunables,
            protect_kernel_modules: s.protect_kernel_modules,
            protect_kernel_logs: s.protect_kernel_logs,
            protect_control_groups: s.protect_control_groups,
            mount_propagation: s.mount_flags,
            system_call_filter: s.system_call_filter.clone(),
            system_call_error_number: s.system_call_error_number,
            system_call_architectures: s.system_call_architectures.clone(),
        }
    }
}

/// One command line to execute: the program, its `argv` (`argv[0]` first) and the
/// `Exec*=` prefixes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Command {
    /// An absolute path, or a plain file name looked up in keel-unit's `DEFAULT_PATH`
    /// inside the service's namespaces (spec §8.4).
    pub path: String,
    /// The arguments, `argv[0]` first; `$VAR`/`${VAR}` are expanded unless
    /// [`ExecFlags::NO_ENV_EXPAND`] is set.
    pub argv: Vec<String>,
    /// The prefixes (`-`, `+`, `!`, `!!`, `:`).
    pub flags: ExecFlags,
}

impl Command {
    /// A command running `path` with `args` (`argv[0]` = `path`), no prefixes.
    ///
    /// ```
    /// let c = keel_exec::Command::new("/bin/echo", ["hi"]);
    /// assert_eq!(c.argv, ["/bin/echo", "hi"]);
    /// ```
    pub fn new<I, S>(path: impl Into<String>, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let path = path.into();
        let mut argv = vec![path.clone()];
        argv.extend(args.into_iter().map(Into::into));
        Self {
            path,
            argv,
            flags: ExecFlags::empty(),
        }
    }

    /// The same command with these prefixes.
    pub fn with_flags(mut self, flags: ExecFlags) -> Self {
        self.flags = flags;
        self
    }

    /// Whether sandboxing applies (no `+` prefix).
    pub fn needs_sandboxing(&self) -> bool {
        !self.flags.contains(ExecFlags::FULLY_PRIVILEGED)
    }

    /// Whether `User=`/`Group=`/`SupplementaryGroups=` apply (no `+` or `!` prefix; `!!`
    /// is ignored because every kernel keel supports has ambient capabilities).
    pub fn needs_setuid(&self) -> bool {
        !self
            .flags
            .intersects(ExecFlags::FULLY_PRIVILEGED | ExecFlags::NO_SETUID)
    }
}

impl From<&ExecCommand> for Command {
    fn from(c: &ExecCommand) -> Self {
        Self {
            path: c.path.clone(),
            argv: c.argv.clone(),
            flags: c.flags,
        }
    }
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)] // style.md's idiom for plain data
mod tests {
    use super::*;
    use keel_unit::load::parse_unit_text;

    fn settings(text: &str) -> ExecContext {
        let name = "t.service".parse().unwrap();
        let l = parse_unit_text(&name, text.as_bytes(), None, &Default::default());
        ExecContext::from_unit(&l.unit)
    }

    #[test]
    fn from_unit_copies_sandbox_settings() {
        let c = settings(
            "[Service]\nPrivateIPC=yes\nIPCNamespacePath=/proc/1/ns/ipc\nNoExecPaths=/ -/nope\n\
             ExecPaths=/usr\nUser=nobody\nUMask=0077\nPrivateDevices=yes\nExecStart=/bin/true\n",
        );
        assert!(c.private_ipc);
        assert_eq!(
            c.ipc_namespace_path.as_deref(),
            Some("/proc/1/ns/ipc".as_ref())
        );
        assert_eq!(c.no_exec_paths.len(), 2);
        assert!(c.no_exec_paths[1].ignore_missing);
        assert_eq!(c.exec_paths[0].path, PathBuf::from("/usr"));
        assert_eq!(c.user.as_deref(), Some("nobody"));
        assert_eq!(c.umask, 0o077);
        // unit_patch_contexts: PrivateDevices= drops CAP_MKNOD (27) and CAP_SYS_RAWIO (17).
        assert_eq!(c.capability_bounding_set & (1 << 27), 0);
        assert_eq!(c.capability_bounding_set & (1 << 17), 0);
    }

    #[test]
    fn stdio_defaults_without_a_manager() {
        let c = settings("[Service]\nExecStart=/bin/true\n");
        assert_eq!(c.stdin, StdinSource::Null);
        assert_eq!(c.stdout, OutputTarget::Keep); // journal
        assert_eq!(c.stderr, OutputTarget::Keep); // inherit from a kept stdout
        let c = settings(
            "[Service]\nStandardOutput=append:/tmp/x\nStandardError=null\nExecStart=/bin/true\n",
        );
        assert_eq!(c.stdout, OutputTarget::Append("/tmp/x".into()));
        assert_eq!(c.stderr, OutputTarget::Null);
        let c = settings("[Service]\nStandardOutput=inherit\nExecStart=/bin/true\n");
        assert_eq!(c.stdout, OutputTarget::Null);
    }

    #[test]
    fn command_prefixes() {
        let c = Command::new("/bin/true", Vec::<String>::new());
        assert!(c.needs_sandboxing() && c.needs_setuid());
        let c = c.with_flags(ExecFlags::NO_SETUID);
        assert!(c.needs_sandboxing() && !c.needs_setuid());
        let c = c.with_flags(ExecFlags::FULLY_PRIVILEGED);
        assert!(!c.needs_sandboxing() && !c.needs_setuid());
        let c = c.with_flags(ExecFlags::AMBIENT_MAGIC);
        assert!(c.needs_setuid());
    }
}
