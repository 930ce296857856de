use super::*;
use crate::model::directive::find;

/// Applies `key=value` to `s` through the table, as the loader does.
fn apply_in(
    unit: &str,
    s: &mut ExecSettings,
    key: &str,
    value: &str,
) -> (Result<(), SettingError>, Vec<String>) {
    crate::model::mount::testing::apply_in(EXEC_DIRECTIVES, unit, s, key, value)
}

fn apply(s: &mut ExecSettings, key: &str, value: &str) -> Result<(), SettingError> {
    apply_in("foo.service", s, key, value).0
}

/// Every key of 248's EXEC_CONTEXT_CONFIG_ITEMS (plus the 248 additions).
const KEYS_248: &[&str] = &[
    "WorkingDirectory",
    "RootDirectory",
    "RootImage",
    "RootImageOptions",
    "RootHash",
    "RootHashSignature",
    "RootVerity",
    "MountImages",
    "ExtensionImages",
    "User",
    "Group",
    "SupplementaryGroups",
    "Nice",
    "OOMScoreAdjust",
    "CoredumpFilter",
    "IOSchedulingClass",
    "IOSchedulingPriority",
    "CPUSchedulingPolicy",
    "CPUSchedulingPriority",
    "CPUSchedulingResetOnFork",
    "CPUAffinity",
    "NUMAPolicy",
    "NUMAMask",
    "UMask",
    "Environment",
    "EnvironmentFile",
    "PassEnvironment",
    "UnsetEnvironment",
    "DynamicUser",
    "RemoveIPC",
    "StandardInput",
    "StandardOutput",
    "StandardError",
    "StandardInputText",
    "StandardInputData",
    "TTYPath",
    "TTYReset",
    "TTYVHangup",
    "TTYVTDisallocate",
    "SyslogIdentifier",
    "SyslogFacility",
    "SyslogLevel",
    "SyslogLevelPrefix",
    "LogLevelMax",
    "LogRateLimitIntervalSec",
    "LogRateLimitBurst",
    "LogExtraFields",
    "Capabilities",
    "SecureBits",
    "CapabilityBoundingSet",
    "AmbientCapabilities",
    "TimerSlackNSec",
    "NoNewPrivileges",
    "KeyringMode",
    "ProtectProc",
    "ProcSubset",
    "SystemCallFilter",
    "SystemCallArchitectures",
    "SystemCallErrorNumber",
    "SystemCallLog",
    "MemoryDenyWriteExecute",
    "RestrictNamespaces",
    "RestrictRealtime",
    "RestrictSUIDSGID",
    "RestrictAddressFamilies",
    "LockPersonality",
    "LimitCPU",
    "LimitFSIZE",
    "LimitDATA",
    "LimitSTACK",
    "LimitCORE",
    "LimitRSS",
    "LimitNOFILE",
    "LimitAS",
    "LimitNPROC",
    "LimitMEMLOCK",
    "LimitLOCKS",
    "LimitSIGPENDING",
    "LimitMSGQUEUE",
    "LimitNICE",
    "LimitRTPRIO",
    "LimitRTTIME",
    "ReadWriteDirectories",
    "ReadOnlyDirectories",
    "InaccessibleDirectories",
    "ReadWritePaths",
    "ReadOnlyPaths",
    "InaccessiblePaths",
    "ExecPaths",
    "NoExecPaths",
    "BindPaths",
    "BindReadOnlyPaths",
    "TemporaryFileSystem",
    "PrivateTmp",
    "PrivateDevices",
    "ProtectKernelTunables",
    "ProtectKernelModules",
    "ProtectKernelLogs",
    "ProtectClock",
    "ProtectControlGroups",
    "NetworkNamespacePath",
    "IPCNamespacePath",
    "LogNamespace",
    "PrivateNetwork",
    "PrivateUsers",
    "PrivateMounts",
    "PrivateIPC",
    "ProtectSystem",
    "ProtectHome",
    "MountFlags",
    "MountAPIVFS",
    "Personality",
    "RuntimeDirectoryPreserve",
    "RuntimeDirectoryMode",
    "RuntimeDirectory",
    "StateDirectoryMode",
    "StateDirectory",
    "CacheDirectoryMode",
    "CacheDirectory",
    "LogsDirectoryMode",
    "LogsDirectory",
    "ConfigurationDirectoryMode",
    "ConfigurationDirectory",
    "SetCredential",
    "LoadCredential",
    "TimeoutCleanSec",
    "ProtectHostname",
    "PAMName",
    "IgnoreSIGPIPE",
    "UtmpIdentifier",
    "UtmpMode",
    "SELinuxContext",
    "AppArmorProfile",
    "SmackProcessLabel",
];

#[test]
fn table_has_exactly_the_248_keys() {
    assert_eq!(EXEC_DIRECTIVES.len(), KEYS_248.len());
    for k in KEYS_248 {
        assert!(find(EXEC_DIRECTIVES, k).is_some(), "{k}");
    }
    for k in [
        "LoadCredentialEncrypted",
        "SetCredentialEncrypted",
        "ImportCredential",
        "ExtensionDirectories",
        "RestrictFileSystems",
        "LogFilterPatterns",
        "RootImagePolicy",
        "ProtectHostnameEx",
        "MemoryKSM",
    ] {
        assert!(find(EXEC_DIRECTIVES, k).is_none(), "{k}");
    }
}

#[test]
fn booleans() {
    let mut s = ExecSettings::default();
    apply(&mut s, "PrivateIPC", "yes").unwrap();
    assert!(s.private_ipc);
    let e = apply(&mut s, "PrivateIPC", "maybe").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Failed to parse boolean value, ignoring: maybe"
    );
    assert!(s.private_ipc);
    let e = apply(&mut s, "DynamicUser", "maybe").unwrap_err();
    assert!(e.is_fatal());
    assert_eq!(e.to_string(), "Failed to parse boolean value: maybe");
}

/// Port of systemd's `test_config_parse_pass_environ`.
#[test]
fn pass_environ_table() {
    let mut s = ExecSettings::default();
    apply(&mut s, "PassEnvironment", "A B").unwrap();
    assert_eq!(s.pass_environment, ["A", "B"]);
    apply(&mut s, "PassEnvironment", "").unwrap();
    assert!(s.pass_environment.is_empty());
    let (r, warnings) = apply_in(
        "foo.service",
        &mut s,
        "PassEnvironment",
        "'invalid name' 'normal_name' A=1 'special_name$$' \\",
    );
    r.unwrap();
    assert_eq!(s.pass_environment, ["normal_name"]);
    assert_eq!(warnings.len(), 4, "{warnings:?}");
    apply(&mut s, "PassEnvironment", "normal_name X").unwrap();
    assert_eq!(s.pass_environment, ["normal_name", "X"]);
}

#[test]
fn unset_environ() {
    let mut s = ExecSettings::default();
    apply(&mut s, "UnsetEnvironment", "A B=1 'C D'").unwrap();
    assert_eq!(s.unset_environment, ["A", "B=1"]);
}

/// Port of systemd's `test_config_parse_log_extra_fields`.
#[test]
fn log_extra_fields_table() {
    let mut s = ExecSettings::default();
    apply(&mut s, "LogExtraFields", "FOO=BAR \"QOOF=quux '  ' \"").unwrap();
    assert_eq!(s.log_extra_fields, ["FOO=BAR", "QOOF=quux '  ' "]);
    apply(&mut s, "LogExtraFields", "FOO2=BAR2 QOOF2=quux '  '").unwrap();
    assert_eq!(
        s.log_extra_fields,
        ["FOO=BAR", "QOOF=quux '  ' ", "FOO2=BAR2", "QOOF2=quux"]
    );
    apply(&mut s, "LogExtraFields", "").unwrap();
    assert!(s.log_extra_fields.is_empty());
    let (_, w) = apply_in("foo.service", &mut s, "LogExtraFields", "foo=bar _X=1 NOEQ");
    assert_eq!(w.len(), 3);
    assert!(s.log_extra_fields.is_empty());
}

#[test]
fn environment_quoting_and_replace() {
    let mut s = ExecSettings::default();
    apply(&mut s, "Environment", "A=1 \"B=two words\" C=%n").unwrap();
    assert_eq!(s.environment, ["A=1", "B=two words", "C=foo.service"]);
    apply(&mut s, "Environment", "A=3 D=4").unwrap();
    assert_eq!(
        s.environment,
        ["A=3", "B=two words", "C=foo.service", "D=4"]
    );
    let (r, w) = apply_in("foo.service", &mut s, "Environment", "=x 1A=2");
    r.unwrap();
    assert_eq!(w.len(), 2);
    apply(&mut s, "Environment", "").unwrap();
    assert!(s.environment.is_empty());
    apply(&mut s, "EnvironmentFile", "-/etc/default/foo").unwrap();
    assert_eq!(
        s.environment_files,
        [EnvironmentFile {
            path: "/etc/default/foo".into(),
            ignore_missing: true
        }]
    );
    assert!(apply(&mut s, "EnvironmentFile", "relative").is_err());
}

#[test]
fn namespace_paths() {
    let mut s = ExecSettings::default();
    apply(&mut s, "ReadOnlyPaths", "/usr -/var//lib/ +/x -+/y").unwrap();
    let strs: Vec<String> = s
        .read_only_paths
        .iter()
        .map(NamespacePath::to_systemd_string)
        .collect();
    assert_eq!(strs, ["/usr", "-/var/lib", "+/x", "-+/y"]);
    let (_, w) = apply_in("foo.service", &mut s, "ReadOnlyDirectories", "rel /ok");
    assert_eq!(
        w,
        ["ReadOnlyDirectories= path is not absolute, ignoring: rel"]
    );
    assert_eq!(s.read_only_paths.len(), 5);
    apply(&mut s, "ReadOnlyPaths", "").unwrap();
    assert!(s.read_only_paths.is_empty());
    apply(&mut s, "NoExecPaths", "/").unwrap();
    apply(&mut s, "ExecPaths", "/usr/bin /usr/lib").unwrap();
    assert_eq!(s.no_exec_paths.len(), 1);
    assert_eq!(s.exec_paths.len(), 2);
}

#[test]
fn bind_paths() {
    let mut s = ExecSettings::default();
    apply(&mut s, "BindPaths", "/a -/b:/c /d:/e:norbind").unwrap();
    apply(&mut s, "BindReadOnlyPaths", "/f:/g:rbind").unwrap();
    let b = &s.bind_paths;
    assert_eq!(b.len(), 4);
    assert_eq!(
        (b[0].source.as_path(), b[0].destination.as_path()),
        ("/a".as_ref(), "/a".as_ref())
    );
    assert!(b[1].ignore_missing && b[1].destination.as_path() == std::path::Path::new("/c"));
    assert!(!b[2].recursive);
    assert!(b[3].read_only && b[3].recursive);
    let (_, w) = apply_in("foo.service", &mut s, "BindPaths", "/h:/i:bogus");
    assert_eq!(w, ["Invalid option string, ignoring setting: bogus"]);
    apply(&mut s, "BindReadOnlyPaths", "").unwrap();
    assert!(s.bind_paths.is_empty());
}

#[test]
fn temporary_fs_and_images() {
    let mut s = ExecSettings::default();
    apply(&mut s, "TemporaryFileSystem", "/run /var:ro,mode=0700").unwrap();
    assert_eq!(s.temporary_filesystems[1].options, "ro,mode=0700");
    apply(
        &mut s,
        "ExtensionImages",
        "/usr/share/app0.raw -/usr/share/app1.raw:nosuid",
    )
    .unwrap();
    let e = &s.extension_images;
    assert_eq!(e.len(), 2);
    assert!(e[1].ignore_missing);
    assert_eq!(e[1].options[0].partition, PartitionDesignator::Root);
    assert_eq!(e[1].options[0].options, "nosuid");
    apply(&mut s, "ExtensionImages", "/x.raw:root:ro:usr:nodev").unwrap();
    assert_eq!(s.extension_images[2].options.len(), 2);
    assert_eq!(
        s.extension_images[2].options[1].partition,
        PartitionDesignator::Usr
    );
    let (_, w) = apply_in("foo.service", &mut s, "ExtensionImages", "/y.raw:bogus:ro");
    assert_eq!(w, ["Invalid partition name bogus, ignoring"]);
    apply(&mut s, "ExtensionImages", "").unwrap();
    assert!(s.extension_images.is_empty());
    apply(&mut s, "MountImages", "/a.raw:/mnt/a:ro").unwrap();
    assert_eq!(s.mount_images[0].destination, PathBuf::from("/mnt/a"));
    let (_, w) = apply_in("foo.service", &mut s, "MountImages", "/b.raw");
    assert_eq!(w.len(), 1);
}

#[test]
fn user_group_and_working_directory() {
    let mut s = ExecSettings::default();
    apply(&mut s, "User", "daemon").unwrap();
    assert_eq!(s.user.as_deref(), Some("daemon"));
    let e = apply(&mut s, "User", "a:b").unwrap_err();
    assert!(e.is_fatal());
    assert_eq!(e.to_string(), "Invalid user/group name or numeric ID: a:b");
    apply(&mut s, "Group", "1000").unwrap();
    apply(&mut s, "SupplementaryGroups", "wheel adm").unwrap();
    assert_eq!(s.supplementary_groups, ["wheel", "adm"]);
    apply(&mut s, "WorkingDirectory", "-~").unwrap();
    assert_eq!(s.working_directory, Some(WorkingDirectory::Home));
    assert!(s.working_directory_missing_ok);
    assert!(
        apply(&mut s, "WorkingDirectory", "relative")
            .unwrap_err()
            .is_fatal()
    );
    assert!(
        !apply(&mut s, "WorkingDirectory", "-relative")
            .unwrap_err()
            .is_fatal()
    );
    apply(&mut s, "WorkingDirectory", "/srv//x/").unwrap();
    assert_eq!(
        s.working_directory,
        Some(WorkingDirectory::Path("/srv/x".into()))
    );
    assert!(
        apply(&mut s, "RootDirectory", "rel")
            .unwrap_err()
            .is_fatal()
    );
}

#[test]
fn syscall_filter_fixtures() {
    // exec-systemcallfilter-not-failing.service
    let mut s = ExecSettings::default();
    for v in [
        "~read write open execve ioperm",
        "ioctl",
        "read write open execve",
        "~ioperm",
    ] {
        apply(&mut s, "SystemCallFilter", v).unwrap();
    }
    let f = s.system_call_filter.as_ref().unwrap();
    assert!(!f.allow_list);
    assert_eq!(f.rules[0].op, SyscallFilterOp::Add(SyscallAction::Default));
    assert_eq!(f.rules[5].op, SyscallFilterOp::Remove);
    // exec-systemcallfilter-failing.service: allow-list with implicit @default.
    let mut s = ExecSettings::default();
    for v in ["ioperm", "~ioperm", "ioperm"] {
        apply(&mut s, "SystemCallFilter", v).unwrap();
    }
    let f = s.system_call_filter.as_ref().unwrap();
    assert!(f.allow_list);
    assert_eq!(f.rules[0].name, "@default");
    assert_eq!(f.rules.len(), 4);
    assert_eq!(f.rules[2].op, SyscallFilterOp::Remove);
    // exec-systemcallfilter-with-errno-in-allow-list.service
    let mut s = ExecSettings::default();
    apply(&mut s, "SystemCallFilter", "@system-service").unwrap();
    apply(&mut s, "SystemCallFilter", "~uname:EILSEQ").unwrap();
    let f = s.system_call_filter.as_ref().unwrap();
    assert_eq!(
        f.rules[2].op,
        SyscallFilterOp::Add(SyscallAction::Errno(84))
    );
    // errno forms, kill, unknown group, allow-list errno refused.
    let mut s = ExecSettings::default();
    let (r, w) = apply_in(
        "foo.service",
        &mut s,
        "SystemCallFilter",
        "~uname:255 uname:kill @nonexistent foo:EBOGUS DONOTEXIST",
    );
    r.unwrap();
    assert_eq!(w.len(), 3, "{w:?}");
    let f = s.system_call_filter.as_ref().unwrap();
    assert_eq!(
        f.rules[0].op,
        SyscallFilterOp::Add(SyscallAction::Errno(255))
    );
    assert_eq!(f.rules[1].op, SyscallFilterOp::Add(SyscallAction::Kill));
    let (_, w) = apply_in("foo.service", &mut s, "SystemCallFilter", "~");
    assert!(w.is_empty());
    let mut a = ExecSettings::default();
    let (_, w) = apply_in("foo.service", &mut a, "SystemCallFilter", "uname:EPERM");
    assert_eq!(
        w,
        ["Allow-listed system calls cannot take error number, ignoring: uname:EPERM"]
    );
    apply(&mut s, "SystemCallFilter", "").unwrap();
    assert!(s.system_call_filter.is_none());
}

#[test]
fn syscall_errno_archs_log() {
    let mut s = ExecSettings::default();
    apply(&mut s, "SystemCallErrorNumber", "EACCES").unwrap();
    assert_eq!(s.system_call_error_number, SyscallErrorNumber::Errno(13));
    apply(&mut s, "SystemCallErrorNumber", "255").unwrap();
    assert_eq!(s.system_call_error_number, SyscallErrorNumber::Errno(255));
    assert_eq!(
        apply(&mut s, "SystemCallErrorNumber", "0")
            .unwrap_err()
            .to_string(),
        "Invalid error number, ignoring: 0"
    );
    assert!(apply(&mut s, "SystemCallErrorNumber", "4096").is_err());
    apply(&mut s, "SystemCallErrorNumber", "kill").unwrap();
    assert_eq!(s.system_call_error_number, SyscallErrorNumber::Kill);
    let (_, w) = apply_in(
        "foo.service",
        &mut s,
        "SystemCallArchitectures",
        "native x86 native bogus",
    );
    assert_eq!(s.system_call_architectures, ["native", "x86"]);
    assert_eq!(w.len(), 1);
    apply(&mut s, "SystemCallLog", "~@basic-io").unwrap();
    let l = s.system_call_log.as_ref().unwrap();
    assert!(!l.allow_list);
    assert_eq!(l.rules.len(), 1);
    let (_, w) = apply_in("foo.service", &mut s, "SystemCallLog", "uname:EPERM");
    assert_eq!(w, ["Failed to parse system call, ignoring: uname:EPERM"]);
}

#[test]
fn capabilities_and_securebits() {
    let mut s = ExecSettings::default();
    apply(&mut s, "CapabilityBoundingSet", "CAP_NET_ADMIN CAP_NET_RAW").unwrap();
    assert_eq!(s.capability_bounding_set.0, (1 << 12) | (1 << 13));
    apply(&mut s, "CapabilityBoundingSet", "~CAP_NET_RAW").unwrap();
    assert_eq!(s.capability_bounding_set.0, 1 << 12);
    apply(&mut s, "AmbientCapabilities", "CAP_CHOWN").unwrap();
    assert_eq!(s.ambient_capabilities.0, 1);
    apply(&mut s, "SecureBits", "keep-caps noroot-locked").unwrap();
    assert_eq!(
        s.secure_bits,
        SecureBits::KEEP_CAPS | SecureBits::NOROOT_LOCKED
    );
    let (r, w) = apply_in("foo.service", &mut s, "Capabilities", "cap_chown=eip");
    r.unwrap();
    assert_eq!(
        w,
        ["Support for option Capabilities= has been removed and it is ignored"]
    );
}

#[test]
fn restrict_namespaces_merge() {
    let mut s = ExecSettings::default();
    // exec-restrictnamespaces-merge-and: "cgroup ipc net mnt" then "~ipc net" -> cgroup mnt
    apply(&mut s, "RestrictNamespaces", "cgroup ipc net mnt").unwrap();
    apply(&mut s, "RestrictNamespaces", "~ipc net").unwrap();
    assert_eq!(
        s.restrict_namespaces,
        Some(NamespaceFlags::CGROUP | NamespaceFlags::MNT)
    );
    // merge-or
    apply(&mut s, "RestrictNamespaces", "uts").unwrap();
    assert_eq!(
        s.restrict_namespaces.map(NamespaceFlags::names),
        Some(vec!["cgroup", "mnt", "uts"])
    );
    apply(&mut s, "RestrictNamespaces", "yes").unwrap();
    assert_eq!(s.restrict_namespaces, Some(NamespaceFlags::empty()));
    apply(&mut s, "RestrictNamespaces", "").unwrap();
    apply(&mut s, "RestrictNamespaces", "~mnt").unwrap();
    assert_eq!(
        s.restrict_namespaces,
        Some(NamespaceFlags::all() - NamespaceFlags::MNT)
    );
    assert!(apply(&mut s, "RestrictNamespaces", "bogus").is_err());
}

#[test]
fn address_families() {
    let mut s = ExecSettings::default();
    apply(
        &mut s,
        "RestrictAddressFamilies",
        "AF_INET6 AF_UNIX AF_INET",
    )
    .unwrap();
    apply(&mut s, "RestrictAddressFamilies", "~AF_INET6").unwrap();
    let a = s.restrict_address_families.as_ref().unwrap();
    assert!(a.allow_list);
    let names: Vec<&str> = a.families.iter().map(|f| f.as_str()).collect();
    assert_eq!(names, ["AF_UNIX", "AF_INET"]);
    let (_, w) = apply_in("foo.service", &mut s, "RestrictAddressFamilies", "AF_BOGUS");
    assert_eq!(w, ["Failed to parse address family, ignoring: AF_BOGUS"]);
}

#[test]
fn limits_via_table() {
    let mut s = ExecSettings::default();
    apply(&mut s, "LimitNOFILE", "1024:524288").unwrap();
    assert_eq!(
        s.limits[&Resource::Nofile],
        ResourceLimit::new(Some(1024), Some(524_288))
    );
    assert_eq!(
        apply(&mut s, "LimitNOFILE", "200:100")
            .unwrap_err()
            .to_string(),
        "Soft resource limit chosen higher than hard limit, ignoring: 200:100"
    );
    assert_eq!(
        apply(&mut s, "LimitCORE", "wat").unwrap_err().to_string(),
        "Failed to parse resource value, ignoring: wat"
    );
    apply(&mut s, "LimitCORE", "infinity").unwrap();
    assert_eq!(s.limits[&Resource::Core], ResourceLimit::new(None, None));
}

#[test]
fn scalars() {
    let mut s = ExecSettings::default();
    apply(&mut s, "Nice", "-5").unwrap();
    assert_eq!(s.nice, Some(-5));
    assert_eq!(
        apply(&mut s, "Nice", "20").unwrap_err().to_string(),
        "Nice priority out of range, ignoring: 20"
    );
    apply(&mut s, "OOMScoreAdjust", "-1000").unwrap();
    assert!(apply(&mut s, "OOMScoreAdjust", "1001").is_err());
    apply(&mut s, "UMask", "0077").unwrap();
    assert_eq!(s.umask, 0o077);
    apply(&mut s, "IOSchedulingPriority", "4").unwrap();
    assert_eq!(
        s.io_priority,
        Some(IoPriority {
            class: IoSchedulingClass::BestEffort,
            priority: 4
        })
    );
    apply(&mut s, "IOSchedulingClass", "idle").unwrap();
    assert_eq!(
        s.io_priority.map(|p| (p.class, p.priority)),
        Some((IoSchedulingClass::Idle, 4))
    );
    assert!(apply(&mut s, "CPUSchedulingPriority", "50").is_err());
    apply(&mut s, "CPUSchedulingPolicy", "fifo").unwrap();
    assert_eq!(s.cpu_scheduling_priority, Some(1));
    apply(&mut s, "CPUSchedulingPriority", "50").unwrap();
    assert_eq!(s.cpu_scheduling_priority, Some(50));
    apply(&mut s, "CPUAffinity", "0-1 3").unwrap();
    apply(&mut s, "CPUAffinity", "5").unwrap();
    assert_eq!(s.cpu_affinity.to_string(), "0-1 3 5");
    apply(&mut s, "CPUAffinity", "numa").unwrap();
    assert!(s.cpu_affinity_from_numa && s.cpu_affinity.is_empty());
    apply(&mut s, "ProtectSystem", "strict").unwrap();
    assert_eq!(s.protect_system, ProtectSystem::Strict);
    apply(&mut s, "ProtectSystem", "yes").unwrap();
    assert_eq!(s.protect_system, ProtectSystem::Yes);
    assert_eq!(
        apply(&mut s, "ProtectHome", "bogus")
            .unwrap_err()
            .to_string(),
        "Failed to parse protect home value, ignoring: bogus"
    );
    apply(&mut s, "ProtectHome", "read-only").unwrap();
    apply(&mut s, "RuntimeDirectoryPreserve", "restart").unwrap();
    apply(&mut s, "KeyringMode", "shared").unwrap();
    apply(&mut s, "ProtectProc", "invisible").unwrap();
    apply(&mut s, "ProcSubset", "pid").unwrap();
    apply(&mut s, "MountFlags", "slave").unwrap();
    assert_eq!(s.mount_flags, Some(MountPropagation::Slave));
    apply(&mut s, "Personality", "x86").unwrap_or(());
    apply(&mut s, "CoredumpFilter", "default private-dax").unwrap();
    assert_eq!(s.coredump_filter, Some(0x33 | 0x80));
    apply(&mut s, "TimeoutCleanSec", "5").unwrap();
    assert_eq!(s.timeout_clean, keel_core::time::Usec(5_000_000));
    apply(&mut s, "SyslogLevel", "debug").unwrap();
    apply(&mut s, "SyslogFacility", "local3").unwrap();
    assert_eq!(s.syslog_facility.to_string(), "local3");
    apply(&mut s, "LogLevelMax", "4").unwrap();
    assert_eq!(s.log_level_max, Some(LogLevel::Warning));
    apply(&mut s, "LogNamespace", "foo").unwrap();
    assert!(apply(&mut s, "LogNamespace", "a/b").is_err());
}

#[test]
fn directories_and_credentials() {
    let mut s = ExecSettings::default();
    apply(&mut s, "RuntimeDirectory", "foo foo/bar").unwrap();
    apply(&mut s, "RuntimeDirectoryMode", "0700").unwrap();
    assert_eq!(s.runtime_directory.paths.len(), 2);
    assert_eq!(s.runtime_directory.mode, 0o700);
    let (_, w) = apply_in("foo.service", &mut s, "StateDirectory", "/abs private ok");
    assert_eq!(w.len(), 2);
    assert_eq!(s.state_directory.paths, [PathBuf::from("ok")]);
    apply(&mut s, "LoadCredential", "key:/etc/key").unwrap();
    assert!(apply(&mut s, "LoadCredential", "a/b:/x").is_err());
    apply(&mut s, "SetCredential", "tok:abc\\n").unwrap();
    apply(&mut s, "SetCredential", "tok:xyz\\x00").unwrap();
    assert_eq!(s.set_credentials.len(), 1);
    assert_eq!(s.set_credentials[0].data, b"xyz\0");
}

#[test]
fn stdio() {
    let mut s = ExecSettings::default();
    apply(&mut s, "StandardOutput", "truncate:/var/log/x.log").unwrap();
    assert_eq!(
        s.standard_output,
        StandardOutput::Truncate("/var/log/x.log".into())
    );
    apply(&mut s, "StandardError", "journal+console").unwrap();
    apply(&mut s, "StandardInput", "fd:foo").unwrap();
    assert_eq!(s.standard_input, StandardInput::NamedFd(Some("foo".into())));
    assert!(apply(&mut s, "StandardInput", "fd:a:b").is_err());
    let (r, w) = apply_in("foo.service", &mut s, "StandardOutput", "syslog");
    r.unwrap();
    assert_eq!(s.standard_output, StandardOutput::Journal);
    assert_eq!(w.len(), 1);
    assert_eq!(
        apply(&mut s, "StandardOutput", "file:rel")
            .unwrap_err()
            .to_string(),
        "StandardOutput= path is not absolute: rel"
    );
    apply(&mut s, "StandardInputText", "hello\\tworld").unwrap();
    apply(&mut s, "StandardInputData", "aGk=").unwrap();
    assert_eq!(s.standard_input_data, b"hello\tworld\nhi");
    assert!(apply(&mut s, "StandardInputData", "!!").is_err());
    apply(&mut s, "StandardInputText", "").unwrap();
    assert!(s.standard_input_data.is_empty());
}

#[test]
fn specifier_failures() {
    let mut s = ExecSettings::default();
    let e = apply(&mut s, "SyslogIdentifier", "%q").unwrap_err();
    assert!(!e.is_fatal());
    assert!(
        apply(&mut s, "SELinuxContext", "%q")
            .unwrap_err()
            .is_fatal()
    );
    assert!(
        !apply(&mut s, "SELinuxContext", "-%q")
            .unwrap_err()
            .is_fatal()
    );
    apply(&mut s, "SELinuxContext", "-system_u:system_r:foo_t").unwrap();
    assert!(s.selinux_context.as_ref().unwrap().ignore_errors);
}

#[test]
fn serializes() {
    let mut s = ExecSettings::default();
    apply(&mut s, "SystemCallFilter", "@system-service").unwrap();
    apply(&mut s, "LimitNOFILE", "10").unwrap();
    let json = serde_json::to_string(&s).unwrap();
    assert!(json.contains("@system-service"));
}
