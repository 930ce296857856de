//! The mount namespace: which paths get which treatment (spec §5.3), as systemd 248's
//! `setup_namespace()` decides it, and the ordered mount operations that realise it.
//!
//! [`plan_mounts`] is pure: it turns an [`ExecContext`] into a sorted, merged list of
//! [`MountEntry`]s. Entries are sorted by path (prefixes first) and, on equal paths, by
//! [`MountMode`] priority; duplicates collapse into the first entry, which takes over the
//! read-only / noexec / exec flags of the ones it absorbs; entries below an inaccessible
//! path are dropped.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use keel_unit::model::exec::{MountPropagation, NamespacePath, ProtectHome, ProtectSystem};

use crate::context::ExecContext;
use crate::error::PlanError;
use crate::sys::child::Op;

/// What happens at one path of the mount namespace. The declaration order is systemd's
/// priority order: on equal paths the earlier mode wins.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MountMode {
    /// `InaccessiblePaths=`: covered by an empty node, read-only and noexec.
    Inaccessible,
    /// `BindPaths=` / `BindReadOnlyPaths=`.
    Bind {
        /// Host path bind-mounted here.
        source: PathBuf,
        /// `rbind` (default) versus `norbind`.
        recursive: bool,
    },
    /// `PrivateTmp=`: `/tmp` and `/var/tmp`.
    PrivateTmp,
    /// `PrivateDevices=`: a private `/dev` with the basic device nodes, `noexec`.
    PrivateDevices,
    /// `ReadOnlyPaths=`, `ProtectSystem=`, …
    ReadOnly,
    /// `ReadWritePaths=`.
    ReadWrite,
    /// `NoExecPaths=`.
    NoExec,
    /// `ExecPaths=`.
    Exec,
    /// `TemporaryFileSystem=`, `ProtectHome=tmpfs`.
    Tmpfs {
        /// Mount options as written (`ro,mode=0700`).
        options: String,
    },
    /// A fresh `mqueue` on `/dev/mqueue` for `PrivateIPC=`/`IPCNamespacePath=`.
    Mqueue,
    /// API file systems left writable under `ProtectSystem=strict` (`/proc`, `/sys`, …).
    ReadWriteImplicit,
}

impl MountMode {
    /// The position in systemd 248's `MountMode` enum (lower wins).
    pub fn priority(&self) -> u8 {
        match self {
            Self::Inaccessible => 0,
            Self::Bind {
                recursive: false, ..
            } => 3,
            Self::Bind {
                recursive: true, ..
            } => 4,
            Self::PrivateTmp => 5,
            Self::PrivateDevices => 7,
            Self::ReadOnly => 13,
            Self::ReadWrite => 14,
            Self::NoExec => 15,
            Self::Exec => 16,
            Self::Tmpfs { .. } => 17,
            Self::Mqueue => 19,
            Self::ReadWriteImplicit => 20,
        }
    }
}

/// One path of the mount namespace, as the service will see it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MountEntry {
    /// The absolute path inside the service's root.
    pub path: PathBuf,
    /// What happens there.
    pub mode: MountMode,
    /// `-` prefix: skip it when the path does not exist.
    pub ignore_missing: bool,
    /// Read-only, also from a merged duplicate (`BindReadOnlyPaths=`, …).
    pub read_only: bool,
    /// `noexec`, also from a merged duplicate.
    pub noexec: bool,
    /// `exec` (clears `noexec`), also from a merged duplicate.
    pub exec: bool,
}

impl MountEntry {
    fn new(path: impl Into<PathBuf>, mode: MountMode, ignore_missing: bool) -> Self {
        Self {
            path: path.into(),
            mode,
            ignore_missing,
            read_only: false,
            noexec: false,
            exec: false,
        }
    }

    /// `mount_entry_read_only()`.
    pub fn is_read_only(&self) -> bool {
        self.read_only || matches!(self.mode, MountMode::ReadOnly | MountMode::Inaccessible)
    }

    /// `mount_entry_noexec()`: checked before [`MountEntry::is_exec`], so noexec wins.
    pub fn is_noexec(&self) -> bool {
        self.noexec || matches!(self.mode, MountMode::NoExec | MountMode::Inaccessible)
    }

    /// `mount_entry_exec()`.
    pub fn is_exec(&self) -> bool {
        self.exec || self.mode == MountMode::Exec
    }
}

/// The whole mount namespace of one command.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct MountPlan {
    /// `RootDirectory=`, if any (otherwise `/` is mirrored into a staging directory).
    pub root_directory: Option<PathBuf>,
    /// The entries, sorted and merged.
    pub entries: Vec<MountEntry>,
    /// `MountFlags=`, applied to `/` at the end (None: `shared`).
    pub propagation: Option<MountPropagation>,
    /// `ExtensionImages=` (sandboxed commands only): their overlays are built by the
    /// parent and attached right after the namespace is entered (see `crate::sysext::unit`).
    pub extension_images: Vec<keel_unit::model::exec::ExtensionImage>,
}

fn push_paths(
    out: &mut Vec<MountEntry>,
    list: &[NamespacePath],
    mode: &MountMode,
    root: Option<&Path>,
) {
    for p in list {
        let path = if p.relative_to_root {
            p.path.clone()
        } else if let Some(r) = root {
            // A host path: only what lies inside the new root matters (drop_outside_root).
            match p.path.strip_prefix(r) {
                Ok(rest) => Path::new("/").join(rest),
                Err(_) => continue,
            }
        } else {
            p.path.clone()
        };
        out.push(MountEntry::new(path, mode.clone(), p.ignore_missing));
    }
}

fn push_table(out: &mut Vec<MountEntry>, table: &[(&str, MountMode, bool)]) {
    for (p, m, ignore) in table {
        out.push(MountEntry::new(*p, m.clone(), *ignore));
    }
}

fn bytes(p: &Path) -> &[u8] {
    p.as_os_str().as_encoded_bytes()
}

/// Whether `path` lies strictly below `parent` (both absolute and simplified, as keel-unit
/// stores them; compared as bytes, which is what makes planning cheap).
fn is_below(path: &Path, parent: &Path) -> bool {
    let (p, q) = (bytes(path), bytes(parent));
    p.len() > q.len() && p.starts_with(q) && (q.ends_with(b"/") || p[q.len()] == b'/')
}

/// Whether `path` is `parent` or lies below it.
fn is_at_or_below(path: &Path, parent: &Path) -> bool {
    path == parent || is_below(path, parent)
}

/// systemd's `path_compare()` order: component-wise, so a prefix sorts before the paths
/// below it (`/a` < `/a/b` < `/a-b`): bytes compared with `/` lowest.
fn path_order(a: &Path, b: &Path) -> std::cmp::Ordering {
    let key = |c: &u8| if *c == b'/' { 0 } else { u16::from(*c) + 1 };
    bytes(a).iter().map(key).cmp(bytes(b).iter().map(key))
}

/// Decides the mount namespace of a command, or `None` when it needs none
/// (`exec_needs_mount_namespace()`).
///
/// Without sandboxing (`+` prefix) only `ReadWritePaths=`, `BindPaths=` and
/// `TemporaryFileSystem=` apply, as in systemd 248.
///
/// # Errors
///
/// [`PlanError::RelativePath`] for a relative `RootDirectory=`.
pub fn plan_mounts(ctx: &ExecContext, sandboxed: bool) -> Result<Option<MountPlan>, PlanError> {
    use MountMode as M;
    let root = if sandboxed {
        ctx.root_directory.as_deref()
    } else {
        None
    };
    if let Some(r) = root {
        if !r.is_absolute() {
            return Err(PlanError::RelativePath {
                setting: "RootDirectory=",
                path: r.to_path_buf(),
            });
        }
    }
    let mut v = Vec::new();
    push_paths(&mut v, &ctx.read_write_paths, &M::ReadWrite, root);
    for b in &ctx.bind_paths {
        let mut e = MountEntry::new(
            &b.destination,
            M::Bind {
                source: b.source.clone(),
                recursive: b.recursive,
            },
            b.ignore_missing,
        );
        e.read_only = b.read_only;
        v.push(e);
    }
    for t in &ctx.temporary_filesystems {
        v.push(MountEntry::new(
            &t.path,
            M::Tmpfs {
                options: t.options.clone(),
            },
            false,
        ));
    }
    if sandboxed {
        push_paths(&mut v, &ctx.read_only_paths, &M::ReadOnly, root);
        push_paths(&mut v, &ctx.inaccessible_paths, &M::Inaccessible, root);
        push_paths(&mut v, &ctx.exec_paths, &M::Exec, root);
        push_paths(&mut v, &ctx.no_exec_paths, &M::NoExec, root);
        if ctx.private_tmp {
            push_table(
                &mut v,
                &[
                    ("/tmp", M::PrivateTmp, false),
                    ("/var/tmp", M::PrivateTmp, false),
                ],
            );
        }
        if ctx.private_devices {
            v.push(MountEntry::new("/dev", M::PrivateDevices, false));
        }
        if ctx.protect_kernel_tunables {
            let ro = M::ReadOnly;
            let na = M::Inaccessible;
            push_table(
                &mut v,
                &[
                    ("/proc/acpi", ro.clone(), true),
                    ("/proc/apm", ro.clone(), true),
                    ("/proc/asound", ro.clone(), true),
                    ("/proc/bus", ro.clone(), true),
                    ("/proc/fs", ro.clone(), true),
                    ("/proc/irq", ro.clone(), true),
                    ("/proc/kallsyms", na.clone(), true),
                    ("/proc/kcore", na, true),
                    ("/proc/latency_stats", ro.clone(), true),
                    ("/proc/mtrr", ro.clone(), true),
                    ("/proc/scsi", ro.clone(), true),
                    ("/proc/sys", ro.clone(), true),
                    ("/proc/sysrq-trigger", ro.clone(), true),
                    ("/proc/timer_stats", ro.clone(), true),
                    ("/sys", ro.clone(), false),
                    ("/sys/fs/bpf", ro.clone(), true),
                    ("/sys/fs/cgroup", M::ReadWriteImplicit, false),
                    ("/sys/fs/selinux", M::ReadWriteImplicit, true),
                    ("/sys/kernel/debug", ro.clone(), true),
                    ("/sys/kernel/tracing", ro, true),
                ],
            );
        }
        if ctx.protect_kernel_modules {
            push_table(
                &mut v,
                &[
                    ("/lib/modules", M::Inaccessible, true),
                    ("/usr/lib/modules", M::Inaccessible, true),
                ],
            );
        }
        if ctx.protect_kernel_logs {
            push_table(
                &mut v,
                &[
                    ("/proc/kmsg", M::Inaccessible, true),
                    ("/dev/kmsg", M::Inaccessible, true),
                ],
            );
        }
        if ctx.protect_control_groups {
            v.push(MountEntry::new("/sys/fs/cgroup", M::ReadOnly, false));
        }
        let home = ["/home", "/run/user", "/root"];
        match ctx.protect_home {
            ProtectHome::Yes => {
                for h in home {
                    v.push(MountEntry::new(h, M::Inaccessible, true));
                }
            }
            ProtectHome::ReadOnly => {
                for h in home {
                    v.push(MountEntry::new(h, M::ReadOnly, true));
                }
            }
            ProtectHome::Tmpfs => {
                for h in home {
                    let mut e = MountEntry::new(
                        h,
                        M::Tmpfs {
                            options: "mode=0755".into(),
                        },
                        true,
                    );
                    e.read_only = true;
                    v.push(e);
                }
            }
            _ => {}
        }
        // Debian's systemd 248 is built with split /usr, hence /bin, /sbin, /lib, /lib64.
        let usr: &[(&str, MountMode, bool)] = &[
            ("/usr", M::ReadOnly, false),
            ("/boot", M::ReadOnly, true),
            ("/efi", M::ReadOnly, true),
            ("/bin", M::ReadOnly, true),
            ("/sbin", M::ReadOnly, true),
            ("/lib", M::ReadOnly, true),
            ("/lib64", M::ReadOnly, true),
        ];
        match ctx.protect_system {
            ProtectSystem::Yes => push_table(&mut v, usr),
            ProtectSystem::Full => {
                push_table(&mut v, usr);
                v.push(MountEntry::new("/etc", M::ReadOnly, false));
            }
            ProtectSystem::Strict => push_table(
                &mut v,
                &[
                    ("/", M::ReadOnly, false),
                    ("/proc", M::ReadWriteImplicit, false),
                    ("/sys", M::ReadWriteImplicit, false),
                    ("/dev", M::ReadWriteImplicit, false),
                    ("/home", M::ReadWriteImplicit, true),
                    ("/run/user", M::ReadWriteImplicit, true),
                    ("/root", M::ReadWriteImplicit, true),
                ],
            ),
            _ => {}
        }
        if ctx.private_ipc || ctx.ipc_namespace_path.is_some() {
            v.push(MountEntry::new("/dev/mqueue", M::Mqueue, false));
        }
    }
    let needs = !v.is_empty()
        || root.is_some()
        || ctx.private_mounts
        || (sandboxed && !ctx.extension_images.is_empty())
        || ctx
            .mount_propagation
            .is_some_and(|p| p != MountPropagation::Shared);
    if !needs {
        return Ok(None);
    }
    v.sort_by(|a, b| path_order(&a.path, &b.path).then(a.mode.priority().cmp(&b.mode.priority())));
    // drop_duplicates: the first (highest-priority) entry wins and takes the flags.
    let mut merged: Vec<MountEntry> = Vec::with_capacity(v.len());
    for e in v {
        if let Some(prev) = merged.last_mut() {
            if prev.path == e.path {
                prev.read_only |= e.is_read_only();
                prev.noexec |= e.is_noexec();
                prev.exec |= e.is_exec();
                continue;
            }
        }
        merged.push(e);
    }
    // drop_inaccessible: nothing below an inaccessible path matters.
    let mut out: Vec<MountEntry> = Vec::with_capacity(merged.len());
    let mut hidden: Option<PathBuf> = None;
    for e in merged {
        if let Some(h) = &hidden {
            if is_below(&e.path, h) {
                continue;
            }
        }
        if e.mode == MountMode::Inaccessible {
            hidden = Some(e.path.clone());
        }
        out.push(e);
    }
    // drop_nop: a read-only/read-write entry below one of the same mode adds nothing.
    let mut entries: Vec<MountEntry> = Vec::with_capacity(out.len());
    for e in out {
        if matches!(e.mode, MountMode::ReadOnly | MountMode::ReadWrite) && !e.noexec && !e.exec {
            let parent = entries.iter().rev().find(|p| is_below(&e.path, &p.path));
            if parent.is_some_and(|p| p.mode == e.mode && !p.noexec && !p.exec) {
                continue;
            }
        }
        entries.push(e);
    }
    Ok(Some(MountPlan {
        root_directory: root.map(Path::to_path_buf),
        entries,
        propagation: ctx.mount_propagation,
        extension_images: if sandboxed {
            ctx.extension_images.clone()
        } else {
            Vec::new()
        },
    }))
}

/// Host locations the mount operations need besides the plan itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Staging {
    /// Where `/` is mirrored when there is no `RootDirectory=` (systemd: `/run/systemd/unit-root`).
    pub(crate) root: PathBuf,
    /// An empty directory with mode 0000.
    pub(crate) inaccessible_dir: PathBuf,
    /// An empty regular file with mode 0000.
    pub(crate) inaccessible_reg: PathBuf,
    /// An empty directory where the private `/dev` is assembled.
    pub(crate) dev: PathBuf,
    /// Host directories bound on `/tmp` and `/var/tmp` for `PrivateTmp=` (None: a tmpfs
    /// each).
    pub(crate) private_tmp: Option<(PathBuf, PathBuf)>,
}

impl Default for Staging {
    fn default() -> Self {
        Self {
            root: "/run/keel/unit-root".into(),
            inaccessible_dir: "/run/keel/inaccessible/dir".into(),
            inaccessible_reg: "/run/keel/inaccessible/reg".into(),
            dev: "/run/keel/dev-stage".into(),
            private_tmp: None,
        }
    }
}

fn cstr(p: &Path) -> Result<CString, PlanError> {
    CString::new(p.as_os_str().as_encoded_bytes())
        .map_err(|_| PlanError::Nul { what: "mount path" })
}

fn cs(s: &str) -> Result<CString, PlanError> {
    CString::new(s).map_err(|_| PlanError::Nul {
        what: "mount option",
    })
}

/// `root` joined with an absolute service path.
fn under(root: &Path, p: &Path) -> PathBuf {
    match p.strip_prefix("/") {
        Ok(rest) if rest.as_os_str().is_empty() => root.to_path_buf(),
        Ok(rest) => root.join(rest),
        Err(_) => root.join(p),
    }
}

/// Parses tmpfs options into mount flags and the data string (`mount_option_mangle`).
pub(crate) fn tmpfs_flags(options: &str) -> (libc::c_ulong, String) {
    let mut flags = libc::MS_NODEV | libc::MS_STRICTATIME;
    let mut data = String::new();
    for o in options.split(',').filter(|o| !o.is_empty()) {
        let (set, clr) = match o {
            "ro" => (libc::MS_RDONLY, 0),
            "rw" => (0, libc::MS_RDONLY),
            "nosuid" => (libc::MS_NOSUID, 0),
            "suid" => (0, libc::MS_NOSUID),
            "nodev" => (libc::MS_NODEV, 0),
            "dev" => (0, libc::MS_NODEV),
            "noexec" => (libc::MS_NOEXEC, 0),
            "exec" => (0, libc::MS_NOEXEC),
            "strictatime" => (libc::MS_STRICTATIME, 0),
            "nostrictatime" => (0, libc::MS_STRICTATIME),
            "relatime" => (libc::MS_RELATIME, 0),
            "norelatime" => (0, libc::MS_RELATIME),
            "noatime" => (libc::MS_NOATIME, 0),
            "atime" => (0, libc::MS_NOATIME),
            "nodiratime" => (libc::MS_NODIRATIME, 0),
            "diratime" => (0, libc::MS_NODIRATIME),
            other => {
                if !data.is_empty() {
                    data.push(',');
                }
                data.push_str(other);
                continue;
            }
        };
        flags = (flags | set) & !clr;
    }
    (flags, data)
}

/// The parent's mount points, read (from `/proc/self/mountinfo`) only when a remount pass
/// has to go mount by mount, and then once.
pub(crate) struct HostMounts<'a> {
    list: Option<Vec<PathBuf>>,
    load: &'a dyn Fn() -> Vec<PathBuf>,
}

impl<'a> HostMounts<'a> {
    /// A list `load` reads the first time it is needed.
    pub(crate) fn lazy(load: &'a dyn Fn() -> Vec<PathBuf>) -> Self {
        Self { list: None, load }
    }

    fn get(&mut self) -> &[PathBuf] {
        self.list.get_or_insert_with(self.load)
    }
}

/// The `noexec` state a deeper entry has right after it was established, when it is a
/// fresh file system keel mounts itself (so nothing of the host lies below it): a private
/// `/tmp` tmpfs, a `TemporaryFileSystem=`, the `mqueue` of `PrivateIPC=`.
fn fresh_noexec(e: &MountEntry, st: &Staging) -> Option<bool> {
    match &e.mode {
        MountMode::PrivateTmp if st.private_tmp.is_none() => Some(false),
        MountMode::Tmpfs { options } => Some(tmpfs_flags(options).0 & libc::MS_NOEXEC != 0),
        MountMode::Mqueue => Some(true),
        _ => None,
    }
}

/// Remount operations setting/clearing `set`/`clr` on `e` and everything mounted below it
/// except the subtrees of other entries (systemd's deny list).
fn remount_ops(
    ops: &mut Vec<Op>,
    (plan, st): (&MountPlan, &Staging),
    e: &MountEntry,
    root: &Path,
    host_mounts: &mut HostMounts<'_>,
    (set, clr): (u64, u64),
) -> Result<(), PlanError> {
    let single = matches!(e.mode, MountMode::Tmpfs { .. });
    let deeper: Vec<&MountEntry> = plan
        .entries
        .iter()
        .filter(|o| is_below(&o.path, &e.path))
        .collect();
    if single || deeper.is_empty() {
        ops.push(Op::Setattr {
            path: cstr(&under(root, &e.path))?,
            set,
            clr,
            recursive: !single,
            tolerant: e.ignore_missing,
        });
        return Ok(());
    }
    // systemd remounts every mount below the entry except those at or below a deeper
    // entry (its deny list). In the noexec pass the same end state comes from one
    // recursive change when every deeper entry either gets its own explicit noexec or exec
    // change later in this pass, or is a fresh mount of ours whose state is put back right
    // away (an inaccessible node is noexec already, so a recursive set leaves it as is).
    if set | clr == libc::MOUNT_ATTR_NOEXEC {
        let covered = |d: &&MountEntry| {
            (d.mode == MountMode::Inaccessible && set != 0)
                || (!matches!(
                    d.mode,
                    MountMode::Inaccessible
                        | MountMode::ReadWriteImplicit
                        | MountMode::PrivateDevices
                ) && (d.is_noexec() || d.is_exec()))
                || fresh_noexec(d, st).is_some()
        };
        if deeper.iter().all(covered) {
            ops.push(Op::Setattr {
                path: cstr(&under(root, &e.path))?,
                set,
                clr,
                recursive: true,
                tolerant: e.ignore_missing,
            });
            for d in &deeper {
                let Some(noexec) = fresh_noexec(d, st) else {
                    continue;
                };
                if noexec != (set != 0) {
                    let (set, clr) = if noexec {
                        (libc::MOUNT_ATTR_NOEXEC, 0)
                    } else {
                        (0, libc::MOUNT_ATTR_NOEXEC)
                    };
                    ops.push(Op::Setattr {
                        path: cstr(&under(root, &d.path))?,
                        set,
                        clr,
                        recursive: false,
                        tolerant: true,
                    });
                }
            }
            return Ok(());
        }
    }
    ops.push(Op::Setattr {
        path: cstr(&under(root, &e.path))?,
        set,
        clr,
        recursive: false,
        tolerant: e.ignore_missing,
    });
    for m in host_mounts.get() {
        let view = match &plan.root_directory {
            Some(r) => match m.strip_prefix(r) {
                Ok(rest) => Path::new("/").join(rest),
                Err(_) => continue,
            },
            None => m.clone(),
        };
        if !is_below(&view, &e.path) || deeper.iter().any(|d| is_at_or_below(&view, &d.path)) {
            continue;
        }
        ops.push(Op::Setattr {
            path: cstr(&under(root, &view))?,
            set,
            clr,
            recursive: false,
            tolerant: true,
        });
    }
    Ok(())
}

impl MountPlan {
    /// The child operations realising the plan (`setup_namespace()`): unshare, `/` made a
    /// slave, the root mirrored (systemd's `/run/systemd/unit-root`) or bound, every entry
    /// established in path order, the read-only pass, the noexec pass, the root moved onto
    /// `/`, and `MountFlags=`. Without `RootDirectory=` and bind mounts the entries are
    /// applied to `/` in place (same result, half the mounts).
    /// `host_mounts` are the parent's mount points (from `/proc/self/mountinfo`).
    #[cfg(test)]
    pub(crate) fn ops(&self, st: &Staging, host_mounts: &[PathBuf]) -> Result<Vec<Op>, PlanError> {
        self.ops_with(st, &mut HostMounts::lazy(&|| host_mounts.to_vec()))
    }

    /// [`MountPlan::ops`] with the host's mount points read only if needed.
    pub(crate) fn ops_with(
        &self,
        st: &Staging,
        host_mounts: &mut HostMounts<'_>,
    ) -> Result<Vec<Op>, PlanError> {
        let mut ops = vec![
            Op::Unshare {
                flags: libc::CLONE_NEWNS,
                tolerate_eperm: false,
            },
            Op::Mount {
                source: None,
                target: cs("/")?,
                fstype: None,
                flags: libc::MS_SLAVE | libc::MS_REC,
                data: None,
                skip_missing: false,
            },
        ];
        // Without RootDirectory= and bind mounts (whose sources must be looked up on the
        // untouched tree), the entries are applied to `/` of the new namespace directly:
        // no mirror of `/` to build, move and tear down again.
        let in_place = self.root_directory.is_none()
            && !self
                .entries
                .iter()
                .any(|e| matches!(e.mode, MountMode::Bind { .. }));
        let root = match &self.root_directory {
            Some(r) => {
                ops.push(Op::BindSelf {
                    path: cstr(r)?,
                    ignore_missing: false,
                });
                r.clone()
            }
            None if in_place => PathBuf::from("/"),
            None => {
                ops.push(Op::Mount {
                    source: Some(cs("/")?),
                    target: cstr(&st.root)?,
                    fstype: None,
                    flags: libc::MS_BIND | libc::MS_REC,
                    data: None,
                    skip_missing: false,
                });
                st.root.clone()
            }
        };
        for e in &self.entries {
            let at = cstr(&under(&root, &e.path))?;
            match &e.mode {
                MountMode::Inaccessible => ops.push(Op::Inaccessible {
                    path: at,
                    dir: cstr(&st.inaccessible_dir)?,
                    reg: cstr(&st.inaccessible_reg)?,
                    ignore_missing: e.ignore_missing,
                }),
                MountMode::Bind { source, recursive } => ops.push(Op::Bind {
                    source: cstr(source)?,
                    target: at,
                    recursive: *recursive,
                    ignore_missing: e.ignore_missing,
                }),
                MountMode::PrivateTmp => match &st.private_tmp {
                    Some((tmp, var_tmp)) => ops.push(Op::Bind {
                        source: cstr(if e.path == Path::new("/tmp") {
                            tmp
                        } else {
                            var_tmp
                        })?,
                        target: at,
                        recursive: true,
                        ignore_missing: false,
                    }),
                    None => {
                        ops.push(Op::Mkdir {
                            path: at.clone(),
                            mode: 0o1777,
                        });
                        ops.push(Op::Mount {
                            source: Some(cs("tmpfs")?),
                            target: at,
                            fstype: Some(cs("tmpfs")?),
                            flags: libc::MS_NOSUID | libc::MS_NODEV | libc::MS_STRICTATIME,
                            data: Some(cs("mode=1777")?),
                            skip_missing: false,
                        });
                    }
                },
                MountMode::PrivateDevices => dev_ops(&mut ops, st, at)?,
                MountMode::ReadOnly
                | MountMode::ReadWrite
                | MountMode::NoExec
                | MountMode::Exec => {
                    ops.push(Op::BindSelf {
                        path: at,
                        ignore_missing: e.ignore_missing,
                    });
                }
                MountMode::Tmpfs { options } => {
                    let (flags, data) = tmpfs_flags(options);
                    ops.push(Op::Mkdir {
                        path: at.clone(),
                        mode: 0o755,
                    });
                    ops.push(Op::Mount {
                        source: Some(cs("tmpfs")?),
                        target: at,
                        fstype: Some(cs("tmpfs")?),
                        flags,
                        data: if data.is_empty() {
                            None
                        } else {
                            Some(cs(&data)?)
                        },
                        skip_missing: e.ignore_missing,
                    });
                }
                MountMode::Mqueue => {
                    ops.push(Op::UmountAll { path: at.clone() });
                    ops.push(Op::Mkdir {
                        path: at.clone(),
                        mode: 0o755,
                    });
                    ops.push(Op::Mount {
                        source: Some(cs("mqueue")?),
                        target: at,
                        fstype: Some(cs("mqueue")?),
                        flags: libc::MS_NOSUID
                            | libc::MS_NODEV
                            | libc::MS_NOEXEC
                            | libc::MS_RELATIME,
                        data: None,
                        skip_missing: false,
                    });
                }
                MountMode::ReadWriteImplicit => {}
            }
        }
        let skip = |e: &MountEntry| {
            matches!(
                e.mode,
                MountMode::Inaccessible | MountMode::ReadWriteImplicit | MountMode::PrivateDevices
            )
        };
        for e in self.entries.iter().filter(|e| !skip(e) && e.is_read_only()) {
            remount_ops(
                &mut ops,
                (self, st),
                e,
                &root,
                host_mounts,
                (libc::MOUNT_ATTR_RDONLY, 0),
            )?;
        }
        for e in self.entries.iter().filter(|e| !skip(e)) {
            let attr = if e.is_noexec() {
                (libc::MOUNT_ATTR_NOEXEC, 0)
            } else if e.is_exec() {
                (0, libc::MOUNT_ATTR_NOEXEC)
            } else {
                continue;
            };
            remount_ops(&mut ops, (self, st), e, &root, host_mounts, attr)?;
        }
        if !in_place {
            ops.push(Op::MoveRoot { root: cstr(&root)? });
        }
        let prop = match self.propagation {
            Some(MountPropagation::Slave) => libc::MS_SLAVE,
            Some(MountPropagation::Private) => libc::MS_PRIVATE,
            _ => libc::MS_SHARED,
        };
        ops.push(Op::Mount {
            source: None,
            target: cs("/")?,
            fstype: None,
            flags: prop | libc::MS_REC,
            data: None,
            skip_missing: false,
        });
        Ok(ops)
    }
}

/// A private `/dev` assembled in the staging directory and moved onto `at`.
fn dev_ops(ops: &mut Vec<Op>, st: &Staging, at: CString) -> Result<(), PlanError> {
    let d = &st.dev;
    let p = |n: &str| cstr(&d.join(n));
    ops.push(Op::Mount {
        source: Some(cs("tmpfs")?),
        target: cstr(d)?,
        fstype: Some(cs("tmpfs")?),
        flags: libc::MS_NOSUID | libc::MS_NOEXEC | libc::MS_STRICTATIME,
        data: Some(cs("mode=755")?),
        skip_missing: false,
    });
    for n in ["null", "zero", "full", "random", "urandom", "tty"] {
        ops.push(Op::Bind {
            source: cs(&format!("/dev/{n}"))?,
            target: p(n)?,
            recursive: false,
            ignore_missing: true,
        });
    }
    for (n, must) in [
        ("pts", true),
        ("shm", false),
        ("mqueue", false),
        ("hugepages", false),
    ] {
        ops.push(Op::Bind {
            source: cs(&format!("/dev/{n}"))?,
            target: p(n)?,
            recursive: false,
            ignore_missing: !must,
        });
    }
    for (target, link) in [
        ("pts/ptmx", "ptmx"),
        ("/run/systemd/journal/dev-log", "log"),
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
    ] {
        ops.push(Op::Symlink {
            target: cs(target)?,
            link: p(link)?,
        });
    }
    ops.push(Op::Mount {
        source: Some(cstr(d)?),
        target: at,
        fstype: None,
        flags: libc::MS_MOVE,
        data: None,
        skip_missing: false,
    });
    Ok(())
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)] // style.md's idiom for plain data
mod tests {
    use super::*;

    fn np(s: &str) -> NamespacePath {
        let mut p = NamespacePath::default();
        let s = match s.strip_prefix('-') {
            Some(r) => {
                p.ignore_missing = true;
                r
            }
            None => s,
        };
        let s = match s.strip_prefix('+') {
            Some(r) => {
                p.relative_to_root = true;
                r
            }
            None => s,
        };
        p.path = s.into();
        p
    }

    fn summary(p: &MountPlan) -> Vec<(String, u8, bool, bool, bool)> {
        p.entries
            .iter()
            .map(|e| {
                (
                    e.path.display().to_string(),
                    e.mode.priority(),
                    e.is_read_only(),
                    e.is_noexec(),
                    e.is_exec(),
                )
            })
            .collect()
    }

    #[test]
    fn nothing_needs_no_namespace() {
        assert_eq!(plan_mounts(&ExecContext::default(), true).unwrap(), None);
    }

    #[test]
    fn noexec_root_with_exec_exceptions() {
        let mut c = ExecContext::default();
        c.no_exec_paths = vec![np("/")];
        c.exec_paths = vec![np("/usr/bin"), np("-/usr/lib")];
        let p = plan_mounts(&c, true).unwrap().unwrap();
        assert_eq!(
            summary(&p),
            [
                ("/".into(), 15, false, true, false),
                ("/usr/bin".into(), 16, false, false, true),
                ("/usr/lib".into(), 16, false, false, true),
            ]
        );
        assert!(p.entries[2].ignore_missing);
    }

    #[test]
    fn duplicates_merge_flags_into_the_higher_priority_entry() {
        // Spec §5.3: ReadOnlyPaths= + NoExecPaths= on one path → one READONLY entry with
        // noexec; ExecPaths= + NoExecPaths= → NOEXEC with both flags, noexec wins.
        let mut c = ExecContext::default();
        c.read_only_paths = vec![np("/a")];
        c.no_exec_paths = vec![np("/a"), np("/b")];
        c.exec_paths = vec![np("/b")];
        let p = plan_mounts(&c, true).unwrap().unwrap();
        assert_eq!(
            summary(&p),
            [
                ("/a".into(), 13, true, true, false),
                ("/b".into(), 15, false, true, true),
            ]
        );
        let ops = p.ops(&Staging::default(), &[]).unwrap();
        let b = c"/b";
        assert!(
            ops.iter()
                .any(|o| matches!(o, Op::Setattr { path, set, clr: 0, .. }
            if path.as_c_str() == b && *set == libc::MOUNT_ATTR_NOEXEC))
        );
        assert!(
            !ops.iter().any(|o| matches!(o, Op::Setattr { path, clr, .. }
            if path.as_c_str() == b && *clr != 0))
        );
    }

    #[test]
    fn entries_below_inaccessible_are_dropped() {
        let mut c = ExecContext::default();
        c.inaccessible_paths = vec![np("/srv")];
        c.read_write_paths = vec![np("/srv/data"), np("/srvx")];
        let p = plan_mounts(&c, true).unwrap().unwrap();
        assert_eq!(
            summary(&p),
            [
                ("/srv".into(), 0, true, true, false),
                ("/srvx".into(), 14, false, false, false),
            ]
        );
    }

    #[test]
    fn sandboxing_off_keeps_only_read_write_bind_and_tmpfs() {
        let mut c = ExecContext::default();
        c.no_exec_paths = vec![np("/")];
        c.private_tmp = true;
        assert_eq!(plan_mounts(&c, false).unwrap(), None);
        c.read_write_paths = vec![np("/var")];
        let p = plan_mounts(&c, false).unwrap().unwrap();
        assert_eq!(summary(&p), [("/var".into(), 14, false, false, false)]);
    }

    #[test]
    fn protect_system_strict_with_private_tmp() {
        let mut c = ExecContext::default();
        c.protect_system = ProtectSystem::Strict;
        c.private_tmp = true;
        c.read_write_paths = vec![np("/var/lib/x")];
        let p = plan_mounts(&c, true).unwrap().unwrap();
        let paths: Vec<String> = summary(&p).into_iter().map(|s| s.0).collect();
        assert_eq!(
            paths,
            [
                "/",
                "/dev",
                "/home",
                "/proc",
                "/root",
                "/run/user",
                "/sys",
                "/tmp",
                "/var/lib/x",
                "/var/tmp"
            ]
        );
        let mounts: Vec<PathBuf> = ["/", "/proc", "/sys", "/boot", "/tmp/host", "/var/lib/x/y"]
            .iter()
            .map(PathBuf::from)
            .collect();
        let ops = p.ops(&Staging::default(), &mounts).unwrap();
        let ro: Vec<&CString> = ops
            .iter()
            .filter_map(|o| match o {
                Op::Setattr { path, set, .. } if *set == libc::MOUNT_ATTR_RDONLY => Some(path),
                _ => None,
            })
            .collect();
        // / itself and /boot; not the deny-listed /proc, /sys, /tmp, /var/lib/x trees.
        assert_eq!(
            ro,
            [&CString::new("/").unwrap(), &CString::new("/boot").unwrap()]
        );
    }

    #[test]
    fn root_directory_drops_outside_paths_and_maps_inside_ones() {
        let mut c = ExecContext::default();
        c.root_directory = Some("/srv/root".into());
        c.read_only_paths = vec![np("/srv/root/etc"), np("/etc"), np("+/opt")];
        let p = plan_mounts(&c, true).unwrap().unwrap();
        let paths: Vec<String> = summary(&p).into_iter().map(|s| s.0).collect();
        assert_eq!(paths, ["/etc", "/opt"]);
        let ops = p.ops(&Staging::default(), &[]).unwrap();
        assert_eq!(
            ops[2],
            Op::BindSelf {
                path: CString::new("/srv/root").unwrap(),
                ignore_missing: false
            }
        );
        assert!(ops.contains(&Op::MoveRoot {
            root: CString::new("/srv/root").unwrap()
        }));
    }

    #[test]
    fn bind_mounts_use_the_mirrored_root() {
        let mut c = ExecContext::default();
        let mut b = keel_unit::model::exec::BindPath::default();
        b.source = "/srv/a".into();
        b.destination = "/mnt/a".into();
        c.bind_paths = vec![b];
        let p = plan_mounts(&c, true).unwrap().unwrap();
        let ops = p.ops(&Staging::default(), &[]).unwrap();
        assert!(
            matches!(&ops[2], Op::Mount { target, .. } if target.as_c_str() == c"/run/keel/unit-root")
        );
        assert!(ops.contains(&Op::Bind {
            source: CString::new("/srv/a").unwrap(),
            target: CString::new("/run/keel/unit-root/mnt/a").unwrap(),
            recursive: false,
            ignore_missing: false
        }));
        assert!(ops.contains(&Op::MoveRoot {
            root: CString::new("/run/keel/unit-root").unwrap()
        }));
    }

    #[test]
    fn ipc_namespace_gets_a_fresh_mqueue() {
        let mut c = ExecContext::default();
        c.private_ipc = true;
        let p = plan_mounts(&c, true).unwrap().unwrap();
        assert_eq!(p.entries[0].path, Path::new("/dev/mqueue"));
        assert_eq!(p.entries[0].mode, MountMode::Mqueue);
    }

    #[test]
    fn path_helpers() {
        let p = Path::new;
        assert!(is_below(p("/a/b"), p("/a")));
        assert!(is_below(p("/a"), p("/")));
        assert!(!is_below(p("/a-b"), p("/a")));
        assert!(!is_below(p("/a"), p("/a")));
        assert!(is_at_or_below(p("/a"), p("/a")));
        let mut v = vec![p("/a-b"), p("/a/b"), p("/"), p("/a")];
        v.sort_by(|x, y| path_order(x, y));
        assert_eq!(v, [p("/"), p("/a"), p("/a/b"), p("/a-b")]);
    }

    #[test]
    fn tmpfs_options() {
        let (f, d) = tmpfs_flags("ro,mode=0700,nostrictatime");
        assert_eq!(f, libc::MS_NODEV | libc::MS_RDONLY);
        assert_eq!(d, "mode=0700");
        let (f, d) = tmpfs_flags("");
        assert_eq!(f, libc::MS_NODEV | libc::MS_STRICTATIME);
        assert_eq!(d, "");
    }

    #[test]
    fn ops_order_is_unshare_slave_mirror_entries_passes_move() {
        let mut c = ExecContext::default();
        c.no_exec_paths = vec![np("/")];
        c.exec_paths = vec![np("/usr")];
        let p = plan_mounts(&c, true).unwrap().unwrap();
        let ops = p.ops(&Staging::default(), &["/usr/local".into()]).unwrap();
        let names: Vec<&str> = ops
            .iter()
            .map(|o| match o {
                Op::Unshare { .. } => "unshare",
                Op::Mount { .. } => "mount",
                Op::BindSelf { .. } => "bind-self",
                Op::Setattr { .. } => "setattr",
                Op::MoveRoot { .. } => "move-root",
                _ => "other",
            })
            .collect();
        assert_eq!(
            names,
            [
                "unshare",
                "mount",
                "bind-self",
                "bind-self",
                "setattr",
                "setattr",
                "mount"
            ]
        );
        // "/" has a deeper entry, /usr, but that one clears noexec on its whole subtree
        // right after: one recursive change of "/" gives systemd's end state.
        assert_eq!(
            ops[4],
            Op::Setattr {
                path: CString::new("/").unwrap(),
                set: libc::MOUNT_ATTR_NOEXEC,
                clr: 0,
                recursive: true,
                tolerant: false
            }
        );
        assert_eq!(
            ops[5],
            Op::Setattr {
                path: CString::new("/usr").unwrap(),
                set: 0,
                clr: libc::MOUNT_ATTR_NOEXEC,
                recursive: true,
                tolerant: false
            }
        );
    }

    fn noexec_setattrs(ops: &[Op]) -> Vec<(String, bool, bool)> {
        ops.iter()
            .filter_map(|o| match o {
                Op::Setattr {
                    path,
                    set,
                    clr,
                    recursive,
                    ..
                } if (set | clr) == libc::MOUNT_ATTR_NOEXEC => {
                    Some((path.to_str().unwrap().to_owned(), *set != 0, *recursive))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn noexec_pass_goes_mount_by_mount_around_entries_without_their_own_exec_state() {
        // ReadOnlyPaths=/srv keeps the host's exec state of /srv in systemd (it is on the
        // deny list of "/"'s pass), so "/" cannot be changed recursively: every host mount
        // outside /srv is changed one by one, and the host mount list is read.
        let mut c = ExecContext::default();
        c.no_exec_paths = vec![np("/")];
        c.read_only_paths = vec![np("/srv")];
        let p = plan_mounts(&c, true).unwrap().unwrap();
        let hosts = [PathBuf::from("/boot"), "/srv/x".into(), "/".into()];
        let read = std::cell::Cell::new(0);
        let load = || {
            read.set(read.get() + 1);
            hosts.to_vec()
        };
        let ops = p
            .ops_with(&Staging::default(), &mut HostMounts::lazy(&load))
            .unwrap();
        assert_eq!(read.get(), 1);
        assert_eq!(
            noexec_setattrs(&ops),
            [("/".into(), true, false), ("/boot".into(), true, false)]
        );
    }

    #[test]
    fn noexec_pass_is_one_recursive_change_with_fresh_mounts_put_back() {
        // NoExecPaths=/ + PrivateTmp= + PrivateIPC=: systemd leaves the fresh /tmp and
        // /var/tmp tmpfs (exec allowed) and the mqueue (noexec) as mounted. keel changes
        // "/" recursively, then allows exec on the two tmpfs again; the host mount list is
        // never read.
        let mut c = ExecContext::default();
        c.no_exec_paths = vec![np("/")];
        c.exec_paths = vec![np("/usr")];
        c.private_tmp = true;
        c.private_ipc = true;
        let p = plan_mounts(&c, true).unwrap().unwrap();
        let load = || -> Vec<PathBuf> { panic!("the host mount list is not needed") };
        let ops = p
            .ops_with(&Staging::default(), &mut HostMounts::lazy(&load))
            .unwrap();
        assert_eq!(
            noexec_setattrs(&ops),
            [
                ("/".into(), true, true),
                ("/tmp".into(), false, false),
                ("/var/tmp".into(), false, false),
                ("/usr".into(), false, true),
            ]
        );
        // ExecPaths=/ over a noexec TemporaryFileSystem=: the clear is recursive and the
        // tmpfs gets its noexec back.
        let mut c = ExecContext::default();
        c.exec_paths = vec![np("/")];
        c.no_exec_paths = vec![np("/opt")];
        let mut t = keel_unit::model::exec::TemporaryFileSystem::default();
        t.path = "/srv".into();
        t.options = "noexec".into();
        c.temporary_filesystems = vec![t];
        let p = plan_mounts(&c, true).unwrap().unwrap();
        let ops = p
            .ops_with(&Staging::default(), &mut HostMounts::lazy(&load))
            .unwrap();
        let got = noexec_setattrs(&ops);
        assert_eq!(got[0], ("/".into(), false, true));
        assert!(got.contains(&("/srv".into(), true, false)), "{got:?}");
        assert!(got.contains(&("/opt".into(), true, true)), "{got:?}");
    }
}
