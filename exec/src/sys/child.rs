//! The post-fork side: [`fork_or_clone3`] and [`run`], which applies a prepared
//! [`Program`] in the child and executes the service binary.
//!
//! Nothing here allocates, locks or logs: every string is a `CString` and every pointer
//! array a `Vec` built by the parent before the fork. Failures are reported as one
//! fixed-size [`Report`] on a close-on-exec pipe, then the child `_exit`s with the failing
//! step's systemd exit status.
//!
//! # References
//! - <https://man7.org/linux/man-pages/man2/clone3.2.html>
//! - <https://man7.org/linux/man-pages/man2/execveat.2.html>
//! - <https://man7.org/linux/man-pages/man2/mount_setattr.2.html>

use std::ffi::{CStr, CString, c_char, c_int, c_ulong};
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use nix::errno::Errno;

use crate::error::StepKind;

/// What the child tells the parent; 12 bytes, written in one `write(2)` (atomic on a pipe).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Report {
    /// A step failed with this errno; the child exits.
    Failed(StepKind, Errno),
    /// The child entered a new user namespace and waits for the parent to write its
    /// uid/gid maps, then for one byte on the sync pipe.
    MapUsers,
    /// The executable is missing and the command has the `-` prefix: the child exits 0.
    Skipped,
}

const REPORT_FAILED: u32 = 1;
const REPORT_MAP_USERS: u32 = 2;
const REPORT_SKIPPED: u32 = 3;

impl Report {
    pub(crate) const SIZE: usize = 12;

    fn encode(self) -> [u8; Self::SIZE] {
        let (kind, step, errno) = match self {
            Self::Failed(s, e) => (REPORT_FAILED, s as u32, e as i32),
            Self::MapUsers => (REPORT_MAP_USERS, 0, 0),
            Self::Skipped => (REPORT_SKIPPED, 0, 0),
        };
        let mut b = [0u8; Self::SIZE];
        b[..4].copy_from_slice(&kind.to_ne_bytes());
        b[4..8].copy_from_slice(&step.to_ne_bytes());
        b[8..].copy_from_slice(&errno.to_ne_bytes());
        b
    }

    /// Decodes a report; `None` for garbage.
    pub(crate) fn decode(b: &[u8; Self::SIZE]) -> Option<Self> {
        let word = |r: std::ops::Range<usize>| {
            let mut w = [0u8; 4];
            w.copy_from_slice(&b[r]);
            w
        };
        let kind = u32::from_ne_bytes(word(0..4));
        let step = u32::from_ne_bytes(word(4..8));
        let errno = i32::from_ne_bytes(word(8..12));
        match kind {
            REPORT_FAILED => {
                let step = StepKind::from_raw(u16::try_from(step).ok()?)?;
                Some(Self::Failed(step, Errno::from_raw(errno)))
            }
            REPORT_MAP_USERS => Some(Self::MapUsers),
            REPORT_SKIPPED => Some(Self::Skipped),
            _ => None,
        }
    }
}

/// Where one standard stream comes from.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StdioSource {
    /// Leave the fd as it is.
    Keep,
    /// `dup2` of another of the three streams (already set up).
    Dup(c_int),
    /// `dup2` of an fd the caller passed (kept open by the parent until the fork).
    Fd(RawFd),
    /// `open(path, flags, 0666)`.
    Open {
        path: CString,
        flags: c_int,
        /// Make it the controlling terminal (`StandardInput=tty`).
        controlling_tty: bool,
    },
}

/// A namespace-file slot filled by [`Op::OpenNs`].
pub(crate) const NS_SLOT_NET: usize = 0;
/// See [`NS_SLOT_NET`].
pub(crate) const NS_SLOT_IPC: usize = 1;

/// One prepared operation of the child. Each is tagged with its [`StepKind`] in
/// [`Program::ops`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// Default dispositions for every signal, `SIGPIPE` ignored if asked, empty mask.
    ResetSignals { ignore_sigpipe: bool },
    /// `close_range(3, ~0, CLOSE_RANGE_CLOEXEC)`: nothing inherited survives the exec.
    CloexecInherited,
    /// `setsid()`.
    SetSid,
    /// Writes `data` to an existing file (`cgroup.procs`, `oom_score_adj`).
    WriteFile { path: CString, data: CString },
    /// Opens a namespace file into a slot, checking its type with `NS_GET_NSTYPE`.
    OpenNs {
        path: CString,
        nstype: c_int,
        slot: usize,
    },
    /// Sets up fd 0, 1 or 2.
    Stdio { fd: c_int, source: StdioSource },
    /// `setpriority(PRIO_PROCESS, 0, nice)`.
    Nice(c_int),
    /// `umask(mode)`.
    Umask(u32),
    /// `prlimit(0, resource, {soft, hard})`.
    Rlimit {
        resource: c_int,
        soft: u64,
        hard: u64,
    },
    /// `unshare(flags)`; with `tolerate_eperm`, `EPERM`/`EACCES`/`EINVAL` are ignored.
    Unshare { flags: c_int, tolerate_eperm: bool },
    /// `setns(slot fd, nstype)`.
    Setns { slot: usize, nstype: c_int },
    /// Brings `lo` up in a new network namespace (`loopback_setup()`).
    LoopbackUp,
    /// `move_mount(fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH)`: attaches a detached
    /// mount the parent built (an `ExtensionImages=` overlay; the parent owns the fd).
    AttachMount { fd: c_int, target: CString },
    /// `mount(2)`. With `skip_missing`, a missing target (`ENOENT`) skips it.
    Mount {
        source: Option<CString>,
        target: CString,
        fstype: Option<CString>,
        flags: c_ulong,
        data: Option<CString>,
        skip_missing: bool,
    },
    /// Bind-mounts `path` onto itself (recursively) unless it already is a mount point.
    BindSelf { path: CString, ignore_missing: bool },
    /// Bind-mounts `source` on `target`, creating `target` (a directory or an empty file,
    /// like the source) when missing.
    Bind {
        source: CString,
        target: CString,
        recursive: bool,
        ignore_missing: bool,
    },
    /// Covers `path` with the inaccessible node of its type (`dir` or `reg`), read-only,
    /// `nosuid,nodev,noexec`.
    Inaccessible {
        path: CString,
        dir: CString,
        reg: CString,
        ignore_missing: bool,
    },
    /// `mount_setattr(path, set, clr)`; with `tolerant`, `ENOENT`/`EINVAL` (the mount is
    /// gone or hidden) are ignored.
    Setattr {
        path: CString,
        set: u64,
        clr: u64,
        recursive: bool,
        tolerant: bool,
    },
    /// `mkdir(path, mode)`; an existing one is fine.
    Mkdir { path: CString, mode: u32 },
    /// `symlink(target, link)`; an existing one is fine.
    Symlink { target: CString, link: CString },
    /// `umount2(path, MNT_DETACH)` until nothing is mounted there.
    UmountAll { path: CString },
    /// Makes `root` the root: `chdir`, `mount(MS_MOVE)` onto `/`, `chroot(".")`, `chdir("/")`.
    MoveRoot { root: CString },
    /// `unshare(CLONE_NEWUSER)`, then waits for the parent to write the maps.
    UserNamespace,
    /// `setgroups()` and `setresgid()`.
    SetGroups { gid: u32, groups: Vec<libc::gid_t> },
    /// Finds and opens the executable (`O_PATH|O_CLOEXEC`), checks it is a regular file
    /// the caller may execute. With `ignore_missing`, a missing one skips the command.
    OpenExec {
        candidates: Vec<CString>,
        ignore_missing: bool,
    },
    /// Drops every capability not in `keep` from the bounding set.
    BoundingSet { keep: u64, last_cap: u32 },
    /// Adds these capabilities to the inheritable set (for ambient raising later).
    Inheritable { caps: u64 },
    /// `chroot(path)` and `chdir("/")`.
    Chroot(CString),
    /// `setresuid(uid)` keeping the permitted set when `ambient` is not empty, then raises
    /// the ambient capabilities.
    SetUid { uid: u32, ambient: u64 },
    /// `chdir(path)`; with `missing_ok`, `ENOENT` falls back to `/`... as systemd: ignored.
    Chdir { path: CString, missing_ok: bool },
    /// `prctl(PR_SET_NO_NEW_PRIVS, 1)`.
    NoNewPrivs,
    /// Installs a classic BPF seccomp program.
    Seccomp { program: Vec<SockFilter> },
}

/// One classic BPF instruction, laid out as the kernel's `struct sock_filter`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SockFilter {
    /// Opcode.
    pub(crate) code: u16,
    /// Jump offset when true.
    pub(crate) jt: u8,
    /// Jump offset when false.
    pub(crate) jf: u8,
    /// Operand.
    pub(crate) k: u32,
}

/// The prepared child: its operations and the exec itself.
#[derive(Debug)]
pub(crate) struct Program {
    /// The operations, in order, each with the step it belongs to.
    pub(crate) ops: Vec<(StepKind, Op)>,
    /// `argv`, NUL-terminated pointer array into `argv_storage`.
    pub(crate) argv: Vec<*const c_char>,
    /// Owns the `argv` strings.
    #[allow(dead_code, reason = "owns the strings `argv` points into")]
    pub(crate) argv_storage: Vec<CString>,
    /// `envp`, NUL-terminated; the slot `exec_pid_index` is filled in the child.
    pub(crate) envp: Vec<*const c_char>,
    /// Owns the `envp` strings.
    #[allow(dead_code, reason = "owns the strings `envp` points into")]
    pub(crate) envp_storage: Vec<CString>,
    /// Index in `envp` of `SYSTEMD_EXEC_PID=`, written in the child from `exec_pid_buf`.
    pub(crate) exec_pid_index: Option<usize>,
    /// `SYSTEMD_EXEC_PID=` followed by room for the digits and a NUL.
    pub(crate) exec_pid_buf: Vec<u8>,
    /// Whether to exec by fd (`execveat(AT_EMPTY_PATH)`) before falling back to the path.
    pub(crate) use_fexecve: bool,
    /// Fds the ops refer to by number (`Op::AttachMount`), kept open until the program is
    /// dropped.
    #[allow(dead_code, reason = "owns the fds the ops point at")]
    pub(crate) keep_fds: Vec<std::os::fd::OwnedFd>,
}

/// The open files of a running child program.
struct State<'p> {
    report: RawFd,
    sync: RawFd,
    /// Running in the caller's own process ([`run_in_place`]), not in a forked child.
    in_place: bool,
    ns: [c_int; 2],
    exec_fd: c_int,
    exec_path: Option<&'p CStr>,
}

fn cvt(r: c_int) -> Result<c_int, Errno> {
    Errno::result(r)
}

fn cvt_long(r: libc::c_long) -> Result<libc::c_long, Errno> {
    Errno::result(r)
}

fn opt_ptr(s: Option<&CString>) -> *const c_char {
    s.map_or(std::ptr::null(), |s| s.as_ptr())
}

fn write_all(fd: RawFd, buf: &[u8]) -> Result<(), Errno> {
    // SAFETY: `buf` is a valid slice for its length; `fd` is a plain descriptor number.
    let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(Errno::last());
    }
    if n.unsigned_abs() == buf.len() {
        Ok(())
    } else {
        Err(Errno::EIO)
    }
}

fn report(fd: RawFd, r: Report) {
    // Nothing to do if the parent went away: the exit status still tells.
    let _ = write_all(fd, &r.encode());
}

fn exit_now(code: u8) -> ! {
    // SAFETY: `_exit` ends the process at once without running destructors or atexit
    // handlers, which is what a forked child that did not exec must do.
    unsafe { libc::_exit(c_int::from(code)) }
}

fn stat_path(path: &CStr) -> Result<libc::stat, Errno> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `path` is NUL-terminated; `st` has room for a `struct stat`.
    let r = unsafe { libc::stat(path.as_ptr(), st.as_mut_ptr()) };
    cvt(r)?;
    // SAFETY: stat(2) succeeded, so it initialised the whole struct.
    Ok(unsafe { st.assume_init() })
}

fn fstat_fd(fd: c_int) -> Result<libc::stat, Errno> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` has room for a `struct stat`.
    let r = unsafe { libc::fstat(fd, st.as_mut_ptr()) };
    cvt(r)?;
    // SAFETY: fstat(2) succeeded, so it initialised the whole struct.
    Ok(unsafe { st.assume_init() })
}

fn is_dir(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

fn sys_mount(
    source: *const c_char,
    target: &CStr,
    fstype: *const c_char,
    flags: c_ulong,
    data: *const c_char,
) -> Result<(), Errno> {
    // SAFETY: every pointer is NULL or a NUL-terminated string owned by the program.
    let r = unsafe { libc::mount(source, target.as_ptr(), fstype, flags, data.cast()) };
    cvt(r).map(drop)
}

/// `struct mount_attr` of `<linux/mount.h>`.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

fn mount_setattr(path: &CStr, set: u64, clr: u64, recursive: bool) -> Result<(), Errno> {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: 0,
    };
    let flags = if recursive { libc::AT_RECURSIVE } else { 0 };
    // SAFETY: `path` is NUL-terminated and `attr` a live `struct mount_attr` of the size
    // passed; the kernel only reads both.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            path.as_ptr(),
            flags,
            std::ptr::from_ref(&attr),
            std::mem::size_of::<MountAttr>(),
        )
    };
    cvt_long(r).map(drop)
}

fn is_mount_point(path: &CStr) -> Result<bool, Errno> {
    let mut stx = std::mem::MaybeUninit::<libc::statx>::uninit();
    // SAFETY: `path` is NUL-terminated; `stx` has room for a `struct statx`.
    let r = unsafe {
        libc::statx(
            libc::AT_FDCWD,
            path.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
            0,
            stx.as_mut_ptr(),
        )
    };
    cvt(r)?;
    // SAFETY: statx(2) succeeded and filled the struct.
    let stx = unsafe { stx.assume_init() };
    let bit = u64::try_from(libc::STATX_ATTR_MOUNT_ROOT).unwrap_or(0);
    if stx.stx_attributes_mask & bit == 0 {
        // Kernel too old to say: treat as "not a mount point" (an extra bind is harmless).
        return Ok(false);
    }
    Ok(stx.stx_attributes & bit != 0)
}

fn mkdir(path: &CStr, mode: u32) -> Result<(), Errno> {
    // SAFETY: `path` is NUL-terminated.
    let r = unsafe { libc::mkdir(path.as_ptr(), mode) };
    match cvt(r) {
        Ok(_) | Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(e),
    }
}

fn create_file(path: &CStr) -> Result<(), Errno> {
    // SAFETY: `path` is NUL-terminated; the fd is closed right away.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC | libc::O_NOCTTY,
            0o644,
        )
    };
    if fd < 0 {
        let e = Errno::last();
        // A directory or another node already there is fine for a mount point.
        return if e == Errno::EISDIR || e == Errno::EEXIST {
            Ok(())
        } else {
            Err(e)
        };
    }
    close(fd);
    Ok(())
}

fn close(fd: c_int) {
    // SAFETY: closing a descriptor this code opened and owns.
    unsafe { libc::close(fd) };
}

fn dup2(from: c_int, to: c_int) -> Result<(), Errno> {
    // SAFETY: plain descriptor numbers.
    cvt(unsafe { libc::dup2(from, to) }).map(drop)
}

fn open(path: &CStr, flags: c_int) -> Result<c_int, Errno> {
    // SAFETY: `path` is NUL-terminated.
    cvt(unsafe { libc::open(path.as_ptr(), flags, 0o666) })
}

fn prctl(op: c_int, a: c_ulong, b: c_ulong) -> Result<(), Errno> {
    // SAFETY: the prctl operations used here take integer arguments only.
    cvt(unsafe { libc::prctl(op, a, b, 0 as c_ulong, 0 as c_ulong) }).map(drop)
}

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: c_int,
}

/// `struct __user_cap_data_struct`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAP_VERSION_3: u32 = 0x2008_0522;

fn capget() -> Result<[CapData; 2], Errno> {
    let mut h = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut d = [CapData::default(); 2];
    // SAFETY: version 3 takes a header and two data structs, both live and writable.
    let r = unsafe { libc::syscall(libc::SYS_capget, std::ptr::from_mut(&mut h), d.as_mut_ptr()) };
    cvt_long(r)?;
    Ok(d)
}

fn capset(d: &[CapData; 2]) -> Result<(), Errno> {
    let mut h = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    // SAFETY: version 3 takes a header and two data structs; the kernel reads `d`.
    let r = unsafe { libc::syscall(libc::SYS_capset, std::ptr::from_mut(&mut h), d.as_ptr()) };
    cvt_long(r).map(drop)
}

fn split_caps(caps: u64) -> (u32, u32) {
    let lo = u32::try_from(caps & 0xffff_ffff).unwrap_or(0);
    let hi = u32::try_from(caps >> 32).unwrap_or(0);
    (lo, hi)
}

const NS_GET_NSTYPE: c_ulong = 0xb703;

fn open_ns(path: &CStr, nstype: c_int) -> Result<c_int, Errno> {
    let fd = open(path, libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY)?;
    // SAFETY: NS_GET_NSTYPE takes no argument; `fd` is ours.
    let t = unsafe { libc::ioctl(fd, NS_GET_NSTYPE as _) };
    if t < 0 {
        let e = Errno::last();
        // "unknown" is tolerated, as systemd's fd_is_ns() does (ENOTTY: not nsfs or an
        // old kernel).
        if e != Errno::ENOTTY && e != Errno::EINVAL {
            close(fd);
            return Err(e);
        }
    } else if t != nstype {
        close(fd);
        return Err(Errno::EINVAL);
    }
    Ok(fd)
}

/// `struct ifreq` with the flags member (40 bytes on every Linux ABI).
#[repr(C)]
struct IfreqFlags {
    name: [u8; 16],
    flags: libc::c_short,
    pad: [u8; 22],
}

const SIOCGIFFLAGS: c_ulong = 0x8913;
const SIOCSIFFLAGS: c_ulong = 0x8914;

fn loopback_up() -> Result<(), Errno> {
    // SAFETY: plain integer arguments; the socket is closed below.
    let s = cvt(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    let mut req = IfreqFlags {
        name: *b"lo\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
        flags: 0,
        pad: [0; 22],
    };
    // SAFETY: SIOCGIFFLAGS reads the name and writes the flags of a live `ifreq`.
    let r = unsafe { libc::ioctl(s, SIOCGIFFLAGS as _, std::ptr::from_mut(&mut req)) };
    let r = cvt(r).and_then(|_| {
        req.flags |= libc::c_short::try_from(libc::IFF_UP).unwrap_or(1);
        // SAFETY: SIOCSIFFLAGS reads a live `ifreq`.
        let r = unsafe { libc::ioctl(s, SIOCSIFFLAGS as _, std::ptr::from_ref(&req)) };
        cvt(r)
    });
    close(s);
    r.map(drop)
}

fn bind(source: &CStr, target: &CStr, recursive: bool) -> Result<(), Errno> {
    let mut flags = libc::MS_BIND;
    if recursive {
        flags |= libc::MS_REC;
    }
    sys_mount(
        source.as_ptr(),
        target,
        std::ptr::null(),
        flags,
        std::ptr::null(),
    )
}

/// `mount_setattr` with a fallback to a bind remount for kernels before 5.12.
fn setattr(path: &CStr, set: u64, clr: u64, recursive: bool) -> Result<(), Errno> {
    match mount_setattr(path, set, clr, recursive) {
        Err(Errno::ENOSYS) => {}
        r => return r,
    }
    let mut sv = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is NUL-terminated; `sv` has room for a `struct statvfs`.
    cvt(unsafe { libc::statvfs(path.as_ptr(), sv.as_mut_ptr()) })?;
    // SAFETY: statvfs(2) succeeded and filled the struct.
    let sv = unsafe { sv.assume_init() };
    let keep = libc::MS_RDONLY
        | libc::MS_NOSUID
        | libc::MS_NODEV
        | libc::MS_NOEXEC
        | libc::MS_NOATIME
        | libc::MS_NODIRATIME
        | libc::MS_RELATIME;
    let mut flags = sv.f_flag & keep;
    let to_ms = |a: u64| {
        let mut f = 0;
        if a & libc::MOUNT_ATTR_RDONLY != 0 {
            f |= libc::MS_RDONLY;
        }
        if a & libc::MOUNT_ATTR_NOEXEC != 0 {
            f |= libc::MS_NOEXEC;
        }
        if a & libc::MOUNT_ATTR_NOSUID != 0 {
            f |= libc::MS_NOSUID;
        }
        if a & libc::MOUNT_ATTR_NODEV != 0 {
            f |= libc::MS_NODEV;
        }
        f
    };
    flags = (flags | to_ms(set)) & !to_ms(clr);
    sys_mount(
        std::ptr::null(),
        path,
        std::ptr::null(),
        flags | libc::MS_BIND | libc::MS_REMOUNT,
        std::ptr::null(),
    )
}

fn faccess_exec(fd: c_int) -> Result<(), Errno> {
    // SAFETY: an empty NUL-terminated path with AT_EMPTY_PATH refers to `fd` itself.
    let r = unsafe {
        libc::syscall(
            libc::SYS_faccessat2,
            fd,
            c"".as_ptr(),
            libc::X_OK,
            libc::AT_EMPTY_PATH,
        )
    };
    match cvt_long(r) {
        Ok(_) => Ok(()),
        // faccessat2 is 5.8+; without it the exec itself does the check.
        Err(Errno::ENOSYS) => Ok(()),
        Err(e) => Err(e),
    }
}

fn write_pid(buf: &mut [u8], prefix_len: usize) {
    // SAFETY: getpid cannot fail.
    let pid = unsafe { libc::getpid() };
    let mut digits = [0u8; 20];
    let mut n = pid.unsigned_abs();
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + u8::try_from(n % 10).unwrap_or(0);
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    let len = digits.len() - i;
    if let Some(dst) = buf.get_mut(prefix_len..prefix_len + len) {
        dst.copy_from_slice(&digits[i..]);
    }
    if let Some(nul) = buf.get_mut(prefix_len + len) {
        *nul = 0;
    }
}

fn reset_signals(ignore_sigpipe: bool) -> Result<(), Errno> {
    for sig in 1..libc::SIGRTMAX() {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        let disp = if sig == libc::SIGPIPE && ignore_sigpipe {
            libc::SIG_IGN
        } else {
            libc::SIG_DFL
        };
        // SAFETY: installing SIG_DFL/SIG_IGN runs no handler code; invalid numbers fail
        // with EINVAL, which is ignored.
        unsafe { libc::signal(sig, disp) };
    }
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `set` has room for a sigset_t.
    cvt(unsafe { libc::sigemptyset(set.as_mut_ptr()) })?;
    // SAFETY: sigemptyset initialised `set`; the old mask is not asked for.
    let r = unsafe { libc::sigprocmask(libc::SIG_SETMASK, set.as_ptr(), std::ptr::null_mut()) };
    cvt(r).map(drop)
}

fn apply<'p>(st: &mut State<'p>, op: &'p Op, prog_ignore: &mut bool) -> Result<(), Errno> {
    match op {
        Op::ResetSignals { ignore_sigpipe } => reset_signals(*ignore_sigpipe),
        Op::CloexecInherited => {
            // SAFETY: marks descriptors close-on-exec; touches no memory. A raw syscall:
            // musl has no close_range() wrapper.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_close_range,
                    3 as libc::c_uint,
                    c_int::MAX.unsigned_abs(),
                    CLOSE_RANGE_CLOEXEC,
                )
            };
            cvt_long(r).map(drop)
        }
        Op::SetSid => {
            // SAFETY: setsid has no arguments.
            let r = unsafe { libc::setsid() };
            match cvt(r) {
                // In place, a process-group leader (a command started by an interactive
                // shell) cannot start a session: it keeps the one it has.
                Err(Errno::EPERM) if st.in_place => Ok(()),
                r => r.map(drop),
            }
        }
        Op::WriteFile { path, data } => {
            let fd = open(path, libc::O_WRONLY | libc::O_CLOEXEC | libc::O_NOCTTY)?;
            let r = write_all(fd, data.to_bytes());
            close(fd);
            r
        }
        Op::OpenNs { path, nstype, slot } => {
            let fd = open_ns(path, *nstype)?;
            if let Some(s) = st.ns.get_mut(*slot) {
                *s = fd;
            }
            Ok(())
        }
        Op::Stdio { fd, source } => match source {
            StdioSource::Keep => Ok(()),
            StdioSource::Dup(from) | StdioSource::Fd(from) => dup2(*from, *fd),
            StdioSource::Open {
                path,
                flags,
                controlling_tty,
            } => {
                let f = open(path, *flags)?;
                if *controlling_tty {
                    // SAFETY: TIOCSCTTY takes an int argument; `f` is ours.
                    let r = unsafe { libc::ioctl(f, libc::TIOCSCTTY as _, 0 as c_int) };
                    if let Err(e) = cvt(r) {
                        close(f);
                        return Err(e);
                    }
                }
                if f == *fd {
                    return Ok(());
                }
                let r = dup2(f, *fd);
                close(f);
                r
            }
        },
        Op::Nice(n) => {
            // SAFETY: integer arguments only.
            let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, *n) };
            cvt(r).map(drop)
        }
        Op::Umask(m) => {
            // SAFETY: umask cannot fail.
            unsafe { libc::umask(*m) };
            Ok(())
        }
        Op::Rlimit {
            resource,
            soft,
            hard,
        } => {
            let lim = libc::rlimit64 {
                rlim_cur: *soft,
                rlim_max: *hard,
            };
            // SAFETY: `lim` is a live rlimit64; the old value is not asked for.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_prlimit64,
                    0,
                    *resource,
                    std::ptr::from_ref(&lim),
                    std::ptr::null_mut::<libc::rlimit64>(),
                )
            };
            cvt_long(r).map(drop)
        }
        Op::Unshare {
            flags,
            tolerate_eperm,
        } => {
            // SAFETY: the child is single-threaded, so unsharing splits nothing others use.
            let r = unsafe { libc::unshare(*flags) };
            match cvt(r) {
                Err(Errno::EPERM | Errno::EACCES | Errno::EINVAL) if *tolerate_eperm => Ok(()),
                r => r.map(drop),
            }
        }
        Op::Setns { slot, nstype } => {
            let fd = st.ns.get(*slot).copied().unwrap_or(-1);
            // SAFETY: the child is single-threaded; `fd` came from OpenNs.
            let r = unsafe { libc::setns(fd, *nstype) };
            cvt(r).map(drop)
        }
        Op::LoopbackUp => loopback_up(),
        Op::AttachMount { fd, target } => {
            const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
            // SAFETY: `fd` is a detached mount kept open by the parent's `Program`; both
            // strings are NUL-terminated and owned by the program.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_move_mount,
                    *fd,
                    c"".as_ptr(),
                    libc::AT_FDCWD,
                    target.as_ptr(),
                    MOVE_MOUNT_F_EMPTY_PATH,
                )
            };
            if r < 0 { Err(Errno::last()) } else { Ok(()) }
        }
        Op::Mount {
            source,
            target,
            fstype,
            flags,
            data,
            skip_missing,
        } => {
            match sys_mount(
                opt_ptr(source.as_ref()),
                target,
                opt_ptr(fstype.as_ref()),
                *flags,
                opt_ptr(data.as_ref()),
            ) {
                Err(Errno::ENOENT) if *skip_missing => Ok(()),
                r => r,
            }
        }
        Op::BindSelf {
            path,
            ignore_missing,
        } => match is_mount_point(path) {
            Ok(true) => Ok(()),
            Ok(false) => bind(path, path, true),
            Err(Errno::ENOENT) if *ignore_missing => Ok(()),
            Err(e) => Err(e),
        },
        Op::Bind {
            source,
            target,
            recursive,
            ignore_missing,
        } => {
            let s = match stat_path(source) {
                Ok(s) => s,
                Err(Errno::ENOENT) if *ignore_missing => return Ok(()),
                Err(e) => return Err(e),
            };
            if let Err(Errno::ENOENT) = stat_path(target) {
                if is_dir(&s) {
                    mkdir(target, 0o755)?;
                } else {
                    create_file(target)?;
                }
            }
            bind(source, target, *recursive)
        }
        Op::Inaccessible {
            path,
            dir,
            reg,
            ignore_missing,
        } => {
            let s = match stat_path(path) {
                Ok(s) => s,
                Err(Errno::ENOENT) if *ignore_missing => return Ok(()),
                Err(e) => return Err(e),
            };
            let node = if is_dir(&s) { dir } else { reg };
            bind(node, path, false)?;
            let all = libc::MOUNT_ATTR_RDONLY
                | libc::MOUNT_ATTR_NOSUID
                | libc::MOUNT_ATTR_NODEV
                | libc::MOUNT_ATTR_NOEXEC;
            setattr(path, all, 0, false)
        }
        Op::Setattr {
            path,
            set,
            clr,
            recursive,
            tolerant,
        } => match setattr(path, *set, *clr, *recursive) {
            Err(Errno::ENOENT | Errno::EINVAL) if *tolerant => Ok(()),
            r => r,
        },
        Op::Mkdir { path, mode } => mkdir(path, *mode),
        Op::Symlink { target, link } => {
            // SAFETY: both strings are NUL-terminated.
            let r = unsafe { libc::symlink(target.as_ptr(), link.as_ptr()) };
            match cvt(r) {
                Ok(_) | Err(Errno::EEXIST) => Ok(()),
                Err(e) => Err(e),
            }
        }
        Op::UmountAll { path } => {
            loop {
                // SAFETY: `path` is NUL-terminated.
                let r = unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) };
                match cvt(r) {
                    Ok(_) => {}
                    Err(Errno::EINVAL | Errno::ENOENT) => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
        }
        Op::MoveRoot { root } => {
            // SAFETY: `root` is NUL-terminated.
            cvt(unsafe { libc::chdir(root.as_ptr()) })?;
            sys_mount(
                root.as_ptr(),
                c"/",
                std::ptr::null(),
                libc::MS_MOVE,
                std::ptr::null(),
            )?;
            // SAFETY: a NUL-terminated literal.
            cvt(unsafe { libc::chroot(c".".as_ptr()) })?;
            // SAFETY: a NUL-terminated literal.
            cvt(unsafe { libc::chdir(c"/".as_ptr()) }).map(drop)
        }
        Op::UserNamespace => {
            // SAFETY: the child is single-threaded.
            cvt(unsafe { libc::unshare(libc::CLONE_NEWUSER) })?;
            write_all(st.report, &Report::MapUsers.encode())?;
            let mut b = [0u8; 1];
            // SAFETY: `b` is a writable one-byte buffer.
            let n = unsafe { libc::read(st.sync, b.as_mut_ptr().cast(), 1) };
            if n != 1 {
                return Err(Errno::EIO);
            }
            if b[0] == 0 {
                Ok(())
            } else {
                Err(Errno::from_raw(c_int::from(b[0])))
            }
        }
        Op::SetGroups { gid, groups } => {
            // Raw system calls, not glibc's wrappers: those broadcast the change to every
            // thread glibc knows of, which in a CLONE_VM child are the parent's threads.
            // SAFETY: `groups` is a live slice of gid_t of the given length.
            cvt_long(unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) })?;
            // SAFETY: integer arguments only.
            cvt_long(unsafe { libc::syscall(libc::SYS_setresgid, *gid, *gid, *gid) }).map(drop)
        }
        Op::OpenExec {
            candidates,
            ignore_missing,
        } => {
            let mut last = Errno::ENOENT;
            for c in candidates {
                let fd = match open(c, libc::O_PATH | libc::O_CLOEXEC) {
                    Ok(fd) => fd,
                    Err(e @ (Errno::ENOENT | Errno::ENOTDIR)) => {
                        last = e;
                        continue;
                    }
                    Err(Errno::EACCES) if candidates.len() > 1 => {
                        last = Errno::EACCES;
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let checked = fstat_fd(fd).and_then(|s| {
                    if is_dir(&s) {
                        Err(Errno::EISDIR)
                    } else if s.st_mode & libc::S_IFMT != libc::S_IFREG {
                        Err(Errno::EACCES)
                    } else {
                        faccess_exec(fd)
                    }
                });
                match checked {
                    Ok(()) => {
                        st.exec_fd = fd;
                        st.exec_path = Some(c);
                        return Ok(());
                    }
                    Err(e) if candidates.len() > 1 => {
                        close(fd);
                        last = e;
                    }
                    Err(e) => {
                        close(fd);
                        return Err(e);
                    }
                }
            }
            if last == Errno::ENOENT && *ignore_missing {
                *prog_ignore = true;
                return Ok(());
            }
            Err(last)
        }
        Op::BoundingSet { keep, last_cap } => {
            for cap in 0..=*last_cap {
                if cap < 64 && keep & (1u64 << cap) != 0 {
                    continue;
                }
                match prctl(libc::PR_CAPBSET_DROP, c_ulong::from(cap), 0) {
                    Ok(()) | Err(Errno::EINVAL) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        }
        Op::Inheritable { caps } => {
            let mut d = capget()?;
            let (lo, hi) = split_caps(*caps);
            d[0].inheritable |= lo;
            d[1].inheritable |= hi;
            capset(&d)
        }
        Op::Chroot(path) => {
            // SAFETY: `path` is NUL-terminated.
            cvt(unsafe { libc::chroot(path.as_ptr()) })?;
            // SAFETY: a NUL-terminated literal.
            cvt(unsafe { libc::chdir(c"/".as_ptr()) }).map(drop)
        }
        Op::SetUid { uid, ambient } => {
            if *ambient != 0 {
                prctl(libc::PR_SET_KEEPCAPS, 1, 0)?;
            }
            // SAFETY: integer arguments only; a raw call for the reason given at SetGroups.
            cvt_long(unsafe { libc::syscall(libc::SYS_setresuid, *uid, *uid, *uid) })?;
            if *ambient != 0 {
                prctl(libc::PR_SET_KEEPCAPS, 0, 0)?;
                for cap in 0..64u32 {
                    if ambient & (1u64 << cap) == 0 {
                        continue;
                    }
                    // SAFETY: integer arguments only.
                    let r = unsafe {
                        libc::prctl(
                            libc::PR_CAP_AMBIENT,
                            libc::PR_CAP_AMBIENT_RAISE as c_ulong,
                            c_ulong::from(cap),
                            0 as c_ulong,
                            0 as c_ulong,
                        )
                    };
                    cvt(r)?;
                }
            }
            Ok(())
        }
        Op::Chdir { path, missing_ok } => {
            // SAFETY: `path` is NUL-terminated.
            match cvt(unsafe { libc::chdir(path.as_ptr()) }) {
                Err(Errno::ENOENT) if *missing_ok => Ok(()),
                r => r.map(drop),
            }
        }
        Op::NoNewPrivs => prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0),
        Op::Seccomp { program } => {
            let prog = libc::sock_fprog {
                len: u16::try_from(program.len()).map_err(|_| Errno::E2BIG)?,
                filter: program.as_ptr().cast::<libc::sock_filter>().cast_mut(),
            };
            // SAFETY: `prog` points at a live filter array of `len` instructions; the
            // kernel copies it.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_SET_MODE_FILTER,
                    0,
                    std::ptr::from_ref(&prog),
                )
            };
            cvt_long(r).map(drop)
        }
    }
}

const CLOSE_RANGE_CLOEXEC: c_int = 1 << 2;

/// Why [`execute`] returned: it did not exec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stopped {
    /// The executable was missing and its command ignores that (`-` prefix).
    Skipped,
    /// A step failed with this errno.
    Failed(StepKind, Errno),
}

/// Applies `prog`'s operations in order and executes the binary; returns only if it did
/// not exec. Allocates nothing.
fn execute(prog: &mut Program, report_fd: RawFd, sync_fd: RawFd, in_place: bool) -> Stopped {
    let mut st = State {
        report: report_fd,
        sync: sync_fd,
        in_place,
        ns: [-1, -1],
        exec_fd: -1,
        exec_path: None,
    };
    let mut skipped = false;
    for (step, op) in &prog.ops {
        if let Err(e) = apply(&mut st, op, &mut skipped) {
            return Stopped::Failed(*step, e);
        }
        if skipped {
            return Stopped::Skipped;
        }
    }
    if let Some(i) = prog.exec_pid_index {
        write_pid(&mut prog.exec_pid_buf, "SYSTEMD_EXEC_PID=".len());
        if let Some(slot) = prog.envp.get_mut(i) {
            *slot = prog.exec_pid_buf.as_ptr().cast();
        }
    }
    let argv = prog.argv.as_ptr();
    let envp = prog.envp.as_ptr();
    if prog.use_fexecve && st.exec_fd >= 0 {
        // SAFETY: argv/envp are NULL-terminated arrays of NUL-terminated strings owned by
        // `prog`; an empty path with AT_EMPTY_PATH executes `exec_fd` itself.
        // A raw syscall: musl has no execveat() wrapper.
        unsafe {
            libc::syscall(
                libc::SYS_execveat,
                st.exec_fd,
                c"".as_ptr(),
                argv,
                envp,
                libc::AT_EMPTY_PATH,
            )
        };
        let e = Errno::last();
        // ENOENT: a script whose interpreter cannot open the O_CLOEXEC fd; ENOSYS: an old
        // kernel; EPERM/EACCES: a seccomp filter or LSM that refuses execveat. Fall back
        // to the path, as systemd's fexecve_or_execve() does.
        if !matches!(
            e,
            Errno::ENOENT | Errno::ENOSYS | Errno::EPERM | Errno::EACCES
        ) {
            return Stopped::Failed(StepKind::Exec, e);
        }
    }
    let Some(path) = st.exec_path else {
        return Stopped::Failed(StepKind::Exec, Errno::ENOENT);
    };
    // SAFETY: as above, with a NUL-terminated path.
    unsafe { libc::execve(path.as_ptr(), argv, envp) };
    Stopped::Failed(StepKind::Exec, Errno::last())
}

/// Runs `prog` in the freshly forked child and executes the binary; never returns.
///
/// # Safety
///
/// Must only be called in the child right after [`fork_or_clone3`] returned
/// [`Forked::Child`]: the process must be single-threaded, and `prog` must have been fully
/// built before the fork (this function allocates nothing). `report` and `sync` are the
/// child's ends of the report and sync pipes.
pub(crate) unsafe fn run(
    prog: &mut Program,
    report_fd: BorrowedFd<'_>,
    sync_fd: BorrowedFd<'_>,
) -> ! {
    // SAFETY: the caller's contract is `run_fds`'s.
    unsafe { run_fds(prog, report_fd.as_raw_fd(), sync_fd.as_raw_fd()) }
}

/// [`run`] with raw descriptors.
///
/// # Safety
///
/// As [`run`]; `fd` and `sync` must be open.
unsafe fn run_fds(prog: &mut Program, fd: RawFd, sync: RawFd) -> ! {
    match execute(prog, fd, sync, false) {
        Stopped::Skipped => {
            report(fd, Report::Skipped);
            exit_now(0)
        }
        Stopped::Failed(step, e) => {
            report(fd, Report::Failed(step, e));
            exit_now(step.exit_status())
        }
    }
}

/// Applies `prog` to the calling process itself and executes the binary in its place;
/// returns only if it did not exec. `prog` must not contain [`Op::UserNamespace`] (its
/// maps are written by a parent) and the process should be single-threaded (the kernel
/// refuses a new mount namespace to a process whose threads share its file-system state).
pub(crate) fn run_in_place(prog: &mut Program) -> Stopped {
    execute(prog, -1, -1, true)
}

/// The result of [`fork_or_clone3`].
#[derive(Debug)]
pub(crate) enum Forked {
    /// In the parent, with the child's pid.
    Parent(libc::pid_t),
    /// In the child.
    Child,
}

/// `struct clone_args` of `<linux/sched.h>` (version 2, with `cgroup`).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Forks; with `cgroup`, uses `clone3(CLONE_INTO_CGROUP)` so the child starts in that
/// cgroup. Returns `Err(ENOSYS)`-style errors of clone3 unchanged so the caller can fall
/// back to a plain fork.
///
/// # Safety
///
/// The caller must be prepared to be two processes afterwards: in the child only
/// async-signal-safe code may run until exec or `_exit` (that is, [`run`]).
#[allow(clippy::disallowed_methods)] // fork lives here, and only here
pub(crate) unsafe fn fork_or_clone3(cgroup: Option<BorrowedFd<'_>>) -> Result<Forked, Errno> {
    let pid = match cgroup {
        None => {
            // SAFETY: the caller accepts the fork contract above.
            unsafe { libc::fork() }
        }
        Some(fd) => {
            let args = CloneArgs {
                flags: CLONE_INTO_CGROUP,
                exit_signal: u64::try_from(libc::SIGCHLD).unwrap_or(17),
                cgroup: u64::try_from(fd.as_raw_fd()).unwrap_or(0),
                ..CloneArgs::default()
            };
            // SAFETY: clone3 without CLONE_VM behaves like fork (copy of the address space,
            // own stack); `args` is live and its size is passed. The caller accepts the
            // fork contract above.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_clone3,
                    std::ptr::from_ref(&args),
                    std::mem::size_of::<CloneArgs>(),
                )
            };
            libc::pid_t::try_from(r).unwrap_or(-1)
        }
    };
    match pid {
        0 => Ok(Forked::Child),
        p if p > 0 => Ok(Forked::Parent(p)),
        _ => Err(Errno::last()),
    }
}

/// What the `CLONE_VM` child of [`vfork_run`] gets.
struct VforkArgs {
    prog: *mut Program,
    report: RawFd,
    sync: RawFd,
}

/// Entry point of the `CLONE_VM` child: runs the program, never returns.
extern "C" fn vfork_child(arg: *mut libc::c_void) -> c_int {
    // SAFETY: `arg` is the `VforkArgs` of `vfork_run`, alive while the parent is suspended
    // (CLONE_VFORK) until this child execs or exits.
    let a = unsafe { &*arg.cast::<VforkArgs>() };
    // SAFETY: `prog` is live and, the parent being suspended, used by this child alone.
    let prog = unsafe { &mut *a.prog };
    // SAFETY: a freshly cloned child whose program was built before the clone; `run_fds`
    // allocates nothing and touches no state shared with other threads.
    unsafe { run_fds(prog, a.report, a.sync) }
}

/// Size of the `CLONE_VM` child's stack: [`run`] uses a few KiB.
const VFORK_STACK: usize = 256 * 1024;

/// Starts `prog` in a child sharing the parent's memory until it execs
/// (`clone(CLONE_VM | CLONE_VFORK)`, as `posix_spawn` does): no page tables are copied,
/// which makes starting a process from a large parent cheap. The parent is suspended until
/// the child has exec'd or exited; every signal is blocked meanwhile so that no handler of
/// the parent runs on the child's side (the child's first step resets them all).
fn vfork_run(
    prog: &mut Program,
    report_fd: BorrowedFd<'_>,
    sync_fd: BorrowedFd<'_>,
) -> Result<libc::pid_t, Errno> {
    let mut stack = vec![0u8; VFORK_STACK];
    // The stack grows down on every architecture keel supports; keep it 16-byte aligned.
    let top = stack.as_mut_ptr().wrapping_add(VFORK_STACK);
    let top = top.wrapping_sub(top as usize % 16);
    let mut args = VforkArgs {
        prog: std::ptr::from_mut(prog),
        report: report_fd.as_raw_fd(),
        sync: sync_fd.as_raw_fd(),
    };
    let mut all = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    let mut old = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `all` has room for a sigset_t.
    cvt(unsafe { libc::sigfillset(all.as_mut_ptr()) })?;
    // SAFETY: `all` is initialised; `old` has room for the previous mask.
    let r = unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, all.as_ptr(), old.as_mut_ptr()) };
    if r != 0 {
        return Err(Errno::from_raw(r));
    }
    // SAFETY: `vfork_child` runs on `stack` (alive until clone returns, which with
    // CLONE_VFORK is after the child exec'd or exited) with `args` (same lifetime); it
    // allocates nothing and ends in exec or _exit.
    let pid = unsafe {
        libc::clone(
            vfork_child,
            top.cast(),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            std::ptr::from_mut(&mut args).cast(),
        )
    };
    let e = Errno::last();
    // SAFETY: `old` was filled by the pthread_sigmask call above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, old.as_ptr(), std::ptr::null_mut()) };
    drop(stack);
    if pid < 0 { Err(e) } else { Ok(pid) }
}

/// Starts `prog` in a child and returns its pid in the parent; never returns in the child.
///
/// - With `cgroup`: `clone3(CLONE_INTO_CGROUP)` so the child starts in that cgroup; if
///   that fails and `cgroup_procs` is given, a plain fork whose child first writes itself
///   into that `cgroup.procs`.
/// - With a user namespace to set up (the parent writes its maps while the child waits):
///   a plain fork.
/// - Otherwise `clone(CLONE_VM | CLONE_VFORK)` ([`vfork_run`]).
///
/// This is safe to call from a multi-threaded parent: the child runs only [`run`], which
/// allocates nothing and ends in `exec` or `_exit`.
pub(crate) fn start(
    prog: &mut Program,
    cgroup: Option<BorrowedFd<'_>>,
    cgroup_procs: Option<CString>,
    report_fd: BorrowedFd<'_>,
    sync_fd: BorrowedFd<'_>,
) -> Result<libc::pid_t, Errno> {
    let needs_parent = prog
        .ops
        .iter()
        .any(|(_, op)| matches!(op, Op::UserNamespace));
    if cgroup.is_none() && !needs_parent {
        return vfork_run(prog, report_fd, sync_fd);
    }
    // SAFETY: the child branch only calls `run`, which is async-signal-safe.
    let forked = match unsafe { fork_or_clone3(cgroup) } {
        Ok(f) => f,
        Err(e) => {
            let Some(procs) = cgroup_procs else {
                return Err(e);
            };
            let at = prog.ops.len().min(3);
            prog.ops.insert(
                at,
                (
                    StepKind::Cgroup,
                    Op::WriteFile {
                        path: procs,
                        data: c"0".to_owned(),
                    },
                ),
            );
            // SAFETY: as above.
            unsafe { fork_or_clone3(None) }?
        }
    };
    match forked {
        Forked::Parent(pid) => Ok(pid),
        Forked::Child => {
            // SAFETY: this is the freshly forked, single-threaded child, and `prog` was
            // completely built before the fork.
            unsafe { run(prog, report_fd, sync_fd) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_round_trip() {
        for r in [
            Report::Failed(StepKind::MountNamespace, Errno::EPERM),
            Report::Failed(StepKind::Exec, Errno::ENOENT),
            Report::MapUsers,
            Report::Skipped,
        ] {
            assert_eq!(Report::decode(&r.encode()), Some(r));
        }
        assert_eq!(Report::decode(&[0; Report::SIZE]), None);
        let mut bad = Report::Failed(StepKind::Exec, Errno::EIO).encode();
        bad[4] = 0xff;
        assert_eq!(Report::decode(&bad), None);
    }

    #[test]
    fn pid_digits_fill_the_buffer() {
        let mut buf = b"SYSTEMD_EXEC_PID=".to_vec();
        buf.resize(buf.len() + 21, 0xaa);
        write_pid(&mut buf, 17);
        let s = CStr::from_bytes_until_nul(&buf).unwrap().to_str().unwrap();
        assert_eq!(s, format!("SYSTEMD_EXEC_PID={}", std::process::id()));
    }

    #[test]
    fn caps_split() {
        assert_eq!(split_caps(1 << 33 | 1 << 2), (4, 2));
    }
}
