//! systemd 248's syscall groups (`syscall_filter_sets[]`, spec §6.2), with nesting.
//!
//! Members are kept exactly as 248 lists them, names that exist on only some
//! architectures included: resolving a name on an architecture that lacks it skips it, as
//! 248 does. `@known` is generated: every name of keel's syscall tables.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use super::Arch;

/// One syscall group (`@name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group {
    /// `@name`.
    pub name: &'static str,
    /// The one-line description `systemd-analyze syscall-filter` prints.
    pub help: &'static str,
    /// Syscall names and nested `@group`s, sorted (groups first).
    pub members: &'static [&'static str],
}

/// Looking up or expanding a group failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GroupError {
    /// No group of that name.
    #[error("filter set \"{name}\" not found")]
    NotFound {
        /// The name asked for.
        name: String,
    },
}

/// The fixed groups in 248's table order (`@known` is last and generated, see [`known`]).
pub const GROUPS: &[Group] = &[
    Group {
        name: "@default",
        help: "System calls that are always permitted",
        members: &[
            "brk",
            "cacheflush",
            "clock_getres",
            "clock_getres_time64",
            "clock_gettime",
            "clock_gettime64",
            "clock_nanosleep",
            "clock_nanosleep_time64",
            "execve",
            "exit",
            "exit_group",
            "futex",
            "futex_time64",
            "get_robust_list",
            "get_thread_area",
            "getegid",
            "getegid32",
            "geteuid",
            "geteuid32",
            "getgid",
            "getgid32",
            "getgroups",
            "getgroups32",
            "getpgid",
            "getpgrp",
            "getpid",
            "getppid",
            "getresgid",
            "getresgid32",
            "getresuid",
            "getresuid32",
            "getrlimit",
            "getsid",
            "gettid",
            "gettimeofday",
            "getuid",
            "getuid32",
            "membarrier",
            "mmap",
            "mmap2",
            "munmap",
            "nanosleep",
            "pause",
            "prlimit64",
            "restart_syscall",
            "rseq",
            "rt_sigreturn",
            "sched_yield",
            "set_robust_list",
            "set_thread_area",
            "set_tid_address",
            "set_tls",
            "sigreturn",
            "time",
            "ugetrlimit",
        ],
    },
    Group {
        name: "@aio",
        help: "Asynchronous IO",
        members: &[
            "io_cancel",
            "io_destroy",
            "io_getevents",
            "io_pgetevents",
            "io_pgetevents_time64",
            "io_setup",
            "io_submit",
            "io_uring_enter",
            "io_uring_register",
            "io_uring_setup",
        ],
    },
    Group {
        name: "@basic-io",
        help: "Basic IO",
        members: &[
            "_llseek",
            "close",
            "close_range",
            "dup",
            "dup2",
            "dup3",
            "lseek",
            "pread64",
            "preadv",
            "preadv2",
            "pwrite64",
            "pwritev",
            "pwritev2",
            "read",
            "readv",
            "write",
            "writev",
        ],
    },
    Group {
        name: "@chown",
        help: "Change ownership of files and directories",
        members: &[
            "chown", "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32",
        ],
    },
    Group {
        name: "@clock",
        help: "Change the system time",
        members: &[
            "adjtimex",
            "clock_adjtime",
            "clock_adjtime64",
            "clock_settime",
            "clock_settime64",
            "settimeofday",
        ],
    },
    Group {
        name: "@cpu-emulation",
        help: "System calls for CPU emulation functionality",
        members: &[
            "modify_ldt",
            "subpage_prot",
            "switch_endian",
            "vm86",
            "vm86old",
        ],
    },
    Group {
        name: "@debug",
        help: "Debugging, performance monitoring and tracing functionality",
        members: &[
            "lookup_dcookie",
            "perf_event_open",
            "pidfd_getfd",
            "ptrace",
            "rtas",
            "s390_runtime_instr",
            "sys_debug_setcontext",
        ],
    },
    Group {
        name: "@file-system",
        help: "File system operations",
        members: &[
            "access",
            "chdir",
            "chmod",
            "close",
            "creat",
            "faccessat",
            "faccessat2",
            "fallocate",
            "fchdir",
            "fchmod",
            "fchmodat",
            "fcntl",
            "fcntl64",
            "fgetxattr",
            "flistxattr",
            "fremovexattr",
            "fsetxattr",
            "fstat",
            "fstat64",
            "fstatat64",
            "fstatfs",
            "fstatfs64",
            "ftruncate",
            "ftruncate64",
            "futimesat",
            "getcwd",
            "getdents",
            "getdents64",
            "getxattr",
            "inotify_add_watch",
            "inotify_init",
            "inotify_init1",
            "inotify_rm_watch",
            "lgetxattr",
            "link",
            "linkat",
            "listxattr",
            "llistxattr",
            "lremovexattr",
            "lsetxattr",
            "lstat",
            "lstat64",
            "mkdir",
            "mkdirat",
            "mknod",
            "mknodat",
            "newfstatat",
            "oldfstat",
            "oldlstat",
            "oldstat",
            "open",
            "openat",
            "openat2",
            "readlink",
            "readlinkat",
            "removexattr",
            "rename",
            "renameat",
            "renameat2",
            "rmdir",
            "setxattr",
            "stat",
            "stat64",
            "statfs",
            "statfs64",
            "statx",
            "symlink",
            "symlinkat",
            "truncate",
            "truncate64",
            "unlink",
            "unlinkat",
            "utime",
            "utimensat",
            "utimensat_time64",
            "utimes",
        ],
    },
    Group {
        name: "@io-event",
        help: "Event loop system calls",
        members: &[
            "_newselect",
            "epoll_create",
            "epoll_create1",
            "epoll_ctl",
            "epoll_ctl_old",
            "epoll_pwait",
            "epoll_wait",
            "epoll_wait_old",
            "eventfd",
            "eventfd2",
            "poll",
            "ppoll",
            "ppoll_time64",
            "pselect6",
            "pselect6_time64",
            "select",
        ],
    },
    Group {
        name: "@ipc",
        help: "SysV IPC, POSIX Message Queues or other IPC",
        members: &[
            "ipc",
            "memfd_create",
            "mq_getsetattr",
            "mq_notify",
            "mq_open",
            "mq_timedreceive",
            "mq_timedreceive_time64",
            "mq_timedsend",
            "mq_timedsend_time64",
            "mq_unlink",
            "msgctl",
            "msgget",
            "msgrcv",
            "msgsnd",
            "pipe",
            "pipe2",
            "process_vm_readv",
            "process_vm_writev",
            "semctl",
            "semget",
            "semop",
            "semtimedop",
            "semtimedop_time64",
            "shmat",
            "shmctl",
            "shmdt",
            "shmget",
        ],
    },
    Group {
        name: "@keyring",
        help: "Kernel keyring access",
        members: &["add_key", "keyctl", "request_key"],
    },
    Group {
        name: "@memlock",
        help: "Memory locking control",
        members: &["mlock", "mlock2", "mlockall", "munlock", "munlockall"],
    },
    Group {
        name: "@module",
        help: "Loading and unloading of kernel modules",
        members: &["delete_module", "finit_module", "init_module"],
    },
    Group {
        name: "@mount",
        help: "Mounting and unmounting of file systems",
        members: &[
            "chroot",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "mount",
            "move_mount",
            "open_tree",
            "pivot_root",
            "umount",
            "umount2",
        ],
    },
    Group {
        name: "@network-io",
        help: "Network or Unix socket IO, should not be needed if not network facing",
        members: &[
            "accept",
            "accept4",
            "bind",
            "connect",
            "getpeername",
            "getsockname",
            "getsockopt",
            "listen",
            "recv",
            "recvfrom",
            "recvmmsg",
            "recvmmsg_time64",
            "recvmsg",
            "send",
            "sendmmsg",
            "sendmsg",
            "sendto",
            "setsockopt",
            "shutdown",
            "socket",
            "socketcall",
            "socketpair",
        ],
    },
    Group {
        name: "@obsolete",
        help: "Unusual, obsolete or unimplemented system calls",
        members: &[
            "_sysctl",
            "afs_syscall",
            "bdflush",
            "break",
            "create_module",
            "ftime",
            "get_kernel_syms",
            "getpmsg",
            "gtty",
            "idle",
            "lock",
            "mpx",
            "prof",
            "profil",
            "putpmsg",
            "query_module",
            "security",
            "sgetmask",
            "ssetmask",
            "stime",
            "stty",
            "sysfs",
            "tuxcall",
            "ulimit",
            "uselib",
            "ustat",
            "vserver",
        ],
    },
    Group {
        name: "@pkey",
        help: "System calls used for memory protection keys",
        members: &["pkey_alloc", "pkey_free", "pkey_mprotect"],
    },
    Group {
        name: "@privileged",
        help: "All system calls which need super-user capabilities",
        members: &[
            "@chown",
            "@clock",
            "@module",
            "@raw-io",
            "@reboot",
            "@swap",
            "_sysctl",
            "acct",
            "bpf",
            "capset",
            "chroot",
            "fanotify_init",
            "fanotify_mark",
            "nfsservctl",
            "open_by_handle_at",
            "pivot_root",
            "quotactl",
            "setdomainname",
            "setfsuid",
            "setfsuid32",
            "setgroups",
            "setgroups32",
            "sethostname",
            "setresuid",
            "setresuid32",
            "setreuid",
            "setreuid32",
            "setuid",
            "setuid32",
            "vhangup",
        ],
    },
    Group {
        name: "@process",
        help: "Process control, execution, namespacing operations",
        members: &[
            "arch_prctl",
            "capget",
            "clone",
            "clone3",
            "execveat",
            "fork",
            "getrusage",
            "kill",
            "pidfd_open",
            "pidfd_send_signal",
            "prctl",
            "rt_sigqueueinfo",
            "rt_tgsigqueueinfo",
            "setns",
            "swapcontext",
            "tgkill",
            "times",
            "tkill",
            "unshare",
            "vfork",
            "wait4",
            "waitid",
            "waitpid",
        ],
    },
    Group {
        name: "@raw-io",
        help: "Raw I/O port access",
        members: &[
            "ioperm",
            "iopl",
            "pciconfig_iobase",
            "pciconfig_read",
            "pciconfig_write",
            "s390_pci_mmio_read",
            "s390_pci_mmio_write",
        ],
    },
    Group {
        name: "@reboot",
        help: "Reboot and reboot preparation/kexec",
        members: &["kexec_file_load", "kexec_load", "reboot"],
    },
    Group {
        name: "@resources",
        help: "Alter resource settings",
        members: &[
            "ioprio_set",
            "mbind",
            "migrate_pages",
            "move_pages",
            "nice",
            "sched_setaffinity",
            "sched_setattr",
            "sched_setparam",
            "sched_setscheduler",
            "set_mempolicy",
            "setpriority",
            "setrlimit",
        ],
    },
    Group {
        name: "@setuid",
        help: "Operations for changing user/group credentials",
        members: &[
            "setgid",
            "setgid32",
            "setgroups",
            "setgroups32",
            "setregid",
            "setregid32",
            "setresgid",
            "setresgid32",
            "setresuid",
            "setresuid32",
            "setreuid",
            "setreuid32",
            "setuid",
            "setuid32",
        ],
    },
    Group {
        name: "@signal",
        help: "Process signal handling",
        members: &[
            "rt_sigaction",
            "rt_sigpending",
            "rt_sigprocmask",
            "rt_sigsuspend",
            "rt_sigtimedwait",
            "rt_sigtimedwait_time64",
            "sigaction",
            "sigaltstack",
            "signal",
            "signalfd",
            "signalfd4",
            "sigpending",
            "sigprocmask",
            "sigsuspend",
        ],
    },
    Group {
        name: "@swap",
        help: "Enable/disable swap devices",
        members: &["swapoff", "swapon"],
    },
    Group {
        name: "@sync",
        help: "Synchronize files and memory to storage",
        members: &[
            "fdatasync",
            "fsync",
            "msync",
            "sync",
            "sync_file_range",
            "sync_file_range2",
            "syncfs",
        ],
    },
    Group {
        name: "@system-service",
        help: "General system service operations",
        members: &[
            "@aio",
            "@basic-io",
            "@chown",
            "@default",
            "@file-system",
            "@io-event",
            "@ipc",
            "@keyring",
            "@memlock",
            "@network-io",
            "@process",
            "@resources",
            "@setuid",
            "@signal",
            "@sync",
            "@timer",
            "capget",
            "capset",
            "copy_file_range",
            "fadvise64",
            "fadvise64_64",
            "flock",
            "get_mempolicy",
            "getcpu",
            "getpriority",
            "getrandom",
            "ioctl",
            "ioprio_get",
            "kcmp",
            "madvise",
            "mprotect",
            "mremap",
            "name_to_handle_at",
            "oldolduname",
            "olduname",
            "personality",
            "readahead",
            "readdir",
            "remap_file_pages",
            "sched_get_priority_max",
            "sched_get_priority_min",
            "sched_getaffinity",
            "sched_getattr",
            "sched_getparam",
            "sched_getscheduler",
            "sched_rr_get_interval",
            "sched_rr_get_interval_time64",
            "sched_yield",
            "sendfile",
            "sendfile64",
            "setfsgid",
            "setfsgid32",
            "setfsuid",
            "setfsuid32",
            "setpgid",
            "setsid",
            "splice",
            "sysinfo",
            "tee",
            "umask",
            "uname",
            "userfaultfd",
            "vmsplice",
        ],
    },
    Group {
        name: "@timer",
        help: "Schedule operations by time",
        members: &[
            "alarm",
            "getitimer",
            "setitimer",
            "timer_create",
            "timer_delete",
            "timer_getoverrun",
            "timer_gettime",
            "timer_gettime64",
            "timer_settime",
            "timer_settime64",
            "timerfd_create",
            "timerfd_gettime",
            "timerfd_gettime64",
            "timerfd_settime",
            "timerfd_settime64",
            "times",
        ],
    },
];

/// The `@known` group's description.
pub const KNOWN_HELP: &str = "All known syscalls declared in the kernel";

/// Every syscall name of keel's tables (the union over all architectures), sorted: the
/// members of `@known`. As 248's generator does, `s390_*` names are dropped unless the
/// native architecture is s390/s390x, and `arm_*` names unless it is arm.
pub fn known() -> &'static [&'static str] {
    static KNOWN: OnceLock<Vec<&'static str>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let native = Arch::native();
        let s390 = matches!(native, Some(Arch::S390 | Arch::S390x));
        let arm = native == Some(Arch::Arm);
        let mut set = BTreeSet::new();
        for arch in Arch::ALL {
            for (name, _) in arch.syscall_table().unwrap_or(&[]) {
                if (name.starts_with("s390_") && !s390) || (name.starts_with("arm_") && !arm) {
                    continue;
                }
                set.insert(*name);
            }
        }
        set.into_iter().collect()
    })
}

/// Finds a fixed group or `@known` (as a [`Group`] with the generated members).
///
/// # Errors
/// [`GroupError::NotFound`] if there is no such group.
pub fn find(name: &str) -> Result<Group, GroupError> {
    if name == "@known" {
        return Ok(Group {
            name: "@known",
            help: KNOWN_HELP,
            members: known(),
        });
    }
    GROUPS
        .iter()
        .find(|g| g.name == name)
        .copied()
        .ok_or_else(|| GroupError::NotFound {
            name: name.to_owned(),
        })
}

/// Every group in table order, `@known` last.
pub fn all() -> impl Iterator<Item = Group> {
    GROUPS.iter().copied().chain(std::iter::once(Group {
        name: "@known",
        help: KNOWN_HELP,
        members: known(),
    }))
}

/// Calls `f` for every syscall name of a group, nested groups expanded (depth first, in
/// table order; a name may come more than once).
///
/// # Errors
/// [`GroupError::NotFound`] if `name` or a nested group does not exist.
pub fn for_each_member(name: &str, f: &mut impl FnMut(&'static str)) -> Result<(), GroupError> {
    visit(name, f, 0)
}

fn visit(name: &str, f: &mut impl FnMut(&'static str), depth: u32) -> Result<(), GroupError> {
    let group = find(name)?;
    for m in group.members {
        if m.starts_with('@') && depth < 8 {
            visit(m, f, depth + 1)?;
        } else if !m.starts_with('@') {
            f(m);
        }
    }
    Ok(())
}

/// A group's syscall names with nested groups expanded, sorted and without duplicates.
///
/// # Errors
/// [`GroupError::NotFound`] if `name` or a nested group does not exist.
pub fn expand(name: &str) -> Result<Vec<&'static str>, GroupError> {
    let mut v = Vec::new();
    for_each_member(name, &mut |m| v.push(m))?;
    v.sort_unstable();
    v.dedup();
    Ok(v)
}
