//! Execution environment settings of `[Service]`, `[Socket]`, `[Mount]` (and `[Swap]`):
//! every key of systemd 248's `EXEC_CONTEXT_CONFIG_ITEMS` (systemd.exec(5) of 248),
//! parsed with 248's semantics into [`ExecSettings`].
//!
//! Keys newer than 248 are deliberately absent, so the loader reports them as unknown
//! keys exactly as 248 does: `SocketBindAllow=`, `SocketBindDeny=` (249),
//! `LoadCredentialEncrypted=`, `SetCredentialEncrypted=`, `RestrictFileSystems=` (250),
//! `ExtensionDirectories=` (251), `LogFilterPatterns=` (253), `ImportCredential=`,
//! `RootImagePolicy=`, `MountImagePolicy=`, `ExtensionImagePolicy=`, `MemoryKSM=`,
//! `RootEphemeral=` (254), `SetLoginEnvironment=`, `CoredumpReceive=` (255).
//! New in 248 and present: `PrivateIPC=`, `IPCNamespacePath=`, `ExecPaths=`,
//! `NoExecPaths=`, `ExtensionImages=`.
//!
//! `@group` references in `SystemCallFilter=`/`SystemCallLog=` are kept unexpanded
//! (keel-exec resolves them); every other value is fully typed here.

pub(crate) mod creds;
pub(crate) mod io;
mod limits;
mod paths;
mod seccomp;
pub(crate) mod value;

use std::collections::BTreeMap;
use std::path::PathBuf;

use keel_core::time::Usec;
use serde::Serialize;

pub use creds::{
    CAPABILITY_NAMES, CapabilitySet, LoadCredential, SecureBits, SecurityLabel, SetCredential,
    valid_user_group_name_relaxed,
};
pub use io::{
    EnvironmentFile, LogLevel, STDIN_DATA_MAX, StandardInput, StandardOutput, SyslogFacility,
};
pub use limits::{
    CpuSchedulingPolicy, CpuSet, IoPriority, IoSchedulingClass, NumaPolicy, Resource, ResourceLimit,
};
pub use paths::{
    BindPath, ExecDirectory, ExtensionImage, MountImage, NamespacePath, PartitionDesignator,
    PartitionMountOptions, RootHash, RootHashSignature, TemporaryFileSystem, WorkingDirectory,
};
pub use seccomp::{
    ADDRESS_FAMILIES, AddressFamilies, AddressFamily, ERRNO_NAMES, NamespaceFlags,
    SECCOMP_ARCHITECTURES, SYSCALL_GROUPS, SyscallAction, SyscallErrorNumber, SyscallFilter,
    SyscallFilterOp, SyscallRule, errno_name, parse_errno,
};

use super::directive::{ApplyFn, Directive, ParseCtx, SettingError, Support};
use value::{boolean, boolean_fatal, set_bool, unit_path, unit_string};

/// Defines a string-valued choice with systemd's exact spellings.
macro_rules! choice {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[non_exhaustive]
        pub enum $name { $($(#[$vm])* #[doc = concat!("`", $s, "`")] $v),+ }

        impl $name {
            /// The value as systemd spells it.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                match s { $($s => Ok(Self::$v),)+ _ => Err(()) }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use choice;

choice! {
    /// `ProtectSystem=` (booleans are accepted: yes → `yes`, no → `no`).
    #[doc(alias = "ProtectSystem=")]
    ProtectSystem { No = "no", Yes = "yes", Full = "full", Strict = "strict" }
}
choice! {
    /// `ProtectHome=` (booleans accepted).
    #[doc(alias = "ProtectHome=")]
    ProtectHome { No = "no", Yes = "yes", ReadOnly = "read-only", Tmpfs = "tmpfs" }
}
choice! {
    /// `ProtectProc=`.
    #[doc(alias = "ProtectProc=")]
    ProtectProc { Default = "default", NoAccess = "noaccess", Invisible = "invisible", Ptraceable = "ptraceable" }
}
choice! {
    /// `ProcSubset=`.
    #[doc(alias = "ProcSubset=")]
    ProcSubset { All = "all", Pid = "pid" }
}
choice! {
    /// `KeyringMode=`.
    #[doc(alias = "KeyringMode=")]
    KeyringMode { Inherit = "inherit", Private = "private", Shared = "shared" }
}
choice! {
    /// `MountFlags=`: the propagation of the unit's mount namespace.
    #[doc(alias = "MountFlags=")]
    MountPropagation { Shared = "shared", Slave = "slave", Private = "private" }
}
choice! {
    /// `RuntimeDirectoryPreserve=` (booleans accepted).
    #[doc(alias = "RuntimeDirectoryPreserve=")]
    RuntimeDirectoryPreserve { No = "no", Yes = "yes", Restart = "restart" }
}
choice! {
    /// `UtmpMode=`.
    #[doc(alias = "UtmpMode=")]
    UtmpMode { Init = "init", Login = "login", User = "user" }
}

/// Every execution setting of a unit, with systemd 248's defaults for a service of
/// the system manager. Filled in by the `EXEC_DIRECTIVES` table.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ExecSettings {
    /// `WorkingDirectory=` (None: `/`, or the home directory for user managers).
    #[doc(alias = "WorkingDirectory=")]
    pub working_directory: Option<WorkingDirectory>,
    /// `WorkingDirectory=-…`: a missing directory is not an error.
    pub working_directory_missing_ok: bool,
    /// `RootDirectory=`
    #[doc(alias = "RootDirectory=")]
    pub root_directory: Option<PathBuf>,
    /// `RootImage=`
    #[doc(alias = "RootImage=")]
    pub root_image: Option<PathBuf>,
    /// `RootImageOptions=`
    #[doc(alias = "RootImageOptions=")]
    pub root_image_options: Vec<PartitionMountOptions>,
    /// `RootHash=`
    pub root_hash: Option<RootHash>,
    /// `RootHashSignature=`
    pub root_hash_signature: Option<RootHashSignature>,
    /// `RootVerity=`
    #[doc(alias = "RootVerity=")]
    pub root_verity: Option<PathBuf>,
    /// `MountImages=`
    pub mount_images: Vec<MountImage>,
    /// `ExtensionImages=` (new in 248; first listed = lowest layer)
    pub extension_images: Vec<ExtensionImage>,
    /// `User=` (name or numeric id, specifiers expanded)
    #[doc(alias = "User=")]
    pub user: Option<String>,
    /// `Group=`
    #[doc(alias = "Group=")]
    pub group: Option<String>,
    /// `SupplementaryGroups=`
    #[doc(alias = "SupplementaryGroups=")]
    pub supplementary_groups: Vec<String>,
    /// `DynamicUser=`
    #[doc(alias = "DynamicUser=")]
    pub dynamic_user: bool,
    /// `Nice=` (-20…19)
    #[doc(alias = "Nice=")]
    pub nice: Option<i8>,
    /// `OOMScoreAdjust=` (-1000…1000)
    #[doc(alias = "OOMScoreAdjust=")]
    pub oom_score_adjust: Option<i16>,
    /// `CoredumpFilter=` as the `/proc/PID/coredump_filter` mask
    #[doc(alias = "CoredumpFilter=")]
    pub coredump_filter: Option<u64>,
    /// `IOSchedulingClass=` and `IOSchedulingPriority=` (None: not set)
    pub io_priority: Option<IoPriority>,
    /// `CPUSchedulingPolicy=`
    pub cpu_scheduling_policy: Option<CpuSchedulingPolicy>,
    /// `CPUSchedulingPriority=`
    #[doc(alias = "CPUSchedulingPriority=")]
    pub cpu_scheduling_priority: Option<u8>,
    /// `CPUSchedulingResetOnFork=`
    #[doc(alias = "CPUSchedulingResetOnFork=")]
    pub cpu_scheduling_reset_on_fork: bool,
    /// `CPUAffinity=`
    pub cpu_affinity: CpuSet,
    /// `CPUAffinity=numa`: derive the CPUs from `NUMAMask=`.
    pub cpu_affinity_from_numa: bool,
    /// `NUMAPolicy=`
    pub numa_policy: Option<NumaPolicy>,
    /// `NUMAMask=`
    #[doc(alias = "NUMAMask=")]
    pub numa_mask: CpuSet,
    /// `NUMAMask=all`
    pub numa_mask_all: bool,
    /// `UMask=` (default `0022`)
    #[doc(alias = "UMask=")]
    pub umask: u32,
    /// `Environment=`: `NAME=value` assignments, a later one replacing an earlier one in place
    #[doc(alias = "Environment=")]
    pub environment: Vec<String>,
    /// `EnvironmentFile=`
    pub environment_files: Vec<EnvironmentFile>,
    /// `PassEnvironment=`
    #[doc(alias = "PassEnvironment=")]
    pub pass_environment: Vec<String>,
    /// `UnsetEnvironment=` (names or assignments)
    #[doc(alias = "UnsetEnvironment=")]
    pub unset_environment: Vec<String>,
    /// `RemoveIPC=`
    #[doc(alias = "RemoveIPC=")]
    pub remove_ipc: bool,
    /// `StandardInput=`
    pub standard_input: StandardInput,
    /// `StandardOutput=` (default `journal`, the system manager's `DefaultStandardOutput=`)
    pub standard_output: StandardOutput,
    /// `StandardError=` (default `inherit`)
    pub standard_error: StandardOutput,
    /// `StandardInputText=`/`StandardInputData=`, concatenated
    #[doc(alias = "StandardInputText=")]
    #[doc(alias = "StandardInputData=")]
    pub standard_input_data: Vec<u8>,
    /// `TTYPath=`
    #[doc(alias = "TTYPath=")]
    pub tty_path: Option<PathBuf>,
    /// `TTYReset=`
    #[doc(alias = "TTYReset=")]
    pub tty_reset: bool,
    /// `TTYVHangup=`
    #[doc(alias = "TTYVHangup=")]
    pub tty_vhangup: bool,
    /// `TTYVTDisallocate=`
    #[doc(alias = "TTYVTDisallocate=")]
    pub tty_vt_disallocate: bool,
    /// `SyslogIdentifier=`
    #[doc(alias = "SyslogIdentifier=")]
    pub syslog_identifier: Option<String>,
    /// `SyslogFacility=` (default `daemon`)
    pub syslog_facility: SyslogFacility,
    /// `SyslogLevel=` (default `info`)
    #[doc(alias = "SyslogLevel=")]
    pub syslog_level: LogLevel,
    /// `SyslogLevelPrefix=` (default yes)
    #[doc(alias = "SyslogLevelPrefix=")]
    pub syslog_level_prefix: bool,
    /// `LogLevelMax=`
    #[doc(alias = "LogLevelMax=")]
    pub log_level_max: Option<LogLevel>,
    /// `LogRateLimitIntervalSec=` (0: journald's default)
    #[doc(alias = "LogRateLimitIntervalSec=")]
    pub log_rate_limit_interval: Usec,
    /// `LogRateLimitBurst=` (0: journald's default)
    #[doc(alias = "LogRateLimitBurst=")]
    pub log_rate_limit_burst: u32,
    /// `LogExtraFields=` (`FIELD=value`)
    #[doc(alias = "LogExtraFields=")]
    pub log_extra_fields: Vec<String>,
    /// `LogNamespace=`
    #[doc(alias = "LogNamespace=")]
    pub log_namespace: Option<String>,
    /// `SecureBits=`
    pub secure_bits: SecureBits,
    /// `CapabilityBoundingSet=` (default: all)
    pub capability_bounding_set: CapabilitySet,
    /// `AmbientCapabilities=` (default: none)
    pub ambient_capabilities: CapabilitySet,
    /// `TimerSlackNSec=`
    #[doc(alias = "TimerSlackNSec=")]
    pub timer_slack_nsec: Option<u64>,
    /// `NoNewPrivileges=`
    #[doc(alias = "NoNewPrivileges=")]
    pub no_new_privileges: bool,
    /// `KeyringMode=` (default `private` for system services)
    pub keyring_mode: KeyringMode,
    /// `ProtectProc=`
    pub protect_proc: ProtectProc,
    /// `ProcSubset=`
    pub proc_subset: ProcSubset,
    /// `SystemCallFilter=`
    pub system_call_filter: Option<SyscallFilter>,
    /// `SystemCallArchitectures=` (names, de-duplicated)
    #[doc(alias = "SystemCallArchitectures=")]
    pub system_call_architectures: Vec<String>,
    /// `SystemCallErrorNumber=`
    pub system_call_error_number: SyscallErrorNumber,
    /// `SystemCallLog=`
    pub system_call_log: Option<SyscallFilter>,
    /// `MemoryDenyWriteExecute=`
    #[doc(alias = "MemoryDenyWriteExecute=")]
    pub memory_deny_write_execute: bool,
    /// `RestrictRealtime=`
    #[doc(alias = "RestrictRealtime=")]
    pub restrict_realtime: bool,
    /// `RestrictSUIDSGID=`
    #[doc(alias = "RestrictSUIDSGID=")]
    pub restrict_suid_sgid: bool,
    /// `LockPersonality=`
    #[doc(alias = "LockPersonality=")]
    pub lock_personality: bool,
    /// `RestrictNamespaces=`: the namespace types still *allowed* (None: no restriction)
    pub restrict_namespaces: Option<NamespaceFlags>,
    /// `RestrictAddressFamilies=`
    pub restrict_address_families: Option<AddressFamilies>,
    /// `Limit*=`
    pub limits: BTreeMap<Resource, ResourceLimit>,
    /// `ReadWritePaths=` (alias `ReadWriteDirectories=`)
    pub read_write_paths: Vec<NamespacePath>,
    /// `ReadOnlyPaths=` (alias `ReadOnlyDirectories=`)
    pub read_only_paths: Vec<NamespacePath>,
    /// `InaccessiblePaths=` (alias `InaccessibleDirectories=`)
    pub inaccessible_paths: Vec<NamespacePath>,
    /// `ExecPaths=` (new in 248)
    pub exec_paths: Vec<NamespacePath>,
    /// `NoExecPaths=` (new in 248)
    pub no_exec_paths: Vec<NamespacePath>,
    /// `BindPaths=` and `BindReadOnlyPaths=`, in one list as in 248
    pub bind_paths: Vec<BindPath>,
    /// `TemporaryFileSystem=`
    pub temporary_filesystems: Vec<TemporaryFileSystem>,
    /// `PrivateTmp=`
    #[doc(alias = "PrivateTmp=")]
    pub private_tmp: bool,
    /// `PrivateDevices=`
    #[doc(alias = "PrivateDevices=")]
    pub private_devices: bool,
    /// `ProtectKernelTunables=`
    #[doc(alias = "ProtectKernelTunables=")]
    pub protect_kernel_tunables: bool,
    /// `ProtectKernelModules=`
    #[doc(alias = "ProtectKernelModules=")]
    pub protect_kernel_modules: bool,
    /// `ProtectKernelLogs=`
    #[doc(alias = "ProtectKernelLogs=")]
    pub protect_kernel_logs: bool,
    /// `ProtectClock=`
    #[doc(alias = "ProtectClock=")]
    pub protect_clock: bool,
    /// `ProtectControlGroups=`
    #[doc(alias = "ProtectControlGroups=")]
    pub protect_control_groups: bool,
    /// `NetworkNamespacePath=`
    #[doc(alias = "NetworkNamespacePath=")]
    pub network_namespace_path: Option<PathBuf>,
    /// `IPCNamespacePath=` (new in 248)
    #[doc(alias = "IPCNamespacePath=")]
    pub ipc_namespace_path: Option<PathBuf>,
    /// `PrivateNetwork=`
    #[doc(alias = "PrivateNetwork=")]
    pub private_network: bool,
    /// `PrivateUsers=`
    #[doc(alias = "PrivateUsers=")]
    pub private_users: bool,
    /// `PrivateMounts=`
    #[doc(alias = "PrivateMounts=")]
    pub private_mounts: bool,
    /// `PrivateIPC=` (new in 248)
    #[doc(alias = "PrivateIPC=")]
    pub private_ipc: bool,
    /// `ProtectHostname=`
    #[doc(alias = "ProtectHostname=")]
    pub protect_hostname: bool,
    /// `ProtectSystem=`
    pub protect_system: ProtectSystem,
    /// `ProtectHome=`
    pub protect_home: ProtectHome,
    /// `MountFlags=`
    pub mount_flags: Option<MountPropagation>,
    /// `MountAPIVFS=` (None: implied by `RootDirectory=`/`RootImage=`)
    #[doc(alias = "MountAPIVFS=")]
    pub mount_api_vfs: Option<bool>,
    /// `Personality=` (architecture name such as `x86`)
    #[doc(alias = "Personality=")]
    pub personality: Option<String>,
    /// `RuntimeDirectoryPreserve=`
    pub runtime_directory_preserve: RuntimeDirectoryPreserve,
    /// `RuntimeDirectory=`, `RuntimeDirectoryMode=`
    pub runtime_directory: ExecDirectory,
    /// `StateDirectory=`, `StateDirectoryMode=`
    pub state_directory: ExecDirectory,
    /// `CacheDirectory=`, `CacheDirectoryMode=`
    pub cache_directory: ExecDirectory,
    /// `LogsDirectory=`, `LogsDirectoryMode=`
    pub logs_directory: ExecDirectory,
    /// `ConfigurationDirectory=`, `ConfigurationDirectoryMode=`
    pub configuration_directory: ExecDirectory,
    /// `SetCredential=` (one entry per id, the last assignment wins)
    pub set_credentials: Vec<SetCredential>,
    /// `LoadCredential=`
    pub load_credentials: Vec<LoadCredential>,
    /// `TimeoutCleanSec=` (default infinity)
    #[doc(alias = "TimeoutCleanSec=")]
    pub timeout_clean: Usec,
    /// `PAMName=`
    #[doc(alias = "PAMName=")]
    pub pam_name: Option<String>,
    /// `IgnoreSIGPIPE=` (default yes)
    #[doc(alias = "IgnoreSIGPIPE=")]
    pub ignore_sigpipe: bool,
    /// `UtmpIdentifier=`
    #[doc(alias = "UtmpIdentifier=")]
    pub utmp_identifier: Option<String>,
    /// `UtmpMode=`
    pub utmp_mode: UtmpMode,
    /// `SELinuxContext=`
    pub selinux_context: Option<SecurityLabel>,
    /// `AppArmorProfile=`
    pub apparmor_profile: Option<SecurityLabel>,
    /// `SmackProcessLabel=`
    pub smack_process_label: Option<SecurityLabel>,
}

impl Default for ExecSettings {
    fn default() -> Self {
        Self {
            working_directory: None,
            working_directory_missing_ok: false,
            root_directory: None,
            root_image: None,
            root_image_options: Vec::new(),
            root_hash: None,
            root_hash_signature: None,
            root_verity: None,
            mount_images: Vec::new(),
            extension_images: Vec::new(),
            user: None,
            group: None,
            supplementary_groups: Vec::new(),
            dynamic_user: false,
            nice: None,
            oom_score_adjust: None,
            coredump_filter: None,
            io_priority: None,
            cpu_scheduling_policy: None,
            cpu_scheduling_priority: None,
            cpu_scheduling_reset_on_fork: false,
            cpu_affinity: CpuSet::default(),
            cpu_affinity_from_numa: false,
            numa_policy: None,
            numa_mask: CpuSet::default(),
            numa_mask_all: false,
            umask: 0o022,
            environment: Vec::new(),
            environment_files: Vec::new(),
            pass_environment: Vec::new(),
            unset_environment: Vec::new(),
            remove_ipc: false,
            standard_input: StandardInput::Null,
            standard_output: StandardOutput::Journal,
            standard_error: StandardOutput::Inherit,
            standard_input_data: Vec::new(),
            tty_path: None,
            tty_reset: false,
            tty_vhangup: false,
            tty_vt_disallocate: false,
            syslog_identifier: None,
            syslog_facility: SyslogFacility::DAEMON,
            syslog_level: LogLevel::Info,
            syslog_level_prefix: true,
            log_level_max: None,
            log_rate_limit_interval: Usec(0),
            log_rate_limit_burst: 0,
            log_extra_fields: Vec::new(),
            log_namespace: None,
            secure_bits: SecureBits::empty(),
            capability_bounding_set: CapabilitySet::ALL,
            ambient_capabilities: CapabilitySet::EMPTY,
            timer_slack_nsec: None,
            no_new_privileges: false,
            keyring_mode: KeyringMode::Private,
            protect_proc: ProtectProc::Default,
            proc_subset: ProcSubset::All,
            system_call_filter: None,
            system_call_architectures: Vec::new(),
            system_call_error_number: SyscallErrorNumber::Kill,
            system_call_log: None,
            memory_deny_write_execute: false,
            restrict_realtime: false,
            restrict_suid_sgid: false,
            lock_personality: false,
            restrict_namespaces: None,
            restrict_address_families: None,
            limits: BTreeMap::new(),
            read_write_paths: Vec::new(),
            read_only_paths: Vec::new(),
            inaccessible_paths: Vec::new(),
            exec_paths: Vec::new(),
            no_exec_paths: Vec::new(),
            bind_paths: Vec::new(),
            temporary_filesystems: Vec::new(),
            private_tmp: false,
            private_devices: false,
            protect_kernel_tunables: false,
            protect_kernel_modules: false,
            protect_kernel_logs: false,
            protect_clock: false,
            protect_control_groups: false,
            network_namespace_path: None,
            ipc_namespace_path: None,
            private_network: false,
            private_users: false,
            private_mounts: false,
            private_ipc: false,
            protect_hostname: false,
            protect_system: ProtectSystem::No,
            protect_home: ProtectHome::No,
            mount_flags: None,
            mount_api_vfs: None,
            personality: None,
            runtime_directory_preserve: RuntimeDirectoryPreserve::No,
            runtime_directory: ExecDirectory::default(),
            state_directory: ExecDirectory::default(),
            cache_directory: ExecDirectory::default(),
            logs_directory: ExecDirectory::default(),
            configuration_directory: ExecDirectory::default(),
            set_credentials: Vec::new(),
            load_credentials: Vec::new(),
            timeout_clean: Usec::INFINITY,
            pam_name: None,
            ignore_sigpipe: true,
            utmp_identifier: None,
            utmp_mode: UtmpMode::Init,
            selinux_context: None,
            apparmor_profile: None,
            smack_process_label: None,
        }
    }
}

/// `DEFINE_CONFIG_PARSE_ENUM`: a choice, "MSG, ignoring: VALUE" when invalid.
pub(crate) fn parse_choice<T: std::str::FromStr>(
    value: &str,
    msg: &str,
) -> Result<T, SettingError> {
    value
        .parse()
        .map_err(|_| SettingError::invalid(format!("{msg}, ignoring: {value}")))
}

/// A choice that also accepts booleans (`yes` → `on_true`, `no` → `on_false`).
fn parse_choice_or_bool<T: std::str::FromStr>(
    value: &str,
    on_true: T,
    on_false: T,
    msg: &str,
) -> Result<T, SettingError> {
    match keel_core::boolean::parse_boolean(value) {
        Ok(true) => Ok(on_true),
        Ok(false) => Ok(on_false),
        Err(_) => parse_choice(value, msg),
    }
}

/// `config_parse_sec`: "Failed to parse sec value, ignoring: …".
pub(crate) fn sec(value: &str) -> Result<Usec, SettingError> {
    keel_core::time::parse_sec(value)
        .map_err(|_| SettingError::invalid(format!("Failed to parse sec value, ignoring: {value}")))
}

const fn d(name: &'static str, apply: ApplyFn<ExecSettings>) -> Directive<ExecSettings> {
    Directive {
        name,
        apply,
        support: Support::Parsed,
    }
}

fn apply_capabilities_legacy(
    _s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    _value: &str,
) -> Result<(), SettingError> {
    ctx.warn(format!(
        "Support for option {}= has been removed and it is ignored",
        ctx.key
    ));
    Ok(())
}

fn apply_umask(s: &mut ExecSettings, _c: &mut ParseCtx<'_>, v: &str) -> Result<(), SettingError> {
    s.umask = value::mode(v)?;
    Ok(())
}

fn apply_protect_system(
    s: &mut ExecSettings,
    _c: &mut ParseCtx<'_>,
    v: &str,
) -> Result<(), SettingError> {
    s.protect_system = parse_choice_or_bool(
        v,
        ProtectSystem::Yes,
        ProtectSystem::No,
        "Failed to parse protect system value",
    )?;
    Ok(())
}

fn apply_protect_home(
    s: &mut ExecSettings,
    _c: &mut ParseCtx<'_>,
    v: &str,
) -> Result<(), SettingError> {
    s.protect_home = parse_choice_or_bool(
        v,
        ProtectHome::Yes,
        ProtectHome::No,
        "Failed to parse protect home value",
    )?;
    Ok(())
}

fn apply_preserve(
    s: &mut ExecSettings,
    _c: &mut ParseCtx<'_>,
    v: &str,
) -> Result<(), SettingError> {
    s.runtime_directory_preserve = parse_choice_or_bool(
        v,
        RuntimeDirectoryPreserve::Yes,
        RuntimeDirectoryPreserve::No,
        "Failed to parse resource preserve mode",
    )?;
    Ok(())
}

fn apply_mount_flags(
    s: &mut ExecSettings,
    _c: &mut ParseCtx<'_>,
    v: &str,
) -> Result<(), SettingError> {
    if v.is_empty() {
        s.mount_flags = None;
        return Ok(());
    }
    s.mount_flags = Some(v.parse().map_err(|()| {
        SettingError::invalid(format!("Failed to parse mount flag {v}, ignoring."))
    })?);
    Ok(())
}

fn apply_syslog_level(
    s: &mut ExecSettings,
    _c: &mut ParseCtx<'_>,
    v: &str,
) -> Result<(), SettingError> {
    s.syslog_level = io::log_level(v)?;
    Ok(())
}

fn apply_log_level_max(
    s: &mut ExecSettings,
    _c: &mut ParseCtx<'_>,
    v: &str,
) -> Result<(), SettingError> {
    s.log_level_max = Some(io::log_level(v)?);
    Ok(())
}

fn apply_log_burst(
    s: &mut ExecSettings,
    _c: &mut ParseCtx<'_>,
    v: &str,
) -> Result<(), SettingError> {
    s.log_rate_limit_burst = value::unsigned(v).ok_or_else(|| {
        SettingError::invalid(format!("Failed to parse unsigned value, ignoring: {v}"))
    })?;
    Ok(())
}

/// Every key of systemd 248's `EXEC_CONTEXT_CONFIG_ITEMS`, in the order of
/// `load-fragment-gperf.gperf.m4`, plus `PrivateIPC=`, `IPCNamespacePath=` and
/// `ExtensionImages=` (new in 248).
pub(crate) static EXEC_DIRECTIVES: &[Directive<ExecSettings>] = &[
    d("WorkingDirectory", paths::apply_working_directory),
    d("RootDirectory", |s, c, v| {
        s.root_directory = unit_path(c, v, true)?;
        Ok(())
    }),
    d("RootImage", |s, c, v| {
        s.root_image = unit_path(c, v, true)?;
        Ok(())
    }),
    d("RootImageOptions", paths::apply_root_image_options),
    d("RootHash", paths::apply_root_hash),
    d("RootHashSignature", paths::apply_root_hash_signature),
    d("RootVerity", |s, c, v| {
        s.root_verity = unit_path(c, v, true)?;
        Ok(())
    }),
    d("MountImages", paths::apply_mount_images),
    d("ExtensionImages", paths::apply_extension_images),
    d("User", creds::apply_user_group),
    d("Group", creds::apply_user_group),
    d("SupplementaryGroups", creds::apply_supplementary_groups),
    d("Nice", limits::apply_nice),
    d("OOMScoreAdjust", limits::apply_oom_score_adjust),
    d("CoredumpFilter", limits::apply_coredump_filter),
    d("IOSchedulingClass", limits::apply_io_class),
    d("IOSchedulingPriority", limits::apply_io_priority),
    d("CPUSchedulingPolicy", limits::apply_cpu_sched_policy),
    d("CPUSchedulingPriority", limits::apply_cpu_sched_prio),
    d("CPUSchedulingResetOnFork", |s, _, v| {
        set_bool(&mut s.cpu_scheduling_reset_on_fork, v)
    }),
    d("CPUAffinity", limits::apply_cpu_affinity),
    d("NUMAPolicy", limits::apply_numa_policy),
    d("NUMAMask", limits::apply_numa_mask),
    d("UMask", apply_umask),
    d("Environment", io::apply_environment),
    d("EnvironmentFile", io::apply_environment_file),
    d("PassEnvironment", io::apply_pass_environment),
    d("UnsetEnvironment", io::apply_unset_environment),
    d("DynamicUser", |s, _, v| {
        s.dynamic_user = boolean_fatal(v)?;
        Ok(())
    }),
    d("RemoveIPC", |s, _, v| set_bool(&mut s.remove_ipc, v)),
    d("StandardInput", io::apply_standard_input),
    d("StandardOutput", io::apply_standard_output),
    d("StandardError", io::apply_standard_error),
    d("StandardInputText", io::apply_standard_input_text),
    d("StandardInputData", io::apply_standard_input_data),
    d("TTYPath", |s, c, v| {
        s.tty_path = unit_path(c, v, false)?;
        Ok(())
    }),
    d("TTYReset", |s, _, v| set_bool(&mut s.tty_reset, v)),
    d("TTYVHangup", |s, _, v| set_bool(&mut s.tty_vhangup, v)),
    d("TTYVTDisallocate", |s, _, v| {
        set_bool(&mut s.tty_vt_disallocate, v)
    }),
    d("SyslogIdentifier", |s, c, v| {
        s.syslog_identifier = unit_string(c, v)?;
        Ok(())
    }),
    d("SyslogFacility", io::apply_syslog_facility),
    d("SyslogLevel", apply_syslog_level),
    d("SyslogLevelPrefix", |s, _, v| {
        set_bool(&mut s.syslog_level_prefix, v)
    }),
    d("LogLevelMax", apply_log_level_max),
    d("LogRateLimitIntervalSec", |s, _, v| {
        s.log_rate_limit_interval = sec(v)?;
        Ok(())
    }),
    d("LogRateLimitBurst", apply_log_burst),
    d("LogExtraFields", io::apply_log_extra_fields),
    d("Capabilities", apply_capabilities_legacy),
    d("SecureBits", creds::apply_secure_bits),
    d(
        "CapabilityBoundingSet",
        creds::apply_capability_bounding_set,
    ),
    d("AmbientCapabilities", creds::apply_ambient_capabilities),
    d("TimerSlackNSec", limits::apply_timer_slack),
    d("NoNewPrivileges", |s, _, v| {
        set_bool(&mut s.no_new_privileges, v)
    }),
    d("KeyringMode", |s, _, v| {
        s.keyring_mode = parse_choice(v, "Failed to parse keyring mode")?;
        Ok(())
    }),
    d("ProtectProc", |s, _, v| {
        s.protect_proc = parse_choice(v, "Failed to parse /proc/ protection mode")?;
        Ok(())
    }),
    d("ProcSubset", |s, _, v| {
        s.proc_subset = parse_choice(v, "Failed to parse /proc/ subset mode")?;
        Ok(())
    }),
    d("SystemCallFilter", seccomp::apply_syscall_filter),
    d("SystemCallArchitectures", seccomp::apply_syscall_archs),
    d("SystemCallErrorNumber", seccomp::apply_syscall_errno),
    d("SystemCallLog", seccomp::apply_syscall_log),
    d("MemoryDenyWriteExecute", |s, _, v| {
        set_bool(&mut s.memory_deny_write_execute, v)
    }),
    d("RestrictNamespaces", seccomp::apply_restrict_namespaces),
    d("RestrictRealtime", |s, _, v| {
        set_bool(&mut s.restrict_realtime, v)
    }),
    d("RestrictSUIDSGID", |s, _, v| {
        set_bool(&mut s.restrict_suid_sgid, v)
    }),
    d("RestrictAddressFamilies", seccomp::apply_address_families),
    d("LockPersonality", |s, _, v| {
        set_bool(&mut s.lock_personality, v)
    }),
    d("LimitCPU", limits::apply_rlimit),
    d("LimitFSIZE", limits::apply_rlimit),
    d("LimitDATA", limits::apply_rlimit),
    d("LimitSTACK", limits::apply_rlimit),
    d("LimitCORE", limits::apply_rlimit),
    d("LimitRSS", limits::apply_rlimit),
    d("LimitNOFILE", limits::apply_rlimit),
    d("LimitAS", limits::apply_rlimit),
    d("LimitNPROC", limits::apply_rlimit),
    d("LimitMEMLOCK", limits::apply_rlimit),
    d("LimitLOCKS", limits::apply_rlimit),
    d("LimitSIGPENDING", limits::apply_rlimit),
    d("LimitMSGQUEUE", limits::apply_rlimit),
    d("LimitNICE", limits::apply_rlimit),
    d("LimitRTPRIO", limits::apply_rlimit),
    d("LimitRTTIME", limits::apply_rlimit),
    d("ReadWriteDirectories", |s, c, v| {
        paths::parse_namespace_paths(&mut s.read_write_paths, c, v)
    }),
    d("ReadOnlyDirectories", |s, c, v| {
        paths::parse_namespace_paths(&mut s.read_only_paths, c, v)
    }),
    d("InaccessibleDirectories", |s, c, v| {
        paths::parse_namespace_paths(&mut s.inaccessible_paths, c, v)
    }),
    d("ReadWritePaths", |s, c, v| {
        paths::parse_namespace_paths(&mut s.read_write_paths, c, v)
    }),
    d("ReadOnlyPaths", |s, c, v| {
        paths::parse_namespace_paths(&mut s.read_only_paths, c, v)
    }),
    d("InaccessiblePaths", |s, c, v| {
        paths::parse_namespace_paths(&mut s.inaccessible_paths, c, v)
    }),
    d("ExecPaths", |s, c, v| {
        paths::parse_namespace_paths(&mut s.exec_paths, c, v)
    }),
    d("NoExecPaths", |s, c, v| {
        paths::parse_namespace_paths(&mut s.no_exec_paths, c, v)
    }),
    d("BindPaths", paths::apply_bind_paths),
    d("BindReadOnlyPaths", paths::apply_bind_paths),
    d("TemporaryFileSystem", paths::apply_temporary_filesystem),
    d("PrivateTmp", |s, _, v| set_bool(&mut s.private_tmp, v)),
    d("PrivateDevices", |s, _, v| {
        set_bool(&mut s.private_devices, v)
    }),
    d("ProtectKernelTunables", |s, _, v| {
        set_bool(&mut s.protect_kernel_tunables, v)
    }),
    d("ProtectKernelModules", |s, _, v| {
        set_bool(&mut s.protect_kernel_modules, v)
    }),
    d("ProtectKernelLogs", |s, _, v| {
        set_bool(&mut s.protect_kernel_logs, v)
    }),
    d("ProtectClock", |s, _, v| set_bool(&mut s.protect_clock, v)),
    d("ProtectControlGroups", |s, _, v| {
        set_bool(&mut s.protect_control_groups, v)
    }),
    d("NetworkNamespacePath", |s, c, v| {
        s.network_namespace_path = unit_path(c, v, false)?;
        Ok(())
    }),
    d("IPCNamespacePath", |s, c, v| {
        s.ipc_namespace_path = unit_path(c, v, false)?;
        Ok(())
    }),
    d("LogNamespace", io::apply_log_namespace),
    d("PrivateNetwork", |s, _, v| {
        set_bool(&mut s.private_network, v)
    }),
    d("PrivateUsers", |s, _, v| set_bool(&mut s.private_users, v)),
    d("PrivateMounts", |s, _, v| {
        set_bool(&mut s.private_mounts, v)
    }),
    d("PrivateIPC", |s, _, v| set_bool(&mut s.private_ipc, v)),
    d("ProtectSystem", apply_protect_system),
    d("ProtectHome", apply_protect_home),
    d("MountFlags", apply_mount_flags),
    d("MountAPIVFS", |s, _, v| {
        s.mount_api_vfs = Some(boolean(v)?);
        Ok(())
    }),
    d("Personality", limits::apply_personality),
    d("RuntimeDirectoryPreserve", apply_preserve),
    d("RuntimeDirectoryMode", |s, _, v| {
        s.runtime_directory.mode = value::mode(v)?;
        Ok(())
    }),
    d("RuntimeDirectory", |s, c, v| {
        paths::parse_exec_directories(&mut s.runtime_directory, c, v)
    }),
    d("StateDirectoryMode", |s, _, v| {
        s.state_directory.mode = value::mode(v)?;
        Ok(())
    }),
    d("StateDirectory", |s, c, v| {
        paths::parse_exec_directories(&mut s.state_directory, c, v)
    }),
    d("CacheDirectoryMode", |s, _, v| {
        s.cache_directory.mode = value::mode(v)?;
        Ok(())
    }),
    d("CacheDirectory", |s, c, v| {
        paths::parse_exec_directories(&mut s.cache_directory, c, v)
    }),
    d("LogsDirectoryMode", |s, _, v| {
        s.logs_directory.mode = value::mode(v)?;
        Ok(())
    }),
    d("LogsDirectory", |s, c, v| {
        paths::parse_exec_directories(&mut s.logs_directory, c, v)
    }),
    d("ConfigurationDirectoryMode", |s, _, v| {
        s.configuration_directory.mode = value::mode(v)?;
        Ok(())
    }),
    d("ConfigurationDirectory", |s, c, v| {
        paths::parse_exec_directories(&mut s.configuration_directory, c, v)
    }),
    d("SetCredential", creds::apply_set_credential),
    d("LoadCredential", creds::apply_load_credential),
    d("TimeoutCleanSec", |s, _, v| {
        s.timeout_clean = sec(v)?;
        Ok(())
    }),
    d("ProtectHostname", |s, _, v| {
        set_bool(&mut s.protect_hostname, v)
    }),
    d("PAMName", |s, c, v| {
        s.pam_name = unit_string(c, v)?;
        Ok(())
    }),
    d("IgnoreSIGPIPE", |s, _, v| {
        set_bool(&mut s.ignore_sigpipe, v)
    }),
    d("UtmpIdentifier", |s, c, v| {
        s.utmp_identifier = unit_string(c, v)?;
        Ok(())
    }),
    d("UtmpMode", |s, _, v| {
        s.utmp_mode = parse_choice(v, "Failed to parse utmp mode")?;
        Ok(())
    }),
    d("SELinuxContext", |s, c, v| {
        s.selinux_context = creds::parse_label(c, v)?;
        Ok(())
    }),
    d("AppArmorProfile", |s, c, v| {
        s.apparmor_profile = creds::parse_label(c, v)?;
        Ok(())
    }),
    d("SmackProcessLabel", |s, c, v| {
        s.smack_process_label = creds::parse_label(c, v)?;
        Ok(())
    }),
];

#[cfg(test)]
mod tests;
