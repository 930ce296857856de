//! [`plan`]: the ordered steps the child takes between `fork` and `exec`, in the order of
//! systemd 248's `exec_child()` (spec §5.5). Pure: no syscalls, tested like a parser.

use std::path::PathBuf;

use keel_unit::model::exec::{Resource, ResourceLimit, WorkingDirectory};
use keel_unit::model::exec_command::DEFAULT_PATH;

use crate::context::{Command, ExecContext, OutputTarget, StdinSource};
use crate::error::{PlanError, StepKind};
use crate::mount::{MountPlan, plan_mounts};

/// Join an existing namespace or make a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NamespaceSetup {
    /// `unshare()` a new one (`PrivateIPC=`, `PrivateNetwork=`).
    New,
    /// `setns()` into the one opened from this path (`IPCNamespacePath=`, …).
    Join(PathBuf),
}

/// One step of the child, with what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// 1: default signal dispositions, `SIGPIPE` ignored when `IgnoreSIGPIPE=yes`, empty
    /// signal mask.
    ResetSignals {
        /// `IgnoreSIGPIPE=`.
        ignore_sigpipe: bool,
    },
    /// 2: every inherited descriptor above 2 is closed at exec.
    CloseFds,
    /// 3: `setsid()`.
    NewSession,
    /// 7: open `NetworkNamespacePath=`.
    OpenNetworkNamespace(PathBuf),
    /// 7: open `IPCNamespacePath=`.
    OpenIpcNamespace(PathBuf),
    /// 8: standard input.
    Stdin(StdinSource),
    /// 8: standard output.
    Stdout(OutputTarget),
    /// 8: standard error.
    Stderr(OutputTarget),
    /// 9: `OOMScoreAdjust=`.
    OomScoreAdjust(i16),
    /// 9: `Nice=`.
    Nice(i8),
    /// 13: `UMask=`.
    Umask(u32),
    /// 15: `Limit*=`.
    Limits(Vec<(Resource, ResourceLimit)>),
    /// 18: `PrivateNetwork=` / `NetworkNamespacePath=`.
    Network(NamespaceSetup),
    /// 19: `PrivateIPC=` / `IPCNamespacePath=`.
    Ipc(NamespaceSetup),
    /// 20: the mount namespace.
    MountNamespace(MountPlan),
    /// 21: `ProtectHostname=` (new UTS namespace).
    Hostname,
    /// 22: `Group=` / `SupplementaryGroups=` (names resolved at spawn).
    Groups {
        /// `Group=` (None: the user's primary group).
        group: Option<String>,
        /// `SupplementaryGroups=`.
        supplementary: Vec<String>,
    },
    /// 23: `PrivateUsers=`: a user namespace mapping root and the service user to
    /// themselves.
    PrivateUsers,
    /// 24: find and open the executable before the security context changes.
    OpenExecutable {
        /// Paths to try, in order (one for an absolute program).
        candidates: Vec<PathBuf>,
        /// `-` prefix: a missing binary skips the command.
        ignore_missing: bool,
    },
    /// 27: `CapabilityBoundingSet=` (the set kept) and the inheritable set for
    /// `AmbientCapabilities=`.
    Capabilities {
        /// Bounding set to keep.
        bounding: u64,
        /// Ambient capabilities to make inheritable.
        ambient: u64,
    },
    /// 28: `RootDirectory=` without a mount namespace.
    Chroot(PathBuf),
    /// 29: `User=`, then the ambient capabilities.
    User {
        /// The user.
        user: String,
        /// Ambient capabilities to raise after the switch.
        ambient: u64,
    },
    /// 30: `WorkingDirectory=`.
    WorkingDirectory {
        /// The directory (`~`: the user's home).
        dir: WorkingDirectory,
        /// `-` prefix.
        missing_ok: bool,
    },
    /// 31: `NoNewPrivileges=` (also implied by a seccomp filter).
    NoNewPrivileges,
    /// 32: `SystemCallFilter=`, the last filter (needs keel-exec's seccomp compiler).
    SystemCallFilter,
    /// 34: execute the opened file by fd, falling back to the path.
    Exec,
}

impl Step {
    /// The step's kind (what a failure reports).
    pub fn kind(&self) -> StepKind {
        match self {
            Self::ResetSignals { .. } => StepKind::ResetSignals,
            Self::CloseFds => StepKind::CloseFds,
            Self::NewSession => StepKind::NewSession,
            Self::OpenNetworkNamespace(_) => StepKind::OpenNetworkNamespace,
            Self::OpenIpcNamespace(_) => StepKind::OpenIpcNamespace,
            Self::Stdin(_) => StepKind::Stdin,
            Self::Stdout(_) => StepKind::Stdout,
            Self::Stderr(_) => StepKind::Stderr,
            Self::OomScoreAdjust(_) => StepKind::OomScoreAdjust,
            Self::Nice(_) => StepKind::Nice,
            // umask cannot fail; it is reported under the limits that follow it.
            Self::Umask(_) | Self::Limits(_) => StepKind::Limits,
            Self::Network(_) => StepKind::Network,
            Self::Ipc(_) => StepKind::Ipc,
            Self::MountNamespace(_) => StepKind::MountNamespace,
            Self::Hostname => StepKind::Hostname,
            Self::Groups { .. } => StepKind::Groups,
            Self::PrivateUsers => StepKind::PrivateUsers,
            Self::OpenExecutable { .. } => StepKind::OpenExecutable,
            Self::Capabilities { .. } => StepKind::Capabilities,
            Self::Chroot(_) => StepKind::Chroot,
            Self::User { .. } => StepKind::User,
            Self::WorkingDirectory { .. } => StepKind::WorkingDirectory,
            Self::NoNewPrivileges => StepKind::NoNewPrivileges,
            Self::SystemCallFilter => StepKind::SystemCallFilter,
            Self::Exec => StepKind::Exec,
        }
    }
}

/// The ordered steps for one command.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Plan {
    /// The steps, in execution order.
    pub steps: Vec<Step>,
}

impl Plan {
    /// The kinds of the steps, in order.
    pub fn kinds(&self) -> Vec<StepKind> {
        self.steps.iter().map(Step::kind).collect()
    }
}

fn check_abs(setting: &'static str, p: &std::path::Path) -> Result<(), PlanError> {
    if p.is_absolute() {
        Ok(())
    } else {
        Err(PlanError::RelativePath {
            setting,
            path: p.to_path_buf(),
        })
    }
}

/// The executable's candidate paths: the path itself, or a plain name in each directory of
/// keel-unit's `DEFAULT_PATH` (never `$PATH`, spec §8.4).
///
/// # Errors
///
/// [`PlanError::EmptyCommand`] / [`PlanError::BadProgram`] for an empty program or a
/// relative path with a slash.
pub fn executable_candidates(program: &str) -> Result<Vec<PathBuf>, PlanError> {
    if program.is_empty() {
        return Err(PlanError::EmptyCommand);
    }
    if program.starts_with('/') {
        return Ok(vec![PathBuf::from(program)]);
    }
    if program.contains('/') || program == "." || program == ".." {
        return Err(PlanError::BadProgram {
            path: program.to_owned(),
        });
    }
    Ok(DEFAULT_PATH
        .iter()
        .map(|d| PathBuf::from(d).join(program))
        .collect())
}

/// Orders what the child does for `cmd` under `ctx` (spec §5.5). Pure.
///
/// ```
/// use keel_exec::{plan, Command, ExecContext, StepKind};
/// let mut ctx = ExecContext::default();
/// ctx.private_ipc = true;
/// let p = plan(&ctx, &Command::new("/bin/true", Vec::<String>::new()))?;
/// let kinds = p.kinds();
/// assert!(kinds.contains(&StepKind::Ipc));
/// assert_eq!(kinds.last(), Some(&StepKind::Exec));
/// # Ok::<(), keel_exec::PlanError>(())
/// ```
///
/// # Errors
///
/// [`PlanError`] for a relative namespace path, `RootDirectory=` or `WorkingDirectory=`,
/// or an invalid program.
pub fn plan(ctx: &ExecContext, cmd: &Command) -> Result<Plan, PlanError> {
    let sandboxed = cmd.needs_sandboxing();
    let setuid = cmd.needs_setuid();
    let candidates = executable_candidates(&cmd.path)?;
    if cmd.argv.is_empty() {
        return Err(PlanError::EmptyCommand);
    }
    let mut s = vec![
        Step::ResetSignals {
            ignore_sigpipe: ctx.ignore_sigpipe,
        },
        Step::CloseFds,
        Step::NewSession,
    ];
    if let Some(p) = &ctx.network_namespace_path {
        check_abs("NetworkNamespacePath=", p)?;
        s.push(Step::OpenNetworkNamespace(p.clone()));
    }
    if let Some(p) = &ctx.ipc_namespace_path {
        check_abs("IPCNamespacePath=", p)?;
        s.push(Step::OpenIpcNamespace(p.clone()));
    }
    s.push(Step::Stdin(ctx.stdin.clone()));
    s.push(Step::Stdout(ctx.stdout.clone()));
    s.push(Step::Stderr(ctx.stderr.clone()));
    s.extend(ctx.oom_score_adjust.map(Step::OomScoreAdjust));
    s.extend(ctx.nice.map(Step::Nice));
    s.push(Step::Umask(ctx.umask));
    if !ctx.limits.is_empty() {
        s.push(Step::Limits(ctx.limits.clone()));
    }
    // Namespace joins happen regardless of the `+` prefix, as in 248.
    if let Some(p) = &ctx.network_namespace_path {
        s.push(Step::Network(NamespaceSetup::Join(p.clone())));
    } else if ctx.private_network {
        s.push(Step::Network(NamespaceSetup::New));
    }
    if let Some(p) = &ctx.ipc_namespace_path {
        // IPCNamespacePath= wins; PrivateIPC= then has no additional effect.
        s.push(Step::Ipc(NamespaceSetup::Join(p.clone())));
    } else if ctx.private_ipc {
        s.push(Step::Ipc(NamespaceSetup::New));
    }
    let mounts = plan_mounts(ctx, sandboxed)?;
    let has_mount_ns = mounts.is_some();
    s.extend(mounts.map(Step::MountNamespace));
    if sandboxed && ctx.protect_hostname {
        s.push(Step::Hostname);
    }
    if setuid && (ctx.user.is_some() || ctx.group.is_some() || !ctx.supplementary_groups.is_empty())
    {
        s.push(Step::Groups {
            group: ctx.group.clone(),
            supplementary: ctx.supplementary_groups.clone(),
        });
    }
    if sandboxed && ctx.private_users {
        s.push(Step::PrivateUsers);
    }
    s.push(Step::OpenExecutable {
        candidates,
        ignore_missing: cmd
            .flags
            .contains(keel_unit::model::exec_command::ExecFlags::IGNORE_FAILURE),
    });
    if sandboxed && (ctx.capability_bounding_set != u64::MAX || ctx.ambient_capabilities != 0) {
        s.push(Step::Capabilities {
            bounding: ctx.capability_bounding_set,
            ambient: ctx.ambient_capabilities,
        });
    }
    if sandboxed && !has_mount_ns {
        if let Some(r) = &ctx.root_directory {
            check_abs("RootDirectory=", r)?;
            s.push(Step::Chroot(r.clone()));
        }
    }
    if setuid {
        if let Some(u) = &ctx.user {
            s.push(Step::User {
                user: u.clone(),
                ambient: if sandboxed {
                    ctx.ambient_capabilities
                } else {
                    0
                },
            });
        }
    }
    // Without WorkingDirectory= a system service starts in `/`.
    let dir = ctx
        .working_directory
        .clone()
        .unwrap_or_else(|| WorkingDirectory::Path("/".into()));
    if let WorkingDirectory::Path(p) = &dir {
        check_abs("WorkingDirectory=", p)?;
    }
    s.push(Step::WorkingDirectory {
        dir,
        missing_ok: ctx.working_directory_missing_ok,
    });
    let filter = sandboxed && ctx.system_call_filter.is_some();
    if sandboxed && (ctx.no_new_privileges || filter) {
        s.push(Step::NoNewPrivileges);
    }
    if filter {
        s.push(Step::SystemCallFilter);
    }
    s.push(Step::Exec);
    Ok(Plan { steps: s })
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)] // style.md's idiom for plain data
mod tests {
    use super::*;
    use keel_unit::model::exec::NamespacePath;
    use keel_unit::model::exec_command::ExecFlags;

    fn cmd() -> Command {
        Command::new("/bin/true", Vec::<String>::new())
    }

    fn np(p: &str) -> NamespacePath {
        let mut n = NamespacePath::default();
        n.path = p.into();
        n
    }

    #[test]
    fn minimal_plan() {
        let p = plan(&ExecContext::default(), &cmd()).unwrap();
        use StepKind as K;
        assert_eq!(
            p.kinds(),
            [
                K::ResetSignals,
                K::CloseFds,
                K::NewSession,
                K::Stdin,
                K::Stdout,
                K::Stderr,
                K::Limits,
                K::OpenExecutable,
                K::WorkingDirectory,
                K::Exec
            ]
        );
    }

    #[test]
    fn full_plan_follows_exec_child_order() {
        let mut c = ExecContext::default();
        c.ipc_namespace_path = Some("/proc/1/ns/ipc".into());
        c.private_network = true;
        c.no_exec_paths = vec![np("/")];
        c.protect_hostname = true;
        c.user = Some("nobody".into());
        c.private_users = true;
        c.capability_bounding_set = 0;
        c.working_directory = Some(WorkingDirectory::Home);
        c.no_new_privileges = true;
        c.nice = Some(5);
        c.oom_score_adjust = Some(100);
        c.system_call_filter = Some(Default::default());
        let p = plan(&c, &cmd()).unwrap();
        let k = p.kinds();
        let mut sorted = k.clone();
        sorted.sort();
        assert_eq!(k, sorted, "steps follow exec_child()'s order");
        use StepKind as K;
        for want in [
            K::OpenIpcNamespace,
            K::Ipc,
            K::Network,
            K::MountNamespace,
            K::Hostname,
            K::Groups,
            K::PrivateUsers,
            K::Capabilities,
            K::User,
            K::WorkingDirectory,
            K::NoNewPrivileges,
            K::SystemCallFilter,
        ] {
            assert!(k.contains(&want), "{want}");
        }
        // SystemCallFilter= is the last step before exec (§5.5 step 32).
        assert_eq!(&k[k.len() - 2..], [K::SystemCallFilter, K::Exec]);
        assert!(
            p.steps
                .contains(&Step::Ipc(NamespaceSetup::Join("/proc/1/ns/ipc".into())))
        );
    }

    #[test]
    fn ipc_namespace_path_wins_over_private_ipc() {
        let mut c = ExecContext::default();
        c.private_ipc = true;
        let p = plan(&c, &cmd()).unwrap();
        assert!(p.steps.contains(&Step::Ipc(NamespaceSetup::New)));
        c.ipc_namespace_path = Some("/run/ns/ipc".into());
        let p = plan(&c, &cmd()).unwrap();
        let ipc: Vec<&Step> = p
            .steps
            .iter()
            .filter(|s| s.kind() == StepKind::Ipc)
            .collect();
        assert_eq!(
            ipc,
            [&Step::Ipc(NamespaceSetup::Join("/run/ns/ipc".into()))]
        );
    }

    #[test]
    fn prefixes_switch_off_sandboxing_and_credentials() {
        let mut c = ExecContext::default();
        c.user = Some("nobody".into());
        c.no_exec_paths = vec![np("/")];
        c.private_ipc = true;
        c.no_new_privileges = true;
        let plus = plan(&c, &cmd().with_flags(ExecFlags::FULLY_PRIVILEGED)).unwrap();
        let k = plus.kinds();
        assert!(!k.contains(&StepKind::MountNamespace));
        assert!(!k.contains(&StepKind::User));
        assert!(!k.contains(&StepKind::NoNewPrivileges));
        assert!(
            k.contains(&StepKind::Ipc),
            "ipc join happens regardless of +"
        );
        let bang = plan(&c, &cmd().with_flags(ExecFlags::NO_SETUID)).unwrap();
        let k = bang.kinds();
        assert!(k.contains(&StepKind::MountNamespace));
        assert!(!k.contains(&StepKind::User) && !k.contains(&StepKind::Groups));
        assert!(k.contains(&StepKind::NoNewPrivileges));
    }

    #[test]
    fn plain_names_search_default_path() {
        let c = executable_candidates("true").unwrap();
        assert_eq!(c.first(), Some(&PathBuf::from("/usr/local/sbin/true")));
        assert_eq!(c.len(), DEFAULT_PATH.len());
        assert!(matches!(
            executable_candidates("a/b"),
            Err(PlanError::BadProgram { .. })
        ));
        assert!(matches!(
            executable_candidates(""),
            Err(PlanError::EmptyCommand)
        ));
    }

    #[test]
    fn relative_namespace_path_is_refused() {
        let mut c = ExecContext::default();
        c.ipc_namespace_path = Some("ns/ipc".into());
        assert!(matches!(
            plan(&c, &cmd()),
            Err(PlanError::RelativePath {
                setting: "IPCNamespacePath=",
                ..
            })
        ));
    }

    #[test]
    fn missing_binary_with_dash_is_ignorable() {
        let p = plan(
            &ExecContext::default(),
            &cmd().with_flags(ExecFlags::IGNORE_FAILURE),
        )
        .unwrap();
        assert!(p.steps.iter().any(|s| matches!(
            s,
            Step::OpenExecutable {
                ignore_missing: true,
                ..
            }
        )));
    }
}
