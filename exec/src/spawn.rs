//! [`spawn`]: prepares a [`Plan`] in the parent (users, environment, strings, pipes), forks
//! (or `clone3(CLONE_INTO_CGROUP)`s), runs the steps in the child and waits for the child's
//! report: either the exec happened (the report pipe closes on exec) or a step failed.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use keel_core::env::{parse_env_file, replace_env_argv};
use keel_unit::model::exec::{Resource, WorkingDirectory};
use keel_unit::model::exec_command::{DEFAULT_PATH, ExecFlags};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{Gid, Group, Pid, Uid, User};

use crate::context::{Command, ExecContext, OutputTarget, StdinSource};
use crate::error::{PlanError, SpawnError, StepKind};
use crate::mount::Staging;
use crate::plan::{NamespaceSetup, Plan, Step, plan};
use crate::sys::child::{self, NS_SLOT_IPC, NS_SLOT_NET, Op, Program, Report, StdioSource};

/// What the caller adds to an [`ExecContext`] for one start.
#[derive(Debug)]
#[non_exhaustive]
pub struct SpawnOptions {
    /// The fd for `StandardInput=fd` ([`StdinSource::Fd`]).
    pub stdin: Option<OwnedFd>,
    /// The fd for [`OutputTarget::Fd`] on standard output.
    pub stdout: Option<OwnedFd>,
    /// The fd for [`OutputTarget::Fd`] on standard error.
    pub stderr: Option<OwnedFd>,
    /// A cgroup v2 directory to start the child in (`clone3(CLONE_INTO_CGROUP)`, falling
    /// back to writing `cgroup.procs` from the child).
    pub cgroup: Option<PathBuf>,
    /// The manager's environment, the base of the service's (`PATH` defaults to
    /// `DEFAULT_PATH` when it has none).
    pub manager_environment: Vec<String>,
    /// Host directories for `PrivateTmp=`'s `/tmp` and `/var/tmp`, shared by all commands
    /// of one service start (None: a fresh tmpfs per command).
    pub private_tmp_dirs: Option<(PathBuf, PathBuf)>,
    /// Execute by fd (`execveat(AT_EMPTY_PATH)`, systemd's `-Dfexecve=true`); default on.
    pub use_fexecve: bool,
}

impl Default for SpawnOptions {
    fn default() -> Self {
        Self {
            stdin: None,
            stdout: None,
            stderr: None,
            cgroup: None,
            manager_environment: Vec::new(),
            private_tmp_dirs: None,
            use_fexecve: true,
        }
    }
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExitStatus {
    /// It exited with this code.
    Exited(u8),
    /// A signal killed it.
    Signaled(Signal),
}

impl ExitStatus {
    /// Exited with 0.
    pub fn success(self) -> bool {
        self == Self::Exited(0)
    }

    /// The code a shell reports: the exit code, or 128 + the signal number.
    pub fn shell_code(self) -> u8 {
        match self {
            Self::Exited(c) => c,
            Self::Signaled(s) => u8::try_from(128 + s as i32).unwrap_or(255),
        }
    }
}

/// A started child process.
#[derive(Debug)]
#[must_use = "a child should be waited for"]
pub struct Child {
    pid: Pid,
    command: String,
    skipped: bool,
}

impl Child {
    /// The child's pid.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Whether the executable was missing and the command had the `-` prefix: the child
    /// exited 0 without running anything ("skipped").
    pub fn skipped(&self) -> bool {
        self.skipped
    }

    /// Waits for the child to end.
    ///
    /// # Errors
    ///
    /// [`SpawnError::Wait`] if `waitpid` fails.
    pub fn wait(self) -> Result<ExitStatus, SpawnError> {
        wait_pid(self.pid, &self.command)
    }
}

fn wait_pid(pid: Pid, command: &str) -> Result<ExitStatus, SpawnError> {
    loop {
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, c)) => {
                return Ok(ExitStatus::Exited(u8::try_from(c & 0xff).unwrap_or(255)));
            }
            Ok(WaitStatus::Signaled(_, s, _)) => return Ok(ExitStatus::Signaled(s)),
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => {
                return Err(SpawnError::Wait {
                    command: command.to_owned(),
                    source: e,
                });
            }
        }
    }
}

/// A resolved `User=`.
#[derive(Debug, Clone)]
struct ResolvedUser {
    uid: u32,
    gid: u32,
    name: String,
    home: PathBuf,
    shell: PathBuf,
}

fn prep_err(command: &str, what: impl Into<String>, e: impl Into<std::io::Error>) -> SpawnError {
    SpawnError::Prepare {
        command: command.to_owned(),
        what: what.into(),
        source: e.into(),
    }
}

fn not_found(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::NotFound, format!("no such {what}"))
}

fn resolve_user(name: &str, command: &str) -> Result<ResolvedUser, SpawnError> {
    let what = || format!("User={name}");
    let u = match name.parse::<u32>() {
        Ok(n) => User::from_uid(Uid::from_raw(n)),
        Err(_) => User::from_name(name),
    }
    .map_err(|e| prep_err(command, what(), e))?;
    match u {
        Some(u) => Ok(ResolvedUser {
            uid: u.uid.as_raw(),
            gid: u.gid.as_raw(),
            name: u.name,
            home: u.dir,
            shell: u.shell,
        }),
        // A numeric id without a passwd entry is used as is, as systemd does.
        None => match name.parse::<u32>() {
            Ok(n) => Ok(ResolvedUser {
                uid: n,
                gid: n,
                name: name.to_owned(),
                home: "/".into(),
                shell: "/usr/sbin/nologin".into(),
            }),
            Err(_) => Err(prep_err(command, what(), not_found("user"))),
        },
    }
}

fn resolve_group(name: &str, command: &str) -> Result<u32, SpawnError> {
    if let Ok(n) = name.parse::<u32>() {
        return Ok(n);
    }
    match Group::from_name(name) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        Ok(None) => Err(prep_err(
            command,
            format!("Group={name}"),
            not_found("group"),
        )),
        Err(e) => Err(prep_err(command, format!("Group={name}"), e)),
    }
}

fn cstring(
    s: impl Into<Vec<u8>>,
    what: &'static str,
    command: &str,
) -> Result<CString, SpawnError> {
    CString::new(s).map_err(|_| SpawnError::Plan {
        command: command.to_owned(),
        source: PlanError::Nul { what },
    })
}

fn cpath(p: &Path, command: &str) -> Result<CString, SpawnError> {
    cstring(p.as_os_str().as_encoded_bytes(), "path", command)
}

/// Replaces or appends `NAME=value` (`strv_env_replace`).
fn env_set(env: &mut Vec<String>, assignment: String) {
    let name = assignment.split('=').next().unwrap_or("");
    let pos = env.iter().position(|e| e.split('=').next() == Some(name));
    match pos {
        Some(i) => env[i] = assignment,
        None => env.push(assignment),
    }
}

/// The service environment (spec §5.5 step 12 and 33), except `$SYSTEMD_EXEC_PID`, which
/// the child fills in.
fn build_environment(
    ctx: &ExecContext,
    opts: &SpawnOptions,
    user: Option<&ResolvedUser>,
    command: &str,
) -> Result<Vec<String>, SpawnError> {
    let mut env: Vec<String> = Vec::new();
    for e in &opts.manager_environment {
        env_set(&mut env, e.clone());
    }
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env_set(&mut env, format!("PATH={}", DEFAULT_PATH.join(":")));
    }
    if let Some(u) = user {
        env_set(&mut env, format!("HOME={}", u.home.display()));
        env_set(&mut env, format!("LOGNAME={}", u.name));
        env_set(&mut env, format!("USER={}", u.name));
        env_set(&mut env, format!("SHELL={}", u.shell.display()));
    }
    for e in &ctx.environment {
        env_set(&mut env, e.clone());
    }
    for f in &ctx.environment_files {
        let what = || format!("EnvironmentFile={}", f.path.display());
        let text = match std::fs::read_to_string(&f.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && f.ignore_missing => continue,
            Err(e) => return Err(prep_err(command, what(), e)),
        };
        let pairs = parse_env_file(&text).map_err(|e| {
            prep_err(
                command,
                what(),
                std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            )
        })?;
        for (k, v) in pairs {
            env_set(&mut env, format!("{k}={v}"));
        }
    }
    for u in &ctx.unset_environment {
        if u.contains('=') {
            env.retain(|e| e != u);
        } else {
            env.retain(|e| e.split('=').next() != Some(u.as_str()));
        }
    }
    Ok(env)
}

fn rlimit_number(r: Resource) -> libc::c_int {
    let i = Resource::ALL.iter().position(|x| *x == r).unwrap_or(0);
    libc::c_int::try_from(i).unwrap_or(0)
}

fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// Mount points of this process (`/proc/self/mountinfo` field 5, octal escapes decoded).
fn host_mounts() -> Vec<PathBuf> {
    use std::io::Read as _;
    use std::os::unix::ffi::OsStringExt as _;
    // One large read: the kernel renders mountinfo per read call, and a buffer that
    // starts small costs a dozen calls on a host with many mounts.
    let mut text = Vec::with_capacity(64 * 1024);
    if std::fs::File::open("/proc/self/mountinfo")
        .and_then(|mut f| f.read_to_end(&mut text))
        .is_err()
    {
        return Vec::new();
    }
    text.split(|b| *b == b'\n')
        .filter_map(|l| l.split(|b| *b == b' ').nth(4))
        .map(|b| {
            let mut out = Vec::with_capacity(b.len());
            let mut i = 0;
            while i < b.len() {
                let octal = b
                    .get(i + 1..i + 4)
                    .filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)))
                    .map(|d| d.iter().fold(0u32, |v, c| v * 8 + u32::from(c - b'0')))
                    .and_then(|v| u8::try_from(v).ok());
                if let Some(v) = octal {
                    out.push(v);
                    i += 4;
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            PathBuf::from(std::ffi::OsString::from_vec(out))
        })
        .collect()
}

/// Creates the host-side staging directories the mount operations use.
fn ensure_staging(st: &Staging) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let mk = |p: &Path, mode: u32| -> std::io::Result<()> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(p)
    };
    mk(&st.root, 0o700)?;
    mk(&st.dev, 0o700)?;
    mk(&st.inaccessible_dir, 0o000)?;
    std::fs::set_permissions(&st.inaccessible_dir, std::fs::Permissions::from_mode(0o000))?;
    if std::fs::symlink_metadata(&st.inaccessible_reg).is_err() {
        std::fs::File::create(&st.inaccessible_reg)?;
    }
    std::fs::set_permissions(&st.inaccessible_reg, std::fs::Permissions::from_mode(0o000))
}

fn stdin_op(
    s: &StdinSource,
    ctx: &ExecContext,
    opts: &SpawnOptions,
    command: &str,
) -> Result<StdioSource, SpawnError> {
    Ok(match s {
        StdinSource::Keep => StdioSource::Keep,
        StdinSource::Null => StdioSource::Open {
            path: c"/dev/null".to_owned(),
            flags: libc::O_RDONLY | libc::O_NOCTTY,
            controlling_tty: false,
        },
        StdinSource::Tty => StdioSource::Open {
            path: cpath(&ctx.tty_path, command)?,
            flags: libc::O_RDWR | libc::O_NOCTTY,
            controlling_tty: true,
        },
        StdinSource::File(p) => StdioSource::Open {
            path: cpath(p, command)?,
            flags: libc::O_RDONLY | libc::O_NOCTTY,
            controlling_tty: false,
        },
        StdinSource::Fd => match &opts.stdin {
            Some(fd) => StdioSource::Fd(fd.as_raw_fd()),
            None => {
                return Err(prep_err(
                    command,
                    "StandardInput=fd",
                    not_found("fd passed for standard input"),
                ));
            }
        },
    })
}

fn output_op(
    t: &OutputTarget,
    ctx: &ExecContext,
    fd: Option<&OwnedFd>,
    previous: libc::c_int,
    what: &str,
    command: &str,
) -> Result<StdioSource, SpawnError> {
    let open = |p: &Path, extra: libc::c_int| -> Result<StdioSource, SpawnError> {
        Ok(StdioSource::Open {
            path: cpath(p, command)?,
            flags: libc::O_WRONLY | libc::O_CREAT | libc::O_NOCTTY | extra,
            controlling_tty: false,
        })
    };
    Ok(match t {
        OutputTarget::Keep => StdioSource::Keep,
        OutputTarget::Inherit => StdioSource::Dup(previous),
        OutputTarget::Null => StdioSource::Open {
            path: c"/dev/null".to_owned(),
            flags: libc::O_WRONLY | libc::O_NOCTTY,
            controlling_tty: false,
        },
        OutputTarget::Tty => StdioSource::Open {
            path: cpath(&ctx.tty_path, command)?,
            flags: libc::O_WRONLY | libc::O_NOCTTY,
            controlling_tty: false,
        },
        OutputTarget::File(p) => open(p, 0)?,
        OutputTarget::Append(p) => open(p, libc::O_APPEND)?,
        OutputTarget::Truncate(p) => open(p, libc::O_TRUNC)?,
        OutputTarget::Fd => match fd {
            Some(fd) => StdioSource::Fd(fd.as_raw_fd()),
            None => return Err(prep_err(command, what, not_found("fd passed"))),
        },
    })
}

fn seccomp_ops(ctx: &ExecContext, command: &str) -> Result<Vec<Op>, SpawnError> {
    let rules = crate::seccomp::FilterRules {
        filter: ctx.system_call_filter.clone(),
        error_number: ctx.system_call_error_number,
        architectures: ctx.system_call_architectures.clone(),
        log: None,
    };
    let programs = rules.compile_native().map_err(|e| {
        prep_err(
            command,
            "SystemCallFilter=",
            std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
        )
    })?;
    Ok(programs
        .into_iter()
        .map(|p| Op::Seccomp {
            program: p
                .program
                .iter()
                .map(|i| child::SockFilter {
                    code: i.code,
                    jt: i.jt,
                    jf: i.jf,
                    k: i.k,
                })
                .collect(),
        })
        .collect())
}

/// The prepared child program and what the parent needs to serve it.
struct Prepared {
    program: Program,
    /// For `PrivateUsers=`: the uid/gid to map besides root.
    map_ids: Option<(u32, u32)>,
}

fn prepare(
    ctx: &ExecContext,
    cmd: &Command,
    plan: &Plan,
    opts: &SpawnOptions,
) -> Result<Prepared, SpawnError> {
    let command = cmd.path.as_str();
    let user = match (&ctx.user, cmd.needs_setuid()) {
        (Some(u), true) => Some(resolve_user(u, command)?),
        _ => None,
    };
    let env = build_environment(ctx, opts, user.as_ref(), command)?;
    let argv: Vec<String> = if cmd.flags.contains(ExecFlags::NO_ENV_EXPAND) {
        cmd.argv.clone()
    } else {
        replace_env_argv(&cmd.argv, |n| keel_core::env::env_get(&env, n))
    };
    let mut ops: Vec<(StepKind, Op)> = Vec::with_capacity(plan.steps.len() + 8);
    let mut map_ids = None;
    let mut keep_fds = Vec::new();
    for step in &plan.steps {
        let k = step.kind();
        let mut push = |op: Op| ops.push((k, op));
        match step {
            Step::ResetSignals { ignore_sigpipe } => push(Op::ResetSignals {
                ignore_sigpipe: *ignore_sigpipe,
            }),
            Step::CloseFds => push(Op::CloexecInherited),
            Step::NewSession => push(Op::SetSid),
            Step::OpenNetworkNamespace(p) => push(Op::OpenNs {
                path: cpath(p, command)?,
                nstype: libc::CLONE_NEWNET,
                slot: NS_SLOT_NET,
            }),
            Step::OpenIpcNamespace(p) => push(Op::OpenNs {
                path: cpath(p, command)?,
                nstype: libc::CLONE_NEWIPC,
                slot: NS_SLOT_IPC,
            }),
            Step::Stdin(s) => push(Op::Stdio {
                fd: 0,
                source: stdin_op(s, ctx, opts, command)?,
            }),
            Step::Stdout(t) => push(Op::Stdio {
                fd: 1,
                source: output_op(
                    t,
                    ctx,
                    opts.stdout.as_ref(),
                    0,
                    "StandardOutput=fd",
                    command,
                )?,
            }),
            Step::Stderr(t) => push(Op::Stdio {
                fd: 2,
                source: output_op(t, ctx, opts.stderr.as_ref(), 1, "StandardError=fd", command)?,
            }),
            Step::OomScoreAdjust(v) => push(Op::WriteFile {
                path: c"/proc/self/oom_score_adj".to_owned(),
                data: cstring(v.to_string(), "OOMScoreAdjust=", command)?,
            }),
            Step::Nice(n) => push(Op::Nice(libc::c_int::from(*n))),
            Step::Umask(m) => push(Op::Umask(*m)),
            Step::Limits(l) => {
                for (r, lim) in l {
                    push(Op::Rlimit {
                        resource: rlimit_number(*r),
                        soft: lim.soft.unwrap_or(u64::MAX),
                        hard: lim.hard.unwrap_or(u64::MAX),
                    });
                }
            }
            Step::Network(NamespaceSetup::New) => {
                push(Op::Unshare {
                    flags: libc::CLONE_NEWNET,
                    tolerate_eperm: false,
                });
                push(Op::LoopbackUp);
            }
            Step::Network(NamespaceSetup::Join(_)) => push(Op::Setns {
                slot: NS_SLOT_NET,
                nstype: libc::CLONE_NEWNET,
            }),
            Step::Ipc(NamespaceSetup::New) => push(Op::Unshare {
                flags: libc::CLONE_NEWIPC,
                // "PrivateIPC=yes is configured, but IPC namespace setup failed, ignoring"
                tolerate_eperm: true,
            }),
            Step::Ipc(NamespaceSetup::Join(_)) => push(Op::Setns {
                slot: NS_SLOT_IPC,
                nstype: libc::CLONE_NEWIPC,
            }),
            Step::MountNamespace(m) => {
                let mut st = Staging::default();
                st.private_tmp.clone_from(&opts.private_tmp_dirs);
                ensure_staging(&st).map_err(|e| prep_err(command, "mount staging", e))?;
                let mut hosts = crate::mount::HostMounts::lazy(&host_mounts);
                let mut mops = m.ops_with(&st, &mut hosts).map_err(|e| SpawnError::Plan {
                    command: command.to_owned(),
                    source: e,
                })?;
                if !m.extension_images.is_empty() {
                    // ExtensionImages=: overlays built here, attached by the child right
                    // after unshare + making `/` a slave (the first two ops).
                    let hier: Vec<std::path::PathBuf> = crate::sysext::DEFAULT_HIERARCHIES
                        .iter()
                        .map(std::path::PathBuf::from)
                        .collect();
                    let root = m.root_directory.as_deref().unwrap_or(Path::new("/"));
                    let overlays = crate::sysext::unit::prepare_unit_extensions(
                        &m.extension_images,
                        root,
                        &hier,
                        keel_core::specifier::native_architecture(),
                    )
                    .map_err(|e| SpawnError::Step {
                        command: command.to_owned(),
                        step: StepKind::MountNamespace,
                        source: e.errno(),
                    })?;
                    for (i, o) in overlays.into_iter().enumerate() {
                        let op = Op::AttachMount {
                            fd: o.tree.as_raw_fd(),
                            target: cpath(&o.target, command)?,
                        };
                        mops.insert((2 + i).min(mops.len()), op);
                        keep_fds.push(o.tree);
                    }
                }
                for op in mops {
                    push(op);
                }
            }
            Step::Hostname => push(Op::Unshare {
                flags: libc::CLONE_NEWUTS,
                tolerate_eperm: true,
            }),
            Step::Groups {
                group,
                supplementary,
            } => {
                let gid = match group {
                    Some(g) => resolve_group(g, command)?,
                    None => user.as_ref().map_or(0, |u| u.gid),
                };
                let mut groups = Vec::with_capacity(supplementary.len());
                for g in supplementary {
                    groups.push(resolve_group(g, command)?);
                }
                if let Some(u) = &user {
                    // initgroups(): the user's own memberships come along.
                    if let Ok(name) = CString::new(u.name.clone()) {
                        if let Ok(gs) = nix::unistd::getgrouplist(&name, Gid::from_raw(gid)) {
                            groups.extend(gs.iter().map(|g| g.as_raw()));
                        }
                    }
                }
                groups.sort_unstable();
                groups.dedup();
                push(Op::SetGroups { gid, groups });
            }
            Step::PrivateUsers => {
                map_ids = Some(user.as_ref().map_or((0, 0), |u| (u.uid, u.gid)));
                push(Op::UserNamespace);
            }
            Step::OpenExecutable {
                candidates,
                ignore_missing,
            } => {
                let mut c = Vec::with_capacity(candidates.len());
                for p in candidates {
                    c.push(cpath(p, command)?);
                }
                push(Op::OpenExec {
                    candidates: c,
                    ignore_missing: *ignore_missing,
                });
            }
            Step::Capabilities { bounding, ambient } => {
                if *bounding != u64::MAX {
                    push(Op::BoundingSet {
                        keep: *bounding,
                        last_cap: last_cap(),
                    });
                }
                if *ambient != 0 {
                    push(Op::Inheritable { caps: *ambient });
                }
            }
            Step::Chroot(p) => push(Op::Chroot(cpath(p, command)?)),
            Step::User { ambient, .. } => {
                if let Some(u) = &user {
                    push(Op::SetUid {
                        uid: u.uid,
                        ambient: *ambient,
                    });
                }
            }
            Step::WorkingDirectory { dir, missing_ok } => {
                let p = match dir {
                    WorkingDirectory::Path(p) => p.clone(),
                    WorkingDirectory::Home => match &user {
                        Some(u) => u.home.clone(),
                        None => resolve_user("0", command)?.home,
                    },
                    _ => PathBuf::from("/"),
                };
                push(Op::Chdir {
                    path: cpath(&p, command)?,
                    missing_ok: *missing_ok,
                });
            }
            Step::NoNewPrivileges => push(Op::NoNewPrivs),
            Step::SystemCallFilter => {
                for op in seccomp_ops(ctx, command)? {
                    push(op);
                }
            }
            Step::Exec => {}
        }
    }
    let argv_storage: Vec<CString> = argv
        .into_iter()
        .map(|a| cstring(a, "argv", command))
        .collect::<Result<_, _>>()?;
    let mut envp_storage: Vec<CString> = env
        .into_iter()
        .filter(|e| !e.starts_with("SYSTEMD_EXEC_PID="))
        .map(|e| cstring(e, "environment", command))
        .collect::<Result<_, _>>()?;
    let mut exec_pid_buf = b"SYSTEMD_EXEC_PID=".to_vec();
    exec_pid_buf.resize(exec_pid_buf.len() + 21, 0);
    // A placeholder entry; the child points the slot at `exec_pid_buf`.
    envp_storage.push(c"SYSTEMD_EXEC_PID=".to_owned());
    let exec_pid_index = Some(envp_storage.len() - 1);
    let mut argvp: Vec<*const libc::c_char> = argv_storage.iter().map(|s| s.as_ptr()).collect();
    argvp.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = envp_storage.iter().map(|s| s.as_ptr()).collect();
    envp.push(std::ptr::null());
    Ok(Prepared {
        program: Program {
            ops,
            argv: argvp,
            argv_storage,
            envp,
            envp_storage,
            exec_pid_index,
            exec_pid_buf,
            use_fexecve: opts.use_fexecve,
            keep_fds,
        },
        map_ids,
    })
}

fn read_report(fd: &OwnedFd) -> Result<Option<Report>, Errno> {
    let mut buf = [0u8; Report::SIZE];
    let mut got = 0;
    while got < buf.len() {
        match nix::unistd::read(fd.as_raw_fd(), &mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    if got == 0 {
        return Ok(None);
    }
    if got < buf.len() {
        return Err(Errno::EIO);
    }
    Report::decode(&buf).map(Some).ok_or(Errno::EIO)
}

fn write_maps(pid: Pid, (uid, gid): (u32, u32)) -> std::io::Result<()> {
    let map = |id: u32| {
        if id == 0 {
            "0 0 1\n".to_owned()
        } else {
            format!("0 0 1\n{id} {id} 1\n")
        }
    };
    std::fs::write(format!("/proc/{pid}/uid_map"), map(uid))?;
    std::fs::write(format!("/proc/{pid}/gid_map"), map(gid))
}

/// Starts `cmd` under `ctx`: plans, prepares everything that allocates in the parent,
/// forks, applies the steps in the child and executes the binary by fd.
///
/// Returns once the child has executed the binary (or was skipped); a failing step comes
/// back as [`SpawnError::Step`], naming the step, with the child already reaped.
///
/// ```no_run
/// // no_run: the doctest would fork and mount; the tests in tests/exec do this as root.
/// use keel_exec::{spawn, Command, ExecContext, SpawnOptions};
/// let mut ctx = ExecContext::default();
/// ctx.private_ipc = true;
/// let child = spawn(&ctx, &Command::new("/bin/true", Vec::<String>::new()), SpawnOptions::default())?;
/// assert!(child.wait()?.success());
/// # Ok::<(), keel_exec::SpawnError>(())
/// ```
///
/// # Errors
///
/// [`SpawnError`]: the plan is invalid, preparing failed (unknown user, unreadable
/// environment file), the fork failed, or a step in the child failed.
pub fn spawn(ctx: &ExecContext, cmd: &Command, opts: SpawnOptions) -> Result<Child, SpawnError> {
    let command = cmd.path.clone();
    let plan = plan(ctx, cmd).map_err(|e| SpawnError::Plan {
        command: command.clone(),
        source: e,
    })?;
    let Prepared {
        mut program,
        map_ids,
    } = prepare(ctx, cmd, &plan, &opts)?;
    let pipe =
        |what: &str| nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| prep_err(&command, what, e));
    let (report_r, report_w) = pipe("report pipe")?;
    let (sync_r, sync_w) = pipe("sync pipe")?;
    let cgroup: Option<OwnedFd> = match &opts.cgroup {
        Some(p) => {
            use std::os::unix::fs::OpenOptionsExt;
            let f = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
                .open(p)
                .map_err(|e| prep_err(&command, format!("cgroup {}", p.display()), e))?;
            Some(OwnedFd::from(f))
        }
        None => None,
    };
    let procs = match &opts.cgroup {
        Some(p) => Some(cpath(&p.join("cgroup.procs"), &command)?),
        None => None,
    };
    let pid = child::start(
        &mut program,
        cgroup.as_ref().map(AsFd::as_fd),
        procs,
        report_w.as_fd(),
        sync_r.as_fd(),
    )
    .map(Pid::from_raw)
    .map_err(|e| SpawnError::Fork {
        command: command.clone(),
        source: e,
    })?;
    drop(report_w);
    drop(sync_r);
    let lost = |e: Errno| SpawnError::Wait {
        command: command.clone(),
        source: e,
    };
    let mut skipped = false;
    loop {
        match read_report(&report_r) {
            Ok(None) => break,
            Ok(Some(Report::MapUsers)) => {
                let r = write_maps(pid, map_ids.unwrap_or((0, 0)));
                let byte = match r {
                    Ok(()) => 0u8,
                    Err(e) => u8::try_from(e.raw_os_error().unwrap_or(5)).unwrap_or(5),
                };
                nix::unistd::write(&sync_w, &[byte]).map_err(lost)?;
            }
            Ok(Some(Report::Skipped)) => skipped = true,
            Ok(Some(Report::Failed(step, errno))) => {
                let _ = wait_pid(pid, &command);
                return Err(SpawnError::Step {
                    command,
                    step,
                    source: errno,
                });
            }
            Err(e) => {
                let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
                let _ = wait_pid(pid, &command);
                return Err(lost(e));
            }
        }
    }
    Ok(Child {
        pid,
        command,
        skipped,
    })
}

/// Applies `ctx` to the calling process itself and executes `cmd` in its place, without a
/// fork: what a foreground runner such as `keel-run` does for a single command (one
/// process fewer to create, wait for and tear down).
///
/// Returns `Ok(())` only when the command was skipped (a missing executable with the `-`
/// prefix); on success it never returns. A failing step returns [`SpawnError::Step`] with
/// the process left in whatever state the steps before it created (namespaces joined,
/// credentials dropped, a seccomp filter installed): the caller should only report the
/// error and exit with [`SpawnError::exit_status`]. Standard error is restored to what it
/// was before the steps ran, so the report reaches the caller's terminal and not the
/// command's `StandardError=` target.
///
/// Differences from [`spawn`]: a process-group leader (a command started by an
/// interactive shell) keeps its session (`setsid()` would fail), `PrivateUsers=` is refused
/// (its uid/gid maps are written by a parent process), and the caller should be
/// single-threaded (the kernel refuses `unshare(CLONE_NEWNS)` otherwise; the step error
/// says so).
///
/// # Errors
///
/// As [`spawn`], plus [`SpawnError::Prepare`] for `PrivateUsers=`.
pub fn exec_in_place(
    ctx: &ExecContext,
    cmd: &Command,
    opts: SpawnOptions,
) -> Result<(), SpawnError> {
    let command = cmd.path.clone();
    let plan = plan(ctx, cmd).map_err(|e| SpawnError::Plan {
        command: command.clone(),
        source: e,
    })?;
    let Prepared {
        mut program,
        map_ids,
    } = prepare(ctx, cmd, &plan, &opts)?;
    if map_ids.is_some() {
        return Err(prep_err(
            &command,
            "PrivateUsers= in place (it needs a forked child)",
            Errno::EINVAL,
        ));
    }
    if let Some(p) = &opts.cgroup {
        let procs = cpath(&p.join("cgroup.procs"), &command)?;
        let at = program.ops.len().min(3);
        program.ops.insert(
            at,
            (
                StepKind::Cgroup,
                Op::WriteFile {
                    path: procs,
                    data: c"0".to_owned(),
                },
            ),
        );
    }
    // F_DUPFD_CLOEXEC: the copy does not reach the command.
    let saved_stderr = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| prep_err(&command, "a copy of standard error", e))?;
    let stopped = child::run_in_place(&mut program);
    let _ = nix::unistd::dup2(saved_stderr.as_raw_fd(), libc::STDERR_FILENO);
    match stopped {
        child::Stopped::Skipped => Ok(()),
        child::Stopped::Failed(step, source) => Err(SpawnError::Step {
            command,
            step,
            source,
        }),
    }
}
