//! keel-exec: start a process exactly as a systemd 248 service would be started.
//!
//! From a unit's typed exec settings (keel-unit's `ExecSettings`) to a running process:
//!
//! 1. [`ExecContext`]: plain data, built with [`ExecContext::from_unit`] or by hand.
//! 2. [`plan`]: the ordered [`Step`]s of systemd 248's `exec_child()` (spec §5.5), pure;
//!    the mount namespace is decided by [`mount::plan_mounts`] with 248's priority, merge and
//!    deny-list rules (`ReadOnlyPaths=`, `ExecPaths=`, `NoExecPaths=`, `ProtectSystem=`, …).
//! 3. [`spawn`]: resolves users and the environment in the parent, forks (or
//!    `clone3(CLONE_INTO_CGROUP)`), applies the steps in the child without allocating, opens
//!    the binary before the security context changes and executes *that file* by fd
//!    (`execveat(AT_EMPTY_PATH)`). A failing step comes back as [`SpawnError::Step`] naming
//!    the [`StepKind`], which maps to systemd's exit status ([`StepKind::exit_status`]:
//!    226 `NAMESPACE`, 203 `EXEC`, …).
//!
//! Namespaces: `PrivateIPC=`, `IPCNamespacePath=`, `PrivateNetwork=`,
//! `NetworkNamespacePath=`, `PrivateTmp=`, `PrivateDevices=`, `PrivateMounts=`,
//! `PrivateUsers=`, `ProtectHostname=`. Credentials and limits: `User=`, `Group=`,
//! `SupplementaryGroups=`, `UMask=`, `CapabilityBoundingSet=`, `AmbientCapabilities=`,
//! `NoNewPrivileges=`, `Limit*=`, `Nice=`, `OOMScoreAdjust=`, `WorkingDirectory=`,
//! `Environment=`, `EnvironmentFile=`, `UnsetEnvironment=`, standard I/O. Seccomp
//! (`SystemCallFilter=`, last) comes from [`seccomp`].
//!
//! Not done here (a manager's job): the journal, socket activation fds, `DynamicUser=`
//! allocation, PAM, `RuntimeDirectory=` and friends, credentials, sharing namespaces
//! between units (`JoinsNamespaceOf=`). See `exec/DESIGN.md`.
//!
//! ```
//! use keel_exec::{plan, Command, ExecContext, StepKind};
//!
//! let name = "demo.service".parse()?;
//! let text = b"[Service]\nPrivateIPC=yes\nNoExecPaths=/\nExecPaths=/usr\nExecStart=/bin/true\n";
//! let unit = keel_unit::load::parse_unit_text(&name, text, None, &Default::default()).unit;
//! let ctx = ExecContext::from_unit(&unit);
//! let p = plan(&ctx, &Command::new("/bin/true", Vec::<String>::new()))?;
//! let k = p.kinds();
//! assert!(k.iter().position(|s| *s == StepKind::Ipc) < k.iter().position(|s| *s == StepKind::MountNamespace));
//! assert_eq!(StepKind::MountNamespace.exit_status(), 226);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod context;
mod error;
pub mod mount;
mod plan;
pub mod seccomp;
mod spawn;
mod sys;
pub mod sysext;

pub use context::{Command, ExecContext, OutputTarget, StdinSource};
pub use error::{PlanError, SpawnError, StepKind};
pub use keel_unit;
pub use nix;
pub use plan::{NamespaceSetup, Plan, Step, executable_candidates, plan};
pub use spawn::{Child, ExitStatus, SpawnOptions, exec_in_place, spawn};
